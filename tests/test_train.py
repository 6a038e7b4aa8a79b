"""gan_course.train: GANTrainer (each player's steps, exact resume, NaN guard, interrupts, the learning-
rate decay, weight clipping, the one-pass discriminator, the weight average, bad input) and
fit_discriminator."""

import copy
import math

import pytest
import torch

from gan_course import data, loop, losses, nets, recipes, train
from helpers import params, same

pytestmark = pytest.mark.usefixtures("one_thread")


def make_trainer(seed=0, loss="nonsaturating", width=16, **kw):
    torch.manual_seed(seed)
    g = nets.MLPGenerator(latent_dim=2, out_dim=1, width=width)
    d = nets.MLPDiscriminator(in_dim=1, width=width)
    x = data.toy("mix1d", 512, seed=0)
    kw = {"batch_size": 32, "lr_d": 1e-3, "lr_g": 1e-3, **kw}
    return train.GANTrainer(g, d, x, loss, device="cpu", seed=seed, **kw)


def test_step_records_history_and_counts_updates():
    t = make_trainer(d_steps=3)
    row = t.step()
    assert t.global_step == 1 and t.d_updates == 3 and t.g_updates == 1
    assert set(t.history) == set(train.HISTORY_KEYS)
    assert all(len(v) == 1 for v in t.history.values())
    assert 0 < row["d_real"] < 1 and row["grad_norm_g"] > 0 and row["time"] > 0


def test_step_d_changes_only_the_discriminator_and_step_g_only_the_generator():
    t = make_trainer()
    g0, d0 = params(t.generator), params(t.discriminator)
    t.step_d()
    assert same(params(t.generator), g0) and not same(params(t.discriminator), d0)
    g1, d1 = params(t.generator), params(t.discriminator)
    d_grads = [p.grad.clone() for p in t.discriminator.parameters()]
    row = t.step_g()
    assert not same(params(t.generator), g1) and same(params(t.discriminator), d1)
    assert row["d_loss"] != row["d_loss"]  # NaN: D did not move in this row
    assert same([p.grad for p in t.discriminator.parameters()], d_grads)  # no backward into D


@pytest.mark.parametrize("loss", losses.LOSS_NAMES)
def test_every_loss_trains_a_few_steps(loss):
    t = make_trainer(loss=loss)
    g0, d0 = params(t.generator), params(t.discriminator)
    t.fit(steps=5, progress=False)
    assert t.global_step == 5
    assert all(torch.isfinite(p).all() for p in t.generator.parameters())
    assert not same(params(t.generator), g0) and not same(params(t.discriminator), d0)  # both players moved
    assert all(math.isfinite(v) for k in ("d_loss", "g_loss") for v in t.history[k])
    assert t.config.loss == loss and t.loss is losses.get_loss(loss)


def test_resume_continues_exactly(tmp_path):
    straight = make_trainer(seed=3, d_steps=2)
    straight.fit(steps=12, progress=False)

    first = make_trainer(seed=3, d_steps=2)
    first.fit(steps=5, progress=False)
    first.save(tmp_path / "ckpt.pt")
    torch.manual_seed(12345)  # disturb the global stream: load must restore it
    resumed = make_trainer(seed=99, d_steps=2)  # other initial weights and sampler seed
    resumed.load(tmp_path / "ckpt.pt")
    resumed.fit(steps=7, progress=False)

    assert same(params(resumed.generator), params(straight.generator))
    assert same(params(resumed.discriminator), params(straight.discriminator))
    for key in train.HISTORY_KEYS:
        if key != "time":
            assert resumed.history[key] == straight.history[key], key
    assert resumed.d_updates == straight.d_updates == 24


