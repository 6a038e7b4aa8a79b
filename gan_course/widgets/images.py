"""The image GAN dashboard: watch a DCGAN learn to draw digits, live.

Panels, redrawn a few times a second at most:

1. samples from a **fixed** noise batch z (the same z every frame, so the same digits take shape);
   for a conditional model one row per class, labelled, and the same z down each column;
2. histograms of D's output on a fixed real batch and on fakes from the grid's z made by the
   generator D plays against (not its weight average, which the grid shows): D(x) = σ(logit) for
   the standard losses, the raw critic scores for the other losses (Wasserstein, hinge, ...);
3. d_loss and g_loss; 4. the gradient norms of both players (log scale);
5. a quality figure (say the classifier score) every ``quality_every`` steps, when a
   ``quality_fn`` is given.

Controls: Play/Pause, Step, Step D, Step G, Reset, steps per tick (from the base); ``lr_d``,
``lr_g`` and ``d_steps`` act on the running trainer (``GANTrainer.update``).

    trainer = recipes.image_trainer("dcgan")          # or recipes.load_pretrained("dcgan")
    dash = ImageGANDashboard(trainer, quality_every=200,
                             quality_fn=lambda t: {"classifier score": score(t)})
    dash.run(500)                                     # headless: trains, updates the display

Drawing never touches the trainer's random streams (its own generators, made once) and puts
the networks in eval mode only for as long as it draws.
"""

from __future__ import annotations

import copy
import html
import math
import traceback
import warnings
from typing import Callable

import ipywidgets as W
import torch
from matplotlib.figure import Figure

from gan_course.nets import eval_mode  # noqa: F401  (notebooks import it from here too)
from gan_course.plots import GAN_COLORS, plot_noisy_curves, plot_output_histograms, plot_quality, plot_sample_grid
from gan_course.train import GANTrainer
from gan_course.validate import require_positive_int
from gan_course.widgets.base import Dashboard

IMAGE_SHAPE = (1, 28, 28)  # what the dashboard draws: one channel, 28 x 28
PROBABILITY_LOSSES = ("minimax", "nonsaturating")  # D's logit is log-odds: show σ(logit)
WASSERSTEIN_LOSSES = ("wasserstein", "wgan_gp")  # D is a critic: show its raw scores
NOISE_SEED = 2024  # seeds the dashboard's own noise and real batch (never the trainer's streams)

QualityFn = Callable[[GANTrainer], dict[str, float]]


