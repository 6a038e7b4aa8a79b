"""Notebook 06's self-checks accept the reference answers and reject planted mistakes."""

import math

import torch

from gan_course import checks, losses, metrics


def reference_modes(x, centers, std):
    return metrics.mode_coverage(x, centers, std).modes_covered


def test_modes_covered():
    assert checks.modes_covered(reference_modes)

    def by_hand(x, centers, std):
        d, k = torch.cdist(x, centers).min(1)
        return len(torch.unique(k[d <= 3 * std]))

    assert checks.modes_covered(by_hand)
    no_quality = checks.modes_covered(lambda x, c, s: len(torch.unique(torch.cdist(x, c).argmin(1))))
    assert not no_quality and "high quality" in no_quality.message
    assert not checks.modes_covered(lambda x, c, s: len(c))  # every mode, whatever the samples
    assert not checks.modes_covered(None)
    assert "raised" in checks.modes_covered(lambda x, c, s: 1 / 0).message
    assert "still None" in checks.modes_covered(lambda x, c, s: None).message


def reference_kl(counts):
    p = counts / counts.sum()
    p = p[p > 0]
    return (p * torch.log(len(counts) * p)).sum()


def test_reverse_kl_to_uniform():
    assert checks.reverse_kl_to_uniform(reference_kl)
    forward = checks.reverse_kl_to_uniform(lambda c: (torch.full_like(c, 1 / len(c)) * torch.log(
        (1 / len(c)) / (c / c.sum()))).sum())
    assert not forward and "other direction" in forward.message
    nan = checks.reverse_kl_to_uniform(lambda c: ((c / c.sum()) * torch.log(len(c) * c / c.sum())).sum())
    assert not nan and "0 * log 0" in nan.message
    unnormalised = checks.reverse_kl_to_uniform(
        lambda c: torch.where(c > 0, c * torch.log(len(c) * c / c.sum()), torch.zeros_like(c)).sum())
    assert not unnormalised and "Normalise" in unnormalised.message
    assert not checks.reverse_kl_to_uniform(lambda c: math.log(len(c)))


def test_pack_samples():
    assert checks.pack_samples(lambda x, m: x.reshape(x.shape[0] // m, -1))
    transposed = checks.pack_samples(
        lambda x, m: x.reshape(m, x.shape[0] // m, -1).transpose(0, 1).reshape(x.shape[0] // m, -1))
    assert not transposed and "transpose" in transposed.message
    assert not checks.pack_samples(lambda x, m: x)  # not packed at all: wrong shape
    assert not checks.pack_samples(None)


def planted_r1(square=True, mean=True, minus_one=False, create_graph=True, as_float=False):
    def fn(discriminator, x):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=create_graph)
        norms = g.flatten(1).norm(dim=1)  # (B,)
        per_sample = (norms - 1) ** 2 if minus_one else norms ** 2 if square else norms
        value = per_sample.mean() if mean else per_sample.sum()
        return value.item() if as_float else value
    return fn


def test_r1_penalty():
    assert checks.r1_penalty(planted_r1())
    assert checks.r1_penalty(losses.r1_penalty)  # the package's own
    not_squared = checks.r1_penalty(planted_r1(square=False))
    assert not not_squared and "Square the norm" in not_squared.message
    summed = checks.r1_penalty(planted_r1(mean=False))
    assert not summed and "do not sum" in summed.message
    to_one = checks.r1_penalty(planted_r1(minus_one=True))
    assert not to_one and "towards 0" in to_one.message
    no_graph = checks.r1_penalty(planted_r1(create_graph=False))
    assert not no_graph and "create_graph=True" in no_graph.message
    as_float = checks.r1_penalty(planted_r1(as_float=True))
    assert not as_float and "back-propagated" in as_float.message
    detached = checks.r1_penalty(lambda d, x: torch.tensor(losses.r1_penalty(d, x).item(), requires_grad=True))
    assert not detached and "back-propagating it failed" in detached.message  # a message, not a crash
    assert "still None" in checks.r1_penalty(lambda d, x: None).message


# ---- 06 modes_covered: the test set tells 3 std from 1 std, 9 std^2 and squared distances -------

def _radius_rule(radius, squared=False):
    def modes_covered(samples, centers, std):
        dist, nearest = torch.cdist(samples, centers).min(dim=1)
        return len(torch.unique(nearest[(dist**2 if squared else dist) <= radius(std)]))
    return modes_covered


def test_modes_covered_accepts_the_radius_written_two_ways():
    assert checks.modes_covered(_radius_rule(lambda s: 3 * s))
    assert checks.modes_covered(_radius_rule(lambda s: 9 * s**2, squared=True))


def test_modes_covered_rejects_other_radii_with_their_hints():
    one_std = checks.modes_covered(_radius_rule(lambda s: s))
    assert not one_std and "1 std" in one_std.message
    squared = checks.modes_covered(_radius_rule(lambda s: 3 * s, squared=True))
    assert not squared and "squared distance" in squared.message
    nine = checks.modes_covered(_radius_rule(lambda s: 9 * s**2))
    assert not nine and "9 * std ** 2" in nine.message
    for radius in (0.4, 2.0, 4.0, 17.0):  # what used to pass: anything from ~0.4 to ~17 std
        assert not checks.modes_covered(_radius_rule(lambda s, r=radius: r * s)), radius
    samples = checks.modes_covered(lambda x, c, s: int((torch.cdist(x, c).min(1).values <= 3 * s).sum()))
    assert not samples and "distinct modes" in samples.message
