"""Train runs that leave a folder behind: what ``python -m gan_course train ...`` does.

Every run writes, each file atomically, ``samples.npy``, ``history.json``, ``checkpoint.pt``
(the whole trainer, to resume) and ``metrics.json``; image runs add ``weights.pt`` (the small
shippable file) and ``grid.png``::

    result = train_toy("ring8", "runs/ring8")                  # 2-D samples and mode coverage
    summary, trainer, x_fake, y = train_image("dcgan", "runs/dcgan", minutes=5)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from gan_course import data, divergences, recipes, storage
from gan_course.distributed import World
from gan_course.loop import NonFiniteLossError
from gan_course.train import GANTrainer
from gan_course.validate import require_budget, require_positive_int, require_positive_number

NUM_TOY_SAMPLES = 2500  # 2-D/1-D samples a toy run writes


def check_output_folder(out: str | os.PathLike, force: bool = False) -> Path:
    """``out`` as a folder a run may be written to, checked before any work: a non-empty path,
    not a file, and (unless ``force``) not a folder that already holds files."""
    if not isinstance(out, (str, os.PathLike)) or not str(out).strip():
        raise ValueError(f"out must be a folder path, got {out!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} is a file, not a folder; give a folder for the run")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"out {str(out)!r} already holds a run ({len(list(out.iterdir()))} entries); pass --force "
                         "(force=True) to replace it, or choose another folder")
    return out


@contextlib.contextmanager
def output_folder(out: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """A fresh temporary folder beside ``out`` to write a run into; when the block ends normally
    it is renamed to ``out`` (replacing an old run when ``force``), when it raises it is deleted.
    A reader never sees half a run, and a failed run never touches ``out``.

        with output_folder("runs/dcgan") as folder:
            write_run(folder, trainer, samples)
    """
    out = check_output_folder(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        os.chmod(folder, 0o777 & ~storage.current_umask())  # mkdtemp makes it private; a run folder is not
    except OSError as error:
        raise ValueError(f"out {str(out)!r}: cannot write there ({error.strerror or error})") from None
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    old = None
    if out.exists():  # --force: move the old run aside, put the new one in place, then delete the old
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(folder, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_run(out: str | os.PathLike, trainer: GANTrainer, samples: np.ndarray) -> Path:
    """Make the folder ``out`` and write what every ``train`` run leaves there: ``samples.npy``,
    ``history.json`` and ``checkpoint.pt`` (the whole trainer, to resume), each atomically.
    Returns the folder as a ``Path``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    storage.atomic_write(out / "samples.npy", lambda f: np.save(f, samples))
    storage.atomic_write_bytes(out / "history.json", history_to_json(trainer.history).encode())
    trainer.save(out / "checkpoint.pt")
    return out


def history_to_json(history: dict[str, list[float]]) -> str:
    """The history as strict JSON (NaN, for a player that did not move, becomes null)."""
    return json.dumps(_finite_or_none(history))


def write_json(path: str | os.PathLike, obj: dict) -> Path:
    """``obj`` as indented, strict JSON (NaN and inf become null), written atomically."""
    return storage.atomic_write_bytes(path, json.dumps(_finite_or_none(obj), indent=2).encode())


