"""gan_course.mcmc: samplers against exact samples (energy two-sample test) and closed forms
(AR(1) autocorrelation and ESS, the unadjusted Langevin chain's variance, the exact completion
posterior), the energy distance against scipy, and bad-input errors."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from gan_course import density, mcmc


@pytest.fixture(autouse=True)
def _small_tensors_on_one_thread(one_thread):
    """Chains step many times on small tensors: one torch thread is faster."""


def _mixture_2d():
    """Notebook 03's three tilted clouds, a known density with known exact samples."""
    return density.GaussianMixture(3, "full").set_params(
        weights=torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64),
        means=torch.tensor([[-2.0, 0.0], [2.0, 1.5], [1.5, -2.0]], dtype=torch.float64),
        covariances=torch.tensor([[[1.2, 0.8], [0.8, 1.0]], [[0.6, -0.3], [-0.3, 0.4]], [[0.3, 0.0], [0.0, 1.0]]],
                                 dtype=torch.float64))


def _ar1(phi, n, chains=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, chains, generator=gen, dtype=torch.float64)
    x = torch.zeros(n, chains, dtype=torch.float64)
    x[0] = noise[0] / math.sqrt(1 - phi**2)  # start in the stationary distribution
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    return x


# ----------------------------------------------------------------------- Metropolis–Hastings


def test_acceptance_probability_by_hand():
    got = mcmc.acceptance_probability(torch.tensor([0.0, -1.0, 0.0]), torch.tensor([-math.log(2), 0.0, 0.0]),
                                      torch.tensor([0.0, 0.0, math.log(0.2)]), torch.tensor([0.0, 0.0, math.log(0.1)]))
    torch.testing.assert_close(got, torch.tensor([0.5, 1.0, 0.5]))
    far = mcmc.acceptance_probability(torch.tensor(-1000.0), torch.tensor(-1001.0))
    assert far.item() == pytest.approx(math.exp(-1))  # no 0/0 from exponentiating first


