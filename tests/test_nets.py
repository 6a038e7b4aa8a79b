"""MLP generator/discriminator: shapes, conditioning, packing, spectral norm, bad input."""

import pytest
import torch

from gan_course import nets


def test_generator_shapes_and_tanh():
    g = nets.MLPGenerator(latent_dim=3, out_dim=2, width=16, depth=2, out_activation="tanh")
    x = g(torch.randn(7, 3) * 100)
    assert x.shape == (7, 2) and x.abs().max() <= 1


def test_depth_zero_generator_is_affine():
    g = nets.MLPGenerator(latent_dim=1, out_dim=1, depth=0)
    with torch.no_grad():
        g.net[0].weight.fill_(2.0)
        g.net[0].bias.fill_(-1.0)
    torch.testing.assert_close(g(torch.tensor([[0.0], [1.0]])), torch.tensor([[-1.0], [1.0]]))


def test_discriminator_returns_one_logit_per_sample():
    d = nets.MLPDiscriminator(in_dim=2, width=8, depth=3, activation="elu")
    assert d(torch.randn(5, 2)).shape == (5,)


def test_packing_concatenates_consecutive_samples():
    d = nets.MLPDiscriminator(in_dim=1, depth=0, pack=3)
    with torch.no_grad():
        d.net[0].weight.copy_(torch.tensor([[1.0, 10.0, 100.0]]))
        d.net[0].bias.zero_()
    x = torch.arange(6.0)[:, None]  # packs (0,1,2) and (3,4,5)
    assert d(x).tolist() == [0 + 10 + 200, 3 + 40 + 500]
    with pytest.raises(ValueError, match="multiple of pack=3"):
        d(torch.zeros(4, 1))


def test_spectral_norm_bounds_the_largest_singular_value():
    torch.manual_seed(0)
    d = nets.MLPDiscriminator(in_dim=2, width=32, spectral_norm=True)
    for _ in range(20):  # power iteration converges in training mode
        d(torch.randn(4, 2))
    d.eval()
    weight = d.net[0].weight  # the normalised weight
    assert torch.linalg.matrix_norm(weight, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_conditional_networks_use_the_label():
    torch.manual_seed(0)
    g = nets.MLPGenerator(latent_dim=2, out_dim=1, num_classes=10)
    d = nets.MLPDiscriminator(in_dim=1, num_classes=10, pack=2)
    z = torch.randn(4, 2)
    a, b = g(z, torch.tensor([0, 1, 2, 3])), g(z, torch.tensor([9, 9, 9, 9]))
    assert a.shape == (4, 1) and not torch.allclose(a, b)
    assert d(a, torch.tensor([0, 1, 2, 3])).shape == (2,)
    with pytest.raises(ValueError, match="needs labels y"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        nets.MLPGenerator(2, 1)(z, torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("kwargs, match", [
    ({"latent_dim": 0}, "latent_dim must be a positive int, got 0"),
    ({"width": -3}, "width must be a positive int, got -3"),
    ({"activation": "swish"}, "activation must be one of .*'relu'.*got 'swish'"),
    ({"num_classes": 1}, "num_classes must be an int >= 2, got 1"),
    ({"out_activation": "sigmoid"}, "out_activation"),
])
def test_generator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nets.MLPGenerator(**kwargs)


def test_wrong_input_shape_is_named():
    with pytest.raises(ValueError, match=r"z must have shape \(B, 4\), got \(3, 2\)"):
        nets.MLPGenerator(latent_dim=4)(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\), got \(3, 1\)"):
        nets.MLPDiscriminator(in_dim=2)(torch.zeros(3, 1))
