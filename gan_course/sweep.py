r"""Notebook 09's hyperparameter sweep (the earth mover's distance it teaches is in ``metrics``).

``sweep`` trains one short image GAN per setting of a grid on the same seed and records the
final losses, a quality figure and a few samples, to show how sensitive a GAN is to its
hyperparameters::

    results = sweep("wgan-gp", {"lr": [1e-4, 1e-3], "d_steps": [1, 5]}, steps=200,
                    evaluate=lambda t: {"score": my_score(t)})
    print(format_table(results))
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from typing import Any, Callable, Sequence

import torch

from gan_course import recipes
from gan_course.loop import NonFiniteLossError
from gan_course.specs import DCGANSpec
from gan_course.specs import TrainerConfig
from gan_course.validate import require_choice, require_positive_int

# grid keys that set both players at once: "lr" (lr_d and lr_g), "optimizer" (optimizer_d and optimizer_g)
BOTH_PLAYERS = {"lr": ("lr_d", "lr_g"), "optimizer": ("optimizer_d", "optimizer_g")}
SWEEP_KEYS = (tuple(BOTH_PLAYERS) + tuple(f.name for f in dataclasses.fields(DCGANSpec))
              + tuple(f.name for f in dataclasses.fields(TrainerConfig) if f.name not in ("seed", "device")))


# --------------------------------------------------------------------------------------------
# A hyperparameter sweep of the image GANs
# --------------------------------------------------------------------------------------------


def grid_settings(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, the last key varying fastest.

    >>> grid_settings({"lr": [1e-4, 1e-3], "d_steps": [1, 5]})  # doctest: +NORMALIZE_WHITESPACE
    [{'lr': 0.0001, 'd_steps': 1}, {'lr': 0.0001, 'd_steps': 5},
     {'lr': 0.001, 'd_steps': 1}, {'lr': 0.001, 'd_steps': 5}]
    """
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict {{name: [values]}}, got {grid!r}")
    for key, values in grid.items():
        if key not in SWEEP_KEYS:
            raise ValueError(f"grid key {key!r} is not a setting; allowed: {', '.join(SWEEP_KEYS)}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
    for both, pair in BOTH_PLAYERS.items():
        if both in grid and set(pair) & grid.keys():
            raise ValueError(f"grid sets {both!r} (both players) and also {' or '.join(map(repr, pair))}; "
                             "use one or the other")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def _build(recipe: recipes.ImageRecipe, setting: dict[str, Any]) -> recipes.ImageRecipe:
    """The recipe with one grid setting applied (a both-players key sets the pair)."""
    changes = dict(setting)
    for both, pair in BOTH_PLAYERS.items():
        if both in changes:
            value = changes.pop(both)
            changes.update({name: value for name in pair})
    return recipe.replace(**changes)


def _tail_mean(values: list[float], tail: int) -> float:
    finite = [v for v in values[-tail:] if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def sweep(kind: str, grid: dict[str, Sequence[Any]], steps: int, seed: int = 0, device: str = "auto",
          evaluate: Callable[[Any], float | dict[str, float]] | None = None,
          recipe: recipes.ImageRecipe | None = None, num_samples: int = 16, tail: int = 10,
          progress: bool = True) -> list[dict]:
    r"""Train one short run per grid setting, all from the same seed, and record how each ends.

    Every run starts from the same initial weights, minibatches and noise (``seed``), so the
    settings are the only difference between them.

    Args:
        kind: the image recipe to start from: "dcgan", "cgan" or "wgan-gp".
        grid: ``{setting: [values]}``; a setting is a field of the recipe's network spec
            (``width_d``, ``spectral_norm`` ...) or of its ``TrainerConfig`` (``lr_d``, ``d_steps``,
            ``gp_weight``, ``clip_value``, ``loss``, ``precision`` ...), or ``"lr"`` / ``"optimizer"``
            for both players at once.
        steps: generator updates per run (each one after ``d_steps`` critic updates).
        seed: the seed of every run.
        device: where to train ("auto" picks the GPU when there is one).
        evaluate: ``evaluate(trainer)`` after training: a number (recorded as ``"quality"``) or a
            dict of numbers (recorded under their own names). Not called for a diverged run.
        recipe: the recipe the grid changes (default ``recipes.IMAGE_RECIPES[kind]``), e.g. a
            narrower one for quick sweeps on a CPU.
        num_samples: samples kept per run (a multiple of 10 for a conditional model).
        tail: the final losses are averaged over the last ``tail`` steps (they are noisy).
        progress: a progress bar over the settings.

    Returns:
        One dict per setting, in ``grid_settings`` order: the setting, ``steps``, ``seconds``,
        ``d_loss`` and ``g_loss`` (means over the tail), ``diverged`` (a NaN/inf loss stopped the
        run), what ``evaluate`` returned, and ``samples`` (num_samples, 1, 28, 28) in [-1, 1].
    """
    require_choice("kind", kind, recipes.KINDS)
    settings = grid_settings(grid)
    require_positive_int("steps", steps)
    require_positive_int("num_samples", num_samples)
    require_positive_int("tail", tail)
    if evaluate is not None and not callable(evaluate):
        raise ValueError(f"evaluate must be a function trainer -> number or dict, or None; got {type(evaluate).__name__}")
    base = recipe or recipes.IMAGE_RECIPES[kind]
    if base.net.conditional and num_samples % 10:
        raise ValueError(f"num_samples must be a multiple of 10 for a conditional model, got {num_samples}")
    results = []
    for setting in _progress(settings, progress):
        trainer = recipes.image_trainer(kind, seed=seed, device=device, recipe=_build(base, setting))
        start = time.perf_counter()
        try:
            trainer.fit(steps=steps, progress=False)
            diverged = False
        except NonFiniteLossError:
            diverged = True
        row = {**setting, "steps": trainer.global_step, "seconds": time.perf_counter() - start,
               "d_loss": _tail_mean(trainer.history["d_loss"], tail),
               "g_loss": _tail_mean(trainer.history["g_loss"], tail), "diverged": diverged}
        if evaluate is not None and not diverged:
            value = evaluate(trainer)
            row.update({k: float(v) for k, v in value.items()} if isinstance(value, dict) else {"quality": float(value)})
        row["samples"] = recipes.sample_images(trainer, num_samples, seed=seed)[0]
        results.append(row)
    return results


def _progress(settings: list[dict], enabled: bool):
    from tqdm.auto import tqdm  # a dependency; imported late to keep imports light

    return tqdm(settings, desc="sweep", leave=False, disable=not enabled)


def quick_quality(trainer: Any, n: int = 1000, seed: int = 0, classifier_model: Any = None) -> dict[str, float]:
    """``classifier.quick_quality`` of ``n`` samples of the trainer: ``{"score": ..., "fid": ...}``
    (the classifier score, higher is better, and FID against the test digits, lower is better)."""
    from gan_course import classifier  # the classifier is only needed here

    require_positive_int("n", n)
    x_fake = recipes.sample_images(trainer, n, seed=seed)[0]  # (n, 1, 28, 28) in [-1, 1]
    return classifier.quick_quality(x_fake, value_range=(-1, 1), classifier=classifier_model)


def format_table(results: list[dict], digits: int = 3) -> str:
    """The scalar columns of ``sweep``'s results as a plain-text table (samples left out)."""
    if not results:
        return "(no runs)"
    columns = [k for k in results[0] if not isinstance(results[0][k], torch.Tensor)]
    for row in results[1:]:
        columns += [k for k in row if k not in columns and not isinstance(row[k], torch.Tensor)]

    def cell(value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return str(value)
        if isinstance(value, float):
            return f"{value:.{digits}g}"
        return str(value)

    rows = [[cell(row.get(k)) for k in columns] for row in results]
    widths = [max(len(k), *(len(r[i]) for r in rows)) for i, k in enumerate(columns)]
    lines = ["  ".join(k.rjust(w) for k, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)
