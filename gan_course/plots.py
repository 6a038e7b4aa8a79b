"""Static figures shared by the notebooks and the dashboards (the presentation layer).

Figures are made with Matplotlib's object API on an Agg canvas (no pyplot state), so the same
function draws into a notebook figure, a dashboard panel or a PNG file.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import matplotlib.image
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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


def image_grid_png(x: torch.Tensor, nrow: int = 10, scale: int = 2) -> bytes:
    """PNG bytes of ``image_grid(x, nrow)`` (values in [0, 1]), each pixel drawn ``scale`` times wide,
    ink dark on light as on paper."""
    require_positive_int("scale", scale)
    grid = image_grid(x, nrow).repeat(scale, axis=0).repeat(scale, axis=1)  # (H * s, W * s)
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, 1 - grid, cmap="gray", vmin=0, vmax=1, format="png")
    return buffer.getvalue()


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


def mode_bars(ax: Axes, coverage, title: str) -> None:
    """Bars of high-quality samples per mode (``divergences.ModeCoverage.counts``), missing modes in
    red, the even share dotted; an empty panel when ``coverage`` is None."""
    if coverage is None:
        ax.axis("off")
        return
    counts = coverage.counts.numpy()
    ax.bar(np.arange(len(counts)), counts, color=["#1f77b4" if c > 0 else "#d62728" for c in counts])
    ax.axhline(counts.sum() / len(counts), color="k", ls=":", lw=1)  # the even share
    ax.set_ylim(0, max(1.0, 1.1 * float(counts.max())))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("mode", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.tick_params(labelsize=7)


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


# --------------------------------------------------------------------------------------------
# --- Image GAN panels ---
# --------------------------------------------------------------------------------------------


def running_mean(values, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and trailing means of the finite entries of ``values`` over ``window`` of them.

    Returns ``(index (M,), mean (M,))``: NaNs (a player that did not move) are skipped, and the
    first ``window - 1`` finite points average over what there is so far.

    >>> running_mean([1.0, float("nan"), 3.0, 5.0], 2)[1].tolist()
    [1.0, 2.0, 4.0]
    """
    require_positive_int("window", window)
    v = np.asarray(values, dtype=float)
    index = np.flatnonzero(np.isfinite(v))  # (M,)
    kept = v[index]
    total = np.concatenate([[0.0], np.cumsum(kept)])  # (M + 1,)
    ends = np.arange(1, len(kept) + 1)
    starts = np.maximum(0, ends - window)
    return index, (total[ends] - total[starts]) / (ends - starts)


