"""The image GAN dashboard (widgets.images), driven programmatically (tiny DCGANs, so it runs in seconds)."""

import io

import pytest
import torch
from PIL import Image

from gan_course.nets import eval_mode
from gan_course.recipes import IMAGE_RECIPES, image_trainer
from gan_course.train import GANTrainer
from gan_course.widgets.images import ImageGANDashboard
from helpers import params, same, tick

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_trainer(kind="dcgan", **overrides):
    recipe = IMAGE_RECIPES[kind].replace(width_g=8, width_d=8, latent_dim=16, batch_size=16)
    return image_trainer(kind, seed=0, device="cpu", recipe=recipe, **overrides)


def make(kind="dcgan", **kw):
    kw.setdefault("tick_ms", 1)
    return ImageGANDashboard(tiny_trainer(kind), fixed_noise=kw.pop("fixed_noise", 16), **kw)


def test_run_advances_the_dashboard_and_the_trainer_and_leaves_frames():
    dash = make()
    dash.run(3)
    assert dash.steps_done == 3 and dash.trainer.global_step == 3
    assert dash.trainer.d_updates == dash.trainer.g_updates == 3
    with Image.open(io.BytesIO(dash.frames[-1])) as im:
        assert im.format == "PNG" and im.size == (880, 336)  # (11, 4.2) inches at 80 dpi
    assert dash.frame_steps[-1] == 3


def test_play_ticks_and_the_speed_slider():
    dash = make(steps_per_tick=2)
    dash.play.playing = True
    tick(dash, 2)
    assert dash.trainer.global_step == 4
    assert dash.speed.value == 2
    dash.speed.value = 3  # the slider sets the steps of the next tick
    tick(dash)
    assert dash.trainer.global_step == 7 and dash.steps_done == 7


def test_step_d_changes_only_d_and_step_g_only_g():
    dash = make()
    t = dash.trainer
    g0, d0 = params(t.generator), params(t.discriminator)
    dash.buttons["step_d"].click()
    assert same(params(t.generator), g0) and not same(params(t.discriminator), d0)
    d1 = params(t.discriminator)
    dash.buttons["step_g"].click()
    assert same(params(t.discriminator), d1) and not same(params(t.generator), g0)
    assert (t.d_updates, t.g_updates, dash.steps_done) == (1, 1, 2)


def test_the_fixed_grid_is_the_same_without_training_and_changes_after_a_step():
    dash = make()
    t = dash.trainer
    rng = (torch.get_rng_state(), t.latent_generator.get_state(), t.sampler.state_dict()["generator"])
    first, again = dash.snapshot()["grid"], dash.snapshot()["grid"]
    assert first.shape == (16, 1, 28, 28) and 0 <= first.min() and first.max() <= 1
    assert torch.equal(first, again)  # the same z
    assert torch.equal(rng[0], torch.get_rng_state())  # drawing leaves every random stream alone
    assert torch.equal(rng[1], t.latent_generator.get_state())
    assert torch.equal(rng[2], t.sampler.state_dict()["generator"])
    assert t.generator.training and t.discriminator.training  # modes given back
    dash.step("step")
    assert not torch.equal(dash.snapshot()["grid"], first)


def test_drawing_does_not_change_the_networks_state():
    """Eval mode while drawing: batch norm statistics (and spectral norm's vectors) stay as they were."""
    trainer = tiny_trainer()
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    dash = ImageGANDashboard(trainer, fixed_noise=16)
    dash.redraw(force=True)
    after = trainer.generator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_reset_restores_the_initial_weights_and_optimizer_states_exactly():
    dash = make()
    t = dash.trainer
    g0, d0 = params(t.generator), params(t.discriminator)
    dash.run(4)
    dash.reset()
    assert same(params(t.generator), g0) and same(params(t.discriminator), d0)
    assert t.global_step == 0 and dash.steps_done == 0 and t.history["step"] == []
    assert t.opt_d.state_dict()["state"] == {}  # Adam's moments are back to none
    dash.run(4)
    first_run = params(t.generator)
    dash.reset()
    dash.run(4)
    assert same(params(t.generator), first_run)  # the random streams are restored too: the same run again


def test_live_hyperparameters_reach_the_trainer_and_survive_reset():
    dash = make()
    dash.run(2)
    dash.controls["lr_d"].value = 1e-3
    dash.controls["lr_g"].value = 5e-4
    dash.controls["d_steps"].value = 3
    t = dash.trainer
    assert t.global_step == 2  # the same run goes on
    assert (t.config.lr_d, t.config.lr_g, t.config.d_steps) == (pytest.approx(1e-3), pytest.approx(5e-4), 3)
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(1e-3)
    dash.step("step")
    assert t.d_updates == 2 + 3
    dash.reset()
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(1e-3) and t.config.d_steps == 3
    dash.set("lr_g", 1e-4)
    assert dash.controls["lr_g"].value == pytest.approx(1e-4) and t.config.lr_g == pytest.approx(1e-4)


def test_conditional_trainer_gives_ten_labelled_rows_with_the_same_z_down_each_column():
    dash = make("cgan", fixed_noise=30)
    assert dash.grid_nrow == 3 and dash.row_labels == [str(k) for k in range(10)]
    assert torch.equal(dash.grid_y, torch.arange(10).repeat_interleave(3))
    assert torch.equal(dash.grid_z[:3], dash.grid_z[3:6])  # one z per column, every class
    grid_axes = dash._fig.axes[0]
    assert [label.get_text() for label in grid_axes.get_yticklabels()] == [str(k) for k in range(10)]
    assert dash.snapshot()["grid"].shape == (30, 1, 28, 28)
    dash.run(2)
    assert dash.trainer.global_step == 2


