"""gan_course.recipes: the toy and image recipes (varied by replace, to and from dicts), the trainers they
build, the toy mode runs, sampling, and the shipped weights (export, load, refusals)."""

import numpy as np
import pytest
import torch

from gan_course import checkpoints, config, data, divergences, nets, recipes
from helpers import params, same

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- toy recipes ---------------------------------------------------------------------------------

TINY_TOY = dict(width=8, depth=1, batch_size=16, num_data=200)


def test_recipes_cover_every_toy_and_build():
    from gan_course.data import TOY_NAMES
    assert set(recipes.TOY_RECIPES) == set(TOY_NAMES)
    t = recipes.toy_trainer("grid25", device="cpu")
    assert isinstance(t.generator, nets.MLPGenerator) and t.generator.latent_dim == 2


def test_toy_mode_run_measures_modes_and_refuses_non_mixtures():
    r = recipes.toy_mode_run("grid25", recipes.TOY_RECIPES["grid25"].replace(**TINY_TOY), seed=1, steps=3,
                           num_samples=500)
    assert r["num_modes"] == 25 and 0 <= r["modes_covered"] <= 25 and 0 <= r["high_quality"] <= 1
    assert r["seconds"] > 0 and "counts" not in r
    # the same run by hand: the trainer of the recipe, 3 steps, 500 samples of seed 1
    recipe = recipes.TOY_RECIPES["grid25"].replace(**TINY_TOY)
    trainer = recipes.toy_trainer("grid25", seed=1, device="cpu", recipe=recipe)
    trainer.fit(steps=3, progress=False)
    expected = divergences.mode_coverage(trainer.sample(500, seed=1), *data.toy_modes("grid25")).as_dict()
    expected.pop("counts")
    assert {k: v for k, v in r.items() if k != "seconds"} == expected
    with pytest.raises(ValueError, match="name must be a 2-D mixture"):
        recipes.toy_mode_run("moons")


def test_recommended_recipes_use_the_fixes_that_were_measured():
    ring, grid = recipes.TOY_RECIPES["ring8"], recipes.TOY_RECIPES["grid25"]
    assert ring.net.pack == 2 and ring.trainer.lr_decay > 0 and grid.trainer.lr_decay > 0 and grid.trainer.r1_weight > 0
    t = recipes.toy_trainer("ring8", device="cpu", recipe=ring.replace(**TINY_TOY))
    assert t.discriminator.pack == 2
    t = recipes.toy_trainer("grid25", device="cpu", recipe=grid.replace(**TINY_TOY))
    assert t.config.r1_weight == grid.trainer.r1_weight


def test_replace_changes_fields_wherever_they_live_and_validates_them():
    ring = recipes.TOY_RECIPES["ring8"]
    changed = ring.replace(lr_d=1e-3, pack=4, steps=500, noise="uniform")
    assert (changed.trainer.lr_d, changed.net.pack, changed.steps, changed.net.noise) == (1e-3, 4, 500, "uniform")
    assert changed.trainer.lr_g == ring.trainer.lr_g and changed.net.width == ring.net.width
    assert ring.net.pack == 2 and ring.steps == 8000  # the recommended recipe is left as it was
    with pytest.raises(ValueError, match="'colour' is not a setting of ToyRecipe; settings: .*batch_size.*width"):
        ring.replace(colour="red")
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        ring.replace(steps=0)
    with pytest.raises(ValueError, match=r"batch_size \(256\) must be a multiple of pack \(3\)"):
        ring.replace(pack=3)
    with pytest.raises(ValueError, match="num_data must be a positive int, got -1"):
        recipes.ToyRecipe(num_data=-1)


@pytest.mark.parametrize("recipe", [recipes.TOY_RECIPES["grid25"], recipes.IMAGE_RECIPES["wgan-gp"],
                                    recipes.IMAGE_RECIPES["cgan"]])
def test_to_dict_and_from_dict_round_trip(recipe):
    d = recipe.to_dict()
    assert isinstance(d["net"], dict) and isinstance(d["trainer"], dict)
    again = type(recipe).from_dict(d)
    assert again == recipe and isinstance(again.trainer.betas, tuple)


def test_from_dict_refuses_what_is_not_a_recipe():
    with pytest.raises(ValueError, match="not a ImageRecipe description"):
        recipes.ImageRecipe.from_dict({"net": {"width": 3}, "trainer": {}})
    with pytest.raises(ValueError, match="lr_d must be a positive number"):
        recipes.ImageRecipe.from_dict({"net": {}, "trainer": {"lr_d": -1}})


def test_toy_trainer_builds_the_recipes_networks_on_its_data():
    t = recipes.toy_trainer("mix1d", loss="hinge", seed=2, device="cpu")
    recipe = recipes.TOY_RECIPES["mix1d"]
    assert t.config.loss == "hinge" and t.config.seed == 2 and t.config.lr_d == recipe.trainer.lr_d
    assert torch.equal(t.sampler.x, data.toy("mix1d", recipe.num_data, seed=2))
    torch.manual_seed(2)
    g, _ = recipe.net.build(1)  # the same weights: the seed fixes them
    assert same(params(t.generator), params(g))
    x = torch.randn(50, 2)
    own = recipes.toy_trainer("ring8", device="cpu", x=x, recipe=recipes.TOY_RECIPES["ring8"].replace(**TINY_TOY))
    assert torch.equal(own.sampler.x, x)
    with pytest.raises(ValueError, match="data must be one of .*got 'swissroll'"):
        recipes.toy_trainer("swissroll")


# ---- image recipes -------------------------------------------------------------------------------


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


def test_conditional_samples_come_in_class_order():
    x_fake, y = recipes.sample_images(tiny_trainer("cgan"), n=20)
    assert x_fake.shape == (20, 1, 28, 28) and y.tolist() == [k for k in range(10) for _ in range(2)]
    with pytest.raises(ValueError, match="multiple of 10"):
        recipes.sample_images(tiny_trainer("cgan"), n=15)


def test_to_gan_range_maps_unit_images_to_the_tanh_range():
    torch.testing.assert_close(recipes.to_gan_range(torch.tensor([0.0, 0.25, 1.0])), torch.tensor([-1.0, -0.5, 1.0]))


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


def test_exported_weights_carry_the_weight_average_and_load_pretrained_samples_from_it(tmp_path):
    trainer = tiny_trainer(ema=0.5)
    trainer.step()
    for _ in range(13):
        trainer.step_g()
    recipe = TINY["dcgan"].replace(ema=0.5)
    recipes.export_weights(trainer, "dcgan", tmp_path / "w.pt", seed=0, command="", recipe=recipe)
    loaded = recipes.load_pretrained("dcgan", device="cpu", path=tmp_path / "w.pt", batch_size=8)
    torch.testing.assert_close(loaded.sample(4, seed=3), trainer.sample(4, seed=3), atol=2e-2, rtol=0)
    assert loaded.sampling_generator is loaded.generator_ema and loaded.config.ema == 0.5
    for name in ("generator", "generator_ema", "discriminator"):  # each network, stored in fp16
        for p, q in zip(getattr(loaded, name).state_dict().values(), getattr(trainer, name).state_dict().values()):
            torch.testing.assert_close(p.float(), q.float(), atol=2e-3, rtol=1e-2)
    assert not same(params(loaded.generator_ema), params(loaded.generator))  # the average is its own network


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
