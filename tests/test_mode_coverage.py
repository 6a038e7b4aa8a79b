"""Mode coverage and the 2-D KL/JS on a grid, on constructed samples whose answer is known."""

import math

import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from gan_course import data, metrics

CENTERS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # (4, 2)
STD = 0.01


def around(center, n, radius, seed=0):
    """n points at distance exactly ``radius`` from ``center``, at random angles."""
    angle = 2 * math.pi * torch.rand(n, generator=torch.Generator().manual_seed(seed))
    return torch.tensor(center) + radius * torch.stack([angle.cos(), angle.sin()], dim=1)  # (n, 2)


def test_every_mode_evenly_hit_is_full_coverage_with_zero_kl():
    x = torch.cat([around(c, 25, 0.02, seed=i) for i, c in enumerate(CENTERS.tolist())])
    r = metrics.mode_coverage(x, CENTERS, STD)
    assert (r.modes_covered, r.modes_covered_strict, r.num_modes) == (4, 4, 4)
    assert r.high_quality == 1.0 and r.all_modes
    assert r.reverse_kl == pytest.approx(0.0, abs=1e-12)
    assert r.counts.tolist() == [25, 25, 25, 25]


def test_the_3_std_radius_is_the_quality_threshold():
    inside = around([0.0, 0.0], 10, 0.0299)
    outside = around([1.0, 0.0], 10, 0.0301)
    r = metrics.mode_coverage(torch.cat([inside, outside]), CENTERS, STD)
    assert r.high_quality == 0.5 and r.modes_covered == 1  # the outside points cover nothing


def test_total_collapse_gives_log_k():
    r = metrics.mode_coverage(around([1.0, 1.0], 100, 0.001), CENTERS, STD)
    assert r.modes_covered == 1 and r.reverse_kl == pytest.approx(math.log(4))
    assert not r.all_modes


def test_strict_count_needs_one_percent_of_all_samples():
    # 1000 samples: mode 0 gets 985, modes 1 and 2 get 10 (1 %) and 5 (0.5 %), mode 3 none
    x = torch.cat([around([0.0, 0.0], 985, 0.005), around([1.0, 0.0], 10, 0.005), around([0.0, 1.0], 5, 0.005)])
    r = metrics.mode_coverage(x, CENTERS, STD)
    assert r.modes_covered == 3 and r.modes_covered_strict == 2


def test_reverse_kl_matches_scipy_entropy_against_uniform():
    sizes = [50, 30, 15, 5]
    x = torch.cat([around(c, n, 0.01, seed=i) for i, (c, n) in enumerate(zip(CENTERS.tolist(), sizes))])
    x = torch.cat([x, torch.full((40, 2), 0.5)])  # far from every center: low quality, not in the histogram
    r = metrics.mode_coverage(x, CENTERS, STD)
    assert r.reverse_kl == pytest.approx(entropy(sizes, [0.25] * 4), rel=1e-9)
    assert r.high_quality == pytest.approx(100 / 140)


def test_no_high_quality_sample_gives_infinite_kl_and_nothing_covered():
    r = metrics.mode_coverage(torch.full((10, 2), 0.5), CENTERS, STD)
    assert r.modes_covered == 0 and r.high_quality == 0.0 and r.reverse_kl == math.inf


def test_real_toy_data_covers_all_modes():
    for name in ("ring8", "grid25"):
        centers, std = data.toy_modes(name)
        r = metrics.mode_coverage(data.toy(name, 2500, seed=0), centers, std)
        assert r.all_modes and r.modes_covered_strict == len(centers)
        assert r.high_quality > 0.98  # 98.9 % of a 2-D Gaussian lies within 3 std
        assert r.reverse_kl < 0.01


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(5, 3), r"samples must have shape \(N, 2\)"),
    (torch.zeros(5), r"samples must have shape"),
    (torch.tensor([[0.0, float("nan")]]), "samples contains NaN"),
    ([[0.0, 0.0]], "samples must be a torch.Tensor"),
])
def test_bad_samples_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        metrics.mode_coverage(bad, CENTERS, STD)


def test_bad_std_is_refused():
    with pytest.raises(ValueError, match="std must be a positive number, got -1"):
        metrics.mode_coverage(torch.zeros(3, 2), CENTERS, -1)


BOUNDS = (-1.5, 1.5, -1.5, 1.5)


def test_grid_density_is_a_distribution_with_its_mass_where_the_samples_are():
    p = metrics.grid_density_2d(torch.tensor([[0.75, -0.75]]), BOUNDS, bins=30, bandwidth=0.05)
    assert p.shape == (30, 30) and p.sum().item() == pytest.approx(1.0)
    i, j = divmod(int(p.argmax()), 30)
    assert (i, j) == (22, 7)  # x = 0.75 falls in cell 22 of 30; y = -0.75 in cell 7


