r"""Markov chain Monte Carlo: Metropolis–Hastings, Gibbs completion of digits, Langevin dynamics.

A Markov chain whose stationary distribution is :math:`p` gives samples of :math:`p` when only an
unnormalised :math:`\tilde p \propto p` (or its score :math:`\nabla\log p`) is known.

- :func:`metropolis_hastings` — propose :math:`x'\sim q(\cdot\mid x)`, accept with probability
  :math:`\min\big(1, \tfrac{\tilde p(x')\,q(x\mid x')}{\tilde p(x)\,q(x'\mid x)}\big)` (Metropolis et al.,
  1953; Hastings, 1970);
- the chain's diagnostics: :func:`autocorrelation`, :func:`effective_sample_size` (Geyer, 1992),
  and a two-sample :func:`energy_test` against exact samples (Székely & Rizzo, 2004);
- :func:`gibbs_complete` — fill the missing pixels of a digit by alternating
  :math:`z \sim p(z\mid x)` and :math:`x_m \sim p(x_m \mid z)` under a ``BernoulliMixture``
  (Geman & Geman, 1984), to set beside its exact posterior ``BernoulliMixture.complete``;
- :func:`langevin` — unadjusted Langevin dynamics
  :math:`x \leftarrow x + \tfrac{\epsilon}{2}\nabla\log p(x) + \sqrt{\epsilon}\,\xi` on a known score:
  the sampler that score-based diffusion models run with a *learned* score (Song & Ermon, 2019).

All samplers run many chains at once as one batch and take a ``seed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from gan_course.density import BernoulliMixture
from gan_course.config import torch_generator
from gan_course.validate import require_finite, require_int, require_positive_int, require_positive_number

LogProb = Callable[[torch.Tensor], torch.Tensor]  # (C, D) -> (C,) unnormalised log-density
Score = Callable[[torch.Tensor], torch.Tensor]  # (C, D) -> (C, D) gradient of the log-density


def _start(x0: torch.Tensor) -> torch.Tensor:
    if not isinstance(x0, torch.Tensor) or x0.ndim != 2 or x0.shape[0] == 0:
        raise ValueError(f"x0 must be a (C, D) tensor of C chains' starting points, got "
                         f"{tuple(x0.shape) if isinstance(x0, torch.Tensor) else type(x0).__name__}")
    require_finite(x0, "x0")
    return x0.detach().to(torch.float64).clone()


# --------------------------------------------------------------------------------------------
# Metropolis–Hastings
# --------------------------------------------------------------------------------------------


def acceptance_probability(log_p_current: torch.Tensor, log_p_proposal: torch.Tensor,
                           log_q_forward: torch.Tensor | float = 0.0,
                           log_q_backward: torch.Tensor | float = 0.0) -> torch.Tensor:
    r"""The Metropolis–Hastings acceptance probability, computed in log space.

    .. math:: a(x \to x') = \min\Big(1,\ \frac{\tilde p(x')\, q(x \mid x')}{\tilde p(x)\, q(x' \mid x)}\Big)

    Args:
        log_p_current: :math:`\log\tilde p(x)`.
        log_p_proposal: :math:`\log\tilde p(x')`.
        log_q_forward: :math:`\log q(x'\mid x)`; 0 for a symmetric proposal.
        log_q_backward: :math:`\log q(x\mid x')`.

    >>> acceptance_probability(torch.tensor([0.0, 0.0]), torch.tensor([1.0, -math.log(4)]))
    tensor([1.0000, 0.2500])
    """
    log_ratio = log_p_proposal + log_q_backward - log_p_current - log_q_forward
    return torch.exp(torch.clamp(torch.as_tensor(log_ratio), max=0.0))


@dataclass
class ChainResult:
    """What a sampler kept."""

    samples: torch.Tensor  # (S, C, D): S kept steps of C chains
    acceptance_rate: float  # fraction of proposals accepted (1.0 for samplers that always move)


def metropolis_hastings(log_prob: LogProb, x0: torch.Tensor, steps: int, step_size: float,
                        burn_in: int = 0, seed: int | None = None) -> ChainResult:
    r"""Random-walk Metropolis: :math:`x' = x + \sigma\,\xi`, :math:`\xi\sim\mathcal N(0, I)`, accepted with
    :func:`acceptance_probability` (the proposal is symmetric, so the q terms cancel).

    Args:
        log_prob: unnormalised log-density, (C, D) -> (C,).
        x0: (C, D) starting points of C independent chains.
        steps: kept steps per chain (after ``burn_in``).
        step_size: :math:`\sigma`, the proposal's standard deviation.
        burn_in: steps run first and thrown away.
        seed: makes the run repeatable.

    Returns:
        A :class:`ChainResult` with samples (steps, C, D) and the acceptance rate of the kept steps.
    """
    steps, step_size = require_positive_int("steps", steps), require_positive_number("step_size", step_size)
    burn_in = require_int("burn_in", burn_in, 0)
    gen = torch_generator(seed)
    x = _start(x0)
    log_p = log_prob(x).double()
    kept, accepted = [], 0
    with torch.no_grad():
        for t in range(burn_in + steps):
            proposal = x + step_size * torch.randn(x.shape, generator=gen, dtype=x.dtype)
            log_p_new = log_prob(proposal).double()
            accept = torch.rand(x.shape[0], generator=gen, dtype=x.dtype) < acceptance_probability(log_p, log_p_new)
            x = torch.where(accept[:, None], proposal, x)
            log_p = torch.where(accept, log_p_new, log_p)
            if t >= burn_in:
                kept.append(x)
                accepted += int(accept.sum())
    return ChainResult(torch.stack(kept), accepted / (steps * x.shape[0]))


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------


def autocorrelation(x: torch.Tensor, max_lag: int | None = None) -> torch.Tensor:
    r"""Normalised autocorrelation of a chain, averaged over chains.

    .. math:: \rho_k = \frac{\sum_{t} (x_t - \bar x)(x_{t+k} - \bar x)}{\sum_t (x_t - \bar x)^2}

    Args:
        x: (S,) one chain or (S, C) C chains of one scalar.
        max_lag: the largest lag returned (default S - 1).

    Returns:
        (max_lag + 1,) with :math:`\rho_0 = 1`; computed with one FFT per chain.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    x = x[:, None] if x.ndim == 1 else x  # (S, C)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (S,) or (S, C) with S >= 2 steps, got {tuple(x.shape)}")
    s = x.shape[0]
    max_lag = s - 1 if max_lag is None else min(require_positive_int("max_lag", max_lag), s - 1)
    centred = x - x.mean(0)
    spectrum = torch.fft.rfft(centred, n=2 * s, dim=0)  # zero-padded: no wrap-around
    acov = torch.fft.irfft(spectrum * spectrum.conj(), n=2 * s, dim=0)[: max_lag + 1]  # (L, C)
    acov = acov / acov[:1].clamp_min(1e-300)
    return acov.mean(1)


