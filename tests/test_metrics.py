"""Measures of generative models: bits/dim, and the image GAN metrics (classifier score, FID, KID,
precision/recall, class histogram, confusion matrix).

Oracles: closed forms, scipy.linalg.sqrtm, the closed form of the Fréchet distance between
Gaussians, a direct double-loop MMD, point sets whose k-NN balls are known by hand, numpy's
bincount and scikit-learn's confusion matrix.
"""

import math

import numpy as np
import pytest
import torch
from scipy import linalg
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from gan_course import divergences, metrics


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Small matrices on a shared machine: one torch thread is fastest and steadiest."""


def gaussian_features(n, d, seed, shift=0.0):
    """n draws of one correlated Gaussian in d dimensions (the same for every seed), plus shift."""
    mix = torch.randn(d, d, generator=torch.Generator().manual_seed(1234), dtype=torch.float64) / math.sqrt(d)
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mix + shift


def scipy_fid(f1, f2):
    """The reference implementation (pytorch-fid / TTUR): scipy.linalg.sqrtm of S1 S2."""
    a, b = f1.numpy(), f2.numpy()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# --- classifier score ---


def test_classifier_score_is_k_for_confident_balanced_and_1_for_one_class():
    assert metrics.classifier_score(torch.eye(10).repeat(30, 1)) == pytest.approx(10.0, rel=1e-12)
    one_class = torch.zeros(50, 10)
    one_class[:, 3] = 1
    assert metrics.classifier_score(one_class) == pytest.approx(1.0, abs=1e-12)
    uniform = torch.full((20, 10), 0.1)  # unsure about everything: no information
    assert metrics.classifier_score(uniform) == pytest.approx(1.0, abs=1e-12)


def test_classifier_score_matches_the_definition_and_splits_average():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(60, 5, generator=g, dtype=torch.float64), dim=1)
    p = probs.numpy()

    def reference(part):
        marginal = part.mean(0)
        return math.exp(np.mean(np.sum(part * (np.log(part) - np.log(marginal)), axis=1)))

    assert metrics.classifier_score(probs) == pytest.approx(reference(p), rel=1e-10)
    expected = np.mean([reference(p[i * 20:(i + 1) * 20]) for i in range(3)])
    assert metrics.classifier_score(probs, splits=3) == pytest.approx(expected, rel=1e-10)


def test_classifier_score_rejects_bad_input():
    with pytest.raises(ValueError, match=r"probs must have shape \(N, D\)"):
        metrics.classifier_score(torch.ones(10))
    with pytest.raises(ValueError, match="softmax"):
        metrics.classifier_score(torch.randn(10, 4))
    with pytest.raises(ValueError, match="splits must be at most"):
        metrics.classifier_score(torch.eye(4), splits=5)
    with pytest.raises(ValueError, match="splits must be a positive int, got 0"):
        metrics.classifier_score(torch.eye(4), splits=0)


# --- FID ---


def test_fid_of_a_set_with_itself_is_zero():
    f = gaussian_features(500, 32, seed=0)
    assert metrics.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-8)
    # also with a rank-deficient covariance (fewer samples than dimensions)
    g = gaussian_features(20, 64, seed=1)
    assert metrics.fid_from_features(g, g) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fid_matches_scipy_sqrtm(seed):
    f1 = gaussian_features(400, 16, seed=seed)
    f2 = gaussian_features(300, 16, seed=seed + 10, shift=0.3) * 1.5
    assert metrics.fid_from_features(f1, f2) == pytest.approx(scipy_fid(f1, f2), rel=1e-6)
    # float32 input is computed in float64 all the same
    assert metrics.fid_from_features(f1.float(), f2.float()) == pytest.approx(scipy_fid(f1, f2), rel=1e-4)


def test_frechet_distance_closed_forms():
    # commuting (diagonal) covariances: d^2 = |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 0.25])
    mu1, mu2 = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 0.0, 1.0])
    expected = float((mu1 - mu2).pow(2).sum() + (a.sqrt() - b.sqrt()).pow(2).sum())
    assert metrics.frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, rel=1e-12)
    # same covariance (any, even non-diagonal): only the means count
    s = gaussian_features(100, 5, seed=3).T.cov()
    assert metrics.frechet_distance(mu1[:1].repeat(5), s, torch.zeros(5), s) == pytest.approx(5.0, rel=1e-9)
    # a rotated copy of a covariance: Tr(S1 S2)^(1/2) of non-commuting matrices, by scipy
    rot = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))[0]
    s1, s2 = torch.diag(a.double()), rot @ torch.diag(b.double()) @ rot.T
    ref = float(np.trace(s1.numpy() + s2.numpy() - 2 * linalg.sqrtm(s1.numpy() @ s2.numpy()).real))
    assert metrics.frechet_distance(torch.zeros(3), s1, torch.zeros(3), s2) == pytest.approx(ref, rel=1e-9)


def test_fid_of_two_large_gaussian_samples_approaches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    n = 200_000
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)  # N(0, I)
    y = torch.randn(n, 2, generator=g, dtype=torch.float64) * 2 + torch.tensor([3.0, 4.0])  # N((3,4), 4I)
    assert metrics.fid_from_features(x, y) == pytest.approx(25 + 2 * (2 - 1) ** 2, rel=0.01)  # 27


def test_fid_rejects_bad_shapes():
    with pytest.raises(ValueError, match="f1 needs at least 2 rows"):
        metrics.fid_from_features(torch.zeros(1, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"same feature size D, got \(5, 3\) and \(5, 4\)"):
        metrics.fid_from_features(torch.randn(5, 3), torch.randn(5, 4))
    with pytest.raises(ValueError, match=r"f2 must have shape \(N, D\)"):
        metrics.fid_from_features(torch.randn(5, 3), torch.randn(5, 3, 1))
    with pytest.raises(ValueError, match=r"sigma2 must have shape \(3, 3\)"):
        metrics.frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(3), torch.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        metrics.fid_from_features(torch.full((5, 3), float("nan")), torch.randn(5, 3))


# --- KID ---


def mmd2_loops(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3, written as plain loops."""
    m, d = len(x), x.shape[1]
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    return xx + yy - 2 * xy


