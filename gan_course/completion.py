r"""Completing the lower half of a digit with a trained GAN generator, by searching its latent space.

Notebook 03 completed digits with a Bernoulli mixture, whose posterior :math:`p(x_m \mid x_o)`
it can write down. A GAN has no likelihood to condition, but its generator is a map from noise
to digits, so we can *search* for the noise whose digit agrees with what we see (Yeh et al.,
2017, "Semantic image inpainting with deep generative models"):

.. math:: z^\star = \arg\min_z \big\lVert m \odot (G(z) - x)\big\rVert^2 + \tfrac{\beta}{2}\lVert z\rVert^2,
    \qquad \hat x = m \odot x + (1 - m) \odot G(z^\star)

with :math:`m` the mask of observed pixels; the second term keeps :math:`z` where the Gaussian
prior puts it. Gradient descent from several random starts; the best start (smallest first
term) wins for each digit. The generator stays frozen.
"""

from __future__ import annotations

import torch
from torch import nn

from gan_course import nets
from gan_course.validate import float_data, require_int, require_nonnegative_number, require_positive_number


def upper_half_mask(x: torch.Tensor) -> torch.Tensor:
    """True on the upper 14 rows (observed), False on the lower 14: a bool tensor shaped like ``x``."""
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[..., : x.shape[-2] // 2, :] = True
    return mask


def complete_by_latent_search(generator: nn.Module, x: torch.Tensor, mask: torch.Tensor, steps: int = 200,
                              restarts: int = 8, lr: float = 0.05, prior_weight: float = 0.01,
                              seed: int = 0) -> torch.Tensor:
    """Fill the unobserved pixels (``mask`` False) of ``x`` (N, 1, 28, 28) in [0, 1] from the
    generator (``generator(z)`` in [-1, 1], ``generator.latent_dim``) at the best latent code found.

    Args:
        steps: Adam steps per start.
        restarts: random starts per digit; the one whose image matches the observed pixels best wins.
        lr: Adam's learning rate on z.
        prior_weight: beta, the weight of the Gaussian prior's penalty.
        seed: seeds the starts.

    Returns:
        (N, 1, 28, 28) in [0, 1]: ``x`` where observed, the generator's pixels elsewhere.
    """
    x = float_data(x)
    if x.ndim != 4 or mask.shape != x.shape or mask.dtype != torch.bool:
        raise ValueError(f"x must be (N, 1, 28, 28) and mask a bool tensor of the same shape, got "
                         f"{tuple(x.shape)} and {tuple(mask.shape)} {mask.dtype}")
    steps, restarts = require_int("steps", steps), require_int("restarts", restarts)
    lr, beta = require_positive_number("lr", lr), require_nonnegative_number("prior_weight", prior_weight)
    n, d = len(x), generator.latent_dim
    target = (x * 2 - 1).repeat(restarts, 1, 1, 1)  # (R * N, 1, 28, 28) in [-1, 1]
    m = mask.repeat(restarts, 1, 1, 1).float()  # (R * N, 1, 28, 28)
    z = torch.randn(restarts * n, d, generator=torch.Generator().manual_seed(seed)).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    requires = [p.requires_grad for p in generator.parameters()]
    generator.requires_grad_(False)
    try:
        with nets.eval_mode(generator):
            for _ in range(steps):
                error = (m * (generator(z) - target)).pow(2).flatten(1).sum(dim=1)  # (R * N,)
                loss = (error + beta / 2 * z.pow(2).sum(dim=1)).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            with torch.no_grad():
                x_gen = generator(z)  # (R * N, 1, 28, 28)
                error = (m * (x_gen - target)).pow(2).flatten(1).sum(dim=1).view(restarts, n)  # (R, N)
                best = error.argmin(dim=0)  # (N,)
                chosen = x_gen.view(restarts, n, *x.shape[1:])[best, torch.arange(n)]  # (N, 1, 28, 28)
    finally:
        for p, r in zip(generator.parameters(), requires):
            p.requires_grad_(r)
    return torch.where(mask, x, ((chosen + 1) / 2).clamp(0, 1))
