r"""Flow matching: learn the velocity of a straight path from noise to data, then integrate it.

Conditional flow matching with straight (optimal-transport) paths (Lipman et al., 2023, *Flow
Matching for Generative Modeling*), the same as rectified flow (Liu, Gong & Liu, 2023): pair a
noise sample :math:`x_0 \sim \mathcal N(0, I)` with a data sample :math:`x_1`, move on the segment

.. math:: x_t = (1 - t)\,x_0 + t\,x_1, \qquad \frac{d x_t}{dt} = x_1 - x_0 ,

and regress a network on that velocity at a random time:

.. math:: \mathcal L = \mathbb E_{t \sim U[0,1],\,x_0,\,x_1}\,\lVert v_\theta(x_t, t) - (x_1 - x_0) \rVert^2 .

The minimiser is the *marginal* velocity :math:`v(x, t) = \mathbb E[x_1 - x_0 \mid x_t = x]`, whose
flow carries :math:`\mathcal N(0, I)` at t = 0 to the data distribution at t = 1. Sampling solves
the ODE :math:`\dot x = v_\theta(x, t)` from t = 0 to 1 with Euler steps (one network call each) or
Heun's method (two calls per step, second order). Here t = 0 is noise and t = 1 is data, the
progress time of :mod:`gan_course.denoising`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_course.denoising import IterativeGenerator, require_time
from gan_course.validate import require_int

SOLVERS = ("euler", "heun")


# --------------------------------------------------------------------------------------------
# The math (pure functions)
# --------------------------------------------------------------------------------------------


def _broadcast_time(t: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    return t.reshape(-1, *([1] * (x.ndim - 1))) if t.ndim else t  # (B, 1, ...)


def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    r"""The point at time t on the straight path: :math:`x_t = (1 - t)\,x_0 + t\,x_1` (t per row or one number).

    >>> interpolate(torch.zeros(1, 2), torch.ones(1, 2), torch.tensor([0.25]))
    tensor([[0.2500, 0.2500]])
    """
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
    t = _broadcast_time(t, x0)
    return (1 - t) * x0 + t * x1


def target_velocity(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    r"""The conditional velocity of the straight path: :math:`u_t(x_t \mid x_0, x_1) = x_1 - x_0` (constant in t).

    >>> target_velocity(torch.tensor([[1.0, 0.0]]), torch.tensor([[3.0, 1.0]]))
    tensor([[2., 1.]])
    """
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must have the same shape, got {tuple(x0.shape)} and {tuple(x1.shape)}")
    return x1 - x0


def euler_step(x: torch.Tensor, v: torch.Tensor, dt: float) -> torch.Tensor:
    r"""Euler: :math:`x \leftarrow x + \Delta t\, v(x, t)`."""
    return x + dt * v


def heun_step(x: torch.Tensor, t: float, dt: float, velocity) -> torch.Tensor:
    r"""Heun (explicit trapezoid): :math:`\tilde x = x + \Delta t\,v(x, t)`, then
    :math:`x \leftarrow x + \tfrac{\Delta t}{2}\big(v(x, t) + v(\tilde x, t + \Delta t)\big)`."""
    v1 = velocity(x, t)
    x_pred = x + dt * v1
    return x + 0.5 * dt * (v1 + velocity(x_pred, t + dt))


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class FlowMatching(IterativeGenerator):
    r"""A velocity network ``net(x_t, t)`` trained by conditional flow matching, sampled by an ODE solver.

    Args:
        net: ``TimeMLP`` (2-D points, latents) or ``TinyUNet`` (images).

    >>> from gan_course.time_nets import TimeMLP
    >>> FlowMatching(TimeMLP()).sample(3, steps=4, method="heun").shape
    torch.Size([3, 2])
    """

    kind = "flow_matching"
    methods = SOLVERS
    default_steps = 50

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        r"""The flow-matching loss :math:`\lVert v_\theta(x_t, t) - (x_1 - x_0) \rVert^2` on a batch ``x`` (data units)."""
        x1 = self.to_model_units(x)
        x0 = torch.randn(x1.shape, generator=generator, device=x1.device)
        t = torch.rand(len(x1), generator=generator, device=x1.device)  # (B,)
        loss = F.mse_loss(self.net(interpolate(x0, x1, t), t), target_velocity(x0, x1))
        return loss, {"loss": float(loss.detach())}

    def velocity(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """:math:`v_\\theta(x, t)` for a batch in model units at one time t."""
        return self.net(x, torch.full((len(x),), float(t), device=x.device)).float()

    def _sample_path(self, z: torch.Tensor, steps: int, method: str, gen: torch.Generator,
                     keep_path: bool) -> torch.Tensor:
        x, dt = z, 1.0 / steps
        path = [x] if keep_path else []
        for k in range(steps):
            t = k * dt
            x = euler_step(x, self.velocity(x, t), dt) if method == "euler" else heun_step(x, t, dt, self.velocity)
            if keep_path:
                path.append(x)
        return torch.stack(path) if keep_path else x

    @torch.no_grad()
    def field(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The learned velocity at time ``t`` (0 = noise, 1 = data), in data units per unit time."""
        t = require_time(t)
        return self.velocity(self.to_model_units(x.to(self.device)), t) * self.scale

    def evaluations(self, steps: int, method: str | None = None) -> int:
        """Euler: one network call per step; Heun: two."""
        method = self.check_method(method)
        return require_int("steps", steps, 1) * (1 if method == "euler" else 2)
