"""Checks for notebook 11: the forward noising of diffusion, the flow-matching target, FID of two Gaussians."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, _allclose, _call, compare, failed, passed


def _noising_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clean samples, a per-sample alpha-bar (so a scalar or a wrong broadcast shows), and noise."""
    gen = torch.Generator().manual_seed(11)
    x0 = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    alpha_bar = torch.tensor([0.9, 0.5, 0.2, 0.01], dtype=torch.float64)
    noise = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    return x0, alpha_bar, noise


def forward_noising(fn: object) -> CheckResult:
    r"""Notebook 11: ``fn(x0 (B, D), alpha_bar (B,), noise (B, D))`` returns
    :math:`x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon` (one :math:`\bar\alpha` per row).

    Checked against ``diffusion.q_sample``; tells apart the variances used as scales, the two
    coefficients swapped, and :math:`\bar\alpha` applied along the wrong axis.
    """
    from gan_course.diffusion import q_sample

    x0, a, noise = _noising_case()
    got, problem = _call("x_t", fn, x0.clone(), a.clone(), noise.clone())
    if problem is not None:
        return problem
    expected = q_sample(x0, a, noise)
    col = a[:, None]  # (B, 1)
    hint = "x_t = sqrt(alpha_bar) * x0 + sqrt(1 - alpha_bar) * noise, with alpha_bar[:, None] so each row gets its own."
    mistakes = [
        (col * x0 + (1 - col) * noise, "Those are the variances: scale x0 by sqrt(alpha_bar) and the noise by "
                                       "sqrt(1 - alpha_bar), so that x_t keeps unit variance."),
        ((1 - col).sqrt() * x0 + col.sqrt() * noise, "The coefficients are swapped: alpha_bar near 1 (early steps) "
                                                    "must keep x0 almost intact."),
        (col.sqrt() * x0 + (1 - col) * noise, "The noise is scaled by its variance 1 - alpha_bar; take its square root."),
        (col.sqrt() * x0 + noise, "The signal shrinks but the noise is added whole: scale it by sqrt(1 - alpha_bar)."),
    ]
    for wrong, why in mistakes:
        if _allclose(got, wrong):
            hint = why
            break
    result = compare("x_t", got, expected, rtol=1e-6, atol=1e-9, hint=hint)
    if not result:
        return result
    return passed("x_t is right: q(x_t | x_0) in closed form, as diffusion.q_sample computes it.")


def flow_matching_target(fn: object) -> CheckResult:
    r"""Notebook 11: ``fn(x0 noise (B, D), x1 data (B, D), t (B,))`` returns ``(x_t, u)``:
    :math:`x_t = (1 - t)\,x_0 + t\,x_1` and the target velocity :math:`u = x_1 - x_0`.

    Checked against ``flow_matching.interpolate`` and ``target_velocity``; tells apart the
    velocity reversed, the time reversed (t = 1 at the noise), and a velocity divided by time.
    """
    from gan_course.flow_matching import interpolate, target_velocity

    gen = torch.Generator().manual_seed(12)
    x0 = torch.randn(5, 2, generator=gen, dtype=torch.float64)
    x1 = 3 + torch.randn(5, 2, generator=gen, dtype=torch.float64)
    t = torch.tensor([0.0, 0.1, 0.5, 0.8, 1.0], dtype=torch.float64)
    got, problem = _call("flow-matching target", fn, x0.clone(), x1.clone(), t.clone())
    if problem is not None:
        return problem
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return failed(f"flow-matching target: return the pair (x_t, u), got {type(got).__name__}")
    x_t, u = got
    expected_x, expected_u = interpolate(x0, x1, t), target_velocity(x0, x1)
    tc = t[:, None]
    if _allclose(x_t, tc * x0 + (1 - tc) * x1):
        return failed("x_t: the time runs the wrong way. In this course t = 0 is the noise x0 and t = 1 the data x1: "
                      "x_t = (1 - t) * x0 + t * x1.")
    result = compare("x_t", x_t, expected_x, rtol=1e-6, atol=1e-9,
                     hint="x_t = (1 - t)[:, None] * x0 + t[:, None] * x1, a point on the straight segment.")
    if not result:
        return result
    hint = "u is the derivative of x_t with respect to t: x1 - x0, the same for every t."
    if _allclose(u, x0 - x1):
        hint = "The velocity points the wrong way: samples must move from the noise x0 towards the data x1 (x1 - x0)."
    elif _allclose(u, (x1 - expected_x) / (1 - tc).clamp_min(1e-12)) and not _allclose(u, x1 - x0):
        hint = "Write u with x0 and x1 only: (x1 - x_t) / (1 - t) is the same thing but blows up at t = 1."
    result = compare("u", u, expected_u, rtol=1e-6, atol=1e-9, hint=hint)
    if not result:
        return result
    return passed("x_t and u are right: the straight path from noise to data and its constant velocity x1 - x0.")


