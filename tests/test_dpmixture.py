"""gan_course.dpmixture against scikit-learn's BayesianGaussianMixture (dirichlet_process) from the
same responsibilities, the stick-breaking closed forms, and bad-input errors."""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from gan_course import density
from gan_course.dpmixture import (DirichletProcessBernoulliMixture, DirichletProcessMixture,
                                  expected_log_stick_weights, stick_breaking_weights, stick_posterior)

sklearn_mixture = pytest.importorskip("sklearn.mixture")
threadpool_limits = pytest.importorskip("threadpoolctl").threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread_everywhere(one_thread):
    """Small coordinate-ascent loops run several times faster on one torch thread; the references' BLAS on one thread too (on a busy 2-core machine, extra
    threads made scikit-learn's fit 20x slower)."""
    with threadpool_limits(1):
        yield


def _three_clouds(n=400, seed=0):
    """Notebook 03's data: three tilted Gaussian clouds."""
    truth = density.GaussianMixture(3, "full").set_params(
        weights=torch.tensor([0.5, 0.3, 0.2]),
        means=torch.tensor([[-2.0, 0.0], [2.0, 1.5], [1.5, -2.0]]),
        covariances=torch.tensor([[[1.2, 0.8], [0.8, 1.0]], [[0.6, -0.3], [-0.3, 0.4]], [[0.3, 0.0], [0.0, 1.0]]]))
    return truth.sample(n, seed=seed).double()


def _kmeans_resp(x, k, seed=0):
    labels = density.kmeans_labels(x, k, gen=torch.Generator().manual_seed(seed))
    return torch.nn.functional.one_hot(labels, k).double()


def _sklearn_from(resp, **kwargs):
    """scikit-learn's DP mixture, started from our responsibilities instead of its own k-means."""
    class SameStart(sklearn_mixture.BayesianGaussianMixture):
        def _initialize_parameters(self, X, random_state, *args, **kw):
            self._initialize(X, resp.numpy())
    return SameStart(weight_concentration_prior_type="dirichlet_process", covariance_type="full", **kwargs)


# ----------------------------------------------------------------------- against scikit-learn


