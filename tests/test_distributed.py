"""gan_course.distributed: several processes train one GAN on torch.distributed (gloo on this CPU).

The slow tests start real runs of two processes with torchrun (``tests/distributed_worker.py``):
their first update is redone here in one process on the concatenated batch (the oracle), the
gradient average is compared with DistributedDataParallel's, a resumed run with an unbroken one,
and a run in which one rank fails is checked for what it leaves behind. The fast ones need no
second process: sharding, the checks before any step, batch norm, checkpoints' streams, and a
run of one rank, which must be the one-process run bit for bit.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from gan_course import checkpoints, distributed, specs
from gan_course.train import GANTrainer, TrainerConfig

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "distributed_worker.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_dcgan():
    torch.manual_seed(0)
    return specs.DCGANSpec(latent_dim=8, width_g=4, width_d=4).build()


def images(n: int = 32) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1


CONFIG = TrainerConfig(device="cpu", precision="fp32", batch_size=4, seed=5, ema=0.9)

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny networks, one thread


# --------------------------------------------------------------------------------------------
# Without a second process
# --------------------------------------------------------------------------------------------


def test_outside_torchrun_there_is_nothing_to_set_up(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.environment() is None
    assert distributed.setup("cpu") is None
    assert distributed.writes_outputs() and distributed.world_size() == 1


def test_torchrun_variables_are_read_and_checked(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.environment() == (1, 4, 1)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match=r"RANK=4 must lie in \[0, WORLD_SIZE=4\)"):
        distributed.environment()
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="must be integers.*'one'"):
        distributed.environment()


def test_shards_are_disjoint_cover_the_data_and_keep_labels_with_their_images():
    x = torch.arange(11.0)[:, None]  # (11, 1)
    y = torch.arange(11)
    shards = [distributed.shard_data((x, y), rank, 3, batch_size=2) for rank in range(3)]
    assert [s[0].flatten().tolist() for s in shards] == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert all(torch.equal(sx.flatten().long(), sy) for sx, sy in shards)
    nhwc = images(8).contiguous(memory_format=torch.channels_last)
    shard = distributed.shard_data(nhwc, 1, 2, batch_size=2)
    assert shard.is_contiguous(memory_format=torch.channels_last) and torch.equal(shard, nhwc[1::2])


@pytest.mark.parametrize("n, world_size, batch, allowed", [(10, 3, 4, 2), (4000, 63, 64, 62), (6, 2, 4, 1)])
def test_more_processes_than_the_data_allows_are_refused_with_the_numbers(n, world_size, batch, allowed):
    expected = (rf"{world_size} processes split the {n} training samples into shards of {n // world_size}, fewer than "
                rf"one batch of {batch}: use at most {allowed} processes \(--nproc_per_node\)")
    with pytest.raises(ValueError, match=expected):
        distributed.shard_data(torch.zeros(n, 2), 0, world_size, batch)


def test_data_that_cannot_be_split_is_refused():
    with pytest.raises(ValueError, match="must be a tensor or an \\(x, y\\) pair.*got list_iterator"):
        distributed.shard_data(iter([torch.zeros(4, 2)]), 0, 2, 2)


def test_only_the_image_recipes_run_under_torchrun():
    assert distributed.require_supported("wgan-gp") == "wgan-gp"
    with pytest.raises(ValueError, match="train toy runs in one process; torchrun is for the image GANs"):
        distributed.require_supported("toy")


def test_sync_batch_norm_outside_a_run_is_batch_norm_and_keeps_the_tensors():
    torch.manual_seed(0)
    make = lambda: nn.Sequential(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4), nn.ReLU(),  # noqa: E731
                                 nn.Conv1d(4, 2, 1), nn.BatchNorm1d(2, momentum=None))
    plain, twin = make(), make()
    twin.load_state_dict(plain.state_dict())
    params = list(twin.parameters())
    distributed.synchronise_batch_norm(twin)
    assert isinstance(twin[1], distributed.SyncBatchNorm) and isinstance(twin[4], distributed.SyncBatchNorm)
    assert [id(p) for p in twin.parameters()] == [id(p) for p in params]  # an optimizer built before still works
    assert list(twin.state_dict()) == list(plain.state_dict())
    x = torch.randn(5, 3, 6)  # (B, C, L)
    for _ in range(2):
        out, out_twin = plain(x), twin(x)
        assert torch.equal(out, out_twin)
        out.pow(2).sum().backward(), out_twin.pow(2).sum().backward()
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(plain.parameters(), twin.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), twin.state_dict().values()))
    plain.eval(), twin.eval()
    assert torch.equal(plain(x), twin(x))


def test_a_checkpoint_resumes_only_with_its_number_of_processes():
    single = {"rng": {"latent": torch.zeros(3)}}
    assert distributed.rank_state(single, None) is single
    world = distributed.World(1, 2, 1, torch.device("cpu"), "gloo")
    with pytest.raises(ValueError, match="written by a run of 1 process\\(es\\) and this one has 2.*resume it in one "
                                         "process \\(without torchrun\\); nothing was loaded"):
        distributed.rank_state(single, world)
    two = {"rng": "rank 0", "distributed": {"world_size": 2, "rng": ["rank 0", "rank 1"]}}
    assert distributed.rank_state(two, world)["rng"] == "rank 1"
    with pytest.raises(ValueError, match="run of 2 process\\(es\\) and this one has 1.*--nproc_per_node 2"):
        distributed.rank_state(two, None)


def test_each_rank_has_its_own_streams_and_rank_0_keeps_the_seed():
    seeds = [distributed.World(r, 4, r, torch.device("cpu"), "gloo").rank_seed(7) for r in range(4)]
    assert seeds[0] == 7
    draws = {tuple(torch.randn(3, generator=torch.Generator().manual_seed(s + k)).tolist())
             for s in seeds for k in (0, 1)}  # the sampler's and the noise's seed of every rank
    assert len(draws) == 8


@pytest.fixture
def one_rank_world(monkeypatch):
    """A process group of this process alone (gloo), as torchrun --nproc_per_node 1 would make."""
    for name, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("MASTER_ADDR", "127.0.0.1"),
                        ("MASTER_PORT", str(free_port()))):
        monkeypatch.setenv(name, value)
    handler = signal.getsignal(signal.SIGTERM)
    world = distributed.setup("cpu")
    try:
        yield world
    finally:
        distributed.shutdown()
        signal.signal(signal.SIGTERM, handler)


def test_a_run_of_one_rank_is_the_one_process_run_bit_for_bit(one_rank_world, tmp_path):
    assert one_rank_world == distributed.World(0, 1, 0, torch.device("cpu"), "gloo")
    plain = GANTrainer(*tiny_dcgan(), images(), config=CONFIG)
    ranked = GANTrainer(*tiny_dcgan(), images(), config=CONFIG, distributed=one_rank_world)
    plain.fit(steps=3, progress=False)
    ranked.fit(steps=3, progress=False)
    assert ranked.history == plain.history | {"time": ranked.history["time"]}
    for name in ("generator", "discriminator", "generator_ema"):
        mine, theirs = getattr(ranked, name).state_dict(), getattr(plain, name).state_dict()
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs), name
    ranked.save(tmp_path / "checkpoint.pt")  # a checkpoint of one rank resumes in one process
    state = checkpoints.load(tmp_path / "checkpoint.pt", "gan_trainer")
    assert state["distributed"]["world_size"] == 1 and len(state["distributed"]["rng"]) == 1
    distributed.shutdown()
    resumed = GANTrainer(*tiny_dcgan(), images(), config=CONFIG).load(tmp_path / "checkpoint.pt")
    resumed.fit(steps=1, progress=False)
    plain.fit(steps=1, progress=False)
    assert resumed.history["d_loss"] == plain.history["d_loss"]


def test_a_trainer_on_another_device_than_its_rank_is_refused(one_rank_world):
    world = dataclasses.replace(one_rank_world, device=torch.device("cuda", 0), backend="nccl")
    with pytest.raises(ValueError, match="this rank runs on cuda:0 .*but the trainer was asked for device 'cpu'"):
        GANTrainer(*tiny_dcgan(), images(), config=CONFIG, distributed=world)


# --------------------------------------------------------------------------------------------
# Two processes, started by torchrun
# --------------------------------------------------------------------------------------------


def torchrun(mode: str, out: Path) -> subprocess.CompletedProcess:
    """``torchrun --standalone`` (a free local port) of two gloo ranks of the worker."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GAN_COURSE_DEVICE": "cpu", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(WORKER), mode, str(out)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("two_ranks")
    done = torchrun("all", out)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


