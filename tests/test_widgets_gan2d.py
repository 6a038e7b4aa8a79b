"""The 2-D GAN dashboard (widgets.gan2d), driven programmatically (small networks, so it runs in seconds)."""

import math

import pytest
import torch
from PIL import Image

from gan_course.widgets import gan2d
from gan_course.widgets.gan1d import WASSERSTEIN_CLIP
from gan_course.widgets.gan2d import PACK_PARTNERS, GAN2DDashboard
from helpers import params, same, tick

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = dict(width=16, depth=2, batch_size=64, num_samples=200, num_data=2000, grid_size=24, num_arrows=40, tick_ms=1)


def make(data="ring8", **kw):
    return GAN2DDashboard(data, **{**SMALL, **kw})


def test_play_ticks_advance_the_counter_and_pause_stops_it():
    dash = make(steps_per_tick=4)
    dash.play.playing = True
    tick(dash, 2)
    assert dash.steps_done == 8 and dash.trainer.global_step == 8 and dash.trainer.g_updates == 8
    dash.play.playing = False
    dash.play.value = 0  # the stop button rewinds: not a tick
    assert dash.trainer.global_step == 8


def test_step_d_changes_only_d_and_step_g_only_g():
    dash = make()
    g0, d0 = params(dash.trainer.generator), params(dash.trainer.discriminator)
    dash.buttons["step_d"].click()
    assert same(params(dash.trainer.generator), g0) and not same(params(dash.trainer.discriminator), d0)
    d1 = params(dash.trainer.discriminator)
    dash.buttons["step_g"].click()
    assert same(params(dash.trainer.discriminator), d1) and not same(params(dash.trainer.generator), g0)
    assert (dash.trainer.d_updates, dash.trainer.g_updates, dash.steps_done) == (1, 1, 2)


def test_live_hyperparameters_reach_the_trainer_without_restarting():
    dash = make()
    dash.run(3)
    dash.controls["lr_d"].value = 1e-2
    dash.controls["lr_g"].value = 3e-3
    dash.controls["d_steps"].value = 3
    dash.controls["loss"].value = "hinge"
    dash.controls["optimizer_g"].value = "sgd"
    dash.controls["r1_weight"].value = 1.0
    t = dash.trainer
    assert t.global_step == 3  # the same run goes on
    assert (t.config.lr_d, t.config.d_steps, t.config.loss) == (pytest.approx(1e-2), 3, "hinge")
    assert t.config.r1_weight == 1.0 and dash.recipe.trainer.r1_weight == 1.0
    assert t.opt_d.param_groups[0]["lr"] == pytest.approx(1e-2)
    assert isinstance(t.opt_g, torch.optim.SGD) and t.opt_g.param_groups[0]["lr"] == pytest.approx(3e-3)
    assert isinstance(t.opt_d, torch.optim.Adam)
    dash.step("step")
    assert t.d_updates == 3 + 3


def test_architecture_switches_rebuild_the_networks():
    dash = make(pack=1)
    dash.run(2)
    dash.controls["spectral_norm"].value = True
    dash.controls["pack"].value = 2
    dash.controls["depth"].value = 1
    dash.controls["latent_dim"].value = 3
    dash.controls["noise"].value = "uniform"
    d, g = dash.trainer.discriminator, dash.trainer.generator
    assert dash.trainer.global_step == 0 and dash.steps_done == 0  # a new run
    assert d.pack == 2 and g.latent_dim == 3
    assert any("parametrizations" in name for name, _ in d.named_parameters())  # spectral norm is on
    assert sum(isinstance(m, torch.nn.Linear) for m in g.modules()) == 2  # one hidden layer
    z = dash.trainer.latent_sampler(1000, torch.Generator().manual_seed(0))
    assert z.shape == (1000, 3) and z.min() >= -1 and z.max() <= 1  # uniform noise
    dash.run(2)  # and it trains
    assert dash.trainer.global_step == 2


@pytest.mark.slow
def test_reset_restarts_the_same_run_from_the_same_seed():
    dash = make()
    dash.run(5)
    first = params(dash.trainer.generator)
    dash.reset()
    assert dash.trainer.global_step == 0 and dash.steps_done == 0 and dash.curves["step"] == [0]
    dash.run(5)
    assert same(params(dash.trainer.generator), first)  # a fixed seed reproduces the run


def test_curves_and_status_track_modes_kl_and_js():
    dash = make()
    dash.run(10, redraw_every=5)
    assert dash.curves["step"] == [0, 5, 10]
    assert all(0 <= v <= math.log(2) + 1e-9 for v in dash.curves["js"])
    assert all(0 <= m <= 8 for m in dash.curves["modes"])
    assert "modes" in dash.status() and "high quality" in dash.status() and "JS" in dash.status()


