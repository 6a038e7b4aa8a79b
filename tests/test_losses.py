"""GAN losses against closed forms, autograd on hand-made cases, the Dirac-GAN field, the generator's
gradient norm, and one-sided label smoothing (against torch's BCE and the closed form of its optimum)."""

import math

import pytest
import torch
import torch.nn.functional as F

from gan_course import data, losses, nets
from gan_course.nets import DCGANDiscriminator, DCGANGenerator
from gan_course.train import GANTrainer
from helpers import params, same

pytestmark = pytest.mark.usefixtures("one_thread")


def _sig(t):
    return 1 / (1 + math.exp(-t))


REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def test_minimax_d_loss_matches_probability_form():
    expected = -sum(math.log(_sig(r)) for r in REAL.tolist()) / 3 \
        - sum(math.log(1 - _sig(f)) for f in FAKE.tolist()) / 3
    assert losses.minimax_d_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses_match_probability_form():
    sat = sum(math.log(1 - _sig(f)) for f in FAKE.tolist()) / 3
    ns = -sum(math.log(_sig(f)) for f in FAKE.tolist()) / 3
    assert losses.saturating_g_loss(FAKE).item() == pytest.approx(sat, rel=1e-6)
    assert losses.nonsaturating_g_loss(FAKE).item() == pytest.approx(ns, rel=1e-6)


def test_equilibrium_values():
    zero = torch.zeros(4)
    assert losses.minimax_d_loss(zero, zero).item() == pytest.approx(math.log(4))
    assert -losses.minimax_d_loss(zero, zero).item() == pytest.approx(losses.equilibrium_value())


def test_losses_are_stable_for_confident_discriminator():
    huge = torch.tensor([-200.0, 200.0])
    for value in (losses.minimax_d_loss(huge, huge), losses.saturating_g_loss(huge),
                  losses.nonsaturating_g_loss(huge)):
        assert torch.isfinite(value)
    assert losses.nonsaturating_g_loss(torch.tensor([-200.0])).item() == pytest.approx(200.0)


def test_gradients_saturating_vs_nonsaturating():
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l); d/dl -log sigmoid(l) = -(1 - sigmoid(l))
    fake = torch.tensor([-6.0], requires_grad=True)
    (g_sat,) = torch.autograd.grad(losses.saturating_g_loss(fake), fake)
    (g_ns,) = torch.autograd.grad(losses.nonsaturating_g_loss(fake), fake)
    assert g_sat.item() == pytest.approx(-_sig(-6.0), rel=1e-5)
    assert g_ns.item() == pytest.approx(-(1 - _sig(-6.0)), rel=1e-5)
    assert abs(g_ns.item()) > 100 * abs(g_sat.item())  # saturation when D wins


def test_least_squares_hinge_wasserstein_closed_forms():
    r, f = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])
    assert losses.least_squares_d_loss(r, f).item() == pytest.approx(0.5 * 1 + 0.5 * 1)
    assert losses.least_squares_g_loss(f).item() == pytest.approx(0.5 * (0 + 4) / 2)
    assert losses.hinge_d_loss(r, f).item() == pytest.approx((1 + 0) / 2 + (2 + 0) / 2)
    assert losses.hinge_g_loss(f).item() == pytest.approx(0.0)
    assert losses.wasserstein_critic_loss(r, f).item() == pytest.approx(0.0 - 1.0)
    assert losses.wasserstein_g_loss(torch.tensor([3.0])).item() == -3.0


def test_autograd_of_hinge_on_hand_made_case():
    real = torch.tensor([0.5, 3.0], requires_grad=True)  # only the first is inside the margin
    fake = torch.tensor([-2.0, 0.0], requires_grad=True)  # only the second is inside
    losses.hinge_d_loss(real, fake).backward()
    assert real.grad.tolist() == [-0.5, 0.0]
    assert fake.grad.tolist() == [0.0, 0.5]


