"""One rank of a small torchrun run, for tests/test_distributed.py (not a test module itself).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/distributed_worker.py MODE OUT

MODE is ``all`` (``bad-world``, ``first-update`` and ``resume`` in one run, the process group
kept between them: starting processes is what costs) or ``fail``:

- ``bad-world``: 6 samples, batch 4, 2 ranks: refused at construction, before any step; every
  rank saves the message.
- ``first-update``: one step of two tiny GANs (an MLP pair with R1, no batch norm; a DCGAN pair,
  batch norm in G) with SGD; rank 0 saves what each rank drew, the weights before and after, and
  the history row, for the test to redo the step in one process on the concatenated batch. Also
  the discriminator's gradient averaged by ``distributed.average_gradients`` against DDP's.
- ``resume``: Adam, EMA, 4 steps straight against 2 steps, a checkpoint, a new trainer that loads
  it and 2 more steps; every rank saves its weights; then a 0.3-second ``fit`` on both ranks.
- ``fail``: a checkpoint after step 1, then rank 1 raises at step 3 while rank 0 trains inside
  ``runs.output_folder``.

Results are written with torch.save under OUT (test code; the package saves through checkpoints).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist

from gan_course import distributed, runs, specs
from gan_course.train import GANTrainer, TrainerConfig

BATCH = 4  # per rank


def networks(kind: str):
    torch.manual_seed(0)
    if kind == "mlp":
        return specs.MLPSpec(latent_dim=2, width=16, depth=2).build(2)
    return specs.DCGANSpec(latent_dim=8, width_g=4, width_d=4).build()


def data(kind: str, n: int = 64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    if kind == "mlp":
        return torch.randn(n, 2, generator=gen)
    return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1


def config(**changes) -> TrainerConfig:
    return TrainerConfig(device="cpu", precision="fp32", batch_size=BATCH, seed=5, **changes)


def peek(trainer: GANTrainer) -> tuple[torch.Tensor, torch.Tensor]:
    """The real batch and the noise the next step will draw, without drawing them."""
    position, latent = trainer.sampler.position(), trainer.latent_generator.get_state()
    x = next(trainer.sampler)
    z = trainer.latent_sampler(x.shape[0], trainer.latent_generator)
    trainer.sampler.set_position(position)
    trainer.latent_generator.set_state(latent)
    return x, z


def weights(trainer: GANTrainer) -> dict:
    out = {"generator": trainer.generator.state_dict(), "discriminator": trainer.discriminator.state_dict()}
    if trainer.generator_ema is not None:
        out["generator_ema"] = trainer.generator_ema.state_dict()
    return {k: {n: t.detach().clone() for n, t in v.items()} for k, v in out.items()}


def gathered(obj):
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, obj)
    return everyone


def first_update(world: distributed.World, out: Path) -> None:
    result = {}
    for kind, changes in (("mlp", {"r1_weight": 1.0}), ("dcgan", {})):
        cfg = config(optimizer_d="sgd", optimizer_g="sgd", lr_d=0.1, lr_g=0.1, **changes)
        generator, discriminator = networks(kind)
        trainer = GANTrainer(generator, discriminator, data(kind), config=cfg, distributed=world)
        before = weights(trainer)
        x, z = peek(trainer)
        row = trainer.step()
        result[kind] = {"config": cfg, "before": before, "after": gathered(weights(trainer)),
                        "x": gathered(x), "z": gathered(z), "row": row}
    result["ddp"] = ddp_against_average(world)
    if world.writes_outputs:
        torch.save(result, out / "first_update.pt")


def ddp_against_average(world: distributed.World) -> dict:
    """D's gradient (loss with R1, a double backward) averaged by DDP and by average_gradients."""
    from torch.nn.parallel import DistributedDataParallel

    from gan_course.losses import get_loss, r1_penalty

    loss = get_loss("nonsaturating")
    x = data("mlp")[world.rank * 8:(world.rank + 1) * 8]
    grads = []
    for wrap in (True, False):
        generator, discriminator = networks("mlp")
        d = DistributedDataParallel(discriminator) if wrap else discriminator
        z = torch.randn(8, 2, generator=torch.Generator().manual_seed(world.rank))
        total = loss.d_loss(d(x), d(generator(z).detach())) + r1_penalty(d, x)
        total.backward()
        if not wrap:
            distributed.average_gradients(discriminator, torch.zeros(1), world)
        grads.append(torch.cat([p.grad.flatten() for p in discriminator.parameters()]))
    return {"ddp": grads[0], "ours": grads[1]}


def resume(world: distributed.World, out: Path) -> None:
    cfg = config(ema=0.9, lr_d=1e-3, lr_g=1e-3)
    straight = GANTrainer(*networks("dcgan"), data("dcgan"), config=cfg, distributed=world)
    straight.fit(steps=4, progress=False)
    first = GANTrainer(*networks("dcgan"), data("dcgan"), config=cfg, distributed=world)
    first.fit(steps=2, progress=False)
    checkpoint = out / "checkpoint.pt"
    first.save(checkpoint)
    dist.barrier()  # rank 0 has written it
    second = GANTrainer(*networks("dcgan"), data("dcgan"), config=cfg, distributed=world)
    second.load(checkpoint)
    second.fit(steps=2, progress=False)
    timed = GANTrainer(*networks("mlp"), data("mlp"), config=cfg, distributed=world)
    if world.rank == 1:  # a slower rank: without an agreed stop the two would part ways
        timed.callbacks.append(lambda t: torch.randn(300, 300) @ torch.randn(300, 300))
    timed.fit(seconds=0.3, progress=False)
    result = {"straight": weights(straight), "resumed": weights(second), "history": straight.history,
              "resumed_history": second.history, "timed_steps": timed.global_step}
    torch.save(result, out / f"resume_rank{world.rank}.pt")


def fail(world: distributed.World, out: Path) -> None:
    trainer = GANTrainer(*networks("dcgan"), data("dcgan"), config=config(), distributed=world)
    trainer.fit(steps=1, progress=False)
    trainer.save(out / "checkpoint.pt")  # a good checkpoint, after step 1

    def fail_on_rank_1(t: GANTrainer) -> None:
        if world.rank == 1 and t.global_step == 3:
            raise RuntimeError("rank 1 was told to fail at step 3")

    trainer.callbacks.append(fail_on_rank_1)
    folder = runs.output_folder(out / "run") if world.writes_outputs else \
        contextlib.nullcontext(Path(tempfile.mkdtemp()))
    with folder as path:
        trainer.fit(steps=50, progress=False)
        trainer.save(out / "checkpoint.pt")
        trainer.save(path / "checkpoint.pt")


def bad_world(world: distributed.World, out: Path) -> None:
    try:
        GANTrainer(*networks("mlp"), data("mlp", n=6), config=config(), distributed=world)
        message = None
    except ValueError as error:
        message = str(error)
    torch.save({"message": message}, out / f"bad_world_rank{world.rank}.pt")


def everything(world: distributed.World, out: Path) -> None:
    for mode in (bad_world, first_update, resume):
        mode(world, out)
        dist.barrier()


def main() -> int:
    mode, out = sys.argv[1], Path(sys.argv[2])
    torch.set_num_threads(1)  # tiny networks
    world = distributed.setup("cpu")
    try:
        {"all": everything, "fail": fail}[mode](world, out)
    finally:
        distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
