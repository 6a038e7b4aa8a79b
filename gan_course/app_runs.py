"""What notebook 10's applications share when they run from the command line: argument checks,
the weights file, array outputs and the digits they are measured on.

Each application (``semi_supervised``, ``text2digit``, ``aae``, ``superres``) has a
``train_<kind>(out, minutes, seed, progress, ...)`` that writes a run folder and a
``sample_<kind>(weights_path, n, seed, ...)`` that reads its ``weights.pt``. The weights are a
``checkpoints`` file of kind ``"<kind>_weights"``, so the weights of one application handed to
another are refused with a message naming both.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from gan_course import checkpoints, storage
from gan_course.validate import require_bool, require_positive_int, require_positive_number, require_seed

KINDS = ("semi", "text2digit", "aae", "superres")  # the applications with a command line
WriteGrid = Callable[[Path, torch.Tensor], None]  # (path, images (N, 1, 28, 28) in [0, 1]) -> writes a PNG


def check_run(minutes: object, seed: object, progress: object) -> tuple[float, int, bool]:
    """The three arguments every ``train_<kind>`` takes, checked: (seconds of budget, seed, progress)."""
    return 60 * require_positive_number("minutes", minutes), require_seed(seed), require_bool("progress", progress)


def check_sample(n: object, seed: object) -> tuple[int, int]:
    """The arguments every ``sample_<kind>`` takes, checked."""
    return require_positive_int("n", n), require_seed(seed)


def check_digit(digit: object) -> int | None:
    """None, or a digit 0..9."""
    if digit is None:
        return None
    if isinstance(digit, (bool, np.bool_)) or not isinstance(digit, (int, np.integer)) or not 0 <= digit <= 9:
        raise ValueError(f"digit must be an int from 0 to 9 (or None), got {digit!r}")
    return int(digit)


def refuse(kind: str, **options: Any) -> None:
    """A ValueError for options that ``kind`` does not take (e.g. ``prompt`` for ``aae``)."""
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise ValueError(f"{kind} takes no {', '.join(given)} (given {', '.join(f'{k}={options[k]!r}' for k in given)}); "
                         "digit is for text2digit, semi and superres, prompt for text2digit, attribute for aae")


def half(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A module's state dict with floating tensors in fp16 (half the file; sampling is unaffected)."""
    return {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
            for k, v in module.state_dict().items()}


def load_state(module: torch.nn.Module, state: dict[str, torch.Tensor], what: str) -> torch.nn.Module:
    """Load a (possibly fp16) state dict into ``module`` in its own dtype, after checking the keys and
    shapes; returns the module in eval mode."""
    checkpoints.check_state_dict_matches(module, state, what)
    own = module.state_dict()
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return module.eval()


