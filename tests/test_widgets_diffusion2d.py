"""The 2-D diffusion / flow dashboard (widgets.diffusion2d), driven programmatically (tiny sizes)."""

import pytest

from gan_course.widgets.diffusion2d import Diffusion2DDashboard
from helpers import tick

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(width=16, depth=1, octaves=2, batch_size=64, num_data=500, num_samples=100, num_paths=5,
             grid_size=6, sample_steps=5, tick_ms=1)


def make(data="ring8", **kw):
    return Diffusion2DDashboard(data, **{**SMALL, **kw})


def test_play_ticks_advance_training_and_pause_stops_it():
    dash = make(steps_per_tick=3)
    dash.play.playing = True
    tick(dash, 2)
    assert dash.steps_done == 6 and dash.trainer.global_step == 6 and len(dash.trainer.history["loss"]) == 6
    dash.play.playing = False
    dash.play.value = 0  # the stop button rewinds: not a tick
    assert dash.trainer.global_step == 6


def test_the_time_slider_changes_the_picture_and_not_the_model():
    dash = make()
    dash.step("step", n=3)
    before, weights = dash.image.value, [p.clone() for p in dash.trainer.model.parameters()]
    dash.controls["t"].value = 0.9
    assert dash.t == 0.9 and dash.image.value != before
    assert all((a == b).all() for a, b in zip(weights, dash.trainer.model.parameters()))
    assert dash.trainer.global_step == 3


def test_sampler_steps_and_method_are_live():
    dash = make(kind="diffusion")
    dash.controls["sample_steps"].value = 7
    assert "7 steps = 7 network calls" in dash.status()
    dash.controls["method"].value = "ddim"
    assert "sampler ddim" in dash.status()
    dash.set("kind", "flow")  # a new run, with the flow's samplers
    assert dash.trainer.global_step == 0 and tuple(dash.controls["method"].options) == ("euler", "heun")
    dash.set_method("heun")
    assert "7 steps = 14 network calls" in dash.status()


def test_mode_coverage_is_tracked_on_the_mixtures_only():
    dash = make("grid25")
    dash.step("step", n=2)
    assert dash.curves["step"][-1] == 2 and 0 <= dash.curves["high_quality"][-1] <= 1
    assert "modes" in dash.status()
    spiral = make("spiral")
    spiral.step("step")
    assert "modes" not in spiral.status()


def test_a_new_sampler_restarts_the_coverage_curves_instead_of_rewriting_their_last_point():
    dash = make("ring8")
    dash.step("step", n=1)
    dash.step("step", n=1)
    assert dash.curves["step"] == [0, 1, 2]  # the first frame, then one per step
    dash.set_sample_steps(1)  # a display change at the same training step
    assert dash.curves["step"] == [2], "the curve measured with the old sampler is gone, not rewritten"
    assert dash._fig.axes[2].get_title() == "mode coverage (euler, 1 steps)"  # the flow's default sampler
    dash.step("step", n=1)
    assert dash.curves["step"] == [2, 3]


def test_lr_and_restarting_controls():
    dash = make()
    dash.step("step", n=2)
    dash.controls["lr"].value = 1e-4
    assert dash.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4) and dash.trainer.global_step == 2
    dash.controls["data"].value = "grid25"
    assert dash.data_name == "grid25" and dash.trainer.global_step == 0 and dash.centers.shape == (25, 2)


def test_bad_settings_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match=r"t must be a number in \[0, 1\], got 1.5"):
        make(t=1.5)
    dash = make()
    with pytest.raises(ValueError, match=r"t must be a number in \[0, 1\], got -0.2"):
        dash.set_time(-0.2)
    with pytest.raises(ValueError, match="sample_steps must be"):
        dash.set_sample_steps(0)
    with pytest.raises(ValueError, match="kind must be one of"):
        make(kind="gan")
    with pytest.raises(ValueError, match="data must be one of"):
        make("mnist")
    with pytest.raises(ValueError, match="method must be one of 'euler', 'heun'"):
        dash.set_method("ddpm")
    dash.controls["sample_steps"].value = 10  # a control accepts a good value ...
    assert dash.sample_steps == 10
