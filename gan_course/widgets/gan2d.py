"""The 2-D GAN dashboard: GAN Lab inside Jupyter, on real PyTorch training.

One panel shows the plane: real samples, fake samples, the discriminator's output D(x) as a
heatmap (one batched ``no_grad`` pass over a grid), the generator's manifold (a grid in noise
space warped by G, for 2-D noise) and arrows of the generator's gradient at fake samples. Side
panels show d_loss and g_loss, KL and JS between real and fake on a grid, and, for the mixtures,
modes covered and the high-quality fraction (``divergences.mode_coverage``) with the samples per mode.

Controls: Play/Pause, Step, Step D, Step G, Reset, speed (from the base); live hyperparameters
(loss, optimizer and learning rate per player, d_steps, the R1 penalty's gamma); architecture
switches that restart training (hidden layers, width, noise dimension and distribution, spectral
norm, packing, dataset, seed); a toggle per layer; Export GIF / PNG strip of the recorded history.

    dash = GAN2DDashboard("ring8")            # or GAN2DDashboard(my_tensor)  (n, 2)
    dash = GAN2DDashboard("ring8", pack=1)    # any field of the recipe, by name
    dash = GAN2DDashboard.pretrained("ring8") # start mid-training from a shipped state
    dash.run(500)                             # headless: trains, updates the display

What it trains is a dataset name plus a ``recipes.ToyRecipe`` (``dash.data_name``, ``dash.recipe``):
the recommended recipe of the dataset unless another is given; every control changes one field.
"""

from __future__ import annotations

import math
from pathlib import Path

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from gan_course import checkpoints, divergences
from gan_course.config import weights_path
from gan_course.data import DATASETS_2D, dataset_2d  # noqa: F401  (notebook 06 imports them from here)
from gan_course.loop import OPTIMIZERS
from gan_course.specs import NOISE
from gan_course.plots import GAN_COLORS, mode_bars, plot_curves
from gan_course.recipes import TOY_RECIPES, ToyRecipe, toy_trainer
from gan_course.train import GANTrainer
from gan_course.validate import require_choice, require_positive_int, require_positive_number
from gan_course.widgets.base import Dashboard
from gan_course.widgets.gan1d import LOSS_CHOICES, with_lipschitz_constraint

LAYERS = ("real", "fake", "D(x)", "manifold", "gradients")
PACK_PARTNERS = 8  # with packing, the heatmap averages D over this many draws of the m - 1 pack-mates
# the controls that act on the running trainer (GANTrainer.update); every other one restarts training
LIVE = ("loss", "lr_d", "lr_g", "d_steps", "r1_weight", "optimizer_d", "optimizer_g")