def gaussian_fid(fn: object) -> CheckResult:
    r"""Notebook 11: ``fn(mu1, sigma1, mu2, sigma2)`` returns the squared Fréchet distance

    .. math:: \lVert \mu_1 - \mu_2 \rVert^2 + \operatorname{Tr}\big(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2}\big)

    Checked against ``metrics.frechet_distance`` on covariances that do not commute (so an
    element-wise square root is wrong), and with equal covariances (only the means count).
    """
    from gan_course.metrics import frechet_distance

    mu1 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    mu2 = torch.tensor([2.0, -1.0], dtype=torch.float64)
    sigma1 = torch.tensor([[2.0, 0.8], [0.8, 1.0]], dtype=torch.float64)
    sigma2 = torch.tensor([[1.0, -0.3], [-0.3, 0.5]], dtype=torch.float64)
    cases = [(mu1, sigma1, mu2, sigma2), (mu1, sigma1, mu2, sigma1.clone())]
    for m1, s1, m2, s2 in cases:
        got, problem = _call("FID", fn, m1.clone(), s1.clone(), m2.clone(), s2.clone())
        if problem is not None:
            return problem
        expected = frechet_distance(m1, s1, m2, s2)
        mean_term = float((m1 - m2).pow(2).sum())
        hint = "Use a matrix square root (e.g. scipy.linalg.sqrtm, or eigh of a symmetric matrix), not an element-wise one."
        try:
            value = float(torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64))
            elementwise = mean_term + float(torch.trace(s1 + s2 - 2 * (s1 * s2).clamp_min(0).sqrt()))
            if math.isclose(value, math.sqrt(expected), rel_tol=1e-6):
                hint = "That is the distance itself; FID reports its square (no square root at the end)."
            elif math.isclose(value, mean_term, rel_tol=1e-6):
                hint = "Only the means: the trace term compares the covariances too."
            elif math.isclose(value, elementwise, rel_tol=1e-6):
                hint = ("An element-wise square root of Sigma1 * Sigma2: the square root must be of the matrix "
                        "product Sigma1 @ Sigma2.")
            elif math.isclose(value, mean_term + float(torch.trace(s1 + s2)) - _trace_sqrt(s1, s2), rel_tol=1e-6):
                hint = "The cross term is 2 Tr((Sigma1 Sigma2)^(1/2)): the factor 2 is missing."
        except (TypeError, ValueError, RuntimeError):
            pass
        result = compare("FID", got, expected, rtol=1e-5, atol=1e-8, hint=hint)
        if not result:
            return result
    return passed("FID between two Gaussians is right (it matches metrics.frechet_distance).")


def _trace_sqrt(s1: torch.Tensor, s2: torch.Tensor) -> float:
    """:math:`\\mathrm{Tr}(\\Sigma_1\\Sigma_2)^{1/2}` from the eigenvalues of the product (real, non-negative)."""
    return float(torch.linalg.eigvals(s1 @ s2).real.clamp_min(0).sqrt().sum())
