"""Latent search completes digits a generator can draw; observed pixels are kept; bad input."""

import pytest
import torch
from torch import nn

from gan_course import completion


class LinearGenerator(nn.Module):
    """G(z) = tanh(W z): a toy generator whose range we know."""

    def __init__(self) -> None:
        super().__init__()
        self.latent_dim = 4
        self.w = nn.Parameter(torch.randn(28 * 28, 4, generator=torch.Generator().manual_seed(3)))

    def forward(self, z):
        return torch.tanh(z @ self.w.T).view(-1, 1, 28, 28)


def test_upper_half_mask():
    mask = completion.upper_half_mask(torch.zeros(2, 1, 28, 28))
    assert mask.dtype == torch.bool and mask[..., :14, :].all() and not mask[..., 14:, :].any()


def test_latent_search_recovers_a_digit_the_generator_can_draw():
    g = LinearGenerator()
    with torch.no_grad():
        z_true = torch.randn(3, 4, generator=torch.Generator().manual_seed(5)) * 0.3
        x = (g(z_true) + 1) / 2  # (3, 1, 28, 28) in [0, 1]
    mask = completion.upper_half_mask(x)
    noisy = torch.where(mask, x, torch.rand_like(x))  # the unobserved half is ignored
    filled = completion.complete_by_latent_search(g, noisy, mask, steps=300, restarts=2, lr=0.05, prior_weight=0.0)
    assert torch.equal(filled[mask], noisy[mask])  # observed pixels kept exactly
    assert (filled - x)[~mask].abs().max() < 0.02  # the lower half found
    assert g.w.requires_grad  # the generator's flags are given back


def test_latent_search_bad_input():
    g = LinearGenerator()
    x = torch.zeros(2, 1, 28, 28)
    with pytest.raises(ValueError, match="mask a bool tensor"):
        completion.complete_by_latent_search(g, x, torch.ones(2, 1, 28, 28))
    with pytest.raises(ValueError, match="steps must be a positive int"):
        completion.complete_by_latent_search(g, x, completion.upper_half_mask(x), steps=0)
