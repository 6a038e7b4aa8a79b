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

from gan_course.validate import require_positive_int


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
    require_positive_int("nrow", nrow)
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


# --------------------------------------------------------------------------------------------
# --- density track ---
# --------------------------------------------------------------------------------------------

COMPONENT_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                    "#7f7f7f", "#bcbd22", "#17becf")


def component_colors(k: int) -> np.ndarray:
    """RGB colours (k, 3) for mixture components, cycling through ten distinct ones."""
    from matplotlib.colors import to_rgb

    return np.array([to_rgb(COMPONENT_COLORS[i % len(COMPONENT_COLORS)]) for i in range(k)])


def responsibility_colors(resp: torch.Tensor) -> np.ndarray:
    """Each point's colour as the responsibility-weighted mix of its components' colours (N, 3)."""
    r = resp.detach().float().cpu().numpy()
    return np.clip(r @ component_colors(r.shape[1]), 0, 1)  # (N, K) @ (K, 3)


def gaussian_ellipse(ax: Axes, mean: torch.Tensor, cov: torch.Tensor, color: str = "k",
                     n_std: tuple[float, ...] = (1.0, 2.0), **kwargs) -> None:
    """Draw the 1- and 2-sigma contours of a 2-D Gaussian (``cov`` (2, 2), or (2,) for diagonal)."""
    from matplotlib.patches import Ellipse

    cov = cov.detach().double().cpu()
    if cov.ndim == 1:
        cov = torch.diag(cov)
    values, vectors = torch.linalg.eigh(cov)  # ascending
    angle = float(np.degrees(np.arctan2(float(vectors[1, 1]), float(vectors[0, 1]))))
    mean = mean.detach().cpu().numpy()
    for s in n_std:
        width, height = 2 * s * values.clamp_min(0).sqrt().flip(0).numpy()
        ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=color,
                             lw=kwargs.get("lw", 2.0 if s == n_std[0] else 1.0),
                             ls="-" if s == n_std[0] else "--", alpha=kwargs.get("alpha", 0.9)))
    ax.plot(*mean, marker="+", color=color, ms=12, mew=2)


def plot_gmm_2d(ax: Axes, x: torch.Tensor, model, resp: torch.Tensor | None = None,
                title: str | None = None) -> None:
    """Data coloured by responsibilities, with each component's ellipses (a fitted 2-D ``GaussianMixture``)."""
    points = x.detach().cpu().numpy()
    colors = responsibility_colors(resp) if resp is not None else "0.5"
    ax.scatter(points[:, 0], points[:, 1], c=colors, s=6, alpha=0.6, linewidths=0)
    for k in range(model.num_components):
        gaussian_ellipse(ax, model.means[k], model.covariances[k], COMPONENT_COLORS[k % 10])
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)


def scoreboard_bars(ax: Axes, scores: dict[str, float], title: str = "held-out bits/dim (lower is better)") -> None:
    """Horizontal bars of a scoreboard ``{name: bits/dim}``, best at the bottom, values printed."""
    names = list(scores)[::-1]
    values = [scores[n] for n in names]
    bars = ax.barh(names, values, color=[COMPONENT_COLORS[i % 10] for i in range(len(names))][::-1])
    for bar, v in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.3f}", va="center")
    ax.set_xlim(0, max(values) * 1.2)
    ax.set_xlabel("bits per pixel")
    ax.set_title(title)


# --------------------------------------------------------------------------------------------
# --- GAN 1-D ---
# --------------------------------------------------------------------------------------------

GAN_COLORS = {"data": "#1f77b4", "fake": "#d62728", "d": "#2ca02c", "d_star": "k", "g_loss": "#d62728",
              "d_loss": "#2ca02c", "js": "#9467bd"}


def plot_densities_and_discriminator(ax: Axes, grid: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor,
                                     d: torch.Tensor | None = None, d_star: torch.Tensor | None = None,
                                     title: str | None = None, legend: bool = True,
                                     p_g_label: str = "$p_g$ (KDE)") -> Axes:
    """p_data (filled), p_g (line) on ``ax``; D(x) and D*(x) on a twin axis in [0, 1].

    Returns the twin axis that holds D (for more curves).
    """
    g = grid.detach().cpu().numpy()
    ax.fill_between(g, p_data.detach().cpu().numpy(), color=GAN_COLORS["data"], alpha=0.3, label="$p_{data}$")
    ax.plot(g, p_g.detach().cpu().numpy(), color=GAN_COLORS["fake"], lw=2, label=p_g_label)
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_xlim(g[0], g[-1])
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    twin.set_ylim(-0.02, 1.02)
    twin.axhline(0.5, color="0.7", lw=0.8, ls=":")
    if d is not None:
        twin.plot(g, d.detach().cpu().numpy(), color=GAN_COLORS["d"], lw=2, label="D(x)")
    if d_star is not None:
        twin.plot(g, d_star.detach().cpu().numpy(), color=GAN_COLORS["d_star"], lw=1.5, ls="--", label="D*(x)")
    twin.set_ylabel("D(x)")
    if legend:
        lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(lines, [line.get_label() for line in lines], loc="upper left", fontsize=8, framealpha=0.8)
    if title:
        ax.set_title(title)
    return twin