def test_checkpoint_from_other_architecture_is_refused_and_nothing_changes(tmp_path):
    small = make_trainer(width=16)
    small.fit(steps=2, progress=False)
    small.save(tmp_path / "small.pt")
    big = make_trainer(width=32)
    before = copy.deepcopy(big.state_dict())
    with pytest.raises(ValueError, match="different generator architecture.*checkpoint \\(16, 2\\) vs model \\(32, 2\\)"):
        big.load(tmp_path / "small.pt")
    after = big.state_dict()
    assert same(list(after["generator"].values()), list(before["generator"].values()))
    assert after["counters"] == before["counters"]


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    t = make_trainer()
    path = tmp_path / "ckpt.pt"
    t.save(path)
    good = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        t.save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_nan_loss_stops_and_keeps_last_good_state():
    calls = {"n": 0}

    def d_loss(real, fake):
        calls["n"] += 1
        value = losses.minimax_d_loss(real, fake)
        return value * float("nan") if calls["n"] > 3 else value
    t = make_trainer(loss=(d_loss, losses.nonsaturating_g_loss))
    t.fit(steps=3, progress=False)
    g0, d0 = params(t.generator), params(t.discriminator)
    with pytest.raises(train.NonFiniteLossError, match="d_loss became nan at step 4.*last good state"):
        t.fit(steps=5, progress=False)
    assert same(params(t.generator), g0) and same(params(t.discriminator), d0)
    assert t.global_step == 3 and len(t.history["d_loss"]) == 3


def test_keyboard_interrupt_from_callback_leaves_trainer_consistent():
    def stop_at_4(trainer):
        if trainer.global_step == 4:
            raise KeyboardInterrupt
    t = make_trainer(callbacks=[stop_at_4])
    t.fit(steps=10, progress=False)
    assert t.interrupted and t.global_step == 4 and t.g_updates == 4
    assert all(len(v) == 4 for v in t.history.values())
    t.fit(steps=3, progress=False)
    assert not t.interrupted and t.global_step == 7


def test_fit_with_time_budget_and_progress_bar(monkeypatch, capsys):
    clock = {"now": 0.0}
    monkeypatch.setattr(loop.time, "perf_counter", lambda: clock["now"])  # the loop's clock

    def one_second(trainer):
        clock["now"] += 1.0  # each step "takes" one second

    t = make_trainer(callbacks=[one_second])
    t.fit(seconds=3.5, progress=True)
    assert t.global_step >= 1
    assert t.global_step == 4 and not t.interrupted  # steps started at 0, 1, 2 and 3 s; none at 4 s
    assert all(len(v) == 4 for v in t.history.values())
    assert "GAN" in capsys.readouterr().err  # the bar, with its label


def test_generator_output_shape_mismatch_is_caught_before_any_step():
    g = nets.MLPGenerator(latent_dim=2, out_dim=2)
    d = nets.MLPDiscriminator(in_dim=1)
    with pytest.raises(ValueError, match=r"shape \(2,\) but the data samples have shape \(1,\)"):
        train.GANTrainer(g, d, data.toy("mix1d", 100, seed=0), device="cpu")


def test_custom_sampler_shape_checked_on_first_batch():
    def batches():
        while True:
            yield torch.randn(8, 3)
    t = train.GANTrainer(nets.MLPGenerator(2, 1), nets.MLPDiscriminator(1), batches(), device="cpu")
    g0 = params(t.generator)
    with pytest.raises(ValueError, match=r"\(1,\).*\(3,\)"):
        t.step()
    assert same(params(t.generator), g0)


def test_conditional_training_with_labels():
    x, y = data.toy("mix1d", 256, seed=0), torch.randint(3, (256,))
    g = nets.MLPGenerator(latent_dim=2, out_dim=1, num_classes=3)
    d = nets.MLPDiscriminator(in_dim=1, num_classes=3)
    t = train.GANTrainer(g, d, (x, y), device="cpu", batch_size=32)
    t.fit(steps=3, progress=False)
    assert t.sample(6).shape == (6, 1)
    assert t.num_classes == 3 and t.global_step == 3 and len(t.history["d_loss"]) == 3
    zeros, twos = t.sample(8, y=torch.zeros(8, dtype=torch.long)), t.sample(8, y=torch.full((8,), 2))
    assert not torch.allclose(zeros, twos)  # the same z, another label: another sample


