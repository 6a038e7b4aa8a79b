"""gan_course.density (MLE, naive Bayes, KDE, histogram, logistic regression, the digit scoreboard)
against scikit-learn, scipy and closed forms, plus its bad-input errors. The mixtures are tested in
test_mixtures.py, k-means in test_kmeans.py, the MLE/EM dashboards in test_widgets_mle/em.py."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from gan_course import density
from gan_course.density import BernoulliNaiveBayes

pytestmark = pytest.mark.usefixtures("one_thread")

sklearn_nb = pytest.importorskip("sklearn.naive_bayes")


def _binary(n=300, d=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    probs = torch.rand(3, d, generator=gen)
    labels = torch.randint(3, (n,), generator=gen)
    return torch.bernoulli(probs[labels], generator=gen), labels


# ---------------------------------------------------------------- closed-form and gradient MLE


def test_gaussian_mle_matches_scipy_fit():
    x = torch.from_numpy(scipy.stats.norm(1.5, 2.0).rvs(size=500, random_state=0))
    loc, scale = scipy.stats.norm.fit(x.numpy())
    mean, var = density.gaussian_mle(x)
    assert mean.item() == pytest.approx(loc, rel=1e-4)
    assert var.sqrt().item() == pytest.approx(scale, rel=1e-4)
    assert var.item() == pytest.approx(x.var(unbiased=False).item(), rel=1e-12)  # biased: divide by N


def test_fit_by_gradient_recovers_scipy_fit():
    x = torch.from_numpy(scipy.stats.norm(-0.7, 0.6).rvs(size=400, random_state=1))
    loc, scale = scipy.stats.norm.fit(x.numpy())
    fit = density.fit_by_gradient(
        lambda x, mean, log_std: density.gaussian_log_prob(x, mean, log_std.exp()),
        {"mean": 0.0, "log_std": 0.0}, x, steps=50)
    assert fit.params["mean"].item() == pytest.approx(loc, rel=1e-4)
    assert fit.params["log_std"].exp().item() == pytest.approx(scale, rel=1e-4)
    assert fit.history[-1] >= fit.history[0]


def test_fit_by_gradient_adam_increases_likelihood():
    x = torch.randn(200) * 2 + 1
    fit = density.fit_by_gradient(
        lambda x, mean, log_std: density.gaussian_log_prob(x, mean, log_std.exp()),
        {"mean": 0.0, "log_std": 0.0}, x, steps=300, lr=0.05, method="adam")
    assert fit.history[-1] > fit.history[0]
    assert fit.params["mean"].item() == pytest.approx(x.mean().item(), abs=0.05)


def test_bernoulli_and_categorical_mle():
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    torch.testing.assert_close(density.bernoulli_mle(x), torch.tensor([0.75, 0.25]))
    torch.testing.assert_close(density.bernoulli_mle(x, alpha=1.0), torch.tensor([4 / 6, 2 / 6]))
    torch.testing.assert_close(density.categorical_mle(torch.tensor([0, 1, 1, 3]), 4),
                               torch.tensor([0.25, 0.5, 0.0, 0.25]))


# ---------------------------------------------------------------- naive Bayes


def test_naive_bayes_matches_sklearn_bernoulli_nb():
    x, y = _binary()
    x = x.double()  # 1e-6 on log-probabilities of -20 needs float64, as sklearn uses
    ours = BernoulliNaiveBayes(alpha=1.0).fit(x, y)
    ref = sklearn_nb.BernoulliNB(alpha=1.0).fit(x.numpy(), y.numpy())
    np.testing.assert_allclose(ours.predict_log_proba(x).numpy(),
                               ref.predict_log_proba(x.numpy()), atol=1e-6, rtol=0)
    np.testing.assert_array_equal(ours.predict(x).numpy(), ref.predict(x.numpy()))


def test_naive_bayes_unsupervised_log_prob_is_sum_of_bernoullis():
    x, _ = _binary(n=50, d=6)
    nb = BernoulliNaiveBayes(alpha=1.0).fit(x)
    theta = (x.sum(0) + 1) / (x.shape[0] + 2)
    expected = torch.distributions.Bernoulli(probs=theta).log_prob(x).sum(1)
    torch.testing.assert_close(nb.log_prob(x), expected)
    assert nb.bits_per_dim(x).item() == pytest.approx(-expected.mean().item() / (6 * math.log(2)), rel=1e-5)


def test_naive_bayes_sample_shapes_and_class():
    x = torch.zeros(20, 1, 4, 4)
    x[10:] = 1.0
    y = torch.tensor([0] * 10 + [7] * 10)
    nb = BernoulliNaiveBayes(alpha=0.01).fit(x, y)
    assert nb.sample(5, seed=0).shape == (5, 1, 4, 4)
    assert nb.sample(30, y=7, seed=0).mean().item() > 0.9
    with pytest.raises(ValueError, match="fitted classes"):
        nb.sample(2, y=3)


def test_naive_bayes_log_prob_does_not_underflow_on_many_pixels():
    x = torch.bernoulli(torch.full((10, 5000), 0.5), generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(BernoulliNaiveBayes().fit(x).log_prob(x)).all()


# ---------------------------------------------------------------- the scoreboard


def test_scoreboard_has_one_row_per_model_in_order_with_bits_per_dim_in_range():
    x, y = _binary(n=200, d=16, seed=6)
    models = density.fit_digit_baselines(x.reshape(200, 1, 4, 4), y, num_components=(2, 3), max_iter=10)
    board = density.scoreboard(models, x.reshape(200, 1, 4, 4))
    assert list(board) == ["naive Bayes", "naive Bayes | class", "Bernoulli mixture K=2",
                           "Bernoulli mixture K=3"]
    assert all(0 < v < 1.01 for v in board.values())


# ---------------------------------------------------------------- bad input


def test_gaussian_mle_counts_nan_and_inf():
    with pytest.raises(ValueError, match="1 NaN/inf"):
        density.gaussian_mle(torch.tensor([1.0, float("nan")]))


def test_non_binary_input_to_naive_bayes_names_the_range():
    with pytest.raises(ValueError, match=r"binary.*\[0, 1\] with 1 non-binary value\(s\) such as 0\.7"):
        BernoulliNaiveBayes().fit(torch.tensor([[0.0, 0.7], [1.0, 0.0]]))


def test_naive_bayes_refuses_a_smoothing_that_is_not_positive():
    for alpha in (0, -1.0):
        with pytest.raises(ValueError, match=f"alpha must be a positive number.*{alpha}"):
            BernoulliNaiveBayes(alpha=alpha)


# ---------------------------------------------------------------- KDE, histogram, logistic regression


def test_kde_matches_scipy_gaussian_kde():
    data = torch.from_numpy(scipy.stats.norm(0, 1).rvs(size=50, random_state=2))
    query = torch.linspace(-3, 3, 11, dtype=torch.float64)
    h = 0.4
    ref = scipy.stats.gaussian_kde(data.numpy(), bw_method=h / data.numpy().std(ddof=1))
    np.testing.assert_allclose(density.kde_log_prob(data, query, h).numpy(), ref.logpdf(query.numpy()),
                               rtol=1e-8)
    with pytest.raises(ValueError, match="bandwidth must be a positive number, got 0"):
        density.kde_log_prob(data, query, 0)


def test_histogram_log_prob_integrates_to_one_and_overfits():
    data = torch.tensor([0.1, 0.2, 0.6, 0.65, 0.7])
    grid = torch.linspace(0.0005, 0.9995, 1000)
    p = density.histogram_log_prob(data, grid, bins=4, value_range=(0.0, 1.0)).exp()
    assert p.mean().item() == pytest.approx(1.0, rel=1e-3)  # integral over [0, 1]
    assert density.histogram_log_prob(data, torch.tensor([0.3]), 4, (0, 1)).item() == -math.inf
    assert math.isfinite(density.histogram_log_prob(data, torch.tensor([0.3]), 4, (0, 1), alpha=1).item())


def test_logistic_regression_separates_and_agrees_with_naive_bayes_on_easy_data():
    x, y = _binary(n=300, d=20, seed=8)
    lr = density.LogisticRegression(weight_decay=1e-3).fit(x, y)
    acc_lr = (lr.predict(x) == y).float().mean().item()
    acc_nb = (BernoulliNaiveBayes().fit(x, y).predict(x) == y).float().mean().item()
    assert acc_lr > 0.9 and acc_nb > 0.9 and lr.weight.shape == (3, 20)


def test_baseline_scoreboard_on_bundled_digits_mixture_beats_naive_bayes():
    board = density.baseline_scoreboard(num_components=(10,), max_iter=10)
    assert set(board) == {"naive Bayes", "naive Bayes | class", "Bernoulli mixture K=10"}
    assert board["Bernoulli mixture K=10"] < board["naive Bayes"] < 1.0
    assert board["naive Bayes | class"] < board["naive Bayes"]