def test_snapshot_heatmap_manifold_and_arrows():
    dash = make(pack=2)
    s = dash.snapshot()
    assert s["heat"].shape == (24, 24) and 0 <= s["heat"].min() and s["heat"].max() <= 1
    assert s["manifold"].shape == (22, 60, 2)
    assert s["arrows"].shape == (40, 2) and torch.isfinite(s["arrows"]).all()
    # the arrows point where the generator's loss falls: a small move along them lowers it
    t = dash.trainer
    x = s["x_fake"][:40]
    loss = lambda y: float(t.loss.g_loss(t.discriminator(y)))  # noqa: E731
    with torch.no_grad():
        assert loss(x + 1e-3 * s["arrows"] / s["arrows"].norm(dim=1).max()) < loss(x)


def test_layer_toggles_change_the_picture():
    dash = make()
    before = dash.frames[-1]
    dash.layers["D(x)"].value = False
    assert dash.frames[-1] != before


def test_export_writes_a_gif_and_a_png_strip(tmp_path):
    dash = make()
    dash.run(6, redraw_every=2)
    gif = dash.export_gif(tmp_path / "h.gif")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == len(dash.frames) == 4
    strip = dash.export_strip(tmp_path / "s.png", num_frames=3)
    with Image.open(strip) as im, Image.open(__import__("io").BytesIO(dash.frames[0])) as one:
        assert im.format == "PNG" and im.size == (3 * one.width, one.height)


def test_a_user_tensor_with_centers_trains_and_its_modes_are_counted():
    centers = torch.tensor([[0.0, 0.0], [3.0, 3.0]])
    x = centers[torch.arange(400) % 2] + 0.1 * torch.randn(400, 2)
    dash = make(x, centers=centers, std=0.1)
    assert dash.data_name == "custom" and dash.controls["data"].value == "custom"
    dash.run(2)
    assert "modes" in dash.status() and len(dash.curves["modes"]) >= 1
    assert torch.equal(dash.centers, centers) and dash.std == 0.1
    assert dash.trainer.global_step == 2 and dash.curves["step"][-1] == 2
    assert 0 <= dash.curves["modes"][-1] <= 2 and 0 <= dash.curves["high_quality"][-1] <= 1
    assert f"modes {int(dash.curves['modes'][-1])}/2" in dash.status()


@pytest.mark.parametrize("data, match", [
    ("swiss_roll", "data must be one of"),
    (torch.zeros(10, 3), r"data must have shape \(n, 2\)"),
    (torch.tensor([[0.0, 1.0], [float("nan"), 0.0]]), "data contains 1 NaN or inf"),
])
def test_bad_data_is_refused(data, match):
    with pytest.raises(ValueError, match=match):
        make(data)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="loss must be one of"):
        make(loss="wgan")
    with pytest.raises(ValueError, match=r"batch_size \(64\) must be a multiple of pack \(3\)"):
        make(pack=3)
    with pytest.raises(ValueError, match=r"r1_weight must be a finite number >= 0, got -0.1"):
        make(r1_weight=-0.1)


def test_a_failing_callback_shows_the_error_and_leaves_the_dashboard_usable():
    dash = make(pack=1)
    dash.controls["pack"].value = 3  # 64 is not a multiple of 3: refused
    assert "must be a multiple of pack" in dash.readout.value
    assert dash.trainer.discriminator.pack == 1 and dash.recipe.net.pack == 1
    assert dash.controls["pack"].value == 1  # the control shows the setting in force
    dash.play.playing = True
    tick(dash)
    assert dash.trainer.global_step == dash.speed.value  # Play still works


@pytest.mark.slow
def test_every_dataset_builds_and_draws():
    for name in gan2d.DATASETS_2D:
        dash = make(name)
        dash.run(1)
        assert dash.frames[-1][:4] == b"\x89PNG"
        assert (dash.centers is None) == (name in ("spiral", "moons"))


def test_save_and_load_state_round_trip(tmp_path):
    dash = make()
    dash.run(4)
    path = dash.save_state(tmp_path / "s.pt")
    other = GAN2DDashboard.pretrained("ring8", path, **{k: v for k, v in SMALL.items()
                                                        if k not in ("width", "depth", "batch_size")})
    assert other.trainer.global_step == 4 and other.steps_done == 4
    assert same(params(other.trainer.generator), params(dash.trainer.generator))
    assert other.recipe == dash.recipe and other.data_name == dash.data_name
    other.run(2)
    assert other.trainer.global_step == 6


