"""GAN losses against closed forms, autograd on hand-made cases, and the Dirac-GAN field."""

import math

import pytest
import torch

from gan_course import losses


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
