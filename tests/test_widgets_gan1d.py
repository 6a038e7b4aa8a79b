"""The 1-D GAN dashboard (widgets.gan1d), driven programmatically."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gan_course.widgets.gan1d import WASSERSTEIN_CLIP, GAN1DDashboard
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


def test_step_d_changes_only_the_discriminator_and_step_g_only_the_generator():
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


@pytest.mark.slow
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


def test_snapshot_densities_and_d_match_independent_computations():
    dash = make()
    dash.run(2)
    s = dash.snapshot()
    grid = s["grid"].double().numpy()
    # p_data: the equal-weight mixture N(-3, 0.5^2), N(0, 0.5^2), N(3, 0.5^2)
    p_data = np.mean([stats.norm(m, 0.5).pdf(grid) for m in (-3.0, 0.0, 3.0)], axis=0)
    np.testing.assert_allclose(s["p_data"].double().numpy(), p_data, rtol=1e-4, atol=1e-7)
    # p_g: scipy's Gaussian KDE of the generator's samples, with the dashboard's bandwidth
    samples = dash.trainer.sample(300, seed=12345)[:, 0].double().numpy()
    kde = stats.gaussian_kde(samples, bw_method=dash.bandwidth / samples.std(ddof=1))
    np.testing.assert_allclose(s["p_g"].double().numpy(), kde(grid), rtol=1e-4, atol=1e-6)
    # D: the sigmoid of the discriminator's logit at each grid point
    with torch.no_grad():
        d = torch.sigmoid(dash.trainer.discriminator(s["grid"][:, None]))
    torch.testing.assert_close(s["d"], d)
    # D* is left undefined (NaN) exactly where neither density has 2 % of the largest mass
    total = s["p_data"] + s["p_g"]
    assert torch.equal(torch.isnan(s["d_star"]), total < 0.02 * total.max())
    assert 0 <= float(s["js"]) <= math.log(2)


def test_a_2d_data_name_is_refused():
    with pytest.raises(ValueError, match="data_name must be one of .*got 'ring8'"):
        GAN1DDashboard("ring8")


# ---- wasserstein only with a Lipschitz constraint ---------------------------------------------

@pytest.mark.slow
def test_1d_dashboard_clips_a_wasserstein_critic():
    dash = GAN1DDashboard("gauss1d", width=16, num_samples=200, tick_ms=1)
    assert dash.trainer.config.clip_value == 0.0
    assert "wasserstein" not in dict(dash.loss_control.options)
    dash.loss_control.value = "wasserstein"
    assert dash.trainer.config.loss == "wasserstein" and dash.trainer.config.clip_value == WASSERSTEIN_CLIP
    dash.loss_control.value = "nonsaturating"
    assert dash.trainer.config.clip_value == 0.0
    fresh = GAN1DDashboard("gauss1d", loss="wasserstein", width=16, num_samples=200, tick_ms=1)
    assert fresh.trainer.config.clip_value == WASSERSTEIN_CLIP
