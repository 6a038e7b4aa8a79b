"""Measures of generative models: pure functions on tensors (the math layer).

Nothing here holds state or touches files; each function names the quantity it computes and,
where there is one, its equation.
"""

from __future__ import annotations

import math

import torch


def bits_per_dim(log_prob: torch.Tensor, num_dims: int) -> torch.Tensor:
    r"""Average negative log-likelihood in bits per dimension.

    .. math:: \mathrm{bpd} = -\frac{1}{N D \ln 2} \sum_{i=1}^N \log p(x_i)

    Args:
        log_prob: per-sample log-likelihoods in nats, shape (N,).
        num_dims: D, the number of dimensions of one sample (784 for MNIST).

    Returns:
        A scalar tensor. For binary data 1.0 is a fair coin per pixel; lower is better.

    >>> bits_per_dim(torch.full((4,), -784 * math.log(2)), 784)
    tensor(1.)
    """
    if log_prob.ndim != 1:
        raise ValueError(f"log_prob must have shape (N,), got {tuple(log_prob.shape)}")
    if isinstance(num_dims, bool) or not isinstance(num_dims, int) or num_dims <= 0:
        raise ValueError(f"num_dims must be a positive int, got {num_dims!r}")
    return -log_prob.mean() / (num_dims * math.log(2))


# --------------------------------------------------------------------------------------------
# --- GAN 1-D: densities on a grid, divergences to samples, the optimal discriminator ---
# --------------------------------------------------------------------------------------------


def _as_1d(name: str, t: torch.Tensor) -> torch.Tensor:
    """(N,) or (N, 1) -> (N,)."""
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"{name} must have shape (N,) or (N, 1) with N > 0, got {tuple(t.shape)}")
    return t


def scott_bandwidth(samples: torch.Tensor) -> float:
    r"""Scott's rule for a 1-D Gaussian KDE: :math:`h = \hat\sigma N^{-1/5}` (as scipy's default)."""
    s = _as_1d("samples", samples).double()
    if len(s) < 2:
        raise ValueError(f"samples must hold at least 2 points for a bandwidth, got {len(s)}")
    return float(s.std(unbiased=True)) * len(s) ** (-1 / 5)


