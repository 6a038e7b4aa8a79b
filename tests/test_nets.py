"""gan_course.nets: the MLP and DCGAN generators and discriminators (shapes, conditioning, packing,
projection, spectral norm, the DCGAN initialisation, bad input)."""

import pytest
import torch

from gan_course import nets

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- MLPs (notebooks 05-06) ------------------------------------------------------------------


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


# ---- DCGANs (notebooks 07-09) -----------------------------------------------------------------


def test_dcgan_generator_makes_28x28_images_in_tanh_range():
    for upsample in nets.UPSAMPLING:
        g = nets.DCGANGenerator(latent_dim=16, width=8, upsample=upsample)
        x = g(torch.randn(5, 16) * 10)
        assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1


def test_transposed_convolution_doubles_size_by_the_output_size_formula():
    # H_out = (H_in - 1) * stride - 2 * padding + kernel = (7 - 1) * 2 - 2 + 4 = 14
    block = nets._up_block(3, 2, "transposed")
    assert block(torch.zeros(1, 3, 7, 7)).shape == (1, 2, 14, 14)
    assert nets._up_block(3, 2, "resize")(torch.zeros(1, 3, 7, 7)).shape == (1, 2, 14, 14)


def test_dcgan_discriminator_returns_logits_and_no_sigmoid():
    torch.manual_seed(0)
    d = nets.DCGANDiscriminator(width=8)
    with torch.no_grad():
        d.head.bias.fill_(5.0)  # a logit outside [0, 1] shows there is no sigmoid
    logits = d(torch.zeros(4, 1, 28, 28))
    assert logits.shape == (4,) and (logits > 1).all()


def test_dcgan_discriminator_has_no_pooling_and_leaky_relu_02():
    d = nets.DCGANDiscriminator(width=8)
    kinds = [type(m) for m in d.modules()]
    assert not any(issubclass(k, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for k in kinds)
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, torch.nn.LeakyReLU))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in nets.DCGANDiscriminator(8, batch_norm=True).modules())


@pytest.mark.parametrize("conditioning", nets.CONDITIONING)
def test_conditional_dcgan_networks_depend_on_the_label(conditioning):
    torch.manual_seed(0)
    g = nets.DCGANGenerator(latent_dim=8, width=8, num_classes=10).eval()
    d = nets.DCGANDiscriminator(width=8, num_classes=10, conditioning=conditioning)
    with torch.no_grad():
        d.embed.weight.normal_()  # projection starts near zero; make the label matter
    z = torch.randn(1, 8).repeat(2, 1)
    y = torch.tensor([3, 7])
    x = g(z, y)
    assert not torch.allclose(x[0], x[1])
    logits = d(x[:1].repeat(2, 1, 1, 1), y)
    assert logits.shape == (2,) and logits[0] != logits[1]


def test_projection_logit_is_unconditional_logit_plus_inner_product():
    torch.manual_seed(0)
    d = nets.DCGANDiscriminator(width=4, num_classes=10, conditioning="projection")
    x, y = torch.randn(3, 1, 28, 28), torch.tensor([0, 5, 9])
    h = d.features(x)
    expected = d.head(h).squeeze(1) + (d.embed(y) * h).sum(1)
    torch.testing.assert_close(d(x, y), expected)


def test_dcgan_spectral_norm_bounds_the_head():
    torch.manual_seed(0)
    d = nets.DCGANDiscriminator(width=4, spectral_norm=True)
    for _ in range(20):  # power iterations converge in training mode
        d(torch.randn(2, 1, 28, 28))
    assert float(torch.linalg.matrix_norm(d.head.weight.detach(), ord=2)) == pytest.approx(1.0, abs=0.05)


def test_wrong_image_shape_names_expected_and_given():
    d = nets.DCGANDiscriminator(width=4)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 1, 28, 28\), got \(2, 3, 28, 28\)"):
        d(torch.zeros(2, 3, 28, 28))
    with pytest.raises(ValueError, match=r"got \(2, 784\)"):
        d(torch.zeros(2, 784))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 16\), got \(2, 8\)"):
        nets.DCGANGenerator(latent_dim=16, width=4)(torch.zeros(2, 8))


@pytest.mark.parametrize("y, match", [
    (torch.tensor([0, 10]), r"labels y must lie in \[0, 9\], got values from 0 to 10"),
    (torch.tensor([-1, 2]), r"must lie in \[0, 9\], got values from -1 to 2"),
    (torch.tensor([0.0, 1.0]), "integer class labels"),
    (torch.tensor([1]), r"y must have shape \(2,\)"),
    (None, "is conditional"),
])
def test_dcgan_networks_refuse_bad_labels(y, match):
    g = nets.DCGANGenerator(latent_dim=4, width=4, num_classes=10)
    d = nets.DCGANDiscriminator(width=4, num_classes=10)
    with pytest.raises(ValueError, match=match):
        g(torch.zeros(2, 4), y)
    with pytest.raises(ValueError, match=match):
        d(torch.zeros(2, 1, 28, 28), y)


def test_mlp_networks_refuse_out_of_range_labels_too():
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\]"):
        nets.MLPGenerator(latent_dim=2, num_classes=3)(torch.zeros(1, 2), torch.tensor([3]))


@pytest.mark.parametrize("kwargs, match", [
    ({"upsample": "bilinear"}, "upsample must be one of 'transposed', 'resize'; got 'bilinear'"),
    ({"width": 0}, "width must be a positive int, got 0"),
    ({"num_classes": 1}, "num_classes must be an int >= 2, got 1"),
])
def test_dcgan_generator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nets.DCGANGenerator(**kwargs)


def test_dcgan_discriminator_refuses_an_unknown_conditioning():
    with pytest.raises(ValueError, match="conditioning must be one of 'concat', 'projection'; got 'film'"):
        nets.DCGANDiscriminator(num_classes=10, conditioning="film")


def test_weights_start_as_in_the_dcgan_paper():
    torch.manual_seed(0)
    g = nets.DCGANGenerator(latent_dim=16, width=16)
    d = nets.DCGANDiscriminator(width=16, batch_norm=True, spectral_norm=True)
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
                assert abs(float(w.detach().std()) - 0.02) < 0.004 and (m.bias is None or not m.bias.any())
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                assert abs(float(m.weight.detach().mean()) - 1) < 0.01 and not m.bias.any()