def test_kl_js_2d_against_scipy_on_the_same_tables():
    x, y = data.toy("ring8", 800, seed=0), data.toy("grid25", 800, seed=1) / 4
    kl, js = metrics.kl_js_2d(x, y, BOUNDS, bins=40, bandwidth=0.1)
    p = metrics.grid_density_2d(x, BOUNDS, 40, 0.1) + 1e-10
    q = metrics.grid_density_2d(y, BOUNDS, 40, 0.1) + 1e-10
    p, q = (p / p.sum()).flatten().numpy(), (q / q.sum()).flatten().numpy()
    assert kl == pytest.approx(entropy(p, q), rel=1e-6)
    assert js == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-6)


def test_kl_js_2d_invariants():
    x = data.toy("ring8", 2000, seed=0)
    kl, js = metrics.kl_js_2d(x, x, BOUNDS)
    assert kl == pytest.approx(0.0, abs=1e-12) and js == pytest.approx(0.0, abs=1e-12)
    far = x + 100.0  # no mass anywhere on the grid
    with pytest.raises(ValueError, match="no sample lies near the grid"):
        metrics.kl_js_2d(x, far, BOUNDS)
    kl, js = metrics.kl_js_2d(x, 0.3 * x, BOUNDS)  # disjoint supports
    assert js == pytest.approx(math.log(2), rel=1e-3) and kl > 10


def test_grid_density_rejects_bad_bounds():
    with pytest.raises(ValueError, match="bounds must be"):
        metrics.grid_density_2d(torch.zeros(3, 2), (1, 0, 0, 1))


# ---- the recommended toy recipes: learning-rate decay and the measured run -------------------

from gan_course import recipes, runs  # noqa: E402

TINY = dict(width=8, depth=1, batch_size=16, num_data=200)


def test_lr_decay_lowers_the_learning_rates_linearly_then_restores_them():
    t = recipes.toy_trainer("ring8", seed=0, device="cpu", recipe=recipes.TOY_RECIPES["ring8"].replace(**TINY, lr_decay=0.5))
    base = t.opt_d.param_groups[0]["lr"]
    seen, step = [], t.step

    def spy():
        seen.append((t.opt_d.param_groups[0]["lr"], t.opt_g.param_groups[0]["lr"]))
        return step()

    t.step = spy
    t.fit(steps=10, progress=False)
    factors = [0.05 + 0.95 * min(1.0, (10 - n) / 5) for n in range(10)]
    assert [d for d, _ in seen] == pytest.approx([base * f for f in factors])
    assert [g for _, g in seen] == pytest.approx([t.config.lr_g * f for f in factors])
    assert t.opt_d.param_groups[0]["lr"] == base and t.global_step == 10
    with pytest.raises(ValueError, match=r"lr_decay must be a number in \[0, 1\], got 1.5"):
        recipes.TOY_RECIPES["ring8"].replace(lr_decay=1.5)
    with pytest.raises(ValueError, match="lr_decay=0.5 needs a step count"):
        t.fit(seconds=1.0, progress=False)


def test_toy_mode_run_measures_modes_and_refuses_non_mixtures():
    r = recipes.toy_mode_run("grid25", recipes.TOY_RECIPES["grid25"].replace(**TINY), seed=1, steps=3,
                           num_samples=500)
    assert r["num_modes"] == 25 and 0 <= r["modes_covered"] <= 25 and 0 <= r["high_quality"] <= 1
    assert r["seconds"] > 0 and "counts" not in r
    with pytest.raises(ValueError, match="name must be a 2-D mixture"):
        recipes.toy_mode_run("moons")


def test_recommended_recipes_use_the_fixes_that_were_measured():
    ring, grid = recipes.TOY_RECIPES["ring8"], recipes.TOY_RECIPES["grid25"]
    assert ring.net.pack == 2 and ring.trainer.lr_decay > 0 and grid.trainer.lr_decay > 0 and grid.trainer.r1_weight > 0
    t = recipes.toy_trainer("ring8", device="cpu", recipe=ring.replace(**TINY))
    assert t.discriminator.pack == 2
    t = recipes.toy_trainer("grid25", device="cpu", recipe=grid.replace(**TINY))
    assert t.config.r1_weight == grid.trainer.r1_weight


def test_toy_metrics_report_mode_coverage_for_the_2d_mixtures():
    centers, std = data.toy_modes("grid25")
    on_modes = torch.cat([centers.repeat(3, 1), torch.full((25, 2), 9.0)])  # 3 per mode, 25 far away
    m = runs.toy_metrics("grid25", on_modes)["mode_coverage"]
    assert (m["modes_covered"], m["num_modes"]) == (25, 25) and m["high_quality"] == pytest.approx(0.75)
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert runs.toy_metrics("grid25", torch.full((10, 2), 9.0))["mode_coverage"]["reverse_kl"] is None
    assert "mode_coverage" not in runs.toy_metrics("mix1d", torch.zeros(10, 1))