def effective_sample_size(x: torch.Tensor) -> float:
    r"""Effective sample size: how many independent draws the chains are worth for a mean.

    .. math:: \mathrm{ESS} = \frac{S\,C}{\tau},\qquad \tau = -1 + 2\sum_{m=0}^{M}(\rho_{2m} + \rho_{2m+1})

    where the sum stops before the first negative pair (Geyer's initial positive sequence, 1992).

    Args:
        x: (S,) or (S, C) draws of one scalar from C chains.

    Returns:
        A float between about 1 and S C (it can exceed S C for anti-correlated chains).
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    x = x[:, None] if x.ndim == 1 else x  # (S, C)
    rho = autocorrelation(x)
    pairs = rho[: len(rho) // 2 * 2].reshape(-1, 2).sum(1)  # (rho_0 + rho_1, rho_2 + rho_3, ...)
    negative = (pairs <= 0).nonzero()
    kept = pairs[: int(negative[0]) if len(negative) else len(pairs)]
    tau = max(-1.0 + 2.0 * float(kept.sum()), 1.0 / x.numel())
    return x.numel() / tau


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""The squared energy distance between two samples (V-statistic).

    .. math:: \mathcal E(X, Y) = 2\,\mathbb E\lVert X - Y\rVert - \mathbb E\lVert X - X'\rVert
        - \mathbb E\lVert Y - Y'\rVert

    It is 0 exactly when the two distributions are equal (Székely & Rizzo, 2004).
    """
    x, y = (torch.as_tensor(v, dtype=torch.float64) for v in (x, y))
    x, y = (v[:, None] if v.ndim == 1 else v for v in (x, y))  # (N, D), (M, D)
    return 2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()


