"""gan_course.specs: the network specs and TrainerConfig check and normalise their fields when made,
build networks of the promised shapes, and the latent samplers draw what they say."""

import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from gan_course import losses, nets
from gan_course.specs import DCGANSpec, MLPSpec, TrainerConfig, gaussian_latent, latent_sampler

pytestmark = pytest.mark.usefixtures("one_thread")


def exactly(message):
    return f"^{re.escape(message)}$"


# ---- MLPSpec -----------------------------------------------------------------------------------


def test_mlp_spec_normalises_numpy_integers_to_ints():
    spec = MLPSpec(latent_dim=np.int64(2), width=np.int32(16), depth=np.int64(0), pack=np.int64(2))
    assert (spec.latent_dim, spec.width, spec.depth, spec.pack) == (2, 16, 0, 2)
    assert all(type(v) is int for v in (spec.latent_dim, spec.width, spec.depth, spec.pack))
    assert spec == MLPSpec(latent_dim=2, width=16, depth=0, pack=2)  # equal, and hashable alike
    assert hash(spec) == hash(MLPSpec(latent_dim=2, width=16, depth=0, pack=2))


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 0}, "latent_dim must be a positive int, got 0"),
    ({"latent_dim": 1.0}, "latent_dim must be a positive int, got 1.0"),
    ({"width": -8}, "width must be a positive int, got -8"),
    ({"width": True}, "width must be a positive int, got True"),
    ({"depth": -1}, "depth must be a non-negative int, got -1"),
    ({"pack": 0}, "pack must be a positive int, got 0"),
    ({"noise": "laplace"}, "noise must be one of 'gaussian', 'uniform'; got 'laplace'"),
])
def test_mlp_spec_refuses_bad_fields_with_one_message(kwargs, message):
    with pytest.raises(ValueError, match=exactly(message)):
        MLPSpec(**kwargs)


def test_mlp_spec_is_frozen_and_varied_by_replace():
    spec = MLPSpec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.width = 3
    wider = dataclasses.replace(spec, width=np.int64(128))
    assert wider.width == 128 and type(wider.width) is int and spec.width == 64
    with pytest.raises(ValueError, match="width must be a positive int, got 0"):
        dataclasses.replace(spec, width=0)


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_mlp_spec_builds_players_of_the_promised_shapes(depth):
    torch.manual_seed(0)
    spec = MLPSpec(latent_dim=3, width=8, depth=depth, pack=2, spectral_norm=True)
    generator, discriminator = spec.build(data_dim=5)
    assert isinstance(generator, nets.MLPGenerator) and isinstance(discriminator, nets.MLPDiscriminator)
    x = generator(torch.randn(6, 3))
    assert x.shape == (6, 5)
    assert discriminator(x).shape == (3,)  # pack=2: one logit per pair of samples
    assert discriminator.pack == 2 and generator.latent_dim == 3
    assert sum(isinstance(m, torch.nn.Linear) for m in generator.modules()) == depth + 1
    assert any("parametrizations" in name for name, _ in discriminator.named_parameters())
    plain = MLPSpec(width=8).build(2)[1]
    assert not any("parametrizations" in name for name, _ in plain.named_parameters())


def test_mlp_spec_build_draws_weights_from_the_torch_seed():
    torch.manual_seed(1)
    a = MLPSpec(width=8).build(2)
    torch.manual_seed(1)
    b = MLPSpec(width=8).build(2)
    for net_a, net_b in zip(a, b):
        assert all(torch.equal(p, q) for p, q in zip(net_a.parameters(), net_b.parameters()))


def test_mlp_spec_latent_sampler_follows_its_noise():
    gen = torch.Generator().manual_seed(0)
    z = MLPSpec(latent_dim=4, noise="uniform").latent_sampler()(5000, gen)
    assert z.shape == (5000, 4) and z.min() >= -1 and z.max() <= 1
    z = MLPSpec(latent_dim=4).latent_sampler()(5000, gen)
    assert z.min() < -2 and z.max() > 2  # a Gaussian's tails, far outside [-1, 1]


# ---- the latent samplers -----------------------------------------------------------------------