def _few_ticks(ax: Axes, logy: bool = False) -> None:
    """Small tick labels, and few ticks: a dashboard redraws every panel each frame, and ticks
    are most of Matplotlib's drawing time."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

    ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    if logy:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=4))  # the powers of ten only
        ax.yaxis.set_minor_locator(NullLocator())
    else:
        ax.yaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=7, pad=2)


def plot_noisy_curves(ax: Axes, steps, curves: dict[str, tuple[object, str]], title: str | None = None,
                      logy: bool = False, window: int | None = None) -> None:
    """Per-step curves ``{label: (values, colour)}`` against ``steps``: the raw values faint, their
    running mean (``window`` points; default about 1/40 of the run) bold, in the small fonts of a
    dashboard panel. Non-finite and (with ``logy``) non-positive values are skipped."""
    s = np.asarray(steps, dtype=float)
    window = window or max(1, len(s) // 40)
    for label, (values, color) in curves.items():
        v = np.asarray(values, dtype=float)
        if logy:
            v = np.where(v > 0, v, np.nan)
        keep = np.isfinite(v)
        if not keep.any():
            continue
        if window > 1:
            ax.plot(s[keep], v[keep], color=color, lw=0.6, alpha=0.3)
        index, mean = running_mean(v, window)
        ax.plot(s[index], mean, color=color, lw=1.4, label=label)
    _few_ticks(ax, logy)
    ax.set_xlabel("step", fontsize=8, labelpad=1)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best", framealpha=0.8, handlelength=1.2)
    if title:
        ax.set_title(title, fontsize=10, y=1.0)  # a fixed y: no costly layout pass


def plot_sample_grid(ax: Axes, x: torch.Tensor, nrow: int, title: str | None = None,
                     row_labels: list[str] | None = None) -> None:
    """A grid of digits (N, 1, 28, 28) in [0, 1], ``nrow`` per row, ink dark on white; with
    ``row_labels`` (one per row) each row is labelled on the left (a conditional model's digit)."""
    grid = image_grid(x, nrow)
    ax.imshow(1.0 - grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if row_labels is not None:
        rows = -(-len(x) // nrow)  # ceil
        if len(row_labels) != rows:
            raise ValueError(f"row_labels must have one label per row ({rows}), got {len(row_labels)}")
        h = x.shape[-2] + 2  # an image and its padding, as image_grid lays them out
        ax.set_yticks([2 + r * h + (h - 2) / 2 for r in range(rows)], labels=row_labels, fontsize=9)
        ax.tick_params(axis="y", length=0, pad=2)
    if title:
        ax.set_title(title, fontsize=10, y=1.0)  # a fixed y: no costly layout pass


def plot_output_histograms(ax: Axes, real: torch.Tensor, fake: torch.Tensor, probabilities: bool,
                           title: str | None = None, bins: int = 30) -> None:
    """Histograms of D's output on a real batch (N,) and a fake batch (M,).

    With ``probabilities`` the values are D(x) in [0, 1] (a line marks 1/2, where an optimal D
    sits at equilibrium); otherwise they are raw outputs (a critic's scores) on a shared range.
    """
    from matplotlib.ticker import MaxNLocator

    r = real.detach().float().cpu().numpy()
    f = fake.detach().float().cpu().numpy()
    if probabilities:
        edges = np.linspace(0, 1, bins + 1)
    else:
        both = np.concatenate([r, f])
        both = both[np.isfinite(both)]
        lo, hi = (float(both.min()), float(both.max())) if len(both) else (-1.0, 1.0)
        if hi - lo < 1e-6:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, bins + 1)
    what = "D" if probabilities else "critic"
    top = 1
    for values, color, name in ((r, GAN_COLORS["data"], "real"), (f, GAN_COLORS["fake"], "fake")):
        counts, _, _ = ax.hist(values[np.isfinite(values)], bins=edges, color=color, alpha=0.5,
                               histtype="stepfilled", label=f"{name}: mean {np.nanmean(values):.2f}")
        top = max(top, counts.max())  # one polygon per histogram: far cheaper to draw than bars
    ax.set_ylim(0, 1.45 * top)  # head room for the legend
    if probabilities:
        ax.axvline(0.5, color="0.4", lw=0.8, ls=":")
        ax.set_xlim(0, 1)
    ax.set_xlabel("D(x) = σ(logit)" if probabilities else f"{what} output (raw)", fontsize=8, labelpad=1)
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=7, pad=2)
    ax.legend(fontsize=7, loc="upper center", ncol=2, framealpha=0.8, handlelength=1.0, columnspacing=1.0)
    if title:
        ax.set_title(title, fontsize=10, y=1.0)  # a fixed y: no costly layout pass


def plot_quality(ax: Axes, steps, values: dict[str, list[float]], title: str | None = None,
                 error: str | None = None) -> None:
    """Sparse quality measurements ``{name: [value per step]}`` against ``steps``, as lines with
    markers; ``error`` (say, a failing quality function's message) is written across the panel."""
    for i, (name, v) in enumerate(values.items()):
        ax.plot(steps, v, marker="o", ms=3, lw=1.3, color=COMPONENT_COLORS[(i + 4) % 10], label=name)
    _few_ticks(ax)
    ax.set_xlabel("step", fontsize=8, labelpad=1)
    if values:
        ax.legend(fontsize=7, loc="lower right", framealpha=0.8, handlelength=1.2)
    if error:
        ax.text(0.5, 0.5, "quality_fn failed:\n" + (error if len(error) <= 60 else error[:57] + "..."),
                transform=ax.transAxes, ha="center", va="center", fontsize=8, color="#cf222e")
    if title:
        ax.set_title(title, fontsize=10, y=1.0)  # a fixed y: no costly layout pass
