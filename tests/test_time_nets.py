"""The networks of a sample and a time (time_nets): shapes, the embedding's formula, bad input."""

import math

import pytest
import torch

from gan_course.time_nets import TimeMLP, TinyUNet, build_network, fourier_features, sinusoidal_embedding


def test_sinusoidal_embedding_matches_its_formula():
    t = torch.tensor([0.0, 0.3, 1.0])
    emb = sinusoidal_embedding(t, 8)
    half = 4
    for i in range(half):
        omega = 10000 ** (-i / (half - 1))
        assert torch.allclose(emb[:, i], torch.sin(1000 * t * omega), atol=1e-4)
        assert torch.allclose(emb[:, half + i], torch.cos(1000 * t * omega), atol=1e-4)


def test_fourier_features_hold_x_and_its_octaves():
    x = torch.tensor([[0.25, -0.5]])
    f = fourier_features(x, 2)  # [x, sin(pi x), sin(2 pi x), cos(...)] per coordinate
    assert f.shape == (1, 2 * (1 + 2 * 2))
    angles = torch.tensor([math.pi * 0.25, 2 * math.pi * 0.25, -math.pi * 0.5, -2 * math.pi * 0.5])
    assert torch.allclose(f[0, 2:6], angles.sin(), atol=1e-6)
    assert torch.allclose(f[0, 6:], angles.cos(), atol=1e-6)
    assert torch.equal(fourier_features(x, 0), x)


def test_networks_keep_the_shape_and_read_the_time():
    mlp = TimeMLP(2, 16, 2, octaves=3)
    x = torch.randn(5, 2)
    assert mlp(x, torch.rand(5)).shape == (5, 2)
    assert not torch.allclose(mlp(x, 0.1), mlp(x, 0.9))  # the time matters
    assert torch.equal(mlp(x, 0.3), mlp(x, torch.full((5,), 0.3)))  # a number is broadcast
    unet = TinyUNet(width=8)
    images = torch.randn(2, 1, 28, 28)
    assert torch.equal(unet(images, torch.rand(2)), torch.zeros(2, 1, 28, 28))  # the head starts at zero


def test_networks_rebuild_from_their_options():
    mlp = TimeMLP(3, 8, 1, embed_dim=4, octaves=1)
    copy = build_network("TimeMLP", mlp.options)
    assert copy.options == mlp.options
    copy.load_state_dict(mlp.state_dict())
    with pytest.raises(ValueError, match="network must be one of"):
        build_network("ResNet", {})


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\)"):
        TimeMLP()(torch.zeros(3, 3), 0.5)
    with pytest.raises(ValueError, match=r"t must be a number or have shape \(3,\)"):
        TimeMLP()(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 28, 28\)"):
        TinyUNet(width=8)(torch.zeros(2, 1, 14, 14), 0.5)
    with pytest.raises(ValueError, match="dim must be even"):
        sinusoidal_embedding(torch.zeros(2), 5)
    with pytest.raises(ValueError, match="octaves"):
        TimeMLP(octaves=-1)