def test_uniform_latent_covers_minus_one_to_one_evenly():
    z = latent_sampler("uniform", 3)(100_000, torch.Generator().manual_seed(0))
    assert z.shape == (100_000, 3) and z.dtype == torch.float32
    assert z.min() >= -1 and z.max() <= 1
    torch.testing.assert_close(z.mean(0), torch.zeros(3), atol=0.01, rtol=0)
    torch.testing.assert_close(z.var(0), torch.full((3,), 1 / 3), atol=0.01, rtol=0)  # Var U[-1, 1] = 1/3
    counts = ((z[:, 0] + 1) * 2).floor().clamp(max=3).long().bincount(minlength=4)  # quarters of [-1, 1]
    assert (counts / len(z) - 0.25).abs().max() < 0.01


def test_gaussian_latent_is_standard_normal():
    z = gaussian_latent(2)(200_000, torch.Generator().manual_seed(0))
    assert z.shape == (200_000, 2)
    torch.testing.assert_close(z.mean(0), torch.zeros(2), atol=0.01, rtol=0)
    torch.testing.assert_close(z.std(0), torch.ones(2), atol=0.01, rtol=0)
    inside = (z[:, 0].abs() < 1).float().mean().item()
    assert inside == pytest.approx(math.erf(1 / math.sqrt(2)), abs=0.005)  # 68.3 % within one std


@pytest.mark.parametrize("noise", ["gaussian", "uniform"])
def test_latent_samplers_are_repeatable_and_use_only_their_generator(noise):
    sample = latent_sampler(noise, 5)
    torch.manual_seed(0)
    a = sample(7, torch.Generator().manual_seed(3))
    torch.manual_seed(99)  # the global stream plays no part
    b = sample(7, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, sample(7, torch.Generator().manual_seed(4)))


def test_latent_sampler_refuses_an_unknown_noise():
    with pytest.raises(ValueError, match=exactly("noise must be one of 'gaussian', 'uniform'; got 'cauchy'")):
        latent_sampler("cauchy", 2)


# ---- DCGANSpec ---------------------------------------------------------------------------------


def test_dcgan_spec_normalises_and_knows_its_classes():
    spec = DCGANSpec(latent_dim=np.int64(8), width_g=np.int32(4), width_d=4)
    assert (spec.latent_dim, spec.width_g) == (8, 4) and type(spec.latent_dim) is int and type(spec.width_g) is int
    assert spec.num_classes is None and DCGANSpec(conditional=True).num_classes == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 0}, "latent_dim must be a positive int, got 0"),
    ({"width_g": -1}, "width_g must be a positive int, got -1"),
    ({"width_d": 2.0}, "width_d must be a positive int, got 2.0"),
    ({"conditioning": "film"}, "conditioning must be one of 'concat', 'projection'; got 'film'"),
    ({"upsample": "bilinear"}, "upsample must be one of 'transposed', 'resize'; got 'bilinear'"),
])
def test_dcgan_spec_refuses_bad_fields_with_one_message(kwargs, message):
    with pytest.raises(ValueError, match=exactly(message)):
        DCGANSpec(**kwargs)


@pytest.mark.parametrize("conditional, conditioning", [(False, "concat"), (True, "concat"), (True, "projection")])
def test_dcgan_spec_builds_28x28_generators_and_one_logit_per_image(conditional, conditioning):
    torch.manual_seed(0)
    spec = DCGANSpec(latent_dim=8, width_g=4, width_d=4, conditional=conditional, conditioning=conditioning,
                     upsample="resize", spectral_norm=True)
    generator, discriminator = spec.build()
    assert isinstance(generator, nets.DCGANGenerator) and isinstance(discriminator, nets.DCGANDiscriminator)
    y = torch.tensor([0, 3, 9]) if conditional else None
    z = torch.randn(3, 8)
    x = generator(z) if y is None else generator(z, y)
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    logits = discriminator(x) if y is None else discriminator(x, y)
    assert logits.shape == (3,)
    assert generator.num_classes == spec.num_classes and discriminator.num_classes == spec.num_classes
    assert any("parametrizations" in name for name, _ in discriminator.named_parameters())


# ---- TrainerConfig -------------------------------------------------------------------------------


def test_trainer_config_defaults_are_the_documented_ones():
    cfg = TrainerConfig()
    assert (cfg.loss, cfg.d_steps, cfg.lr_d, cfg.lr_g, cfg.betas, cfg.batch_size) == \
        ("nonsaturating", 1, 2e-4, 2e-4, (0.5, 0.999), 64)
    assert (cfg.optimizer_d, cfg.optimizer_g, cfg.gp_weight, cfg.r1_weight, cfg.clip_value, cfg.ema,
            cfg.lr_decay, cfg.seed) == ("adam", "adam", 10.0, 0.0, 0.0, 0.0, 0.0, 0)