def save_weights(path: str | os.PathLike, kind: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (networks, settings, provenance) as a ``"<kind>_weights"`` checkpoint."""
    return checkpoints.save(path, f"{kind}_weights", {"kind": kind, "torch": str(torch.__version__), **payload})


def load_weights(path: str | os.PathLike, kind: str) -> dict[str, Any]:
    """The payload of a ``"<kind>_weights"`` file; another kind's weights, a damaged file or a missing
    one raise a ValueError naming ``weights_path``."""
    try:
        return checkpoints.load(path, f"{kind}_weights")
    except FileNotFoundError:
        raise ValueError(f"weights_path {str(path)!r}: no such file; make one with "
                         f"`python -m gan_course train {kind} --out DIR` (DIR/weights.pt)") from None
    except checkpoints.CheckpointError as error:
        raise ValueError(f"weights_path: {error}") from None


def shipped_path(kind: str) -> Path:
    """Where the shipped weights of ``kind`` live: ``assets/models/<kind>_mnist.pt``."""
    from gan_course.config import assets_dir

    return assets_dir() / "models" / f"{kind}_mnist.pt"


def write_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """``np.save`` written atomically."""
    return storage.atomic_write(path, lambda f: np.save(f, array))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images (N, 1, 28, 28) in [0, 1] to bytes (N, 28, 28), 0 = background."""
    return (x.detach().float().cpu()[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def finite_or_none(value: float) -> float | None:
    """A float for JSON: None when NaN or inf."""
    return float(value) if math.isfinite(value) else None


@dataclass
class Budget:
    """How long a run trains: a wall-clock budget, and optionally step counts for its two phases.

    Every application trains a baseline first and then its GAN. With a time budget alone the
    baseline gets ``share`` of it (and at most ``baseline_cap`` steps) and the GAN the rest; with
    ``steps`` the GAN takes exactly that many steps and the baseline ``baseline_steps``, the time
    budget only capping the whole. ``cpu_seconds`` says how much processor time the run has used
    (on a busy machine far less than its wall time, and what a quiet machine would need).
    """

    seconds: float  # the wall-clock budget of the whole run
    steps: int | None = None  # the GAN phase's steps (None: the rest of the time)
    baseline_steps: int | None = None  # the baseline phase's steps when ``steps`` is given
    start: float = field(default_factory=lambda: time.perf_counter())  # looked up at each call: a benchmark
    cpu_start: float = field(default_factory=lambda: time.process_time())  # may run on processor time

    def __post_init__(self) -> None:
        if self.steps is not None:
            self.steps = require_positive_int("steps", self.steps)
        if self.baseline_steps is not None:
            self.baseline_steps = require_positive_int("baseline_steps", self.baseline_steps)

    def left(self) -> float:
        """Wall seconds left (at least a millisecond, so that a loop still gets its first check)."""
        return max(1e-3, self.seconds - (time.perf_counter() - self.start))

    def baseline(self, share: float, cap: int | None, default_steps: int) -> tuple[int | None, float]:
        """(steps, seconds) for the baseline phase."""
        if self.steps is not None:
            return self.baseline_steps or default_steps, self.left()
        return cap, max(1e-3, self.seconds * share)

    def gan(self) -> tuple[int | None, float]:
        """(steps, seconds) for the GAN phase: what is left."""
        return self.steps, self.left()

    def report(self) -> dict[str, float]:
        """Wall and processor seconds used so far, and the load average when asked."""
        return {"seconds": round(time.perf_counter() - self.start, 1),
                "cpu_seconds": round(time.process_time() - self.cpu_start, 1),
                "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None}


SAMPLERS = {"semi": ("gan_course.semi_supervised", "sample_semi"),
            "text2digit": ("gan_course.text2digit", "sample_text2digit"),
            "aae": ("gan_course.aae", "sample_aae"), "superres": ("gan_course.superres", "sample_superres")}


def weights_kind(weights_path: str | os.PathLike) -> str:
    """Which application wrote the weights file: one of ``KINDS``; anything else is a ValueError
    naming ``weights_path``, what it holds and what is allowed."""
    try:
        kind = checkpoints.kind_of(weights_path)
    except FileNotFoundError:
        raise ValueError(f"weights_path {str(weights_path)!r}: no such file") from None
    except checkpoints.CheckpointError as error:
        raise ValueError(f"weights_path: {error}") from None
    application = kind.removesuffix("_weights")
    if not kind.endswith("_weights") or application not in KINDS:
        raise ValueError(f"weights_path {str(weights_path)!r} holds a {kind!r} checkpoint; the applications' "
                         f"samplers read the weights.pt of {', '.join(KINDS)}")
    return application


def sample(weights_path: str | os.PathLike, n: int, seed: int = 0, digit: int | None = None,
           prompt: str | None = None, attribute: float | None = None) -> np.ndarray:
    """``n`` digits (uint8 (n, 28, 28)) from any application's weights, by the ``sample_<kind>`` of the
    kind that wrote them; options the kind does not take are refused by that function."""
    import importlib

    module_name, function = SAMPLERS[weights_kind(weights_path)]
    return getattr(importlib.import_module(module_name), function)(weights_path, n, seed=seed, digit=digit,
                                                                   prompt=prompt, attribute=attribute)
