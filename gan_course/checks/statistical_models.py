"""Checks for the statistical-models track: the HMM forward recursion, stick-breaking weights and
the Metropolis–Hastings acceptance probability (notebook A2)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, _allclose, _call, compare, passed

_CASINO = (torch.tensor([0.5, 0.5], dtype=torch.float64),
           torch.tensor([[0.95, 0.05], [0.10, 0.90]], dtype=torch.float64),
           torch.tensor([[1 / 6] * 6, [0.1] * 5 + [0.5]], dtype=torch.float64))


def _float(value: object) -> float | None:
    try:
        return float(torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value,
                                     dtype=torch.float64))
    except (TypeError, ValueError, RuntimeError):
        return None


def hmm_forward(fn: object) -> CheckResult:
    r"""Notebook A2: ``fn(start_prob (K,), transition (K, K), emission (K, M), sequence (T,))`` returns
    :math:`\log p(x_{1:T})` by the forward recursion in log space.

    Tested on 2,000 casino rolls, where the recursion in probabilities underflows to 0.
    """
    from gan_course.hmm import forward

    start, transition, emission = _CASINO
    rolls = torch.randint(6, (2000,), generator=torch.Generator().manual_seed(0))
    got, problem = _call("log p(rolls)", fn, start.clone(), transition.clone(), emission.clone(), rolls.clone())
    if problem is not None:
        return problem
    log_emit = emission.log().T[rolls]  # (T, K)
    expected = forward(start.log(), transition.log(), log_emit)[1]
    value = _float(got)
    hint = ("alpha_1 = log pi + log b(x_1); then alpha_t(j) = log b_j(x_t) + logsumexp_i(alpha_t-1(i) + log A_ij); "
            "the answer is logsumexp_j alpha_T(j).")
    if value is not None:
        if not math.isfinite(value):
            hint = ("You got inf or NaN: multiplying 2,000 probabilities underflows to 0. Keep alpha as logs and "
                    "combine them with torch.logsumexp.")
        elif math.isclose(value, float(forward(start.log(), transition.log().T, log_emit)[1]), rel_tol=1e-9):
            hint = ("You used the transition matrix transposed: A[i, j] is the probability of going FROM i TO j, "
                    "so sum over the rows i: logsumexp(alpha[:, None] + log A, dim=0).")
        elif math.isclose(value, float(forward(torch.zeros(2, dtype=torch.float64), transition.log(), log_emit)[1]),
                          rel_tol=1e-9):
            hint = "The first step must include the start probabilities: alpha_1 = log pi + log b(x_1)."
    return compare("log p(rolls)", got, expected, rtol=1e-6, atol=1e-6, hint=hint)


def stick_breaking(fn: object) -> CheckResult:
    r"""Notebook A2: ``fn(v (K,))`` returns the stick-breaking weights :math:`\pi_k = v_k\prod_{j<k}(1-v_j)`."""
    from gan_course.dpmixture import stick_breaking_weights

    v = torch.tensor([0.3, 0.5, 0.2, 0.6, 0.4], dtype=torch.float64)
    got, problem = _call("stick-breaking weights", fn, v.clone())
    if problem is not None:
        return problem
    expected = stick_breaking_weights(v)
    left = torch.cumprod(1 - v, 0)
    hint = "pi_k = v_k times the stick left before break k, prod_{j<k} (1 - v_j); pi_1 = v_1."
    if _allclose(got, v * left):
        hint = "Your product includes (1 - v_k) itself: only the breaks j < k come before piece k (pi_1 = v_1)."
    elif _allclose(got, torch.cat([torch.ones(1, dtype=v.dtype), left[:-1]])):
        hint = "That is the stick left before each break; piece k keeps the fraction v_k of it."
    elif _allclose(got, expected / expected.sum()):
        hint = ("Do not renormalise: with five breaks the weights sum to 1 - prod(1 - v_k) < 1; the rest of the "
                "stick belongs to the components after the fifth.")
    return compare("stick-breaking weights", got, expected, rtol=1e-6, atol=1e-9, hint=hint)


def mh_acceptance(fn: object) -> CheckResult:
    r"""Notebook A2: ``fn(log_p_current, log_p_proposal, log_q_forward, log_q_backward)`` returns the
    acceptance probability :math:`\min\big(1, \frac{\tilde p(x')\,q(x\mid x')}{\tilde p(x)\,q(x'\mid x)}\big)`,
    elementwise on tensors, with :math:`q(x'\mid x)` the forward proposal density.

    Tested with an asymmetric proposal and log-densities near -1000, where a ratio of
    exponentials is 0/0.
    """
    from gan_course.mcmc import acceptance_probability

    log_p = torch.tensor([-1.0, -2.0, -1000.0, 0.0, -5.0], dtype=torch.float64)
    log_p_new = torch.tensor([-2.0, -1.0, -1001.0, -0.5, -5.0], dtype=torch.float64)
    log_q_fwd = torch.tensor([-1.0, -1.0, -1.0, -2.0, -0.5], dtype=torch.float64)
    log_q_bwd = torch.tensor([-1.0, -1.0, -1.0, -0.5, -2.0], dtype=torch.float64)
    args = (log_p.clone(), log_p_new.clone(), log_q_fwd.clone(), log_q_bwd.clone())
    got, problem = _call("acceptance probability", fn, *args)
    if problem is not None:
        return problem
    expected = acceptance_probability(log_p, log_p_new, log_q_fwd, log_q_bwd)
    ratio = (log_p_new + log_q_bwd - log_p - log_q_fwd).exp()
    hint = "log a = min(0, log p(x') + log q(x | x') - log p(x) - log q(x' | x)); return exp of it."
    try:
        values = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        values = None
    if values is not None and values.shape == expected.shape:
        if not torch.isfinite(values).all():
            hint = ("NaN or inf: exp(-1000) is 0 in floating point, so p(x')/p(x) is 0/0. Take the difference of "
                    "the log-densities first, then exponentiate.")
        elif _allclose(values, ratio):
            hint = "A probability cannot exceed 1: take the minimum of 1 and the ratio."
        elif _allclose(values, (log_p - log_p_new + log_q_fwd - log_q_bwd).exp().clamp(max=1)):
            hint = "The ratio is upside down: the proposal x' goes in the numerator, p(x') / p(x)."
        elif _allclose(values, (log_p_new + log_q_fwd - log_p - log_q_bwd).exp().clamp(max=1)):
            hint = ("The Hastings correction is the wrong way round: multiply by q(x | x') (the reverse move) "
                    "and divide by q(x' | x).")
        elif _allclose(values, (log_p_new - log_p).exp().clamp(max=1)):
            hint = ("That is plain Metropolis: with an asymmetric proposal add the Hastings correction "
                    "q(x | x') / q(x' | x).")
    result = compare("acceptance probability", got, expected, rtol=1e-6, atol=1e-9, hint=hint)
    return passed("The acceptance probability is right (Metropolis–Hastings, in log space).") if result else result

