"""Measures of generative models: pure functions on tensors (the math layer).

Nothing here holds state or touches files; each function names the quantity it computes and,
where there is one, its equation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gan_course.validate import require_positive_int


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
    require_positive_int("num_dims", num_dims)
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
    if not (isinstance(std, (int, float)) and math.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive number, got {std!r}")
    if not 0 <= min_fraction <= 1:
        raise ValueError(f"min_fraction must be in [0, 1], got {min_fraction!r}")
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
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise ValueError(f"bins must be an int >= 2, got {bins!r}")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")

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
# --- Image GAN evaluation: classifier score, FID, KID, precision/recall, class histogram ---
# --------------------------------------------------------------------------------------------
# These take class probabilities or classifier features (gan_course.classifier makes them); they
# know nothing about images. Sums run in float64: FID subtracts numbers of similar size.


def _check_matrix(name: str, t: object, min_rows: int = 1) -> torch.Tensor:
    """A 2-D tensor with at least ``min_rows`` rows, as float64; else a ValueError naming ``name``."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, D), got {type(t).__name__}")
    if t.ndim != 2 or t.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, D), got {tuple(t.shape)}")
    if t.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows (samples), got {t.shape[0]}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return t.detach().to(torch.float64)


def _check_same_dim(name1: str, f1: torch.Tensor, name2: str, f2: torch.Tensor) -> None:
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"{name1} and {name2} must have the same feature size D, "
                         f"got {tuple(f1.shape)} and {tuple(f2.shape)}")


def classifier_score(probs: torch.Tensor, splits: int = 1) -> float:
    r"""The Inception Score (Salimans et al., 2016) computed with any classifier's probabilities.

    .. math::
        \mathrm{IS} = \exp\Big(\mathbb{E}_{x}\, \mathrm{KL}\big(p(y \mid x) \,\|\, p(y)\big)\Big),
        \qquad p(y) = \mathbb{E}_x\, p(y \mid x)

    It lies in :math:`[1, K]`: :math:`K` when every sample is classified with confidence and the
    classes are used evenly, 1 when all samples get the same prediction. With ``splits`` > 1 the
    samples are cut into that many equal parts and the mean of the parts' scores is returned (the
    original protocol uses 10 splits; it gives a slightly lower number on small sets).

    Args:
        probs: (N, K) class probabilities, each row summing to 1.
        splits: number of equal parts to score separately.

    Returns:
        The score, a float.

    >>> classifier_score(torch.eye(4).repeat(5, 1))  # confident and balanced: K
    4.0
    >>> classifier_score(torch.tensor([[0.0, 1.0]]).repeat(6, 1))  # one class: 1
    1.0
    """
    p = _check_matrix("probs", probs)
    splits = int(require_positive_int("splits", splits))
    if splits > len(p):
        raise ValueError(f"splits must be at most the number of samples N={len(p)}, got {splits}")
    if (p < 0).any() or not torch.allclose(p.sum(dim=1), torch.ones(len(p), dtype=p.dtype), atol=1e-4):
        raise ValueError("probs must hold probabilities: non-negative rows that sum to 1 "
                         "(apply softmax to logits first)")
    scores = []
    for part in torch.tensor_split(p, splits):  # splits x (n, K)
        marginal = part.mean(dim=0, keepdim=True)  # (1, K)
        # 0 log 0 = 0: where p(y|x) = 0 the term vanishes, whatever p(y) is
        terms = torch.where(part > 0, part * (part.clamp_min(1e-300).log() - marginal.clamp_min(1e-300).log()),
                            torch.zeros_like(part))  # (n, K)
        scores.append(math.exp(float(terms.sum(dim=1).mean())))
    return sum(scores) / len(scores)


