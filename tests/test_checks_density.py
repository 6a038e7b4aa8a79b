"""Each density-track check accepts the reference answer and rejects a planted common mistake."""

import math

import torch

from gan_course import checks
from gan_course.density import GaussianMixture


def _x(n=50, d=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (n,) if d is None else (n, d)
    return 1.0 + 2.0 * torch.randn(shape, generator=gen)


def _binary(n=40, d=30, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.bernoulli(torch.full((n, d), 0.3), generator=gen)
    x[:, 0] = 0.0  # a pixel never on: smoothing matters
    return x


def test_bernoulli_mle():
    x = _binary()
    assert checks.bernoulli_mle(x.mean(0), x)
    assert not checks.bernoulli_mle(1 - x.mean(0), x)
    assert "fill in" in checks.bernoulli_mle(None, x).message


def test_gaussian_mle_rejects_unbiased_variance():
    x = _x()
    mean = x.mean()
    assert checks.gaussian_mle(mean, ((x - mean) ** 2).sum() / len(x), x)
    wrong = checks.gaussian_mle(mean, ((x - mean) ** 2).sum() / (len(x) - 1), x)
    assert not wrong and "N-1" in wrong.message
    assert not checks.gaussian_mle(x.median(), x.var(unbiased=False), x)


def test_gaussian_log_likelihood_rejects_product_of_densities():
    def reference(x, mean, std):
        return torch.distributions.Normal(mean, std).log_prob(x).sum()

    def product(x, mean, std):
        return torch.distributions.Normal(mean, std).log_prob(x).exp().prod().log()

    def forgot_constant(x, mean, std):
        return (-(x - mean) ** 2 / (2 * std**2)).sum()

    assert checks.gaussian_log_likelihood(reference)
    bad = checks.gaussian_log_likelihood(product)
    assert not bad and "underflow" in bad.message
    assert not checks.gaussian_log_likelihood(forgot_constant)
    assert not checks.gaussian_log_likelihood(lambda x, m, s: None)
    assert not checks.gaussian_log_likelihood(lambda x, m, s: 1 / 0)


def test_naive_bayes_pixel_probs_rejects_no_smoothing():
    x = _binary()
    assert checks.naive_bayes_pixel_probs((x.sum(0) + 1) / (len(x) + 2), x, alpha=1.0)
    bad = checks.naive_bayes_pixel_probs(x.mean(0), x, alpha=1.0)
    assert not bad and "smoothing" in bad.message
    images = x.reshape(40, 1, 5, 6)
    assert checks.naive_bayes_pixel_probs(((images.sum(0) + 1) / 42), images)


def test_naive_bayes_log_prob_rejects_multiplied_probabilities():
    def reference(x, theta):
        return (x * theta.log() + (1 - x) * (1 - theta).log()).sum(1)

    def product(x, theta):
        return (theta**x * (1 - theta) ** (1 - x)).double().prod(1).log()

    assert checks.naive_bayes_log_prob(reference)
    bad = checks.naive_bayes_log_prob(product)
    assert not bad and "underflow" in bad.message


def test_bits_per_dim_rejects_nats_and_per_image():
    log_prob = -torch.rand(10, dtype=torch.float64) * 100 - 300
    right = -log_prob.mean() / (784 * math.log(2))
    assert checks.bits_per_dim(right, log_prob, 784)
    nats = checks.bits_per_dim(right * math.log(2), log_prob, 784)
    assert not nats and "ln 2" in nats.message
    per_image = checks.bits_per_dim(right * 784, log_prob, 784)
    assert not per_image and "per image" in per_image.message


def _fitted_gmm():
    x = torch.cat([_x(60, 2, 1) - 3, _x(60, 2, 2) + 3]).double()
    return x, GaussianMixture(2, "full", seed=0).fit(x)


def test_responsibilities_rejects_unnormalized():
    x, gm = _fitted_gmm()
    weighted = torch.stack([
        gm.weights[k] * torch.distributions.MultivariateNormal(gm.means[k], gm.covariances[k]).log_prob(x).exp()
        for k in range(2)], dim=1)  # (N, K)
    assert checks.responsibilities(weighted / weighted.sum(1, keepdim=True), x, gm)
    bad = checks.responsibilities(weighted, x, gm)
    assert not bad and "sum to 1" in bad.message


def test_m_step_means_rejects_division_by_n():
    x, gm = _fitted_gmm()
    resp = gm.predict_proba(x)
    assert checks.m_step_means(resp.T @ x / resp.sum(0)[:, None], x, resp)
    assert not checks.m_step_means(resp.T @ x / len(x), x, resp)


def test_gmm_num_parameters():
    assert checks.gmm_num_parameters(2 + 3 * 2 + 3 * 3, 3, 2, "full")
    assert checks.gmm_num_parameters(2 + 3 * 2 + 3 * 2, 3, 2, "diag")
    assert not checks.gmm_num_parameters(3 + 3 * 2 + 3 * 4, 3, 2, "full")  # K weights, D*D covariance


def test_placeholders_get_the_fill_in_message():
    x = _x()
    assert "fill in" in checks.gaussian_mle(None, None, x).message
    assert "fill in" in checks.gaussian_mle(x.mean(), None, x).message
    assert "fill in" in checks.gaussian_log_likelihood(lambda x, m, s: None).message
    assert "fill in" in checks.naive_bayes_pixel_probs(None, _binary()).message
    assert "fill in" in checks.naive_bayes_log_prob(lambda x, t: None).message
    assert "fill in" in checks.bits_per_dim(None, -torch.ones(3), 4).message
    xg, gm = _fitted_gmm()
    assert "fill in" in checks.responsibilities(None, xg, gm).message
    assert "fill in" in checks.m_step_means(None, xg, gm.predict_proba(xg)).message
    assert "fill in" in checks.gmm_num_parameters(None, 2, 2).message


# ---- 02 Ex 1: naive_bayes_pixel_probs accepts every shape the prompt allows --------------------

X = torch.bernoulli(torch.full((50, 1, 28, 28), 0.3), generator=torch.Generator().manual_seed(0))


def test_pixel_probs_accept_each_allowed_shape():
    theta = (X.sum(0) + 1.0) / (len(X) + 2.0)  # (1, 28, 28)
    for answer in (theta, theta.reshape(784), theta.reshape(28, 28), theta.reshape(784).tolist()):
        assert checks.naive_bayes_pixel_probs(answer, X, alpha=1.0)


def test_pixel_probs_reject_mistakes_in_any_shape():
    unsmoothed = checks.naive_bayes_pixel_probs(X.mean(0).reshape(784), X, alpha=1.0)
    assert not unsmoothed and "No smoothing" in unsmoothed.message
    wrong_count = checks.naive_bayes_pixel_probs(((X.sum(0) + 1.0) / (len(X) + 1.0)).reshape(28, 28), X)
    assert not wrong_count and "2*alpha" in wrong_count.message
    assert not checks.naive_bayes_pixel_probs(torch.full((783,), 0.3), X)  # not one value per pixel
    assert "fill in" in checks.naive_bayes_pixel_probs(None, X).message


# ---- 00: the two new exercises ------------------------------------------------------------------

Y = torch.arange(50) % 10  # labels of X, five of each digit


def test_class_mean_image_accepts_each_shape_and_names_the_mistakes():
    right = X[Y == 3].mean(0)
    for answer in (right, right.reshape(28, 28), right.reshape(784)):
        assert checks.class_mean_image(answer, X, Y, digit=3)
    all_digits = checks.class_mean_image(X.mean(0), X, Y, digit=3)
    assert not all_digits and "all the digits" in all_digits.message
    summed = checks.class_mean_image(X[Y == 3].sum(0), X, Y, digit=3)
    assert not summed and "sum of the images" in summed.message
    per_image = checks.class_mean_image(X[Y == 3].mean((1, 2, 3)), X, Y, digit=3)
    assert not per_image and "over the images" in per_image.message
    assert "fill in" in checks.class_mean_image(None, X, Y, digit=3).message


def test_mixture_moments_follow_the_law_of_total_variance():
    assert checks.mixture_moments(0.0, 2.5, "mix1d")  # sqrt(0.5^2 + (9 + 0 + 9) / 3)
    assert checks.mixture_moments(torch.tensor(2.0), torch.tensor(0.5), "gauss1d")
    cases = {0.5: "one component's spread", math.sqrt(6.0): "centers alone", 6.25: "square root",
             0.5 + math.sqrt(6.0): "do not add"}
    for std, words in cases.items():
        result = checks.mixture_moments(0.0, std, "mix1d")
        assert not result and words in result.message, (std, result.message)
    assert not checks.mixture_moments(1.0, 2.5, "mix1d")  # the mean is checked first
    assert "fill in" in checks.mixture_moments(None, None, "mix1d").message
