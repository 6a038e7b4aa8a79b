"""The 1-D GAN dashboard: the theory of the original GAN paper, live.

Panels: p_data (exact) and p_g (a KDE of generated samples) with the discriminator D(x) and the
optimal discriminator D*(x) = p_data / (p_data + p_g) for the current generator; the generator's
map z -> x; both players' losses; and the Jensen–Shannon divergence over time. Controls: loss,
lr_d, lr_g, d_steps; buttons Step, Step D, Step G, Reset; Play/Pause.

    dash = GAN1DDashboard("mix1d")
    dash.run(500)     # headless: trains, updates the display, leaves the final frame
"""

from __future__ import annotations

import ipywidgets as W
import torch
from matplotlib.figure import Figure

from gan_course import data, divergences, plots, specs
from gan_course.losses import LOSS_NAMES
from gan_course.recipes import ToyRecipe, toy_trainer
from gan_course.specs import TrainerConfig
from gan_course.widgets.base import Dashboard

ONE_D_TOYS = ("gauss1d", "mix1d")
# A Wasserstein critic must be kept Lipschitz: the dashboards offer "wasserstein" only with weight
# clipping (the original WGAN's c = 0.01, added when none is set); "wgan_gp" carries its penalty.
WASSERSTEIN_CLIP = 0.01
LOSS_CHOICES = tuple((f"wasserstein (clip {WASSERSTEIN_CLIP})" if name == "wasserstein" else name, name)
                     for name in LOSS_NAMES)


def with_lipschitz_constraint(changes: dict, clip_value: float) -> dict:
    """``changes`` to a run's settings, plus ``clip_value`` when they ask for the plain ``wasserstein``
    loss without one (a critic with no Lipschitz constraint can grow without bound), or back to 0
    when they leave it for another loss while the clip is the one added here."""
    loss = changes.get("loss")
    if loss == "wasserstein" and clip_value == 0 and "clip_value" not in changes:
        return {**changes, "clip_value": WASSERSTEIN_CLIP}
    if loss is not None and loss != "wasserstein" and clip_value == WASSERSTEIN_CLIP and "clip_value" not in changes:
        return {**changes, "clip_value": 0.0}
    return changes


