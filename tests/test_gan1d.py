"""The 1-D GAN dashboard, driven programmatically."""

import pytest
import torch

from gan_course.widgets.gan1d import GAN1DDashboard
from helpers import params, same, tick

pytestmark = pytest.mark.usefixtures("one_thread")


def make(**kw):
    kw.setdefault("tick_ms", 1)
    return GAN1DDashboard("mix1d", width=16, num_samples=300, **kw)


def test_play_ticks_advance_the_step_counter_and_pause_stops():
    dash = make(steps_per_tick=3)
    dash.play.playing = True
    tick(dash, 2)
    assert dash.steps_done == 6 and dash.trainer.global_step == 6 and dash.trainer.g_updates == 6
    dash.play.playing = False
    dash.play.value = 0  # the stop button rewinds: not a tick
    assert dash.trainer.global_step == 6


def test_step_d_changes_only_the_discriminator():
    dash = make()
    g0, d0 = params(dash.trainer.generator), params(dash.trainer.discriminator)
    dash.buttons["step_d"].click()
    assert same(params(dash.trainer.generator), g0)
    assert not same(params(dash.trainer.discriminator), d0)
    d1 = params(dash.trainer.discriminator)
    dash.buttons["step_g"].click()
    assert same(params(dash.trainer.discriminator), d1)
    assert not same(params(dash.trainer.generator), g0)
    assert dash.trainer.d_updates == 1 and dash.trainer.g_updates == 1


def test_run_leaves_a_frame_and_tracks_js():
    dash = make()
    dash.run(20)
    assert dash.steps_done == 20 and dash.frames[-1][:8] == b"\x89PNG\r\n\x1a\n"
    assert dash.frame_steps[-1] == 20
    assert dash.js_steps[-1] == 20 and 0 <= dash.js_values[-1] <= 0.7
    assert "step 20" in dash.status()


def test_controls_change_the_trainer_and_reset_rebuilds():
    dash = make()
    dash.run(3)
    dash.lr_d_control.value = 1e-2
    dash.d_steps_control.value = 3
    dash.loss_control.value = "hinge"
    cfg = dash.trainer.config
    assert cfg.lr_d == pytest.approx(1e-2) and cfg.d_steps == 3 and cfg.loss == "hinge"
    assert dash.trainer.opt_d.param_groups[0]["lr"] == pytest.approx(1e-2)
    dash.step("step")
    assert dash.trainer.d_updates == 3 + 3
    dash.reset()
    assert dash.trainer.global_step == 0 and dash.trainer.config.loss == "hinge" and dash.steps_done == 0


def test_snapshot_dstar_is_the_formula():
    dash = make()
    s = dash.snapshot()
    keep = ~torch.isnan(s["d_star"])
    expected = s["p_data"] / (s["p_data"] + s["p_g"])
    torch.testing.assert_close(s["d_star"][keep], expected[keep])


def test_bad_data_name():
    with pytest.raises(ValueError, match="data_name must be one of .*got 'ring8'"):
        GAN1DDashboard("ring8")