def test_gradient_penalty_linear_critic_closed_form():
    w = torch.tensor([3.0, 4.0])  # |grad| = 5 everywhere -> penalty (5 - 1)^2 = 16
    critic = lambda x: x @ w  # noqa: E731
    x, x_fake = torch.randn(8, 2), torch.randn(8, 2)
    assert losses.gradient_penalty(critic, x, x_fake).item() == pytest.approx(16.0)
    unit = lambda x: x @ torch.tensor([0.6, 0.8])  # noqa: E731
    assert losses.gradient_penalty(unit, x, x_fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_backpropagates_into_critic():
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    gp = losses.gradient_penalty(lambda x: x @ w, torch.randn(4, 2), torch.randn(4, 2))
    (grad,) = torch.autograd.grad(gp, w)
    # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w| = 2 * 4 * w / 5
    torch.testing.assert_close(grad, 8 * w.detach() / 5)


def test_gradient_penalty_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        losses.gradient_penalty(lambda x: x.sum(1), torch.zeros(4, 2), torch.zeros(4, 3))


def test_r1_penalty_closed_forms():
    x = torch.randn(8, 2, dtype=torch.float64)
    linear = lambda x: x @ torch.tensor([3.0, 4.0], dtype=torch.float64)  # noqa: E731  grad = w, |w|^2 = 25
    assert losses.r1_penalty(linear, x).item() == pytest.approx(25.0)
    square = lambda x: (x ** 2).sum(1)  # noqa: E731  grad = 2x: E|2x|^2 = 4 E|x|^2
    assert losses.r1_penalty(square, x).item() == pytest.approx(4 * (x ** 2).sum(1).mean().item())
    # only the real points count, and a condition reaches the discriminator
    conditional = lambda x, y: x @ torch.tensor([1.0, 0.0], dtype=x.dtype) * y  # noqa: E731
    y = torch.tensor([0.0, 2.0] * 4, dtype=torch.float64)
    assert losses.r1_penalty(conditional, x, y).item() == pytest.approx((y ** 2).mean().item())


def test_r1_penalty_backpropagates_into_discriminator():
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    r1 = losses.r1_penalty(lambda x: x @ w, torch.randn(4, 2))
    (grad,) = torch.autograd.grad(r1, w)
    torch.testing.assert_close(grad, 2 * w.detach())  # d/dw |w|^2


def test_get_loss_by_name_pair_and_error():
    assert losses.get_loss("hinge").d_loss is losses.hinge_d_loss
    assert losses.get_loss("wgan_gp").gradient_penalty
    pair = losses.get_loss((losses.minimax_d_loss, losses.saturating_g_loss))
    assert pair.name == "custom" and pair.g_loss is losses.saturating_g_loss
    with pytest.raises(ValueError, match="'minimax'.*'nonsaturating'.*got 'vanilla'"):
        losses.get_loss("vanilla")


def test_dirac_field_matches_autograd_of_value_function():
    theta = torch.tensor(0.7, requires_grad=True)
    psi = torch.tensor(-1.3, requires_grad=True)
    value = math.log(0.5) - torch.nn.functional.softplus(psi * theta)  # V(theta, psi)
    g_theta, g_psi = torch.autograd.grad(value, (theta, psi))
    d_theta, d_psi = losses.dirac_gan_field(theta.detach(), psi.detach(), loss="minimax")
    assert d_theta.item() == pytest.approx(-g_theta.item())  # G descends V
    assert d_psi.item() == pytest.approx(g_psi.item())  # D ascends V


def test_dirac_field_jacobian_is_rotation_and_gp_damps_it():
    jac = torch.autograd.functional.jacobian(
        lambda v: torch.stack(losses.dirac_gan_field(v[0], v[1])), torch.zeros(2))
    eig = torch.linalg.eigvals(jac)
    assert eig.real.abs().max() < 1e-7 and eig.imag.abs().tolist() == pytest.approx([0.5, 0.5])
    jac_gp = torch.autograd.functional.jacobian(
        lambda v: torch.stack(losses.dirac_gan_field(v[0], v[1], gp_weight=1.0)), torch.zeros(2))
    assert torch.linalg.eigvals(jac_gp).real.max() < 0


def test_dirac_trajectories_diverge_simultaneous_converge_with_gp():
    radius = lambda p: p.norm(dim=1)  # noqa: E731
    sim = losses.dirac_gan_trajectory(1.0, 0.0, lr=0.2, steps=300, mode="simultaneous")
    alt = losses.dirac_gan_trajectory(1.0, 0.0, lr=0.2, steps=300, mode="alternating")
    gp = losses.dirac_gan_trajectory(1.0, 0.0, lr=0.2, steps=300, mode="simultaneous", gp_weight=1.0)
    assert radius(sim)[-1] > 1.0  # spirals outwards
    assert 0.3 < radius(alt)[-1] < 1.5  # keeps circling
    assert radius(gp)[-1] < 0.1  # converges to (0, 0)


def test_dirac_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        losses.dirac_gan_trajectory(1.0, 0.0, mode="jacobi")
    with pytest.raises(ValueError, match="gp_weight"):
        losses.dirac_gan_field(torch.tensor(0.0), torch.tensor(0.0), gp_weight=-1)
    with pytest.raises(ValueError, match="^mode must be one of 'simultaneous', 'alternating'; got 'jacobi'$"):
        losses.dirac_gan_trajectory(1.0, 0.0, mode="jacobi")
    with pytest.raises(ValueError, match="^gp_weight must be a finite number >= 0, got -1$"):
        losses.dirac_gan_field(torch.tensor(0.0), torch.tensor(0.0), gp_weight=-1)
    with pytest.raises(ValueError, match="^loss must be one of 'minimax', 'nonsaturating'; got 'hinge'$"):
        losses.dirac_gan_field(torch.tensor(0.0), torch.tensor(0.0), loss="hinge")
    with pytest.raises(ValueError, match="^lr must be a positive number, got 0$"):
        losses.dirac_gan_trajectory(1.0, 0.0, lr=0)


# ---- the generator's gradient norm ------------------------------------------------------------


def frozen_gaussian_generator(mean: float, std: float) -> nets.MLPGenerator:
    """A depth-0 generator x = std * z + mean, so p_g = N(mean, std^2) exactly."""
    g = nets.MLPGenerator(latent_dim=1, out_dim=1, depth=0)
    with torch.no_grad():
        g.net[0].weight.fill_(std)
        g.net[0].bias.fill_(mean)
    return g


def test_generator_gradient_norm_saturating_vanishes_when_d_is_strong():
    g = frozen_gaussian_generator(6.0, 0.5)  # far from the data
    d = nets.MLPDiscriminator(in_dim=1, width=32)
    t = GANTrainer(g, d, data.toy("mix1d", 2000, seed=0), "minimax", device="cpu", lr_d=3e-3,
                         batch_size=256)
    before = params(g)
    for _ in range(150):
        t.step_d()
    sat = losses.generator_gradient_norm(g, d, losses.saturating_g_loss)
    ns = losses.generator_gradient_norm(g, d, losses.nonsaturating_g_loss)
    assert ns > 50 * sat
    assert same(params(g), before) and all(p.grad is None for p in g.parameters())


# ---- one-sided label smoothing (notebook 08) ---------------------------------------------------

SMOOTH_REAL = torch.tensor([3.0, -1.0, 0.5, 40.0])
SMOOTH_FAKE = torch.tensor([-2.0, 0.0, 1.5])


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.25, 0.9])
def test_smoothed_d_loss_matches_torch_bce_with_smoothed_real_targets(smoothing):
    expected = F.binary_cross_entropy_with_logits(SMOOTH_REAL, torch.full_like(SMOOTH_REAL, 1 - smoothing)) \
        + F.binary_cross_entropy_with_logits(SMOOTH_FAKE, torch.zeros_like(SMOOTH_FAKE))
    got = losses.smoothed_d_loss(SMOOTH_REAL, SMOOTH_FAKE, smoothing=smoothing)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_zero_smoothing_is_the_minimax_loss():
    assert torch.equal(losses.smoothed_d_loss(SMOOTH_REAL, SMOOTH_FAKE, 0.0), losses.minimax_d_loss(SMOOTH_REAL, SMOOTH_FAKE))