@pytest.mark.parametrize("seed, concentration", [(0, None), (1, 1.0), (2, 0.01)])
def test_matches_sklearn_from_the_same_start(seed, concentration):
    x = _three_clouds(seed=seed)
    resp = _kmeans_resp(x, 8, seed)
    ref = _sklearn_from(resp, n_components=8, weight_concentration_prior=concentration, max_iter=300).fit(x.numpy())
    ours = DirichletProcessMixture(8, concentration=concentration, max_iter=300).fit(x, init_resp=resp)
    assert ours.n_iter == ref.n_iter_ and ours.converged == ref.converged_
    assert ours.history[-1] == pytest.approx(ref.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(ours.weights.numpy(), ref.weights_, atol=1e-9)
    np.testing.assert_allclose(ours.means.numpy(), ref.means_, atol=1e-8)
    np.testing.assert_allclose(ours.covariances.numpy(), ref.covariances_, atol=1e-8)
    assert ours.effective_components() == int((ref.weights_ >= 0.01).sum())
    # the plug-in log-likelihood, computed independently from scikit-learn's parameters
    plug_in = np.log(sum(w * scipy.stats.multivariate_normal(m, c).pdf(x.numpy())
                         for w, m, c in zip(ref.weights_, ref.means_, ref.covariances_)))
    np.testing.assert_allclose(ours.log_prob(x).numpy(), plug_in, rtol=1e-9)
    np.testing.assert_array_equal(ours.predict(x).numpy(), ref.predict(x.numpy()))


def test_finds_three_clouds_out_of_ten_and_agrees_with_bic():
    x = _three_clouds(n=600)
    model = DirichletProcessMixture(10, seed=0).fit(x)
    assert model.effective_components() == 3
    assert model.converged
    bics = [density.GaussianMixture(k, "full", seed=0).fit(x.float()).bic(x.float()) for k in range(1, 7)]
    assert int(np.argmin(bics)) + 1 == 3
    assert model.bits_per_dim(x).item() == pytest.approx(-model.log_prob(x).mean().item() / (2 * math.log(2)))
    assert model.sample(50, seed=0).shape == (50, 2)


# ----------------------------------------------------------------------- stick-breaking closed forms


def test_stick_breaking_weights_by_hand():
    v = torch.tensor([0.5, 0.2, 1.0], dtype=torch.float64)
    torch.testing.assert_close(stick_breaking_weights(v), torch.tensor([0.5, 0.1, 0.4], dtype=torch.float64))
    v = torch.rand(4, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    total = stick_breaking_weights(v).sum(1)
    torch.testing.assert_close(total, 1 - torch.prod(1 - v, dim=1))  # the rest of the stick is left over


def test_expected_log_weights_match_monte_carlo_and_digamma():
    a, b = torch.tensor([2.0, 3.0, 1.5], dtype=torch.float64), torch.tensor([4.0, 1.0, 2.5], dtype=torch.float64)
    expected = expected_log_stick_weights(a, b)
    # closed form written with scipy's digamma
    psi = scipy.special.digamma
    by_hand = [psi(2) - psi(6),
               psi(3) - psi(4) + psi(4) - psi(6),
               psi(1.5) - psi(4) + psi(4) - psi(6) + psi(1) - psi(4)]
    np.testing.assert_allclose(expected.numpy(), by_hand, rtol=1e-12)
    rng = np.random.default_rng(0)
    v = torch.from_numpy(rng.beta(a.numpy(), b.numpy(), size=(200_000, 3)))
    monte_carlo = stick_breaking_weights(v).log().mean(0)
    np.testing.assert_allclose(expected.numpy(), monte_carlo.numpy(), atol=0.01)


def test_stick_posterior_counts_the_later_components():
    a, b = stick_posterior(torch.tensor([5.0, 3.0, 2.0], dtype=torch.float64), 0.5)
    torch.testing.assert_close(a, torch.tensor([6.0, 4.0, 3.0], dtype=torch.float64))
    torch.testing.assert_close(b, torch.tensor([5.5, 2.5, 0.5], dtype=torch.float64))


# ----------------------------------------------------------------------- Bernoulli components


def test_bernoulli_dp_mixture_finds_the_prototypes():
    gen = torch.Generator().manual_seed(0)
    prototypes = torch.bernoulli(torch.full((3, 30), 0.5), generator=gen)
    labels = torch.randint(3, (300,), generator=gen)
    x = torch.where(torch.rand(300, 30, generator=gen) < 0.05, 1 - prototypes[labels], prototypes[labels])
    model = DirichletProcessBernoulliMixture(10, concentration=0.1, max_iter=1000, tol=0.0, seed=0)
    model.fit(x.reshape(300, 5, 6))
    assert model.effective_components() == 3  # k-means started 10; the duplicates emptied out
    kept = model.theta[model.weights >= 0.01]  # (3, D)
    distance = torch.cdist(kept.float(), prototypes).min(1).values / math.sqrt(30)  # RMS per pixel
    assert (distance < 0.15).all()
    # its plug-in density is a proper Bernoulli mixture: check against one computed by hand
    theta, weights = model.theta.double(), model.weights
    flat = x.double()
    by_hand = torch.logsumexp((flat @ theta.log().T + (1 - flat) @ (1 - theta).log().T) + weights.log(), dim=1)
    torch.testing.assert_close(model.log_prob(x.reshape(300, 5, 6)).double(), by_hand, rtol=1e-5, atol=1e-4)
    assert model.sample(4, seed=0).shape == (4, 5, 6)


# ----------------------------------------------------------------------- bad input


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="truncation must be a positive int, got 0"):
        DirichletProcessMixture(0)
    with pytest.raises(ValueError, match="concentration must be a positive number"):
        DirichletProcessMixture(5, concentration=-1.0)
    with pytest.raises(ValueError, match=r"v must hold fractions in \[0, 1\]"):
        stick_breaking_weights(torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="NaN"):
        DirichletProcessMixture(2).fit(torch.tensor([[0.0, 1.0], [float("nan"), 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match=r"init_resp must be non-negative with shape \(3, 2\)"):
        DirichletProcessMixture(2).fit(torch.randn(3, 2), init_resp=torch.ones(3, 5))
    with pytest.raises(ValueError, match="binary"):
        DirichletProcessBernoulliMixture(2).fit(torch.full((4, 3), 0.5))
    with pytest.raises(RuntimeError, match="call fit"):
        DirichletProcessMixture(2).log_prob(torch.randn(3, 2))
    model = DirichletProcessMixture(3, seed=0).fit(_three_clouds(n=60))
    with pytest.raises(ValueError, match="x has 3 dims per sample, the model has 2"):
        model.log_prob(torch.randn(4, 3))
