"""Checks for GAN theory in one dimension (notebook 05)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, passed, failed, compare, _not_answered


def nonsaturating_loss(fn: object) -> CheckResult:
    r"""Notebook 05: ``fn(fake_logits)`` returns :math:`-\mathbb E[\log D(G(z))]` from *logits*.

    Tested with a logit of -200 (a discriminator sure the sample is fake), where
    ``-log(sigmoid(l))`` overflows to inf but ``softplus(-l)`` gives 200.
    """
    if fn is None or not callable(fn):
        return failed(f"nonsaturating_loss: expected a function, got {type(fn).__name__}")
    logits = torch.tensor([-200.0, -5.0, 0.0, 3.0])
    try:
        got = fn(logits.clone())
    except Exception as error:  # the student's code may raise anything
        return failed(f"nonsaturating_loss: your function raised {type(error).__name__}: {error}")
    if (problem := _not_answered("nonsaturating_loss", got)) is not None:
        return problem
    expected = torch.nn.functional.softplus(-logits.double()).mean()
    saturating = -torch.nn.functional.softplus(logits.double()).mean()
    hint = "Minimise -log D(G(z)) = softplus(-logit); take the mean over the batch."
    try:
        value = torch.as_tensor(got, dtype=torch.float64)
        if value.shape == () and torch.isclose(value, saturating, rtol=1e-4):
            hint = "That is the saturating loss log(1 - D(G(z))); the non-saturating one is -log D(G(z))."
        elif value.shape == () and not torch.isfinite(value):
            hint = ("log(sigmoid(-200)) = log(0) = -inf: compute log D from the logit with "
                    "F.logsigmoid or F.softplus, never sigmoid then log.")
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("nonsaturating_loss", got, expected, rtol=1e-5, hint=hint)


def optimal_discriminator(d_star: object, p_data: torch.Tensor, p_g: torch.Tensor) -> CheckResult:
    r"""Notebook 05: :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))` on a grid."""
    if (problem := _not_answered("D*", d_star)) is not None:
        return problem
    p, q = p_data.double(), p_g.double()
    expected = p / (p + q)
    hint = "Maximise p_data(x) log D + p_g(x) log(1 - D) pointwise in D."
    try:
        if torch.allclose(torch.as_tensor(d_star, dtype=torch.float64), q / (p + q), atol=1e-6):
            hint = "You have the fraction upside down: D* is the probability that x is *real*, p_data / (p_data + p_g)."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("D*", d_star, expected, rtol=1e-4, atol=1e-6, hint=hint)


def gan_value_at_optimum(value: object, p_data: torch.Tensor, p_g: torch.Tensor, grid: torch.Tensor) -> CheckResult:
    r"""Notebook 05: :math:`V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data}\,\|\,p_g)`, computed on a grid."""
    from gan_course.metrics import js_divergence_grid

    if (problem := _not_answered("V(D*, G)", value)) is not None:
        return problem
    js = js_divergence_grid(p_data.double(), p_g.double(), grid.double())
    expected = -math.log(4.0) + 2 * js
    hint = "Integrate p_data log D* + p_g log(1 - D*) over the grid (torch.trapezoid)."
    try:
        v = float(torch.as_tensor(value))
        if math.isclose(v, float(js), rel_tol=1e-3) or math.isclose(v, float(-math.log(4) + js), rel_tol=1e-3):
            hint = "Close: V(D*, G) = -log 4 + 2 JSD, with the factor 2 and the constant -log 4."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("V(D*, G)", value, expected, rtol=1e-3, atol=1e-4, hint=hint)


def dirac_gan_eigenvalues(eigenvalues: object, gp_weight: float = 0.0) -> CheckResult:
    r"""Notebook 05: eigenvalues of the Dirac-GAN field's Jacobian at (0, 0): :math:`-\gamma/2 \pm i\sqrt{1/4 - \gamma^2/4}`
    (for :math:`\gamma < 1`), i.e. :math:`\pm i/2` without a penalty. Order does not matter."""
    if (problem := _not_answered("the eigenvalues", eigenvalues)) is not None:
        return problem
    jac = torch.tensor([[0.0, 0.5], [-0.5, -gp_weight]], dtype=torch.float64)  # d(theta', psi')/d(theta, psi)
    expected = torch.linalg.eigvals(jac)
    try:
        got = torch.as_tensor(eigenvalues).to(torch.complex128).flatten()
    except (TypeError, RuntimeError, ValueError):
        return failed(f"the eigenvalues: expected two (complex) numbers, got {type(eigenvalues).__name__}")
    if got.shape != (2,):
        return failed(f"the eigenvalues: expected 2 of them, got {got.numel()}")
    key = lambda t: sorted(t.tolist(), key=lambda c: (round(c.imag, 9), round(c.real, 9)))  # noqa: E731
    if all(abs(a - b) < 1e-4 for a, b in zip(key(got), key(expected))):
        return passed("The eigenvalues are right: " + ("purely imaginary, so gradient play rotates." if gp_weight == 0
                                                        else "their real part is negative, so play converges."))
    hint = "Differentiate (theta', psi') with respect to (theta, psi) at 0, using sigmoid(0) = 1/2."
    if all(abs(c.imag) < 1e-9 for c in got.tolist()):
        hint = "A rotation has complex eigenvalues: use torch.linalg.eigvals, not eigvalsh."
    return failed(f"the eigenvalues are not right. {hint}")
