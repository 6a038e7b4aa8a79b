"""The digit measures on constructed images: bars of known width, sheared strokes of known slant,
hard and blurred edges; the data-chosen thresholds and words; bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_course import attributes


def bar(width: int, length: int = 16, top: int = 4, left: int = 10) -> torch.Tensor:
    x = torch.zeros(1, 1, 28, 28)
    x[..., top:top + length, left:left + width] = 1.0
    return x


def stroke(width: float, angle_deg: float) -> torch.Tensor:
    """An anti-aliased straight stroke of ``width`` pixels through the centre, ``angle_deg`` from vertical."""
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    a = np.deg2rad(angle_deg)
    direction = torch.tensor([np.cos(a), np.sin(a)], dtype=torch.float32)  # (row, col) along the stroke
    d = torch.stack([rows - 13.0, cols - 13.0])  # (2, 28, 28): centred on a pixel
    along = (d * direction.view(2, 1, 1)).sum(0)
    across = (d[0] * direction[1] - d[1] * direction[0]).abs()
    ink = (width / 2 + 0.5 - across).clamp(0, 1) * (along.abs() <= 8).float()
    return ink[None, None]


def sheared_bar(shear: float, width: int = 2) -> torch.Tensor:
    """A vertical bar whose column moves right by ``shear`` pixels per pixel up."""
    x = torch.zeros(1, 1, 28, 28)
    for r in range(6, 22):
        c = 13 + shear * (14 - r)
        lo = int(np.floor(c))
        frac = c - lo
        x[0, 0, r, lo:lo + width] += 1 - frac  # anti-aliased: split between two columns
        x[0, 0, r, lo + 1:lo + 1 + width] += frac
    return x.clamp(0, 1)


# ---- thickness ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 2, 3, 4, 6])
def test_thickness_of_a_bar_is_its_width(width):
    assert attributes.thickness(bar(width)).item() == pytest.approx(width, rel=0.04)


def test_thickness_does_not_depend_on_the_length_or_place():
    values = [attributes.thickness(bar(3, length=n, top=2, left=k)).item() for n, k in ((8, 3), (16, 10), (24, 20))]
    assert max(values) - min(values) < 0.2  # within 5 %: only the corners' share of the perimeter changes


@pytest.mark.parametrize("angle", [0, 30, 45, 60, 90])
def test_a_thick_stroke_reads_thicker_than_a_thin_one_in_any_direction(angle):
    thin, thick = attributes.thickness(stroke(2.0, angle)).item(), attributes.thickness(stroke(4.0, angle)).item()
    assert thick > thin + 1.2
    assert thin == pytest.approx(2.0, abs=0.5) and thick == pytest.approx(4.0, abs=0.9)


def test_thickness_of_an_empty_image_is_zero():
    assert attributes.thickness(torch.zeros(2, 1, 28, 28)).tolist() == [0.0, 0.0]


# ---- slant -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shear", [-0.4, -0.2, 0.0, 0.25, 0.5])
def test_slant_of_a_sheared_bar_is_its_shear(shear):
    x = sheared_bar(shear)
    # oracle: the ink-weighted least-squares slope of the column against the height (numpy)
    img = x[0, 0].numpy().astype(np.float64)
    rows, cols = np.nonzero(img)
    slope = np.polyfit(-rows.astype(float), cols.astype(float), 1, w=np.sqrt(img[rows, cols]))[0]
    assert attributes.slant(x).item() == pytest.approx(slope, abs=1e-3)
    assert attributes.slant(x).item() == pytest.approx(shear, abs=0.05)


def test_slant_sign_right_leaning_is_positive_and_mirror_flips_it():
    x = sheared_bar(0.3)
    assert attributes.slant(x).item() > 0
    assert attributes.slant(x.flip(-1)).item() == pytest.approx(-attributes.slant(x).item(), abs=1e-5)


def test_slant_of_an_empty_image_is_zero():
    assert attributes.slant(torch.zeros(1, 1, 28, 28)).item() == 0.0


# ---- sharpness and ink ---------------------------------------------------------------------------


def test_sharpness_falls_when_the_edges_are_blurred():
    x = bar(6)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1)), 3, stride=1)  # a 3x3 box blur
    more = F.avg_pool2d(F.pad(blurred, (2, 2, 2, 2)), 5, stride=1)
    s = [attributes.sharpness(t).item() for t in (x, blurred, more)]
    assert s[0] == pytest.approx(1.0, abs=0.05)
    assert s[0] > s[1] > s[2]
    assert s[1] == pytest.approx(1 / 3, abs=0.05)


def test_sharpness_does_not_depend_on_the_amount_of_ink():
    one = bar(4)
    two = one + bar(4, left=20)
    assert attributes.sharpness(two).item() == pytest.approx(attributes.sharpness(one).item(), abs=1e-3)
    assert attributes.sharpness(torch.zeros(1, 1, 28, 28)).item() == 0.0


def test_ink_counts_pixels_above_one_half():
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    expected = (x.numpy() > 0.5).reshape(5, -1).mean(axis=1)
    np.testing.assert_allclose(attributes.ink(x).numpy(), expected, rtol=1e-6)


def test_measures_take_3d_images_too():
    x = bar(3)
    assert attributes.thickness(x[:, 0]).item() == pytest.approx(attributes.thickness(x).item())


# ---- thresholds and words --------------------------------------------------------------------


def test_thresholds_are_the_terciles_and_words_split_the_data_in_thirds():
    x = torch.cat([bar(w, length=n) for w, n in zip([1, 1, 1, 3, 3, 3, 6, 6, 6], [10, 14, 18] * 3)])
    th = attributes.fit_thresholds(x)
    thick, lean = attributes.attribute_words(x, th)
    assert thick == ["thin"] * 3 + [None] * 3 + ["bold"] * 3
    assert th.thickness_low < th.thickness_median < th.thickness_high
    assert set(th.to_dict()) == {"thickness_low", "thickness_high", "thickness_median", "slant_low", "slant_high",
                                 "slant_median"}
    sheared = torch.cat([sheared_bar(s) for s in (-0.4, -0.3, -0.35, 0.0, 0.02, -0.02, 0.4, 0.3, 0.35)])
    _, lean = attributes.attribute_words(sheared, attributes.fit_thresholds(sheared))
    assert lean == ["left"] * 3 + ["upright"] * 3 + ["right"] * 3


# ---- bad input ---------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"x must hold images in \[0, 1\].*\(x \+ 1\) / 2"):
        attributes.thickness(torch.full((1, 1, 28, 28), -1.0))
    with pytest.raises(ValueError, match="shape"):
        attributes.slant(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="NaN"):
        attributes.sharpness(torch.full((1, 1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="torch.Tensor"):
        attributes.ink(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match="at least 3"):
        attributes.fit_thresholds(bar(2))
