"""Image GAN recipes: the trainer they build, weight clipping, one-pass D, shipped weights, the run."""

import json

import numpy as np
import pytest
import torch

from gan_course import checkpoints, config, nets, recipes, runs
from gan_course.train import GANTrainer

TINY = {kind: r.replace(width_g=4, width_d=4, latent_dim=8) for kind, r in recipes.IMAGE_RECIPES.items()}


def tiny_trainer(kind="dcgan", **overrides):
    return recipes.image_trainer(kind, seed=0, device="cpu", recipe=TINY[kind], batch_size=8, **overrides)


@pytest.mark.parametrize("kind", recipes.KINDS)
def test_each_recipe_trains_a_step_with_its_loss(kind):
    trainer = tiny_trainer(kind)
    trainer.step()
    assert trainer.config.loss == recipes.IMAGE_RECIPES[kind].trainer.loss
    assert trainer.d_updates == recipes.IMAGE_RECIPES[kind].trainer.d_steps and trainer.g_updates == 1
    assert (trainer.num_classes == 10) == (kind == "cgan")


def test_data_is_scaled_to_the_tanh_range():
    x = tiny_trainer().sampler.x
    assert x.min() == -1 and x.max() == 1 and x.shape[1:] == (1, 28, 28)


def test_weight_clipping_keeps_every_critic_weight_in_range():
    trainer = tiny_trainer("dcgan", loss="wasserstein", clip_value=0.01, lr_d=0.1)
    trainer.step_d()
    weights = torch.cat([p.detach().flatten() for p in trainer.discriminator.parameters()])
    assert weights.abs().max() <= 0.01 and (weights.abs() == 0.01).any()
    with pytest.raises(ValueError, match="clip_value must be a finite number >= 0, got -1"):
        tiny_trainer(clip_value=-1)


def test_one_pass_over_real_and_fake_equals_two_passes():
    trainer = tiny_trainer()
    assert not trainer._d_has_batch_norm
    x, x_fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    real, fake = trainer._d_logits(x, x_fake, None)
    torch.testing.assert_close(real, trainer.discriminator(x))
    torch.testing.assert_close(fake, trainer.discriminator(x_fake))


@pytest.mark.parametrize("native", [True, False])
def test_image_trainers_use_bf16_on_a_cpu_that_has_it(monkeypatch, native):
    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(recipes, "cpu_has_native_bf16", lambda: native)
    trainer = tiny_trainer()
    assert trainer.precision.name == ("bf16" if native else "fp32")
    row = trainer.step()
    assert all(np.isfinite(row[k]) for k in ("d_loss", "g_loss"))
    assert all(p.dtype == torch.float32 for p in trainer.generator.parameters())  # autocast keeps fp32 weights
    assert tiny_trainer(precision="fp32").precision.name == "fp32"  # an explicit choice wins


def test_batch_norm_discriminator_sees_real_and_fake_separately():
    torch.manual_seed(0)
    g = nets.DCGANGenerator(latent_dim=8, width=4)
    d = nets.DCGANDiscriminator(width=4, batch_norm=True)
    trainer = GANTrainer(g, d, torch.rand(32, 1, 28, 28) * 2 - 1, batch_size=8, device="cpu")
    assert trainer._d_has_batch_norm
    x, x_fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28) + 3
    real, fake = trainer._d_logits(x, x_fake, None)
    torch.testing.assert_close(real, d(x))  # normalised with the real batch's own statistics
    torch.testing.assert_close(fake, d(x_fake))


def test_conditional_samples_come_in_class_order():
    x_fake, y = recipes.sample_images(tiny_trainer("cgan"), n=20)
    assert x_fake.shape == (20, 1, 28, 28) and y.tolist() == [k for k in range(10) for _ in range(2)]
    with pytest.raises(ValueError, match="multiple of 10"):
        recipes.sample_images(tiny_trainer("cgan"), n=15)


def test_to_uint8_maps_tanh_range_to_bytes():
    out = recipes.to_uint8(torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(4, 1, 1, 1))
    assert out.dtype == np.uint8 and out.ravel().tolist() == [0, 128, 255, 255]


@pytest.mark.parametrize("kind", recipes.KINDS)
def test_shipped_weights_load_and_carry_their_provenance(kind):
    path = recipes.pretrained_path(kind)
    state = checkpoints.load(path, "gan_weights")
    assert state["kind"] == kind and state["seed"] == 0 and state["steps"] > 0
    assert state["precision"] in ("fp32", "bf16", "fp16") and state["command"].startswith("python -m gan_course train")
    assert path.stat().st_size < 3.5e6  # small enough to ship
    trainer = recipes.load_pretrained(kind, device="cpu")
    assert trainer.global_step == state["steps"] and len(trainer.history["g_loss"]) == state["steps"]
    x_fake, _ = recipes.sample_images(trainer, n=10)
    assert x_fake.shape == (10, 1, 28, 28) and torch.isfinite(x_fake).all()


