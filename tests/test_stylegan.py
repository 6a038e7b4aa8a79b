"""StyleGAN in miniature (stylegan): shapes, style mixing, truncation, the stroke-width measure,
one training step, bad input."""

import numpy as np
import pytest
import torch

from gan_course import stylegan

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw):
    torch.manual_seed(0)
    g = stylegan.StyleGenerator(latent_dim=8, w_dim=16, channels=(8, 8, 4), **kw)
    with torch.no_grad():  # styles that matter (the init is the identity style)
        for layer in g.layers:
            layer.style.weight.normal_(0, 0.5)
            layer.noise_weight.fill_(0.3)
    return g.eval()


def test_the_generator_makes_digit_shaped_images_in_tanh_range():
    g = tiny()
    x = g(torch.randn(5, 8))
    assert x.shape == (5, 1, 28, 28) and float(x.detach().abs().max()) <= 1
    assert g.num_styles == len(stylegan.RESOLUTIONS) == 6


def test_mixing_at_the_ends_gives_each_source_alone():
    g = tiny()
    w1, w2 = g.styles(torch.randn(3, 8)), g.styles(torch.randn(3, 8))
    only1 = g.synthesize(w1[:, None].expand(-1, 6, -1))
    only2 = g.synthesize(w2[:, None].expand(-1, 6, -1))
    assert torch.allclose(g.mix(w1, w2, crossover=6), only1)  # every layer from the coarse source
    assert torch.allclose(g.mix(w1, w2, crossover=0), only2)  # every layer from the fine source
    mixed = g.mix(w1, w2, crossover=2)
    assert not torch.allclose(mixed, only1) and not torch.allclose(mixed, only2)


def test_eval_mode_is_deterministic_and_forward_uses_one_w_for_every_layer():
    g = tiny()
    z = torch.randn(4, 8)
    assert torch.equal(g(z), g(z))  # fixed noise maps in eval mode
    assert torch.allclose(g(z), g.mix(g.mapping(z), g.mapping(z)))


def test_truncation_pulls_w_to_its_mean():
    g = tiny()
    g.w_mean.copy_(torch.randn(16))
    z = torch.randn(6, 8)
    assert torch.allclose(g.styles(z, 1.0), g.mapping(z), atol=1e-6)
    assert torch.allclose(g.styles(z, 0.0), g.w_mean.expand(6, -1))
    half = g.styles(z, 0.5)
    assert torch.allclose(half, 0.5 * (g.mapping(z) + g.w_mean), atol=1e-6)


def test_the_mapping_network_normalises_z():
    g = tiny()
    z = torch.randn(3, 8)
    assert torch.allclose(g.mapping(z), g.mapping(7 * z), atol=1e-5)  # pixel norm: the scale of z is gone


def numpy_stroke_width(img: np.ndarray) -> float:
    """2 * area / perimeter, the perimeter counted edge by edge."""
    on = img > 0.5
    padded = np.pad(on, 1)
    edges = 0
    for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        neighbour = padded[1 + di: 1 + di + on.shape[0], 1 + dj: 1 + dj + on.shape[1]]
        edges += int((on & ~neighbour).sum())
    return 0.0 if edges == 0 else 2 * on.sum() / edges


def test_stroke_width_matches_a_direct_count_and_grows_with_the_stroke():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(10, 1, 28, 28, generator=gen)
    got = stylegan.stroke_width(x)
    assert got.tolist() == pytest.approx([numpy_stroke_width(img[0].numpy()) for img in x])
    bars = torch.zeros(3, 1, 28, 28)
    for i, w in enumerate((1, 3, 5)):
        bars[i, 0, 4:24, 10:10 + w] = 1
    widths = stylegan.stroke_width(bars)
    assert widths.tolist() == pytest.approx([2 * 20 * w / (2 * (20 + w)) for w in (1, 3, 5)])
    assert stylegan.stroke_width(torch.zeros(1, 1, 28, 28)).tolist() == [0.0]


@pytest.mark.slow  # about 5 s: the R1 penalty and the bundled digits
def test_one_training_step_is_finite():
    trainer = stylegan.style_trainer(seed=0, device="cpu", latent_dim=8, w_dim=16, channels=(8, 8, 4))
    trainer.fit(steps=1, progress=False)
    assert trainer.global_step == 1 and all(np.isfinite(v[-1]) for v in trainer.history.values() if len(v))