def test_metropolis_hastings_samples_a_2d_mixture():
    truth = _mixture_2d()
    x0 = 3 * torch.randn(400, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    result = mcmc.metropolis_hastings(truth.log_prob, x0, steps=1, step_size=1.0, burn_in=300, seed=0)
    assert result.samples.shape == (1, 400, 2)
    assert 0.3 < result.acceptance_rate < 0.6
    exact = truth.sample(400, seed=2)
    _, p_value = mcmc.energy_test(result.samples[-1], exact, permutations=300, seed=0)
    assert p_value > 0.01
    # the same test sees a sampler stopped before it had mixed (40 steps from a wide start)
    early = mcmc.metropolis_hastings(truth.log_prob, x0, steps=1, step_size=0.1, burn_in=40, seed=0)
    assert mcmc.energy_test(early.samples[-1], exact, permutations=300, seed=0)[1] < 0.01


def test_small_steps_accept_more_and_mix_less():
    truth = _mixture_2d()
    x0 = truth.sample(8, seed=0)
    rates, ess = [], []
    for step_size in (0.1, 2.0):
        result = mcmc.metropolis_hastings(truth.log_prob, x0, steps=1500, step_size=step_size, seed=0)
        rates.append(result.acceptance_rate)
        ess.append(mcmc.effective_sample_size(result.samples[:, :, 0]))
    assert rates[0] > 0.85 > 0.4 > rates[1]
    assert ess[1] > 3 * ess[0]


# ----------------------------------------------------------------------- diagnostics


def test_autocorrelation_and_ess_of_an_ar1_chain():
    phi = 0.8
    x = _ar1(phi, 20000, chains=4)
    rho = mcmc.autocorrelation(x, max_lag=5)
    np.testing.assert_allclose(rho.numpy(), phi ** np.arange(6), atol=0.03)
    ess = mcmc.effective_sample_size(x)
    assert ess == pytest.approx(80000 * (1 - phi) / (1 + phi), rel=0.15)  # N (1 - phi) / (1 + phi)
    independent = torch.randn(5000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert mcmc.effective_sample_size(independent) == pytest.approx(5000, rel=0.15)


def test_autocorrelation_matches_a_direct_sum():
    x = torch.randn(300, generator=torch.Generator().manual_seed(3), dtype=torch.float64).cumsum(0)
    centred = (x - x.mean()).numpy()
    direct = [np.sum(centred[: 300 - k] * centred[k:]) / np.sum(centred**2) for k in range(10)]
    np.testing.assert_allclose(mcmc.autocorrelation(x, 9).numpy(), direct, rtol=1e-10)


def test_energy_distance_matches_scipy_in_one_dimension():
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(200, generator=gen, dtype=torch.float64)
    v = 0.5 + torch.randn(150, generator=gen, dtype=torch.float64)
    assert mcmc.energy_distance(u, v).item() == pytest.approx(scipy.stats.energy_distance(u, v) ** 2, rel=1e-9)


def test_energy_test_p_values():
    gen = torch.Generator().manual_seed(0)
    same = [mcmc.energy_test(torch.randn(60, 2, generator=gen), torch.randn(60, 2, generator=gen),
                             permutations=99, seed=i)[1] for i in range(40)]
    assert 0.01 < np.mean(np.array(same) < 0.1) < 0.25  # about 10 % below 0.1 under the null
    x, y = torch.randn(60, 2, generator=gen), 0.8 + torch.randn(50, 2, generator=gen)
    statistic, p_value = mcmc.energy_test(x, y)
    assert p_value < 0.01
    assert statistic == pytest.approx(mcmc.energy_distance(x, y).item(), rel=1e-9)


# ----------------------------------------------------------------------- Gibbs completion


def _small_mixture():
    gen = torch.Generator().manual_seed(0)
    mixture = density.BernoulliMixture(3, seed=0).fit(torch.bernoulli(torch.full((30, 8), 0.5), generator=gen))
    mixture.theta = torch.tensor([[0.8, 0.7, 0.2, 0.3, 0.6, 0.5, 0.4, 0.7],
                                  [0.2, 0.3, 0.8, 0.7, 0.4, 0.5, 0.6, 0.3],
                                  [0.5, 0.9, 0.5, 0.1, 0.5, 0.2, 0.8, 0.5]])
    mixture.weights = torch.tensor([0.5, 0.3, 0.2])
    x = torch.tensor([[1.0, 1, 0, 0, 1, 0, 0, 0], [0.0, 0, 1, 1, 0, 1, 1, 0], [1.0, 1, 1, 0, 0, 0, 1, 1]])
    mask = torch.ones_like(x, dtype=torch.bool)
    mask[:, 5:] = False  # the last three pixels are missing
    return mixture, x, mask


@pytest.mark.parametrize("collapsed", [False, True])
def test_gibbs_marginal_matches_the_exact_posterior_within_sampling_error(collapsed):
    mixture, x, mask = _small_mixture()
    exact = mixture.complete(x, mask)
    result = mcmc.gibbs_complete(mixture, x, mask, steps=50, burn_in=20, chains=400, collapsed=collapsed, seed=0)
    assert torch.equal(result.marginal[mask], x[mask])  # observed pixels are kept
    p = exact[~mask]
    # 400 independent chains: their last states are 400 independent draws, standard error sqrt(p(1-p)/400);
    # averaging each chain over 50 steps can only shrink it, so 4 of these is a safe bound for both
    standard_error = (p * (1 - p) / 400).sqrt()
    assert ((result.samples.mean(0)[~mask] - p).abs() < 4 * standard_error).all()
    assert ((result.marginal[~mask] - p).abs() < 4 * standard_error).all()
    assert result.samples.shape == (400, 3, 8) and set(result.samples.unique().tolist()) <= {0.0, 1.0}


def test_plain_gibbs_sticks_to_its_first_component_when_half_a_digit_is_missing():
    gen = torch.Generator().manual_seed(0)
    prototypes = torch.bernoulli(torch.full((4, 40), 0.5), generator=gen)
    labels = torch.randint(4, (200,), generator=gen)
    data = torch.where(torch.rand(200, 40, generator=gen) < 0.1, 1 - prototypes[labels], prototypes[labels])
    mixture = density.BernoulliMixture(4, seed=0).fit(data)
    mask = torch.ones(6, 40, dtype=torch.bool)
    mask[:, 20:] = False
    plain = mcmc.gibbs_complete(mixture, data[:6], mask, steps=100, burn_in=5, chains=20, seed=0)
    switches = (plain.components[1:] != plain.components[:-1]).float().mean().item()
    assert switches < 0.01
    collapsed = mcmc.gibbs_complete(mixture, data[:6], mask, steps=100, burn_in=5, chains=20, collapsed=True, seed=0)
    exact = mixture.complete(data[:6], mask)
    assert (collapsed.marginal - exact).abs().max() < 0.1


# ----------------------------------------------------------------------- Langevin dynamics


def test_score_from_log_prob_is_the_gaussian_score():
    score = mcmc.score_from_log_prob(lambda x: -0.5 * ((x - 1.0) ** 2 / 4.0).sum(1))
    x = torch.randn(5, 2, dtype=torch.float64)
    torch.testing.assert_close(score(x), -(x - 1.0) / 4.0)


def test_unadjusted_langevin_variance_has_the_closed_form_bias():
    sigma2 = 1.0
    score = lambda x: -x / sigma2  # noqa: E731  N(0, sigma^2)
    for eps in (0.1, 1.0):
        run = mcmc.langevin(score, torch.zeros(2000, 1), steps=200, step_size=eps, seed=0)
        expected = sigma2 / (1 - eps / (4 * sigma2))  # the AR(1) x' = (1 - eps/2) x + sqrt(eps) xi
        assert run.samples[-1].var().item() == pytest.approx(expected, rel=0.08)
    assert 1 / (1 - 1.0 / 4) > 1.3  # at eps = 1 the chain is 33 % too wide: the bias MH would remove


def test_langevin_samples_a_2d_mixture_with_a_small_step_and_not_with_a_large_one():
    truth = _mixture_2d()
    score = mcmc.score_from_log_prob(truth.log_prob)
    x0 = 4 * torch.rand(400, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 2
    exact = truth.sample(400, seed=3)
    run = mcmc.langevin(score, x0, steps=1000, step_size=0.05, keep_every=250, seed=0)
    assert run.samples.shape == (5, 400, 2)
    assert mcmc.energy_test(run.samples[-1], exact, permutations=300, seed=0)[1] > 0.01
    too_big = mcmc.langevin(score, x0, steps=300, step_size=1.0, seed=0)
    assert mcmc.energy_test(too_big.samples[-1], exact, permutations=300, seed=0)[1] < 0.01


# ----------------------------------------------------------------------- bad input


def test_bad_input_is_refused():
    log_p = lambda x: -(x**2).sum(1)  # noqa: E731
    with pytest.raises(ValueError, match=r"x0 must be a \(C, D\) tensor"):
        mcmc.metropolis_hastings(log_p, torch.zeros(3), steps=5, step_size=0.5)
    with pytest.raises(ValueError, match="step_size must be a positive number, got -1"):
        mcmc.metropolis_hastings(log_p, torch.zeros(3, 2), steps=5, step_size=-1)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        mcmc.langevin(lambda x: -x, torch.zeros(3, 2), steps=0, step_size=0.1)
    with pytest.raises(ValueError, match="NaN"):
        mcmc.langevin(lambda x: -x, torch.full((3, 2), float("nan")), steps=1, step_size=0.1)
    with pytest.raises(FloatingPointError, match="diverged"):
        mcmc.langevin(lambda x: -100 * x, torch.ones(3, 2), steps=200, step_size=1.0)
    with pytest.raises(ValueError, match=r"S >= 2"):
        mcmc.autocorrelation(torch.zeros(1))
    mixture, x, mask = _small_mixture()
    with pytest.raises(ValueError, match="mask must be a tensor of the shape of x"):
        mcmc.gibbs_complete(mixture, x, mask[:, :4], steps=2)
    with pytest.raises(ValueError, match="must be fitted"):
        mcmc.gibbs_complete(density.BernoulliMixture(2), x, mask, steps=2)