def _sqrtm_psd(s: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric PSD matrix, by its eigen-decomposition."""
    vals, vecs = torch.linalg.eigh(s)  # (D,), (D, D)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T  # (D, D)


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    r"""The Fréchet (2-Wasserstein) distance between two Gaussians, squared (Dowson & Landau, 1982).

    .. math::
        d^2 = \lVert \mu_1 - \mu_2 \rVert^2
              + \operatorname{Tr}\big(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2}\big)

    The trace of the matrix square root is computed stably: :math:`\Sigma_1\Sigma_2` is not
    symmetric, but it is similar to :math:`M = \Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}`, which is
    symmetric PSD, so :math:`\operatorname{Tr}(\Sigma_1\Sigma_2)^{1/2} = \sum_i \sqrt{\lambda_i(M)}`
    (eigenvalues from ``torch.linalg.eigh``, tiny negative round-off clamped to 0). All in float64.

    Args:
        mu1, mu2: (D,) means.
        sigma1, sigma2: (D, D) covariance matrices (symmetric PSD).

    Returns:
        :math:`d^2 \ge 0` as a float (this is what "FID" reports: no square root is taken).

    >>> frechet_distance(torch.zeros(2), torch.eye(2), torch.tensor([3.0, 4.0]), 4 * torch.eye(2))
    27.0
    """
    tensors = {"mu1": mu1, "sigma1": sigma1, "mu2": mu2, "sigma2": sigma2}
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    d = mu1.shape[0] if mu1.ndim == 1 else -1
    for name, t, shape in (("mu1", mu1, (d,)), ("mu2", mu2, (d,)), ("sigma1", sigma1, (d, d)),
                           ("sigma2", sigma2, (d, d))):
        if d <= 0 or tuple(t.shape) != shape:
            raise ValueError(f"{name} must have shape {shape if d > 0 else '(D,) for mu1'} to match "
                             f"mu1 of shape {tuple(mu1.shape)}, got {tuple(t.shape)}")
    mu1, mu2, sigma1, sigma2 = (t.detach().to(torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    sigma1 = 0.5 * (sigma1 + sigma1.T)  # symmetrise away round-off
    sigma2 = 0.5 * (sigma2 + sigma2.T)
    root1 = _sqrtm_psd(sigma1)  # (D, D)
    middle = root1 @ sigma2 @ root1  # (D, D), symmetric PSD
    trace_sqrt = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp_min(0).sqrt().sum()
    d2 = (mu1 - mu2).pow(2).sum() + torch.trace(sigma1) + torch.trace(sigma2) - 2 * trace_sqrt
    return max(float(d2), 0.0)


def mean_and_covariance(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sample mean and unbiased covariance :math:`\frac{1}{N-1}\sum_i (f_i-\mu)(f_i-\mu)^\top`, float64.

    Args:
        features: (N, D) with N >= 2.

    Returns:
        ``(mu (D,), sigma (D, D))``.
    """
    f = _check_matrix("features", features, min_rows=2)
    mu = f.mean(dim=0)  # (D,)
    centered = f - mu  # (N, D)
    return mu, centered.T @ centered / (len(f) - 1)  # (D,), (D, D)


def fid_from_features(f1: torch.Tensor, f2: torch.Tensor) -> float:
    r"""The Fréchet Inception Distance (Heusel et al., 2017) between two sets of features.

    Fit a Gaussian to each set (sample mean, unbiased covariance) and return
    ``frechet_distance`` between them. FID is biased upwards at small N: compare numbers only at
    the same N (the course uses N = 1,000), and next to the real-vs-real floor at that N.

    Args:
        f1: (N, D) features of one set, N >= 2.
        f2: (M, D) features of the other, M >= 2.

    Returns:
        FID, a float >= 0 (0 for a set against itself).

    >>> f = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    >>> round(fid_from_features(f, f), 8)
    0.0
    """
    a = _check_matrix("f1", f1, min_rows=2)
    b = _check_matrix("f2", f2, min_rows=2)
    _check_same_dim("f1", a, "f2", b)
    return frechet_distance(*mean_and_covariance(a), *mean_and_covariance(b))