def test_fake_side_is_not_smoothed():
    # The fake term alone, with the real logits fixed: it must not depend on smoothing.
    a = losses.smoothed_d_loss(SMOOTH_REAL, SMOOTH_FAKE, 0.2) - losses.smoothed_d_loss(SMOOTH_REAL, torch.zeros(3), 0.2)
    b = losses.smoothed_d_loss(SMOOTH_REAL, SMOOTH_FAKE, 0.0) - losses.smoothed_d_loss(SMOOTH_REAL, torch.zeros(3), 0.0)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_smoothed_d_loss_optimal_logit_is_log_odds_of_one_minus_s(smoothing):
    # Minimising over one real logit l: (1-s) softplus(-l) + s softplus(l) is smallest at sigmoid(l) = 1 - s.
    logit = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([logit], lr=1, max_iter=100)

    def closure():
        opt.zero_grad()
        loss = losses.smoothed_d_loss(logit, torch.tensor([-30.0]), smoothing)
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.sigmoid(logit).item() == pytest.approx(1 - smoothing, abs=1e-4)
    assert logit.item() == pytest.approx(math.log((1 - smoothing) / smoothing), abs=1e-3)


def test_smoothed_d_loss_stays_finite_for_large_logits():
    big = torch.tensor([200.0, -200.0])
    value = losses.smoothed_d_loss(big, -big, 0.1)
    assert torch.isfinite(value)
    assert value.item() == pytest.approx(0.1 * 200 / 2 + 0.9 * 200 / 2 + 200 / 2, rel=1e-6)


