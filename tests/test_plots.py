"""gan_course.plots: the static plotting helpers draw what they are given."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from gan_course import plots
from gan_course.mixtures import GaussianMixture

pytestmark = pytest.mark.usefixtures("one_thread")


def _blobs(n=600, d=3, k=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    centers = 4.0 * torch.randn(k, d, generator=gen, dtype=dtype)
    labels = torch.randint(k, (n,), generator=gen)
    scale = torch.randn(k, d, d, generator=gen, dtype=dtype) * 0.5 + torch.eye(d, dtype=dtype)
    z = torch.randn(n, d, generator=gen, dtype=dtype)
    return centers[labels] + torch.einsum("nde,ne->nd", scale[labels], z)  # (n, d)


def test_image_grid_layout_and_values():
    x = torch.rand(7, 1, 4, 5)
    grid = plots.image_grid(x, nrow=3, pad=1, pad_value=0.25)
    assert grid.shape == (3 * 5 + 1, 3 * 6 + 1)  # 3 rows of (4+1), 3 columns of (5+1), plus the outer pad
    assert np.allclose(grid[1:5, 1:6], x[0, 0].numpy())
    assert np.allclose(grid[6:10, 7:12], x[4, 0].numpy())  # row 1, column 1
    assert np.all(grid[11:15, 7:12] == 0.25)  # the two missing tiles are padding


def test_image_grid_bad_input():
    with pytest.raises(ValueError, match="one channel"):
        plots.image_grid(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="nrow must be a positive int, got 0"):
        plots.image_grid(torch.rand(2, 4, 4), nrow=0)


def test_figure_to_png_gives_the_png_of_a_scatter_with_its_centers():
    fig = plots.new_figure((2, 2), dpi=30)
    ax = fig.add_subplot()
    points = torch.randn(10, 2)
    plots.scatter_2d(ax, points, centers=torch.zeros(1, 2), title="t")
    png = plots.figure_to_png(fig)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as im:
        assert im.size == (60, 60)  # 2 x 2 inches at 30 dpi
    assert [len(c.get_offsets()) for c in ax.collections] == [10, 1]  # the samples, then the centers
    np.testing.assert_allclose(ax.collections[0].get_offsets(), points.numpy())
    assert ax.get_title() == "t"


def test_density_plot_helpers_draw_ellipses_colours_and_bars():
    x = _blobs(n=200, d=2, k=2, seed=9)
    gm = GaussianMixture(2, "diag", seed=0).fit(x)
    fig = plots.new_figure()
    ax1, ax2 = fig.subplots(1, 2)
    plots.plot_gmm_2d(ax1, x, gm, gm.predict_proba(x), title="fit")
    assert len(ax1.patches) == 2 * 2  # a 1- and a 2-sigma ellipse per component
    colors = plots.responsibility_colors(torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
    assert colors.shape == (2, 3) and (colors >= 0).all() and (colors <= 1).all()
    plots.scoreboard_bars(ax2, {"a": 0.4, "b": 0.3})
    assert len(ax2.patches) == 2


def test_plot_latent_2d_draws_one_scatter_per_digit_and_checks_its_codes():
    fig = plots.new_figure()
    ax = fig.add_subplot()
    plots.plot_latent_2d(ax, torch.randn(50, 2), torch.arange(50) % 10, title="codes")
    assert len(ax.collections) == 10 and plots.figure_to_png(fig)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plots.plot_latent_2d(ax, torch.randn(5, 3), torch.zeros(5))
