"""Atomic file writes: a reader never sees half a file, and a failed write leaves nothing."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, IO

import torch


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The rename is atomic on POSIX and Windows, so ``path`` holds either its old content or the
    complete new one. If ``write`` raises, the temporary file is removed and ``path`` is left as
    it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files an interrupted write of ``path`` left behind (a ``kill -9``
    between writing and renaming): ``.{name}.*.part`` beside it. Returns what was removed."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{glob_escape(path.name)}.*.part")) if path.parent.is_dir() else []
    for part in stale:
        part.unlink(missing_ok=True)
    return stale


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters taken literally."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def current_umask() -> int:
    """The process's umask (read without changing it for more than an instant)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically: serialise to memory first, then write and rename."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())
