"""The 2-D GAN dashboard: GAN Lab inside Jupyter, on real PyTorch training.

One panel shows the plane: real samples, fake samples, the discriminator's output D(x) as a
heatmap (one batched ``no_grad`` pass over a grid), the generator's manifold (a grid in noise
space warped by G, for 2-D noise) and arrows of the generator's gradient at fake samples. Side
panels show d_loss and g_loss, KL and JS between real and fake on a grid, and, for the mixtures,
modes covered and the high-quality fraction (``metrics.mode_coverage``) with the samples per mode.

Controls: Play/Pause, Step, Step D, Step G, Reset, speed (from the base); live hyperparameters
(loss, optimizer and learning rate per player, d_steps, the R1 penalty's gamma); architecture
switches that restart training (hidden layers, width, noise dimension and distribution, spectral
norm, packing, dataset, seed); a toggle per layer; Export GIF / PNG strip of the recorded history.

    dash = GAN2DDashboard("ring8")            # or GAN2DDashboard(my_tensor)  (n, 2)
    dash = GAN2DDashboard.pretrained("ring8") # start mid-training from a shipped state
    dash.run(500)                             # headless: trains, updates the display
"""

from __future__ import annotations

import dataclasses
import io
import math
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from gan_course import data, metrics, nets
from gan_course.config import assets_dir
from gan_course.losses import LOSS_NAMES
from gan_course.plots import GAN_COLORS, plot_curves
from gan_course.recipes import TOY_NOISE, TOY_RECIPES, toy_latent_sampler
from gan_course.train import OPTIMIZERS, GANTrainer, load_checkpoint, make_optimizer, save_checkpoint
from gan_course.validate import require_nonnegative_number, require_positive_int
from gan_course.widgets.base import Dashboard

DATASETS_2D = ("ring8", "grid25", "spiral", "moons", "two_gaussians")
NOISE = TOY_NOISE  # the latent distributions the toy trainers know
LAYERS = ("real", "fake", "D(x)", "manifold", "gradients")
TWO_GAUSSIANS = (torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), 0.1)  # (centers (2, 2), std)
PRETRAINED_FORMAT = 1


def two_gaussians(n: int, seed: int | None = None) -> torch.Tensor:
    """``n`` samples (n, 2) of an even mixture of two Gaussians at (-1, 0) and (1, 0), std 0.1."""
    gen = None if seed is None else torch.Generator().manual_seed(int(seed))
    centers, std = TWO_GAUSSIANS
    component = torch.randint(2, (n,), generator=gen)  # (n,)
    return centers[component] + std * torch.randn(n, 2, generator=gen)  # (n, 2)


def dataset_2d(name: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None, float | None]:
    """Samples and, for the mixtures, the modes: ``(x (n, 2), centers (K, 2) or None, std or None)``."""
    if name not in DATASETS_2D:
        raise ValueError(f"data must be one of {', '.join(map(repr, DATASETS_2D))} or an (n, 2) tensor; got {name!r}")
    if name == "two_gaussians":
        return two_gaussians(n, seed), *TWO_GAUSSIANS
    return data.toy(name, n, seed=seed), *data.toy_modes(name)