def test_bad_input_names_the_argument():
    g = tiny()
    with pytest.raises(ValueError, match="truncation"):
        g.styles(torch.randn(2, 8), truncation=1.5)
    with pytest.raises(ValueError, match="crossover"):
        g.mix(torch.zeros(1, 16), torch.zeros(1, 16), crossover=7)
    with pytest.raises(ValueError, match=r"ws must have shape \(B, 6, 16\)"):
        g.synthesize(torch.zeros(2, 5, 16))
    with pytest.raises(ValueError, match="unconditional"):
        g(torch.zeros(2, 8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="mixing"):
        stylegan.StyleGenerator(mixing=2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, H, W\)"):
        stylegan.stroke_width(torch.zeros(28, 28))


def test_sample_is_seeded_and_truncation_zero_draws_the_mean_style():
    g = tiny()
    a, none = g.sample(4, seed=1)
    b, _ = g.sample(4, seed=1)
    assert none is None and a.shape == (4, 1, 28, 28) and torch.equal(a, b)
    assert not torch.equal(a, g.sample(4, seed=2)[0])
    mean_only, _ = g.sample(3, seed=1, truncation=0.0)  # every w is w_mean: one image three times
    assert torch.allclose(mean_only[0], mean_only[1]) and torch.allclose(mean_only[0], mean_only[2])
    assert not g.training  # sampling leaves the mode it found


def test_weights_round_trip_and_other_kinds_are_refused(tmp_path):
    from gan_course import checkpoints

    trainer = stylegan.style_trainer(seed=0, device="cpu", latent_dim=8, w_dim=16, channels=(8, 8, 4))
    path = stylegan.save(trainer, tmp_path / "w.pt", seed=0, command="test")
    loaded = stylegan.load(path)
    assert loaded.options == trainer.sampling_generator.options and not loaded.training
    # the file holds fp16 weights: samples agree with the in-memory generator to fp16 precision
    reference = trainer.sampling_generator.eval()
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(loaded(z), reference(z), atol=2e-2)
        # w_mean is re-measured on 10,000 draws of z: the mean of the mapping's outputs
        w = loaded.mapping(torch.randn(10_000, 8, generator=torch.Generator().manual_seed(0)))
    assert torch.allclose(loaded.w_mean, w.mean(0))
    checkpoints.save(tmp_path / "other.pt", "gan_weights", {"kind": "dcgan"})
    with pytest.raises(ValueError, match="does not hold stylegan weights"):
        stylegan.load(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="train stylegan"):
        stylegan.load(tmp_path / "missing.pt")


def test_mixing_study_at_the_ends_follows_one_source():
    """crossover = all layers: the mix is A alone (coarse source); 0: B alone (fine source)."""
    g = tiny()

    class ArgmaxOfInk(torch.nn.Module):  # a stand-in classifier: the class is the ink's decile
        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))  # classifier.predict reads the device from it

        def features(self, x):
            return x.flatten(1)

        def head(self, f):
            ink = f.mean(1, keepdim=True)  # (N, 1)
            return -(ink * 10 - torch.arange(10)).abs() * 50  # (N, 10)

    all_coarse = stylegan.mixing_study(g, ArgmaxOfInk(), n=40, crossover=g.num_styles, seed=0)
    assert all_coarse["digit_coarse"] == 1.0 and all_coarse["width_coarse"] == pytest.approx(1.0)
    all_fine = stylegan.mixing_study(g, ArgmaxOfInk(), n=40, crossover=0, seed=0)
    assert all_fine["digit_fine"] == 1.0 and all_fine["width_fine"] == pytest.approx(1.0)
    assert all_fine["width_coarse"] < 0.9  # A and B differ: the measure can tell the sources apart


@pytest.mark.slow  # about 10 s: two steps on the bundled digits, 1,000 samples scored
def test_train_stylegan_writes_a_run(tmp_path):
    result = stylegan.train_stylegan(tmp_path / "run", minutes=None, steps=2, progress=False, command="test")
    samples = np.load(tmp_path / "run" / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8
    assert result["steps"] == 2 and 1 <= result["metrics"]["classifier_score"]["value"] <= 10
    assert stylegan.load(tmp_path / "run" / "weights.pt").steps == 2


def test_equalized_linear_moves_its_weight_at_lr_mul_times_the_rate():
    torch.manual_seed(0)
    layer = stylegan.EqualizedLinear(16, 4, lr_mul=0.01, gain=2.0)
    x = torch.randn(8, 16)
    w_before = (layer.weight * layer.scale).detach().clone()
    expected = torch.nn.functional.linear(x, w_before, layer.bias.detach() * 0.01)
    assert torch.allclose(layer(x), expected)
    assert layer.scale == pytest.approx(2.0 * 0.01 / 4)  # gain * lr_mul / sqrt(fan-in)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3, eps=1e-12)
    layer(x).pow(2).sum().backward()
    optimizer.step()  # Adam's first step moves every stored number by lr * sign(gradient)
    moved = (layer.weight * layer.scale).detach() - w_before
    # (float32: V is about 100 in size, so its rounding is about 1 % of one step)
    assert torch.allclose(moved.abs(), torch.full_like(moved, 1e-3 * layer.scale), rtol=0.03)


def test_styles_differ_from_the_start():
    """The failure this guards against: with PyTorch's default init the mapping network shrinks w
    about 3x a layer, every z gets nearly the same style and the GAN collapses to one image."""
    torch.manual_seed(0)
    g = stylegan.StyleGenerator().eval()
    with torch.no_grad():
        w = g.mapping(torch.randn(512, g.latent_dim))
        x = g(torch.randn(64, g.latent_dim))
    assert 0.3 < float(w.std(0).mean()) < 3
    assert float(x.std(0).mean()) > 0.05  # different z, different images


def test_minibatch_std_discriminator_sees_the_spread_of_consecutive_groups():
    torch.manual_seed(0)
    d = stylegan.MinibatchStdDiscriminator(width=4, group=4)
    a = torch.rand(1, 1, 28, 28) * 2 - 1
    varied = torch.rand(4, 1, 28, 28) * 2 - 1
    x = torch.cat([a.expand(4, -1, -1, -1), varied]).requires_grad_(True)  # a group of copies, then a varied group
    seen = {}
    d.head.register_forward_hook(lambda module, inputs, out: seen.update(features=inputs[0].detach()))
    logits = d(x)
    assert logits.shape == (8,)
    spread = seen["features"][:, -1]  # the extra feature of each image
    assert torch.allclose(spread[:4], torch.full((4,), 1e-4), atol=1e-6)  # sqrt(0 + 1e-8): copies have no spread
    assert (spread[4:] > 1e-3).all() and torch.equal(spread[4:], spread[4:5].expand(4))  # one value per group
    logits.sum().backward()  # finite even where the spread is 0 (sqrt's gradient at 0 is not)
    assert torch.isfinite(x.grad).all()
    # with a real half and a fake half of 4 each, no group mixes the two
    same = stylegan.MinibatchStdDiscriminator(width=4, group=3)(x)
    assert same.shape == (8,)  # a group that does not divide the batch falls back to gcd(3, 8) = 1
