"""metrics.wasserstein_1d and metrics.optimal_critic_1d (notebook 09) against scipy and closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import wasserstein_distance

from gan_course import metrics


# ---- the earth mover's distance in 1-D ------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wasserstein_1d_matches_scipy(seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(500, generator=gen)
    b = 2 * torch.rand(500, generator=gen) + 0.5 * seed
    assert metrics.wasserstein_1d(a, b) == pytest.approx(wasserstein_distance(a.numpy(), b.numpy()), rel=1e-9)


def test_wasserstein_1d_invariants():
    a = torch.randn(200, generator=torch.Generator().manual_seed(0))
    assert metrics.wasserstein_1d(a, a) == 0.0
    assert metrics.wasserstein_1d(a, a + 3.0) == pytest.approx(3.0)  # a shift moves every grain by 3
    b = a[torch.randperm(200)] ** 2
    assert metrics.wasserstein_1d(a, b) == pytest.approx(metrics.wasserstein_1d(b, a))  # symmetric
    assert metrics.wasserstein_1d([0.0], [-2.5]) == 2.5  # point masses: |theta|, lists work too


def test_wasserstein_1d_bad_input():
    with pytest.raises(ValueError, match="same size"):
        metrics.wasserstein_1d(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match=r"a must be a non-empty 1-D sample, got shape \(2, 2\)"):
        metrics.wasserstein_1d(torch.zeros(2, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="b contains NaN"):
        metrics.wasserstein_1d(torch.zeros(2), torch.tensor([0.0, math.nan]))


def test_optimal_critic_1d_attains_w1_and_is_1_lipschitz():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(300, generator=gen) + 1.0  # unequal sizes: compare with scipy
    b = 0.5 * torch.randn(200, generator=gen) - 1.0
    grid = torch.linspace(-6, 6, 24001, dtype=torch.float64)
    f = metrics.optimal_critic_1d(a, b, grid)
    slopes = f.diff() / grid.diff()
    assert slopes.abs().max() <= 1 + 1e-9
    at = lambda s: np.interp(s.numpy(), grid.numpy(), f.numpy())  # noqa: E731
    gap = at(a).mean() - at(b).mean()
    assert gap == pytest.approx(wasserstein_distance(a.numpy(), b.numpy()), abs=2e-3)


def test_optimal_critic_1d_bad_grid():
    with pytest.raises(ValueError, match="strictly increasing"):
        metrics.optimal_critic_1d(torch.zeros(2), torch.ones(2), torch.tensor([0.0, 2.0, 1.0]))