def test_trainer_config_normalises_numpy_numbers_and_betas():
    cfg = TrainerConfig(d_steps=np.int64(2), batch_size=np.int32(16), lr_d=np.float32(0.5), lr_g=1,
                        betas=[np.float64(0.0), 0.9], gp_weight=np.int64(5), ema=np.float64(0.5), seed=np.int64(3))
    assert (cfg.d_steps, cfg.batch_size, cfg.seed) == (2, 16, 3)
    assert all(type(v) is int for v in (cfg.d_steps, cfg.batch_size, cfg.seed))
    assert cfg.lr_d == 0.5 and type(cfg.lr_d) is float and cfg.lr_g == 1.0 and type(cfg.lr_g) is float
    assert cfg.betas == (0.0, 0.9) and type(cfg.betas) is tuple and all(type(b) is float for b in cfg.betas)
    assert type(cfg.gp_weight) is float and type(cfg.ema) is float


@pytest.mark.parametrize("name", losses.LOSS_NAMES + ("custom",))
def test_trainer_config_accepts_every_loss_name_and_custom(name):
    assert TrainerConfig(loss=name).loss == name


@pytest.mark.parametrize("kwargs, message", [
    ({"loss": "vanilla"}, "loss must be one of 'minimax'.*got 'vanilla'"),
    ({"optimizer_d": "adagrad"}, "optimizer_d must be one of 'adam'.*got 'adagrad'"),
    ({"optimizer_g": "lbfgs"}, "optimizer_g must be one of 'adam', 'adamw', 'rmsprop', 'sgd'; got 'lbfgs'"),
    ({"lr_d": 0.0}, "lr_d must be a positive number, got 0.0"),
    ({"lr_g": -1e-3}, "lr_g must be a positive number, got -0.001"),
    ({"lr_g": math.inf}, "lr_g must be a positive number, got inf"),
    ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
    ({"batch_size": 8.0}, "batch_size must be a positive int, got 8.0"),
    ({"d_steps": 0}, "d_steps must be a positive int, got 0"),
    ({"d_steps": True}, "d_steps must be a positive int, got True"),
    ({"betas": (0.5, 1.5)}, "betas"),
    ({"betas": (0.5, 1.5)}, r"betas must be a number in \[0, 1\), got 1.5"),
    ({"betas": (0.5,)}, r"betas must be two numbers in \[0, 1\), got \(0.5,\)"),
    ({"betas": "ab"}, r"betas must be two numbers in \[0, 1\), got 'ab'"),
    ({"betas": 0.9}, r"betas must be two numbers in \[0, 1\), got 0.9"),
    ({"r1_weight": -1.0}, "r1_weight must be a finite number >= 0, got -1.0"),
    ({"gp_weight": math.nan}, "gp_weight must be a finite number >= 0, got nan"),
    ({"clip_value": -0.01}, "clip_value must be a finite number >= 0, got -0.01"),
    ({"ema": 1}, r"ema must be a number in \[0, 1\), got 1"),
    ({"ema": -0.1}, r"ema must be a number in \[0, 1\), got -0.1"),
    ({"lr_decay": 1.5}, r"lr_decay must be a number in \[0, 1\], got 1.5"),
    ({"seed": -1}, "seed must be a non-negative int, got -1"),
    ({"seed": "0"}, "seed must be a non-negative int, got '0'"),
])
def test_trainer_config_refuses_bad_values_with_one_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainerConfig(**kwargs)


def test_trainer_config_boundaries_that_are_allowed():
    cfg = TrainerConfig(betas=(0.0, 0.0), ema=0.0, lr_decay=1.0, gp_weight=0.0, seed=0)
    assert cfg.betas == (0.0, 0.0) and cfg.lr_decay == 1.0


def test_trainer_config_replace_validates_again():
    cfg = TrainerConfig(loss="hinge")
    assert dataclasses.replace(cfg, d_steps=3).d_steps == 3 and dataclasses.replace(cfg, d_steps=3).loss == "hinge"
    with pytest.raises(ValueError, match="d_steps must be a positive int, got -3"):
        dataclasses.replace(cfg, d_steps=-3)