def test_missing_or_damaged_weights_say_how_to_rebuild(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m gan_course train dcgan --minutes 5"):
        recipes.load_pretrained("dcgan", device="cpu", path=tmp_path / "none.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="damaged.*python -m gan_course train dcgan"):
        recipes.load_pretrained("dcgan", device="cpu", path=bad)
    with pytest.raises(ValueError, match="does not hold 'cgan' weights"):
        recipes.load_pretrained("cgan", device="cpu", path=recipes.pretrained_path("dcgan"))


def test_weights_from_another_architecture_are_refused(tmp_path):
    trainer = tiny_trainer()
    recipes.export_weights(trainer, "dcgan", tmp_path / "w.pt", seed=0, command="", recipe=TINY["dcgan"])
    state = checkpoints.load(tmp_path / "w.pt", "gan_weights")
    state["recipe"]["net"]["width_g"] = 8  # the file now claims another width than its weights have
    checkpoints.save(tmp_path / "w.pt", "gan_weights", state)
    with pytest.raises(ValueError, match="different generator architecture"):
        recipes.load_pretrained("dcgan", device="cpu", path=tmp_path / "w.pt")


def test_train_image_writes_outputs_and_refuses_bad_minutes(tmp_path):
    for minutes in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="minutes must be a positive number"):
            runs.train_image("dcgan", tmp_path / "x", minutes=minutes, device="cpu")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="kind must be one of 'dcgan', 'cgan', 'wgan-gp'; got 'vae'"):
        runs.train_image("vae", tmp_path / "x", steps=1)


def test_unknown_kind_and_resume_from_the_run_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setitem(recipes.IMAGE_RECIPES, "dcgan", TINY["dcgan"])
    summary, trainer, x_fake, y = runs.train_image("dcgan", tmp_path, steps=2, device="cpu", progress=False)
    assert summary["steps"] == 2 and y is None
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8
    assert len(json.loads((tmp_path / "history.json").read_text())["g_loss"]) == 2
    resumed = recipes.image_trainer("dcgan", device="cpu").load(tmp_path / "checkpoint.pt")
    trainer.step()
    resumed.step()
    assert resumed.history["g_loss"][-1] == trainer.history["g_loss"][-1]


def test_weight_average_follows_the_generator_and_is_what_samples_come_from(tmp_path):
    trainer = tiny_trainer(ema=0.5)
    before = [p.clone() for p in trainer.generator_ema.parameters()]
    trainer.step()
    for avg, old, new in zip(trainer.generator_ema.parameters(), before, trainer.generator.parameters()):
        torch.testing.assert_close(avg, 0.1 * old + 0.9 * new.detach())  # warm-up: min(0.5, 1/10)
    for _ in range(12):
        trainer.step_g()  # after t = 13 updates the decay is min(0.5, 14/23) = 0.5
    before = [p.clone() for p in trainer.generator_ema.parameters()]
    trainer.step_g()
    for avg, old, new in zip(trainer.generator_ema.parameters(), before, trainer.generator.parameters()):
        torch.testing.assert_close(avg, 0.5 * old + 0.5 * new.detach())
    assert trainer.sampling_generator is trainer.generator_ema and not trainer.generator_ema.training
    recipe = TINY["dcgan"].replace(ema=0.5)
    recipes.export_weights(trainer, "dcgan", tmp_path / "w.pt", seed=0, command="", recipe=recipe)
    loaded = recipes.load_pretrained("dcgan", device="cpu", path=tmp_path / "w.pt", batch_size=8)
    torch.testing.assert_close(loaded.sample(4, seed=3), trainer.sample(4, seed=3), atol=2e-2, rtol=0)
    trainer.save(tmp_path / "c.pt")
    resumed = tiny_trainer(ema=0.5).load(tmp_path / "c.pt")
    torch.testing.assert_close(resumed.sample(4, seed=3), trainer.sample(4, seed=3))
    with pytest.raises(ValueError, match=r"ema must be a number in \[0, 1\), got 1"):
        tiny_trainer(ema=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("kind", recipes.KINDS)
@pytest.mark.parametrize("precision", ["auto", "fp16"])
def test_image_trainers_step_on_cuda(kind, precision):
    """The GPU fast path (data on the device, channels_last, autocast, fused Adam, GradScaler for
    fp16) runs every recipe and gives finite losses; CI has no GPU, so this runs on a lent one."""
    trainer = recipes.image_trainer(kind, seed=0, device="cuda", precision=precision)
    assert trainer.sampler.x.is_cuda and trainer.sampler.x.is_contiguous(memory_format=torch.channels_last)
    assert trainer.precision.name == ("fp16" if precision == "fp16" else
                                      "bf16" if torch.cuda.is_bf16_supported() else "fp16")
    trainer.fit(steps=20, progress=False)
    assert all(np.isfinite(trainer.history[k]).all() for k in ("d_loss", "g_loss"))
    x_fake, _ = recipes.sample_images(trainer, 100)
    assert x_fake.shape == (100, 1, 28, 28) and torch.isfinite(x_fake).all()
