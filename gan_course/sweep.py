r"""Notebook 09's tools: the earth mover's distance in one dimension, and a small hyperparameter sweep.

In one dimension the earth mover's (Wasserstein-1) distance has a closed form: the area between
the two cumulative distribution functions, which for two samples of equal size is the mean gap
between their sorted values::

    wasserstein_1d(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 3.0]))   # 2.0: move every grain by 2

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
from gan_course.train import NonFiniteLossError, TrainerConfig
from gan_course.validate import require_positive_int

BOTH_LRS = "lr"  # a grid key that sets lr_d and lr_g together
_RECIPE_FIELDS = tuple(f.name for f in dataclasses.fields(recipes.ImageRecipe))
_TRAINER_FIELDS = tuple(f.name for f in dataclasses.fields(TrainerConfig) if f.name not in ("seed", "device"))
SWEEP_KEYS = (BOTH_LRS,) + _RECIPE_FIELDS + tuple(f for f in _TRAINER_FIELDS if f not in _RECIPE_FIELDS)


# --------------------------------------------------------------------------------------------
# The earth mover's distance in one dimension (the math layer)
# --------------------------------------------------------------------------------------------


def _as_1d(name: str, t: object) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=torch.float64).detach().cpu()
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sample, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf")
    return t


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""Earth mover's distance between two 1-D samples of the same size.

    .. math:: W_1(\hat P_a, \hat P_b) = \int |F_a(t) - F_b(t)|\,dt
              = \frac1n \sum_{i=1}^n |a_{(i)} - b_{(i)}|

    where :math:`a_{(i)}` is the i-th smallest value: the cheapest transport plan moves the
    i-th smallest grain of one pile onto the i-th smallest of the other.

    Args:
        a: a sample, shape (n,).
        b: another sample, shape (n,).

    Returns:
        The distance, a float >= 0 (in the units of the samples).

    >>> wasserstein_1d(torch.tensor([3.0, 0.0]), torch.tensor([1.0, 2.0]))
    1.0
    """
    a, b = _as_1d("a", a), _as_1d("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same size, got {a.numel()} and {b.numel()} "
                         "(scipy.stats.wasserstein_distance handles unequal sizes)")
    return float((a.sort().values - b.sort().values).abs().mean())


