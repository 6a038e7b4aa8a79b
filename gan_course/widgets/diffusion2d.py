"""The 2-D diffusion / flow-matching dashboard: watch a model learn to carry noise to data.

One panel shows the plane: the data, the learned field at a time t chosen with a slider (the
flow's velocity, or the diffusion's score, as arrows on a grid), the paths of a few samples from
noise (t = 0) to data (t = 1), where all samples are at time t, and where they end. Side panels
show the loss, and for ring8/grid25 the modes covered and the high-quality fraction
(``divergences.mode_coverage``) with the samples per mode.

Controls: Play/Pause, Step, Reset, speed (from the base); the model (diffusion or flow), the data
and the seed start a new run; the learning rate acts on the running optimiser; the time t, the
sampler and its number of steps change only what is drawn.

    dash = Diffusion2DDashboard("ring8", kind="flow")
    dash.run(2000)            # headless: trains, updates the display
    dash.set_time(0.9)        # the field near the data
    dash.set_sample_steps(5)  # how do five Euler steps do?
"""

from __future__ import annotations

import math
import time

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from gan_course import divergences
from gan_course.data import DATASETS_2D, dataset_2d
from gan_course.denoising import require_time
from gan_course.denoising_runs import KINDS, TOY_RECIPE, DenoiserRecipe, toy_trainer
from gan_course.plots import GAN_COLORS, mode_bars, plot_noisy_curves
from gan_course.validate import require_choice, require_int, require_positive_int, require_positive_number
from gan_course.widgets.base import Dashboard
from gan_course.widgets.gan2d import plane_bounds

SAMPLE_SEED = 12345  # the noise the drawn samples start from: the same every frame, so frames compare
MAX_SAMPLE_STEPS = 200
DRAW_SHARE = 0.08  # while playing, drawing takes at most this share of the time (the rest trains)


