"""gan_course.likelihoods against torch.distributions, scipy and closed forms: the Gaussian and
Bernoulli log-densities, the VAE's KL to the prior, the reparameterisation, log-mean-exp."""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from gan_course.likelihoods import (bernoulli_log_likelihood, bernoulli_log_prob, gaussian_kl,
                                    gaussian_log_likelihood, gaussian_log_prob, log_mean_exp, log_normal_diag,
                                    reparameterize)

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- Gaussian ----------------------------------------------------------------------------------


def test_gaussian_log_prob_matches_scipy():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    expected = scipy.stats.norm(0.5, 1.7).logpdf(x.numpy())
    np.testing.assert_allclose(gaussian_log_prob(x, 0.5, 1.7).numpy(), expected, rtol=1e-10)


def test_gaussian_log_prob_broadcasts_like_torch_normal():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 1, generator=gen, dtype=torch.float64)
    mean = torch.randn(1, 4, generator=gen, dtype=torch.float64)
    std = torch.rand(1, 4, generator=gen, dtype=torch.float64) + 0.1
    got = gaussian_log_prob(x, mean, std)
    assert got.shape == (5, 4)
    torch.testing.assert_close(got, Normal(mean, std).log_prob(x))


@pytest.mark.parametrize("std, message", [
    (-1.0, r"^std must be a positive number \(every entry\), got -1\.0$"),
    (0.0, r"^std must be a positive number \(every entry\), got 0\.0$"),
    (math.nan, r"^std must be a positive number \(every entry\), got nan$"),
    (torch.tensor([1.0, -0.5, 2.0]), r"got -0\.5 as its smallest entry$"),
])
def test_gaussian_log_prob_refuses_a_std_that_is_not_positive(std, message):
    with pytest.raises(ValueError, match=message):
        gaussian_log_prob(torch.zeros(3), 0.0, std)


def test_log_normal_diag_matches_an_independent_normal():
    gen = torch.Generator().manual_seed(1)
    z, mu, logvar = (torch.randn(4, 3, generator=gen, dtype=torch.float64) for _ in range(3))
    expected = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1).log_prob(z)
    torch.testing.assert_close(log_normal_diag(z, mu, logvar), expected)


def test_log_normal_diag_at_the_mean_of_a_standard_normal_is_minus_d_half_log_2pi():
    d = 6
    value = log_normal_diag(torch.zeros(2, d), torch.zeros(2, d), torch.zeros(2, d))
    torch.testing.assert_close(value, torch.full((2,), -0.5 * d * math.log(2 * math.pi)))


def test_gaussian_log_likelihood_matches_normal_summed_over_pixels():
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(4, 1, 2, 3, generator=gen, dtype=torch.float64)
    mean, log_std = torch.rand(4, 1, 2, 3, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64)
    gauss = Normal(mean, log_std.exp()).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(gaussian_log_likelihood(x, mean, log_std), gauss)


def test_gaussian_log_likelihood_with_fixed_sigma_is_the_squared_error_plus_a_constant():
    gen = torch.Generator().manual_seed(3)
    x, mean = torch.rand(5, 10, generator=gen), torch.rand(5, 10, generator=gen)
    sigma = 0.5
    expected = -((x - mean) ** 2).sum(1) / (2 * sigma**2) - 10 * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    torch.testing.assert_close(gaussian_log_likelihood(x, mean, torch.tensor(math.log(sigma))), expected)


# ---- Bernoulli -----------------------------------------------------------------------------------


def test_bernoulli_log_likelihood_matches_torch_bernoulli_from_logits():
    gen = torch.Generator().manual_seed(1)
    x = torch.bernoulli(torch.full((4, 1, 2, 3), 0.4, dtype=torch.float64), generator=gen)
    logits = torch.randn(4, 1, 2, 3, generator=gen, dtype=torch.float64)
    bern = Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), bern)


def test_bernoulli_log_likelihood_broadcasts_x_over_leading_draws():
    gen = torch.Generator().manual_seed(4)
    x = torch.bernoulli(torch.full((3, 5), 0.5), generator=gen)  # (B, D)
    logits = torch.randn(7, 3, 5, generator=gen)  # (K, B, D): K draws of the decoder per image
    got = bernoulli_log_likelihood(x, logits)
    assert got.shape == (7, 3)
    torch.testing.assert_close(got, Bernoulli(logits=logits).log_prob(x.expand(7, 3, 5)).sum(-1))