def _finite_or_none(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------
# Toy runs
# --------------------------------------------------------------------------------------------


def toy_metrics(name: str, samples: torch.Tensor) -> dict:
    """Sample quality on a toy: mean log p_data of the samples; in 1-D, JS and KL on a grid; on
    the 2-D mixtures, ``divergences.mode_coverage`` (modes covered, high quality, ...)."""
    out: dict = {}
    samples = samples.detach().double().cpu()
    centers, std = data.toy_modes(name)
    if centers is None:
        return out
    out["mean_log_prob_data"] = float(data.toy_log_prob(name, samples).mean())
    if samples.shape[1] == 2:
        coverage = divergences.mode_coverage(samples, centers, std).as_dict()
        coverage.pop("counts")
        out["mode_coverage"] = _finite_or_none(coverage)  # reverse KL is inf when no sample is of high quality
    if samples.shape[1] == 1:
        grid = torch.linspace(-8, 8, 1601, dtype=torch.float64)
        log_prob = lambda t: data.toy_log_prob(name, t)  # noqa: E731
        out["js_nats"] = float(divergences.js_to_samples(log_prob, samples, grid, bandwidth=0.15))
        out["kl_nats"] = float(divergences.kl_to_samples(log_prob, samples, grid, bandwidth=0.15))
    return out


def train_toy(name: str, out: str | os.PathLike, loss: str | None = None, steps: int | None = None,
              seed: int = 0, device: str = "auto", progress: bool = True, minutes: float | None = None,
              resume: str | os.PathLike | None = None) -> dict:
    """Train the recommended GAN on a toy and write ``out/``: ``samples.npy`` (2500, d) float32,
    ``metrics.json``, ``history.json`` and ``checkpoint.pt``. Returns the metrics dict.

    ``steps`` (default: the recipe's) and ``minutes`` (a time budget) bound the run; ``resume``
    continues from a ``checkpoint.pt`` for ``steps`` more. A loss that turns non-finite stops
    the run at its last good step, which is written, with ``"stopped"`` saying why.
    """
    if steps is not None:
        require_positive_int("steps", steps)
    if minutes is not None:
        require_positive_number("minutes", minutes)
    trainer = recipes.toy_trainer(name, loss, seed, device)
    if resume is not None:
        trainer.load(resume)
    steps = recipes.TOY_RECIPES[name].steps if steps is None else steps
    start = time.perf_counter()
    stopped = _fit(trainer, steps, None if minutes is None else 60 * minutes, progress)
    seconds = time.perf_counter() - start
    samples = trainer.sample(NUM_TOY_SAMPLES, seed=seed).cpu()  # (2500, d)
    out = write_run(out, trainer, samples.numpy().astype(np.float32))
    last = {k: trainer.history[k][-1] for k in ("d_loss", "g_loss", "d_real", "d_fake")} if trainer.global_step else {}
    result = {"data": name, "loss": trainer.config.loss, "steps": trainer.global_step, "seed": seed,
              "device": str(trainer.device), "seconds": round(seconds, 3), "interrupted": trainer.interrupted,
              **({"stopped": stopped} if stopped else {}), "final": last, **toy_metrics(name, samples)}
    result = _finite_or_none(result)
    write_json(out / "metrics.json", result)
    return result


def _fit(trainer: GANTrainer, steps: int | None, seconds: float | None, progress: bool) -> str | None:
    """``trainer.fit``; a non-finite loss ends the run at its last good step (the message is returned)."""
    try:
        trainer.fit(steps=steps, seconds=seconds, progress=progress)
    except NonFiniteLossError as error:
        return str(error)
    return None


# --------------------------------------------------------------------------------------------
# Image runs
# --------------------------------------------------------------------------------------------


def train_image(kind: str, out: str | Path, minutes: float | None = None, seed: int = 0, device: str = "auto",
                steps: int | None = None, progress: bool = True, command: str = "",
                resume: str | os.PathLike | None = None, distributed: World | None = None
                ) -> tuple[dict, GANTrainer, torch.Tensor, torch.Tensor | None]:
    """Train ``kind`` for ``minutes`` (or ``steps``) and write ``out/``: ``samples.npy`` (uint8,
    (1000, 28, 28)), ``checkpoint.pt`` (the full trainer, to resume), ``weights.pt`` (the small
    shippable file, recording ``command`` as its provenance) and ``history.json``. The caller
    adds ``metrics.json`` and ``grid.png``. ``resume`` continues from a ``checkpoint.pt``;
    a non-finite loss ends the run at its last good step, written with ``"stopped"``.

    Returns:
        (run summary dict, the trainer, the samples in [-1, 1], the requested labels or None).
    """
    recipes.pretrained_path(kind)  # validates the kind
    require_budget(steps, minutes, "minutes")
    trainer = recipes.image_trainer(kind, seed=seed, device=device, distributed=distributed)
    if resume is not None:
        trainer.load(resume)
    stopped = _fit(trainer, steps, None if minutes is None else 60 * minutes, progress)
    x_fake, y = recipes.sample_images(trainer, recipes.NUM_SAMPLES, seed=seed)  # every rank: G in eval mode
    out = write_run(out, trainer, recipes.to_uint8(x_fake))
    recipes.export_weights(trainer, kind, out / "weights.pt", seed, command)
    summary = {"kind": kind, "seed": seed, "steps": trainer.global_step, "seconds": round(trainer.elapsed, 1),
               "device": str(trainer.device), "precision": trainer.precision.name, "interrupted": trainer.interrupted,
               "processes": 1 if distributed is None else distributed.world_size,
               **({"stopped": stopped} if stopped else {})}
    return summary, trainer, x_fake, y