class GAN1DDashboard(Dashboard):
    """Train a 1-D GAN step by step and watch D, D*, p_g and the JS divergence.

    Args:
        data_name: ``"gauss1d"`` or ``"mix1d"``.
        loss: a name in ``losses.LOSS_NAMES``; ``"wasserstein"`` comes with weight clipping
            (``WASSERSTEIN_CLIP``), since a critic without a Lipschitz constraint has no bound.
        lr_d, lr_g, d_steps, batch_size: as in ``GANTrainer``.
        width, depth: of both networks (latent_dim is 1, so the map z -> x is a curve).
        seed: seeds the data, the initial weights and the training streams.
        num_samples: generated samples for the KDE of p_g at each redraw.
        bandwidth: the KDE's bandwidth.
        **kw: passed to ``Dashboard`` (``steps_per_tick``, ``tick_ms``, ...).
    """

    actions = ("step", "step_d", "step_g")

    def __init__(self, data_name: str = "mix1d", loss: str = "nonsaturating", lr_d: float = 1e-3,
                 lr_g: float = 1e-3, d_steps: int = 1, batch_size: int = 128, width: int = 32, depth: int = 2,
                 seed: int = 0, num_samples: int = 2000, bandwidth: float = 0.15, device: str = "cpu",
                 **kw) -> None:
        if data_name not in ONE_D_TOYS:
            raise ValueError(f"data_name must be one of {', '.join(map(repr, ONE_D_TOYS))}; got {data_name!r}")
        self.data_name, self.width, self.depth, self.seed = data_name, width, depth, seed
        self.batch_size, self.num_samples, self.bandwidth, self.device = batch_size, num_samples, bandwidth, device
        self.x_data = data.toy(data_name, 10000, seed=seed)  # (N, 1)
        self.grid = torch.linspace(-6, 6, 481)  # (M,)
        self.p_data = data.toy_log_prob(data_name, self.grid[:, None]).exp()  # (M,)
        self.loss_control = W.Dropdown(options=LOSS_CHOICES, value=loss, description="loss")
        self.lr_d_control = W.FloatLogSlider(value=lr_d, base=10, min=-5, max=-1, description="lr_d",
                                             continuous_update=False, readout_format=".1e")
        self.lr_g_control = W.FloatLogSlider(value=lr_g, base=10, min=-5, max=-1, description="lr_g",
                                             continuous_update=False, readout_format=".1e")
        self.d_steps_control = W.IntSlider(value=d_steps, min=1, max=10, description="d_steps",
                                           continuous_update=False)
        self._build_trainer()  # validates the hyperparameters before any widget is shown
        for control in (self.loss_control, self.lr_d_control, self.lr_g_control, self.d_steps_control):
            control.observe(self._on_control, names="value")
        kw.setdefault("steps_per_tick", 5)
        controls = [W.HBox([self.loss_control, self.d_steps_control]), W.HBox([self.lr_d_control, self.lr_g_control])]
        super().__init__(title=f"1-D GAN on {data_name}", figsize=(13, 4.2), controls=controls, **kw)

    # ---- state ------------------------------------------------------------------------------------

    def _build_trainer(self) -> None:
        """A fresh run of the controls' setting (the seed fixes the weights and the streams)."""
        loss = with_lipschitz_constraint({"loss": self.loss_control.value}, 0.0)  # wasserstein comes clipped
        config = TrainerConfig(**loss, lr_d=self.lr_d_control.value, lr_g=self.lr_g_control.value,
                               d_steps=self.d_steps_control.value, batch_size=self.batch_size)
        self.recipe = ToyRecipe(specs.MLPSpec(latent_dim=1, width=self.width, depth=self.depth), config,
                                num_data=len(self.x_data))
        self.trainer = toy_trainer(self.data_name, seed=self.seed, device=self.device, recipe=self.recipe, x=self.x_data)
        self.js_steps: list[int] = []
        self.js_values: list[float] = []

    def _on_control(self, change: dict) -> None:
        names = {self.loss_control: "loss", self.lr_d_control: "lr_d", self.lr_g_control: "lr_g",
                 self.d_steps_control: "d_steps"}
        changes = with_lipschitz_constraint({names[change["owner"]]: change["new"]}, self.trainer.config.clip_value)
        self._guarded(lambda: self.trainer.update(**changes))
        self.redraw(force=True)

    def advance(self, action: str) -> None:
        getattr(self.trainer, action)()  # "step", "step_d" or "step_g"

    def reset_state(self) -> None:
        self._build_trainer()

    # ---- what is drawn ----------------------------------------------------------------------------

    @torch.no_grad()
    def snapshot(self) -> dict[str, torch.Tensor]:
        """Everything the panels show, as CPU tensors: grid, p_data, p_g, D, D*, and the map z -> x."""
        t = self.trainer
        x_fake = t.sample(self.num_samples, seed=12345).cpu()  # (S, 1): fixed z, so frames compare
        p_g = divergences.kde_1d(x_fake, self.grid, self.bandwidth)  # (M,)
        d = torch.sigmoid(t.discriminator(self.grid[:, None].to(t.device)).float()).cpu()  # (M,)
        z = torch.linspace(-2.5, 2.5, 201)[:, None]  # (Z, 1): 98.8 % of the latent mass
        x_of_z = t.generator(z.to(t.device)).float().cpu()[:, 0]  # (Z,)
        js = float(divergences.js_divergence_grid(self.p_data.double(), p_g.double(), self.grid.double()))
        total = self.p_data + p_g
        d_star = divergences.optimal_discriminator(self.p_data, p_g)  # (M,)
        d_star = torch.where(total >= 0.02 * total.max(), d_star, torch.nan)  # undefined where no mass
        return {"grid": self.grid, "p_data": self.p_data, "p_g": p_g, "d": d, "d_star": d_star, "z": z[:, 0], "x_of_z": x_of_z,
                "js": torch.tensor(js)}

    def draw(self, fig: Figure) -> None:
        s = self.snapshot()
        step = self.trainer.global_step
        if not self.js_steps or self.js_steps[-1] != step:
            self.js_steps.append(step)
            self.js_values.append(float(s["js"]))
        else:
            self.js_values[-1] = float(s["js"])
        grid_spec = fig.add_gridspec(2, 3, width_ratios=[2.2, 1, 1.3], hspace=0.55, wspace=0.45,
                                     left=0.05, right=0.98, top=0.92, bottom=0.12)
        ax = fig.add_subplot(grid_spec[:, 0])
        uses_sigmoid = self.trainer.config.loss in ("minimax", "nonsaturating")
        plots.plot_densities_and_discriminator(
            ax, s["grid"], s["p_data"], s["p_g"], s["d"], s["d_star"] if uses_sigmoid else None,
            title=f"step {step}: densities, D(x)" + (", D*(x)" if uses_sigmoid else " (σ of the critic)"))
        map_ax = fig.add_subplot(grid_spec[:, 1])
        plots.plot_generator_map(map_ax, s["z"], s["x_of_z"], data.toy_modes(self.data_name)[0])
        low, high = map_ax.get_ylim()
        map_ax.set_ylim(max(low, -8.0), min(high, 8.0))  # keep the data's range readable
        h = self.trainer.history
        plots.plot_curves(fig.add_subplot(grid_spec[0, 2]), {"d_loss": (h["step"], h["d_loss"]),
                                                             "g_loss": (h["step"], h["g_loss"])}, title="losses")
        plots.plot_curves(fig.add_subplot(grid_spec[1, 2]), {"js": (self.js_steps, self.js_values)},
                          title="JS(p_data ‖ p_g), nats")

    def status(self) -> str:
        t, h = self.trainer, self.trainer.history
        if not t.global_step:
            return f"step 0 | loss {t.config.loss} | press Play, Step, Step D or Step G"
        last = lambda k: h[k][-1]  # noqa: E731
        js = f" | JS {self.js_values[-1]:.3f}" if self.js_values else ""
        return (f"step {t.global_step} (D updates {t.d_updates}, G updates {t.g_updates}) | "
                f"d_loss {last('d_loss'):.3f} | g_loss {last('g_loss'):.3f} | mean D(G(z)) {last('d_fake'):.3f}{js}")
