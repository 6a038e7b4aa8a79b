"""Notebook 05's self-checks accept the reference answers and reject planted mistakes."""

import math

import torch
import torch.nn.functional as F

from gan_course import checks, losses, metrics


def test_nonsaturating_loss():
    assert checks.nonsaturating_loss(losses.nonsaturating_g_loss)
    assert checks.nonsaturating_loss(lambda l: -F.logsigmoid(l).mean())
    bad = checks.nonsaturating_loss(losses.saturating_g_loss)
    assert not bad and "saturating" in bad.message
    naive = checks.nonsaturating_loss(lambda l: -torch.log(torch.sigmoid(l)).mean())
    assert not naive and "logsigmoid" in naive.message
    assert not checks.nonsaturating_loss(lambda l: F.softplus(-l).sum())  # sum instead of mean
    assert not checks.nonsaturating_loss(None)
    assert "raised" in checks.nonsaturating_loss(lambda l: 1 / 0).message


GRID = torch.linspace(-8, 8, 3201, dtype=torch.float64)
P = torch.exp(-0.5 * (GRID - 1) ** 2) / math.sqrt(2 * math.pi)
Q = torch.exp(-0.5 * (GRID / 2) ** 2) / (2 * math.sqrt(2 * math.pi))


def test_optimal_discriminator():
    assert checks.optimal_discriminator(metrics.optimal_discriminator(P, Q), P, Q)
    swapped = checks.optimal_discriminator(Q / (P + Q), P, Q)
    assert not swapped and "upside down" in swapped.message
    assert "fill in your answer" in checks.optimal_discriminator(None, P, Q).message


def test_gan_value_at_optimum():
    d = P / (P + Q)
    value = torch.trapezoid(P * torch.log(d) + Q * torch.log(1 - d), GRID)
    assert checks.gan_value_at_optimum(value, P, Q, GRID)
    js = metrics.js_divergence_grid(P, Q, GRID)
    wrong = checks.gan_value_at_optimum(-math.log(4) + js, P, Q, GRID)  # forgot the factor 2
    assert not wrong and "factor 2" in wrong.message
    assert not checks.gan_value_at_optimum(-math.log(4), P, Q, GRID)


def test_dirac_gan_eigenvalues():
    assert checks.dirac_gan_eigenvalues([0.5j, -0.5j])
    jac = torch.autograd.functional.jacobian(lambda v: torch.stack(losses.dirac_gan_field(v[0], v[1])),
                                             torch.zeros(2, dtype=torch.float64))
    assert checks.dirac_gan_eigenvalues(torch.linalg.eigvals(jac))
    jac_gp = torch.autograd.functional.jacobian(
        lambda v: torch.stack(losses.dirac_gan_field(v[0], v[1], gp_weight=0.5)), torch.zeros(2, dtype=torch.float64))
    assert checks.dirac_gan_eigenvalues(torch.linalg.eigvals(jac_gp), gp_weight=0.5)
    real = checks.dirac_gan_eigenvalues([0.5, -0.5])
    assert not real and "eigvals" in real.message
    assert not checks.dirac_gan_eigenvalues([0.5j, -0.5j], gp_weight=0.5)
    assert not checks.dirac_gan_eigenvalues([0.5j])


# ---- 05 dirac_gan_eigenvalues: a function of gamma catches the sign-flipped field ---------------

def _eigenvalues(field):
    def at(gamma):
        jacobian = torch.autograd.functional.jacobian(lambda v: torch.stack(field(v[0], v[1], gamma)),
                                                      torch.zeros(2, dtype=torch.float64))
        return torch.linalg.eigvals(jacobian)
    return at


def by_hand(theta, psi, gamma):
    return psi * torch.sigmoid(psi * theta), -theta * torch.sigmoid(psi * theta) - gamma * psi


def flipped(theta, psi, gamma):  # each player climbs its loss
    return tuple(-v for v in by_hand(theta, psi, gamma))


def test_dirac_eigenvalues_as_a_function_of_gamma():
    assert checks.dirac_gan_eigenvalues(_eigenvalues(by_hand))
    package = lambda t, p, g: losses.dirac_gan_field(t, p, gp_weight=g)  # noqa: E731
    assert checks.dirac_gan_eigenvalues(_eigenvalues(package))
    # a sign-flipped field passes at gamma = 0 (the reason to check more than one gamma) ...
    assert checks.dirac_gan_eigenvalues(_eigenvalues(flipped)(0.0), gp_weight=0.0)
    # ... and is caught, with its own hint, at gamma = 0.5
    result = checks.dirac_gan_eigenvalues(_eigenvalues(flipped))
    assert not result and "wrong sign" in result.message and "gamma = 0.5" in result.message


def test_dirac_real_eigenvalue_hint_blames_eigvalsh_only_when_it_fits():
    def symmetric(gamma):
        jacobian = torch.autograd.functional.jacobian(lambda v: torch.stack(by_hand(v[0], v[1], gamma)),
                                                      torch.zeros(2, dtype=torch.float64))
        return torch.linalg.eigvalsh(jacobian)
    assert "eigvalsh" in checks.dirac_gan_eigenvalues(symmetric).message
    other_real = checks.dirac_gan_eigenvalues([0.3, -0.7])
    assert not other_real and "eigvalsh" not in other_real.message and "complex pair" in other_real.message
    # at gamma = 1.5 the right eigenvalues are real, and accepted
    assert checks.dirac_gan_eigenvalues([(-1.5 + math.sqrt(1.25)) / 2, (-1.5 - math.sqrt(1.25)) / 2], gp_weight=1.5)
    assert "raised" in checks.dirac_gan_eigenvalues(lambda gamma: 1 / 0).message


# ---- 05 nonsaturating_loss: sigmoid + binary_cross_entropy gets the "work with logits" hint ------

def test_nonsaturating_loss_through_probabilities_gets_the_logits_hint():
    result = checks.nonsaturating_loss(lambda l: F.binary_cross_entropy(torch.sigmoid(l), torch.ones_like(l)))
    assert not result and "clamps" in result.message and "logits" in result.message
    assert checks.nonsaturating_loss(lambda l: F.binary_cross_entropy_with_logits(l, torch.ones_like(l)))
