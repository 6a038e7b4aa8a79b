"""DDPM (diffusion): schedules and forward noising against their closed forms, the reverse steps
against Ho et al.'s posterior, samplers driven by the exact noise predictor of Gaussian data, the
loss on hand-made cases, determinism and bad input."""

import math

import pytest
import torch

from gan_course.diffusion import (Diffusion, alpha_bars, cosine_alpha_bars, ddim_step, ddpm_step, linear_betas,
                                  q_mean_std, q_sample, step_indices)
from gan_course.time_nets import TimeMLP
from oracles_denoising import GaussianEpsilon

pytestmark = pytest.mark.usefixtures("one_thread")


def test_alpha_bars_are_the_cumulative_products_of_the_betas():
    betas = linear_betas(50)
    expected = torch.tensor([math.prod(1 - b for b in betas[: t + 1].tolist()) for t in range(50)], dtype=torch.float64)
    assert torch.allclose(alpha_bars("linear", 50), expected, rtol=1e-12)
    assert torch.allclose(linear_betas(1000)[[0, -1]], torch.tensor([1e-4, 0.02], dtype=torch.float64))


def test_cosine_schedule_matches_nichol_and_dhariwal():
    t, s = 10, 0.008
    f = lambda k: math.cos((k / t + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    expected = torch.tensor([f(k) / f(0) for k in range(1, t + 1)], dtype=torch.float64).clamp(1e-5, 1)
    assert torch.allclose(cosine_alpha_bars(t), expected, rtol=1e-12)


def test_forward_noising_step_by_step_matches_the_closed_form():
    """Running q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t) t times gives q(x_t | x_0)."""
    gen = torch.Generator().manual_seed(0)
    betas = linear_betas(100)
    x0 = torch.full((200_000,), 1.5, dtype=torch.float64)
    x = x0.clone()
    for t in range(60):
        x = (1 - betas[t]).sqrt() * x + betas[t].sqrt() * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    a = float(alpha_bars("linear", 100)[59])
    mean, std = q_mean_std(x0[:1], a)
    assert abs(float(x.mean()) - float(mean)) < 0.01 and abs(float(x.std()) - std) < 0.01
    closed = q_sample(x0, torch.full((len(x0),), a, dtype=torch.float64),
                      torch.randn(x.shape, generator=gen, dtype=torch.float64))
    assert abs(float(closed.mean()) - float(x.mean())) < 0.01 and abs(float(closed.std()) - float(x.std())) < 0.01


def test_q_sample_on_hand_made_values():
    x0, noise = torch.tensor([[2.0, -2.0]]), torch.tensor([[1.0, 1.0]])
    assert torch.allclose(q_sample(x0, torch.tensor([0.64]), noise), torch.tensor([[0.8 * 2 + 0.6, -0.8 * 2 + 0.6]]))
    with pytest.raises(ValueError, match="noise must have the shape of x0"):
        q_sample(x0, torch.tensor([0.5]), torch.zeros(1, 3))


def test_ancestral_step_is_ho_et_al_posterior_between_consecutive_steps():
    a = alpha_bars("linear", 100).tolist()
    t = 40
    beta_t = 1 - a[t] / a[t - 1]
    x0, x_t = torch.tensor([0.7]), torch.tensor([0.2])
    eps = (x_t - math.sqrt(a[t]) * x0) / math.sqrt(1 - a[t])  # the noise that makes x_t from x0
    mean = (math.sqrt(a[t - 1]) * beta_t / (1 - a[t]) * x0
            + math.sqrt(1 - beta_t) * (1 - a[t - 1]) / (1 - a[t]) * x_t)  # Ho et al. (2020), eq. 7
    var = (1 - a[t - 1]) / (1 - a[t]) * beta_t
    assert torch.allclose(ddpm_step(x_t, eps, a[t], a[t - 1], torch.zeros(1)), mean, atol=1e-6)
    assert torch.allclose(ddpm_step(x_t, eps, a[t], a[t - 1], torch.ones(1)) - mean,
                          torch.tensor([math.sqrt(var)]), atol=1e-6)
    assert torch.allclose(ddim_step(x_t, eps, a[t], 1.0), x0, atol=1e-6)  # to the data: x0 exactly


def test_step_indices_spread_over_the_schedule():
    assert step_indices(1000, 4) == [999, 666, 333, 0]
    assert step_indices(10, 10) == list(range(9, -1, -1))
    assert step_indices(10, 1) == [9]
    with pytest.raises(ValueError, match="steps"):
        step_indices(10, 11)


@pytest.mark.parametrize("method, steps", [("ddpm", 100), ("ddim", 50)])
def test_samplers_with_the_exact_noise_predictor_reproduce_gaussian_data(method, steps):
    model = Diffusion(TimeMLP(1, 4, 1), num_steps=1000)
    model.net = GaussianEpsilon(model.alpha_bars, mean=2.0, std=0.5)
    x = model.sample(20_000, steps=steps, method=method, seed=0)
    assert abs(float(x.mean()) - 2.0) < 0.03 and abs(float(x.std()) - 0.5) < 0.03


def test_the_loss_is_zero_for_the_exact_predictor_and_the_noise_variance_for_zero():
    model = Diffusion(TimeMLP(1, 4, 1), num_steps=200)
    x = torch.full((4000, 1), 3.0)  # one point: the noise is read off x_t exactly
    model.net = GaussianEpsilon(model.alpha_bars, mean=3.0, std=0.0)
    loss, values = model.loss(x, torch.Generator().manual_seed(0))
    assert loss.item() < 1e-8 and values["loss"] == pytest.approx(loss.item())
    model.net = torch.nn.Identity()
    model.net.forward = lambda x_t, t: torch.zeros_like(x_t)  # predicts no noise: the loss is E[eps^2] = 1
    assert model.loss(x, torch.Generator().manual_seed(0))[0].item() == pytest.approx(1.0, abs=0.06)


def test_sampling_is_deterministic_under_a_seed_and_the_path_ends_at_the_sample():
    torch.manual_seed(0)
    model = Diffusion(TimeMLP(2, 16, 2), num_steps=100)
    a = model.sample(50, steps=10, seed=3)
    assert torch.equal(a, model.sample(50, steps=10, seed=3))
    assert not torch.equal(a, model.sample(50, steps=10, seed=4))
    path = model.sample(50, steps=10, seed=3, return_path=True)
    assert path.shape == (11, 50, 2) and torch.equal(path[-1], a)
    assert model.evaluations(10) == 10 and model.evaluations(500) == 100


def test_the_field_is_the_score_of_gaussian_data():
    model = Diffusion(TimeMLP(1, 4, 1), num_steps=100)
    model.net = GaussianEpsilon(model.alpha_bars, mean=0.0, std=1.0)  # x_t ~ N(0, 1) at every step
    x = torch.tensor([[0.5], [-2.0]])
    assert torch.allclose(model.field(x, 0.3), -x, atol=1e-5)  # the score of N(0, 1) is -x


def test_bad_input_names_the_argument():
    model = Diffusion(TimeMLP(), num_steps=10)
    with pytest.raises(ValueError, match="steps must be"):
        model.sample(5, steps=0)
    with pytest.raises(ValueError, match="method must be one of 'ddpm', 'ddim'"):
        model.sample(5, method="euler")
    with pytest.raises(ValueError, match=r"t must be a number in \[0, 1\]"):
        model.field(torch.zeros(2, 2), 1.2)
    with pytest.raises(ValueError, match="schedule must be one of"):
        Diffusion(TimeMLP(), schedule="quadratic")
