r"""Denoising diffusion (DDPM, Ho et al., 2020): add noise step by step, learn to take it away.

The forward process adds Gaussian noise in :math:`T` small steps, :math:`q(x_t \mid x_{t-1}) =
\mathcal N(\sqrt{1-\beta_t}\,x_{t-1}, \beta_t I)`, and has a closed form for any step:

.. math:: q(x_t \mid x_0) = \mathcal N\big(\sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t)\,I\big),
          \qquad \bar\alpha_t = \prod_{s \le t} (1 - \beta_s),

so :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon` with
:math:`\epsilon \sim \mathcal N(0, I)`. A network :math:`\epsilon_\theta(x_t, t)` learns to
predict the noise (the "simple" loss of Ho et al.):

.. math:: \mathcal L = \mathbb E_{t, x_0, \epsilon}\,\lVert \epsilon - \epsilon_\theta(x_t, t) \rVert^2 ,

which is, up to weights, denoising score matching: :math:`\nabla_x \log q(x_t) \approx
-\epsilon_\theta(x_t, t) / \sqrt{1-\bar\alpha_t}`. Sampling runs the process backwards, from
:math:`x_T \sim \mathcal N(0, I)`: the ancestral sampler of DDPM (a Gaussian step each time) or the
deterministic DDIM sampler (Song, Meng & Ermon, 2021), both on any subsequence of the T steps, so
the number of steps (and network evaluations) is chosen at sampling time.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_course.denoising import IterativeGenerator, require_time
from gan_course.validate import require_choice, require_int

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")


# --------------------------------------------------------------------------------------------
# The math: schedules, forward noising, the reverse steps (pure functions)
# --------------------------------------------------------------------------------------------


def linear_betas(num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    r"""Ho et al.'s schedule, rescaled to ``num_steps``: :math:`\beta_t` evenly from
    :math:`\beta_1 \cdot 1000/T` to :math:`\beta_T \cdot 1000/T` (float64, shape (T,)).

    >>> [round(beta, 8) for beta in linear_betas(1000)[[0, -1]].tolist()]
    [0.0001, 0.02]
    """
    num_steps = require_int("num_steps", num_steps, 2)
    s = 1000.0 / num_steps
    return torch.linspace(beta_start * s, min(beta_end * s, 0.999), num_steps, dtype=torch.float64)


def cosine_alpha_bars(num_steps: int, offset: float = 0.008) -> torch.Tensor:
    r"""Nichol & Dhariwal's (2021) schedule: :math:`\bar\alpha_t = f(t)/f(0)`,
    :math:`f(t) = \cos^2\!\big(\tfrac{t/T + o}{1 + o}\tfrac{\pi}{2}\big)`, t = 1..T (float64, (T,))."""
    num_steps = require_int("num_steps", num_steps, 2)
    t = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps  # (T+1,)
    f = torch.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    return (f[1:] / f[0]).clamp(1e-5, 1.0)  # (T,)


def alpha_bars(schedule: str, num_steps: int) -> torch.Tensor:
    r""":math:`\bar\alpha_t` for t = 1..T of a named schedule (float64, decreasing from about 1)."""
    if require_choice("schedule", schedule, SCHEDULES) == "linear":
        return torch.cumprod(1 - linear_betas(num_steps), dim=0)
    return cosine_alpha_bars(num_steps)


def q_sample(x0: torch.Tensor, alpha_bar: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    r"""Forward noising in closed form: :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon`.

    Args:
        x0: (B, ...) clean samples.
        alpha_bar: (B,) :math:`\bar\alpha_t` of each sample's step (or a number).
        noise: (B, ...) standard normal noise :math:`\epsilon`.

    >>> q_sample(torch.ones(1, 2), torch.tensor([0.25]), torch.zeros(1, 2))
    tensor([[0.5000, 0.5000]])
    """
    if x0.shape != noise.shape:
        raise ValueError(f"noise must have the shape of x0 {tuple(x0.shape)}, got {tuple(noise.shape)}")
    a = torch.as_tensor(alpha_bar, dtype=x0.dtype, device=x0.device)
    a = a.reshape(-1, *([1] * (x0.ndim - 1))) if a.ndim else a  # (B, 1, ...) to broadcast
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def q_mean_std(x0: torch.Tensor, alpha_bar: float) -> tuple[torch.Tensor, float]:
    r"""Mean and standard deviation of :math:`q(x_t \mid x_0)`: :math:`(\sqrt{\bar\alpha_t}\,x_0,\ \sqrt{1-\bar\alpha_t})`."""
    return math.sqrt(alpha_bar) * x0, math.sqrt(1 - alpha_bar)


def predicted_x0(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar: float) -> torch.Tensor:
    r"""The clean sample the noise prediction implies: :math:`\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon)/\sqrt{\bar\alpha_t}`."""
    return (x_t - math.sqrt(1 - alpha_bar) * eps) / math.sqrt(alpha_bar)


def ddpm_step(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar_t: float, alpha_bar_s: float,
              noise: torch.Tensor) -> torch.Tensor:
    r"""One ancestral step from step t to an earlier step s (s = "data" when ``alpha_bar_s`` = 1).

    With :math:`\beta = 1 - \bar\alpha_t / \bar\alpha_s` (the effective beta of the jump), the
    Gaussian posterior :math:`q(x_s \mid x_t, \hat x_0)` has

    .. math:: \mu = \frac{\sqrt{\bar\alpha_s}\,\beta}{1 - \bar\alpha_t}\,\hat x_0
                  + \frac{\sqrt{1-\beta}\,(1-\bar\alpha_s)}{1 - \bar\alpha_t}\,x_t,\qquad
              \sigma^2 = \frac{1-\bar\alpha_s}{1-\bar\alpha_t}\,\beta .
    """
    beta = 1 - alpha_bar_t / alpha_bar_s
    x0 = predicted_x0(x_t, eps, alpha_bar_t)
    mean = (math.sqrt(alpha_bar_s) * beta * x0 + math.sqrt(1 - beta) * (1 - alpha_bar_s) * x_t) / (1 - alpha_bar_t)
    var = (1 - alpha_bar_s) / (1 - alpha_bar_t) * beta
    return mean + math.sqrt(max(var, 0.0)) * noise


def ddim_step(x_t: torch.Tensor, eps: torch.Tensor, alpha_bar_t: float, alpha_bar_s: float) -> torch.Tensor:
    r"""One deterministic DDIM step (:math:`\eta = 0`): :math:`x_s = \sqrt{\bar\alpha_s}\,\hat x_0 + \sqrt{1-\bar\alpha_s}\,\hat\epsilon`."""
    x0 = predicted_x0(x_t, eps, alpha_bar_t)
    return math.sqrt(alpha_bar_s) * x0 + math.sqrt(1 - alpha_bar_s) * eps


def step_indices(num_steps: int, steps: int) -> list[int]:
    """``steps`` indices (0-based) of the T diffusion steps, evenly spread, last first: T-1 ... (the
    respacing of Nichol & Dhariwal, 2021).

    >>> step_indices(1000, 4)
    [999, 666, 333, 0]
    """
    steps = require_int("steps", steps, 1, num_steps)
    if steps == 1:
        return [num_steps - 1]
    return sorted({round(i * (num_steps - 1) / (steps - 1)) for i in range(steps)}, reverse=True)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class Diffusion(IterativeGenerator):
    r"""A DDPM with an :math:`\epsilon`-predicting network ``net(x_t, t)``, t = step / T in (0, 1].

    Args:
        net: ``TimeMLP`` (2-D points, latents) or ``TinyUNet`` (images).
        num_steps: T, the steps of the forward process.
        schedule: ``"linear"`` (Ho et al.) or ``"cosine"`` (Nichol & Dhariwal).

    >>> from gan_course.time_nets import TimeMLP
    >>> model = Diffusion(TimeMLP(), num_steps=100)
    >>> model.sample(3, steps=10).shape
    torch.Size([3, 2])
    """

    kind = "diffusion"
    methods = SAMPLERS
    default_steps = 100

    def __init__(self, net: nn.Module, num_steps: int = 1000, schedule: str = "linear") -> None:
        super().__init__(net)
        self.num_steps = require_int("num_steps", num_steps, 2)
        self.schedule = require_choice("schedule", schedule, SCHEDULES)
        self.register_buffer("alpha_bars", alpha_bars(schedule, num_steps).float(), persistent=False)  # (T,)

    def describe(self) -> dict:
        return {**super().describe(), "num_steps": self.num_steps, "schedule": self.schedule}

    def _times(self, index: torch.Tensor) -> torch.Tensor:
        return (index.float() + 1) / self.num_steps  # (B,) in (0, 1]

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        r"""The simple loss :math:`\lVert \epsilon - \epsilon_\theta(x_t, t) \rVert^2` on a batch ``x`` (data units)."""
        x0 = self.to_model_units(x)
        index = torch.randint(self.num_steps, (len(x0),), generator=generator, device=x0.device)  # (B,)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        x_t = q_sample(x0, self.alpha_bars[index], noise)
        loss = F.mse_loss(self.net(x_t, self._times(index)), noise)
        return loss, {"loss": float(loss.detach())}

    def predict_noise(self, x_t: torch.Tensor, index: int) -> torch.Tensor:
        """:math:`\\epsilon_\\theta(x_t, t)` at one step ``index`` (0-based) for a batch in model units."""
        t = torch.full((len(x_t),), (index + 1) / self.num_steps, device=x_t.device)
        return self.net(x_t, t).float()

    def _sample_path(self, z: torch.Tensor, steps: int, method: str, gen: torch.Generator,
                     keep_path: bool) -> torch.Tensor:
        indices = step_indices(self.num_steps, min(steps, self.num_steps))
        a = self.alpha_bars.double().tolist()
        x = z  # x_T ~ N(0, I): the last step leaves almost no signal (1 - alpha_bar_T is about 1)
        path = [x] if keep_path else []
        for k, i in enumerate(indices):
            a_s = a[indices[k + 1]] if k + 1 < len(indices) else 1.0  # the next step, or the data
            eps = self.predict_noise(x, i)
            if method == "ddim":
                x = ddim_step(x, eps, a[i], a_s)
            else:
                noise = torch.randn(x.shape, generator=gen, device=x.device) if a_s < 1 else torch.zeros_like(x)
                x = ddpm_step(x, eps, a[i], a_s, noise)
            if keep_path:
                path.append(x)
        return torch.stack(path) if keep_path else x

    @torch.no_grad()
    def field(self, x: torch.Tensor, t: float) -> torch.Tensor:
        r"""The learned score :math:`\nabla_x \log p(x) \approx -\epsilon_\theta / \sqrt{1-\bar\alpha}` at
        progress time ``t`` (0 = noise, i.e. step T; 1 = data, step 1), in data units."""
        t = require_time(t)
        index = round((1 - t) * (self.num_steps - 1))
        eps = self.predict_noise(self.to_model_units(x.to(self.device)), index)
        return -eps / math.sqrt(1 - float(self.alpha_bars[index])) / self.scale

    def evaluations(self, steps: int, method: str | None = None) -> int:
        """One network call per step, for both samplers."""
        self.check_method(method)
        return min(require_int("steps", steps, 1), self.num_steps)
