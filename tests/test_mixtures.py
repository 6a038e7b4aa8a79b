"""gan_course.mixtures (GaussianMixture, BernoulliMixture) against scikit-learn, torch.distributions and
closed forms; EM's monotone climb, empty components, completion of missing values, bad input."""

import math
import warnings

import numpy as np
import pytest
import torch

from gan_course import density, kmeans, mixtures
from gan_course.density import BernoulliNaiveBayes
from gan_course.mixtures import BernoulliMixture, GaussianMixture

pytestmark = pytest.mark.usefixtures("one_thread")

sklearn_mixture = pytest.importorskip("sklearn.mixture")


def _blobs(n=600, d=3, k=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    centers = 4.0 * torch.randn(k, d, generator=gen, dtype=dtype)
    labels = torch.randint(k, (n,), generator=gen)
    scale = torch.randn(k, d, d, generator=gen, dtype=dtype) * 0.5 + torch.eye(d, dtype=dtype)
    z = torch.randn(n, d, generator=gen, dtype=dtype)
    return centers[labels] + torch.einsum("nde,ne->nd", scale[labels], z)  # (n, d)


def _binary(n=300, d=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    probs = torch.rand(3, d, generator=gen)
    labels = torch.randint(3, (n,), generator=gen)
    return torch.bernoulli(probs[labels], generator=gen), labels


# ---------------------------------------------------------------- Gaussian mixture vs sklearn


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_gaussian_mixture_matches_sklearn_from_same_start(covariance):
    x = _blobs()
    ours = GaussianMixture(3, covariance, max_iter=7, tol=0.0, seed=0).initialize(x)
    precisions = torch.linalg.inv(ours.covariances) if covariance == "full" else 1 / ours.covariances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that 7 steps did not converge
        ref = sklearn_mixture.GaussianMixture(
            3, covariance_type=covariance, max_iter=7, tol=0.0,
            weights_init=ours.weights.numpy(), means_init=ours.means.numpy(),
            precisions_init=precisions.numpy()).fit(x.numpy())
    ours.fit(x, warm_start=True)
    assert ours.n_iter == ref.n_iter_ == 7
    np.testing.assert_allclose(ours.log_prob(x).numpy(), ref.score_samples(x.numpy()), rtol=1e-4)
    assert ours.bic(x) == pytest.approx(ref.bic(x.numpy()), rel=1e-4)
    np.testing.assert_allclose(ours.means.numpy(), ref.means_, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(x).numpy(), ref.predict_proba(x.numpy()), atol=1e-6)


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_set_params_with_precisions_gives_sklearn_score(covariance):
    x = _blobs(n=100, d=2, k=2, seed=3)
    means = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    if covariance == "full":
        prec = torch.tensor([[[2.0, 0.3], [0.3, 1.0]], [[1.0, 0.0], [0.0, 0.5]]], dtype=torch.float64)
    else:
        prec = torch.tensor([[2.0, 1.0], [1.0, 0.5]], dtype=torch.float64)
    weights = torch.tensor([0.3, 0.7], dtype=torch.float64)
    ours = GaussianMixture(2, covariance).set_params(weights, means, precisions=prec)
    ref = sklearn_mixture.GaussianMixture(2, covariance_type=covariance)
    ref.weights_, ref.means_, ref.covariance_type = weights.numpy(), means.numpy(), covariance
    ref.precisions_cholesky_ = (np.linalg.cholesky(prec.numpy()) if covariance == "full"
                                else np.sqrt(prec.numpy()))
    np.testing.assert_allclose(ours.log_prob(x).numpy(), ref.score_samples(x.numpy()), rtol=1e-10)


def test_em_never_decreases_log_likelihood():
    x = _blobs(seed=1)
    gm = GaussianMixture(3, "full", max_iter=30, tol=0.0, init="random", seed=0).fit(x)
    steps = np.diff(gm.history)
    assert (steps > -1e-9).all()


def test_gaussian_mixture_sample_and_predict_proba():
    x = _blobs(seed=2)
    gm = GaussianMixture(3, seed=0).fit(x)
    resp = gm.predict_proba(x)
    torch.testing.assert_close(resp.sum(1), torch.ones(len(x), dtype=x.dtype))
    s = gm.sample(5000, seed=0)
    assert s.shape == (5000, 3)
    torch.testing.assert_close(s.mean(0), (gm.weights[:, None] * gm.means).sum(0), atol=0.2, rtol=0)
    torch.testing.assert_close(gm.sample(3, seed=1), gm.sample(3, seed=1))


def test_gaussian_mixture_complete_is_conditional_gaussian_mean():
    cov = torch.tensor([[[2.0, 0.8], [0.8, 1.0]]], dtype=torch.float64)
    gm = GaussianMixture(1, "full").set_params(torch.ones(1, dtype=torch.float64),
                                               torch.tensor([[1.0, -1.0]], dtype=torch.float64),
                                               covariances=cov)
    x = torch.tensor([[3.0, float("nan")], [float("nan"), 0.0], [0.5, 0.5]], dtype=torch.float64)
    mask = torch.tensor([[True, False], [False, True], [True, True]])
    out = gm.complete(x, mask)
    assert out[0, 1].item() == pytest.approx(-1.0 + 0.8 / 2.0 * (3.0 - 1.0))
    assert out[1, 0].item() == pytest.approx(1.0 + 0.8 / 1.0 * (0.0 + 1.0))
    torch.testing.assert_close(out[2], x[2])


def test_gaussian_mixture_complete_picks_the_right_component():
    means = torch.tensor([[-5.0, -5.0], [5.0, 5.0]], dtype=torch.float64)
    gm = GaussianMixture(2, "diag").set_params(torch.tensor([0.5, 0.5], dtype=torch.float64), means,
                                               covariances=torch.ones(2, 2, dtype=torch.float64))
    out = gm.complete(torch.tensor([[4.8, 0.0]], dtype=torch.float64), torch.tensor([[True, False]]))
    assert out[0, 1].item() == pytest.approx(5.0, abs=1e-6)


def test_empty_component_is_reseeded_not_nan():
    x = _blobs(n=200, d=2, k=2, seed=4)
    gm = GaussianMixture(3, "full", max_iter=5, tol=0.0)
    far = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1e6, 1e6]], dtype=torch.float64)  # 3rd gets no point
    gm.set_params(torch.full((3,), 1 / 3, dtype=torch.float64), far,
                  covariances=torch.eye(2, dtype=torch.float64).expand(3, 2, 2).clone())
    gm.fit(x, warm_start=True)
    assert gm.reseeded >= 1
    for t in (gm.weights, gm.means, gm.covariances, gm.log_prob(x)):
        assert torch.isfinite(t).all()
    assert (gm.weights > 0).all()


