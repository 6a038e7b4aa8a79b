"""Checks for autoregressive models and normalizing flows: the chain-rule log-likelihood of an
FVSBN, MADE's output mask, and the affine coupling layer with its log-determinant (notebook A1)."""

from __future__ import annotations

import torch

from gan_course.checks.core import CheckResult, _allclose, _call, compare, failed, passed
from gan_course.likelihoods import bernoulli_log_likelihood


def _fvsbn_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Binary rows, a *full* weight matrix (so every mistake of masking shows) and biases."""
    gen = torch.Generator().manual_seed(11)
    x = torch.bernoulli(torch.full((7, 5), 0.5, dtype=torch.float64), generator=gen)  # (N, D)
    weight = torch.randn(5, 5, generator=gen, dtype=torch.float64)  # (D, D): all entries nonzero
    bias = torch.randn(5, generator=gen, dtype=torch.float64)  # (D,)
    return x, weight, bias


def _chain_rule(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return bernoulli_log_likelihood(x, x @ weight.T + bias)  # (N,)


def fvsbn_log_prob(fn: object) -> CheckResult:
    r"""Notebook A1: ``fn(x (N, D), W (D, D), b (D,))`` returns :math:`\log p(x)` (N,) of an FVSBN.

    .. math:: \log p(x) = \sum_j x_j\log\sigma(\ell_j) + (1-x_j)\log(1-\sigma(\ell_j)),\qquad
        \ell_j = b_j + \sum_{i<j} W_{ji}x_i

    Only the strict lower triangle of ``W`` may be used; the test matrix is full, so a missing
    mask, a kept diagonal, the wrong triangle or a missing transpose each give another answer.
    """
    x, weight, bias = _fvsbn_case()
    got, problem = _call("log p(x)", fn, x.clone(), weight.clone(), bias.clone())
    if problem is not None:
        return problem
    strict = torch.tril(weight, -1)
    expected = _chain_rule(x, strict, bias)
    hint = ("Pixel j's logit is b_j + sum over i < j of W[j, i] x_i: logits = x @ torch.tril(W, -1).T + b; "
            "then sum x log sigma + (1 - x) log(1 - sigma) over the pixels (one number per row).")
    logits = x @ strict.T + bias
    mistakes = [
        (_chain_rule(x, weight, bias), "You used all of W: pixel j may only see the pixels before it, "
                                       "so keep the strict lower triangle, torch.tril(W, -1)."),
        (_chain_rule(x, torch.tril(weight), bias), "Strictly before: the diagonal lets x_j predict itself "
                                                   "(use torch.tril(W, -1), not torch.tril(W))."),
        (_chain_rule(x, torch.triu(weight, 1), bias), "Wrong triangle: row j of W holds pixel j's weights on "
                                                      "the earlier pixels i < j, below the diagonal."),
        (bernoulli_log_likelihood(x, x @ strict + bias), "Transpose: with logits = x @ M the weight of x_i in "
                                                         "pixel j's logit is M[i, j]; use x @ torch.tril(W, -1).T."),
        ((x * torch.nn.functional.logsigmoid(logits)).sum(1), "The pixels that are 0 count too: add "
                                                             "(1 - x) log(1 - sigma(logit))."),
        (_chain_rule(x, strict, bias).exp(), "That is p(x); the check wants the log-likelihood log p(x)."),
        (_chain_rule(x, strict, bias) / 5, "Sum over the pixels (the chain rule multiplies the conditionals), "
                                          "do not average."),
    ]
    for wrong, why in mistakes:
        if _allclose(got, wrong):
            hint = why
            break
    if _allclose(got, expected.sum()):
        return failed("log p(x): one log-likelihood per row, shape (N,): sum over the pixels (dim=1), not over "
                      "everything.")
    return compare("log p(x)", got, expected, rtol=1e-6, atol=1e-9, hint=hint)


def made_output_mask(fn: object) -> CheckResult:
    r"""Notebook A1: ``fn(hidden_degrees (H,), num_dims D)`` returns MADE's (D, H) output mask.

    Output j (degree j, 1-based) may read hidden unit k only when :math:`m(k) < j`, so that the
    units it reads saw only inputs :math:`< j`: :math:`M_{jk} = [\,j > m(k)\,]`.
    """
    degrees = torch.tensor([3, 1, 4, 1, 2, 4, 3])  # (H,), in 1..D-1 for D = 5
    got, problem = _call("output mask", fn, degrees.clone(), 5)
    if problem is not None:
        return problem
    outputs = torch.arange(1, 6)[:, None]  # (D, 1): degrees 1..D
    expected = (outputs > degrees[None, :]).double()  # (D, H)
    hint = "M[j, k] = 1 when output degree j (1..D) is larger than m(k): (torch.arange(1, D + 1)[:, None] > m).float()."
    if _allclose(got, (outputs >= degrees[None, :]).double()):
        hint = ("Strictly larger: with >= output j reads units of degree j, which saw x_j itself, so the model "
                "could copy its own pixel and p(x) would no longer sum to 1.")
    elif _allclose(got, expected.T):
        return failed("output mask: shape (D, H), one row per output and one column per hidden unit; "
                      "transpose yours.")
    elif _allclose(got, (torch.arange(0, 5)[:, None] > degrees[None, :]).double()):
        hint = "The outputs' degrees run from 1 to D (pixel j has degree j), not from 0."
    return compare("output mask", got, expected, rtol=0, atol=0, hint=hint)


class _Conditioner(torch.nn.Module):
    """A small fixed network that reads *every* coordinate, so an unmasked input shows."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.w = torch.randn(4, 4, generator=gen, dtype=torch.float64) / 2
        self.b = torch.randn(4, generator=gen, dtype=torch.float64) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ self.w + self.b)  # (B, D)


