"""gan_course.loop: the schedules against their closed forms, fit_loop's stopping rules and clean
interrupts, the NaN guard, the weight average against its formula, and fit_model end to end."""

import copy
import math
import re

import pytest
import torch

from gan_course import loop, train
from gan_course.loop import (FitState, LRSchedule, NonFiniteLossError, check_finite, cosine_decay, fit_loop,
                             fit_model, linear_decay, make_optimizer, update_weight_average)

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- schedules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.25, 0.5, 1.0])
def test_linear_decay_is_flat_then_falls_linearly_to_5_percent(fraction):
    f = linear_decay(fraction)
    total = 40
    start = total - fraction * total  # the fall begins here
    for t in range(total + 1):
        if t <= start:
            expected = 1.0
        else:  # a straight line from 1 at `start` to 0.05 at `total`
            expected = 1.0 - 0.95 * (t - start) / (total - start)
        assert f(t, total) == pytest.approx(expected, abs=1e-12), t


def test_linear_decay_zero_is_constant_and_bad_fractions_are_refused():
    f = linear_decay(0)
    assert [f(t, 10) for t in (0, 5, 10)] == [1.0, 1.0, 1.0]
    for bad in (-0.1, 1.5, math.nan, True):
        with pytest.raises(ValueError, match=r"^lr_decay must be a number in \[0, 1\], got "):
            linear_decay(bad)


def test_cosine_decay_closed_form_values():
    assert cosine_decay(0, 12) == pytest.approx(1.0)
    assert cosine_decay(4, 12) == pytest.approx(0.75)  # (1 + cos(pi/3)) / 2
    assert cosine_decay(6, 12) == pytest.approx(0.5)
    assert cosine_decay(8, 12) == pytest.approx(0.25)
    assert cosine_decay(12, 12) == pytest.approx(0.0, abs=1e-15)
    values = [cosine_decay(t, 12) for t in range(13)]
    assert all(a > b for a, b in zip(values, values[1:]))  # strictly falling


def two_optimizers():
    a = torch.nn.Linear(2, 1)
    b = torch.nn.Linear(2, 1)
    opt_a = torch.optim.SGD([{"params": [a.weight], "lr": 0.1}, {"params": [a.bias], "lr": 0.3}])
    opt_b = torch.optim.Adam(b.parameters(), lr=0.2)
    return opt_a, opt_b


def lrs(*optimizers):
    return [group["lr"] for opt in optimizers for group in opt.param_groups]


def test_lr_schedule_scales_every_group_from_its_base_and_restores_it():
    opt_a, opt_b = two_optimizers()
    schedule = LRSchedule([opt_a, opt_b], lambda t, total: 1 - t / total, total=4)
    schedule.apply(1)
    assert lrs(opt_a, opt_b) == pytest.approx([0.075, 0.225, 0.15])
    schedule.apply(3)  # from the base, not compounded on the previous scale
    assert lrs(opt_a, opt_b) == pytest.approx([0.025, 0.075, 0.05])
    schedule.restore()
    assert lrs(opt_a, opt_b) == [0.1, 0.3, 0.2]


def test_lr_schedule_with_linear_decay_matches_the_formula_step_by_step():
    opt_a, opt_b = two_optimizers()
    schedule = LRSchedule([opt_b], linear_decay(0.5), total=10)
    seen = []
    for t in range(10):
        schedule.apply(t)
        seen.append(opt_b.param_groups[0]["lr"])
    expected = [0.2 * (0.05 + 0.95 * min(1.0, (10 - t) / 5)) for t in range(10)]
    assert seen == pytest.approx(expected)
    assert lrs(opt_a) == [0.1, 0.3]  # an optimizer outside the schedule is untouched
    schedule.restore()
    assert opt_b.param_groups[0]["lr"] == 0.2


def test_lr_schedule_needs_a_positive_total():
    with pytest.raises(ValueError, match="^total must be a positive int, got 0$"):
        LRSchedule(list(two_optimizers()), cosine_decay, total=0)


