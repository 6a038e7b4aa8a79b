"""Static figures shared by the notebooks and the dashboards (the presentation layer).

Figures are made with Matplotlib's object API on an Agg canvas (no pyplot state), so the same
function draws into a notebook figure, a dashboard panel or a PNG file.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(figsize: tuple[float, float] = (6, 4), dpi: int = 80) -> Figure:
    """A figure on its own Agg canvas, independent of pyplot and of the notebook backend."""
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig: Figure) -> bytes:
    """The figure rendered to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def image_grid(x: torch.Tensor, nrow: int = 10, pad: int = 2, pad_value: float = 0.15) -> np.ndarray:
    """Tile images (N, 1, H, W) or (N, H, W), values in [0, 1], into one (rows*H', nrow*W') array.

    ``pad_value`` fills the gaps between images (0 is background, 1 full ink).
    """
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"x must have one channel, got shape {tuple(x.shape)}")
        x = x[:, 0]
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(f"x must have shape (N, H, W) or (N, 1, H, W) with N > 0, got {tuple(x.shape)}")
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow <= 0:
        raise ValueError(f"nrow must be a positive int, got {nrow!r}")
    images = x.detach().float().cpu().clamp(0, 1).numpy()
    n, h, w = images.shape
    rows = -(-n // nrow)  # ceil
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad), pad_value, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = image
    return grid


def show_images(ax: Axes, x: torch.Tensor, nrow: int = 10, title: str | None = None) -> None:
    """Draw a grid of digits on ``ax``: white background, black ink, no ticks."""
    ax.imshow(1.0 - image_grid(x, nrow), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def scatter_2d(ax: Axes, x: torch.Tensor, centers: torch.Tensor | None = None, title: str | None = None,
               **kwargs) -> None:
    """Scatter 2-D samples (n, 2), with mixture centers marked when given."""
    points = x.detach().cpu().numpy()
    ax.scatter(points[:, 0], points[:, 1], s=kwargs.pop("s", 3), alpha=kwargs.pop("alpha", 0.5), **kwargs)
    if centers is not None:
        c = centers.cpu().numpy()
        ax.scatter(c[:, 0], c[:, 1], marker="x", color="crimson", s=40, label="mode centers")
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
