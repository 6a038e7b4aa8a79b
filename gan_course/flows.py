r"""Normalizing flows: an invertible map turns a simple density into a rich one, exactly.

If :math:`z = f(x)` is invertible and differentiable and :math:`z \sim p_Z = \mathcal N(0, I)`,
the change-of-variables formula gives the density of :math:`x`:

.. math:: \log p_X(x) = \log p_Z\big(f(x)\big) + \log\Big|\det \frac{\partial f(x)}{\partial x}\Big|.

The affine coupling layer of RealNVP (Dinh, Sohl-Dickstein and Bengio, 2017) makes both the
inverse and the determinant cheap. With a binary mask :math:`m`, the coordinates where
:math:`m = 1` pass unchanged and condition an affine map of the others:

.. math:: y = m \odot x + (1-m) \odot \big(x \odot e^{s(m\odot x)} + t(m \odot x)\big), \qquad
    \log\Big|\det \frac{\partial y}{\partial x}\Big| = \sum_j (1-m_j)\, s_j(m \odot x).

The Jacobian is triangular (after sorting the coordinates), so its log-determinant is the sum
of :math:`s` over the transformed coordinates, and the inverse needs no inverse of :math:`s` or
:math:`t`. Stacking layers with alternating masks lets every coordinate be transformed.

:class:`AffineCoupling` and :class:`RealNVP` are ``nn.Module`` s; :func:`fit_flow` trains a flow
by maximum likelihood on :func:`gan_course.loop.fit_model`; :func:`density_on_grid` and
:func:`grid_integral` draw a 2-D flow's density and check that it integrates to 1.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn

from gan_course import metrics
from gan_course.config import torch_generator
from gan_course.loop import FitState, fit_model
from gan_course.validate import data_matrix, require_int, require_positive_int, require_tensor


# --------------------------------------------------------------------------------------------
# Masks (pure functions)
# --------------------------------------------------------------------------------------------


def check_mask(mask: object, name: str = "mask") -> torch.Tensor:
    """``mask`` as a float (D,) tensor of 0s and 1s with both values present; else a ValueError.

    An all-ones mask would transform nothing and an all-zeros one would condition on nothing.

    >>> check_mask(torch.tensor([1, 0])).tolist()
    [1.0, 0.0]
    """
    mask = require_tensor(mask, name)
    if mask.ndim != 1 or mask.numel() < 2:
        raise ValueError(f"{name} must be a 1-D tensor with at least 2 entries (one per coordinate), got shape "
                         f"{tuple(mask.shape)}")
    mask = mask.to(torch.float32)
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} must hold only 0s and 1s, got {mask.tolist()}")
    if bool((mask == 1).all()) or bool((mask == 0).all()):
        raise ValueError(f"{name} must contain both 0s (the coordinates transformed) and 1s (those that pass "
                         f"unchanged and condition the rest), got all {int(mask[0])}s: {mask.tolist()}")
    return mask


def alternating_masks(dim: int, num_layers: int) -> list[torch.Tensor]:
    """``num_layers`` masks over ``dim`` coordinates, alternating even/odd positions: a 1-D checkerboard.

    >>> [m.tolist() for m in alternating_masks(2, 3)]
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """
    dim, num_layers = require_int("dim", dim, 2), require_positive_int("num_layers", num_layers)
    even = (torch.arange(dim) % 2 == 0).to(torch.float32)  # (D,)
    return [even if layer % 2 == 0 else 1 - even for layer in range(num_layers)]


def checkerboard_mask(height: int, width: int, parity: int = 0) -> torch.Tensor:
    """The (height * width,) checkerboard of RealNVP for images: 1 where (row + col) % 2 == parity.

    >>> checkerboard_mask(2, 2).tolist()
    [1.0, 0.0, 0.0, 1.0]
    """
    height, width = require_positive_int("height", height), require_positive_int("width", width)
    parity = require_int("parity", parity, 0, 1)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")  # (H, W) each
    return ((rows + cols) % 2 == parity).to(torch.float32).reshape(-1)  # (H * W,)


# --------------------------------------------------------------------------------------------
# The coupling layer and the flow
# --------------------------------------------------------------------------------------------


class AffineCoupling(nn.Module):
    r"""One RealNVP affine coupling layer, from data towards noise.

    .. math:: y = m\odot x + (1-m)\odot\big(x\odot e^{s} + t\big),\quad (s, t) = \mathrm{MLP}(m\odot x),
        \quad \log|\det J| = \textstyle\sum_j (1-m_j)\,s_j

    :math:`s` is bounded as :math:`\alpha\tanh(\cdot)` with a learned :math:`\alpha` per coordinate
    (as in RealNVP's code) so a large step cannot blow the scale up. The last layer starts at
    zero: a new layer is the identity.

    Args:
        mask: (D,) 0/1, both present; 1 = passed unchanged and conditioning the rest.
        hidden: width of the conditioner MLP.
        num_hidden_layers: hidden layers of the conditioner MLP.
    """

    def __init__(self, mask: torch.Tensor, hidden: int = 64, num_hidden_layers: int = 2) -> None:
        super().__init__()
        mask = check_mask(mask)
        hidden, num_hidden_layers = require_positive_int("hidden", hidden), require_positive_int(
            "num_hidden_layers", num_hidden_layers)
        dim = len(mask)
        self.register_buffer("mask", mask)  # (D,)
        layers: list[nn.Module] = []
        width = dim
        for _ in range(num_hidden_layers):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        last = nn.Linear(width, 2 * dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*layers, last)
        self.scale = nn.Parameter(torch.ones(dim))  # alpha in s = alpha * tanh(raw)

    def shift_and_log_scale(self, x_masked: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(s, t), each (B, D), zero on the coordinates the mask keeps."""
        raw_s, t = self.net(x_masked).chunk(2, dim=1)  # (B, D) each
        keep = 1 - self.mask
        return keep * self.scale * torch.tanh(raw_s), keep * t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y, log_det)``: y (B, D) and :math:`\\log|\\det\\partial y/\\partial x|` (B,)."""
        s, t = self.shift_and_log_scale(x * self.mask)
        y = x * self.mask + (1 - self.mask) * (x * s.exp() + t)
        return y, s.sum(dim=1)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, log_det)`` with :math:`x = f^{-1}(y)` and :math:`\\log|\\det\\partial x/\\partial y|` (B,)."""
        s, t = self.shift_and_log_scale(y * self.mask)  # y * mask == x * mask: the kept part is the same
        x = y * self.mask + (1 - self.mask) * (y - t) * (-s).exp()
        return x, -s.sum(dim=1)