def test_quality_is_evaluated_every_quality_every_steps():
    calls = []

    def quality(trainer):
        calls.append(trainer.global_step)
        return {"score": float(trainer.global_step)}

    dash = make(quality_fn=quality, quality_every=2)
    dash.run(5)
    assert calls == [0, 2, 4] and dash.quality["step"] == [0, 2, 4]
    assert dash.quality["values"] == {"score": [0.0, 2.0, 4.0]}
    assert "score 4" in dash.status()
    assert len(dash._fig.axes) == 5  # the quality panel is shown
    assert len(make()._fig.axes) == 4  # and hidden without a quality_fn
    dash.reset()
    assert dash.quality["step"] == [0] and calls[-1] == 4  # the start's value is kept, not recomputed


def test_a_raising_quality_fn_shows_the_error_and_the_next_step_works():
    state = {"fail": False}

    def quality(trainer):
        if state["fail"]:
            raise RuntimeError("classifier weights missing")
        return {"score": 1.0}

    dash = make(quality_fn=quality, quality_every=1)
    state["fail"] = True
    dash.buttons["step"].click()
    assert "classifier weights missing" in dash.readout.value and "quality_fn failed" in dash.readout.value
    assert dash.trainer.global_step == 1
    dash.run(2)  # headless too: the error is shown, not raised
    assert dash.trainer.global_step == 3
    state["fail"] = False
    dash.buttons["step"].click()
    assert dash.trainer.global_step == 4 and "failed" not in dash.readout.value
    assert dash.quality["step"] == [0, 4]


def test_a_refused_hyperparameter_shows_the_error_and_keeps_the_old_value():
    dash = make()
    lr_d = dash.trainer.config.lr_d  # what the slider shows before the bad value
    dash._on_control("lr_d", {"new": -1.0, "old": lr_d, "owner": dash.controls["lr_d"]})
    assert "lr_d must be a positive number" in dash.readout.value
    assert dash.trainer.config.lr_d == pytest.approx(lr_d)
    dash.buttons["step"].click()
    assert dash.trainer.global_step == 1


def test_wasserstein_critic_shows_raw_scores():
    dash = make("wgan-gp")
    assert not dash.probabilities
    s = dash.snapshot()
    dash.run(1)
    axes = dash._fig.axes
    assert axes[1].get_title() == "critic scores, real vs fake" and "raw" in axes[1].get_xlabel()
    assert s["d_real"].shape == (16,) and s["d_fake"].shape == (16,)


def test_standard_loss_shows_probabilities():
    dash = make()
    s = dash.snapshot()
    logits = dash._critic(dash.real_x, None)
    assert torch.allclose(s["d_real"], torch.sigmoid(logits))
    assert dash._fig.axes[1].get_xlim() == (0, 1)
    d = dash.trainer.discriminator  # the same numbers straight from D, in eval mode, without the dashboard
    d.eval()
    with torch.no_grad():
        direct = torch.sigmoid(d(dash.real_x))
    d.train()
    torch.testing.assert_close(s["d_real"], direct, atol=1e-4, rtol=1e-4)  # one batch with the fakes: float noise


def test_a_generator_that_does_not_make_28x28_digits_is_refused():
    x = torch.rand(200, 1, 14, 14) * 2 - 1
    g = torch.nn.Sequential(torch.nn.Linear(8, 14 * 14), torch.nn.Tanh(), torch.nn.Unflatten(1, (1, 14, 14)))
    g.latent_dim = 8
    d = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(14 * 14, 1), torch.nn.Flatten(0))
    trainer = GANTrainer(g, d, x, device="cpu", batch_size=16)
    with pytest.raises(ValueError, match=r"images of shape \(B, 1, 28, 28\); this one makes \(2, 1, 14, 14\)"):
        ImageGANDashboard(trainer)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="trainer must be a GANTrainer"):
        ImageGANDashboard("dcgan")
    trainer = tiny_trainer()
    with pytest.raises(ValueError, match="quality_every must be a positive int"):
        ImageGANDashboard(trainer, quality_every=0)
    with pytest.raises(ValueError, match="fixed_noise must be a positive int"):
        ImageGANDashboard(trainer, fixed_noise=-4)
    with pytest.raises(ValueError, match="quality_fn must be a function"):
        ImageGANDashboard(trainer, quality_fn=3)


# ---- the image dashboard's D(G(z)) histogram ------------------------------------------------

@pytest.mark.slow
def test_fake_histogram_comes_from_the_generator_d_plays_against():
    from gan_course.widgets.images import ImageGANDashboard

    recipe = IMAGE_RECIPES["dcgan"].replace(width_g=8, width_d=8, latent_dim=16, batch_size=16, ema=0.9)
    trainer = image_trainer("dcgan", seed=0, device="cpu", recipe=recipe, precision="fp32")
    dash = ImageGANDashboard(trainer, fixed_noise=16, tick_ms=1)
    dash.run(2)
    with torch.no_grad():  # make the weight average plainly another network than G
        for p in trainer.generator_ema.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    s = dash.snapshot()
    d = trainer.discriminator
    with torch.no_grad(), eval_mode(trainer.generator, trainer.generator_ema, d):
        playing = torch.sigmoid(d(trainer.generator(dash.grid_z)))
        average = torch.sigmoid(d(trainer.generator_ema(dash.grid_z)))
        grid = (trainer.generator_ema(dash.grid_z) + 1) / 2
    assert torch.allclose(s["d_fake"], playing, atol=1e-5)
    assert (s["d_fake"] - average).abs().max() > 1e-3  # what it used to show
    assert torch.allclose(s["grid"], grid.clamp(0, 1), atol=1e-5)  # the grid still shows the average
