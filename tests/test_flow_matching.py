"""Flow matching: the path and its target on hand-made cases, the ODE solvers with the exact
velocity of Gaussian data, a trained model that carries N(0, I) to one Gaussian, determinism."""

import pytest
import torch

from gan_course.denoising import DenoiserTrainer
from gan_course.flow_matching import FlowMatching, euler_step, heun_step, interpolate, target_velocity
from gan_course.time_nets import TimeMLP
from oracles_denoising import GaussianVelocity

pytestmark = pytest.mark.usefixtures("one_thread")


def test_path_and_target_on_hand_made_cases():
    x0, x1 = torch.tensor([[0.0, 2.0], [1.0, 1.0]]), torch.tensor([[4.0, 2.0], [-1.0, 3.0]])
    t = torch.tensor([0.25, 1.0])
    assert torch.allclose(interpolate(x0, x1, t), torch.tensor([[1.0, 2.0], [-1.0, 3.0]]))
    assert torch.allclose(interpolate(x0, x1, 0.0), x0)  # t = 0 is the noise
    assert torch.equal(target_velocity(x0, x1), torch.tensor([[4.0, 0.0], [-2.0, 2.0]]))
    # the target is the time derivative of the path
    h = 1e-3
    assert torch.allclose((interpolate(x0, x1, 0.5 + h) - interpolate(x0, x1, 0.5)) / h, target_velocity(x0, x1),
                          atol=1e-3)
    with pytest.raises(ValueError, match="same shape"):
        target_velocity(x0, x1[:1])


def test_the_loss_is_zero_when_every_pair_has_one_answer():
    """With data at one point and a velocity network that returns the exact v, the loss is ~0."""
    model = FlowMatching(TimeMLP(1, 4, 1))
    model.net = GaussianVelocity(mean=2.0, std=0.0)
    loss, values = model.loss(torch.full((2000, 1), 2.0), torch.Generator().manual_seed(0))
    assert loss.item() < 1e-6 and values["loss"] == pytest.approx(loss.item())


def test_solvers_with_the_exact_velocity_carry_noise_to_the_gaussian():
    model = FlowMatching(TimeMLP(1, 4, 1))
    model.net = GaussianVelocity(mean=-1.0, std=0.3)
    errors = {}
    for method in ("euler", "heun"):
        x = model.sample(20_000, steps=8, method=method, seed=0)
        errors[method] = abs(float(x.std()) - 0.3)
        assert abs(float(x.mean()) + 1.0) < 0.02
    assert errors["heun"] < 0.02 and errors["heun"] < errors["euler"]  # second order beats first
    x = model.sample(20_000, steps=200, method="euler", seed=0)
    assert abs(float(x.std()) - 0.3) < 0.01


def test_one_euler_and_heun_step_by_hand():
    v = lambda x, t: -x + t  # noqa: E731
    x = torch.tensor([1.0])
    assert torch.allclose(euler_step(x, v(x, 0.0), 0.5), torch.tensor([0.5]))
    # Heun: predictor 0.5, corrector 1 + 0.25 * (v(1, 0) + v(0.5, 0.5)) = 1 + 0.25 * (-1 + 0) = 0.75
    assert torch.allclose(heun_step(x, 0.0, 0.5, v), torch.tensor([0.75]))


@pytest.mark.slow
def test_a_trained_model_transports_noise_to_one_gaussian():
    mean = torch.tensor([3.0, -1.0])
    cov = torch.tensor([[1.0, 0.6], [0.6, 0.5]])
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5000, 2, generator=gen) @ torch.linalg.cholesky(cov).T + mean  # (N, 2)
    torch.manual_seed(0)
    trainer = DenoiserTrainer(FlowMatching(TimeMLP(2, 32, 2)), x, lr=3e-3, batch_size=256, ema=0.99, seed=0)
    trainer.fit(steps=600, progress=False)
    samples = trainer.sampling_model.sample(5000, steps=20, method="heun", seed=1)
    assert torch.allclose(samples.mean(0), mean, atol=0.1)
    assert torch.allclose(torch.cov(samples.T), cov, atol=0.12)


def test_sampling_is_deterministic_under_a_seed():
    torch.manual_seed(0)
    model = FlowMatching(TimeMLP(2, 16, 2))
    a = model.sample(30, steps=5, seed=1)
    assert torch.equal(a, model.sample(30, steps=5, seed=1))
    assert not torch.equal(a, model.sample(30, steps=5, seed=2))
    path = model.sample(30, steps=5, method="heun", seed=1, return_path=True)
    assert path.shape == (6, 30, 2)
    assert model.evaluations(5, "euler") == 5 and model.evaluations(5, "heun") == 10


def test_the_field_is_the_velocity_in_data_units():
    model = FlowMatching(TimeMLP(1, 4, 1))
    model.net = GaussianVelocity(mean=0.0, std=1.0)  # N(0, 1) at every t on this path: v = (2t - 1) x / ((1-t)^2 + t^2)
    model.scale = torch.tensor(2.0)  # the data are twice the model units
    x = torch.tensor([[1.0]])
    t = 0.75
    v = (t - (1 - t)) / ((1 - t) ** 2 + t**2) * 0.5  # at model point 0.5
    assert torch.allclose(model.field(x, t), torch.tensor([[2 * v]]), atol=1e-6)


def test_bad_input_names_the_argument():
    model = FlowMatching(TimeMLP())
    with pytest.raises(ValueError, match="steps must be"):
        model.sample(5, steps=-1)
    with pytest.raises(ValueError, match="method must be one of 'euler', 'heun'"):
        model.sample(5, method="ddim")
    with pytest.raises(ValueError, match=r"t must be a number in \[0, 1\]"):
        model.field(torch.zeros(1, 2), -0.1)
    with pytest.raises(ValueError, match=r"samples of shape \(2,\)"):
        model.set_scaling(torch.zeros(10, 3))