def optimal_critic_1d(a: torch.Tensor, b: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    r"""The best 1-Lipschitz critic between two 1-D samples, on a grid (Kantorovich-Rubinstein).

    Integrating by parts, :math:`\mathbb E_a f - \mathbb E_b f = \int f'(t)\,(F_b(t) - F_a(t))\,dt`,
    which a slope :math:`|f'| \le 1` makes largest with :math:`f' = \operatorname{sign}(F_b - F_a)`:

    .. math:: f^*(x) = \int_{t_0}^{x} \operatorname{sign}\big(F_b(t) - F_a(t)\big)\,dt,
              \qquad \mathbb E_a f^* - \mathbb E_b f^* = W_1.

    The critic climbs where ``a`` has more mass to its right than ``b`` and is flat where the
    CDFs agree; it is defined up to a constant (here :math:`f^*(t_0) = 0`).

    Args:
        a: the sample the critic scores high ("real"), shape (n,).
        b: the sample it scores low ("fake"), shape (m,).
        grid: increasing points, shape (G,), covering both samples.

    Returns:
        :math:`f^*` on the grid, shape (G,), float64.

    >>> optimal_critic_1d(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0, 1.0, 2.0]))
    tensor([0., 1., 1.], dtype=torch.float64)
    """
    a, b, grid = _as_1d("a", a), _as_1d("b", b), _as_1d("grid", grid)
    if grid.numel() > 1 and not (grid.diff() > 0).all():
        raise ValueError("grid must be strictly increasing")
    cdf = lambda s: (s[None, :] <= grid[:, None]).double().mean(1)  # noqa: E731  (G,)
    slope = torch.sign(cdf(b) - cdf(a))[:-1]  # (G - 1,) on each interval [t_j, t_j+1)
    steps = slope * grid.diff()  # (G - 1,)
    return torch.cat([torch.zeros(1, dtype=torch.float64), steps.cumsum(0)])  # (G,)


# --------------------------------------------------------------------------------------------
# A hyperparameter sweep of the image GANs (the training layer)
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
    if BOTH_LRS in grid and ({"lr_d", "lr_g"} & grid.keys()):
        raise ValueError("grid sets 'lr' (both learning rates) and also 'lr_d' or 'lr_g'; use one or the other")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def _build(kind: str, recipe: recipes.ImageRecipe, setting: dict[str, Any]) -> tuple[recipes.ImageRecipe, dict]:
    """Split a setting into recipe changes (``dataclasses.replace``) and ``TrainerConfig`` overrides."""
    changes = dict(setting)
    if BOTH_LRS in changes:
        lr = changes.pop(BOTH_LRS)
        changes.update(lr_d=lr, lr_g=lr)
    if "betas" in changes:
        changes["betas"] = tuple(changes["betas"])
    recipe_changes = {k: v for k, v in changes.items() if k in _RECIPE_FIELDS}
    overrides = {k: v for k, v in changes.items() if k not in _RECIPE_FIELDS}
    return dataclasses.replace(recipe, **recipe_changes), overrides


def _tail_mean(values: list[float], tail: int) -> float:
    finite = [v for v in values[-tail:] if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def sweep(kind: str, grid: dict[str, Sequence[Any]], steps: int, seed: int = 0, device: str = "auto",
          evaluate: Callable[[Any], float | dict[str, float]] | None = None,
          recipe: recipes.ImageRecipe | None = None, num_samples: int = 16, tail: int = 10) -> list[dict]:
    r"""Train one short run per grid setting, all from the same seed, and record how each ends.

    Every run starts from the same initial weights, minibatches and noise (``seed``), so the
    settings are the only difference between them.

    Args:
        kind: the image recipe to start from: "dcgan", "cgan" or "wgan-gp".
        grid: ``{setting: [values]}``; a setting is an ``ImageRecipe`` field (``lr_d``, ``d_steps``,
            ``gp_weight``, ``clip_value``, ``loss``, ``width_d`` ...), a ``TrainerConfig`` field
            (``optimizer``, ``precision``), or ``"lr"`` for both learning rates at once.
        steps: generator updates per run (each one after ``d_steps`` critic updates).
        seed: the seed of every run.
        device: where to train ("auto" picks the GPU when there is one).
        evaluate: ``evaluate(trainer)`` after training: a number (recorded as ``"quality"``) or a
            dict of numbers (recorded under their own names). Not called for a diverged run.
        recipe: the recipe the grid changes (default ``recipes.IMAGE_RECIPES[kind]``), e.g. a
            narrower one for quick sweeps on a CPU.
        num_samples: samples kept per run (a multiple of 10 for a conditional model).
        tail: the final losses are averaged over the last ``tail`` steps (they are noisy).

    Returns:
        One dict per setting, in ``grid_settings`` order: the setting, ``steps``, ``seconds``,
        ``d_loss`` and ``g_loss`` (means over the tail), ``diverged`` (a NaN/inf loss stopped the
        run), what ``evaluate`` returned, and ``samples`` (num_samples, 1, 28, 28) in [-1, 1].
    """
    if kind not in recipes.IMAGE_RECIPES:
        raise ValueError(f"kind must be one of {', '.join(map(repr, recipes.KINDS))}; got {kind!r}")
    settings = grid_settings(grid)
    require_positive_int("steps", steps)
    require_positive_int("num_samples", num_samples)
    require_positive_int("tail", tail)
    if evaluate is not None and not callable(evaluate):
        raise ValueError(f"evaluate must be a function trainer -> number or dict, or None; got {type(evaluate).__name__}")
    base = recipe or recipes.IMAGE_RECIPES[kind]
    if base.conditional and num_samples % 10:
        raise ValueError(f"num_samples must be a multiple of 10 for a conditional model, got {num_samples}")
    results = []
    for setting in settings:
        r, overrides = _build(kind, base, setting)
        trainer = recipes.image_trainer(kind, seed=seed, device=device, recipe=r, **overrides)
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
