r"""Divergences between distributions, and how well samples cover a known mixture (the math layer).

What notebooks 05, 06 and 09 measure: Gaussian KDEs of 1-D samples, KL and Jensen–Shannon
divergences on a grid, the optimal discriminator :math:`D^* = p_{data} / (p_{data} + p_g)`,
mode coverage of 2-D mixtures (VEEGAN/PacGAN's measure), and the earth mover's distance
:math:`W_1` with its best critic in one dimension. Pure functions on tensors: no state, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gan_course.validate import require_in_range, require_int, require_positive_number


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
        raise ValueError(f"bandwidth must be a positive number, got {h!r} (are all samples equal?)")
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


# --------------------------------------------------------------------------------------------
# --- 2-D GAN: mode coverage ---
# --------------------------------------------------------------------------------------------

def _check_points(name: str, t: object, dim: int | None = 2) -> torch.Tensor:
    """A float64 (N, d) tensor from ``t``, or a ValueError naming ``name``."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, 2), got {type(t).__name__}")
    if t.ndim != 2 or (dim is not None and t.shape[1] != dim) or t.shape[0] == 0:
        want = f"(N, {dim})" if dim is not None else "(N, d)"
        raise ValueError(f"{name} must have shape {want} with N > 0, got {tuple(t.shape)}")
    t = t.detach().double().cpu()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values ({int((~torch.isfinite(t)).sum())} of them)")
    return t


@dataclass(frozen=True)
class ModeCoverage:
    """How many modes of a Gaussian mixture a set of samples covers, and how well (``mode_coverage``)."""

    modes_covered: int  # modes with at least one high-quality sample nearest to them
    modes_covered_strict: int  # modes holding at least 1 % of all samples as high-quality samples
    num_modes: int  # K, the number of mixture components
    high_quality: float  # fraction of samples within 3 std of their nearest center
    reverse_kl: float  # KL(histogram of high-quality samples over modes || uniform), nats
    counts: torch.Tensor  # (K,) high-quality samples nearest to each mode

    @property
    def all_modes(self) -> bool:
        """True when every mode is covered."""
        return self.modes_covered == self.num_modes

    def as_dict(self) -> dict:
        """Plain numbers (for tables and JSON); ``counts`` becomes a list."""
        return {"modes_covered": self.modes_covered, "modes_covered_strict": self.modes_covered_strict,
                "num_modes": self.num_modes, "high_quality": self.high_quality,
                "reverse_kl": self.reverse_kl, "counts": self.counts.tolist()}


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float,
                  num_std: float = 3.0, min_fraction: float = 0.01) -> ModeCoverage:
    r"""Modes covered and high-quality fraction of samples from a Gaussian mixture's modes.

    The measure of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018). With
    :math:`c(x) = \arg\min_k \lVert x - \mu_k \rVert` the nearest center,

    .. math::
        \text{high quality}(x) = \big[\lVert x - \mu_{c(x)} \rVert \le 3\sigma\big],\qquad
        n_k = \#\{x : \text{high quality}(x),\ c(x) = k\}

    a mode is *covered* when :math:`n_k \ge 1`, and *strictly covered* when
    :math:`n_k \ge 0.01\,N`. The reverse KL compares the histogram :math:`\hat p_k = n_k / \sum_j n_j`
    with the uniform weights of the mixture:

    .. math:: \mathrm{KL}(\hat p \,\|\, U) = \sum_k \hat p_k \log(K \hat p_k) \in [0, \log K]

    (0 when the high-quality samples are spread evenly; :math:`\log K` when they all sit on one
    mode; ``inf`` when no sample is of high quality).

    Args:
        samples: (N, 2) generated samples.
        centers: (K, 2) the mixture's means (``data.toy_modes(name)[0]``).
        std: the components' standard deviation (``data.toy_modes(name)[1]``).
        num_std: the radius, in std, of a high-quality sample (3 in the papers).
        min_fraction: the share of all samples a mode needs to be strictly covered (1 %).

    Returns:
        A ``ModeCoverage``.

    >>> centers = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> r = mode_coverage(torch.tensor([[0.0, 0.0], [0.01, 0.0], [5.0, 5.0]]), centers, 0.01)
    >>> r.modes_covered, round(r.high_quality, 3), round(r.reverse_kl, 4)
    (1, 0.667, 0.6931)
    """
    x = _check_points("samples", samples)
    c = _check_points("centers", centers)
    require_positive_number("std", std)
    require_in_range("min_fraction", min_fraction, 0, 1)
    dist = torch.cdist(x, c)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,), (N,)
    good = nearest_dist <= num_std * std  # (N,)
    counts = torch.bincount(nearest[good], minlength=len(c))  # (K,)
    n_good = int(counts.sum())
    if n_good == 0:
        reverse_kl = math.inf
    else:
        p = counts.double() / n_good  # (K,)
        terms = torch.where(p > 0, p * torch.log(len(c) * p.clamp_min(1e-300)), torch.zeros_like(p))
        reverse_kl = float(terms.sum().clamp_min(0.0))
    return ModeCoverage(modes_covered=int((counts >= 1).sum()),
                        modes_covered_strict=int((counts >= max(1.0, min_fraction * len(x))).sum()),
                        num_modes=len(c), high_quality=n_good / len(x), reverse_kl=reverse_kl, counts=counts)