def check_samples_2d(x: object, name: str = "data") -> torch.Tensor:
    """``x`` as a float32 CPU tensor of shape (n, 2) without NaN/inf; else a ValueError naming ``name``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a dataset name or a torch.Tensor of shape (n, 2), got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, 2), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains {int((~torch.isfinite(x)).sum())} NaN or inf values; clean them first")
    return x.detach().float().cpu()


@dataclass(frozen=True)
class Settings2D:
    """Everything that fixes a 2-D GAN run (the dashboard's controls; vary with ``dataclasses.replace``)."""

    data: str = "ring8"  # a name in DATASETS_2D, or "custom" for a user tensor
    loss: str = "nonsaturating"  # a name in losses.LOSS_NAMES
    optimizer_d: str = "adam"  # the discriminator's optimizer, one of train.OPTIMIZERS
    optimizer_g: str = "adam"  # the generator's optimizer
    lr_d: float = 5e-4  # discriminator learning rate
    lr_g: float = 5e-4  # generator learning rate
    d_steps: int = 1  # discriminator updates per generator update
    depth: int = 3  # hidden layers of both players
    width: int = 128  # units per hidden layer
    latent_dim: int = 2  # noise dimension (the manifold is drawn when it is 2)
    noise: str = "gaussian"  # "gaussian" or "uniform"
    spectral_norm: bool = False  # spectral normalisation of D's layers
    r1_weight: float = 0.0  # gamma of the R1 penalty on D's gradient at real data (0: off)
    pack: int = 1  # PacGAN: samples shown to D at once
    batch_size: int = 256  # a multiple of pack
    seed: int = 0  # data, initial weights and training streams

    def __post_init__(self) -> None:
        if self.data not in DATASETS_2D + ("custom",):
            raise ValueError(f"data must be one of {', '.join(map(repr, DATASETS_2D))}; got {self.data!r}")
        if self.loss not in LOSS_NAMES:
            raise ValueError(f"loss must be one of {', '.join(map(repr, LOSS_NAMES))}; got {self.loss!r}")
        for name in ("optimizer_d", "optimizer_g"):
            if getattr(self, name) not in OPTIMIZERS:
                raise ValueError(f"{name} must be one of {OPTIMIZERS}; got {getattr(self, name)!r}")
        if self.noise not in NOISE:
            raise ValueError(f"noise must be one of {NOISE}; got {self.noise!r}")
        for name in ("d_steps", "width", "latent_dim", "pack", "batch_size"):
            value = getattr(self, name)
            require_positive_int(name, value)
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 0:
            raise ValueError(f"depth must be an int >= 0, got {self.depth!r}")
        require_nonnegative_number("r1_weight", self.r1_weight)
        if self.batch_size % self.pack:
            raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of pack ({self.pack})")


def recommended_settings(name: str, **changes) -> Settings2D:
    """The course's recommended setting for a toy (``recipes.TOY_RECIPES``), as dashboard settings."""
    recipe = TOY_RECIPES.get(name, TOY_RECIPES["ring8"])
    base = Settings2D(data=name, loss=recipe.loss, lr_d=recipe.lr_d, lr_g=recipe.lr_g, d_steps=recipe.d_steps,
                      depth=recipe.depth, width=recipe.width, latent_dim=recipe.latent_dim,
                      batch_size=recipe.batch_size, spectral_norm=recipe.spectral_norm, pack=recipe.pack,
                      noise=recipe.noise, r1_weight=recipe.r1_weight)
    return dataclasses.replace(base, **changes)


def build_trainer(settings: Settings2D, x: torch.Tensor, device: str = "cpu") -> GANTrainer:
    """A ``GANTrainer`` for ``settings`` on data ``x`` (n, 2); the seed fixes the initial weights."""
    s = settings
    torch.manual_seed(s.seed)
    g = nets.MLPGenerator(s.latent_dim, 2, s.width, s.depth)
    d = nets.MLPDiscriminator(2, s.width, s.depth, spectral_norm=s.spectral_norm, pack=s.pack)
    trainer = GANTrainer(g, d, x, s.loss, latent_sampler=toy_latent_sampler(s.noise, s.latent_dim), d_steps=s.d_steps,
                         lr_d=s.lr_d, lr_g=s.lr_g, r1_weight=s.r1_weight, batch_size=s.batch_size, seed=s.seed,
                         device=device, optimizer=s.optimizer_d)
    if s.optimizer_g != s.optimizer_d:
        set_optimizer(trainer, "g", s.optimizer_g)
    return trainer


def set_optimizer(trainer: GANTrainer, player: str, name: str) -> None:
    """Give one player (``"d"`` or ``"g"``) a fresh optimizer ``name`` at its current learning rate."""
    if player not in ("d", "g"):
        raise ValueError(f"player must be 'd' or 'g', got {player!r}")
    net = trainer.discriminator if player == "d" else trainer.generator
    lr = getattr(trainer.config, f"lr_{player}")
    setattr(trainer, f"opt_{player}", make_optimizer(name, net.parameters(), lr, trainer.config.betas, trainer.device))


def plane_bounds(x: torch.Tensor, margin: float = 0.2) -> tuple[float, float, float, float]:
    """A square window around the samples ``x`` (n, 2): their range plus ``margin`` of it each side."""
    lo, hi = x.min(0).values, x.max(0).values  # (2,), (2,)
    center, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + 2 * margin)
    return (float(center[0]) - half, float(center[0]) + half, float(center[1]) - half, float(center[1]) + half)


