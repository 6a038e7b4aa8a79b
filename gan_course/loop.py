"""The training machinery every model of the course shares: one loop, one NaN guard, one schedule.

``fit_loop`` calls a step function until a step count or a time budget runs out, with a
progress bar and a clean stop on the stop button (KeyboardInterrupt); ``check_finite`` stops a
run whose loss went NaN/inf before the update that would spread it; ``LRSchedule`` scales the
learning rates of some optimizers step by step and puts them back afterwards;
``make_optimizer`` builds an optimizer by name. The GAN trainer, the VAE and the classifier
are each a step function handed to ``fit_loop``::

    done, interrupted = fit_loop(trainer.step, steps=2000, desc="GAN")
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch

from gan_course.samplers import DeviceSampler
from gan_course.validate import (require_budget, require_choice, require_in_range, require_int, require_positive_int,
                                 require_positive_number)

OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")


class NonFiniteLossError(FloatingPointError):
    """A loss or gradient became NaN/inf; the networks keep their last good state."""


def check_finite(values: dict[str, float], step: int, hint: str = "") -> None:
    """Raise ``NonFiniteLossError`` naming the first NaN/inf entry of ``values``.

    >>> check_finite({"loss": 1.0}, step=3)
    >>> check_finite({"loss": float("nan")}, step=3)
    Traceback (most recent call last):
    ...
    gan_course.loop.NonFiniteLossError: loss became nan at step 3; training stopped and the networks keep their last good state (before this update).
    """
    for name, value in values.items():
        if not math.isfinite(value):
            raise NonFiniteLossError(
                f"{name} became {value} at step {step}; training stopped and the networks keep "
                f"their last good state (before this update). {hint}".strip())


class DeferredInterrupt:
    """While active, Ctrl-C (SIGINT, Jupyter's stop button) asks the loop to stop instead of
    raising ``KeyboardInterrupt`` in the middle of a step.

    The step in flight completes, then the loop stops at the step boundary, so a run that is
    interrupted and then continued is the same as one that was not. A second Ctrl-C before the
    boundary raises at once (``requested_twice``): the user insists, and the state may be
    half-updated. Outside the main thread (where Python delivers no signal) it does nothing.

        with DeferredInterrupt() as interrupt:
            while not interrupt.requested:
                step()
    """

    def __init__(self) -> None:
        self.requested = False
        self.requested_twice = False
        self._previous = None

    def __enter__(self) -> "DeferredInterrupt":
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
            except (ValueError, OSError):  # e.g. an embedded interpreter without signals
                self._previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            self.requested_twice = True
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def fit_loop(step_fn: Callable[[], Any], steps: int | None = None, seconds: float | None = None,
             progress: bool = True, callbacks: Sequence[Callable[[], Any]] = (),
             desc: str = "training", postfix: Callable[[], dict] | None = None) -> tuple[int, bool]:
    """Call ``step_fn`` until ``steps`` calls are done or ``seconds`` have passed.

    Each call is followed by every callback. Ctrl-C (the stop button in Jupyter) is deferred
    to the end of the step in flight (``DeferredInterrupt``), and a ``KeyboardInterrupt``
    raised by a callback also ends the loop between two steps: either way the caller's state
    is that of a whole number of steps, and calling again continues exactly.

    Args:
        step_fn: one unit of work.
        steps: how many calls at most (None: no limit).
        seconds: wall-clock budget (None: no limit). At least one of the two must be given.
        progress: show a ``tqdm.auto`` bar.
        callbacks: called with no argument after each step.
        desc: the bar's label.
        postfix: returns a dict shown on the bar (read every few steps).

    Returns:
        ``(steps done, interrupted)``.
    """
    steps, seconds = require_budget(steps, seconds)
    bar = _progress_bar(steps, progress, desc)
    start, done, interrupted = time.perf_counter(), 0, False
    try:
        with DeferredInterrupt() as interrupt:
            try:
                while (steps is None or done < steps) and (seconds is None or time.perf_counter() - start < seconds):
                    step_fn()
                    done += 1
                    if bar is not None:
                        bar.update(1)
                        if postfix is not None and done % 10 == 0:
                            bar.set_postfix(postfix(), refresh=False)
                    for callback in callbacks:
                        callback()
                    if interrupt.requested:
                        raise KeyboardInterrupt
            except KeyboardInterrupt:
                interrupted = True
                if interrupt.requested_twice:
                    print(f"Interrupted twice, in the middle of step {done + 1}: that step may be half done. Go "
                          "on only from a checkpoint.", file=sys.stderr)
                    raise
                print(f"Interrupted after {done} whole steps (the step in flight was completed); call again to "
                      "go on exactly where it stopped.", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    return done, interrupted


def _progress_bar(total: int | None, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm  # tqdm is a dependency; imported late to keep imports light

    return tqdm(total=total, desc=desc, leave=False)


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float],
                   device: torch.device) -> torch.optim.Optimizer:
    """An optimizer by name; Adam(W) is fused on CUDA and multi-tensor (foreach) elsewhere."""
    require_choice("optimizer", name, OPTIMIZERS)
    params = list(params)
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        fast_path = {"fused": True} if device.type == "cuda" else {"foreach": True}
        return cls(params, lr=lr, betas=betas, **fast_path)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, foreach=True)
    return torch.optim.SGD(params, lr=lr, foreach=True)


@torch.no_grad()
def update_weight_average(average: torch.nn.Module, model: torch.nn.Module, decay: float, t: int) -> None:
    r"""One step of an exponential moving average of ``model``'s weights, kept in ``average``.

    .. math:: \bar\theta \leftarrow \beta_t \bar\theta + (1 - \beta_t)\,\theta,\qquad
              \beta_t = \min\big(\beta, \tfrac{1 + t}{10 + t}\big)

    after t updates of the model: the short memory at the start forgets the random initial
    weights quickly. Buffers (batch-norm statistics) are copied as they are. An average of the
    recent iterates samples better than the last one (Yazici et al., 2019).
    """
    beta = min(decay, (1 + t) / (10 + t))
    torch._foreach_lerp_(list(average.parameters()), list(model.parameters()), 1 - beta)
    for average_buffer, buffer in zip(average.buffers(), model.buffers()):
        average_buffer.copy_(buffer)


class Rollback:
    """A copy of what one step may change, taken before it runs, to put back if it fails.

    ``take(tensors, states)`` copies the tensors (weights, buffers, optimizer moments) into
    buffers kept from one step to the next, so a step costs one batched copy, and records the
    other states through ``(get, set)`` pairs (random streams, counters); ``restore()`` puts
    everything back, so a failed step leaves no trace.
    """

    def __init__(self) -> None:
        self._live: list[torch.Tensor] = []
        self._copies: list[torch.Tensor] = []
        self._states: list[tuple[Callable[[Any], None], Any]] = []

    @torch.no_grad()
    def take(self, tensors: Iterable[torch.Tensor], states: Iterable[tuple[Callable[[], Any], Callable[[Any], None]]]
             ) -> None:
        live = list(tensors)
        if len(live) == len(self._live) and all(a is b for a, b in zip(live, self._live)):
            if live:
                torch._foreach_copy_(self._copies, live)
        else:  # the first step, or new tensors (an optimizer makes its moments at its first update)
            self._live, self._copies = live, [t.detach().clone() for t in live]
        self._states = [(set_state, get_state()) for get_state, set_state in states]

    @torch.no_grad()
    def restore(self) -> None:
        if self._live:
            torch._foreach_copy_(self._live, self._copies)
        for set_state, value in self._states:
            set_state(value)


# --------------------------------------------------------------------------------------------
# Learning-rate schedules
# --------------------------------------------------------------------------------------------


def linear_decay(fraction: float) -> Callable[[int, int], float]:
    r"""Constant, then a linear fall to 5 % over the last ``fraction`` of the T steps.

    .. math:: f(t) = 0.05 + 0.95 \max\big(0, \min(1, \tfrac{T - t}{\lambda T})\big)

    >>> f = linear_decay(0.5)
    >>> [round(f(t, 10), 3) for t in (0, 5, 8, 10)]
    [1.0, 1.0, 0.43, 0.05]
    """
    fraction = require_in_range("lr_decay", fraction, 0, 1)
    if fraction == 0:
        return lambda t, total: 1.0
    return lambda t, total: 0.05 + 0.95 * max(0.0, min(1.0, (total - t) / (fraction * total)))


def cosine_decay(t: int, total: int) -> float:
    r"""A cosine from 1 at t = 0 to 0 at t = T: :math:`f(t) = \tfrac12 (1 + \cos(\pi t / T))`."""
    return 0.5 * (1 + math.cos(math.pi * t / total))


class LRSchedule:
    """Scale the learning rates of ``optimizers`` by ``factor(t, total)`` before step t.

    The learning rates in force when the schedule is made are its base; ``restore`` puts them
    back (use it in a ``finally``), so a scheduled run leaves the optimizers as it found them.

    Args:
        optimizers: the optimizers whose parameter groups follow the schedule.
        factor: ``factor(t, total) -> float``, e.g. ``linear_decay(0.5)`` or ``cosine_decay``.
        total: the number of steps the schedule spans.
    """

    def __init__(self, optimizers: Sequence[torch.optim.Optimizer], factor: Callable[[int, int], float],
                 total: int) -> None:
        self.groups = [group for opt in optimizers for group in opt.param_groups]
        self.base = [group["lr"] for group in self.groups]
        self.factor, self.total = factor, require_positive_int("total", total)

    def apply(self, t: int) -> None:
        """Set every group's learning rate to its base times ``factor(t, total)``."""
        scale = self.factor(t, self.total)
        for group, lr in zip(self.groups, self.base):
            group["lr"] = lr * scale

    def restore(self) -> None:
        """Put the base learning rates back."""
        for group, lr in zip(self.groups, self.base):
            group["lr"] = lr


# --------------------------------------------------------------------------------------------
# Minibatch training of a model with a loss: the VAE, and any model added later
# --------------------------------------------------------------------------------------------


@dataclass
class FitState:
    """What a ``fit_model`` run leaves behind; pass it back to continue exactly."""

    optimizer: torch.optim.Optimizer  # Adam, with its moments
    sampler: DeviceSampler  # the minibatch stream, with its position
    generator: torch.Generator  # the model's own noise (e.g. the VAE's reparameterization)
    history: dict[str, list[float]] = field(default_factory=dict)  # per step: what model.loss reports
    step: int = 0  # updates done so far, over all calls
    interrupted: bool = False  # did the last call end by KeyboardInterrupt?

    def state_dict(self) -> dict[str, Any]:
        """The optimizer, the minibatch position, the noise stream and the step (for a checkpoint)."""
        return {"optimizer": self.optimizer.state_dict(), "sampler": self.sampler.state_dict(),
                "batch_size": self.sampler.batch_size, "generator": self.generator.get_state(), "step": self.step}

    @classmethod
    def restore(cls, saved: dict[str, Any], model: torch.nn.Module, x: torch.Tensor,
                history: dict[str, list[float]]) -> "FitState":
        """The state ``state_dict`` saved, rebuilt around ``model`` and its training data ``x``."""
        device = next(model.parameters()).device
        sampler = DeviceSampler(x, batch_size=int(saved["batch_size"]), seed=0)
        sampler.load_state_dict(saved["sampler"])
        optimizer = make_optimizer("adam", model.parameters(), 1e-3, (0.9, 0.999), device)
        optimizer.load_state_dict(saved["optimizer"])
        generator = torch.Generator(device=device)
        generator.set_state(saved["generator"].cpu())
        return cls(optimizer, sampler, generator, {k: list(v) for k, v in history.items()}, int(saved["step"]))


def fit_model(model: torch.nn.Module, x: torch.Tensor, steps: int | None = None, seconds: float | None = None,
              lr: float = 1e-3, batch_size: int | None = None, seed: int = 0, progress: bool = True,
              state: FitState | None = None, loss_options: Callable[[int], dict] | None = None,
              desc: str | None = None) -> FitState:
    r"""Minimise ``model.loss`` by Adam on minibatches of ``x``, a step at a time on ``fit_loop``.

    The model's ``loss(x_batch, generator, **loss_options(step)) -> (loss, values)`` gives the
    tensor to minimise and a dict of floats to record; every value goes through ``check_finite``
    *before* the update, so a NaN stops training with the weights of the last good step.

    Args:
        model: the model, already on its device (``x`` is moved there).
        x: the training data, first dimension the sample index, already checked.
        steps, seconds: stop after this many updates or this much wall time (give one or both).
        lr: Adam's learning rate, betas (0.9, 0.999).
        batch_size: samples per update, at most ``len(x)`` (a larger one is refused, not shrunk);
            None: 128, or ``len(x)`` when the data is smaller.
        seed: seeds the minibatch order and the model's noise.
        progress: show a progress bar.
        state: a previous call's result, to continue (same optimizer, order and noise).
        loss_options: ``step -> dict`` of keyword arguments for ``model.loss`` (e.g. a KL weight).
        desc: the progress bar's label (default: the model's class name).

    Returns:
        The ``FitState``; ``state.history`` holds one row per step.
    """
    steps, seconds = require_budget(steps, seconds)
    lr = require_positive_number("lr", lr)
    device = next(model.parameters()).device
    if state is None:
        if batch_size is None:  # the default: 128, or the whole data when it is smaller
            batch_size = min(128, len(x))
        batch_size = require_int("batch_size", batch_size, 1, len(x))  # a size asked for is never shrunk
        state = FitState(optimizer=make_optimizer("adam", model.parameters(), lr, (0.9, 0.999), device),
                         sampler=DeviceSampler(x, batch_size=batch_size, device=device, seed=seed),
                         generator=torch.Generator(device=device).manual_seed(int(seed) + 1))
    elif state.sampler.x.shape != x.shape:
        raise ValueError(f"state was made for data of shape {tuple(state.sampler.x.shape)}, got x of shape "
                         f"{tuple(x.shape)}; pass the same x to continue, or state=None to start afresh")
    model.train()

    def one_step() -> None:
        xb = next(state.sampler)
        options = loss_options(state.step) if loss_options is not None else {}
        loss, values = model.loss(xb, state.generator, **options)
        check_finite(values, state.step + 1, hint="Lower lr, or check the data for NaNs.")
        state.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        state.optimizer.step()
        state.step += 1
        for key, value in values.items():
            state.history.setdefault(key, []).append(value)

    last = lambda: {k: f"{v[-1]:.1f}" for k, v in state.history.items() if v}  # noqa: E731
    try:
        _, state.interrupted = fit_loop(one_step, steps, seconds, progress, desc=desc or type(model).__name__,
                                        postfix=last)
    finally:
        model.eval()
    return state