class Diffusion2DDashboard(Dashboard):
    """Train a diffusion or flow-matching model on 2-D data and watch its samples travel.

    Args:
        data: a name in ``DATASETS_2D``.
        kind: ``"flow"`` or ``"diffusion"``.
        recipe: a ``denoising_runs.DenoiserRecipe`` (default ``TOY_RECIPE``); ``**kw`` fields by name.
        t: the time of the field drawn, 0 = noise, 1 = data.
        sample_steps: sampler steps of the drawn samples (Euler / DDPM ancestral by default).
        num_samples: samples drawn at each redraw (the mode counts use them).
        num_paths: samples whose whole path is drawn.
        grid_size: arrows per axis of the field.
        seed: seeds the data, the initial weights and the training streams.
        **kw: recipe fields (``lr=1e-3``, ``width=64``, ...) or options of ``Dashboard``
            (``steps_per_tick``, ``redraw_interval``, ...).
    """

    def __init__(self, data: str = "ring8", kind: str = "flow", recipe: DenoiserRecipe | None = None, *,
                 t: float = 0.5, sample_steps: int = 50, num_samples: int = 500, num_paths: int = 40,
                 grid_size: int = 21, seed: int = 0, device: str = "cpu", **kw) -> None:
        dashboard_options = {"title", "figsize", "dpi", "controls", "steps_per_tick", "tick_ms", "redraw_interval",
                             "max_frames"}
        changes = {k: kw.pop(k) for k in list(kw) if k not in dashboard_options}
        self.data_name = require_choice("data", data, DATASETS_2D)
        self.kind = require_choice("kind", kind, tuple(KINDS))
        self.recipe = (recipe or TOY_RECIPE).replace(**changes)
        self.t = require_time(t)
        self.sample_steps = require_int("sample_steps", sample_steps, 1, MAX_SAMPLE_STEPS)
        self.method: str | None = None  # the model's first sampler
        self.num_samples = require_positive_int("num_samples", num_samples)
        self.num_paths = require_int("num_paths", num_paths, 0)
        self.grid_size = require_int("grid_size", grid_size, 2)
        self.seed, self.device = require_int("seed", seed, 0), device
        self._make_controls()
        self._new_run()
        kw.setdefault("steps_per_tick", 25)
        self._frame_cost = 0.0  # seconds the last frame took to draw
        super().__init__(title="2-D diffusion / flow matching", figsize=(13, 5.2), controls=self._control_rows(), **kw)

    # ---- controls -------------------------------------------------------------------------------

    def _make_controls(self) -> None:
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        self.controls = {
            "kind": W.Dropdown(options=tuple(KINDS), value=self.kind, description="model"),
            "data": W.Dropdown(options=DATASETS_2D, value=self.data_name, description="data"),
            "seed": W.BoundedIntText(value=self.seed, min=0, max=2**31 - 1, description="seed"),
            "lr": W.FloatLogSlider(value=self.recipe.lr, base=10, min=-5, max=-1, readout_format=".1e",
                                   description="lr", **slider),
            "t": W.FloatSlider(value=self.t, min=0.0, max=1.0, step=0.01, description="field at t", **slider),
            "sample_steps": W.IntSlider(value=self.sample_steps, min=1, max=MAX_SAMPLE_STEPS,
                                        description="sampler steps", **slider),
            "method": W.Dropdown(options=KINDS[self.kind].methods, description="sampler"),
        }
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._on_control(name, change), names="value")

    def _control_rows(self) -> list[W.Widget]:
        c = self.controls
        return [W.HBox([c["kind"], c["data"], c["seed"], c["lr"]]),
                W.HBox([c["t"], c["sample_steps"], c["method"]])]

    def _on_control(self, name: str, change: dict) -> None:
        if not self._guarded(self.set, name, change["new"]):
            change["owner"].value = change["old"]  # refused: show the setting in force (the error stays)

    def set(self, name: str, value) -> None:
        """Change one setting by name: ``t``, ``sample_steps``, ``method`` (redraw only), ``lr`` (the
        running optimiser), ``kind``, ``data`` or ``seed`` (a new run)."""
        setters = {"t": self.set_time, "sample_steps": self.set_sample_steps, "method": self.set_method,
                   "lr": self.set_lr}
        if name in setters:
            setters[name](value)
        elif name in ("kind", "data", "seed"):
            checks = {"kind": lambda v: require_choice("kind", v, tuple(KINDS)),
                      "data": lambda v: require_choice("data", v, DATASETS_2D),
                      "seed": lambda v: require_int("seed", v, 0)}
            value = checks[name](value)
            attr = {"kind": "kind", "data": "data_name", "seed": "seed"}[name]
            if getattr(self, attr) == value:
                return
            setattr(self, attr, value)
            if name == "kind":
                self.method = None
            self.reset()
            if name == "kind":  # the new model's samplers (the dropdown then shows the first)
                self.controls["method"].options = KINDS[value].methods
        else:
            raise ValueError(f"name must be one of t, sample_steps, method, lr, kind, data, seed; got {name!r}")
        self._sync(name, value)

    def _sync(self, name: str, value) -> None:
        """Keep a control in step with a change made from code (no loop: the same value is ignored)."""
        control = self.controls[name]
        if control.value != value:
            control.value = value

    def set_time(self, t: float) -> None:
        """Draw the field at time ``t`` in [0, 1] (0 = noise, 1 = data)."""
        self.t = require_time(t)
        self._sync("t", self.t)
        self.redraw(force=True)

    def set_sample_steps(self, steps: int) -> None:
        """Draw samples made with ``steps`` sampler steps (1 to 200)."""
        self.sample_steps = require_int("sample_steps", steps, 1, MAX_SAMPLE_STEPS)
        self._sync("sample_steps", self.sample_steps)
        self.redraw(force=True)

    def set_method(self, method: str | None) -> None:
        """The sampler: ``"euler"``/``"heun"`` for a flow, ``"ddpm"``/``"ddim"`` for diffusion."""
        self.method = self.trainer.model.check_method(method)
        self._sync("method", self.method)
        self.redraw(force=True)

    def set_lr(self, lr: float) -> None:
        """The learning rate of the running optimiser (training goes on)."""
        lr = require_positive_number("lr", lr)
        for group in self.trainer.optimizer.param_groups:
            group["lr"] = lr
        self.recipe = self.recipe.replace(lr=lr)
        self._sync("lr", lr)

    # ---- state ----------------------------------------------------------------------------------

    def _new_run(self) -> None:
        self.x_data, self.centers, self.std = dataset_2d(self.data_name, self.recipe.num_data, self.seed)
        self.trainer = toy_trainer(self.kind, self.data_name, self.seed, self.recipe, x=self.x_data,
                                   device=self.device)
        self.bounds = plane_bounds(self.x_data, margin=0.35)
        take = torch.randperm(len(self.x_data), generator=torch.Generator().manual_seed(self.seed + 7))
        self.x_show = self.x_data[take[:1000]]  # (S, 2) the real samples drawn
        x_min, x_max, y_min, y_max = self.bounds
        gx, gy = torch.linspace(x_min, x_max, self.grid_size), torch.linspace(y_min, y_max, self.grid_size)
        self.grid_points = torch.cartesian_prod(gx, gy)  # (M*M, 2)
        self.curves: dict[str, list[float]] = {"step": [], "modes": [], "high_quality": []}
        self._curves_sampler: tuple[str, int] | None = None  # the sampler the coverage curves were measured with

    def advance(self, action: str) -> None:
        self.trainer.step()

    def reset_state(self) -> None:
        self._new_run()

    # ---- what is drawn --------------------------------------------------------------------------

    def redraw(self, force: bool = False) -> bool:
        """As ``Dashboard.redraw``, and while playing a frame waits until training has had
        (1 - DRAW_SHARE) / DRAW_SHARE times the last frame's cost: the live view makes training
        about DRAW_SHARE / (1 - DRAW_SHARE) = 9 % slower, plus what every tick costs, whatever the
        machine (``benchmarks/bench_beyond.py --dashboard`` measures it; summed over its rounds
        0.12 gave +22 %, 0.10 +10 % and 0.08 -3 % on a shared machine)."""
        wait = self._frame_cost * (1 - DRAW_SHARE) / DRAW_SHARE
        if not force and time.perf_counter() - self._last_redraw < wait:
            return False
        start = time.perf_counter()
        drew = super().redraw(force)
        if drew:
            self._frame_cost = time.perf_counter() - start
        return drew

    @torch.no_grad()
    def snapshot(self) -> dict:
        """Everything the panels show, as CPU tensors: the sample paths (steps + 1, n, 2), the
        positions at time t, the field on the grid, and the mode coverage of the samples."""
        model = self.trainer.sampling_model
        path = model.sample(self.num_samples, steps=self.sample_steps, method=self.method, seed=SAMPLE_SEED,
                            return_path=True).cpu()  # (S + 1, n, 2)
        out = {"path": path, "x_fake": path[-1], "x_t": path[round(self.t * self.sample_steps)],
               "field": model.field(self.grid_points, self.t).cpu()}
        if self.centers is not None and torch.isfinite(path[-1]).all():
            out["coverage"] = divergences.mode_coverage(path[-1], self.centers, self.std)
        return out

    def draw(self, fig: Figure) -> None:
        s = self.snapshot()
        self._track(s)
        spec = fig.add_gridspec(2, 3, width_ratios=[1.5, 1, 1], hspace=0.45, wspace=0.25,
                                left=0.03, right=0.99, top=0.93, bottom=0.09)
        self._draw_plane(fig.add_subplot(spec[:, 0]), s)
        h = self.trainer.history
        ax = fig.add_subplot(spec[0, 1])
        plot_noisy_curves(ax, h["step"], {"loss": (h["loss"], "#1f77b4")},
                          title="loss (" + ("noise" if self.kind == "diffusion" else "velocity") + " regression)")
        ax = fig.add_subplot(spec[1, 1])
        if self.centers is not None:
            k, c = len(self.centers), self.curves
            ax.plot(c["step"], [m / k for m in c["modes"]], label=f"modes covered / {k}")
            ax.plot(c["step"], c["high_quality"], label="high-quality fraction")
            ax.set_ylim(-0.03, 1.03)
            ax.legend(fontsize=7, loc="lower right")
            method, steps = self._curves_sampler
            ax.set_title(f"mode coverage ({method}, {steps} steps)", fontsize=10)
            ax.set_xlabel("step", fontsize=8, labelpad=1)
            ax.locator_params(nbins=4)
            ax.tick_params(labelsize=7)
            mode_bars(fig.add_subplot(spec[:, 2]), s.get("coverage"), "high-quality samples per mode")
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, "modes: not a mixture", ha="center", va="center", fontsize=9)
            fig.add_subplot(spec[:, 2]).axis("off")

    def _track(self, s: dict) -> None:
        """Add the coverage at this step to the curves. The curves hold one sampler's measurements:
        a new sampler or step count starts them again (a change of display is not a change of
        the model, and must not look like one)."""
        c, step = self.curves, self.trainer.global_step
        sampler = (self.trainer.sampling_model.check_method(self.method), self.sample_steps)
        if sampler != self._curves_sampler:
            for key in c:
                c[key].clear()
            self._curves_sampler = sampler
        if c["step"] and c["step"][-1] == step:
            for key in c:
                c[key].pop()
        cov = s.get("coverage")
        c["step"].append(step)
        c["modes"].append(cov.modes_covered if cov else math.nan)
        c["high_quality"].append(cov.high_quality if cov else math.nan)

    def _draw_plane(self, ax, s: dict) -> None:
        x_min, x_max, y_min, y_max = self.bounds
        real = self.x_show.numpy()
        ax.scatter(real[:, 0], real[:, 1], s=6, color="0.75", linewidths=0, label="data")
        field = s["field"].numpy()
        norm = np.linalg.norm(field, axis=1, keepdims=True)
        arrows = field / (np.percentile(norm, 90) + 1e-12) * 0.6 * (x_max - x_min) / self.grid_size
        g = self.grid_points.numpy()
        ax.quiver(g[:, 0], g[:, 1], arrows[:, 0], arrows[:, 1], angles="xy", scale_units="xy", scale=1,
                  width=0.0025, color="#4c72b0", alpha=0.8)
        paths = s["path"][:, : self.num_paths].numpy()  # (S + 1, P, 2)
        if paths.shape[1]:
            ax.plot(paths[:, :, 0], paths[:, :, 1], color="0.3", lw=0.5, alpha=0.5)
        fake, x_t = s["x_fake"].numpy(), s["x_t"].numpy()
        ax.scatter(fake[:, 0], fake[:, 1], s=4, color=GAN_COLORS["fake"], alpha=0.7, linewidths=0, label="samples")
        ax.scatter(x_t[:, 0], x_t[:, 1], s=5, color="#2ca02c", alpha=0.6, linewidths=0, label=f"at t = {self.t:.2f}")
        if self.centers is not None:
            ax.scatter(self.centers[:, 0], self.centers[:, 1], marker="o", s=60, facecolors="none", edgecolors="k",
                       lw=0.6)
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(y_min, y_max)
        ax.set_aspect("equal")
        ax.set_xticks([])  # ticks are most of Matplotlib's drawing time; the plane needs none
        ax.set_yticks([])
        what = "velocity v(x, t)" if self.kind == "flow" else "score ∇log p_t(x)"
        ax.set_title(f"{self.kind} on {self.data_name}, step {self.trainer.global_step} | arrows: {what}",
                     fontsize=10)
        ax.legend(loc="upper right", fontsize=7, markerscale=3, framealpha=0.8)

    def status(self) -> str:
        t, model = self.trainer, self.trainer.sampling_model
        method = model.check_method(self.method)
        head = (f"step {t.global_step} | {self.kind} on {self.data_name} | sampler {method}, {self.sample_steps} "
                f"steps = {model.evaluations(self.sample_steps, method)} network calls per sample | t = {self.t:.2f}")
        if not t.history["loss"]:
            return head + " | press Play or Step"
        text = f"{head} | loss {t.history['loss'][-1]:.4f}"
        c = self.curves
        if c["modes"] and math.isfinite(c["modes"][-1]):
            text += f" | modes {int(c['modes'][-1])}/{len(self.centers)} | high quality {100 * c['high_quality'][-1]:.1f} %"
        return text