def _coupling(x, mask, s_net, t_net, masked_input=True, keep=True, log_det="s"):
    source = x * mask if masked_input else x
    s, t = s_net(source), t_net(source)
    moved = x * s.exp() + t
    y = mask * x + (1 - mask) * moved if keep else moved
    if log_det == "s":
        return y, ((1 - mask) * s).sum(1)
    if log_det == "all":
        return y, s.sum(1)
    return y, ((1 - mask) * s.exp()).sum(1)


def coupling_forward(fn: object) -> CheckResult:
    r"""Notebook A1: ``fn(x (B, D), mask (D,), s_net, t_net)`` returns ``(y, log_det)`` of an affine coupling.

    .. math:: y = m\odot x + (1-m)\odot\big(x\odot e^{s(m\odot x)} + t(m\odot x)\big),\qquad
        \log|\det J| = \sum_j (1-m_j)\,s_j(m\odot x)

    The log-determinant is checked against ``torch.autograd.functional.jacobian`` of the
    reference map, one sample at a time.
    """
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64)  # (B, D)
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    s_net, t_net = _Conditioner(1), _Conditioner(2)
    got, problem = _call("coupling layer", fn, x.clone(), mask.clone(), s_net, t_net)
    if problem is not None:
        return problem
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return failed("coupling layer: return a pair (y, log_det), y of shape (B, D) and log_det of shape (B,).")
    y_got, log_det_got = got
    y_ref, log_det_ref = _coupling(x, mask, s_net, t_net)
    jacobians = [torch.autograd.functional.jacobian(lambda v: _coupling(v[None], mask, s_net, t_net)[0][0], row)
                 for row in x]  # B of (D, D)
    log_det_exact = torch.stack([torch.linalg.slogdet(j)[1] for j in jacobians])  # (B,)
    if _allclose(y_got, _coupling(x, mask, s_net, t_net, masked_input=False)[0]):
        return failed("coupling layer: s and t must read only the kept coordinates, s_net(mask * x): if they saw "
                      "the coordinates they change, the layer could not be inverted.")
    if _allclose(y_got, _coupling(x, mask, s_net, t_net, keep=False)[0]):
        return failed("coupling layer: the coordinates where mask = 1 must pass unchanged: "
                      "y = mask * x + (1 - mask) * (x * exp(s) + t).")
    result = compare("y", y_got, y_ref, rtol=1e-6, atol=1e-9,
                     hint="y = mask * x + (1 - mask) * (x * torch.exp(s) + t), with s, t computed from mask * x.")
    if not result:
        return result
    hint = "The Jacobian is triangular: log|det| is the sum of s over the transformed coordinates, ((1 - mask) * s).sum(1)."
    if _allclose(log_det_got, _coupling(x, mask, s_net, t_net, log_det="all")[1]):
        hint = ("Only the transformed coordinates (mask = 0) contribute: the kept ones have derivative 1, "
                "log 1 = 0. Multiply s by (1 - mask) before summing.")
    elif _allclose(log_det_got, _coupling(x, mask, s_net, t_net, log_det="exp")[1]):
        hint = "The diagonal entries are exp(s), so their log is s: sum s, not exp(s)."
    elif _allclose(log_det_got, -log_det_ref):
        hint = "Sign: y scales x by exp(+s), so log|det dy/dx| = +sum s (the inverse has -sum s)."
    result = compare("log-determinant", log_det_got, log_det_exact, rtol=1e-6, atol=1e-9, hint=hint)
    if not result:
        return result
    return passed("The coupling layer is right: y, and a log-determinant equal to log|det| of the Jacobian "
                  "computed by autograd.")