def log_kde_1d(samples: torch.Tensor, grid: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    r"""Log of the Gaussian KDE of 1-D samples on ``grid``, computed in log space (no underflow).

    .. math:: \log \hat p(x) = \operatorname{logsumexp}_i\Big(-\tfrac12 \big(\tfrac{x - x_i}{h}\big)^2\Big)
              - \log(N h \sqrt{2\pi})

    Args and defaults as for ``kde_1d``. Returns (M,) log-densities.
    """
    s = _as_1d("samples", samples).to(grid.dtype)
    grid = _as_1d("grid", grid)
    h = scott_bandwidth(s) if bandwidth is None else float(bandwidth)
    if not h > 0:
        raise ValueError(f"bandwidth must be positive, got {h!r} (are all samples equal?)")
    u = (grid[:, None] - s[None, :]) / h  # (M, N)
    return torch.logsumexp(-0.5 * u**2, dim=1) - math.log(len(s) * h * math.sqrt(2 * math.pi))  # (M,)


def kde_1d(samples: torch.Tensor, grid: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    r"""Gaussian kernel density estimate of 1-D samples, evaluated on ``grid``.

    .. math:: \hat p(x) = \frac{1}{N h} \sum_{i=1}^N \varphi\!\left(\frac{x - x_i}{h}\right)

    Args:
        samples: (N,) or (N, 1).
        grid: (M,) points where the density is wanted.
        bandwidth: h; default Scott's rule (``scott_bandwidth``), the same as
            ``scipy.stats.gaussian_kde``. Scott's rule over-smooths well separated modes; pass a
            smaller h (0.1-0.2 for the course's 1-D mixtures) to see them sharply.

    Returns:
        (M,) densities, in the dtype of ``grid``.

    >>> p = kde_1d(torch.randn(2000), torch.linspace(-8, 8, 801))
    >>> abs(torch.trapezoid(p, dx=0.02).item() - 1) < 1e-3
    True
    """
    return log_kde_1d(samples, grid, bandwidth).exp()


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    r"""The discriminator that maximises the GAN value function for a fixed generator.

    .. math:: D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}

    (Goodfellow et al., 2014, Proposition 1.) Where both densities are 0 the value is set to
    1/2, the value at equilibrium.

    >>> optimal_discriminator(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([1.0, 2.0, 0.0]))
    tensor([0.5000, 0.0000, 0.5000])
    """
    if p_data.shape != p_g.shape:
        raise ValueError(f"p_data and p_g must have the same shape, got {tuple(p_data.shape)} and {tuple(p_g.shape)}")
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(torch.finfo(total.dtype).tiny), torch.full_like(total, 0.5))


def kl_divergence_grid(p: torch.Tensor, q: torch.Tensor, grid: torch.Tensor,
                       log_q: torch.Tensor | None = None) -> torch.Tensor:
    r"""KL divergence of two 1-D densities tabulated on a grid, by the trapezoid rule (nats).

    .. math:: \mathrm{KL}(p \,\|\, q) = \int p(x) \log\frac{p(x)}{q(x)}\,dx, \qquad 0 \log 0 = 0

    Where p > 0 and q = 0 the result is inf, as it should be. Pass ``log_q`` when q is known in
    log space, so that a q that underflows to 0 far in the tails stays finite.
    """
    if not (p.shape == q.shape == grid.shape) or p.ndim != 1:
        raise ValueError(f"p, q and grid must share one (M,) shape, got {tuple(p.shape)}, {tuple(q.shape)}, "
                         f"{tuple(grid.shape)}")
    log_q = torch.log(q) if log_q is None else log_q
    integrand = torch.where(p > 0, p * (torch.log(p.clamp_min(1e-300)) - log_q), torch.zeros_like(p))
    return torch.trapezoid(integrand, grid)


def js_divergence_grid(p: torch.Tensor, q: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    r"""Jensen–Shannon divergence of two 1-D densities on a grid (nats, between 0 and log 2).

    .. math:: \mathrm{JSD}(p \,\|\, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m),
              \quad m = \tfrac12 (p + q)

    At the optimal discriminator the GAN value is :math:`V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data} \,\|\, p_g)`.

    >>> x = torch.linspace(-10, 10, 4001, dtype=torch.float64)
    >>> p = torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    >>> js_divergence_grid(p, p, x).item()
    0.0
    """
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence_grid(p, m, grid) + 0.5 * kl_divergence_grid(q, m, grid)


def _known_and_kde(log_prob, samples: torch.Tensor, grid: torch.Tensor, bandwidth: float | None):
    grid = _as_1d("grid", grid).double()
    p = log_prob(grid[:, None]).exp().double()  # (M,)
    q = kde_1d(_as_1d("samples", samples).double(), grid, bandwidth)  # (M,)
    return p, q, grid


def js_to_samples(log_prob, samples: torch.Tensor, grid: torch.Tensor,
                  bandwidth: float | None = None) -> torch.Tensor:
    r"""JSD between a known 1-D density and the KDE of samples, on a grid (nats).

    Args:
        log_prob: a function (M, 1) -> (M,) giving :math:`\log p_{data}`, e.g.
            ``lambda x: data.toy_log_prob("mix1d", x)``.
        samples: (N,) or (N, 1) samples of :math:`p_g`.
        grid: (M,) evenly spaced points covering both densities.
        bandwidth: the KDE's h (default Scott's rule).
    """
    return js_divergence_grid(*_known_and_kde(log_prob, samples, grid, bandwidth))


def kl_to_samples(log_prob, samples: torch.Tensor, grid: torch.Tensor,
                  bandwidth: float | None = None) -> torch.Tensor:
    r""":math:`\mathrm{KL}(p_{data} \,\|\, \hat p_g)` between a known 1-D density and the KDE of samples (nats)."""
    grid = _as_1d("grid", grid).double()
    p = log_prob(grid[:, None]).exp().double()  # (M,)
    log_q = log_kde_1d(_as_1d("samples", samples).double(), grid, bandwidth)  # (M,)
    return kl_divergence_grid(p, log_q.exp(), grid, log_q=log_q)


def dstar_max_error(d: torch.Tensor, p_data: torch.Tensor, p_g: torch.Tensor,
                    rel_threshold: float = 0.05) -> float:
    r"""Largest :math:`|D(x) - D^*(x)|` over the grid points where :math:`p_{data} + p_g` is not negligible.

    "Not negligible" means :math:`p_{data}(x) + p_g(x) \ge` ``rel_threshold`` times its maximum;
    elsewhere no sample lands, so nothing constrains D.

    Args:
        d: (M,) the trained discriminator's probabilities :math:`\sigma(\ell(x))` on the grid.
        p_data, p_g: (M,) the two densities on the same grid.
    """
    if not (d.shape == p_data.shape == p_g.shape):
        raise ValueError(f"d, p_data and p_g must share one shape, got {tuple(d.shape)}, {tuple(p_data.shape)}, "
                         f"{tuple(p_g.shape)}")
    total = p_data + p_g
    mask = total >= rel_threshold * total.max()
    return float((d - optimal_discriminator(p_data, p_g)).abs()[mask].max())
