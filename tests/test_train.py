"""GANTrainer: steps of each player, exact resume, NaN guard, interrupts, bad input."""

import copy
import math

import pytest
import torch

from gan_course import data, losses, nets, runs, train
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
    t.fit(steps=5, progress=False)
    assert t.global_step == 5
    assert all(torch.isfinite(p).all() for p in t.generator.parameters())


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


def test_fit_with_time_budget_and_progress_bar():
    t = make_trainer()
    t.fit(seconds=0.2, progress=True)
    assert t.global_step >= 1


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
    ({"optimizer_d": "adagrad"}, "optimizer_d must be one of 'adam'.*got 'adagrad'"),
    ({"lr_d": 0.0}, "lr_d must be a positive number, got 0.0"),
    ({"lr_g": -1e-3}, "lr_g must be a positive number, got -0.001"),
    ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
    ({"d_steps": 0}, "d_steps must be a positive int, got 0"),
    ({"betas": (0.5, 1.5)}, "betas"),
    ({"r1_weight": -1.0}, "r1_weight must be a finite number >= 0, got -1.0"),
    ({"colour": "red"}, "unknown trainer options \\['colour'\\]"),
])
def test_bad_arguments(kwargs, match):
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


def test_history_json_is_strict():
    t = make_trainer()
    t.step_d()
    text = runs.history_to_json(t.history)
    assert "NaN" not in text and "null" in text


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


def test_generator_gradient_norm_saturating_vanishes_when_d_is_strong():
    g = frozen_gaussian_generator(6.0, 0.5)  # far from the data
    d = nets.MLPDiscriminator(in_dim=1, width=32)
    t = train.GANTrainer(g, d, data.toy("mix1d", 2000, seed=0), "minimax", device="cpu", lr_d=3e-3,
                         batch_size=256)
    before = params(g)
    for _ in range(150):
        t.step_d()
    sat = train.generator_gradient_norm(g, d, losses.saturating_g_loss)
    ns = train.generator_gradient_norm(g, d, losses.nonsaturating_g_loss)
    assert ns > 50 * sat
    assert same(params(g), before) and all(p.grad is None for p in g.parameters())


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
    make_trainer(loss="wgan_gp").load(tmp_path / "amp.pt")


def test_config_object_and_update():
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