class ImageGANDashboard(Dashboard):
    """Train an image GAN step by step and watch samples, D's outputs, losses and gradients.

    Args:
        trainer: a ``GANTrainer`` whose generator makes images (B, 1, 28, 28) in [-1, 1]
            (e.g. ``recipes.image_trainer("dcgan")`` or ``recipes.load_pretrained("cgan")``).
        fixed_noise: how many samples the grid shows (default 64 as 8 x 8; for a conditional
            model 8 per class); a conditional model shows ``fixed_noise // num_classes`` per class.
        quality_every: steps (the trainer's ``global_step``) between two quality evaluations.
        quality_fn: ``quality_fn(trainer) -> {name: value}``, e.g. the classifier score; None
            hides the quality panel. An error in it is shown, not raised: training goes on.
        num_real: real samples in the histograms (default: as many as the grid's fakes, which
            are the fake samples of the histograms).
        title: shown above the controls.
        **kw: options of ``Dashboard`` (``steps_per_tick``, ``tick_ms``, ``redraw_interval``, ...).

    Reset restores the networks, optimizer states, counters, history and random streams of the
    start; the hyperparameters on the sliders stay (change one, then Reset, to restart with it).
    """

    actions = ("step", "step_d", "step_g")

    def __init__(self, trainer: GANTrainer, fixed_noise: int | None = None, quality_every: int = 200,
                 quality_fn: QualityFn | None = None, num_real: int | None = None, title: str = "Image GAN on digits",
                 **kw) -> None:
        if not isinstance(trainer, GANTrainer):
            raise ValueError(f"trainer must be a GANTrainer, got {type(trainer).__name__}")
        require_positive_int("quality_every", quality_every)
        if quality_fn is not None and not callable(quality_fn):
            raise ValueError(f"quality_fn must be a function trainer -> dict or None, got {type(quality_fn).__name__}")
        self.trainer = trainer
        self.quality_fn, self.quality_every = quality_fn, quality_every
        self._make_fixed_batches(fixed_noise, num_real)
        self._check_image_shape()
        self._start = copy.deepcopy(trainer.state_dict())  # what Reset goes back to (a copy, not live tensors)
        self._clear_quality()
        self._evaluate_quality()
        self._start_quality = copy.deepcopy(self.quality)
        self._make_controls()
        kw.setdefault("steps_per_tick", 2)
        kw.setdefault("redraw_interval", 0.75)  # a frame costs ~0.25 s of CPU: leave most of it to training
        kw.setdefault("figsize", (11, 4.2))
        kw.setdefault("dpi", 80)
        super().__init__(title=title, controls=[W.HBox(list(self.controls.values()))], **kw)

    # ---- set-up -----------------------------------------------------------------------------

    def _make_fixed_batches(self, fixed_noise: int | None, num_real: int | None) -> None:
        """The fixed z (and y) of the grid, and the fixed real batch of the histograms."""
        t = self.trainer
        classes = t.num_classes
        n = fixed_noise if fixed_noise is not None else (64 if classes is None else 8 * classes)
        require_positive_int("fixed_noise", n)
        gen = torch.Generator().manual_seed(NOISE_SEED)  # the dashboard's own stream, used once here
        if classes is None:
            self.grid_nrow = max(1, round(math.sqrt(n)))
            self.grid_z = t.latent_sampler(n, gen).to(t.device)  # (n, latent_dim)
            self.grid_y, self.row_labels = None, None
        else:
            per_class = max(1, n // classes)
            z = t.latent_sampler(per_class, gen).to(t.device)  # (P, latent_dim): one z per column
            self.grid_z = z.repeat(classes, 1)  # (C * P, latent_dim): row k is class k, same z down a column
            self.grid_y = torch.arange(classes, device=t.device).repeat_interleave(per_class)  # (C * P,)
            self.grid_nrow, self.row_labels = per_class, [str(k) for k in range(classes)]
        num_real = len(self.grid_z) if num_real is None else num_real
        require_positive_int("num_real", num_real)
        x = getattr(t.sampler, "x", None)
        if x is None:
            raise ValueError("the image dashboard draws a fixed real batch from the trainer's data: build the "
                             "trainer on a tensor or a pair (x, y), not a custom sampler")
        index = torch.randperm(len(x), generator=gen)[:num_real].to(x.device)  # (R,)
        self.real_x = x.index_select(0, index)  # (R, 1, 28, 28)
        self.real_y = None
        if classes is not None:
            labels = getattr(t.sampler, "y", None)
            self.real_y = labels.index_select(0, index) if labels is not None else \
                torch.randint(classes, (len(index),), generator=gen).to(t.device)  # (R,)

    def _check_image_shape(self) -> None:
        x_fake = self._generate(self.grid_z[:2], None if self.grid_y is None else self.grid_y[:2])
        if tuple(x_fake.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"the image dashboard needs a generator that makes images of shape (B, 1, 28, 28); "
                             f"this one makes {tuple(x_fake.shape)}")

    def _make_controls(self) -> None:
        cfg = self.trainer.config
        style = dict(continuous_update=False, style={"description_width": "initial"})
        log_lr = dict(base=10, min=-5, max=-2, step=0.1, readout_format=".1e", **style)
        self.controls = {
            "lr_d": W.FloatLogSlider(value=cfg.lr_d, description="lr_d", **log_lr),
            "lr_g": W.FloatLogSlider(value=cfg.lr_g, description="lr_g", **log_lr),
            "d_steps": W.IntSlider(value=cfg.d_steps, min=1, max=max(10, cfg.d_steps), description="d_steps",
                                   **style),
        }
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._on_control(name, change), names="value")

    def _on_control(self, name: str, change: dict) -> None:
        if not self._guarded(self.set, name, change["new"]):
            change["owner"].value = change["old"]  # refused: show the value in force (the error stays)

    def set(self, name: str, value: float | int) -> None:
        """Change ``lr_d``, ``lr_g`` or ``d_steps`` of the running trainer (training goes on)."""
        if name not in self.controls:
            raise ValueError(f"name must be one of {', '.join(map(repr, self.controls))}; got {name!r}")
        if getattr(self.trainer.config, name) != value:
            self.trainer.update(**{name: value})
        if self.controls[name].value != value:
            self.controls[name].value = value  # called from code: keep the widget in step
        self.readout.value = html.escape(self.status())

    # ---- the hooks of the base --------------------------------------------------------------

    def advance(self, action: str) -> None:
        getattr(self.trainer, action)()  # "step", "step_d" or "step_g"
        if self.trainer.global_step % self.quality_every == 0:
            self._evaluate_quality()

    def reset_state(self) -> None:
        cfg = self.trainer.config
        with warnings.catch_warnings():  # the sliders' settings are put back just below: nothing to warn about
            warnings.filterwarnings("ignore", message="the checkpoint's settings were restored")
            self.trainer.load_state_dict(copy.deepcopy(self._start))  # a copy: the start stays intact
        self.trainer.update(lr_d=cfg.lr_d, lr_g=cfg.lr_g, d_steps=cfg.d_steps)  # the sliders' values
        self.quality = copy.deepcopy(self._start_quality)
        self.quality_error = None

    # ---- what is drawn ----------------------------------------------------------------------

    @torch.no_grad()
    def _generate(self, z: torch.Tensor, y: torch.Tensor | None, playing: bool = False) -> torch.Tensor:
        """G(z[, y]) in eval mode: from ``sampling_generator`` (the weight average when the trainer
        keeps one, ema > 0), or with ``playing`` from the generator D is trained against."""
        t = self.trainer
        g = t.generator if playing else t.sampling_generator
        with eval_mode(g), self.trainer.autocast():
            return (g(z) if y is None else g(z, y)).float()

    @torch.no_grad()
    def _critic(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        d = self.trainer.discriminator
        with eval_mode(d), self.trainer.autocast():
            return (d(x) if y is None else d(x, y)).float()

    @torch.no_grad()
    def snapshot(self) -> dict[str, torch.Tensor]:
        """What the panels show, on the CPU: ``grid`` (N, 1, 28, 28) in [0, 1] from the fixed z,
        and D's outputs ``d_real`` (R,) on the fixed real batch and ``d_fake`` (N,) on fakes from
        the same z made by ``trainer.generator``, the player D is trained against (σ(logit) for
        the standard losses, raw scores otherwise). The grid comes from ``sampling_generator``: with
        a weight average (ema > 0) that is another network, whose samples D never sees in training,
        so it gets a pass of its own. One batched no-grad pass through D (in eval mode each
        sample's output is its own)."""
        x_grid = self._generate(self.grid_z, self.grid_y)  # (N, 1, 28, 28) in [-1, 1]
        playing = self.trainer.generator_ema is not None
        x_fake = self._generate(self.grid_z, self.grid_y, playing=True) if playing else x_grid  # (N, 1, 28, 28)
        both = torch.cat([self.real_x, x_fake.to(self.real_x.dtype)])  # (R + N, 1, 28, 28)
        y = None if self.grid_y is None else torch.cat([self.real_y, self.grid_y])  # (R + N,)
        real, fake = self._critic(both, y).split([len(self.real_x), len(x_fake)])  # (R,), (N,)
        if self.probabilities:
            real, fake = torch.sigmoid(real), torch.sigmoid(fake)
        return {"grid": ((x_grid + 1) / 2).clamp(0, 1).cpu(), "d_real": real.cpu(), "d_fake": fake.cpu()}

    @property
    def probabilities(self) -> bool:
        """Whether D's output reads as a probability σ(logit) for the trainer's loss."""
        return self.trainer.config.loss in PROBABILITY_LOSSES

    def draw(self, fig: Figure) -> None:
        s = self.snapshot()
        t, h = self.trainer, self.trainer.history
        spec = fig.add_gridspec(2, 3, width_ratios=[1.05, 1, 1], hspace=0.62, wspace=0.2,
                                left=0.02, right=0.99, top=0.92, bottom=0.11)
        plot_sample_grid(fig.add_subplot(spec[:, 0]), s["grid"], self.grid_nrow,
                         f"samples from a fixed z, step {t.global_step}", self.row_labels)
        wasserstein = t.config.loss in WASSERSTEIN_LOSSES
        what = ("D(x) on real, D(G(z)) on fake" if self.probabilities else
                "critic scores, real vs fake" if wasserstein else f"D output ({t.config.loss}), real vs fake")
        plot_output_histograms(fig.add_subplot(spec[0, 1]), s["d_real"], s["d_fake"], self.probabilities, what)
        losses = {"d_loss": (h["d_loss"], GAN_COLORS["d_loss"]), "g_loss": (h["g_loss"], GAN_COLORS["g_loss"])}
        plot_noisy_curves(fig.add_subplot(spec[0, 2]), h["step"], losses,
                          "critic and generator losses" if wasserstein else "losses")
        norms = fig.add_subplot(spec[1, 1] if self.quality_fn is not None else spec[1, 1:])
        plot_noisy_curves(norms, h["step"], {"D": (h["grad_norm_d"], GAN_COLORS["d"]),
                                             "G": (h["grad_norm_g"], GAN_COLORS["fake"])},
                          "gradient norms ‖∇‖ (log scale)", logy=True)
        if self.quality_fn is not None:
            q = self.quality
            plot_quality(fig.add_subplot(spec[1, 2]), q["step"], q["values"],
                         f"quality (every {self.quality_every} steps)", self.quality_error)

    def status(self) -> str:
        t, h = self.trainer, self.trainer.history
        cfg = t.config
        head = (f"step {t.global_step} (D updates {t.d_updates}, G updates {t.g_updates}) | loss {cfg.loss} | "
                f"lr_d {cfg.lr_d:.1e} | lr_g {cfg.lr_g:.1e} | d_steps {cfg.d_steps}")
        parts = [head]
        if h["step"]:
            def last(key: str) -> float:  # the latest value of a player that moved (Step D leaves g_loss NaN)
                return next((v for v in reversed(h[key]) if math.isfinite(v)), math.nan)
            parts.append(f"d_loss {last('d_loss'):.3f} | g_loss {last('g_loss'):.3f}")
        else:
            parts.append("press Play, Step, Step D or Step G")
        q = self.quality
        if q["step"]:
            parts.append(", ".join(f"{k} {v[-1]:.3g}" for k, v in q["values"].items()) + f" (at step {q['step'][-1]})")
        if self.quality_error:
            parts.append(f"quality_fn failed: {self.quality_error}")
        return " | ".join(parts)

    # ---- quality ----------------------------------------------------------------------------

    def _clear_quality(self) -> None:
        self.quality: dict = {"step": [], "values": {}}  # values: {name: [value per evaluated step]}
        self.quality_error: str | None = None

    def _evaluate_quality(self) -> None:
        """Call ``quality_fn`` at the current step and record its values; an error is kept and
        shown (in the panel and the read-out), not raised, so training goes on."""
        if self.quality_fn is None:
            return
        t = self.trainer
        try:
            modes = (t.generator.training, t.discriminator.training)
            try:
                result = self.quality_fn(t)
            finally:  # whatever quality_fn did to the modes, training goes on in the trainer's
                t.generator.train(modes[0])
                t.discriminator.train(modes[1])
            values = {str(k): float(v) for k, v in dict(result).items()}
        except Exception as error:  # a student's function: show the error, keep the dashboard alive
            self.quality_error = f"{type(error).__name__}: {error}"
            traceback.print_exc()
            return
        self.quality_error = None
        q = self.quality
        if q["step"] and q["step"][-1] == t.global_step:
            return  # already evaluated at this step (e.g. Reset back to the start)
        for name in values.keys() - q["values"].keys():
            q["values"][name] = [math.nan] * len(q["step"])
        q["step"].append(t.global_step)
        for name, column in q["values"].items():
            column.append(values.get(name, math.nan))
