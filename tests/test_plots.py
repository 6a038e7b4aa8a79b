"""Static plotting helpers."""

import numpy as np
import pytest
import torch

from gan_course import plots


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


def test_figure_to_png():
    fig = plots.new_figure((2, 2), dpi=30)
    plots.scatter_2d(fig.add_subplot(), torch.randn(10, 2), centers=torch.zeros(1, 2), title="t")
    assert plots.figure_to_png(fig).startswith(b"\x89PNG")