def test_kid_with_one_full_subset_matches_the_loop_formula():
    x, y = gaussian_features(12, 4, seed=0), gaussian_features(12, 4, seed=1, shift=0.5)
    mean, std = metrics.kid(x, y, num_subsets=3, subset_size=12)  # every subset is the whole set
    assert mean == pytest.approx(mmd2_loops(x, y), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    a, b = gaussian_features(600, 8, seed=0), gaussian_features(600, 8, seed=1)
    same_mean, same_std = metrics.kid(a, b, num_subsets=50, subset_size=200)
    assert abs(same_mean) < 3 * same_std + 1e-3
    shifted_mean, shifted_std = metrics.kid(a, b + 1.0, num_subsets=50, subset_size=200)
    assert shifted_mean > 0.1 and shifted_mean > 10 * same_std


def test_kid_is_repeatable_with_its_seed():
    a, b = gaussian_features(300, 8, seed=0), gaussian_features(300, 8, seed=1)
    assert metrics.kid(a, b, 10, 50, seed=4) == metrics.kid(a, b, 10, 50, seed=4)
    assert metrics.kid(a, b, 10, 50, seed=4) != metrics.kid(a, b, 10, 50, seed=5)


def test_kid_rejects_bad_arguments():
    a = torch.randn(20, 3)
    with pytest.raises(ValueError, match=r"subset_size must be between 2 and .*min\(N, M\)=10, got 15"):
        metrics.kid(a, a[:10], subset_size=15)
    with pytest.raises(ValueError, match="num_subsets must be a positive int, got 0"):
        metrics.kid(a, a, num_subsets=0, subset_size=5)
    with pytest.raises(ValueError, match="same feature size"):
        metrics.kid(a, torch.randn(20, 4), subset_size=5)


# --- precision / recall ---


def test_precision_recall_on_points_with_known_balls():
    real = torch.arange(10, dtype=torch.float64)[:, None]  # 0..9 on a line: k=1 radius 1 everywhere
    fake = torch.tensor([[0.5], [4.0], [9.9], [20.0], [30.0]], dtype=torch.float64)
    # fakes inside a real ball: 0.5, 4.0, 9.9 -> 3 of 5.  Fake radii (k=1): 3.5, 3.5, 5.9, 10, 10,
    # so every real point lies within 3.5 of 0.5 or 4.0, or within 5.9 of 9.9 -> recall 1.
    assert metrics.precision_recall_knn(real, fake, k=1) == (pytest.approx(0.6), pytest.approx(1.0))
    # far-apart fake pairs: each fake ball has radius 0.1 and holds no real point
    tight = torch.tensor([[100.0], [100.1], [200.0], [200.1]], dtype=torch.float64)
    assert metrics.precision_recall_knn(real, tight, k=1) == (0.0, 0.0)


def test_precision_recall_identical_sets_and_collapse():
    x = gaussian_features(300, 5, seed=0)
    assert metrics.precision_recall_knn(x, x, k=3) == (1.0, 1.0)
    collapsed = x[:1].repeat(50, 1) + 1e-6 * gaussian_features(50, 5, seed=1)  # one point, copied
    precision, recall = metrics.precision_recall_knn(x, collapsed, k=3)
    assert precision == 1.0 and recall < 0.05  # looks real, covers almost nothing


def test_precision_recall_does_not_depend_on_the_chunk_size():
    real, fake = gaussian_features(130, 4, seed=0), gaussian_features(90, 4, seed=1, shift=0.4)
    assert metrics.precision_recall_knn(real, fake, k=3, chunk=7) == metrics.precision_recall_knn(real, fake, k=3)


def test_precision_recall_rejects_bad_input():
    with pytest.raises(ValueError, match="fake_feats needs at least 4 rows"):
        metrics.precision_recall_knn(torch.randn(10, 2), torch.randn(3, 2), k=3)
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        metrics.precision_recall_knn(torch.randn(10, 2), torch.randn(10, 2), k=0)


# --- class histogram ---


def test_class_histogram_matches_numpy_and_rejects_bad_labels():
    labels = torch.randint(0, 7, (500,), generator=torch.Generator().manual_seed(0))
    expected = np.bincount(labels.numpy(), minlength=10) / 500
    np.testing.assert_allclose(metrics.class_histogram(labels, 10).numpy(), expected)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\] for num_classes=5, got values in \[0, 6\]"):
        metrics.class_histogram(labels, 5)
    with pytest.raises(ValueError, match="labels must hold integers"):
        metrics.class_histogram(labels.float(), 10)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        metrics.class_histogram(labels[None], 10)