def _poly_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (x.y / d + 1)^3 for every pair of rows: (n, D), (m, D) -> (n, m)."""
    return (a @ b.T / a.shape[1] + 1) ** 3


def kid(f1: torch.Tensor, f2: torch.Tensor, num_subsets: int = 100, subset_size: int = 100,
        seed: int = 0) -> tuple[float, float]:
    r"""The Kernel Inception Distance (Bińkowski et al., 2018): unbiased MMD² with a cubic kernel.

    .. math::
        k(x, y) = \Big(\tfrac{1}{D} x^\top y + 1\Big)^3,\qquad
        \widehat{\mathrm{MMD}}^2 = \frac{\sum_{i \ne j} k(x_i, x_j)}{m(m-1)}
          + \frac{\sum_{i \ne j} k(y_i, y_j)}{m(m-1)} - \frac{2}{m^2}\sum_{i, j} k(x_i, y_j)

    computed on ``num_subsets`` random subsets of ``subset_size`` rows drawn (without
    replacement) from each set, as torchmetrics does. Unlike FID the estimate is unbiased, so it
    can be slightly negative when the two sets come from the same distribution.

    Args:
        f1: (N, D) features; f2: (M, D) features.
        num_subsets: how many subsets to average over.
        subset_size: m, rows per subset, at most min(N, M) and at least 2.
        seed: seeds the subset draws, so the result is repeatable.

    Returns:
        ``(mean, std)`` of MMD² over the subsets (std with ddof=0, as torchmetrics).

    >>> f = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    >>> mean, std = kid(f, f + 3.0, num_subsets=5, subset_size=20)
    >>> mean > 1.0
    True
    """
    a = _check_matrix("f1", f1)
    b = _check_matrix("f2", f2)
    _check_same_dim("f1", a, "f2", b)
    num_subsets = require_positive_int("num_subsets", num_subsets)
    subset_size = require_positive_int("subset_size", subset_size)
    if not 2 <= subset_size <= min(len(a), len(b)):
        raise ValueError(f"subset_size must be between 2 and the smaller set's size "
                         f"min(N, M)={min(len(a), len(b))}, got {subset_size}")
    generator = torch.Generator().manual_seed(int(seed))
    m = subset_size
    values = torch.empty(num_subsets, dtype=torch.float64)
    for s in range(num_subsets):
        x = a[torch.randperm(len(a), generator=generator)[:m]]  # (m, D)
        y = b[torch.randperm(len(b), generator=generator)[:m]]  # (m, D)
        k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)  # 3 x (m, m)
        within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
        values[s] = within - 2 * k_xy.mean()
    return float(values.mean()), float(values.std(unbiased=False))


def _kth_neighbour_radius(f: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each row of ``f`` to its k-th nearest other row: (N, D) -> (N,)."""
    radii = []
    for rows in torch.split(f, chunk):  # (c, D)
        dist = torch.cdist(rows, f)  # (c, N)
        radii.append(dist.kthvalue(k + 1, dim=1).values)  # + 1: the row itself sits at distance 0
    return torch.cat(radii)  # (N,)


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """For each point, whether it lies in some ball B(centre_i, radius_i): -> (P,) bool."""
    inside = []
    for rows in torch.split(points, chunk):  # (c, D)
        dist = torch.cdist(rows, centres)  # (c, N)
        inside.append((dist <= radii[None, :]).any(dim=1))  # (c,)
    return torch.cat(inside)


