"""1-D metrics of the GAN section: KDE, D*, KL/JS on a grid, against scipy and closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from gan_course import data, metrics


def normal_pdf(x, mu, sigma):
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


GRID = torch.linspace(-12, 12, 4801, dtype=torch.float64)


def test_kde_matches_scipy():
    samples = torch.randn(300, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 + 1
    grid = torch.linspace(-6, 8, 57, dtype=torch.float64)
    expected = stats.gaussian_kde(samples.numpy())(grid.numpy())
    np.testing.assert_allclose(metrics.kde_1d(samples[:, None], grid).numpy(), expected, rtol=1e-10)
    expected_h = stats.gaussian_kde(samples.numpy(), bw_method=0.3)(grid.numpy())
    h = 0.3 * samples.std().item()
    np.testing.assert_allclose(metrics.kde_1d(samples, grid, bandwidth=h).numpy(), expected_h, rtol=1e-10)


def test_optimal_discriminator_formula_and_zero_mass():
    d = metrics.optimal_discriminator(torch.tensor([3.0, 0.0, 1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert d.tolist() == [0.75, 0.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="same shape"):
        metrics.optimal_discriminator(torch.zeros(3), torch.zeros(4))


def test_kl_of_gaussians_closed_form():
    p, q = normal_pdf(GRID, 0.0, 1.0), normal_pdf(GRID, 1.0, 2.0)
    expected = math.log(2.0) + (1 + 1) / (2 * 4) - 0.5  # log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
    assert metrics.kl_divergence_grid(p, q, GRID).item() == pytest.approx(expected, rel=1e-6)


def test_js_against_scipy_quad_and_bounds():
    p, q = normal_pdf(GRID, 0.0, 1.0), normal_pdf(GRID, 2.0, 0.5)

    def integrand(x):
        a, b = stats.norm.pdf(x, 0, 1), stats.norm.pdf(x, 2, 0.5)
        m = 0.5 * (a + b)
        return 0.5 * (a * np.log(a / m) if a > 0 else 0) + 0.5 * (b * np.log(b / m) if b > 0 else 0)
    expected, _ = integrate.quad(integrand, -12, 12, limit=200)
    assert metrics.js_divergence_grid(p, q, GRID).item() == pytest.approx(expected, rel=1e-5)
    far = normal_pdf(GRID, 10.0, 0.3)
    assert metrics.js_divergence_grid(normal_pdf(GRID, -10.0, 0.3), far, GRID).item() == pytest.approx(math.log(2), rel=1e-6)
    assert metrics.js_divergence_grid(p, p, GRID).item() == pytest.approx(0.0, abs=1e-12)


def test_value_at_optimum_is_minus_log4_plus_2js():
    p, q = normal_pdf(GRID, 0.0, 1.0), normal_pdf(GRID, 1.5, 1.0)
    d = metrics.optimal_discriminator(p, q)
    value = torch.trapezoid(p * torch.log(d) + q * torch.log1p(-d), GRID)
    assert value.item() == pytest.approx(-math.log(4) + 2 * metrics.js_divergence_grid(p, q, GRID).item(), rel=1e-6)


def test_js_and_kl_to_samples():
    log_prob = lambda x: data.toy_log_prob("mix1d", x)  # noqa: E731
    grid = torch.linspace(-7, 7, 1401)
    good = data.toy("mix1d", 4000, seed=1)
    bad = torch.randn(4000, 1) * 0.5  # one mode out of three
    js_good, js_bad = metrics.js_to_samples(log_prob, good, grid), metrics.js_to_samples(log_prob, bad, grid)
    assert js_good < 0.03 < 0.2 < js_bad < math.log(2)  # Scott's rule over-smooths 3 modes a little
    assert metrics.js_to_samples(log_prob, good, grid, bandwidth=0.15) < 0.01
    assert metrics.kl_to_samples(log_prob, good, grid, 0.15) < 0.02 < 1.0 < metrics.kl_to_samples(log_prob, bad, grid)


def test_dstar_max_error_ignores_negligible_mass():
    grid = torch.linspace(-10, 10, 2001)
    p, q = normal_pdf(grid, -1.0, 1.0), normal_pdf(grid, 1.0, 1.0)
    d = metrics.optimal_discriminator(p, q).clone()
    assert metrics.dstar_max_error(d, p, q) == 0.0
    d[grid.abs() > 8] = 0.5  # far tails: no mass, not counted
    assert metrics.dstar_max_error(d, p, q) == 0.0
    d[1000] += 0.2  # x = 0, where the mass is
    assert metrics.dstar_max_error(d, p, q) == pytest.approx(0.2, abs=1e-6)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"samples must have shape \(N,\) or \(N, 1\)"):
        metrics.kde_1d(torch.zeros(5, 2), torch.zeros(3))
