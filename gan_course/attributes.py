r"""What a digit looks like, measured from its pixels: ink, stroke thickness, slant, sharpness.

Notebook 10 asks generators for a *bold* or a *thin* digit, *slanted* left or right, and checks
what they drew with these measures; the adversarial autoencoder dials the ink; super-resolution
is judged by how sharp its edges are. Each measure is a pure function of images (B, 1, H, W) in
[0, 1] (0 = background) and returns one number per image (B,):

- ``ink``: the share of pixels above 1/2;
- ``thickness``: the width of the rectangle with the same area and perimeter as the strokes,
  :math:`w = \tfrac12\big(\tfrac P2 - \sqrt{(\tfrac P2)^2 - 4A}\big)` with the area
  :math:`A = \sum_j x_j` and the perimeter :math:`P = \sum_j \lVert\nabla x_j\rVert` (for grey
  images, by the coarea formula, the mean perimeter of the level sets);
- ``slant``: the horizontal shear of the ink, :math:`\operatorname{cov}(c, -r) / \operatorname{var}(r)`
  over the ink's column c and row r: positive when the top leans right, the shear that
  deskewing undoes;
- ``sharpness``: the steepness of the edges, :math:`\sum_j \lVert\nabla x_j\rVert^2 / \sum_j
  \lVert\nabla x_j\rVert` (intensity change per pixel at the edges: about 1 for a hard-edged
  shape, lower when edges are blurred over several pixels, whatever the amount of ink).

``attribute_words`` turns thickness and slant into words, with thresholds chosen from the data
(their terciles), for the captions of the text-to-digit model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan_course.validate import float_data

_EPS = 1e-8


def _images(x: object, name: str = "x") -> torch.Tensor:
    """(B, 1, H, W) or (B, H, W) finite images in [0, 1] as float (B, H, W)."""
    x = float_data(x, name)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]  # (B, H, W)
    if x.ndim != 3 or x.shape[1] < 2 or x.shape[2] < 2:
        raise ValueError(f"{name} must have shape (B, 1, H, W) or (B, H, W) with H, W >= 2, got {tuple(x.shape)}")
    if len(x) and (float(x.min()) < -1e-3 or float(x.max()) > 1 + 1e-3):
        raise ValueError(f"{name} must hold images in [0, 1] (0 = background), got values in "
                         f"[{float(x.min()):.3g}, {float(x.max()):.3g}]; map generator output with (x + 1) / 2")
    return x.clamp(0, 1)


def _gradient_norm(x: torch.Tensor) -> torch.Tensor:
    """Forward-difference gradient magnitude of (B, H, W) images, zero outside: (B, H + 1, W + 1)."""
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))  # (B, H + 2, W + 2): background around
    gx = padded[:, 1:, 1:] - padded[:, 1:, :-1]  # (B, H + 1, W + 1)
    gy = padded[:, 1:, 1:] - padded[:, :-1, 1:]  # (B, H + 1, W + 1)
    return torch.sqrt(gx ** 2 + gy ** 2)


def ink(x: torch.Tensor) -> torch.Tensor:
    r"""The share of pixels that are ink, :math:`\frac1D \sum_j [x_j > \tfrac12]`: (B,).

    >>> ink(torch.tensor([[[0.0, 1.0], [0.9, 0.2]]]))
    tensor([0.5000])
    """
    x = _images(x)
    return (x > 0.5).float().flatten(1).mean(dim=1)


def thickness(x: torch.Tensor) -> torch.Tensor:
    r"""Stroke width in pixels: the width of the rectangle with the strokes' area and perimeter.

    .. math:: w = \tfrac12\Big(\tfrac P2 - \sqrt{\max\big(0, (\tfrac P2)^2 - 4A\big)}\Big),
        \qquad A = \sum_j x_j,\quad P = \sum_j \lVert\nabla x_j\rVert

    For a hard-edged bar of any length it gives the bar's width, within 3 % (the four corners
    add a little to the perimeter); a stroke that bends keeps its width. Diagonal strokes read
    about 15-20 % thinner than upright ones of the same width (a diagonal edge is longer on the
    pixel grid), a bias shared by all digits alike. An empty image gets 0.

    >>> bar = torch.zeros(1, 1, 28, 28); bar[..., 4:20, 10:13] = 1.0  # 16 x 3 pixels
    >>> round(thickness(bar).item(), 2)
    3.07
    """
    x = _images(x)
    area = x.flatten(1).sum(dim=1)  # (B,)
    half_perimeter = _gradient_norm(x).flatten(1).sum(dim=1) / 2  # (B,)
    root = (half_perimeter ** 2 - 4 * area).clamp_min(0).sqrt()
    return (half_perimeter - root) / 2


def slant(x: torch.Tensor) -> torch.Tensor:
    r"""Horizontal shear of the ink, in pixels of sideways shift per pixel of height: (B,).

    .. math:: s = \frac{\sum_j x_j (c_j - \bar c)(\bar r - r_j)}{\sum_j x_j (r_j - \bar r)^2}

    with :math:`(r_j, c_j)` the row (downwards) and column of pixel j and the means weighted by the
    ink. Positive when the top of the digit leans right (``/``), negative for ``\``, 0 upright.
    An image without ink gets 0.

    >>> bar = torch.zeros(1, 1, 28, 28)
    >>> for r in range(4, 24): bar[0, 0, r, 14 + (14 - r) // 4] = 1.0  # one column right per 4 rows up
    >>> round(slant(bar).item(), 2)
    0.25
    """
    x = _images(x)
    b, h, w = x.shape
    rows = torch.arange(h, dtype=x.dtype).view(1, h, 1)  # (1, H, 1)
    cols = torch.arange(w, dtype=x.dtype).view(1, 1, w)  # (1, 1, W)
    mass = x.sum(dim=(1, 2)).clamp_min(_EPS)  # (B,)
    r_mean = (x * rows).sum(dim=(1, 2)) / mass  # (B,)
    c_mean = (x * cols).sum(dim=(1, 2)) / mass  # (B,)
    dr = rows - r_mean.view(b, 1, 1)  # (B, H, 1)
    dc = cols - c_mean.view(b, 1, 1)  # (B, 1, W)
    cov = -(x * dr * dc).sum(dim=(1, 2))  # (B,): rows grow downwards, so up is -dr
    var = (x * dr ** 2).sum(dim=(1, 2))  # (B,)
    return torch.where(var > _EPS, cov / var.clamp_min(_EPS), torch.zeros_like(var))


def sharpness(x: torch.Tensor) -> torch.Tensor:
    r"""Steepness of the edges, :math:`\sum_j \lVert\nabla x_j\rVert^2 / \sum_j \lVert\nabla x_j\rVert`: (B,).

    The mean intensity step per pixel across an edge, each pixel weighted by its own step: about 1
    for a hard-edged shape (a little more at its corners), about 1/k when the edge is spread over
    k pixels. It does not
    depend on the amount of ink, so a blurry average of many digits scores low even when it is
    dark. An image without edges gets 0.

    >>> square = torch.zeros(1, 1, 8, 8); square[..., 2:6, 2:6] = 1.0
    >>> round(sharpness(square).item(), 2)
    1.04
    """
    x = _images(x)
    g = _gradient_norm(x).flatten(1)  # (B, (H + 1)(W + 1))
    total = g.sum(dim=1)
    return torch.where(total > _EPS, (g ** 2).sum(dim=1) / total.clamp_min(_EPS), torch.zeros_like(total))


# --------------------------------------------------------------------------------------------
# Words for the measures, with thresholds chosen from the data
# --------------------------------------------------------------------------------------------

THICKNESS_WORDS = ("thin", "bold")  # lower and upper third of the thickness; the middle third says nothing
SLANT_WORDS = ("left", "upright", "right")  # lower, middle and upper third of the slant


@dataclass(frozen=True)
class AttributeThresholds:
    """Where the words change: the terciles of thickness and slant on some digits, and their medians."""

    thickness_low: float  # below: "thin"
    thickness_high: float  # above: "bold"
    thickness_median: float  # the read-back line between asking "thin" and asking "bold"
    slant_low: float  # below: "left"
    slant_high: float  # above: "right"
    slant_median: float  # the read-back line between "left" and "right"

    def to_dict(self) -> dict[str, float]:
        """The six numbers, by name (what a checkpoint stores)."""
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}


def fit_thresholds(x: torch.Tensor) -> AttributeThresholds:
    """The terciles and medians of ``thickness(x)`` and ``slant(x)``: the data chooses the words."""
    t, s = thickness(x), slant(x)
    if len(t) < 3:
        raise ValueError(f"x must hold at least 3 images to choose thresholds from, got {len(t)}")
    q = torch.tensor([1 / 3, 0.5, 2 / 3], dtype=t.dtype)
    tq, sq = torch.quantile(t, q), torch.quantile(s, q)
    return AttributeThresholds(float(tq[0]), float(tq[2]), float(tq[1]), float(sq[0]), float(sq[2]), float(sq[1]))


def attribute_words(x: torch.Tensor, thresholds: AttributeThresholds) -> tuple[list[str | None], list[str]]:
    """For each image, its thickness word ("thin", "bold", or None for the middle third) and its
    slant word ("left", "upright" or "right")."""
    t, s = thickness(x).tolist(), slant(x).tolist()
    thick = ["thin" if v < thresholds.thickness_low else "bold" if v > thresholds.thickness_high else None for v in t]
    lean = ["left" if v < thresholds.slant_low else "right" if v > thresholds.slant_high else "upright" for v in s]
    return thick, lean
