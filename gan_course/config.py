"""FAST mode, device and precision choice, seeding, and where the course's files live.

FAST mode is what CI and a quick classroom run use: notebooks ask ``fast(small, full)`` for
their sizes, so the same notebook trains for seconds under CI and for minutes for a student.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

from gan_course.validate import require_choice, require_seed

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")


def _env_flag(name: str) -> bool | None:
    """The value of an on/off environment variable, or None when it is not set."""
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off, got {value!r}")


def is_fast() -> bool:
    """True in FAST mode: ``GAN_COURSE_FAST=1``, or ``CI`` set and ``GAN_COURSE_FAST`` unset.

    ``GAN_COURSE_FAST=0`` turns FAST mode off even under CI. The environment is read at every
    call, so a notebook can change it with ``os.environ`` and see the change.
    """
    flag = _env_flag("GAN_COURSE_FAST")
    if flag is not None:
        return flag
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def fast(small: T, full: T) -> T:
    """Pick a size: ``small`` in FAST mode, ``full`` otherwise.

    >>> steps = fast(200, 5000)  # 200 under CI or GAN_COURSE_FAST=1, 5000 for a real run
    >>> steps == (200 if is_fast() else 5000)
    True
    """
    return small if is_fast() else full


def get_device(choice: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``choice``.

    ``"auto"`` (or None) takes ``GAN_COURSE_DEVICE`` when it is set, and otherwise the first of
    CUDA, MPS, CPU that this machine has. An explicit device that is not available is an error,
    not a silent fallback.
    """
    if isinstance(choice, torch.device):
        choice = str(choice)
    if choice is None or choice == "auto":
        choice = os.environ.get("GAN_COURSE_DEVICE", "auto").strip() or "auto"
        if choice == "auto":
            if torch.cuda.is_available():
                return torch.device("cuda")
            if _mps_available():
                return torch.device("mps")
            return torch.device("cpu")
    if not isinstance(choice, str):
        raise ValueError(f"device must be one of {DEVICE_CHOICES} or a torch.device, got {choice!r}")
    kind = choice.split(":")[0]
    if kind not in ("cpu", "cuda", "mps") or (kind != "cuda" and ":" in choice):
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {choice!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {choice!r} was asked for, but this machine has no CUDA GPU; "
                         "use 'auto' or 'cpu'")
    if kind == "mps" and not _mps_available():
        raise ValueError(f"device {choice!r} was asked for, but MPS is not available; "
                         "use 'auto' or 'cpu'")
    return torch.device(choice)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@dataclass(frozen=True)
class Precision:
    """How a trainer runs its forward passes on a device."""

    name: str  # "fp32", "bf16" or "fp16"
    dtype: torch.dtype  # the autocast dtype (float32 means no autocast)
    use_scaler: bool  # fp16 needs a gradient scaler; bf16 and fp32 do not

    @property
    def autocast(self) -> bool:
        """Whether forward passes run under ``torch.autocast``."""
        return self.dtype != torch.float32


_PRECISIONS = {
    "fp32": Precision("fp32", torch.float32, False),
    "bf16": Precision("bf16", torch.bfloat16, False),
    "fp16": Precision("fp16", torch.float16, True),
}


def autocast(device: torch.device, precision: Precision):
    """The context a forward pass runs in: ``torch.autocast`` to the precision's dtype, or nothing
    for fp32."""
    if not precision.autocast:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=precision.dtype)


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 numbers in hardware (AVX512-BF16 or AMX). There, bf16
    autocast runs a DCGAN step about 1.6x faster than fp32 (``benchmarks/bench_trainer.py
    --precision``); without them bf16 would be emulated, so the course keeps fp32 there."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu, private helpers
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def get_precision(device: torch.device | str = "cpu", choice: str = "auto") -> Precision:
    """The precision for ``device``: bf16 on GPUs that have it, fp16 with a scaler on older
    GPUs, fp32 on CPU and MPS. An explicit ``choice`` is honoured on CUDA; on the CPU "bf16" is
    honoured when the CPU has native bf16 (``cpu_has_native_bf16``); elsewhere only fp32.
    """
    require_choice("precision", choice, PRECISION_CHOICES)
    device = torch.device(device)
    if device.type == "cpu" and choice == "bf16":
        if not cpu_has_native_bf16():
            raise ValueError("precision 'bf16' on the CPU needs native bf16 instructions (AVX512-BF16 or AMX), "
                             "which this CPU lacks; use 'auto' or 'fp32'")
        return _PRECISIONS["bf16"]
    if device.type != "cuda":
        if choice not in ("auto", "fp32"):
            raise ValueError(f"precision {choice!r} needs a CUDA device, got device {str(device)!r}; "
                             "use 'auto' or 'fp32'")
        return _PRECISIONS["fp32"]
    if choice == "auto":
        choice = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return _PRECISIONS[choice]


def seed_everything(seed: int) -> int:
    """Seed Python's ``random``, NumPy and torch (every device) so a run can be repeated."""
    seed = require_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    return seed


def torch_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator | None:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``, or None (the global stream) for None."""
    if seed is None:
        return None
    return torch.Generator(device=device).manual_seed(require_seed(seed))


def assets_dir() -> Path:
    """The folder that holds the bundled data and shipped weights.

    In a clone (or an editable install) it is ``assets/`` at the repository root; in a wheel it
    is ``gan_course/assets``. ``GAN_COURSE_ASSETS`` overrides both.
    """
    override = os.environ.get("GAN_COURSE_ASSETS")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "assets", here / "assets"):
        if (candidate / "data").is_dir():
            return candidate
    raise FileNotFoundError(f"the course's assets folder is missing: looked in {here.parent / 'assets'} "
                            f"and {here / 'assets'}; reinstall the package or set GAN_COURSE_ASSETS")


def weights_path(filename: str) -> Path:
    """Where a shipped checkpoint is read from: ``assets/models/filename``, or, when
    ``GAN_COURSE_WEIGHTS`` names a folder (an instructor's checkpoints trained longer, e.g. with
    ``python -m gan_course pretrain --all``), ``that folder/filename``.

    A ``GAN_COURSE_WEIGHTS`` that is not a folder, or that lacks the file, is an error naming it:
    never a silent fall-back to the shipped file.
    """
    folder = os.environ.get("GAN_COURSE_WEIGHTS")
    if not folder:
        return assets_dir() / "models" / filename
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"GAN_COURSE_WEIGHTS={folder!r} is not a folder; point it at the folder "
                                "'python -m gan_course pretrain --all --out DIR' wrote, or unset it for the shipped weights")
    if not (path / filename).is_file():
        raise FileNotFoundError(f"GAN_COURSE_WEIGHTS={folder!r} holds no {filename}; make it with 'python -m "
                                f"gan_course pretrain --all --out {folder}', or unset GAN_COURSE_WEIGHTS")
    return path / filename


def notebooks_dir() -> Path:
    """The folder that holds the course's notebooks: ``notebooks/`` in a clone, ``gan_course/notebooks``
    in an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "notebooks", here / "notebooks"):
        if any(candidate.glob("*.ipynb")):
            return candidate
    raise FileNotFoundError(f"the course's notebooks are missing: looked in {here.parent / 'notebooks'} and "
                            f"{here / 'notebooks'}; reinstall the package, or clone the course's repository")


def cache_dir() -> Path:
    """Where downloads are cached: ``GAN_COURSE_DATA``, else the user's cache folder."""
    override = os.environ.get("GAN_COURSE_DATA")
    if override:
        return Path(override).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "gan_course"
