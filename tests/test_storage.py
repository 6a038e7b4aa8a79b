"""Atomic writes."""

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