def pretrained_path(name: str) -> Path:
    """Where the shipped pretrained state for dataset ``name`` lives."""
    return assets_dir() / "models" / f"gan2d_{name}.pt"


class GAN2DDashboard(Dashboard):
    """Train a GAN on 2-D data step by step and watch D, G, the gradients and the modes.

    Args:
        data: a name in ``DATASETS_2D`` or a tensor (n, 2) of your own.
        settings: a ``Settings2D``; keyword arguments (``loss=...``, ``pack=2``) override its
            fields. Default: ``recommended_settings(data)``.
        centers, std: the modes of a user tensor, to count modes covered (optional).
        num_samples: fake samples drawn (from a fixed z) at each redraw.
        grid_size: cells per axis of the D(x) heatmap.
        num_arrows: fake samples that carry a gradient arrow.
        device: where training runs (``"cpu"`` keeps the widget responsive on a laptop).
        **kw: ``Settings2D`` fields, or options of ``Dashboard`` (``steps_per_tick``, ``tick_ms``, ...).
    """

    actions = ("step", "step_d", "step_g")

    def __init__(self, data: str | torch.Tensor = "ring8", settings: Settings2D | None = None, *,
                 centers: torch.Tensor | None = None, std: float | None = None, num_samples: int = 1000,
                 num_data: int = 20000, grid_size: int = 80, num_arrows: int = 150, device: str = "cpu",
                 **kw) -> None:
        fields = {f.name for f in dataclasses.fields(Settings2D)}
        changes = {k: kw.pop(k) for k in list(kw) if k in fields}
        if isinstance(data, str):
            if data not in DATASETS_2D:
                raise ValueError(f"data must be one of {', '.join(map(repr, DATASETS_2D))} or an (n, 2) tensor; "
                                 f"got {data!r}")
            base = dataclasses.replace(settings or recommended_settings(data), data=data)
            self.user_data = None
        else:
            self.user_data = check_samples_2d(data)
            base = dataclasses.replace(settings or recommended_settings("ring8"), data="custom")
        if centers is not None:
            centers = check_samples_2d(centers, "centers")
            if not (isinstance(std, (int, float)) and std > 0):
                raise ValueError(f"std must be a positive number when centers are given, got {std!r}")
        self.user_modes = (centers, std)
        self.settings = dataclasses.replace(base, **changes)
        self.num_samples, self.num_data, self.grid_size = num_samples, num_data, grid_size
        self.num_arrows, self.device = num_arrows, device
        self._make_controls()
        self._load_data()
        self.trainer = build_trainer(self.settings, self.x_data, device)
        self._clear_curves()
        kw.setdefault("steps_per_tick", 10)
        super().__init__(title="2-D GAN (GAN Lab in Jupyter)", figsize=(13, 5.2), controls=self._control_rows(), **kw)

    @classmethod
    def pretrained(cls, name: str, path: str | Path | None = None, **kw) -> "GAN2DDashboard":
        """A dashboard that starts mid-training from the shipped state for ``name`` (or ``path``)."""
        path = Path(path) if path is not None else pretrained_path(name)
        state = load_checkpoint(path)
        if state.get("format") != PRETRAINED_FORMAT:
            raise ValueError(f"{path} is not a 2-D dashboard state (format {state.get('format')!r})")
        settings = Settings2D(**{**state["settings"], "data": name})
        dash = cls(name, settings, **kw)
        dash.load_state(state)
        return dash

    # ---- controls -------------------------------------------------------------------------------

    def _make_controls(self) -> None:
        s = self.settings
        slider = dict(continuous_update=False, style={"description_width": "initial"})
        log_lr = dict(base=10, min=-5, max=-1, readout_format=".1e", **slider)
        self.controls = {
            "loss": W.Dropdown(options=LOSS_NAMES, value=s.loss, description="loss"),
            "optimizer_d": W.Dropdown(options=OPTIMIZERS, value=s.optimizer_d, description="opt D"),
            "optimizer_g": W.Dropdown(options=OPTIMIZERS, value=s.optimizer_g, description="opt G"),
            "lr_d": W.FloatLogSlider(value=s.lr_d, description="lr_d", **log_lr),
            "lr_g": W.FloatLogSlider(value=s.lr_g, description="lr_g", **log_lr),
            "d_steps": W.IntSlider(value=s.d_steps, min=1, max=10, description="d_steps", **slider),
            "r1_weight": W.Dropdown(options=sorted({0.0, 0.01, 0.1, 1.0, 10.0, s.r1_weight}), value=s.r1_weight,
                                    description="R1 γ"),
            # the ones below rebuild the networks: training restarts from step 0
            "data": W.Dropdown(options=DATASETS_2D + (("custom",) if self.user_data is not None else ()),
                               value=s.data, description="data"),
            "depth": W.IntSlider(value=s.depth, min=0, max=6, description="hidden layers", **slider),
            "width": W.Dropdown(options=sorted({8, 16, 32, 64, 128, 256, s.width}), value=s.width, description="width"),
            "latent_dim": W.IntSlider(value=s.latent_dim, min=1, max=16, description="noise dim", **slider),
            "noise": W.Dropdown(options=NOISE, value=s.noise, description="noise"),
            "spectral_norm": W.Checkbox(value=s.spectral_norm, description="spectral norm (D)"),
            "pack": W.IntSlider(value=s.pack, min=1, max=8, description="pack", **slider),
            "seed": W.BoundedIntText(value=s.seed, min=0, max=2**31 - 1, description="seed"),
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

    LIVE = ("loss", "lr_d", "lr_g", "d_steps", "r1_weight")  # changed in place: training goes on

    def set(self, name: str, value) -> None:
        """Change one setting: the ``LIVE`` ones (and the optimizers) in place, the others restart.

        A change that is refused (say a batch size that ``pack`` does not divide) raises a
        ``ValueError`` and leaves the run as it was.
        """
        if getattr(self.settings, name, object()) == value:
            return  # nothing changes (e.g. a control put back after a refused value)
        new = dataclasses.replace(self.settings, **{name: value})  # validates
        if name in self.LIVE:
            self.trainer.update(**{name: value})
        elif name in ("optimizer_d", "optimizer_g"):
            set_optimizer(self.trainer, name[-1], value)
        self.settings = new
        if name not in self.LIVE + ("optimizer_d", "optimizer_g"):
            self.reset()  # architecture, data or seed: a new run
        else:
            self.redraw(force=True)
        control = self.controls.get(name)
        if control is not None and control.value != value:
            control.value = value  # keep the widget in step when called from code (no loop: same value)

    # ---- state ----------------------------------------------------------------------------------

    def _load_data(self) -> None:
        s = self.settings
        if s.data == "custom":
            self.x_data = self.user_data
            self.centers, self.std = self.user_modes
        else:
            self.x_data, self.centers, self.std = dataset_2d(s.data, self.num_data, s.seed)
        self.bounds = plane_bounds(self.x_data)
        gen = torch.Generator().manual_seed(s.seed + 7)
        take = torch.randperm(len(self.x_data), generator=gen)[: self.num_samples]
        self.x_show = self.x_data[take]  # (S, 2) the real samples drawn and used for KL/JS
        x_min, x_max, y_min, y_max = self.bounds
        gx = torch.linspace(x_min, x_max, self.grid_size)
        gy = torch.linspace(y_min, y_max, self.grid_size)
        self.grid_points = torch.cartesian_prod(gx, gy)  # (M*M, 2), x varies slowest

    def _clear_curves(self) -> None:
        self.curves: dict[str, list[float]] = {k: [] for k in ("step", "kl", "js", "modes", "high_quality")}

    def advance(self, action: str) -> None:
        getattr(self.trainer, action)()  # "step", "step_d" or "step_g"

    def reset_state(self) -> None:
        """A new run from the seed; a dashboard started from a pretrained state goes back to that
        state, as long as the settings still match it."""
        self._load_data()
        self.trainer = build_trainer(self.settings, self.x_data, self.device)
        self._clear_curves()
        start = getattr(self, "_start_state", None)
        if start is not None and Settings2D(**{**start["settings"], "data": self.settings.data}) == self.settings:
            self._restore(start)

    def state(self) -> dict:
        """A small, loadable state: settings, both networks, counters, history and curves (no optimizer state)."""
        t = self.trainer
        return {"format": PRETRAINED_FORMAT, "settings": dataclasses.asdict(self.settings),
                "generator": t.generator.state_dict(), "discriminator": t.discriminator.state_dict(),
                "counters": {"global_step": t.global_step, "d_updates": t.d_updates, "g_updates": t.g_updates},
                "history": {k: list(v) for k, v in t.history.items()},
                "curves": {k: list(v) for k, v in self.curves.items()},
                "steps_done": self.steps_done}

    def save_state(self, path: str | Path) -> Path:
        """Write ``state()`` atomically (used to make the shipped pretrained states)."""
        return save_checkpoint(self.state(), path)

    def load_state(self, state: dict) -> None:
        """Restore a ``state()`` and make it the one Reset returns to; the optimizers start afresh
        (Adam's moments are not shipped)."""
        self._start_state = state
        self._restore(state)
        self.steps_done = int(state["steps_done"])
        self.frames.clear()  # the history starts at the loaded state
        self.frame_steps.clear()
        self.redraw(force=True)

    def _restore(self, state: dict) -> None:
        t = self.trainer
        t.generator.load_state_dict(state["generator"])
        t.discriminator.load_state_dict(state["discriminator"])
        c = state["counters"]
        t.global_step, t.d_updates, t.g_updates = int(c["global_step"]), int(c["d_updates"]), int(c["g_updates"])
        t.history = {k: list(v) for k, v in state["history"].items()}
        self.curves = {k: list(v) for k, v in state["curves"].items()}

    # ---- what is drawn --------------------------------------------------------------------------

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's output per point x (N, 2); with packing each point is shown as a pack of m copies."""
        m = self.trainer.discriminator.pack
        x = x.to(self.trainer.device).repeat_interleave(m, dim=0)  # (N * m, 2): a pack of m copies each
        return self.trainer.discriminator(x).float().cpu()  # (N,)

    @torch.no_grad()
    def snapshot(self) -> dict:
        """Everything the panels show, as CPU tensors (one batched no-grad pass for the heatmap)."""
        t = self.trainer
        x_fake = t.sample(self.num_samples, seed=12345).cpu()  # (S, 2): fixed z, so frames compare
        logits = self._logits(self.grid_points)  # (M*M,)
        heat = torch.sigmoid(logits) if t.config.loss in ("minimax", "nonsaturating") else logits
        out = {"x_fake": x_fake, "heat": heat.reshape(self.grid_size, self.grid_size)}  # (M, M), [i_x, i_y]
        if self.settings.latent_dim == 2:
            out["manifold"] = self._manifold()
        out["arrows"] = self._arrows(x_fake[: self.num_arrows])
        if torch.isfinite(x_fake).all():
            out["kl"], out["js"] = metrics.kl_js_2d(self.x_show, x_fake, self.bounds, bins=64,
                                                    bandwidth=(self.bounds[1] - self.bounds[0]) / 64 * 1.5)
        if self.centers is not None and torch.isfinite(x_fake).all():
            out["coverage"] = metrics.mode_coverage(x_fake, self.centers, self.std)
        return out

    def _manifold(self, lines: int = 11, points: int = 60) -> torch.Tensor:
        """G applied to a grid of lines in 2-D noise space: (2 * lines, points, 2)."""
        r = 2.0 if self.settings.noise == "gaussian" else 1.0
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
            self._mode_bars(fig.add_subplot(spec[1, 2]), s.get("coverage"))
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
        name = self.settings.data
        what = "D(x): green real, pink fake" if sigmoid else "critic: green high, pink low"
        ax.set_title(f"{name}, step {step} | {what}", fontsize=10)
        ax.tick_params(labelsize=7)
        if show["real"] or show["fake"]:
            ax.legend(loc="upper right", fontsize=7, markerscale=3, framealpha=0.8)

    @staticmethod
    def _mode_bars(ax, coverage) -> None:
        if coverage is None:
            ax.axis("off")
            return
        counts = coverage.counts.numpy()
        ax.bar(np.arange(len(counts)), counts, color=["#1f77b4" if c > 0 else "#d62728" for c in counts])
        ax.axhline(counts.sum() / len(counts), color="k", ls=":", lw=1)  # the even share
        ax.set_ylim(0, max(1.0, 1.1 * float(counts.max())))
        ax.set_title("high-quality fake samples per mode", fontsize=10)
        ax.set_xlabel("mode", fontsize=8)
        ax.tick_params(labelsize=7)

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

    # ---- export ---------------------------------------------------------------------------------

    def export_gif(self, path: str | Path, duration_ms: int = 150) -> Path:
        """Write the recorded history as an animated GIF (for slides); returns the path."""
        images = self._frame_images()
        path = Path(path)
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
        return path

    def export_strip(self, path: str | Path, num_frames: int = 4) -> Path:
        """Write ``num_frames`` evenly spaced recorded frames, side by side, as one PNG."""
        from PIL import Image

        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"num_frames must be a positive int, got {num_frames!r}")
        images = self._frame_images()
        picks = sorted({round(i) for i in np.linspace(0, len(images) - 1, min(num_frames, len(images)))})
        chosen = [images[i] for i in picks]
        strip = Image.new("RGB", (sum(im.width for im in chosen), max(im.height for im in chosen)), "white")
        left = 0
        for im in chosen:
            strip.paste(im, (left, 0))
            left += im.width
        path = Path(path)
        strip.save(path, format="PNG")
        return path

    def _frame_images(self):
        from PIL import Image

        if not self.frames:
            raise ValueError("there is no recorded history yet: press Step or Play, or call run(steps)")
        return [Image.open(io.BytesIO(png)).convert("RGB") for png in self.frames]

    def _export_clicked(self) -> None:
        gif, strip = self.export_gif("gan2d_history.gif"), self.export_strip("gan2d_history_strip.png")
        self.readout.value = f"wrote {gif.resolve()} and {strip.resolve()}"


def make_pretrained(name: str, steps: int = 1500, seed: int = 0, path: str | Path | None = None) -> Path:
    """Train the recommended setting on ``name`` for ``steps`` steps (seed ``seed``) and write the
    dashboard state that ``GAN2DDashboard.pretrained(name)`` starts from (well under 1 MB)."""
    torch.set_num_threads(1)
    dash = GAN2DDashboard(name, seed=seed)
    redraw_every = max(1, steps // 20)
    for i in range(1, steps + 1):
        dash.step("step", redraw=False)
        if i % redraw_every == 0:
            dash._track(dash.trainer.global_step, dash.snapshot())  # the KL/JS/modes curves, without drawing
    return dash.save_state(path or pretrained_path(name))