def test_set_params_validates_shapes():
    gm = GaussianMixture(2, "full")
    means = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="weights must be 2 non-negative"):
        gm.set_params(torch.tensor([1.0, -1.0]), means, covariances=torch.eye(3).expand(2, 3, 3))
    with pytest.raises(ValueError, match=r"full covariances/precisions must have shape \(2, 3, 3\)"):
        gm.set_params(torch.tensor([0.5, 0.5]), means, covariances=torch.ones(2, 3))
    with pytest.raises(ValueError, match="exactly one of covariances and precisions"):
        gm.set_params(torch.tensor([0.5, 0.5]), means)


# ---------------------------------------------------------------- Bernoulli mixture


def test_empty_bernoulli_component_stays_finite():
    x, _ = _binary(n=100, d=10)
    bm = BernoulliMixture(2, max_iter=3, tol=0.0, seed=0).initialize(x)
    log_resp = torch.full((100, 2), -math.inf)
    log_resp[:, 0] = 0.0  # every sample to component 0: component 1 is empty
    bm.m_step(x, log_resp)
    assert bm.reseeded == 1 and torch.isfinite(bm.theta).all() and torch.isfinite(bm.log_prob(x)).all()


def test_bernoulli_mixture_log_prob_matches_torch_distributions():
    x, _ = _binary(n=80, d=12)
    bm = BernoulliMixture(3, max_iter=20, seed=0).fit(x)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=bm.weights),
        torch.distributions.Independent(torch.distributions.Bernoulli(probs=bm.theta), 1))
    torch.testing.assert_close(bm.log_prob(x), mix.log_prob(x))
    assert (np.diff(bm.history) > -1e-4).all()


