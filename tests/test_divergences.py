"""gan_course.divergences against scipy and closed forms: the 1-D KDE, KL/JS on a grid, the optimal
discriminator, mode coverage of 2-D mixtures, KL/JS of 2-D samples, and W1 with its best critic."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, wasserstein_distance

from gan_course import data, divergences

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- 1-D: KDE, D*, KL and JS on a grid --------------------------------------------------------


def normal_pdf(x, mu, sigma):
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


GRID = torch.linspace(-12, 12, 4801, dtype=torch.float64)


def test_kde_1d_matches_scipy_gaussian_kde():
    samples = torch.randn(300, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 + 1
    grid = torch.linspace(-6, 8, 57, dtype=torch.float64)
    expected = stats.gaussian_kde(samples.numpy())(grid.numpy())
    np.testing.assert_allclose(divergences.kde_1d(samples[:, None], grid).numpy(), expected, rtol=1e-10)
    expected_h = stats.gaussian_kde(samples.numpy(), bw_method=0.3)(grid.numpy())
    h = 0.3 * samples.std().item()
    np.testing.assert_allclose(divergences.kde_1d(samples, grid, bandwidth=h).numpy(), expected_h, rtol=1e-10)


def test_log_kde_1d_matches_scipy_far_into_the_tails():
    samples = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    grid = torch.tensor([-40.0, -3.0, 0.0, 1.0, 30.0], dtype=torch.float64)  # exp underflows at +-30 and -40
    h = 0.5
    ref = stats.gaussian_kde(samples.numpy(), bw_method=h / samples.numpy().std(ddof=1))
    got = divergences.log_kde_1d(samples, grid, bandwidth=h)
    assert torch.isfinite(got).all()
    np.testing.assert_allclose(got.numpy(), ref.logpdf(grid.numpy()), rtol=1e-10)
    assert divergences.scott_bandwidth(samples) == pytest.approx(
        samples.numpy().std(ddof=1) * stats.gaussian_kde(samples.numpy()).factor, rel=1e-12)
    with pytest.raises(ValueError, match="bandwidth must be a positive number, got 0.0"):
        divergences.log_kde_1d(samples, grid, bandwidth=0.0)


def test_optimal_discriminator_formula_and_zero_mass():
    d = divergences.optimal_discriminator(torch.tensor([3.0, 0.0, 1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0, 0.0]))
    assert d.tolist() == [0.75, 0.0, 1.0, 0.5]
    with pytest.raises(ValueError, match="same shape"):
        divergences.optimal_discriminator(torch.zeros(3), torch.zeros(4))


def test_kl_of_gaussians_closed_form():
    p, q = normal_pdf(GRID, 0.0, 1.0), normal_pdf(GRID, 1.0, 2.0)
    expected = math.log(2.0) + (1 + 1) / (2 * 4) - 0.5  # log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
    assert divergences.kl_divergence_grid(p, q, GRID).item() == pytest.approx(expected, rel=1e-6)


def test_js_against_scipy_quad_and_bounds():
    p, q = normal_pdf(GRID, 0.0, 1.0), normal_pdf(GRID, 2.0, 0.5)

    def integrand(x):
        a, b = stats.norm.pdf(x, 0, 1), stats.norm.pdf(x, 2, 0.5)
        m = 0.5 * (a + b)
        return 0.5 * (a * np.log(a / m) if a > 0 else 0) + 0.5 * (b * np.log(b / m) if b > 0 else 0)
    expected, _ = integrate.quad(integrand, -12, 12, limit=200)
    assert divergences.js_divergence_grid(p, q, GRID).item() == pytest.approx(expected, rel=1e-5)
    far = normal_pdf(GRID, 10.0, 0.3)
    assert divergences.js_divergence_grid(normal_pdf(GRID, -10.0, 0.3), far, GRID).item() == pytest.approx(math.log(2), rel=1e-6)
    assert divergences.js_divergence_grid(p, p, GRID).item() == pytest.approx(0.0, abs=1e-12)


def test_value_at_optimum_is_minus_log4_plus_2js():
    p, q = normal_pdf(GRID, 0.0, 1.0), normal_pdf(GRID, 1.5, 1.0)
    d = divergences.optimal_discriminator(p, q)
    value = torch.trapezoid(p * torch.log(d) + q * torch.log1p(-d), GRID)
    assert value.item() == pytest.approx(-math.log(4) + 2 * divergences.js_divergence_grid(p, q, GRID).item(), rel=1e-6)


def test_js_and_kl_to_samples_tell_a_good_sample_from_a_one_mode_sample():
    log_prob = lambda x: data.toy_log_prob("mix1d", x)  # noqa: E731
    grid = torch.linspace(-7, 7, 1401)
    good = data.toy("mix1d", 4000, seed=1)
    bad = torch.randn(4000, 1) * 0.5  # one mode out of three
    js_good, js_bad = divergences.js_to_samples(log_prob, good, grid), divergences.js_to_samples(log_prob, bad, grid)
    assert js_good < 0.03 < 0.2 < js_bad < math.log(2)  # Scott's rule over-smooths 3 modes a little
    assert divergences.js_to_samples(log_prob, good, grid, bandwidth=0.15) < 0.01
    assert divergences.kl_to_samples(log_prob, good, grid, 0.15) < 0.02 < 1.0 < divergences.kl_to_samples(log_prob, bad, grid)


def test_dstar_max_error_ignores_negligible_mass():
    grid = torch.linspace(-10, 10, 2001)
    p, q = normal_pdf(grid, -1.0, 1.0), normal_pdf(grid, 1.0, 1.0)
    d = divergences.optimal_discriminator(p, q).clone()
    assert divergences.dstar_max_error(d, p, q) == 0.0
    d[grid.abs() > 8] = 0.5  # far tails: no mass, not counted
    assert divergences.dstar_max_error(d, p, q) == 0.0
    d[1000] += 0.2  # x = 0, where the mass is
    assert divergences.dstar_max_error(d, p, q) == pytest.approx(0.2, abs=1e-6)


def test_kde_1d_refuses_samples_with_two_columns():
    with pytest.raises(ValueError, match=r"samples must have shape \(N,\) or \(N, 1\)"):
        divergences.kde_1d(torch.zeros(5, 2), torch.zeros(3))


# ---- 2-D: mode coverage and KL/JS on a grid ----------------------------------------------------


CENTERS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # (4, 2)
STD = 0.01


def around(center, n, radius, seed=0):
    """n points at distance exactly ``radius`` from ``center``, at random angles."""
    angle = 2 * math.pi * torch.rand(n, generator=torch.Generator().manual_seed(seed))
    return torch.tensor(center) + radius * torch.stack([angle.cos(), angle.sin()], dim=1)  # (n, 2)


def test_every_mode_evenly_hit_is_full_coverage_with_zero_kl():
    x = torch.cat([around(c, 25, 0.02, seed=i) for i, c in enumerate(CENTERS.tolist())])
    r = divergences.mode_coverage(x, CENTERS, STD)
    assert (r.modes_covered, r.modes_covered_strict, r.num_modes) == (4, 4, 4)
    assert r.high_quality == 1.0 and r.all_modes
    assert r.reverse_kl == pytest.approx(0.0, abs=1e-12)
    assert r.counts.tolist() == [25, 25, 25, 25]


def test_the_3_std_radius_is_the_quality_threshold():
    inside = around([0.0, 0.0], 10, 0.0299)
    outside = around([1.0, 0.0], 10, 0.0301)
    r = divergences.mode_coverage(torch.cat([inside, outside]), CENTERS, STD)
    assert r.high_quality == 0.5 and r.modes_covered == 1  # the outside points cover nothing


def test_total_collapse_gives_log_k():
    r = divergences.mode_coverage(around([1.0, 1.0], 100, 0.001), CENTERS, STD)
    assert r.modes_covered == 1 and r.reverse_kl == pytest.approx(math.log(4))
    assert not r.all_modes


def test_strict_count_needs_one_percent_of_all_samples():
    # 1000 samples: mode 0 gets 985, modes 1 and 2 get 10 (1 %) and 5 (0.5 %), mode 3 none
    x = torch.cat([around([0.0, 0.0], 985, 0.005), around([1.0, 0.0], 10, 0.005), around([0.0, 1.0], 5, 0.005)])
    r = divergences.mode_coverage(x, CENTERS, STD)
    assert r.modes_covered == 3 and r.modes_covered_strict == 2


def test_reverse_kl_matches_scipy_entropy_against_uniform():
    sizes = [50, 30, 15, 5]
    x = torch.cat([around(c, n, 0.01, seed=i) for i, (c, n) in enumerate(zip(CENTERS.tolist(), sizes))])
    x = torch.cat([x, torch.full((40, 2), 0.5)])  # far from every center: low quality, not in the histogram
    r = divergences.mode_coverage(x, CENTERS, STD)
    assert r.reverse_kl == pytest.approx(entropy(sizes, [0.25] * 4), rel=1e-9)
    assert r.high_quality == pytest.approx(100 / 140)


def test_no_high_quality_sample_gives_infinite_kl_and_nothing_covered():
    r = divergences.mode_coverage(torch.full((10, 2), 0.5), CENTERS, STD)
    assert r.modes_covered == 0 and r.high_quality == 0.0 and r.reverse_kl == math.inf


def test_real_toy_data_covers_all_modes():
    for name in ("ring8", "grid25"):
        centers, std = data.toy_modes(name)
        r = divergences.mode_coverage(data.toy(name, 2500, seed=0), centers, std)
        assert r.all_modes and r.modes_covered_strict == len(centers)
        assert r.high_quality > 0.98  # 98.9 % of a 2-D Gaussian lies within 3 std
        assert r.reverse_kl < 0.01


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(5, 3), r"samples must have shape \(N, 2\)"),
    (torch.zeros(5), r"samples must have shape"),
    (torch.tensor([[0.0, float("nan")]]), "samples contains NaN"),
    ([[0.0, 0.0]], "samples must be a torch.Tensor"),
])
def test_mode_coverage_refuses_bad_samples(bad, match):
    with pytest.raises(ValueError, match=match):
        divergences.mode_coverage(bad, CENTERS, STD)


def test_mode_coverage_refuses_a_bad_std():
    with pytest.raises(ValueError, match="std must be a positive number, got -1"):
        divergences.mode_coverage(torch.zeros(3, 2), CENTERS, -1)


BOUNDS = (-1.5, 1.5, -1.5, 1.5)


def test_grid_density_is_a_distribution_with_its_mass_where_the_samples_are():
    p = divergences.grid_density_2d(torch.tensor([[0.75, -0.75]]), BOUNDS, bins=30, bandwidth=0.05)
    assert p.shape == (30, 30) and p.sum().item() == pytest.approx(1.0)
    i, j = divmod(int(p.argmax()), 30)
    assert (i, j) == (22, 7)  # x = 0.75 falls in cell 22 of 30; y = -0.75 in cell 7


def test_grid_density_2d_matches_a_kde_evaluated_cell_by_cell_with_scipy():
    samples = torch.tensor([[0.1, -0.2], [0.7, 0.4], [-0.9, 1.1]], dtype=torch.float64)
    bins, h = 12, 0.3
    centers_x = -1.5 + 3.0 / bins * (np.arange(bins) + 0.5)  # cell centres of [-1.5, 1.5]
    kernel = stats.multivariate_normal(cov=h**2 * np.eye(2))
    table = np.array([[sum(kernel.pdf([u - a, v - b]) for a, b in samples.numpy()) for v in centers_x]
                      for u in centers_x])  # row i: x-cell i, column j: y-cell j
    got = divergences.grid_density_2d(samples, BOUNDS, bins=bins, bandwidth=h)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), table / table.sum(), rtol=1e-10)


def test_kl_js_2d_against_scipy_on_the_same_tables():
    x, y = data.toy("ring8", 800, seed=0), data.toy("grid25", 800, seed=1) / 4
    kl, js = divergences.kl_js_2d(x, y, BOUNDS, bins=40, bandwidth=0.1)
    p = divergences.grid_density_2d(x, BOUNDS, 40, 0.1) + 1e-10
    q = divergences.grid_density_2d(y, BOUNDS, 40, 0.1) + 1e-10
    p, q = (p / p.sum()).flatten().numpy(), (q / q.sum()).flatten().numpy()
    assert kl == pytest.approx(entropy(p, q), rel=1e-6)
    assert js == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-6)


def test_kl_js_2d_invariants():
    x = data.toy("ring8", 2000, seed=0)
    kl, js = divergences.kl_js_2d(x, x, BOUNDS)
    assert kl == pytest.approx(0.0, abs=1e-12) and js == pytest.approx(0.0, abs=1e-12)
    far = x + 100.0  # no mass anywhere on the grid
    with pytest.raises(ValueError, match="no sample lies near the grid"):
        divergences.kl_js_2d(x, far, BOUNDS)
    kl, js = divergences.kl_js_2d(x, 0.3 * x, BOUNDS)  # disjoint supports
    assert js == pytest.approx(math.log(2), rel=1e-3) and kl > 10


def test_grid_density_rejects_bad_bounds():
    with pytest.raises(ValueError, match="bounds must be"):
        divergences.grid_density_2d(torch.zeros(3, 2), (1, 0, 0, 1))


# ---- the earth mover's distance in 1-D ------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wasserstein_1d_matches_scipy(seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(500, generator=gen)
    b = 2 * torch.rand(500, generator=gen) + 0.5 * seed
    assert divergences.wasserstein_1d(a, b) == pytest.approx(wasserstein_distance(a.numpy(), b.numpy()), rel=1e-9)


def test_wasserstein_1d_invariants():
    a = torch.randn(200, generator=torch.Generator().manual_seed(0))
    assert divergences.wasserstein_1d(a, a) == 0.0
    assert divergences.wasserstein_1d(a, a + 3.0) == pytest.approx(3.0)  # a shift moves every grain by 3
    b = a[torch.randperm(200)] ** 2
    assert divergences.wasserstein_1d(a, b) == pytest.approx(divergences.wasserstein_1d(b, a))  # symmetric
    assert divergences.wasserstein_1d([0.0], [-2.5]) == 2.5  # point masses: |theta|, lists work too


def test_wasserstein_1d_bad_input():
    with pytest.raises(ValueError, match="same size"):
        divergences.wasserstein_1d(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match=r"a must be a non-empty 1-D sample, got shape \(2, 2\)"):
        divergences.wasserstein_1d(torch.zeros(2, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="b contains NaN"):
        divergences.wasserstein_1d(torch.zeros(2), torch.tensor([0.0, math.nan]))


def test_optimal_critic_1d_attains_w1_and_is_1_lipschitz():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(300, generator=gen) + 1.0  # unequal sizes: compare with scipy
    b = 0.5 * torch.randn(200, generator=gen) - 1.0
    grid = torch.linspace(-6, 6, 24001, dtype=torch.float64)
    f = divergences.optimal_critic_1d(a, b, grid)
    slopes = f.diff() / grid.diff()
    assert slopes.abs().max() <= 1 + 1e-9
    at = lambda s: np.interp(s.numpy(), grid.numpy(), f.numpy())  # noqa: E731
    gap = at(a).mean() - at(b).mean()
    assert gap == pytest.approx(wasserstein_distance(a.numpy(), b.numpy()), abs=2e-3)


def test_optimal_critic_1d_bad_grid():
    with pytest.raises(ValueError, match="strictly increasing"):
        divergences.optimal_critic_1d(torch.zeros(2), torch.ones(2), torch.tensor([0.0, 2.0, 1.0]))