def test_bernoulli_log_likelihood_stays_finite_for_confident_logits():
    x = torch.tensor([[1.0, 0.0]])
    value = bernoulli_log_likelihood(x, torch.tensor([[-200.0, 200.0]]))  # both pixels confidently wrong
    assert torch.isfinite(value).all() and value.item() == pytest.approx(-400.0)


def test_bernoulli_log_prob_matches_torch_bernoulli_for_every_sample_and_component():
    gen = torch.Generator().manual_seed(5)
    x = torch.bernoulli(torch.full((6, 8), 0.3, dtype=torch.float64), generator=gen)  # (N, D)
    theta = torch.rand(3, 8, generator=gen, dtype=torch.float64) * 0.98 + 0.01  # (K, D)
    got = bernoulli_log_prob(x, theta.log(), torch.log1p(-theta))
    expected = Bernoulli(probs=theta[None]).log_prob(x[:, None]).sum(-1)  # (N, K)
    assert got.shape == (6, 3)
    torch.testing.assert_close(got, expected)


def test_the_two_bernoulli_forms_agree():
    gen = torch.Generator().manual_seed(6)
    x = torch.bernoulli(torch.full((5, 12), 0.5, dtype=torch.float64), generator=gen)
    logits = torch.randn(2, 12, generator=gen, dtype=torch.float64)  # two components
    by_products = bernoulli_log_prob(x, torch.nn.functional.logsigmoid(logits),
                                     torch.nn.functional.logsigmoid(-logits))  # (N, K)
    for k in range(2):
        torch.testing.assert_close(by_products[:, k], bernoulli_log_likelihood(x, logits[k].expand(5, 12)))


# ---- the VAE's pieces ----------------------------------------------------------------------------


def test_gaussian_kl_matches_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mu = 2 * torch.randn(7, 5, generator=gen, dtype=torch.float64)
    logvar = 3 * torch.randn(7, 5, generator=gen, dtype=torch.float64)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), kl_divergence(q, p), rtol=1e-5, atol=1e-5)


def test_gaussian_kl_hand_made_values_and_shape_errors():
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.0, 0.0], [math.log(4.0), 0.0]])
    # 0; mu^2 / 2 = 0.5; (4 - 1 - log 4) / 2
    torch.testing.assert_close(gaussian_kl(mu, logvar), torch.tensor([0.0, 0.5, (3 - math.log(4)) / 2]))
    with pytest.raises(ValueError, match=r"^mu and logvar must share one \(B, d\) shape, got \(2, 3\) and \(2, 2\)$"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"got \(3,\) and \(3,\)"):
        gaussian_kl(torch.zeros(3), torch.zeros(3))


def test_reparameterize_moments_and_gradient():
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    z = reparameterize(mu.expand(200_000, 2), logvar.expand(200_000, 2), generator=gen)
    torch.testing.assert_close(z.mean(0), torch.tensor([1.0, -2.0]), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 2.0]), atol=0.02, rtol=0)
    z.sum().backward()
    assert mu.grad is not None and logvar.grad is not None
    # d z / d mu = 1 for each draw; d z / d logvar = eps * sigma / 2, summed over the draws
    torch.testing.assert_close(mu.grad, torch.full((1, 2), 200_000.0))


def test_reparameterize_with_given_noise_is_mu_plus_sigma_eps():
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(9.0)]])
    z = reparameterize(mu, logvar, eps=torch.tensor([[0.5, -1.0]]))
    torch.testing.assert_close(z, torch.tensor([[1.5, -3.0]]))
    with pytest.raises(ValueError, match=r"^eps must have the shape of mu \(1, 2\), got \(2,\)$"):
        reparameterize(mu, logvar, eps=torch.zeros(2))


def test_reparameterize_draws_from_its_generator_only():
    mu, logvar = torch.zeros(3, 4), torch.zeros(3, 4)
    torch.manual_seed(0)
    a = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(7))
    torch.manual_seed(1)
    b = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_log_mean_exp_is_stable():
    a = torch.tensor([[-1000.0, -1000.0 + math.log(3.0)]])
    torch.testing.assert_close(log_mean_exp(a), torch.tensor([-1000.0 + math.log(2.0)]))


def test_log_mean_exp_matches_scipy_along_either_dimension():
    a = torch.randn(4, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
    for dim, k in ((1, 6), (0, 4), (-1, 6)):
        expected = scipy.special.logsumexp(a.numpy(), axis=dim) - math.log(k)
        np.testing.assert_allclose(log_mean_exp(a, dim=dim).numpy(), expected, rtol=1e-12)
    assert log_mean_exp(torch.tensor([[800.0, 800.0]])).item() == pytest.approx(800.0)  # no overflow
