"""One checkpoint format for everything the package saves, written and read in one place.

A checkpoint file is three lines and a payload::

    GAN_COURSE_CHECKPOINT
    <SHA-256, in hex, of everything after this line>
    {"format": "gan_course.checkpoint", "version": 2, "kind": "gan_trainer", "payload_bytes": 1234567}
    <payload: the bytes of torch.save(payload dict)>

- ``kind`` says what the payload is (``"gan_trainer"``, ``"gan_weights"``, ``"gan2d_state"``,
  ``"vae"``, ``"classifier"``, ...); a reader asks for the kind it expects, and a file of another
  kind is refused with a message naming both.
- The digest covers the header and the payload, so any byte damaged on disk or in transit,
  anywhere after the first line, is found before anything is read into memory as a state; a
  damaged first line makes the file "not a checkpoint".
- Files are written atomically (``storage.atomic_write``: a temporary file, then a rename; the
  temporary files a killed write leaves are removed at the next save or load of that file), and
  the payload is read with ``torch.load(weights_only=True)``, which runs no pickled code: it
  holds dicts, lists, tensors, numbers and strings only.

::

    save("run/checkpoint.pt", "gan_trainer", trainer.state_dict())
    state = load("run/checkpoint.pt", "gan_trainer", map_location="cpu")
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any, Sequence

import torch

from gan_course import storage

MAGIC = b"GAN_COURSE_CHECKPOINT\n"
FORMAT = "gan_course.checkpoint"
VERSION = 2  # 1 was the layout before one format (each module saved its own dict with torch.save)


class CheckpointError(ValueError):
    """A file that is not a readable course checkpoint of the kind asked for."""


def save(path: str | os.PathLike, kind: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as a checkpoint of ``kind`` to ``path``, atomically; returns the path."""
    if not isinstance(kind, str) or not kind.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"kind must be a short name such as 'gan_trainer', got {kind!r}")
    if not isinstance(payload, dict):
        raise ValueError(f"payload must be a dict, got {type(payload).__name__}")
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    header = json.dumps({"format": FORMAT, "version": VERSION, "kind": kind, "payload_bytes": len(data)}).encode()
    body = header + b"\n" + data
    digest = hashlib.sha256(body).hexdigest().encode()
    return storage.atomic_write_bytes(path, MAGIC + digest + b"\n" + body)


def load(path: str | os.PathLike, kind: str | Sequence[str],
         map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The payload of the checkpoint at ``path``, checked to be of ``kind`` (a name or a tuple).

    Raises:
        FileNotFoundError: there is no file at ``path``.
        CheckpointError: the file is not a course checkpoint, is damaged (its digest does not
            match), is of another kind, or was written by another version of the format.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    header, data = _read(path, verify=True)
    if header["kind"] not in kinds:
        wanted = " or ".join(map(repr, kinds))
        raise CheckpointError(f"{path} holds a {header['kind']!r} checkpoint, but a {wanted} checkpoint is "
                              f"expected here")
    try:
        payload = _torch_load(data, map_location)
    except Exception as error:  # digest right but unreadable: written by something else
        raise CheckpointError(f"{path}: its payload cannot be read ({type(error).__name__}: "
                              f"{_first_line(error)})") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: its payload is a {type(payload).__name__}, not a dict")
    return payload


def load_weights(path: str | os.PathLike, kind: str | Sequence[str], what: str, remedy: str = "") -> dict[str, Any]:
    """``load`` for a weights file a user names (``weights_path``), with errors a user can act on:
    a missing file is a FileNotFoundError (``remedy`` appended: how to make it), any other file a
    ValueError saying it does not hold ``what`` weights, and why."""
    try:
        return load(path, kind)
    except FileNotFoundError:
        raise FileNotFoundError(f"weights_path {str(path)!r}: no such file" + (f"; {remedy}" if remedy else "")) \
            from None
    except CheckpointError as error:
        raise ValueError(f"weights_path {str(path)!r} does not hold {what} weights: {error}") from None


def kind_of(path: str | os.PathLike) -> str:
    """What the checkpoint at ``path`` holds (its ``kind``), read from its header."""
    return _read(path, verify=False)[0]["kind"]


def _read(path: str | os.PathLike, verify: bool) -> tuple[dict[str, Any], bytes]:
    """The header and the payload's bytes of the checkpoint at ``path``, the digest checked."""
    path = Path(path)
    storage.remove_stale_parts(path)  # what a write killed half-way left beside it
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    raw = path.read_bytes()
    if not raw.startswith(MAGIC):
        raise CheckpointError(f"{path} is {_what_it_is(raw)}")
    digest, _, body = raw[len(MAGIC):].partition(b"\n")
    if verify and hashlib.sha256(body).hexdigest().encode() != digest:
        raise CheckpointError(f"{path} is damaged: its content does not match the SHA-256 recorded when it was "
                              "written (a changed or missing byte); write it again from its source")
    line, _, data = body.partition(b"\n")
    try:
        header = json.loads(line)
        known = header["format"] == FORMAT and isinstance(header["kind"], str)
    except (ValueError, KeyError, TypeError):
        known = False
    if not known:
        raise CheckpointError(f"{path} is a damaged course checkpoint: its header cannot be read")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{path} is a course checkpoint of version {header.get('version')!r}; this "
                              f"gan_course reads version {VERSION}")
    if verify and header.get("payload_bytes") != len(data):
        raise CheckpointError(f"{path} is damaged: its payload has {len(data)} bytes, its header says "
                              f"{header.get('payload_bytes')}")
    return header, data


def _what_it_is(raw: bytes) -> str:
    """What a file that is not a course checkpoint seems to be, for the error message."""
    if raw[:4] == b"PK\x03\x04":
        try:
            old = _torch_load(raw, "cpu")
        except Exception:
            old = None
        if isinstance(old, dict) and (old.get("format") == 1 or "state_dict" in old):
            return ("a file written by gan_course 0.1, before the one checkpoint format; remake it with this "
                    "version (or convert it with tools/convert_checkpoints.py from the course repository)")
        return "a torch.save file, not a course checkpoint (write it with gan_course.checkpoints.save)"
    if not raw:
        return "empty, not a course checkpoint"
    return "not a course checkpoint (damaged, or another kind of file)"


def _torch_load(data: bytes, map_location: str | torch.device) -> Any:
    """The package's one ``torch.load``: ``weights_only=True``, so no pickled code runs."""
    return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:160]


def check_state_dict_matches(module: torch.nn.Module, state: dict, what: str) -> None:
    """Raise a ``ValueError`` listing how ``state`` differs from ``module``'s parameters and buffers
    (missing or unexpected keys, shapes), before anything is loaded."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = ([f"missing {missing[:5]}"] if missing else []) + \
                ([f"unexpected {unexpected[:5]}"] if unexpected else []) + shapes[:5]
        raise ValueError(f"this checkpoint was saved from a different {what} architecture; nothing "
                         f"was loaded. Differences: {'; '.join(parts)}")