def test_r1_weight_adds_half_gamma_times_r1_on_the_real_batch():
    plain, with_r1, probe = make_trainer(), make_trainer(r1_weight=4.0), make_trainer()
    x = next(probe.sampler)  # the first real batch all three draw
    expected = 4.0 / 2 * losses.r1_penalty(probe.discriminator, x).item()  # same initial D
    assert expected > 0
    gap = with_r1.step_d()["d_loss"] - plain.step_d()["d_loss"]
    assert gap == pytest.approx(expected, rel=1e-5)
    assert not same(params(with_r1.discriminator), params(plain.discriminator))  # and it moves D


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "vanilla"}, "loss must be one of 'minimax'.*got 'vanilla'"),
    ({"lr_d": 0.0}, "lr_d must be a positive number, got 0.0"),  # overrides go through TrainerConfig
    ({"colour": "red"}, "unknown trainer options \\['colour'\\]"),
])
def test_trainer_refuses_unknown_options_and_checks_its_overrides(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_trainer(**kwargs)


def test_bad_fit_arguments():
    t = make_trainer()
    with pytest.raises(ValueError, match="steps must be a positive int, got -1"):
        t.fit(steps=-1)
    with pytest.raises(ValueError, match="give steps or seconds"):
        t.fit()


def test_sample_does_not_touch_training_streams():
    a, b = make_trainer(), make_trainer()
    a.sample(100)
    a.step(), b.step()
    assert same(params(a.generator), params(b.generator))


def frozen_gaussian_generator(mean: float, std: float) -> nets.MLPGenerator:
    """A depth-0 generator x = std * z + mean, so p_g = N(mean, std^2) exactly."""
    g = nets.MLPGenerator(latent_dim=1, out_dim=1, depth=0)
    with torch.no_grad():
        g.net[0].weight.fill_(std)
        g.net[0].bias.fill_(mean)
    return g


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gauss1d", "mix1d"])
def test_discriminator_trained_against_frozen_generator_matches_dstar(name):
    from gan_course import metrics
    torch.manual_seed(0)
    g = frozen_gaussian_generator(0.0, 2.0)
    d = nets.MLPDiscriminator(in_dim=1, width=64, depth=2, activation="silu")
    t = train.GANTrainer(g, d, data.toy(name, 20000, seed=0), "minimax", device="cpu",
                         lr_d=3e-3, betas=(0.9, 0.999), batch_size=512)
    g0 = params(g)
    train.fit_discriminator(t, steps=1500, progress=False)
    assert same(params(g), g0) and t.g_updates == 0
    assert t.opt_d.param_groups[0]["lr"] == 3e-3  # restored
    grid = torch.linspace(-6, 6, 601)
    p_data = data.toy_log_prob(name, grid[:, None]).exp()
    p_g = torch.exp(-0.5 * (grid / 2) ** 2) / (2 * math.sqrt(2 * math.pi))
    with torch.no_grad():
        d_grid = torch.sigmoid(d(grid[:, None]))
    assert metrics.dstar_max_error(d_grid, p_data, p_g) < 0.05


@pytest.mark.parametrize("name, dtype, scaler", [("fp16", torch.float16, True), ("bf16", torch.bfloat16, False)])
def test_mixed_precision_path_runs_and_checkpoints(tmp_path, name, dtype, scaler):
    """The GPU path (autocast, GradScaler for fp16), exercised on the CPU, which supports both."""
    from gan_course.config import Precision
    t = make_trainer(loss="wgan_gp")
    t.precision = Precision(name, dtype, scaler)
    t.scaler_d, t.scaler_g = torch.amp.GradScaler("cpu", enabled=scaler), torch.amp.GradScaler("cpu", enabled=scaler)
    t.fit(steps=4, progress=False)
    assert all(math.isfinite(t.history[k][-1]) for k in ("d_loss", "g_loss"))
    t.save(tmp_path / "amp.pt")
    loaded = make_trainer(loss="wgan_gp").load(tmp_path / "amp.pt")
    assert loaded.global_step == 4 and same(params(loaded.generator), params(t.generator))


def test_trainer_takes_a_config_and_update_changes_only_the_live_settings():
    cfg = train.TrainerConfig(loss="hinge", d_steps=2, batch_size=16)
    t = train.GANTrainer(nets.MLPGenerator(2, 1), nets.MLPDiscriminator(1), data.toy("mix1d", 64, seed=0),
                         config=cfg, device="cpu")
    assert t.loss.name == "hinge" and t.config.d_steps == 2 and t.config.device == "cpu"
    t.update(loss="least_squares", lr_g=5e-3, d_steps=1)
    assert t.loss.d_loss is losses.least_squares_d_loss and t.opt_g.param_groups[0]["lr"] == 5e-3
    with pytest.raises(ValueError, match="lr_d must be a positive number"):
        t.update(lr_d=-1.0)
    with pytest.raises(ValueError, match="update\\(\\) can change"):
        t.update(batch_size=3)


# ---- the learning-rate decay ---------------------------------------------------------------------

TINY_TOY = dict(width=8, depth=1, batch_size=16, num_data=200)


def test_lr_decay_lowers_the_learning_rates_linearly_then_restores_them():
    t = recipes.toy_trainer("ring8", seed=0, device="cpu", recipe=recipes.TOY_RECIPES["ring8"].replace(**TINY_TOY, lr_decay=0.5))
    base = t.opt_d.param_groups[0]["lr"]
    seen, step = [], t.step

    def spy():
        seen.append((t.opt_d.param_groups[0]["lr"], t.opt_g.param_groups[0]["lr"]))
        return step()

    t.step = spy
    t.fit(steps=10, progress=False)
    factors = [0.05 + 0.95 * min(1.0, (10 - n) / 5) for n in range(10)]
    assert [d for d, _ in seen] == pytest.approx([base * f for f in factors])
    assert [g for _, g in seen] == pytest.approx([t.config.lr_g * f for f in factors])
    assert t.opt_d.param_groups[0]["lr"] == base and t.global_step == 10
    with pytest.raises(ValueError, match=r"lr_decay must be a number in \[0, 1\], got 1.5"):
        recipes.TOY_RECIPES["ring8"].replace(lr_decay=1.5)
    with pytest.raises(ValueError, match="lr_decay=0.5 needs a step count"):
        t.fit(seconds=1.0, progress=False)


# ---- image GANs: weight clipping, the one-pass discriminator, the weight average -----------------

TINY_IMAGE = {kind: r.replace(width_g=4, width_d=4, latent_dim=8) for kind, r in recipes.IMAGE_RECIPES.items()}


def tiny_image_trainer(kind="dcgan", **overrides):
    return recipes.image_trainer(kind, seed=0, device="cpu", recipe=TINY_IMAGE[kind], batch_size=8, **overrides)


def test_weight_clipping_keeps_every_critic_weight_in_range():
    trainer = tiny_image_trainer("dcgan", loss="wasserstein", clip_value=0.01, lr_d=0.1)
    trainer.step_d()
    weights = torch.cat([p.detach().flatten() for p in trainer.discriminator.parameters()])
    assert weights.abs().max() <= 0.01 and (weights.abs() == 0.01).any()
    with pytest.raises(ValueError, match="clip_value must be a finite number >= 0, got -1"):
        tiny_image_trainer(clip_value=-1)


def test_one_pass_over_real_and_fake_equals_two_passes():
    trainer = tiny_image_trainer()
    assert not trainer._d_has_batch_norm
    x, x_fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    real, fake = trainer._d_logits(x, x_fake, None)
    torch.testing.assert_close(real, trainer.discriminator(x))
    torch.testing.assert_close(fake, trainer.discriminator(x_fake))


def test_batch_norm_discriminator_sees_real_and_fake_separately():
    torch.manual_seed(0)
    g = nets.DCGANGenerator(latent_dim=8, width=4)
    d = nets.DCGANDiscriminator(width=4, batch_norm=True)
    trainer = train.GANTrainer(g, d, torch.rand(32, 1, 28, 28) * 2 - 1, batch_size=8, device="cpu")
    assert trainer._d_has_batch_norm
    x, x_fake = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28) + 3
    real, fake = trainer._d_logits(x, x_fake, None)
    torch.testing.assert_close(real, d(x))  # normalised with the real batch's own statistics
    torch.testing.assert_close(fake, d(x_fake))


def test_weight_average_follows_the_generator_and_is_what_samples_come_from(tmp_path):
    trainer = tiny_image_trainer(ema=0.5)
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
    trainer.save(tmp_path / "c.pt")
    resumed = tiny_image_trainer(ema=0.5).load(tmp_path / "c.pt")
    torch.testing.assert_close(resumed.sample(4, seed=3), trainer.sample(4, seed=3))
    with pytest.raises(ValueError, match=r"ema must be a number in \[0, 1\), got 1"):
        tiny_image_trainer(ema=1)
