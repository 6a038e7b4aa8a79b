"""Checks for latent variables and the VAE (notebook 04)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, failed, compare, _not_answered, _call, _allclose


def _vae_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(6, 4, generator=gen, dtype=torch.float64)  # (B, d)
    logvar = 1.5 * torch.randn(6, 4, generator=gen, dtype=torch.float64)  # (B, d)
    return mu, logvar


def vae_kl(fn: object) -> CheckResult:
    r"""Notebook 04: ``fn(mu, logvar)`` returns :math:`\frac12\sum_j(\sigma_j^2+\mu_j^2-1-\log\sigma_j^2)`, shape (B,)."""
    mu, logvar = _vae_inputs()
    got, problem = _call("kl", fn, mu, logvar)
    if problem is not None:
        return problem
    terms = logvar.exp() + mu**2 - 1 - logvar  # (B, d)
    expected = 0.5 * terms.sum(1)  # (B,)
    hint = "KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (sigma^2 + mu^2 - 1 - log sigma^2), summed over the latent dims."
    if _allclose(got, 0.5 * terms):
        return failed("kl has one value per latent dimension: sum over them, one KL per row, shape (B,).")
    if _allclose(got, terms.sum(1)):
        hint = "You are missing the factor 1/2."
    elif _allclose(got, 0.5 * (torch.exp(2 * logvar) + mu**2 - 1 - 2 * logvar).sum(1)):
        hint = "logvar is log sigma^2, not log sigma: sigma^2 = exp(logvar)."
    return compare("kl", got, expected, rtol=1e-5, atol=1e-8, hint=hint)


def reparameterize(fn: object) -> CheckResult:
    r"""Notebook 04: ``fn(mu, logvar, eps)`` returns :math:`z = \mu + e^{\frac12\log\sigma^2}\,\varepsilon`."""
    mu, logvar = _vae_inputs(1)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    got, problem = _call("z", fn, mu, logvar, eps)
    if problem is not None:
        return problem
    hint = "z = mu + sigma * eps with sigma = exp(0.5 * logvar)."
    if _allclose(got, mu + logvar.exp() * eps):
        hint = "exp(logvar) is the variance sigma^2; scale eps by the standard deviation exp(0.5 * logvar)."
    elif _allclose(got, mu + logvar * eps):
        hint = "logvar is a log-variance: take exp(0.5 * logvar) to get sigma."
    return compare("z", got, mu + torch.exp(0.5 * logvar) * eps, rtol=1e-5, atol=1e-8, hint=hint)


def iw_bound(fn: object) -> CheckResult:
    r"""Notebook 04: ``fn(log_w)`` maps log-weights (B, k) to :math:`\log\frac1k\sum_i w_i`, shape (B,).

    The test log-weights are near -700 nats (as for real digits), so ``exp`` underflows to 0 and
    only a log-sum-exp answer is finite.
    """
    gen = torch.Generator().manual_seed(3)
    log_w = -800 + 5 * torch.randn(5, 7, generator=gen, dtype=torch.float64)  # (B, k)
    got, problem = _call("the bound", fn, log_w)
    if problem is not None:
        return problem
    expected = torch.logsumexp(log_w, 1) - math.log(log_w.shape[1])  # (B,)
    hint = "log (1/k) sum_i exp(a_i) = logsumexp(a) - log k; use torch.logsumexp."
    if _allclose(got, log_w.mean(1)):
        hint = "That is the average of log w: the ELBO. The bound takes the log of the average of w."
    elif _allclose(got, torch.logsumexp(log_w, 1)):
        hint = "Close: subtract log k to turn the sum into a mean."
    elif _allclose(got, torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])):
        hint = "Average over the k samples (dim=1), not over the images."
    try:
        g = torch.as_tensor(got, dtype=torch.float64)
        if not torch.isfinite(g).all():
            hint = "exp(-800) underflows to 0 and log(0) = -inf: use torch.logsumexp instead of exp then log."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("the bound", got, expected, rtol=1e-6, atol=1e-6, hint=hint)


def mse_minimizer(prediction: object, x: torch.Tensor, y: torch.Tensor) -> CheckResult:
    r"""Notebook 04: the per-class prediction that minimises squared error is the class mean.

    .. math:: \arg\min_{\hat x}\ \mathbb E\big[\|x - \hat x\|^2 \mid y = c\big] = \mathbb E[x \mid y = c]

    Args:
        prediction: (C, ...) one image per class, classes in sorted order.
        x: (N, ...) images; y: (N,) their labels.
    """
    if (problem := _not_answered("prediction", prediction)) is not None:
        return problem
    classes = torch.unique(y)
    xd = x.double()
    expected = torch.stack([xd[y == c].mean(0) for c in classes])  # (C, ...)
    hint = "For each class c, average the images of that class: x[y == c].mean(0)."
    if _allclose(prediction, xd.mean(0).expand_as(expected)):
        hint = "That is one mean for all classes; the label tells you which digit, so average per class."
    elif _allclose(prediction, torch.stack([xd[y == c].median(0).values for c in classes])):
        hint = "The median minimises the absolute error; squared error is minimised by the mean."
    return compare("prediction", prediction, expected, rtol=1e-4, atol=1e-6, hint=hint)
