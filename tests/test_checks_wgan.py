"""Notebook 09's self-checks accept the reference answers and reject planted mistakes."""

import torch
from scipy.stats import wasserstein_distance

from gan_course import checks, losses


def test_wasserstein_1d_check():
    assert checks.wasserstein_1d(lambda a, b: (a.sort().values - b.sort().values).abs().mean())
    assert checks.wasserstein_1d(lambda a, b: wasserstein_distance(a.numpy(), b.numpy()))  # a float works too
    unsorted = checks.wasserstein_1d(lambda a, b: (a - b).abs().mean())
    assert not unsorted and "Sort both samples first" in unsorted.message
    means = checks.wasserstein_1d(lambda a, b: (a.mean() - b.mean()).abs()
                                  if abs(a.mean() - b.mean()) < 1e-9 else wasserstein_distance(a, b))
    assert not means and "lower bound" in means.message
    squared = checks.wasserstein_1d(lambda a, b: ((a.sort().values - b.sort().values) ** 2).mean().sqrt())
    assert not squared and "squared" in squared.message
    assert "still None" in checks.wasserstein_1d(lambda a, b: None).message
    assert "raised ZeroDivisionError" in checks.wasserstein_1d(lambda a, b: 1 / 0).message


def reference_gp(critic, x, x_fake, eps):
    x_hat = (eps * x + (1 - eps) * x_fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


def planted_gp(points="interpolate", minus_one=True, per_sample=True, create_graph=True, swap=False):
    def fn(critic, x, x_fake, eps):
        if points == "real":
            x_hat = x
        elif swap:
            x_hat = (1 - eps) * x + eps * x_fake
        else:
            x_hat = eps * x + (1 - eps) * x_fake
        x_hat = x_hat.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
        norms = g.flatten(1).norm(dim=1) if per_sample else g.norm()
        return ((norms - 1) ** 2).mean() if minus_one else (norms ** 2).mean()
    return fn


def test_gradient_penalty_check():
    assert checks.gradient_penalty(reference_gp)
    assert checks.gradient_penalty(planted_gp())
    # the package's own penalty, fed the same interpolation weights through its generator
    assert checks.gradient_penalty(lambda c, x, xf, eps: losses.gradient_penalty(
        c, x, xf, generator=torch.Generator().manual_seed(11)))
    real = checks.gradient_penalty(planted_gp(points="real"))
    assert not real and "between" in real.message
    to_zero = checks.gradient_penalty(planted_gp(minus_one=False))
    assert not to_zero and "towards 1" in to_zero.message
    batch = checks.gradient_penalty(planted_gp(per_sample=False))
    assert not batch and "per sample" in batch.message
    swapped = checks.gradient_penalty(planted_gp(swap=True))
    assert not swapped and "as written" in swapped.message
    no_graph = checks.gradient_penalty(planted_gp(create_graph=False))
    assert not no_graph and "create_graph=True" in no_graph.message
    as_float = checks.gradient_penalty(lambda *args: reference_gp(*args).item())
    assert not as_float and "back-propagated" in as_float.message
    assert "still None" in checks.gradient_penalty(lambda *args: None).message


def test_lipschitz_capacity_check():
    assert checks.lipschitz_capacity("b")
    assert checks.lipschitz_capacity(" B ")
    clipping = checks.lipschitz_capacity("a")
    assert not clipping and "±c" in clipping.message
    assert not checks.lipschitz_capacity("c")
    assert not checks.lipschitz_capacity("d")
    assert "one letter" in checks.lipschitz_capacity("e").message
    assert "still None" in checks.lipschitz_capacity(None).message
