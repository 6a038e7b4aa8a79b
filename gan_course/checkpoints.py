"""One checkpoint format for everything the package saves, written and read in one place.

A checkpoint file is a ``torch.save``'d envelope::

    {"format": "gan_course.checkpoint", "version": 2, "kind": "gan_trainer",
     "sha256": "<hex digest of the payload's bytes>",
     "payload": <uint8 tensor: the bytes of torch.save(payload dict)>}

- ``kind`` says what the payload is (``"gan_trainer"``, ``"gan_weights"``, ``"gan2d_state"``,
  ``"vae"``, ``"classifier"``, ...); a reader asks for the kind it expects, and a file of another
  kind is refused with a message naming both.
- ``sha256`` is the digest of the payload's bytes: a file damaged on disk or in transit is
  refused instead of loading into a different state.
- Files are written atomically (``storage.atomic_write``: a temporary file, then a rename), and
  read with ``torch.load(weights_only=True)``, which runs no pickled code: a payload holds dicts,
  lists, tensors, numbers and strings only.

::

    save("run/checkpoint.pt", "gan_trainer", trainer.state_dict())
    state = load("run/checkpoint.pt", "gan_trainer", map_location="cpu")
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, Sequence

import torch

from gan_course import storage

FORMAT = "gan_course.checkpoint"
VERSION = 2  # 1 was the layout before one envelope (each module had its own dict)


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
    envelope = {"format": FORMAT, "version": VERSION, "kind": kind, "sha256": hashlib.sha256(data).hexdigest(),
                "payload": torch.frombuffer(bytearray(data), dtype=torch.uint8)}  # raw bytes, stored as they are
    return storage.atomic_torch_save(envelope, path)


def load(path: str | os.PathLike, kind: str | Sequence[str],
         map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The payload of the checkpoint at ``path``, checked to be of ``kind`` (a name or a tuple).

    Raises:
        FileNotFoundError: there is no file at ``path``.
        CheckpointError: the file is not a course checkpoint, is of another kind, was written by
            another version of the format, or its payload does not match its checksum.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    envelope = read_envelope(path)
    if envelope["kind"] not in kinds:
        wanted = " or ".join(map(repr, kinds))
        raise CheckpointError(f"{path} holds a {envelope['kind']!r} checkpoint, but a {wanted} checkpoint is "
                              f"expected here")
    data = envelope["payload"].numpy().tobytes()
    if hashlib.sha256(data).hexdigest() != envelope["sha256"]:
        raise CheckpointError(f"{path} is corrupt: its payload does not match the SHA-256 recorded when it was "
                              f"written (damaged on disk or in transit); write it again")
    try:
        payload = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as error:  # checksum right but unreadable: written by something else
        raise CheckpointError(f"{path}: its payload cannot be read ({type(error).__name__}: "
                              f"{_first_line(error)})") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: its payload is a {type(payload).__name__}, not a dict")
    return payload


def read_envelope(path: str | os.PathLike) -> dict[str, Any]:
    """The envelope of the checkpoint at ``path`` (format, version, kind, sha256, payload as uint8),
    checked for its format and version but not yet for its checksum."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        envelope = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, another format, pickled code: all "not readable"
        raise CheckpointError(f"{path} is not a readable course checkpoint (damaged, or another kind of file): "
                              f"{type(error).__name__}: {_first_line(error)}") from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        old = isinstance(envelope, dict) and (envelope.get("format") == 1 or "state_dict" in envelope)
        what = ("a file written by gan_course 0.1, before the one checkpoint format; remake it with this version "
                "(or convert it with tools/convert_checkpoints.py from the course repository)" if old else
                f"not a course checkpoint (it holds a {type(envelope).__name__})")
        raise CheckpointError(f"{path} is {what}")
    if envelope.get("version") != VERSION:
        raise CheckpointError(f"{path} is a course checkpoint of version {envelope.get('version')!r}; this "
                              f"gan_course reads version {VERSION}")
    payload = envelope.get("payload")
    if not isinstance(envelope.get("kind"), str) or not isinstance(envelope.get("sha256"), str) \
            or not isinstance(payload, torch.Tensor) or payload.dtype != torch.uint8 or payload.ndim != 1:
        raise CheckpointError(f"{path} is a damaged course checkpoint (its envelope lacks kind, payload or sha256)")
    return envelope


def kind_of(path: str | os.PathLike) -> str:
    """What the checkpoint at ``path`` holds (its ``kind``), without reading its payload."""
    return read_envelope(path)["kind"]


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