def test_bad_centers_or_std_for_a_user_tensor_are_refused():
    x = torch.randn(100, 2)
    with pytest.raises(ValueError, match=r"centers must have shape \(n, 2\)"):
        make(x, centers=torch.zeros(3, 3), std=0.1)
    with pytest.raises(ValueError, match="std must be a positive number when centers are given"):
        make(x, centers=torch.zeros(3, 2), std=None)


@pytest.mark.parametrize("name", gan2d.DATASETS_2D)
def test_every_dataset_has_a_shipped_pretrained_state_under_1_mb(name):
    path = gan2d.pretrained_path(name)
    assert path.is_file() and path.stat().st_size < 1_000_000
    dash = GAN2DDashboard.pretrained(name, num_samples=200, grid_size=24, num_arrows=20)
    assert dash.trainer.global_step == dash.steps_done == 1500 and dash.data_name == name
    assert len(dash.curves["step"]) > 10  # the curves come with it
    dash.run(1)
    assert dash.trainer.global_step == 1501


def test_reset_of_a_pretrained_dashboard_goes_back_to_the_pretrained_state():
    dash = GAN2DDashboard.pretrained("ring8", num_samples=200, grid_size=24, num_arrows=20)
    g0 = params(dash.trainer.generator)
    assert dash.frame_steps == [1500]  # the history starts at the loaded state
    dash.run(2)
    dash.reset()
    assert dash.trainer.global_step == 1500 and same(params(dash.trainer.generator), g0)
    dash.controls["pack"].value = 1  # another architecture: a fresh run from the seed
    assert dash.trainer.global_step == 0


# ---- wasserstein only with a Lipschitz constraint ---------------------------------------------

@pytest.mark.slow
def test_2d_dropdown_offers_wasserstein_with_clipping_only():
    dash = GAN2DDashboard("ring8", **SMALL)
    labels = dict(dash.controls["loss"].options)
    assert labels[f"wasserstein (clip {WASSERSTEIN_CLIP})"] == "wasserstein" and "wasserstein" not in labels
    dash.controls["loss"].value = "wasserstein"
    assert dash.trainer.config.clip_value == WASSERSTEIN_CLIP and dash.recipe.trainer.clip_value == WASSERSTEIN_CLIP
    dash.trainer.step()  # the clip is applied: every weight of D within [-c, c]
    assert max(p.abs().max().item() for p in dash.trainer.discriminator.parameters()) <= WASSERSTEIN_CLIP + 1e-9
    dash.controls["loss"].value = "hinge"  # leaving it takes the clip it added away again
    assert dash.trainer.config.clip_value == 0.0 and dash.recipe.trainer.clip_value == 0.0
    dash.set("loss", "wgan_gp")  # the penalty is its own constraint: no clip
    assert dash.trainer.config.clip_value == 0.0


def test_2d_constructor_adds_the_clip_and_keeps_one_given():
    assert GAN2DDashboard("ring8", loss="wasserstein", **SMALL).trainer.config.clip_value == WASSERSTEIN_CLIP
    assert GAN2DDashboard("ring8", loss="wasserstein", clip_value=0.05, **SMALL).trainer.config.clip_value == 0.05


# ---- the packed discriminator's heatmap ------------------------------------------------------

def test_packed_heatmap_packs_each_point_with_fakes_not_copies_of_itself():
    dash = GAN2DDashboard("ring8", pack=2, **SMALL)
    for _ in range(3):
        dash.trainer.step()
    s = dash.snapshot()
    d = dash.trainer.discriminator
    with torch.no_grad():
        points = dash.grid_points  # (M*M, 2)
        mates = s["x_fake"][:PACK_PARTNERS]  # (P, 2): one mate per draw when m = 2
        by_hand = torch.stack([torch.sigmoid(d(torch.stack([p, mate]))).squeeze() for p in points[:30]
                               for mate in mates]).reshape(30, PACK_PARTNERS).mean(1)
        copies = torch.sigmoid(d(points[:30].repeat_interleave(2, dim=0)))  # what the heatmap used to show
    heat = s["heat"].reshape(-1)[:30]
    assert torch.allclose(heat, by_hand, atol=1e-6)
    assert not torch.allclose(heat, copies, atol=1e-3)
    dash.redraw(force=True)  # it draws, and says what it shows
    assert "packed with 1 fake" in dash._fig.axes[0].get_title()


def test_unpacked_heatmap_is_d_of_each_point():
    dash = GAN2DDashboard("ring8", pack=1, **SMALL)
    s = dash.snapshot()
    with torch.no_grad():
        expected = torch.sigmoid(dash.trainer.discriminator(dash.grid_points))
    assert torch.allclose(s["heat"].reshape(-1), expected, atol=1e-6)