def precision_recall_knn(real_feats: torch.Tensor, fake_feats: torch.Tensor, k: int = 3,
                         chunk: int = 1024) -> tuple[float, float]:
    r"""Improved precision and recall (Kynkäänniemi et al., 2019) by k-nearest-neighbour balls.

    Each set's manifold is estimated as the union of balls around its points, each ball reaching
    to the point's k-th nearest neighbour in the same set:

    .. math::
        \mathrm{manifold}(\Phi) = \bigcup_{\phi \in \Phi} B\big(\phi, \lVert \phi - \mathrm{NN}_k(\phi)\rVert\big),
        \quad
        \mathrm{precision} = \frac{1}{|\Phi_g|}\sum_{\phi \in \Phi_g} [\phi \in \mathrm{manifold}(\Phi_r)],
        \quad
        \mathrm{recall} = \frac{1}{|\Phi_r|}\sum_{\phi \in \Phi_r} [\phi \in \mathrm{manifold}(\Phi_g)]

    Precision is the share of generated samples that look real (quality); recall the share of
    real samples the generator covers (diversity). Distances by ``torch.cdist`` in chunks of rows.

    Args:
        real_feats: (N, D) features of real samples, N > k.
        fake_feats: (M, D) features of generated samples, M > k.
        k: the neighbour that sets each ball's radius (3 in the paper).
        chunk: rows per distance block (memory is chunk x N).

    Returns:
        ``(precision, recall)``, each in [0, 1].

    >>> real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    >>> precision_recall_knn(real, torch.tensor([[1.5], [2.5], [9.0], [10.0]]), k=1)
    (0.5, 0.75)
    """
    k = require_positive_int("k", k)
    chunk = require_positive_int("chunk", chunk)
    real = _check_matrix("real_feats", real_feats, min_rows=k + 1)
    fake = _check_matrix("fake_feats", fake_feats, min_rows=k + 1)
    _check_same_dim("real_feats", real, "fake_feats", fake)
    real_radii = _kth_neighbour_radius(real, k, chunk)  # (N,)
    fake_radii = _kth_neighbour_radius(fake, k, chunk)  # (M,)
    precision = float(_inside_any_ball(fake, real, real_radii, chunk).double().mean())
    recall = float(_inside_any_ball(real, fake, fake_radii, chunk).double().mean())
    return precision, recall


def class_histogram(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    r"""The fraction of samples given each class: :math:`h_c = \frac{1}{N}\sum_i [y_i = c]`.

    Args:
        labels: (N,) integer class labels in ``[0, num_classes)``.
        num_classes: K.

    Returns:
        (K,) float64 fractions summing to 1.

    >>> class_histogram(torch.tensor([0, 2, 2, 1]), 4)
    tensor([0.2500, 0.2500, 0.5000, 0.0000], dtype=torch.float64)
    """
    num_classes = require_positive_int("num_classes", num_classes)
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or len(labels) == 0:
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a non-empty tensor of shape (N,), got {shape}")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must hold integers, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
                         f"got values in [{int(labels.min())}, {int(labels.max())}]")
    return torch.bincount(labels.cpu(), minlength=num_classes).double() / len(labels)  # (K,)


# --------------------------------------------------------------------------------------------
# --- Notebook 08: conditional GANs ---
# --------------------------------------------------------------------------------------------


def confusion_matrix(y_requested: torch.Tensor, y_predicted: torch.Tensor, num_classes: int) -> torch.Tensor:
    r"""Counts of requested vs classified classes: :math:`C_{jk} = \#\{i : y^{req}_i = j,\ \hat y_i = k\}`.

    Row :math:`j` is what was asked for, column :math:`k` what the classifier saw; the diagonal
    holds the hits, so :math:`\operatorname{tr} C / N` is the "asked for k, classified as k" accuracy.

    Args:
        y_requested: (N,) the class each sample was asked for (a conditional GAN's y).
        y_predicted: (N,) the class a classifier gives it.
        num_classes: K.

    Returns:
        (K, K) int64 counts.

    >>> confusion_matrix(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]), 2)
    tensor([[1, 1],
            [0, 1]])
    """
    class_histogram(y_requested, num_classes)  # the same checks on each labelling (shape, dtype, range)
    class_histogram(y_predicted, num_classes)
    if y_requested.shape != y_predicted.shape:
        raise ValueError(f"y_requested and y_predicted must have the same shape, got {tuple(y_requested.shape)} "
                         f"and {tuple(y_predicted.shape)}")
    flat = y_requested.cpu().long() * num_classes + y_predicted.cpu().long()  # (N,) index of cell (j, k)
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)  # (K, K)


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
