"""Checks for GANs on 2-D data: mode coverage, packing, the R1 penalty (notebook 06)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, compare, _call, _allclose, _TinyCritic, _penalty_result


# the distance, in std, from each of 8 modes to its closest sample (inf: no sample near it); only the
# first three are within 3 std, and every other radius, or a squared distance compared with 3 std,
# counts another number of modes
_MODE_GAPS = (0.5, 2.0, 2.9, 3.1, 5.0, 12.0, 20.0, math.inf)


def _mode_test_set() -> tuple[torch.Tensor, torch.Tensor, float]:
    """Samples at known distances from 8 modes 10 apart (so each sample's nearest mode is its own).

    Mode k's closest sample lies ``_MODE_GAPS[k]`` std away; mode 0 also gets three more samples
    0.5 std away, so counting high-quality *samples* (6) is not counting modes. With std = 0.05 a radius
    of 1 std counts 1 mode, 2 std 2, 3 std 3 (the answer), 4 std 4, 9 std^2 = 0.45 std none,
    and a squared distance compared with 3 std (radius 7.7 std) 5.
    """
    gen = torch.Generator().manual_seed(5)
    std = 0.05
    centers = 10.0 * torch.stack([torch.arange(8.0) % 4, torch.div(torch.arange(8.0), 4, rounding_mode="floor")],
                                 dim=1)  # (8, 2): a 4 x 2 grid
    angles = 2 * math.pi * torch.rand(8, generator=gen)  # (8,) a random direction per mode
    direction = torch.stack([angles.cos(), angles.sin()], dim=1)  # (8, 2)
    gaps = torch.tensor([g if math.isfinite(g) else 0.0 for g in _MODE_GAPS])
    keep = torch.tensor([math.isfinite(g) for g in _MODE_GAPS])
    x = (centers + std * gaps[:, None] * direction)[keep]  # (7, 2): one sample per mode but the last
    extra = centers[0] + 0.5 * std * direction[1:4]  # (3, 2): three more high-quality samples of mode 0
    return torch.cat([x, extra]), centers, std


def _covered_within(radius_in_std: float) -> int:
    """The modes the test set covers with another radius (what a common mistake computes)."""
    return sum(g <= radius_in_std for g in _MODE_GAPS)


def modes_covered(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(samples (N, 2), centers (K, 2), std)`` returns the number of covered modes.

    A mode is covered when at least one *high-quality* sample (within 3 std of its nearest
    center) has it as nearest center. The test set tells a radius of 3 std from 1 or 4 std, from
    a squared distance compared with 3 std, and from 9 std^2 used as a distance.
    """
    from gan_course.metrics import mode_coverage

    x, centers, std = _mode_test_set()
    got, problem = _call("modes covered", fn, x, centers, std)
    if problem is not None:
        return problem
    expected = mode_coverage(x, centers, std).modes_covered  # 3
    hint = "Find each sample's nearest center (torch.cdist, argmin), keep those within 3 * std, count distinct modes."
    mistakes = {
        _covered_within(1.0): "That is a radius of 1 std: a sample is of high quality within 3 * std of its mode.",
        _covered_within(math.sqrt(3 / std)): ("You compared a squared distance with 3 * std: compare the distance "
                                              "itself (torch.cdist) with 3 * std, or its square with (3 * std) ** 2."),
        _covered_within(9 * std): "You compared the distance with 9 * std ** 2: compare it with 3 * std.",
        len(centers) - 1: ("Every mode that is some sample's nearest counts here: keep only the high quality "
                           "samples, within 3 * std of their nearest center."),
        int((torch.cdist(x, centers).min(dim=1).values <= 3 * std).sum()): "That counts high-quality samples; count the distinct modes they are nearest to (torch.unique).",
    }
    try:
        hint = mistakes.get(int(got), hint)
    except (TypeError, ValueError, RuntimeError):
        pass
    return compare("modes covered", got, float(expected), rtol=0, atol=0.01, hint=hint)


def reverse_kl_to_uniform(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(counts (K,))`` returns :math:`\mathrm{KL}(\hat p \,\|\, U) = \sum_k \hat p_k \log(K \hat p_k)`.

    Tested with an empty mode (:math:`0 \log 0 = 0`), where the forward direction is infinite.
    """
    counts = torch.tensor([50.0, 30.0, 20.0, 0.0])
    got, problem = _call("reverse KL", fn, counts.clone())
    if problem is not None:
        return problem
    p = counts.double() / counts.sum()
    k = len(counts)
    expected = torch.where(p > 0, p * torch.log(k * p.clamp_min(1e-300)), torch.zeros_like(p)).sum()
    hint = "Normalise the counts to p, then sum p_k log(K p_k) over the modes with p_k > 0 (0 log 0 = 0)."
    try:
        value = torch.as_tensor(got, dtype=torch.float64)
        if value.shape == () and not torch.isfinite(value):
            hint = ("You got inf or NaN: either that is KL(U || p), the other direction (infinite when a mode "
                    "is empty), or 0 * log 0 was not set to 0.")
        elif value.shape == () and math.isclose(float(value), float((counts.double() * torch.where(
                p > 0, torch.log(k * p.clamp_min(1e-300)), torch.zeros_like(p))).sum()), rel_tol=1e-6):
            hint = "Normalise the counts into a histogram p = counts / counts.sum() first."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("reverse KL", got, expected, rtol=1e-6, atol=1e-9, hint=hint)


def pack_samples(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(x (B, d), m)`` returns the PacGAN input (B/m, m d): m *consecutive* samples per row."""
    x = torch.arange(24, dtype=torch.float64).reshape(12, 2)  # (B, d)
    got, problem = _call("packed batch", fn, x.clone(), 3)
    if problem is not None:
        return problem
    expected = x.reshape(4, 6)  # (B / m, m * d)
    hint = "Row i holds samples 3i, 3i+1, 3i+2 one after the other: x.reshape(B // m, m * d)."
    if _allclose(got, x.T.reshape(2, 12).T.reshape(4, 6)) or _allclose(got, x.reshape(3, 4, 2).transpose(0, 1).reshape(4, 6)):
        hint = "Your rows mix samples that are not consecutive (a transpose crept in): use x.reshape(B // m, m * d)."
    return compare("packed batch", got, expected, rtol=0, atol=0, hint=hint)


def r1_penalty(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(discriminator, x)`` returns the R1 penalty at the real batch x, differentiable in D.

    .. math:: R_1 = \mathbb E_{x}\big[\lVert \nabla_x \ell(x) \rVert_2^2\big]

    Checked against ``losses.r1_penalty``, for the value and for the gradient it sends into the
    discriminator's weights (the critic of the notebook-09 checks, on a batch of 6x6 images).
    """
    from gan_course import losses

    x = torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    discriminator = _TinyCritic()
    expected = losses.r1_penalty(discriminator, x)
    (expected_grad,) = torch.autograd.grad(expected, [discriminator.w1])
    got, problem = _call("R1 penalty", fn, discriminator, x.clone())
    if problem is not None:
        return problem
    points = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(discriminator(points).sum(), points)
    norms = g.flatten(1).norm(dim=1)  # (B,)
    hint = "g = grad of D(x).sum() w.r.t. x (create_graph=True); the mean over samples of ||g||^2."
    try:
        value = float(torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64))
        if math.isclose(value, float(norms.mean()), rel_tol=1e-6):
            hint = "Square the norm: R1 is the mean of ||g||^2, not of ||g||."
        elif math.isclose(value, float((norms ** 2).sum()), rel_tol=1e-6):
            hint = "Average over the samples (mean), do not sum: the penalty must not grow with the batch size."
        elif math.isclose(value, float(((norms - 1) ** 2).mean()), rel_tol=1e-6):
            hint = "R1 pulls the gradient towards 0 at the real data: ||g||^2, not (||g|| - 1)^2 (that is WGAN-GP)."
    except (TypeError, ValueError, RuntimeError):
        pass
    return _penalty_result("R1 penalty", got, expected, expected_grad, discriminator.w1, "discriminator", hint,
                           "keep the graph of the input gradient (create_graph=True).",
                           "The R1 penalty is right, value and gradient (it matches losses.r1_penalty).")
