"""Notebook 06's self-checks accept the reference answers and reject planted mistakes."""

import math

import torch

from gan_course import checks, metrics


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