def grid_density_2d(samples: torch.Tensor, bounds: tuple[float, float, float, float], bins: int = 64,
                    bandwidth: float = 0.05) -> torch.Tensor:
    r"""A Gaussian KDE of 2-D samples tabulated on a ``bins`` x ``bins`` grid, as probabilities.

    .. math:: P_{ij} \propto \sum_n \varphi\!\Big(\frac{u_i - x_n}{h}\Big)\,\varphi\!\Big(\frac{v_j - y_n}{h}\Big)

    at the cell centers :math:`(u_i, v_j)`, normalised so that :math:`\sum_{ij} P_{ij} = 1`. The
    kernel is separable, so the table is one (bins, N) x (N, bins) matrix product.

    Args:
        samples: (N, 2).
        bounds: ``(x_min, x_max, y_min, y_max)`` of the grid.
        bins: cells per axis.
        bandwidth: the kernel's h (same units as the samples).

    Returns:
        (bins, bins) float64 probabilities; row i is x-cell i, column j is y-cell j.
    """
    x = _check_points("samples", samples)
    x_min, x_max, y_min, y_max = (float(b) for b in bounds)
    if not (x_min < x_max and y_min < y_max):
        raise ValueError(f"bounds must be (x_min, x_max, y_min, y_max) with min < max, got {bounds!r}")
    require_int("bins", bins, 2)
    require_positive_number("bandwidth", bandwidth)

    def axis_weights(lo: float, hi: float, values: torch.Tensor) -> torch.Tensor:
        step = (hi - lo) / bins
        centers = lo + step * (torch.arange(bins, dtype=torch.float64) + 0.5)  # (bins,)
        return torch.exp(-0.5 * ((centers[:, None] - values[None, :]) / bandwidth) ** 2)  # (bins, N)

    table = axis_weights(x_min, x_max, x[:, 0]) @ axis_weights(y_min, y_max, x[:, 1]).T  # (bins, bins)
    total = table.sum()
    if total <= 0:
        raise ValueError("no sample lies near the grid: widen bounds or the bandwidth")
    return table / total


def kl_js_2d(x: torch.Tensor, x_fake: torch.Tensor, bounds: tuple[float, float, float, float],
             bins: int = 64, bandwidth: float = 0.05, floor: float = 1e-10) -> tuple[float, float]:
    r"""KL and JS divergence between real and generated 2-D samples, estimated on a grid (nats).

    Both sample sets become tables :math:`P, Q` (``grid_density_2d``); with a tiny floor
    :math:`\epsilon` added to each cell (and renormalised) so that an empty cell does not make
    KL infinite,

    .. math::
        \mathrm{KL}(P \,\|\, Q) = \sum_{ij} P_{ij} \log\frac{P_{ij}}{Q_{ij}},\qquad
        \mathrm{JS}(P, Q) = \tfrac12 \mathrm{KL}(P \,\|\, M) + \tfrac12 \mathrm{KL}(Q \,\|\, M),\
        M = \tfrac12 (P + Q).

    JS lies in :math:`[0, \log 2]`. The KL is the *forward* one, :math:`\mathrm{KL}(p_{data} \,\|\, p_g)`:
    it blows up when the generator misses a mode.

    Returns:
        ``(kl, js)`` as floats.
    """
    p = grid_density_2d(x, bounds, bins, bandwidth) + floor  # (bins, bins)
    q = grid_density_2d(x_fake, bounds, bins, bandwidth) + floor  # (bins, bins)
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)
    kl = float((p * (p / q).log()).sum())
    js = float(0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum())
    return kl, js


