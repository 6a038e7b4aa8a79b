r"""Latent-space tools for image generators: paths between two noise vectors, and a
measure of checkerboard artifacts in generated images (notebook 07).

Pure tensor functions (layer 1): no networks, no plotting.

- ``lerp(z0, z1, steps)``: the straight line :math:`(1 - t) z_0 + t z_1`;
- ``slerp(z0, z1, steps)``: the great-circle path, the better one for Gaussian :math:`z`;
- ``checkerboard_score(x)``: the share of an image's energy at the period-2 (Nyquist)
  frequencies, where the artifacts of stride-2 transposed convolutions live.
"""

from __future__ import annotations

import torch

from gan_course.validate import require_positive_int

_EPS = 1e-12  # below this an angle or an energy counts as zero


def _check_pair(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Validate the end points and return the interpolation times t (steps,)."""
    for name, z in (("z0", z0), ("z1", z1)):
        if not isinstance(z, torch.Tensor) or not z.is_floating_point() or z.ndim == 0:
            raise ValueError(f"{name} must be a floating-point tensor of shape (D,) or (..., D), got "
                             f"{type(z).__name__ if not isinstance(z, torch.Tensor) else (z.dtype, tuple(z.shape))}")
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    require_positive_int("steps", steps)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two end points), got {steps}")
    return torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)  # (S,)


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    r"""Linear interpolation: ``steps`` evenly spaced points on the segment from z0 to z1.

    .. math:: z(t) = (1 - t)\, z_0 + t\, z_1, \qquad t = 0, \tfrac{1}{S-1}, \dots, 1

    Args:
        z0: start point, shape (D,) or (..., D).
        z1: end point, same shape as z0.
        steps: S >= 2, number of points including both ends.

    Returns:
        Tensor of shape (S, *z0.shape); row 0 is z0, row S-1 is z1.

    >>> lerp(torch.tensor([0.0, 0.0]), torch.tensor([2.0, 4.0]), 3)
    tensor([[0., 0.],
            [1., 2.],
            [2., 4.]])
    """
    t = _check_pair(z0, z1, steps).view(-1, *([1] * z0.ndim))  # (S, 1, ..., 1)
    return (1 - t) * z0 + t * z1  # (S, ..., D)


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    r"""Spherical linear interpolation (Shoemake, 1985; for GANs White, 2016).

    .. math::
        \omega = \arccos\frac{\langle z_0, z_1\rangle}{\lVert z_0\rVert\,\lVert z_1\rVert}, \qquad
        z(t) = \frac{\sin((1 - t)\,\omega)}{\sin\omega}\, z_0 + \frac{\sin(t\,\omega)}{\sin\omega}\, z_1

    **Why it is the better path for Gaussian z.** For :math:`z \sim \mathcal N(0, I_D)` the norm
    concentrates: :math:`\lVert z\rVert \approx \sqrt D` (for D = 64 almost every sample has norm
    within about 1 of 8), so the generator was trained on a thin shell, never near the origin. Two
    independent samples are nearly orthogonal, and the midpoint of the straight line between
    them has norm :math:`\approx \sqrt{D/2}` (about 5.7 for D = 64): a point far inside the shell
    that the generator essentially never saw, so ``lerp`` paths pass through atypical, often
    washed-out images. ``slerp`` follows the great circle: when :math:`\lVert z_0\rVert =
    \lVert z_1\rVert` every point keeps that norm, so the whole path stays on the shell.

    The last dimension is the vector; leading dimensions are a batch of independent pairs.
    Where z0 and z1 point the same way (:math:`\sin\omega \approx 0`) it falls back to ``lerp``.

    Args:
        z0: start point, shape (D,) or (..., D).
        z1: end point, same shape as z0.
        steps: S >= 2, number of points including both ends.

    Returns:
        Tensor of shape (S, *z0.shape); row 0 is z0, row S-1 is z1.

    >>> z = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 3)
    >>> torch.allclose(z[1], torch.tensor([0.5 ** 0.5, 0.5 ** 0.5]))
    True
    >>> torch.linalg.vector_norm(z, dim=-1).round(decimals=6)  # stays on the unit circle
    tensor([1., 1., 1.])
    """
    t = _check_pair(z0, z1, steps).view(-1, *([1] * z0.ndim))  # (S, 1, ..., 1)
    cos = torch.nn.functional.cosine_similarity(z0, z1, dim=-1, eps=_EPS).clamp(-1, 1)  # (...)
    omega = torch.arccos(cos).unsqueeze(-1)  # (..., 1)
    sin = torch.sin(omega)  # (..., 1)
    parallel = sin.abs() < 1e-6  # (..., 1): the formula is 0/0 there
    safe = torch.where(parallel, torch.ones_like(sin), sin)  # (..., 1)
    w0 = torch.where(parallel, 1 - t, torch.sin((1 - t) * omega) / safe)  # (S, ..., 1)
    w1 = torch.where(parallel, t, torch.sin(t * omega) / safe)  # (S, ..., 1)
    return w0 * z0 + w1 * z1  # (S, ..., D)


def checkerboard_score(x_fake: torch.Tensor) -> torch.Tensor:
    r"""Share of the images' energy at the period-2 frequencies (checkerboard artifacts).

    With the 2-D DFT :math:`X[u, v] = \sum_{h, w} x[h, w]\, e^{-2\pi i (uh/H + vw/W)}` of an
    H x W image (H, W even), the three Nyquist frequencies are pure sign patterns,

    .. math::
        X[\tfrac H2, 0] = \sum_{h,w} (-1)^h x[h,w],\quad
        X[0, \tfrac W2] = \sum_{h,w} (-1)^w x[h,w],\quad
        X[\tfrac H2, \tfrac W2] = \sum_{h,w} (-1)^{h+w} x[h,w],

    the stripes and the checkerboard with period 2 pixels. By Parseval the energy away from
    the mean is :math:`\sum_{(u,v) \ne (0,0)} |X[u,v]|^2 = HW \sum_{h,w} (x[h,w] - \bar x)^2`, so

    .. math::
        \text{score}(x) = \frac{|X[\tfrac H2, 0]|^2 + |X[0, \tfrac W2]|^2 + |X[\tfrac H2, \tfrac W2]|^2}
                               {HW \sum_{h,w} (x[h,w] - \bar x)^2} \in [0, 1].

    A pixel-perfect checkerboard scores 1, a smooth image close to 0 (real MNIST digits score
    about 2e-4). A stride-2 transposed convolution computes even and odd output pixels with different
    kernel taps, so its output tends to carry exactly this period-2 pattern (Odena et al.,
    2016, "Deconvolution and checkerboard artifacts"). The score is per image and channel,
    averaged; a constant image counts as 0.

    Args:
        x_fake: images (N, C, H, W) with H and W even, any value range (the score is scale-free).

    Returns:
        A 0-d tensor: the mean score over images and channels.

    >>> sign = (-1.0) ** (torch.arange(4).view(4, 1) + torch.arange(6))  # (4, 6): a checkerboard
    >>> checkerboard_score(sign.view(1, 1, 4, 6))
    tensor(1.)
    >>> r = torch.arange(16.0) - 7.5
    >>> blob = torch.exp(-(r.view(16, 1) ** 2 + r ** 2) / 8).view(1, 1, 16, 16)  # smooth, dark border
    >>> float(checkerboard_score(blob)) < 1e-6
    True
    """
    if not isinstance(x_fake, torch.Tensor) or x_fake.ndim != 4 or not x_fake.is_floating_point():
        what = (x_fake.dtype, tuple(x_fake.shape)) if isinstance(x_fake, torch.Tensor) else type(x_fake).__name__
        raise ValueError(f"x_fake must be a floating-point tensor of shape (N, C, H, W), got {what}")
    h, w = x_fake.shape[-2:]
    if h % 2 or w % 2 or h == 0 or w == 0:
        raise ValueError(f"x_fake must have even, positive height and width, got {h} x {w}")
    x = x_fake.double()
    sign_h = (-1.0) ** torch.arange(h, dtype=x.dtype, device=x.device).view(h, 1)  # (H, 1)
    sign_w = (-1.0) ** torch.arange(w, dtype=x.dtype, device=x.device).view(1, w)  # (1, W)
    nyquist = sum((x * s).sum(dim=(-2, -1)) ** 2 for s in (sign_h, sign_w, sign_h * sign_w))  # (N, C)
    spread = h * w * ((x - x.mean(dim=(-2, -1), keepdim=True)) ** 2).sum(dim=(-2, -1))  # (N, C)
    score = torch.where(spread > _EPS * h * w, nyquist / spread.clamp_min(_EPS), torch.zeros_like(spread))  # (N, C)
    return score.mean().to(x_fake.dtype)