def energy_test(x: torch.Tensor, y: torch.Tensor, permutations: int = 500,
                seed: int | None = 0) -> tuple[float, float]:
    """A permutation two-sample test: ``(energy distance, p-value)``.

    The p-value is the fraction of random relabellings of the pooled sample (plus the observed
    one) whose energy distance is at least the observed one; under "same distribution" it is
    uniform, so ``p < 0.01`` happens 1 % of the time by chance.
    """
    x, y = (torch.as_tensor(v, dtype=torch.float64) for v in (x, y))
    x, y = (v[:, None] if v.ndim == 1 else v for v in (x, y))
    pooled = torch.cat([x, y])
    dist = torch.cdist(pooled, pooled)  # (M, M), M = N + N', computed once
    n, m = x.shape[0], y.shape[0]
    gen = torch_generator(seed)
    permutations = require_positive_int("permutations", permutations)
    orders = [torch.arange(n + m)] + [torch.randperm(n + m, generator=gen) for _ in range(permutations)]
    in_x = torch.zeros(n + m, len(orders), dtype=dist.dtype)  # (M, P): column p marks relabelling p's x
    in_x[torch.stack([o[:n] for o in orders], dim=1), torch.arange(len(orders))] = 1.0
    # a = the indicator of x: sum over (x, x') = a'Da, (x, y) = a'D1 - a'Da, (y, y') = 1'D1 - 2 a'D1 + a'Da
    xx = (in_x * (dist @ in_x)).sum(0)  # (P,)
    x_all = in_x.T @ dist.sum(1)  # (P,)
    xy, yy = x_all - xx, dist.sum() - 2 * x_all + xx
    stats = 2 * xy / (n * m) - xx / n**2 - yy / m**2
    return float(stats[0]), float((stats[1:] >= stats[0] - 1e-12).sum() + 1) / (1 + permutations)


# --------------------------------------------------------------------------------------------
# Gibbs sampling: completing a digit under a Bernoulli mixture
# --------------------------------------------------------------------------------------------


@dataclass
class GibbsCompletion:
    """What :func:`gibbs_complete` returns."""

    marginal: torch.Tensor  # (N, ...) fraction of kept samples with each pixel on (observed pixels kept)
    samples: torch.Tensor  # (chains, N, ...) the last state of every chain: binary completed images
    components: torch.Tensor  # (S, chains, N) the component z of every chain at every kept step


