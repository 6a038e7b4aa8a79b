"""Notebook 07's self-checks accept the reference answers and reject planted mistakes."""

import torch

from gan_course import checks, latent


def test_transposed_conv_size():
    assert checks.transposed_conv_size(lambda h, k, s, p: (h - 1) * s - 2 * p + k)
    conv = checks.transposed_conv_size(lambda h, k, s, p: (h + 2 * p - k) // s + 1)
    assert not conv and "ordinary convolution" in conv.message
    no_pad = checks.transposed_conv_size(lambda h, k, s, p: (h - 1) * s + k)
    assert not no_pad and "2 * padding" in no_pad.message
    no_minus_one = checks.transposed_conv_size(lambda h, k, s, p: h * s - 2 * p + k)
    assert not no_minus_one and "H_in - 1" in no_minus_one.message
    assert not checks.transposed_conv_size(lambda h, k, s, p: 2 * h)  # "it doubles": right only for 7 and 14
    assert "still None" in checks.transposed_conv_size(lambda h, k, s, p: None).message
    assert "raised" in checks.transposed_conv_size(lambda h, k: h).message


def reference_slerp(z0, z1, steps):
    t = torch.linspace(0, 1, steps, dtype=z0.dtype).view(-1, 1)  # (S, 1)
    omega = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def test_slerp():
    assert checks.slerp(reference_slerp)
    assert checks.slerp(latent.slerp)
    straight = checks.slerp(latent.lerp)
    assert not straight and "straight line" in straight.message
    backwards = checks.slerp(lambda z0, z1, s: reference_slerp(z1, z0, s))
    assert not backwards and "from z1 to z0" in backwards.message
    unit = checks.slerp(lambda z0, z1, s: reference_slerp(z0 / z0.norm(), z1 / z1.norm(), s))
    assert not unit and "norm 1" in unit.message
    assert not checks.slerp(None)


def test_dcgan_discriminator_shapes():
    assert checks.dcgan_discriminator_shapes([(64, 14, 14), (128, 7, 7)])
    assert checks.dcgan_discriminator_shapes([(8, 14, 14), (16, 7, 7)], width=8)
    no_pad = checks.dcgan_discriminator_shapes([(64, 13, 13), (128, 5, 5)])
    assert not no_pad and "padding" in no_pad.message
    same_channels = checks.dcgan_discriminator_shapes([(64, 14, 14), (64, 7, 7)])
    assert not same_channels and "channels" in same_channels.message
    assert "one (C, H, W) per convolution" in checks.dcgan_discriminator_shapes([(64, 14, 14)]).message
    assert not checks.dcgan_discriminator_shapes([(64, 28, 28), (128, 28, 28)])  # forgot the stride
    assert "still None" in checks.dcgan_discriminator_shapes(None).message
    assert "list of (C, H, W)" in checks.dcgan_discriminator_shapes([3, 4]).message


def test_underrepresented_digit():
    result = {"class_histogram": {"value": [0.12, 0.08, 0.10, 0.10, 0.06, 0.10, 0.14, 0.10, 0.10, 0.10],
                                  "real": [0.10, 0.05, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.15, 0.10]}}
    # ratios: 1.2, 1.6, 1, 1, 0.6, 1, 1.4, 1, 0.667, 1 -> digit 4 (the smallest bar is also 4 here)
    assert checks.underrepresented_digit(4, result)
    assert checks.underrepresented_digit(torch.tensor(4), result)
    most = checks.underrepresented_digit(1, result)  # largest ratio
    assert not most and "over-produced" in most.message
    result["class_histogram"]["value"][8] = 0.07  # now the smallest share relative to real: 0.07 / 0.15
    assert checks.underrepresented_digit(8, result)
    assert not checks.underrepresented_digit(4, result)  # the smallest bar, but not relative to real
    assert "still None" in checks.underrepresented_digit(None, result).message
    assert "as an int" in checks.underrepresented_digit("four", result).message
    assert not checks.underrepresented_digit(12, result)