class Replay:
    """A sampler that gives the same batch every time."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __iter__(self) -> "Replay":
        return self

    def __next__(self) -> torch.Tensor:
        return self.x


@pytest.mark.slow
def test_too_many_ranks_are_refused_on_every_rank_before_any_step(two_ranks):
    for rank in (0, 1):
        message = torch.load(two_ranks / f"bad_world_rank{rank}.pt")["message"]
        assert message.startswith("2 processes split the 6 training samples into shards of 3, fewer than one batch "
                                  "of 4: use at most 1 processes (--nproc_per_node)")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_the_first_update_of_two_ranks_is_one_process_on_the_concatenated_batch(two_ranks, kind):
    """mlp: no batch norm, R1 (a double backward); dcgan: batch norm in G, synchronised. SGD, so
    the update is the gradient itself; the oracle is one process on both ranks' x and z."""
    from tests.distributed_worker import networks

    run = torch.load(two_ranks / "first_update.pt", weights_only=False)[kind]
    x, z = torch.cat(run["x"]), torch.cat(run["z"])  # (2B, ...): rank 0's batch, then rank 1's
    assert not torch.equal(run["x"][0], run["x"][1]) and not torch.equal(run["z"][0], run["z"][1])
    generator, discriminator = networks(kind)
    generator.load_state_dict(run["before"]["generator"])
    discriminator.load_state_dict(run["before"]["discriminator"])
    oracle = GANTrainer(generator, discriminator, Replay(x), latent_sampler=lambda n, gen: z,
                        config=dataclasses.replace(run["config"], batch_size=len(x)))
    row = oracle.step()
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"):
        assert run["row"][key] == pytest.approx(row[key], rel=1e-5), key
    for name in ("generator", "discriminator"):
        expected = getattr(oracle, name).state_dict()
        rank0, rank1 = run["after"][0][name], run["after"][1][name]
        assert all(torch.equal(rank0[k], rank1[k]) for k in expected), f"the ranks' {name}s differ"
        moved = max(float((expected[k].float() - run["before"][name][k].float()).abs().max()) for k in expected)
        assert moved > 1e-5  # the update is far above the tolerance
        for k, value in expected.items():  # weights and batch-norm statistics alike
            torch.testing.assert_close(rank0[k], value, rtol=1e-5, atol=1e-7, msg=f"{name}.{k}")


