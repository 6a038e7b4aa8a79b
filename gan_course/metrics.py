"""Measures of generative models: likelihoods in bits/dim and the image metrics (the math layer).

Bits per dimension for the density models; the classifier score, FID, KID, precision/recall,
the class histogram and the confusion matrix for generated digits. Nothing here holds state or
touches files; each function names the quantity it computes and, where there is one, its
equation. The divergences and mode coverage of notebooks 05, 06 and 09 live in
:mod:`gan_course.divergences` and are importable from here too.
"""

from __future__ import annotations

import math

import torch

from gan_course.divergences import (ModeCoverage, dstar_max_error, grid_density_2d, js_divergence_grid,
                                    js_to_samples, kde_1d, kl_divergence_grid, kl_js_2d, kl_to_samples,
                                    log_kde_1d, mode_coverage, optimal_critic_1d, optimal_discriminator,
                                    scott_bandwidth, wasserstein_1d)
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


__all__ = [
    # this module
    "bits_per_dim", "classifier_score", "frechet_distance", "mean_and_covariance", "fid_from_features", "kid",
    "precision_recall_knn", "class_histogram", "confusion_matrix",
    # re-exported from gan_course.divergences (their home since the package was split)
    "ModeCoverage", "dstar_max_error", "grid_density_2d", "js_divergence_grid", "js_to_samples", "kde_1d",
    "kl_divergence_grid", "kl_js_2d", "kl_to_samples", "log_kde_1d", "mode_coverage", "optimal_critic_1d",
    "optimal_discriminator", "scott_bandwidth", "wasserstein_1d",
]
