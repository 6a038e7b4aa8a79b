"""gan_course.storage: atomic writes, and the removal of what an interrupted write left behind."""

import os

import pytest

from gan_course import storage


def test_atomic_write_gives_the_usual_mode_and_leaves_nothing_on_failure(tmp_path):
    path = storage.atomic_write_bytes(tmp_path / "a" / "file.bin", b"123")
    mask = os.umask(0)
    os.umask(mask)
    assert path.read_bytes() == b"123" and (path.stat().st_mode & 0o777) == (0o666 & ~mask)

    def broken(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        storage.atomic_write(path, broken)
    assert path.read_bytes() == b"123"  # the old content survives
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.bin"]  # no temporary left


def test_atomic_torch_save_round_trips_and_leaves_no_temporary_file(tmp_path):
    import torch

    path = storage.atomic_torch_save({"w": torch.arange(3.0)}, tmp_path / "x.pt")
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.arange(3.0))
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_remove_stale_parts_removes_only_this_files_leftovers(tmp_path):
    target = tmp_path / "run[1].pt"  # glob characters in the name are taken literally
    mine = [tmp_path / ".run[1].pt.a1.part", tmp_path / ".run[1].pt.b2.part"]
    others = [tmp_path / ".run1.pt.a1.part", tmp_path / ".other.pt.a1.part", tmp_path / "run[1].pt"]
    for p in mine + others:
        p.write_bytes(b"x")
    assert storage.remove_stale_parts(target) == sorted(mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in others)
    assert storage.glob_escape("a*b?[c") == "a[*]b[?][[]c"