# --- confusion matrix ---


def test_confusion_matrix_matches_sklearn():
    gen = torch.Generator().manual_seed(3)
    y_requested = torch.randint(10, (500,), generator=gen)
    y_predicted = torch.where(torch.rand(500, generator=gen) < 0.7, y_requested, torch.randint(10, (500,), generator=gen))
    got = metrics.confusion_matrix(y_requested, y_predicted, 10)
    expected = sk_confusion_matrix(y_requested.numpy(), y_predicted.numpy(), labels=list(range(10)))
    assert got.dtype == torch.int64 and got.shape == (10, 10)
    assert (got.numpy() == expected).all()
    assert got.sum() == 500 and got.diag().sum() == (y_requested == y_predicted).sum()


def test_confusion_matrix_rows_are_requested():
    got = metrics.confusion_matrix(torch.tensor([2, 2, 2]), torch.tensor([0, 2, 2]), 3)
    assert got[2].tolist() == [1, 0, 2] and got[:, 2].tolist() == [0, 0, 2]


@pytest.mark.parametrize("y_req, y_pred, match", [
    (torch.tensor([0, 1]), torch.tensor([0, 1, 1]), "same shape"),
    (torch.tensor([0, 10]), torch.tensor([0, 1]), r"labels must lie in \[0, 9\]"),
    (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), "integers"),
])
def test_confusion_matrix_bad_input(y_req, y_pred, match):
    with pytest.raises(ValueError, match=match):
        metrics.confusion_matrix(y_req, y_pred, 10)


# --- bits per dimension, and what metrics re-exports ---


def test_bits_per_dim_is_nats_per_image_over_d_ln2():
    log_prob = torch.tensor([-100.0, -300.0], dtype=torch.float64)
    assert metrics.bits_per_dim(log_prob, 50).item() == pytest.approx(200.0 / (50 * math.log(2)), rel=1e-12)
    coin = torch.full((3,), 784 * math.log(0.5), dtype=torch.float64)  # a fair coin per pixel
    assert metrics.bits_per_dim(coin, 784).item() == pytest.approx(1.0, rel=1e-12)


def test_bits_per_dim_refuses_bad_shapes_and_dimensions():
    with pytest.raises(ValueError, match=r"^log_prob must have shape \(N,\), got \(2, 1\)$"):
        metrics.bits_per_dim(torch.zeros(2, 1), 4)
    with pytest.raises(ValueError, match="^num_dims must be a positive int, got 0$"):
        metrics.bits_per_dim(torch.zeros(2), 0)


@pytest.mark.parametrize("name", ["ModeCoverage", "dstar_max_error", "grid_density_2d", "js_divergence_grid",
                                  "js_to_samples", "kde_1d", "kl_divergence_grid", "kl_js_2d", "kl_to_samples",
                                  "log_kde_1d", "mode_coverage", "optimal_critic_1d", "optimal_discriminator",
                                  "scott_bandwidth", "wasserstein_1d"])
def test_metrics_re_exports_the_divergences(name):
    assert getattr(metrics, name) is getattr(divergences, name)