def gibbs_complete(mixture: BernoulliMixture, x: torch.Tensor, mask: torch.Tensor, steps: int,
                   burn_in: int = 10, chains: int = 1, collapsed: bool = False,
                   seed: int | None = None) -> GibbsCompletion:
    r"""Complete binary images by Gibbs sampling under a fitted Bernoulli mixture.

    Alternate the two conditionals, each easy to sample:

    .. math:: z \sim p(z\mid x_o, x_m) \propto \pi_z\prod_j \theta_{zj}^{x_j}(1-\theta_{zj})^{1-x_j},
        \qquad x_{m} \sim \prod_{j\in m}\mathrm{Bernoulli}(\theta_{zj})

    The chain's stationary distribution is :math:`p(z, x_m \mid x_o)`, so the fraction of kept steps
    with a pixel on estimates :math:`p(x_j = 1\mid x_o)` — exactly what ``mixture.complete`` computes in
    closed form. Missing pixels start as fair coin flips.

    With ``collapsed=True`` the z step sums the missing pixels out, :math:`z\sim p(z\mid x_o)` (as
    LDA's sampler sums out :math:`\theta` and :math:`\phi`): every step is then an exact, independent
    draw. The plain sampler mixes slowly when many pixels are missing: sampled pixels drawn from
    :math:`\theta_z` vote for the same z again, so a chain rarely changes component.

    Args:
        mixture: a fitted ``BernoulliMixture``.
        x: (N, ...) binary images; pixels where ``mask`` is False are ignored.
        mask: bool of the shape of ``x``, True where observed.
        steps: kept Gibbs steps (after ``burn_in``).
        burn_in: steps thrown away first.
        chains: independent chains per image, run as one batch.
        collapsed: sample z given the observed pixels only.
        seed: makes the run repeatable.
    """
    if mixture.theta is None:
        raise ValueError("mixture must be fitted first (BernoulliMixture(...).fit(x))")
    if not isinstance(mask, torch.Tensor) or mask.shape != x.shape:
        raise ValueError(f"mask must be a tensor of the shape of x {tuple(x.shape)}, got "
                         f"{tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__}")
    steps, chains = require_positive_int("steps", steps), require_positive_int("chains", chains)
    burn_in = require_int("burn_in", burn_in, 0)
    gen = torch_generator(seed)
    theta = mixture.theta.double()  # (K, D)
    log_t, log_1m, log_w = theta.log(), (-theta).log1p(), mixture.weights.double().log()
    n = x.shape[0]
    obs = mask.reshape(n, -1).bool().repeat(chains, 1)  # (chains N, D)
    current = torch.where(mask, x, 0.0).reshape(n, -1).double().repeat(chains, 1)  # (chains N, D)
    coins = torch.bernoulli(torch.full_like(current, 0.5), generator=gen)
    current = torch.where(obs, current, coins)
    votes = obs.double() if collapsed else torch.ones_like(current)  # which pixels inform z
    on, zs = torch.zeros_like(current), []
    for t in range(burn_in + steps):
        log_joint = (current * votes) @ log_t.T + ((1 - current) * votes) @ log_1m.T + log_w  # (chains N, K)
        z = torch.multinomial(torch.softmax(log_joint, dim=1), 1, generator=gen)[:, 0]  # (chains N,)
        fresh = torch.bernoulli(theta[z], generator=gen)  # (chains N, D)
        current = torch.where(obs, current, fresh)
        if t >= burn_in:
            on += current
            zs.append(z.reshape(chains, n))
    marginal = (on / steps).reshape(chains, n, -1).mean(0)  # (N, D)
    return GibbsCompletion(marginal.reshape(x.shape).float(), current.reshape(chains, *x.shape).float(),
                           torch.stack(zs))


# --------------------------------------------------------------------------------------------
# Langevin dynamics
# --------------------------------------------------------------------------------------------


def score_from_log_prob(log_prob: LogProb) -> Score:
    r"""The score :math:`\nabla_x \log p(x)` of a differentiable log-density, by autograd."""
    def score(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(log_prob(x).sum(), x)
        return grad
    return score


def langevin(score: Score, x0: torch.Tensor, steps: int, step_size: float, keep_every: int = 0,
             seed: int | None = None) -> ChainResult:
    r"""Unadjusted Langevin dynamics (no accept/reject step).

    .. math:: x_{t+1} = x_t + \frac{\epsilon}{2}\nabla_x\log p(x_t) + \sqrt{\epsilon}\,\xi_t,
        \qquad \xi_t\sim\mathcal N(0, I)

    As :math:`\epsilon\to 0` the chain samples :math:`p`; a finite :math:`\epsilon` samples a slightly
    wider distribution (for :math:`\mathcal N(0,\sigma^2)` the variance is :math:`\sigma^2/(1-\epsilon/4\sigma^2)`).

    Args:
        score: :math:`\nabla\log p`, (C, D) -> (C, D).
        x0: (C, D) starting points.
        steps: Langevin steps.
        step_size: :math:`\epsilon`.
        keep_every: keep every k-th state in ``samples`` (0: only the last).
        seed: makes the run repeatable.

    Returns:
        A :class:`ChainResult`: samples (S, C, D), acceptance rate 1.
    """
    steps, step_size = require_positive_int("steps", steps), require_positive_number("step_size", step_size)
    keep_every = require_int("keep_every", keep_every, 0)
    gen = torch_generator(seed)
    x = _start(x0)
    kept = [x] if keep_every else []
    for t in range(1, steps + 1):
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        x = x + 0.5 * step_size * score(x).to(x.dtype) + math.sqrt(step_size) * noise
        if keep_every and t % keep_every == 0:
            kept.append(x)
    if not torch.isfinite(x).all():
        raise FloatingPointError(f"Langevin dynamics diverged (non-finite states) with step_size={step_size}; "
                                 "use a smaller step")
    return ChainResult(torch.stack(kept) if kept else x[None], 1.0)