def plot_generator_map(ax: Axes, z: torch.Tensor, x: torch.Tensor, modes: torch.Tensor | None = None,
                       title: str = "generator map z → x") -> None:
    """The generator as a function: x = G(z) against z (1-D latent), data modes as dotted lines."""
    ax.plot(z.detach().cpu().numpy(), x.detach().cpu().numpy(), color=GAN_COLORS["fake"], lw=2)
    if modes is not None:
        for m in modes.flatten().tolist():
            ax.axhline(m, color=GAN_COLORS["data"], ls=":", lw=1)
    ax.set_xlabel("z")
    ax.set_ylabel("x = G(z)")
    ax.set_title(title)


def plot_curves(ax: Axes, curves: dict[str, tuple], title: str | None = None, xlabel: str = "step",
                logy: bool = False, compact: bool = False) -> None:
    """Line plot of named curves ``{label: (steps, values)}`` (NaNs are skipped).

    ``compact`` uses small fonts and few ticks, for the small panels of a dashboard.
    """
    for i, (label, (steps, values)) in enumerate(curves.items()):
        s, v = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
        keep = np.isfinite(v)
        ax.plot(s[keep], v[keep], label=label, color=GAN_COLORS.get(label, COMPONENT_COLORS[i % 10]),
                lw=1.3 if compact else 1.5)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel, fontsize=8 if compact else None)
    if compact:
        ax.tick_params(labelsize=7)
        ax.locator_params(nbins=4)
    if curves:
        ax.legend(fontsize=7 if compact else 8, loc="upper left" if compact else "best")
    if title:
        ax.set_title(title, fontsize=10 if compact else None)


def plot_vector_field(ax: Axes, theta: torch.Tensor, psi: torch.Tensor, d_theta: torch.Tensor,
                      d_psi: torch.Tensor, paths: dict[str, torch.Tensor] | None = None,
                      title: str | None = None) -> None:
    """A 2-D vector field (the Dirac-GAN's gradient play) with trajectories ``{label: (T, 2)}``."""
    ax.quiver(theta.numpy(), psi.numpy(), d_theta.numpy(), d_psi.numpy(), color="0.6", angles="xy")
    for i, (label, path) in enumerate((paths or {}).items()):
        p = path.detach().cpu().numpy()
        ax.plot(p[:, 0], p[:, 1], color=COMPONENT_COLORS[i % 10], lw=1.5, label=label)
        ax.plot(p[0, 0], p[0, 1], "o", color=COMPONENT_COLORS[i % 10], ms=4)
    ax.plot(0, 0, "k*", ms=10)
    ax.set_xlabel("θ (generator)")
    ax.set_ylabel("ψ (discriminator)")
    ax.set_aspect("equal")
    if paths:
        ax.legend(fontsize=8, loc="upper right")
    if title:
        ax.set_title(title)


# --------------------------------------------------------------------------------------------
# --- VAE ---
# --------------------------------------------------------------------------------------------


def plot_latent_2d(ax: Axes, z: torch.Tensor, y: torch.Tensor, title: str | None = None) -> None:
    """Scatter 2-D codes (N, 2), one colour per digit label (N,), with a legend."""
    if z.ndim != 2 or z.shape[1] != 2 or len(z) != len(y):
        raise ValueError(f"z must have shape (N, 2) and y shape (N,), got {tuple(z.shape)} and {tuple(y.shape)}")
    from matplotlib import colormaps  # the 10 digit colours

    points, labels = z.detach().float().cpu().numpy(), y.detach().cpu().numpy()
    colors = colormaps["tab10"]
    for digit in np.unique(labels):
        mine = labels == digit
        ax.scatter(points[mine, 0], points[mine, 1], s=4, alpha=0.6, color=colors(int(digit) % 10),
                   label=str(digit))
    ax.legend(markerscale=4, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), title="digit")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