def test_bernoulli_mixture_beats_naive_bayes_on_clustered_data():
    x, _ = _binary(n=600, d=30, seed=5)
    train, test = x[:400], x[400:]
    nb = BernoulliNaiveBayes().fit(train)
    bm = BernoulliMixture(3, seed=0).fit(train)
    assert bm.bits_per_dim(test) < nb.bits_per_dim(test)


def test_bernoulli_mixture_images_sample_and_complete():
    x = torch.zeros(40, 1, 4, 4)
    x[20:, :, :2] = 1.0  # two kinds of image: blank, and top half on
    x[20:, :, 2:] = 1.0
    bm = BernoulliMixture(2, alpha=0.01, seed=0).fit(x)
    assert bm.sample(6, seed=0).shape == (6, 1, 4, 4)
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[:, :, :2] = True  # top half observed
    out = bm.complete(x, mask)
    assert out.shape == x.shape
    assert out[25, 0, 3].min().item() > 0.9 and out[5, 0, 3].max().item() < 0.1
    torch.testing.assert_close(out[mask], x[mask])
    assert bm.num_parameters == 1 + 2 * 16
    assert bm.bic(x) == pytest.approx(-2 * bm.log_prob(x).sum().item() + 33 * math.log(40), rel=1e-6)


# ---------------------------------------------------------------- bad input, devices


def test_nan_and_inf_are_counted_and_located():
    x = torch.randn(10, 2)
    x[3, 1] = float("nan")
    x[7, 0] = float("inf")
    with pytest.raises(ValueError, match=r"2 NaN/inf.*\(3, 1\)"):
        GaussianMixture(2).fit(x)


def test_non_binary_input_to_a_bernoulli_mixture_names_the_range():
    with pytest.raises(ValueError, match=r"\[-1, 2\]"):
        BernoulliMixture(1).fit(torch.tensor([[-1.0, 2.0]]))


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"num_components must be at most the number of samples \(5\), got 6"):
        GaussianMixture(6).fit(torch.randn(5, 2))
    with pytest.raises(ValueError, match="num_components must be at most"):
        BernoulliMixture(4).fit(torch.ones(3, 2))
    for alpha in (0, -1.0):
        with pytest.raises(ValueError, match="alpha must be a positive"):
            BernoulliMixture(2, alpha=alpha)
    with pytest.raises(ValueError, match=r"covariance must be one of 'full', 'diag'; got 'spherical'"):
        GaussianMixture(2, covariance="spherical")
    with pytest.raises(ValueError, match="init must be one of"):
        GaussianMixture(2, init="kmeans")
    with pytest.raises(ValueError, match="num_components must be a positive int"):
        GaussianMixture(0)


def test_runs_on_input_device_and_dtype():
    x = _blobs(n=100, d=2, k=2, dtype=torch.float32)
    gm = GaussianMixture(2, seed=0).fit(x)
    assert gm.means.dtype == torch.float32 and gm.means.device == x.device
    assert gm.log_prob(x).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    x = _blobs(n=500, d=3, k=3)
    cpu = GaussianMixture(3, max_iter=5, tol=0.0, seed=0).initialize(x)
    gpu = GaussianMixture(3, max_iter=5, tol=0.0).set_params(
        cpu.weights.cuda(), cpu.means.cuda(), covariances=cpu.covariances.cuda())
    cpu.fit(x, warm_start=True)
    gpu.fit(x.cuda(), warm_start=True)
    torch.testing.assert_close(gpu.log_prob(x.cuda()).cpu(), cpu.log_prob(x))


def test_density_and_mixtures_share_one_implementation():
    assert density.GaussianMixture is mixtures.GaussianMixture
    assert density.BernoulliMixture is mixtures.BernoulliMixture
    assert density.kmeans_labels is kmeans.kmeans_labels