# ---- make_optimizer ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                       ("rmsprop", torch.optim.RMSprop), ("sgd", torch.optim.SGD)])
def test_make_optimizer_builds_the_named_optimizer_at_its_learning_rate(name, cls):
    net = torch.nn.Linear(3, 2)
    opt = make_optimizer(name, net.parameters(), 0.01, (0.5, 0.9), torch.device("cpu"))
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.01
    assert len(opt.param_groups[0]["params"]) == 2
    if name in ("adam", "adamw"):
        assert opt.param_groups[0]["betas"] == (0.5, 0.9) and opt.param_groups[0]["foreach"]


def test_make_optimizer_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="^optimizer must be one of 'adam', 'adamw', 'rmsprop', 'sgd'; got 'adagrad'$"):
        make_optimizer("adagrad", torch.nn.Linear(1, 1).parameters(), 0.1, (0.9, 0.99), torch.device("cpu"))


# ---- the NaN guard -------------------------------------------------------------------------------


def test_check_finite_names_the_first_bad_value_the_step_and_the_hint():
    check_finite({"loss": 1.0, "kl": -3.0}, step=2)  # finite: nothing happens
    with pytest.raises(NonFiniteLossError, match=re.escape(
            "kl became inf at step 7; training stopped and the networks keep their last good state (before "
            "this update). Lower lr.")):
        check_finite({"loss": 1.0, "kl": math.inf, "rec": math.nan}, step=7, hint="Lower lr.")
    with pytest.raises(NonFiniteLossError, match=r"^rec became nan at step 1; .*\(before this update\)\.$"):
        check_finite({"rec": math.nan}, step=1)
    with pytest.raises(NonFiniteLossError, match="d_loss became -inf"):
        check_finite({"d_loss": -math.inf}, step=1)


def test_non_finite_loss_error_is_one_class_under_both_import_paths():
    assert issubclass(NonFiniteLossError, FloatingPointError)
    assert train.NonFiniteLossError is loop.NonFiniteLossError
    assert train.check_finite is loop.check_finite and train.fit_loop is loop.fit_loop


# ---- fit_loop ------------------------------------------------------------------------------------


def test_fit_loop_runs_the_steps_and_calls_each_callback_after_each_step():
    events = []
    done, interrupted = fit_loop(lambda: events.append("step"), steps=3, progress=False,
                                 callbacks=[lambda: events.append("a"), lambda: events.append("b")])
    assert (done, interrupted) == (3, False)
    assert events == ["step", "a", "b"] * 3