def check_samples_2d(x: object, name: str = "data") -> torch.Tensor:
    """``x`` as a float32 CPU tensor of shape (n, 2) without NaN/inf; else a ValueError naming ``name``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a dataset name or a torch.Tensor of shape (n, 2), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, 2), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains {int((~torch.isfinite(x)).sum())} NaN or inf values; clean them first")
    return x.detach().float().cpu()


def plane_bounds(x: torch.Tensor, margin: float = 0.2) -> tuple[float, float, float, float]:
    """A square window around the samples ``x`` (n, 2): their range plus ``margin`` of it each side."""
    lo, hi = x.min(0).values, x.max(0).values  # (2,), (2,)
    center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + 2 * margin)
    return (float(center[0]) - half, float(center[0]) + half, float(center[1]) - half, float(center[1]) + half)


def pretrained_path(name: str) -> Path:
    """Where the pretrained state for dataset ``name`` is read from: ``assets/models/gan2d_{name}.pt``,
    or the folder ``GAN_COURSE_WEIGHTS`` names (``config.weights_path``)."""
    return weights_path(f"gan2d_{name}.pt")


class GAN2DDashboard(Dashboard):
    """Train a GAN on 2-D data step by step and watch D, G, the gradients and the modes.

    Args:
        data: a name in ``DATASETS_2D`` or a tensor (n, 2) of your own.
        recipe: a ``recipes.ToyRecipe``; default the recommended one for ``data``
            (``recipes.TOY_RECIPES``; ring8's for a tensor of your own).
        centers, std: the modes of a user tensor, to count modes covered (optional).
        num_samples: fake samples drawn (from a fixed z) at each redraw.
        grid_size: cells per axis of the D(x) heatmap.
        num_arrows: fake samples that carry a gradient arrow.
        device: where training runs (``"cpu"`` keeps the widget responsive on a laptop).
        **kw: fields of the recipe by name (``loss="hinge"``, ``pack=2``, ``seed=3``,
            ``num_data=2000``: ``ToyRecipe.replace``), or options of ``Dashboard``
            (``steps_per_tick``, ``tick_ms``, ...).
    """

    actions = ("step", "step_d", "step_g")

    def __init__(self, data: str | torch.Tensor = "ring8", recipe: ToyRecipe | None = None, *,
                 centers: torch.Tensor | None = None, std: float | None = None, num_samples: int = 1000,
                 grid_size: int = 80, num_arrows: int = 150, device: str = "cpu", **kw) -> None:
        dashboard_options = {"title", "figsize", "dpi", "controls", "steps_per_tick", "tick_ms", "redraw_interval",
                             "max_frames"}
        changes = {k: kw.pop(k) for k in list(kw) if k not in dashboard_options}
        if isinstance(data, str):
            if data not in DATASETS_2D:
                raise ValueError(f"data must be one of {', '.join(map(repr, DATASETS_2D))} or an (n, 2) tensor; "
                                 f"got {data!r}")
            self.data_name = data
            self.user_data = None
        else:
            self.user_data = check_samples_2d(data)
            self.data_name = "custom"
        if centers is not None:
            centers = check_samples_2d(centers, "centers")
            if std is None:
                raise ValueError("std must be a positive number when centers are given, got None")
            require_positive_number("std", std)
        self.user_modes = (centers, std)
        base = recipe or TOY_RECIPES["ring8" if self.user_data is not None else self.data_name]
        self.recipe = base.replace(**with_lipschitz_constraint(changes, base.trainer.clip_value))
        self.num_samples = require_positive_int("num_samples", num_samples)
        self.grid_size = require_positive_int("grid_size", grid_size)
        self.num_arrows, self.device = require_positive_int("num_arrows", num_arrows), device
        self._make_controls()
        self._load_data()
        self.trainer = self._new_trainer()
        self._clear_curves()
        kw.setdefault("steps_per_tick", 10)
        super().__init__(title="2-D GAN (GAN Lab in Jupyter)", figsize=(13, 5.2), controls=self._control_rows(), **kw)

    @classmethod
    def pretrained(cls, name: str, path: str | Path | None = None, **kw) -> "GAN2DDashboard":
        """A dashboard that starts mid-training from the shipped state for ``name`` (or ``path``)."""
        path = Path(path) if path is not None else pretrained_path(name)
        state = checkpoints.load(path, "gan2d_state")
        dash = cls(name, ToyRecipe.from_dict(state["recipe"]), **kw)
        dash.load_state(state)
        return dash

    # ---- controls -------------------------------------------------------------------------------

    def _make_controls(self) -> None:
        net, cfg = self.recipe.net, self.recipe.trainer
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        log_lr = dict(base=10, min=-5, max=-1, readout_format=".1e", **slider)
        self.controls = {
            "loss": W.Dropdown(options=LOSS_CHOICES, value=cfg.loss, description="loss"),
            "optimizer_d": W.Dropdown(options=OPTIMIZERS, value=cfg.optimizer_d, description="opt D"),
            "optimizer_g": W.Dropdown(options=OPTIMIZERS, value=cfg.optimizer_g, description="opt G"),
            "lr_d": W.FloatLogSlider(value=cfg.lr_d, description="lr_d", **log_lr),
            "lr_g": W.FloatLogSlider(value=cfg.lr_g, description="lr_g", **log_lr),
            "d_steps": W.IntSlider(value=cfg.d_steps, min=1, max=10, description="d_steps", **slider),
            "r1_weight": W.Dropdown(options=sorted({0.0, 0.01, 0.1, 1.0, 10.0, cfg.r1_weight}), value=cfg.r1_weight,
                                    description="R1 γ"),
            # the ones below rebuild the networks: training restarts from step 0
            "data": W.Dropdown(options=DATASETS_2D + (("custom",) if self.user_data is not None else ()),
                               value=self.data_name, description="data"),
            "depth": W.IntSlider(value=net.depth, min=0, max=6, description="hidden layers", **slider),
            "width": W.Dropdown(options=sorted({8, 16, 32, 64, 128, 256, net.width}), value=net.width,
                                description="width"),
            "latent_dim": W.IntSlider(value=net.latent_dim, min=1, max=16, description="noise dim", **slider),
            "noise": W.Dropdown(options=NOISE, value=net.noise, description="noise"),
            "spectral_norm": W.Checkbox(value=net.spectral_norm, description="spectral norm (D)"),
            "pack": W.IntSlider(value=net.pack, min=1, max=8, description="pack", **slider),
            "seed": W.BoundedIntText(value=cfg.seed, min=0, max=2**31 - 1, description="seed"),
        }
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._on_control(name, change), names="value")
        self.layers = {name: W.ToggleButton(value=True, description=name, tooltip=f"show or hide {name}",
                                            layout=W.Layout(width="105px"))
                       for name in LAYERS}
        for toggle in self.layers.values():
            toggle.observe(lambda _change: self._guarded(self.redraw, True), names="value")
        self.export_button = W.Button(description="Export GIF + PNG strip", icon="download",
                                      layout=W.Layout(width="auto"))
        self.export_button.on_click(lambda _b: self._guarded(self._export_clicked))

    def _control_rows(self) -> list[W.Widget]:
        c = self.controls
        return [W.HBox([c["loss"], c["d_steps"], c["lr_d"], c["lr_g"]]),
                W.HBox([c["optimizer_d"], c["optimizer_g"], c["data"], c["seed"]]),
                W.HBox([c["depth"], c["width"], c["latent_dim"], c["noise"]]),
                W.HBox([c["spectral_norm"], c["pack"], c["r1_weight"]]),
                W.HBox([W.Label("show:"), *self.layers.values(), self.export_button])]

    def _on_control(self, name: str, change: dict) -> None:
        if not self._guarded(self.set, name, change["new"]):
            change["owner"].value = change["old"]  # refused: show the setting that is in force (the error stays)

    def set(self, name: str, value) -> None:
        """Change one setting: ``data`` or a field of the recipe. The ``LIVE`` ones act on the
        running trainer; the others (architecture, noise, seed, data) start a new run.

        A change that is refused (say a batch size that ``pack`` does not divide) raises a
        ``ValueError`` and leaves the run as it was.
        """
        if name == "data":
            if value == self.data_name:
                return
            if value == "custom" and self.user_data is None:
                raise ValueError("data 'custom' needs a tensor of your own: GAN2DDashboard(my_tensor)")
            self.data_name = require_choice("data", value, DATASETS_2D + ("custom",))
            self.reset()
            return
        if self._current(name) == value:
            return  # nothing changes (e.g. a control put back after a refused value)
        changes = with_lipschitz_constraint({name: value}, self.recipe.trainer.clip_value)
        new = self.recipe.replace(**changes)  # validates
        if name in LIVE:
            self.trainer.update(**changes)
        self.recipe = new
        if name in LIVE:
            self.redraw(force=True)
        else:
            self.reset()  # architecture, data or seed: a new run
        control = self.controls.get(name)
        if control is not None and control.value != value:
            control.value = value  # keep the widget in step when called from code (no loop: same value)

    def _current(self, name: str):
        """The value in force of a recipe field (on the recipe, its net or its trainer)."""
        for part in (self.recipe, self.recipe.net, self.recipe.trainer):
            if hasattr(part, name):
                return getattr(part, name)
        return object()  # not a setting: ``recipe.replace`` says so

    # ---- state ----------------------------------------------------------------------------------

    def _load_data(self) -> None:
        seed = self.recipe.trainer.seed
        if self.data_name == "custom":
            self.x_data = self.user_data
            self.centers, self.std = self.user_modes
        else:
            self.x_data, self.centers, self.std = dataset_2d(self.data_name, self.recipe.num_data, seed)
        self.bounds = plane_bounds(self.x_data)
        gen = torch.Generator().manual_seed(seed + 7)
        take = torch.randperm(len(self.x_data), generator=gen)[: self.num_samples]
        self.x_show = self.x_data[take]  # (S, 2) the real samples drawn and used for KL/JS
        x_min, x_max, y_min, y_max = self.bounds
        gx = torch.linspace(x_min, x_max, self.grid_size)
        gy = torch.linspace(y_min, y_max, self.grid_size)
        self.grid_points = torch.cartesian_prod(gx, gy)  # (M*M, 2), x varies slowest

    def _new_trainer(self) -> GANTrainer:
        """A fresh trainer for the recipe on the current data (the seed fixes the initial weights)."""
        return toy_trainer(self.data_name, seed=self.recipe.trainer.seed, device=self.device, recipe=self.recipe,
                           x=self.x_data)

    def _clear_curves(self) -> None:
        self.curves: dict[str, list[float]] = {k: [] for k in ("step", "kl", "js", "modes", "high_quality")}

    def advance(self, action: str) -> None:
        getattr(self.trainer, action)()  # "step", "step_d" or "step_g"

    def reset_state(self) -> None:
        """A new run from the seed; a dashboard started from a pretrained state goes back to that
        state, as long as the data and the recipe still match it."""
        self._load_data()
        self.trainer = self._new_trainer()
        self._clear_curves()
        start = getattr(self, "_start_state", None)
        if start is not None and start["data"] == self.data_name and start["recipe"] == self.recipe.to_dict():
            self._restore(start)

    def state(self) -> dict:
        """A small, loadable state: data name, recipe, both networks, counters, history and curves
        (no optimizer state)."""
        t = self.trainer
        return {"data": self.data_name, "recipe": self.recipe.to_dict(),
                "generator": t.generator.state_dict(), "discriminator": t.discriminator.state_dict(),
                "counters": {"global_step": t.global_step, "d_updates": t.d_updates, "g_updates": t.g_updates},
                "history": {k: list(v) for k, v in t.history.items()},
                "curves": {k: list(v) for k, v in self.curves.items()},
                "steps_done": self.steps_done}

    def save_state(self, path: str | Path) -> Path:
        """Write ``state()`` as a ``"gan2d_state"`` checkpoint (how the shipped states are made:
        ``tools/make_gan2d_states.py``)."""
        return checkpoints.save(path, "gan2d_state", self.state())

    def load_state(self, state: dict) -> None:
        """Restore a ``state()`` and make it the one Reset returns to; the optimizers start afresh
        (Adam's moments are not shipped)."""
        self._restore(state)
        self._start_state = {**state, "data": self.data_name, "recipe": self.recipe.to_dict()}
        self.steps_done = int(state["steps_done"])
        self.frames.clear()  # the history starts at the loaded state
        self.frame_steps.clear()
        self.redraw(force=True)

    def _restore(self, state: dict) -> None:
        self.trainer.load_weights({k: state[k] for k in ("generator", "discriminator")}, history=state["history"],
                                  counters=state["counters"])
        self.curves = {k: list(v) for k, v in state["curves"].items()}

    # ---- what is drawn --------------------------------------------------------------------------

    def _heat(self, x: torch.Tensor, x_fake: torch.Tensor) -> torch.Tensor:
        """What the heatmap shows at each point x (N, 2): D(x) = σ(logit) for the standard losses, the
        raw score otherwise.

        With packing (m > 1) D judges m samples at once, so a single point has no D(x) of its own
        (and a pack of m copies of x is neither a real nor a fake input). The heatmap then shows what
        a fake sample at x gets from D: x packed with m - 1 of the current fakes, averaged over
        ``PACK_PARTNERS`` draws of those pack-mates.
        """
        t = self.trainer
        m = t.discriminator.pack
        x = x.to(t.device)
        if m == 1:
            out = t.discriminator(x).float()  # (N,)
            return (torch.sigmoid(out) if self.probabilities else out).cpu()
        need = PACK_PARTNERS * (m - 1)
        mates = x_fake.to(t.device)[torch.arange(need) % len(x_fake)].reshape(PACK_PARTNERS, m - 1, 2)  # (P, m-1, 2)
        n = len(x)
        packs = torch.cat([x[:, None, None, :].expand(n, PACK_PARTNERS, 1, 2),
                           mates[None].expand(n, -1, -1, -1)], dim=2)  # (N, P, m, 2): x first, then its mates
        out = t.discriminator(packs.reshape(-1, 2)).float().reshape(n, PACK_PARTNERS)  # (N, P)
        return (torch.sigmoid(out) if self.probabilities else out).mean(dim=1).cpu()  # (N,)

    @property
    def probabilities(self) -> bool:
        """Whether D's output reads as a probability σ(logit) for the current loss."""
        return self.trainer.config.loss in ("minimax", "nonsaturating")

    @torch.no_grad()
    def snapshot(self) -> dict:
        """Everything the panels show, as CPU tensors (one batched no-grad pass for the heatmap)."""
        t = self.trainer
        x_fake = t.sample(self.num_samples, seed=12345).cpu()  # (S, 2): fixed z, so frames compare
        heat = self._heat(self.grid_points, x_fake)  # (M*M,)
        out = {"x_fake": x_fake, "heat": heat.reshape(self.grid_size, self.grid_size)}  # (M, M), [i_x, i_y]
        if self.recipe.net.latent_dim == 2:
            out["manifold"] = self._manifold()
        out["arrows"] = self._arrows(x_fake[: self.num_arrows])
        if torch.isfinite(x_fake).all():
            out["kl"], out["js"] = divergences.kl_js_2d(self.x_show, x_fake, self.bounds, bins=64,
                                                    bandwidth=(self.bounds[1] - self.bounds[0]) / 64 * 1.5)
        if self.centers is not None and torch.isfinite(x_fake).all():
            out["coverage"] = divergences.mode_coverage(x_fake, self.centers, self.std)
        return out

    def _manifold(self, lines: int = 11, points: int = 60) -> torch.Tensor:
        """G applied to a grid of lines in 2-D noise space: (2 * lines, points, 2)."""
        r = 2.0 if self.recipe.net.noise == "gaussian" else 1.0
        u = torch.linspace(-r, r, points)  # (P,)
        v = torch.linspace(-r, r, lines)  # (L,)
        horiz = torch.stack(torch.broadcast_tensors(u[None, :], v[:, None]), dim=-1)  # (L, P, 2)
        z = torch.cat([horiz, horiz.flip(-1)])  # (2L, P, 2): lines of constant z2, then of constant z1
        x = self.trainer.generator(z.reshape(-1, 2).to(self.trainer.device)).float().cpu()  # (2L*P, 2)
        return x.reshape(2 * lines, points, 2)

    def _arrows(self, x_fake: torch.Tensor) -> torch.Tensor:
        r"""The direction the generator pushes each fake sample: :math:`-\nabla_x \mathcal L_G(D(x))`, (A, 2)."""
        t = self.trainer
        m = t.discriminator.pack
        n = len(x_fake) // m * m
        with torch.enable_grad():
            x = x_fake[:n].to(t.device).requires_grad_(True)  # (A, 2)
            loss = t.loss.g_loss(t.discriminator(x).float()) * (n // m)  # a sum over packs: per-sample scale
            (grad,) = torch.autograd.grad(loss, x)
        return torch.cat([-grad.cpu(), torch.zeros(len(x_fake) - n, 2)])  # (A, 2)

    def draw(self, fig: Figure) -> None:
        s = self.snapshot()
        step = self.trainer.global_step
        self._track(step, s)
        spec = fig.add_gridspec(2, 3, width_ratios=[1.5, 1, 1], hspace=0.45, wspace=0.22,
                                left=0.03, right=0.99, top=0.93, bottom=0.09)
        self._draw_plane(fig.add_subplot(spec[:, 0]), s, step)
        h = self.trainer.history
        ax = fig.add_subplot(spec[0, 1])
        plot_curves(ax, {"d_loss": (h["step"], h["d_loss"]), "g_loss": (h["step"], h["g_loss"])}, "losses",
                    compact=True)
        ax = fig.add_subplot(spec[1, 1])
        c = self.curves
        plot_curves(ax, {"KL(real‖fake)": (c["step"], c["kl"]), "JS": (c["step"], c["js"])},
                    "divergences on a grid (nats)", compact=True)
        ax = fig.add_subplot(spec[0, 2])
        if self.centers is not None:
            k = len(self.centers)
            plot_curves(ax, {f"modes covered / {k}": (c["step"], [v / k for v in c["modes"]]),
                             "high-quality fraction": (c["step"], c["high_quality"])}, "mode coverage (fractions)",
                        compact=True)
            ax.set_ylim(-0.03, 1.03)
            mode_bars(fig.add_subplot(spec[1, 2]), s.get("coverage"), "high-quality fake samples per mode")
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, "modes: not a mixture\n(pass centers= and std=\nfor a tensor of your own)",
                    ha="center", va="center", fontsize=9)
            fig.add_subplot(spec[1, 2]).axis("off")

    def _track(self, step: int, s: dict) -> None:
        c = self.curves
        if c["step"] and c["step"][-1] == step:
            for key in ("step", "kl", "js", "modes", "high_quality"):
                c[key].pop()
        c["step"].append(step)
        c["kl"].append(s.get("kl", math.nan))
        c["js"].append(s.get("js", math.nan))
        cov = s.get("coverage")
        c["modes"].append(cov.modes_covered if cov else math.nan)
        c["high_quality"].append(cov.high_quality if cov else math.nan)

    def _draw_plane(self, ax, s: dict, step: int) -> None:
        x_min, x_max, y_min, y_max = self.bounds
        show = {name: toggle.value for name, toggle in self.layers.items()}
        sigmoid = self.trainer.config.loss in ("minimax", "nonsaturating")
        if show["D(x)"]:
            heat = s["heat"].T.numpy()  # (M_y, M_x) for imshow
            if sigmoid:
                kw = dict(cmap="PiYG", vmin=0, vmax=1)
            else:
                bound = float(np.nanmax(np.abs(heat))) or 1.0
                kw = dict(cmap="PiYG", vmin=-bound, vmax=bound)
            ax.imshow(heat, origin="lower", extent=self.bounds, alpha=0.55, interpolation="bilinear", **kw)
        if show["manifold"] and "manifold" in s:
            for line in s["manifold"].numpy():
                ax.plot(line[:, 0], line[:, 1], color="0.35", lw=0.5, alpha=0.6)
        if show["real"]:
            real = self.x_show.numpy()
            ax.scatter(real[:, 0], real[:, 1], s=9, color=GAN_COLORS["data"], alpha=0.8, label="real", linewidths=0)
        fake = s["x_fake"].numpy()
        if show["fake"]:
            ax.scatter(fake[:, 0], fake[:, 1], s=4, color=GAN_COLORS["fake"], alpha=0.6, label="fake", linewidths=0)
        if show["gradients"]:
            a = s["arrows"].numpy()
            norm = np.linalg.norm(a, axis=1)
            scale = 0.06 * (x_max - x_min) / (np.percentile(norm, 90) + 1e-12)
            a = a * scale
            a = a * np.minimum(1.0, 0.12 * (x_max - x_min) / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-12))
            p = fake[: len(a)]
            ax.quiver(p[:, 0], p[:, 1], a[:, 0], a[:, 1], angles="xy", scale_units="xy", scale=1, width=0.003,
                      color="k", alpha=0.7)
        if self.centers is not None:
            ax.scatter(self.centers[:, 0], self.centers[:, 1], marker="o", s=60, facecolors="none",
                       edgecolors=GAN_COLORS["data"], lw=0.8)
        ax.set_xlim(x_min, x_max)
        ax.set_ylim(y_min, y_max)
        ax.set_aspect("equal")
        name = self.data_name
        what = "D(x): green real, pink fake" if sigmoid else "critic: green high, pink low"
        m = self.trainer.discriminator.pack
        if m > 1:
            what += f"\n(each point packed with {m - 1} fake{'s' if m > 2 else ''}, mean of {PACK_PARTNERS})"
        ax.set_title(f"{name}, step {step} | {what}", fontsize=10)
        ax.tick_params(labelsize=7)
        if show["real"] or show["fake"]:
            ax.legend(loc="upper right", fontsize=7, markerscale=3, framealpha=0.8)

    def status(self) -> str:
        t, h = self.trainer, self.trainer.history
        head = f"step {t.global_step} (D updates {t.d_updates}, G updates {t.g_updates}) | loss {t.config.loss}"
        if not h["step"]:
            return head + " | press Play, Step, Step D or Step G"
        def last(key: str) -> float:  # the latest value of a player that moved (Step D leaves g_loss NaN)
            return next((v for v in reversed(h[key]) if math.isfinite(v)), math.nan)
        text = f"{head} | d_loss {last('d_loss'):.3f} | g_loss {last('g_loss'):.3f}"
        c = self.curves
        if c["js"] and math.isfinite(c["js"][-1]):
            text += f" | KL {c['kl'][-1]:.3f} | JS {c['js'][-1]:.3f}"
        if c["modes"] and math.isfinite(c["modes"][-1]):
            text += (f" | modes {int(c['modes'][-1])}/{len(self.centers)}"
                     f" | high quality {100 * c['high_quality'][-1]:.1f} %")
        return text

    def _export_clicked(self) -> None:
        gif, strip = self.export_gif("gan2d_history.gif"), self.export_strip("gan2d_history_strip.png")
        self.readout.value = f"wrote {gif.resolve()} and {strip.resolve()}"
