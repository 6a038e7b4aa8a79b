r"""Log-densities, and the pieces of the variational bounds built on them (the math layer).

One home for each density the course evaluates:

- the Gaussian :math:`\log\mathcal N(x;\mu,\sigma^2)`, elementwise (``gaussian_log_prob``), and
  summed over a sample's dimensions (``log_normal_diag`` for codes, ``gaussian_log_likelihood``
  for images);
- the Bernoulli :math:`x\log\theta + (1-x)\log(1-\theta)`, from logits for a decoder
  (``bernoulli_log_likelihood``) and for every (sample, component) pair of a mixture as two
  matrix products (``bernoulli_log_prob``);
- the VAE's closed-form KL to the prior, the reparameterisation, and log-mean-exp.

Pure functions on tensors: no state, no I/O.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_LOG_2PI = math.log(2 * math.pi)


# --------------------------------------------------------------------------------------------
# Gaussian
# --------------------------------------------------------------------------------------------


def _gaussian(x: torch.Tensor, mean: torch.Tensor | float, log_std: torch.Tensor) -> torch.Tensor:
    """The one Gaussian log-density, elementwise, parameterised by log sigma."""
    return -0.5 * _LOG_2PI - log_std - 0.5 * ((x - mean) * torch.exp(-log_std)) ** 2


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor | float, std: torch.Tensor | float) -> torch.Tensor:
    r"""Elementwise :math:`\log \mathcal N(x; \mu, \sigma^2) = -\tfrac12\log(2\pi\sigma^2) - \tfrac{(x-\mu)^2}{2\sigma^2}`.

    >>> round(gaussian_log_prob(torch.tensor(0.), 0., 1.).item(), 4)
    -0.9189
    """
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device)
    if not bool((std > 0).all()):  # NaN fails too
        raise ValueError(f"std must be a positive number (every entry), got {std.min().item()!r}"
                         f"{' as its smallest entry' if std.numel() > 1 else ''}")
    return _gaussian(x, mean, std.log())


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""Log density of a diagonal Gaussian, summed over the last dimension.

    .. math:: \log\mathcal N(z;\mu,\sigma^2) = -\frac12\sum_j\Big(\log 2\pi + \log\sigma_j^2
        + \frac{(z_j-\mu_j)^2}{\sigma_j^2}\Big)
    """
    return _gaussian(z, mu, 0.5 * logvar).sum(dim=-1)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    r"""Log-density of images under independent Gaussian pixels (an MSE loss in disguise).

    .. math:: \log p(x\mid z) = -\sum_j \Big(\frac{(x_j-\mu_j)^2}{2\sigma^2} + \log\sigma
        + \tfrac12\log 2\pi\Big)

    With :math:`\sigma` fixed this is :math:`-\|x-\mu\|^2/2\sigma^2` plus a constant: the MSE.
    Shapes as for :func:`bernoulli_log_likelihood`; ``log_std`` broadcasts.
    """
    dims = tuple(range(-(x.ndim - 1), 0))
    return _gaussian(x, mean, log_std.expand_as(mean)).sum(dim=dims)


# --------------------------------------------------------------------------------------------
# Bernoulli
# --------------------------------------------------------------------------------------------


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""Log-likelihood of binary images under independent Bernoulli pixels given by their logits.

    .. math:: \log p(x\mid z) = \sum_j x_j \log\sigma(\ell_j) + (1-x_j)\log(1-\sigma(\ell_j))

    Computed from logits (binary cross-entropy), never from probabilities, so it cannot give
    ``log 0``. ``x`` (B, ...) broadcasts against ``logits`` (..., B, ...); the sum runs over the
    last ``x.ndim - 1`` dimensions.
    """
    dims = tuple(range(-(x.ndim - 1), 0))
    x = x.expand_as(logits)
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=dims)


def bernoulli_log_prob(x: torch.Tensor, log_theta: torch.Tensor, log1m_theta: torch.Tensor) -> torch.Tensor:
    r"""The same Bernoulli log-likelihood for every row of ``x`` under every component at once.

    .. math:: \log p(x \mid k) = \sum_j x_j \log\theta_{kj} + (1-x_j)\log(1-\theta_{kj})

    Args:
        x: (N, D) binary.
        log_theta, log1m_theta: (K, D) logs of :math:`\theta` and :math:`1-\theta`.

    Returns:
        (N, K) log-likelihoods, as two matrix products (no (N, K, D) tensor is made).
    """
    # x log t + (1 - x) log(1 - t) = x (log t - log(1 - t)) + log(1 - t): one matrix product
    return x @ (log_theta - log1m_theta).T + log1m_theta.sum(1)  # (N, K)


# --------------------------------------------------------------------------------------------
# Pieces of the VAE's bounds
# --------------------------------------------------------------------------------------------


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from a diagonal Gaussian to the standard normal, in closed form (nats).

    .. math:: \mathrm{KL}\big(\mathcal N(\mu, \operatorname{diag}\sigma^2)\,\|\,\mathcal N(0, I)\big)
        = \frac12 \sum_{j=1}^{d} \big(\sigma_j^2 + \mu_j^2 - 1 - \log\sigma_j^2\big)

    Args:
        mu: (B, d) means.
        logvar: (B, d) log-variances :math:`\log\sigma^2`.

    Returns:
        (B,) one KL per row.

    >>> gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3))
    tensor([0., 0.])
    """
    if mu.shape != logvar.shape or mu.ndim != 2:
        raise ValueError(f"mu and logvar must share one (B, d) shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    return 0.5 * (logvar.exp() + mu**2 - 1.0 - logvar).sum(dim=1)  # (B,)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""A differentiable draw :math:`z \sim \mathcal N(\mu, \sigma^2)`: the noise is moved outside.

    .. math:: z = \mu + \sigma \odot \varepsilon, \qquad \sigma = e^{\frac12 \log\sigma^2},
        \quad \varepsilon \sim \mathcal N(0, I)

    Gradients reach :math:`\mu` and :math:`\sigma` because :math:`\varepsilon` does not depend on them.

    Args:
        mu, logvar: (..., d).
        eps: the standard-normal noise, same shape (drawn when None).
        generator: the random stream for ``eps``.

    >>> reparameterize(torch.ones(1, 2), torch.zeros(1, 2), eps=torch.tensor([[1.0, -1.0]]))
    tensor([[2., 0.]])
    """
    if eps is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps must have the shape of mu {tuple(mu.shape)}, got {tuple(eps.shape)}")
    return mu + torch.exp(0.5 * logvar) * eps


def log_mean_exp(a: torch.Tensor, dim: int = -1) -> torch.Tensor:
    r""":math:`\log \frac1k \sum_i e^{a_i}` along ``dim``, without overflow or underflow.

    .. math:: \log\frac1k\sum_{i=1}^k e^{a_i} = \operatorname{logsumexp}_i(a_i) - \log k

    >>> log_mean_exp(torch.tensor([[-1000.0, -1000.0]]))
    tensor([-1000.])
    """
    return torch.logsumexp(a, dim=dim) - math.log(a.shape[dim])