@pytest.mark.slow
def test_the_gradient_average_is_distributed_data_parallels(two_ranks):
    ddp = torch.load(two_ranks / "first_update.pt", weights_only=False)["ddp"]
    assert ddp["ours"].abs().max() > 1e-3
    torch.testing.assert_close(ddp["ours"], ddp["ddp"], rtol=1e-6, atol=1e-8)


@pytest.mark.slow
def test_two_ranks_keep_identical_weights_resume_exactly_and_stop_together(two_ranks):
    rank0, rank1 = (torch.load(two_ranks / f"resume_rank{r}.pt", weights_only=False) for r in (0, 1))
    for run in (rank0, rank1):
        for name, weights in run["straight"].items():  # generator, discriminator, generator_ema
            resumed = run["resumed"][name]
            assert all(torch.equal(weights[k], resumed[k]) for k in weights), f"resumed {name} differs"
        assert run["resumed_history"]["d_loss"] == run["history"]["d_loss"]
    for name, weights in rank0["straight"].items():
        assert all(torch.equal(weights[k], rank1["straight"][name][k]) for k in weights), f"the ranks' {name}s differ"
    assert rank0["history"] == rank1["history"] | {"time": rank0["history"]["time"]}  # the averaged values
    assert rank0["timed_steps"] == rank1["timed_steps"] > 0  # a time budget ends both after the same step


@pytest.mark.slow
def test_a_failing_rank_ends_the_run_with_its_message_and_no_half_written_checkpoint(tmp_path):
    done = torchrun("fail", tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "rank 1 was told to fail at step 3" in output  # the failing rank's own error
    assert "rank      : 1 (local_rank: 1)" in output  # torchrun names it as the root cause
    state = checkpoints.load(tmp_path / "checkpoint.pt", "gan_trainer")  # the last good one, whole
    assert state["counters"]["global_step"] == 1 and state["distributed"]["world_size"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]  # no run folder, no partial files
