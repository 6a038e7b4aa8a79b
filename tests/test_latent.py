"""latent.lerp / slerp / checkerboard_score: closed forms, invariants, a numpy FFT oracle, errors."""

import math

import numpy as np
import pytest
import torch

from gan_course import latent, nets

pytestmark = pytest.mark.usefixtures("one_thread")


def gaussian_pair(dim=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(2, dim, generator=gen, dtype=torch.float64)


def test_lerp_end_points_and_even_spacing():
    z0, z1 = gaussian_pair()
    path = latent.lerp(z0, z1, 7)
    assert path.shape == (7, 64)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    steps = path.diff(dim=0)  # (6, D): all equal to (z1 - z0) / 6
    torch.testing.assert_close(steps, ((z1 - z0) / 6).expand_as(steps))


def test_slerp_matches_rotation_in_the_plane():
    """On the unit circle, slerp from angle 0 to angle a is the point at angle t * a."""
    a = 2.0
    z0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    z1 = torch.tensor([math.cos(a), math.sin(a)], dtype=torch.float64)
    path = latent.slerp(z0, z1, 5)
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    expected = torch.stack([torch.cos(t * a), torch.sin(t * a)], dim=1)  # (5, 2)
    torch.testing.assert_close(path, expected)


def test_slerp_keeps_the_norm_lerp_does_not():
    z0, z1 = gaussian_pair()
    z1 = z1 * z0.norm() / z1.norm()  # equal norms
    s = latent.slerp(z0, z1, 9).norm(dim=1)
    torch.testing.assert_close(s, torch.full_like(s, float(z0.norm())))
    mid = latent.lerp(z0, z1, 9)[4].norm()
    assert mid < 0.85 * z0.norm()  # nearly orthogonal Gaussian vectors: midpoint about 1/sqrt(2) as long


def test_slerp_equal_angles_and_batches():
    z0, z1 = gaussian_pair(seed=1)
    path = latent.slerp(z0 / z0.norm(), z1 / z1.norm(), 6)  # equal norms: equal angles between neighbours
    cos = torch.nn.functional.cosine_similarity(path[:-1], path[1:], dim=1)  # (5,): angle between neighbours
    torch.testing.assert_close(cos, cos[0].expand(5))
    batch = latent.slerp(torch.stack([z0, z1]), torch.stack([z1, z0]), 6)  # (S, 2, D)
    assert batch.shape == (6, 2, 64)
    single = latent.slerp(z0, z1, 6)
    torch.testing.assert_close(batch[:, 0], single)
    torch.testing.assert_close(batch[:, 1], single.flip(0))


def test_slerp_parallel_falls_back_to_lerp():
    z0 = torch.tensor([1.0, 2.0, 3.0])
    path = latent.slerp(z0, 2 * z0, 4)
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path, latent.lerp(z0, 2 * z0, 4))


@pytest.mark.parametrize("fn", [latent.lerp, latent.slerp])
def test_interpolation_errors(fn):
    z = torch.zeros(4)
    with pytest.raises(ValueError, match="steps must be at least 2"):
        fn(z, z, 1)
    with pytest.raises(ValueError, match="same shape"):
        fn(z, torch.zeros(5), 3)
    with pytest.raises(ValueError, match="z0 must be a floating-point tensor"):
        fn(torch.zeros(4, dtype=torch.long), z, 3)
    with pytest.raises(ValueError, match="steps"):
        fn(z, z, 2.5)


def numpy_score(x):
    """The definition through numpy's FFT: energy at the three Nyquist bins / energy away from DC."""
    x = x.numpy().astype(np.float64)
    h, w = x.shape[-2:]
    f = np.abs(np.fft.fft2(x)) ** 2  # (N, C, H, W)
    nyquist = f[..., h // 2, 0] + f[..., 0, w // 2] + f[..., h // 2, w // 2]
    total = f.sum(axis=(-2, -1)) - f[..., 0, 0]
    return float((nyquist / total).mean())


def test_checkerboard_score_matches_numpy_fft():
    x = torch.rand(5, 2, 28, 28, generator=torch.Generator().manual_seed(0))
    assert float(latent.checkerboard_score(x)) == pytest.approx(numpy_score(x), rel=1e-6)


def test_checkerboard_score_patterns():
    h = torch.arange(28).view(28, 1)
    w = torch.arange(28).view(1, 28)
    checker = ((h + w) % 2).float().view(1, 1, 28, 28)  # 0/1 checkerboard
    stripes = (h % 2).float().expand(28, 28).reshape(1, 1, 28, 28)
    assert float(latent.checkerboard_score(checker)) == pytest.approx(1.0)
    assert float(latent.checkerboard_score(stripes)) == pytest.approx(1.0)
    assert float(latent.checkerboard_score(torch.zeros(2, 1, 28, 28))) == 0.0  # constant: 0, not NaN
    scale_free = latent.checkerboard_score(3 * checker - 1)
    assert float(scale_free) == pytest.approx(1.0)
    blob = torch.exp(-((h - 13.5) ** 2 + (w - 13.5) ** 2) / 20.0).float().view(1, 1, 28, 28)
    mixed = latent.checkerboard_score(blob + 0.1 * checker)
    assert float(latent.checkerboard_score(blob)) < 1e-4 < float(mixed) < 1


def test_transposed_generator_has_more_checkerboard_than_resize():
    """Odena et al.: with a constant input, a stride-2 transposed conv gives a period-2 pattern
    (different kernel taps for even and odd pixels); resize + conv gives a flat interior (the
    zero padding only marks a rim, cropped here). Every one of five random initialisations."""
    for seed in range(5):
        scores = {}
        for upsample in ("transposed", "resize"):
            torch.manual_seed(seed)
            g = nets.DCGANGenerator(latent_dim=8, width=16, upsample=upsample).eval()
            with torch.no_grad():
                interior = g.body(torch.ones(1, 32, 7, 7))[..., 4:-4, 4:-4]  # (1, 1, 20, 20)
            scores[upsample] = float(latent.checkerboard_score(interior))
        assert scores["transposed"] > 0.01 and scores["resize"] < 1e-6, (seed, scores)


def test_checkerboard_score_errors():
    with pytest.raises(ValueError, match="x_fake must be a floating-point tensor of shape"):
        latent.checkerboard_score(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="even"):
        latent.checkerboard_score(torch.zeros(1, 1, 27, 28))
    with pytest.raises(ValueError, match="floating-point"):
        latent.checkerboard_score(torch.zeros(1, 1, 28, 28, dtype=torch.uint8))


def test_lerp_midpoint_falls_inside_the_gaussian_shell():
    """The docstring's claim: |z| ~ sqrt(D) for z ~ N(0, I_D); the lerp midpoint of two
    independent draws has norm ~ sqrt(D / 2), while slerp's stays near sqrt(D)."""
    gen = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 2000, 64, generator=gen, dtype=torch.float64)  # 2000 pairs
    mid_lerp = latent.lerp(z0, z1, 3)[1].norm(dim=-1).mean()
    mid_slerp = latent.slerp(z0, z1, 3)[1].norm(dim=-1).mean()
    assert abs(float(mid_lerp) - math.sqrt(32)) < 0.1
    assert abs(float(mid_slerp) - 8.0) < 0.15