class FakeClock:
    """time.perf_counter for the loop: advances only when a step runs."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_fit_loop_stops_when_the_time_budget_is_spent(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(loop.time, "perf_counter", clock)

    def step():
        clock.now += 1.0  # each step takes one second

    assert fit_loop(step, seconds=3.5, progress=False) == (4, False)  # starts at 0, 1, 2, 3 s; not at 4 s
    assert fit_loop(step, seconds=100, steps=2, progress=False) == (2, False)  # whichever ends first
    assert fit_loop(step, seconds=2.0, steps=50, progress=False) == (2, False)


def test_fit_loop_ends_cleanly_on_keyboard_interrupt_from_a_callback(capsys):
    calls = []

    def stop_at_3():
        if len(calls) == 3:
            raise KeyboardInterrupt

    done, interrupted = fit_loop(lambda: calls.append(1), steps=10, progress=False, callbacks=[stop_at_3])
    assert (done, interrupted, len(calls)) == (3, True, 3)
    assert "Interrupted after 3 whole steps" in capsys.readouterr().err


def test_fit_loop_does_not_count_a_step_interrupted_midway():
    calls = []

    def step():
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)

    assert fit_loop(step, steps=10, progress=False) == (2, True)


def test_fit_loop_lets_other_errors_through():
    def step():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fit_loop(step, steps=3, progress=False)


def test_fit_loop_progress_bar_shows_its_label_and_reads_the_postfix_every_ten_steps(capsys):
    reads = []

    def postfix():
        reads.append(1)
        return {"loss": "0.5"}

    assert fit_loop(lambda: None, steps=25, progress=True, desc="my run", postfix=postfix) == (25, False)
    assert "my run" in capsys.readouterr().err and len(reads) == 2  # at steps 10 and 20
    reads.clear()
    fit_loop(lambda: None, steps=25, progress=False, postfix=postfix)
    assert reads == []  # no bar, nothing to show


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give steps or seconds (or both), got neither"),
    ({"steps": 0}, "steps must be a positive int, got 0"),
    ({"steps": 2.5}, "steps must be a positive int, got 2.5"),
    ({"steps": True}, "steps must be a positive int, got True"),
    ({"seconds": -1}, "seconds must be a positive number, got -1"),
    ({"seconds": math.nan}, "seconds must be a positive number, got nan"),
])
def test_fit_loop_refuses_bad_budgets_before_any_step(kwargs, message):
    calls = []
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        fit_loop(lambda: calls.append(1), progress=False, **kwargs)
    assert calls == []


# ---- the weight average --------------------------------------------------------------------------


def average_pair():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    average = copy.deepcopy(model).requires_grad_(False)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
        model[1].running_mean.fill_(0.7)
        model[1].num_batches_tracked.fill_(5)
    return average, model


@pytest.mark.parametrize("decay, t, beta", [(0.999, 0, 0.1), (0.999, 1, 2 / 11), (0.5, 100, 0.5),
                                            (0.9, 80, 0.9), (0.95, 8, 0.5)])
def test_update_weight_average_follows_the_formula_with_its_warm_up(decay, t, beta):
    average, model = average_pair()
    before = [p.clone() for p in average.parameters()]
    update_weight_average(average, model, decay, t)
    for new, old, theta in zip(average.parameters(), before, model.parameters()):
        torch.testing.assert_close(new, beta * old + (1 - beta) * theta.detach())
    assert torch.equal(average[1].running_mean, torch.full((4,), 0.7))  # buffers are copied as they are
    assert average[1].num_batches_tracked.item() == 5


def test_update_weight_average_leaves_the_model_alone_and_records_no_graph():
    average, model = average_pair()
    before = [p.clone() for p in model.parameters()]
    update_weight_average(average, model, 0.9, 3)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert all(p.grad_fn is None for p in average.parameters())


# ---- fit_model -----------------------------------------------------------------------------------


class NoisyMean(torch.nn.Module):
    """A tiny model with the interface fit_model needs: loss(x, generator, **options) -> (loss, values).

    It learns the mean of x under squared error; its noise comes from the generator it is given."""

    latent_dim = 3

    def __init__(self):
        super().__init__()
        self.mean = torch.nn.Parameter(torch.zeros(3))
        self.steps_seen = []

    def loss(self, x, generator, scale=1.0, poison_from=None, step=None):
        noise = 0.01 * torch.randn(x.shape, generator=generator)
        loss = scale * ((x + noise - self.mean) ** 2).sum(1).mean()
        if poison_from is not None and step >= poison_from:
            loss = loss * math.nan
        return loss, {"loss": loss.item(), "distance": (self.mean.detach() - x.mean(0)).norm().item()}


def data(n=64):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(0)) + torch.tensor([2.0, -1.0, 0.5])


def test_fit_model_lowers_the_loss_and_records_one_row_per_step():
    model = NoisyMean()
    state = fit_model(model, data(), steps=150, lr=0.05, batch_size=16, progress=False)
    assert state.step == 150 and set(state.history) == {"loss", "distance"}
    assert all(len(v) == 150 for v in state.history.values())
    # from about 3 + |mean|^2 = 8.3 down to the variance of the data, 3
    assert sum(state.history["loss"][-10:]) < 0.5 * sum(state.history["loss"][:10])
    assert sum(state.history["distance"][-10:]) < 0.3 * sum(state.history["distance"][:10])
    torch.testing.assert_close(model.mean.detach(), data().mean(0), atol=0.15, rtol=0)
    assert not model.training and not state.interrupted


def test_fit_model_passes_loss_options_by_step():
    model = NoisyMean()
    seen = []

    def options(step):
        seen.append(step)
        return {"scale": 1.0 + step}

    state = fit_model(model, data(), steps=4, batch_size=8, progress=False, loss_options=options)
    assert seen == [0, 1, 2, 3] and state.step == 4


def test_fit_model_stops_on_nan_before_the_update_and_keeps_the_last_good_weights():
    model = NoisyMean()
    state = fit_model(model, data(), steps=3, lr=0.1, batch_size=8, progress=False)
    good = model.mean.detach().clone()
    with pytest.raises(NonFiniteLossError, match="loss became nan at step 4; .*Lower lr, or check the data"):
        fit_model(model, data(), steps=5, progress=False, state=state,
                  loss_options=lambda step: {"poison_from": 3, "step": step})
    assert torch.equal(model.mean.detach(), good)
    assert state.step == 3 and len(state.history["loss"]) == 3
    assert not model.training  # eval mode is restored on the way out


def test_fit_model_resumed_with_its_state_equals_one_longer_run():
    torch.manual_seed(0)
    straight, split = NoisyMean(), NoisyMean()
    a = fit_model(straight, data(), steps=11, lr=0.05, batch_size=8, seed=4, progress=False)
    b = fit_model(split, data(), steps=4, lr=0.05, batch_size=8, seed=4, progress=False)
    b = fit_model(split, data(), steps=7, lr=0.05, state=b, progress=False)
    assert torch.equal(straight.mean, split.mean)
    assert a.history == b.history and b.step == 11


def test_fit_state_round_trips_through_its_state_dict():
    torch.manual_seed(0)
    straight, split = NoisyMean(), NoisyMean()
    fit_model(straight, data(), steps=9, lr=0.05, batch_size=8, seed=2, progress=False)
    first = fit_model(split, data(), steps=5, lr=0.05, batch_size=8, seed=2, progress=False)
    saved = copy.deepcopy(first.state_dict())
    resumed_model = copy.deepcopy(split)
    resumed = FitState.restore(saved, resumed_model, data(), first.history)
    assert resumed.step == 5 and resumed.sampler.batch_size == 8 and resumed.history == first.history
    fit_model(resumed_model, data(), steps=4, state=resumed, progress=False)
    assert torch.equal(resumed_model.mean, straight.mean)


def test_fit_model_takes_a_batch_as_large_as_the_data_and_refuses_a_larger_one():
    state = fit_model(NoisyMean(), data(5), steps=2, batch_size=5, progress=False)
    assert state.sampler.batch_size == 5
    with pytest.raises(ValueError, match=re.escape("batch_size must be an int in [1, 5], got 6")):
        fit_model(NoisyMean(), data(5), steps=2, batch_size=6, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 1, "lr": -1.0}, "lr must be a positive number, got -1.0"),
    ({"steps": 1, "batch_size": 0}, "batch_size must be an int in [1, 64], got 0"),
    ({}, "give steps or seconds (or both), got neither"),
])
def test_fit_model_refuses_bad_arguments_before_any_update(kwargs, message):
    model = NoisyMean()
    with pytest.raises(ValueError, match=re.escape(message)):
        fit_model(model, data(), progress=False, **{"batch_size": 16, **kwargs})
    assert torch.equal(model.mean.detach(), torch.zeros(3))


def test_fit_model_refuses_a_state_made_for_other_data():
    model = NoisyMean()
    state = fit_model(model, data(), steps=1, batch_size=8, progress=False)
    with pytest.raises(ValueError, match=re.escape("state was made for data of shape (64, 3), got x of shape "
                                                   "(10, 3); pass the same x to continue")):
        fit_model(model, data(10), steps=1, progress=False, state=state)
