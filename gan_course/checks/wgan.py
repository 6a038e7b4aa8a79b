"""Checks for the Wasserstein GAN (notebook 09)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, passed, failed, compare, _not_answered, _call, _TinyCritic, _penalty_result


def _w1_test_pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Pairs of 1-D samples, one with equal means (so the gap of means is 0 but W1 is not)."""
    gen = torch.Generator().manual_seed(9)
    a = torch.randn(300, generator=gen, dtype=torch.float64)
    b = torch.rand(300, generator=gen, dtype=torch.float64) * 4 + 1
    c = 3 * torch.randn(300, generator=gen, dtype=torch.float64)
    return [(a, b), (a - a.mean(), c - c.mean())]


def wasserstein_1d(fn: object) -> CheckResult:
    r"""Notebook 09: ``fn(a (n,), b (n,))`` returns :math:`W_1 = \frac1n \sum_i |a_{(i)} - b_{(i)}|`.

    Checked against ``metrics.wasserstein_1d`` (itself tested against ``scipy.stats.wasserstein_distance``).
    """
    from gan_course import metrics

    for a, b in _w1_test_pairs():
        got, problem = _call("W1", fn, a.clone(), b.clone())
        if problem is not None:
            return problem
        expected = metrics.wasserstein_1d(a, b)
        hint = "Sort both samples, then average the absolute gaps between values of the same rank."
        try:
            value = float(torch.as_tensor(got, dtype=torch.float64))
            sa, sb = a.sort().values, b.sort().values
            if math.isclose(value, float((a - b).abs().mean()), rel_tol=1e-6):
                hint = ("That is the mean gap between *unsorted* pairs: a transport plan, but not the cheapest. "
                        "Sort both samples first, so the i-th smallest grain goes to the i-th smallest place.")
            elif math.isclose(value, float((a.mean() - b.mean()).abs()), rel_tol=1e-6, abs_tol=1e-9):
                hint = ("That is the gap between the means, only a lower bound on W1 (0 for these two samples of "
                        "equal mean but different spread). Sort and average |a_(i) - b_(i)|.")
            elif math.isclose(value, float(((sa - sb) ** 2).mean().sqrt()), rel_tol=1e-6) or \
                    math.isclose(value, float(((sa - sb) ** 2).mean()), rel_tol=1e-6):
                hint = "You squared the gaps (that is W2 or its square): W1 averages |a_(i) - b_(i)|."
        except (TypeError, ValueError, RuntimeError):
            pass
        result = compare("W1", got, expected, rtol=1e-6, atol=1e-9, hint=hint)
        if not result:
            return result
    return passed("W1 is right: sort both samples and average the gaps, as scipy.stats.wasserstein_distance does.")


def gradient_penalty(fn: object) -> CheckResult:
    r"""Notebook 09: ``fn(critic, x, x_fake, eps)`` returns the WGAN-GP penalty, differentiable in the critic.

    .. math:: \hat x = \epsilon x + (1 - \epsilon) \tilde x,\quad
              \mathrm{GP} = \mathbb E\big[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2\big]

    with ``eps`` of shape (B, 1, 1, 1). Checked against ``losses.gradient_penalty`` with the same
    interpolation weights, for the value and for the gradient it sends into the critic's weights.
    """
    from gan_course import losses

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(8, 1, 6, 6, generator=gen, dtype=torch.float64)
    x_fake = torch.randn(8, 1, 6, 6, generator=gen, dtype=torch.float64) * 0.5 + 1
    eps = torch.rand((8, 1, 1, 1), generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    critic = _TinyCritic()
    expected = losses.gradient_penalty(critic, x, x_fake, generator=torch.Generator().manual_seed(11))
    (expected_grad,) = torch.autograd.grad(expected, [critic.w1])
    got, problem = _call("gradient penalty", fn, critic, x.clone(), x_fake.clone(), eps.clone())
    if problem is not None:
        return problem

    def penalty(points: torch.Tensor, per_sample: bool = True, minus_one: bool = True) -> float:
        points = points.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(points).sum(), points)
        norms = g.flatten(1).norm(dim=1) if per_sample else g.norm()
        return float(((norms - 1) ** 2).mean() if minus_one else (norms ** 2).mean())

    hint = "x_hat = eps * x + (1 - eps) * x_fake; g = grad of critic(x_hat).sum() w.r.t. x_hat; mean of (||g|| - 1)^2 per sample."
    try:
        value = float(torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64))
        x_hat = eps * x + (1 - eps) * x_fake
        if math.isclose(value, penalty(x), rel_tol=1e-6) or math.isclose(value, penalty(x_fake), rel_tol=1e-6):
            hint = ("The penalty is measured on random points *between* real and fake samples, "
                    "x_hat = eps * x + (1 - eps) * x_fake, not on the real or the fake batch itself.")
        elif math.isclose(value, penalty(x_hat, minus_one=False), rel_tol=1e-6):
            hint = "The penalty pulls the norm towards 1, not 0: (||g|| - 1)^2, not ||g||^2."
        elif math.isclose(value, penalty(x_hat, per_sample=False), rel_tol=1e-6):
            hint = ("Take one gradient norm per sample (g.flatten(1).norm(dim=1)), not the norm of the whole "
                    "batch's gradient.")
        elif math.isclose(value, penalty((1 - eps) * x + eps * x_fake), rel_tol=1e-6):
            hint = "Use the interpolation as written: x_hat = eps * x + (1 - eps) * x_fake."
    except (TypeError, ValueError, RuntimeError):
        pass
    return _penalty_result("gradient penalty", got, expected, expected_grad, critic.w1, "critic", hint,
                           "do not detach x_hat's gradient (create_graph=True).",
                           "The gradient penalty is right, value and gradient (it matches losses.gradient_penalty).")


LIPSCHITZ_CHOICES = {
    "a": "Weight clipping: small weights make a simpler critic, which is what we want.",
    "b": "The gradient penalty: it constrains the critic's gradient only where it is measured, "
         "leaving the weights free to form any 1-Lipschitz function.",
    "c": "Both equally: each one makes the critic exactly 1-Lipschitz.",
    "d": "Neither: any constraint on the critic removes capacity in the same way.",
}


def lipschitz_capacity(answer: object) -> CheckResult:
    """Notebook 09: which way of enforcing the Lipschitz constraint keeps the critic's capacity (a-d)?"""
    missing = _not_answered("answer", answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower().strip("()")
    if choice not in LIPSCHITZ_CHOICES:
        return failed(f"answer: give one letter of {', '.join(LIPSCHITZ_CHOICES)}, got {answer!r}")
    if choice == "b":
        return passed("Right: the penalty asks ||grad f|| = 1 on points between real and fake, and the weights stay "
                      "free. Clipping confines every weight to [-c, c]: most pile up at ±c and the critic is biased "
                      "towards very simple functions (Gulrajani et al., 2017, section 3).")
    hints = {
        "a": "A simpler critic is the problem, not the aim: clipped weights pile up at ±c and the critic can only "
             "draw very simple functions, so its estimate of W1 is poor. Look at the weight histogram again.",
        "c": "Neither makes the critic exactly 1-Lipschitz: clipping bounds the constant loosely (some K that depends "
             "on c and the architecture), the penalty holds only softly and only on the sampled points.",
        "d": "The two constraints act on different things: clipping on every weight, the penalty only on the "
             "gradient at sampled points. One of them leaves the weights free.",
    }
    return failed(hints[choice])