# --------------------------------------------------------------------------------------------
# --- The earth mover's distance in one dimension (notebook 09) ---
# --------------------------------------------------------------------------------------------


def _as_1d_sample(name: str, t: object) -> torch.Tensor:
    """Any 1-D array-like -> a finite float64 tensor (N,), N > 0."""
    t = torch.as_tensor(t, dtype=torch.float64).detach().cpu()
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sample, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf")
    return t


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> float:
    r"""Earth mover's distance between two 1-D samples of the same size.

    .. math:: W_1(\hat P_a, \hat P_b) = \int |F_a(t) - F_b(t)|\,dt
              = \frac1n \sum_{i=1}^n |a_{(i)} - b_{(i)}|

    where :math:`a_{(i)}` is the i-th smallest value: the cheapest transport plan moves the
    i-th smallest grain of one pile onto the i-th smallest of the other.

    Args:
        a: a sample, shape (n,).
        b: another sample, shape (n,).

    Returns:
        The distance, a float >= 0 (in the units of the samples).

    >>> wasserstein_1d(torch.tensor([3.0, 0.0]), torch.tensor([1.0, 2.0]))
    1.0
    """
    a, b = _as_1d_sample("a", a), _as_1d_sample("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same size, got {a.numel()} and {b.numel()} "
                         "(scipy.stats.wasserstein_distance handles unequal sizes)")
    return float((a.sort().values - b.sort().values).abs().mean())


def optimal_critic_1d(a: torch.Tensor, b: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    r"""The best 1-Lipschitz critic between two 1-D samples, on a grid (Kantorovich-Rubinstein).

    Integrating by parts, :math:`\mathbb E_a f - \mathbb E_b f = \int f'(t)\,(F_b(t) - F_a(t))\,dt`,
    which a slope :math:`|f'| \le 1` makes largest with :math:`f' = \operatorname{sign}(F_b - F_a)`:

    .. math:: f^*(x) = \int_{t_0}^{x} \operatorname{sign}\big(F_b(t) - F_a(t)\big)\,dt,
              \qquad \mathbb E_a f^* - \mathbb E_b f^* = W_1.

    The critic climbs where ``a`` has more mass to its right than ``b`` and is flat where the
    CDFs agree; it is defined up to a constant (here :math:`f^*(t_0) = 0`).

    Args:
        a: the sample the critic scores high ("real"), shape (n,).
        b: the sample it scores low ("fake"), shape (m,).
        grid: increasing points, shape (G,), covering both samples.

    Returns:
        :math:`f^*` on the grid, shape (G,), float64.

    >>> optimal_critic_1d(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0, 1.0, 2.0]))
    tensor([0., 1., 1.], dtype=torch.float64)
    """
    a, b, grid = _as_1d_sample("a", a), _as_1d_sample("b", b), _as_1d_sample("grid", grid)
    if grid.numel() > 1 and not (grid.diff() > 0).all():
        raise ValueError("grid must be strictly increasing")
    cdf = lambda s: (s[None, :] <= grid[:, None]).double().mean(1)  # noqa: E731  (G,)
    slope = torch.sign(cdf(b) - cdf(a))[:-1]  # (G - 1,) on each interval [t_j, t_j+1)
    steps = slope * grid.diff()  # (G - 1,)
    return torch.cat([torch.zeros(1, dtype=torch.float64), steps.cumsum(0)])  # (G,)
