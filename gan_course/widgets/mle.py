r"""Maximum likelihood by hand: μ and σ sliders over a histogram, with the log-likelihood landscape.

.. math:: \ell(\mu,\sigma) = \frac1N\sum_{i=1}^N \log\mathcal N(x_i;\mu,\sigma^2)

Move the sliders and watch the read-out; press Step (or Play) to let gradient ascent on
:math:`(\mu, \log\sigma)` walk up the landscape to the closed-form MLE.
"""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from gan_course.density import gaussian_log_prob, gaussian_mle
from gan_course.validate import require_int, require_number, require_positive_number
from gan_course.widgets.base import Dashboard


class MLEDashboard(Dashboard):
    """A 1-D Gaussian fitted to ``x`` by hand (sliders) or by gradient ascent (Step / Play).

    Args:
        x: 1-D data (N,).
        mean, std: where the sliders start.
        lr: gradient-ascent step size on (mean, log std).
        grid: landscape resolution (grid x grid evaluations, one batched pass).
        **kw: passed to :class:`~gan_course.widgets.base.Dashboard`.
    """

    actions = ("step",)

    def __init__(self, x: torch.Tensor, mean: float = 0.0, std: float = 1.0, lr: float = 0.3,
                 grid: int = 80, **kw) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 1 or len(x) < 2:
            raise ValueError(f"x must be a 1-D tensor with at least 2 samples, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        mean, std = require_number("mean", mean), require_positive_number("std", std)
        self.lr = require_positive_number("lr", lr)
        grid = require_int("grid", grid, 2)
        self.x = x.detach().double().cpu()
        self.start = (mean, std)
        mle_mean, mle_var = gaussian_mle(self.x)
        self.mle = (mle_mean.item(), mle_var.sqrt().item())
        spread = float(self.x.std())
        lo = min(float(self.x.min()) - spread, mean)  # the sliders must reach the start
        hi = max(float(self.x.max()) + spread, mean)
        self.mean_slider = W.FloatSlider(value=mean, min=lo, max=hi, step=(hi - lo) / 200,
                                         description="μ", continuous_update=True, readout_format=".2f")
        self.std_slider = W.FloatSlider(value=std, min=min(spread / 20, std), max=max(spread * 4, std), step=spread / 100,
                                        description="σ", continuous_update=True, readout_format=".2f")
        self._landscape = self._evaluate_landscape(grid)
        self.path: list[tuple[float, float]] = [self.start]
        for slider in (self.mean_slider, self.std_slider):
            slider.observe(self._on_slide, names="value")
        super().__init__(title="Maximum likelihood: fit a Gaussian", figsize=(10, 3.8),
                         controls=[W.HBox([self.mean_slider, self.std_slider])], **kw)

    # ---------------------------------------------------------------- state
    @property
    def mean(self) -> float:
        return float(self.mean_slider.value)

    @property
    def std(self) -> float:
        return float(self.std_slider.value)

    def log_likelihood(self, mean: float | None = None, std: float | None = None) -> float:
        """Mean log-likelihood per sample at (mean, std), the sliders' values by default."""
        mean = self.mean if mean is None else mean
        std = self.std if std is None else std
        return gaussian_log_prob(self.x, mean, std).mean().item()

    def set(self, mean: float | None = None, std: float | None = None) -> None:
        """Move the sliders (as a student would) and redraw."""
        with self.mean_slider.hold_trait_notifications(), self.std_slider.hold_trait_notifications():
            if mean is not None:
                self.mean_slider.value = mean
            if std is not None:
                self.std_slider.value = std

    def advance(self, action: str) -> None:
        """One gradient-ascent step on (mean, log std), written back into the sliders."""
        params = torch.tensor([self.mean, math.log(self.std)], dtype=torch.float64, requires_grad=True)
        ll = gaussian_log_prob(self.x, params[0], params[1].exp()).mean()
        (grad,) = torch.autograd.grad(ll, params)
        new = (params + self.lr * grad).detach()
        self._moving = True
        try:
            self.set(float(new[0]), float(new[1].exp()))
        finally:
            self._moving = False
        self.path.append((self.mean, self.std))

    def reset_state(self) -> None:
        self._moving = True
        try:
            self.set(*self.start)
        finally:
            self._moving = False
        self.path = [self.start]

    def _on_slide(self, _change: dict) -> None:
        if getattr(self, "_moving", False):
            return
        self.path = [(self.mean, self.std)]
        self.redraw(force=True)

    # ---------------------------------------------------------------- drawing
    def _evaluate_landscape(self, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean log-likelihood on a (grid, grid) mesh of (mean, std): one batched pass."""
        means = torch.linspace(self.mean_slider.min, self.mean_slider.max, grid, dtype=torch.float64)
        stds = torch.linspace(self.std_slider.min, self.std_slider.max, grid, dtype=torch.float64)
        with torch.no_grad():
            ll = gaussian_log_prob(self.x[None, None, :], means[None, :, None], stds[:, None, None]).mean(-1)
        return means.numpy(), stds.numpy(), ll.numpy()  # ll: (std, mean)

    def draw(self, fig: Figure) -> None:
        ax_data, ax_land = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        data = self.x.numpy()
        ax_data.hist(data, bins=40, density=True, color="0.8", edgecolor="0.6", label="data")
        grid = np.linspace(self.mean_slider.min, self.mean_slider.max, 400)
        pdf = lambda m, s: np.exp(-0.5 * ((grid - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        ax_data.plot(grid, pdf(self.mean, self.std), color="C0", lw=2, label="your p_θ")
        ax_data.plot(grid, pdf(*self.mle), color="crimson", ls="--", lw=1.5, label="MLE")
        ax_data.set_title(f"mean log-likelihood {self.log_likelihood():.3f} nats")
        ax_data.legend(loc="upper right", fontsize=8)

        means, stds, ll = self._landscape
        floor = max(np.quantile(ll, 0.3), ll.max() - 3.0)  # colour the last 3 nats, clip the rest
        levels = np.linspace(floor, ll.max(), 25)
        ax_land.contourf(means, stds, np.maximum(ll, floor), levels=levels, cmap="viridis")
        ax_land.contour(means, stds, ll, levels=levels[::4], colors="k", linewidths=0.4, alpha=0.5)
        path = np.array(self.path)
        ax_land.plot(path[:, 0], path[:, 1], "-", color="white", lw=1)
        ax_land.plot(self.mean, self.std, "o", color="white", mec="k", ms=8, label="you")
        ax_land.plot(*self.mle, "*", color="crimson", ms=14, label="MLE")
        ax_land.set_xlabel("μ")
        ax_land.set_ylabel("σ")
        ax_land.set_title("log-likelihood landscape")
        ax_land.legend(loc="upper right", fontsize=8)
        fig.tight_layout()

    def status(self) -> str:
        best = self.log_likelihood(*self.mle)
        return (f"μ = {self.mean:.3f}, σ = {self.std:.3f}: mean log-likelihood {self.log_likelihood():.4f} "
                f"(the MLE μ̂ = {self.mle[0]:.3f}, σ̂ = {self.mle[1]:.3f} reaches {best:.4f})")
