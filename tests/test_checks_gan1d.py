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