def test_smoothed_d_loss_gradient_on_a_real_logit_is_sigmoid_minus_target():
    real = torch.tensor([2.0], requires_grad=True)
    losses.smoothed_d_loss(real, torch.tensor([0.0]), 0.1).backward()
    assert real.grad.item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item() - 0.9, abs=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), True, "0.1", None])
def test_smoothing_outside_range_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"smoothing must be a number in \[0, 1\)"):
        losses.smoothed_d_loss(SMOOTH_REAL, SMOOTH_FAKE, bad)
    with pytest.raises(ValueError, match="smoothing"):
        losses.label_smoothing_loss(bad)


def test_label_smoothing_loss_pairs_with_nonsaturating_generator():
    loss = losses.label_smoothing_loss(0.2)
    assert isinstance(loss, losses.GANLoss)
    assert loss.name == "nonsaturating+smoothing"
    assert loss.g_loss is losses.nonsaturating_g_loss
    assert not loss.gradient_penalty
    assert loss.d_loss(SMOOTH_REAL, SMOOTH_FAKE).item() == pytest.approx(losses.smoothed_d_loss(SMOOTH_REAL, SMOOTH_FAKE, 0.2).item())
    assert losses.get_loss(loss) is loss


def test_trainer_takes_label_smoothing_as_its_loss():
    torch.manual_seed(0)
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    y = torch.arange(32) % 10
    trainer = GANTrainer(DCGANGenerator(8, 4, num_classes=10), DCGANDiscriminator(4, num_classes=10),
                         (x, y), losses.label_smoothing_loss(0.1), batch_size=8, device="cpu")
    trainer.fit(steps=2, progress=False)
    assert trainer.loss.name == "nonsaturating+smoothing"
    assert len(trainer.history["d_loss"]) == 2 and all(math.isfinite(v) for v in trainer.history["d_loss"])
