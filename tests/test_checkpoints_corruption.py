"""Damaged checkpoints are refused, whatever byte was damaged, and nothing is loaded from them."""

import random

import pytest
import torch

from gan_course import checkpoints, recipes, storage
from gan_course.checkpoints import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")


def small_trainer():
    recipe = recipes.TOY_RECIPES["ring8"].replace(width=8, depth=1, batch_size=16, num_data=64)
    return recipes.toy_trainer("ring8", seed=0, device="cpu", recipe=recipe)


@pytest.fixture(scope="module")
def trainer_file(tmp_path_factory):
    t = small_trainer()
    t.fit(steps=3, progress=False)
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    t.save(path)
    return path


def test_every_single_byte_flip_is_refused_and_loads_nothing(trainer_file, tmp_path):
    raw = trainer_file.read_bytes()
    rng = random.Random(0)
    offsets = sorted(set(rng.sample(range(len(raw)), 150)) | {0, 5, len(raw) // 2, len(raw) - 1})
    offsets += list(range(22, 22 + 70, 7))  # the digest line and the header, byte by byte
    detected = 0
    for offset in offsets:
        damaged = bytearray(raw)
        damaged[offset] ^= 0xFF
        path = tmp_path / "flipped.pt"
        path.write_bytes(bytes(damaged))
        t = small_trainer()
        before = [p.clone() for p in t.generator.parameters()]
        with pytest.raises(CheckpointError):
            t.load(path)
        assert all(torch.equal(a, b) for a, b in zip(before, t.generator.parameters())) and t.global_step == 0
        detected += 1
    assert detected == len(offsets) >= 150


@pytest.mark.parametrize("cut", [0, 10, 30, 200, -1])
def test_a_truncated_file_is_refused(trainer_file, tmp_path, cut):
    raw = trainer_file.read_bytes()
    path = tmp_path / "short.pt"
    path.write_bytes(raw[:cut] if cut >= 0 else raw[:-1])
    with pytest.raises(CheckpointError):
        checkpoints.load(path, "gan_trainer")


def test_the_error_names_the_file_and_what_is_wrong(trainer_file, tmp_path):
    raw = bytearray(trainer_file.read_bytes())
    raw[-100] ^= 1
    path = tmp_path / "bad.pt"
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"bad\.pt is damaged: its content does not match the SHA-256"):
        checkpoints.load(path, "gan_trainer")
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="a torch.save file, not a course checkpoint"):
        checkpoints.load(path, "gan_trainer")
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        checkpoints.load(path, "gan_trainer")


def test_a_write_killed_half_way_leaves_no_temporary_file_behind(trainer_file, tmp_path):
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(trainer_file.read_bytes())
    stale = tmp_path / ".checkpoint.pt.abc123.part"  # what a kill -9 between write and rename leaves
    stale.write_bytes(b"half a file")
    other = tmp_path / ".other.pt.abc123.part"  # another file's: not ours to remove
    other.write_bytes(b"x")
    checkpoints.load(target, "gan_trainer")
    assert not stale.exists() and other.exists()
    stale.write_bytes(b"half a file")
    small_trainer().save(target)
    assert not stale.exists() and sorted(p.name for p in tmp_path.iterdir()) == [".other.pt.abc123.part",
                                                                                   "checkpoint.pt"]
    assert storage.remove_stale_parts(tmp_path / "missing" / "x.pt") == []
