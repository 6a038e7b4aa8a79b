"""A step that meets a NaN/inf is rolled back whole, and the data is checked when the trainer takes it."""

import math

import pytest
import torch

from gan_course import losses, recipes
from gan_course.loop import NonFiniteLossError
from gan_course.train import GANTrainer
from gan_course.specs import MLPSpec
from helpers import params, same

pytestmark = pytest.mark.usefixtures("one_thread")


def trainer(g_loss=None, d_steps=3, **kw):
    torch.manual_seed(0)
    g, d = MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    loss = (losses.minimax_d_loss, g_loss or losses.nonsaturating_g_loss)
    return GANTrainer(g, d, torch.randn(256, 2), loss, d_steps=d_steps, batch_size=32, device="cpu", **kw)


def state_of(t) -> dict:
    return {"g": params(t.generator), "d": params(t.discriminator), "opt_d": str(t.opt_d.state_dict()["state"]),
            "counters": (t.global_step, t.d_updates, t.g_updates), "latent": t.latent_generator.get_state(),
            "sampler": t.sampler.state_dict()["pos"], "rows": len(t.history["step"])}


def test_a_failing_generator_update_rolls_back_the_discriminator_updates_of_its_step():
    calls = {"n": 0}

    def g_loss_nan_at_third_step(fake):
        calls["n"] += 1
        return losses.nonsaturating_g_loss(fake) * (math.nan if calls["n"] == 3 else 1.0)

    t = trainer(g_loss_nan_at_third_step)
    t.step(), t.step()
    good = state_of(t)
    with pytest.raises(NonFiniteLossError, match="g_loss became nan at step 3.*the optimisation diverged"):
        t.step()  # three D updates happened, then G's loss was NaN
    now = state_of(t)
    assert same(now["g"], good["g"]) and same(now["d"], good["d"]) and now["opt_d"] == good["opt_d"]
    assert now["counters"] == good["counters"] == (2, 6, 2) and now["rows"] == 2
    assert torch.equal(now["latent"], good["latent"]) and now["sampler"] == good["sampler"]


def test_after_a_rollback_the_run_goes_on_as_if_the_failed_step_had_not_been_tried():
    calls = {"n": 0}

    def nan_once(fake):
        calls["n"] += 1
        return losses.nonsaturating_g_loss(fake) * (math.nan if calls["n"] == 2 else 1.0)

    t, reference = trainer(nan_once), trainer()
    t.step()
    with pytest.raises(NonFiniteLossError):
        t.step()
    t.step()  # the NaN does not come back: the same step, tried again
    reference.step(), reference.step()
    assert same(params(t.generator), params(reference.generator))
    assert same(params(t.discriminator), params(reference.discriminator))


def test_data_with_nan_is_refused_when_the_trainer_takes_it():
    x = torch.randn(64, 2)
    x[5, 1] = math.inf
    g, d = MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    with pytest.raises(ValueError, match=r"data contains 1 NaN/inf value\(s\) out of 128"):
        GANTrainer(g, d, x, batch_size=16, device="cpu")


def test_a_nan_in_a_custom_samplers_batch_is_blamed_on_the_data():
    def batches():
        while True:
            yield torch.full((16, 2), math.nan)
    g, d = MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    t = GANTrainer(g, d, batches(), batch_size=16, device="cpu")
    with pytest.raises(NonFiniteLossError, match="The data batch itself holds NaN/inf values"):
        t.step()


@pytest.mark.parametrize("x, match", [
    (torch.randint(0, 255, (64, 2), dtype=torch.uint8), r"data holds torch.uint8 values; a GAN trains on floating"),
    (torch.zeros(0, 2), r"data must hold at least one sample"),
])
def test_data_of_the_wrong_kind_is_refused(x, match):
    g, d = MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    with pytest.raises(ValueError, match=match):
        GANTrainer(g, d, x, batch_size=16, device="cpu")


def test_float64_data_is_converted_with_a_warning_and_trains():
    g, d = MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    with pytest.warns(UserWarning, match="data is float64; it is converted to float32"):
        t = GANTrainer(g, d, torch.randn(64, 2, dtype=torch.float64), batch_size=16, device="cpu")
    assert t.sampler.x.dtype == torch.float32
    assert math.isfinite(t.step()["g_loss"])


def test_labels_must_be_integers():
    g, d = MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    with pytest.raises(ValueError, match="labels y must be a 1-D integer tensor, got dtype torch.float32"):
        GANTrainer(g, d, (torch.randn(64, 2), torch.zeros(64)), batch_size=16, device="cpu")


def test_recipe_runs_with_lr_decay_call_the_callbacks():
    seen = []
    t = recipes.toy_trainer("ring8", seed=0, device="cpu",
                            recipe=recipes.TOY_RECIPES["ring8"].replace(width=8, depth=1, batch_size=16, num_data=64))
    assert t.config.lr_decay > 0
    t.callbacks.append(lambda tr: seen.append(tr.global_step))
    t.fit(steps=5, progress=False)
    assert seen == [1, 2, 3, 4, 5]