class RealNVP(nn.Module):
    r"""A stack of affine couplings with alternating masks on a standard normal base.

    .. math:: \log p(x) = \log\mathcal N\big(f(x); 0, I\big) + \sum_{l=1}^{L}\log|\det J_l|,
        \qquad f = f_L\circ\cdots\circ f_1

    ``log_prob`` maps data to noise (one pass); ``sample`` draws noise and runs the inverses. Both
    directions are exact and equally cheap, unlike an autoregressive model's sampling.

    Args:
        dim: D, coordinates per sample (2 for the toy data).
        num_layers: coupling layers L; masks alternate so each coordinate is transformed L/2 times.
        hidden: width of each conditioner MLP.
        num_hidden_layers: hidden layers of each conditioner MLP.
        masks: explicit (D,) masks, one per layer, instead of alternating ones.
    """

    def __init__(self, dim: int = 2, num_layers: int = 8, hidden: int = 64, num_hidden_layers: int = 2,
                 masks: Sequence[torch.Tensor] | None = None) -> None:
        super().__init__()
        self.dim = require_int("dim", dim, 2)
        if masks is None:
            masks = alternating_masks(self.dim, num_layers)
        masks = [check_mask(m, f"masks[{i}]") for i, m in enumerate(masks)]
        for i, m in enumerate(masks):
            if len(m) != self.dim:
                raise ValueError(f"masks[{i}] must have dim={self.dim} entries, got {len(m)}")
        self.layers = nn.ModuleList(AffineCoupling(m, hidden, num_hidden_layers) for m in masks)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _check(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        x = data_matrix(x, name)
        if x.shape[1] != self.dim:
            raise ValueError(f"{name} must have shape (N, {self.dim}), got {tuple(x.shape)}")
        return x.to(device=self.device, dtype=next(self.parameters()).dtype)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data to noise: ``(z, log_det)`` with :math:`z = f(x)` (B, D) and the summed log-determinant (B,)."""
        log_det = torch.zeros(len(x), device=x.device, dtype=x.dtype)
        for layer in self.layers:
            x, step = layer(x)
            log_det = log_det + step
        return x, log_det

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise to data: ``(x, log_det)`` with :math:`x = f^{-1}(z)` and :math:`\\log|\\det\\partial x/\\partial z|`."""
        log_det = torch.zeros(len(z), device=z.device, dtype=z.dtype)
        for layer in reversed(self.layers):
            z, step = layer.inverse(z)
            log_det = log_det + step
        return z, log_det

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p(x) = \log\mathcal N(f(x);0,I) + \log|\det J_f(x)|` per sample (N,), natural log."""
        z, log_det = self(self._check(x))
        base = -0.5 * (z * z).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi)  # (N,)
        return base + log_det

    @torch.no_grad()
    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`-\\log p(x) / (D\\ln 2)` averaged: for continuous data a *differential* entropy
        rate, which can be negative, so compare it only between models of the same data."""
        return metrics.bits_per_dim(self.log_prob(x), self.dim)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, D): :math:`z\\sim\\mathcal N(0, I)`, then :math:`x = f^{-1}(z)`."""
        n = require_positive_int("n", n)
        gen = torch_generator(seed, "cpu")
        z = torch.randn(n, self.dim, generator=gen).to(device=self.device, dtype=next(self.parameters()).dtype)
        return self.inverse(z)[0]

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """The negative log-likelihood of a batch, in nats per sample (``fit_model``'s interface)."""
        nll = -self.log_prob(x).mean()
        return nll, {"nll": nll.item()}


def fit_flow(flow: RealNVP, x: torch.Tensor, steps: int | None = None, seconds: float | None = None,
             lr: float = 1e-3, batch_size: int = 256, seed: int = 0, progress: bool = True,
             state: FitState | None = None) -> FitState:
    """Maximum likelihood by Adam on minibatches of ``x`` (N, D), on :func:`gan_course.loop.fit_model`.

    Returns the ``FitState``; ``state.history["nll"]`` holds the batch NLL (nats per sample).
    """
    if not isinstance(flow, RealNVP):
        raise ValueError(f"flow must be a RealNVP, got {type(flow).__name__}")
    return fit_model(flow, flow._check(x), steps, seconds, lr=lr, batch_size=batch_size, seed=seed,
                     progress=progress, state=state, desc="RealNVP")


# --------------------------------------------------------------------------------------------
# Densities on a 2-D grid
# --------------------------------------------------------------------------------------------


def _check_bounds(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bounds) != 4 or not (bounds[0] < bounds[1] and bounds[2] < bounds[3]):
        raise ValueError(f"bounds must be (x_min, x_max, y_min, y_max) with min < max, got {tuple(bounds)}")
    return tuple(float(b) for b in bounds)  # type: ignore[return-value]


@torch.no_grad()
def density_on_grid(flow: RealNVP, bounds: Sequence[float] = (-2.0, 2.0, -2.0, 2.0),
                    resolution: int = 200, batch_size: int = 65536) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 2-D flow's density :math:`p(x)` at the centres of a ``resolution`` x ``resolution`` grid of cells.

    Returns ``(xs, ys, density)``: the (R,) cell centres along each axis and the (R, R) density,
    rows along y, so ``ax.imshow(density, origin="lower", extent=bounds)`` draws it.
    """
    x0, x1, y0, y1 = _check_bounds(bounds)
    resolution = require_int("resolution", resolution, 2)
    if flow.dim != 2:
        raise ValueError(f"density_on_grid needs a 2-D flow, got dim={flow.dim}")
    xs = x0 + (torch.arange(resolution, dtype=torch.float64) + 0.5) * (x1 - x0) / resolution  # (R,)
    ys = y0 + (torch.arange(resolution, dtype=torch.float64) + 0.5) * (y1 - y0) / resolution  # (R,)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (R, R) each; row i is y = ys[i]
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (R * R, 2)
    log_p = torch.cat([flow.log_prob(chunk).double().cpu() for chunk in points.split(batch_size)])
    return xs, ys, log_p.exp().reshape(resolution, resolution)  # (R, R)


def grid_integral(density: torch.Tensor, bounds: Sequence[float]) -> float:
    r"""The midpoint rule :math:`\sum_{cells} p(c)\,\Delta x\,\Delta y` over a density on :func:`density_on_grid`'s cells.

    Close to 1 when the grid is fine and the box holds (almost) all the mass.

    >>> round(grid_integral(torch.full((10, 10), 0.25), (0, 2, 0, 2)), 6)
    1.0
    """
    x0, x1, y0, y1 = _check_bounds(bounds)
    if density.ndim != 2:
        raise ValueError(f"density must be an (R_y, R_x) grid, got shape {tuple(density.shape)}")
    cell = (x1 - x0) / density.shape[1] * (y1 - y0) / density.shape[0]
    return float(density.double().sum()) * cell
