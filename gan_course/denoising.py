r"""What diffusion and flow-matching models share: a network of (x, t), the data's scale, the
trainer (the course's loop with a weight average) and the weights file.

Both families turn noise into data by many small steps of a learned network
(:mod:`gan_course.diffusion`: DDPM, Ho et al., 2020; :mod:`gan_course.flow_matching`: Lipman et
al., 2023; Liu et al., 2023). Each model here

- standardises its data, :math:`\tilde x = (x - m) / s` with the training set's mean and one
  overall scale, so a single noise level means the same on ring8 and on grid25;
- samples ``n`` points from a seed with a chosen number of steps, optionally returning the whole
  path from noise (``path[0]``) to data (``path[-1]``);
- shows a *field* at a progress time :math:`\tau \in [0, 1]` (0 = noise, 1 = data): the flow's
  velocity, or the diffusion's score, the direction in which samples move.

``DenoiserTrainer`` trains any of them with ``loop.fit_loop`` (progress bar, time budget, clean
stop), ``loop.check_finite`` before every update and ``loop.update_weight_average`` (EMA); samples
are drawn from the average.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from gan_course import checkpoints
from gan_course.loop import LRSchedule, check_finite, cosine_decay, fit_loop, make_optimizer, update_weight_average
from gan_course.samplers import DeviceSampler, training_samples
from gan_course.time_nets import build_network
from gan_course.validate import require_in_range, require_int, require_positive_int, require_positive_number


def require_time(t: object, name: str = "t") -> float:
    """A progress time as a float in [0, 1] (0 = noise, 1 = data); else a ValueError naming ``name``."""
    return require_in_range(name, t, 0.0, 1.0)


class IterativeGenerator(nn.Module):
    """Base of the diffusion and flow models: a network ``net(x, t)`` and the data's scale.

    Subclasses give ``loss(x, generator)`` (what ``fit_model``/``DenoiserTrainer`` minimise),
    ``_sample_path(z, steps, method, gen, keep_path)`` in standardised units, ``field(x, t)`` and
    ``evaluations(steps, method)`` (network calls per sample).
    """

    kind = "iterative"
    methods: tuple[str, ...] = ()
    default_steps = 50

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.sample_shape = tuple(net.sample_shape)  # the shape of one sample, e.g. (2,) or (1, 28, 28)
        self.register_buffer("shift", torch.zeros(()))  # m: the data's mean (per dimension once fitted)
        self.register_buffer("scale", torch.ones(()))  # s: one overall standard deviation

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def set_scaling(self, x: torch.Tensor) -> "IterativeGenerator":
        r"""Standardise with ``x``'s per-dimension mean and overall standard deviation
        :math:`s = \sqrt{\tfrac1D \sum_j \mathrm{Var}(x_j)}` (one number, so shapes keep their aspect)."""
        x = training_samples(x, "x").detach().to(self.device)
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"x must hold samples of shape {self.sample_shape} for this network, got {tuple(x.shape[1:])}")
        self.shift = x.mean(0)  # (...,) one mean per dimension
        self.scale = (x - self.shift).pow(2).mean().sqrt().clamp_min(1e-8)  # ()
        return self

    def to_model_units(self, x: torch.Tensor) -> torch.Tensor:
        """Data to the standardised units the network sees."""
        return (x - self.shift) / self.scale

    def to_data_units(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised units back to data."""
        return x * self.scale + self.shift

    def check_method(self, method: str | None) -> str:
        if method is None:
            return self.methods[0]
        if method not in self.methods:
            raise ValueError(f"method must be one of {', '.join(map(repr, self.methods))} for a {self.kind} model, "
                             f"got {method!r}")
        return method

    @torch.no_grad()
    def sample(self, n: int, steps: int | None = None, method: str | None = None, seed: int | None = 0,
               return_path: bool = False) -> torch.Tensor:
        """``n`` samples in data units, from noise drawn with ``seed``, in ``steps`` steps.

        Args:
            n: how many samples.
            steps: sampler steps (at least 1; default ``default_steps``).
            method: the sampler (``methods[0]`` by default).
            seed: seeds the starting noise (and a stochastic sampler's noise); None: torch's stream.
            return_path: also return every intermediate state.

        Returns:
            ``(n, ...)`` samples, or the path ``(steps + 1, n, ...)`` from noise (row 0) to samples.
        """
        n = require_positive_int("n", n)
        steps = self.default_steps if steps is None else require_positive_int("steps", steps)
        method = self.check_method(method)
        gen = torch.Generator(device=self.device)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(seed))
        z = torch.randn((n, *self.sample_shape), generator=gen, device=self.device)  # (n, ...) standard normal
        was_training = self.training
        self.eval()
        try:
            out = self._sample_path(z, steps, method, gen, return_path)
        finally:
            self.train(was_training)
        return self.to_data_units(out)

    def _sample_path(self, z: torch.Tensor, steps: int, method: str, gen: torch.Generator,
                     keep_path: bool) -> torch.Tensor:
        raise NotImplementedError

    def field(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """The direction samples move at progress time ``t`` (0 = noise, 1 = data), in data units."""
        raise NotImplementedError

    def evaluations(self, steps: int, method: str | None = None) -> int:
        """Network evaluations per sample for ``steps`` steps of ``method``."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What a weights file needs to rebuild the model (besides the tensors)."""
        return {"kind": self.kind, "net": type(self.net).__name__, "net_options": dict(self.net.options)}


# --------------------------------------------------------------------------------------------
# Training: the course's loop, a weight average, one history row per step
# --------------------------------------------------------------------------------------------


class DenoiserTrainer:
    r"""Adam on ``model.loss`` over minibatches of ``x``, with an exponential moving average of the
    weights (Ho et al., 2020 sample from the average; so does the course's DCGAN).

    Args:
        model: a diffusion or flow model; its scaling is set from ``x`` unless ``set_scaling=False``.
        x: the training samples (N, ...), in data units.
        lr: Adam's learning rate.
        batch_size: samples per update (at most N).
        ema: the average's decay (0 turns it off: samples come from the last weights).
        seed: seeds the minibatch order and the model's noise (t and epsilon).
        device: where training runs.
        set_scaling: standardise with ``x`` (False keeps the model's scaling, e.g. a loaded one).

    Attributes:
        history: ``{"step": [...], "loss": [...]}``, one row per update.
        sampling_model: the average when there is one, else the model.
    """

    def __init__(self, model: IterativeGenerator, x: torch.Tensor, lr: float = 1e-3, batch_size: int = 256,
                 ema: float = 0.999, seed: int = 0, device: str | torch.device = "cpu",
                 set_scaling: bool = True) -> None:
        x = training_samples(x, "x")
        self.model = model.to(device)
        if set_scaling:
            model.set_scaling(x)
        self.lr = require_positive_number("lr", lr)
        self.ema = require_in_range("ema", ema, 0, 1, include_high=False)
        self.sampler = DeviceSampler(x, batch_size=require_int("batch_size", batch_size, 1, len(x)),
                                     device=model.device, seed=seed)
        self.generator = torch.Generator(device=model.device).manual_seed(int(seed) + 1)
        self.optimizer = make_optimizer("adam", model.parameters(), self.lr, (0.9, 0.999), model.device)
        self.ema_model = copy.deepcopy(model).requires_grad_(False).eval() if self.ema > 0 else None
        self.history: dict[str, list[float]] = {"step": [], "loss": []}
        self.global_step = 0
        self.interrupted = False

    @property
    def sampling_model(self) -> IterativeGenerator:
        return self.ema_model if self.ema_model is not None else self.model

    def step(self) -> dict[str, float]:
        """One update on one minibatch; returns ``{"loss": ...}``."""
        self.model.train()
        xb = next(self.sampler)
        loss, values = self.model.loss(xb, self.generator)
        check_finite(values, self.global_step + 1, hint="Lower lr, or check the data for NaNs.")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema_model is not None:
            update_weight_average(self.ema_model, self.model, self.ema, self.global_step)
        self.global_step += 1
        self.history["step"].append(self.global_step)
        self.history["loss"].append(values["loss"])
        return values

    def fit(self, steps: int | None = None, seconds: float | None = None, progress: bool = True,
            lr_decay: bool = False) -> "DenoiserTrainer":
        """``step`` until ``steps`` updates are done or ``seconds`` have passed (``loop.fit_loop``).

        ``lr_decay``: the learning rate follows ``loop.cosine_decay`` over the ``steps`` of this call
        (it needs ``steps``); a smaller step at the end places samples more precisely.
        """
        last = lambda: {"loss": f"{self.history['loss'][-1]:.3f}"} if self.history["loss"] else {}  # noqa: E731
        schedule = None
        if lr_decay:
            if steps is None:
                raise ValueError("lr_decay needs steps (the schedule spans them), got steps=None")
            schedule = LRSchedule([self.optimizer], cosine_decay, require_positive_int("steps", steps))
            start = self.global_step
            step_fn = lambda: (schedule.apply(self.global_step - start), self.step())  # noqa: E731
        try:
            _, self.interrupted = fit_loop(step_fn if schedule else self.step, steps, seconds, progress,
                                           desc=type(self.model).__name__, postfix=last)
        finally:
            if schedule is not None:
                schedule.restore()
            self.model.eval()
        return self


# --------------------------------------------------------------------------------------------
# Weights files (one checkpoint kind per model family)
# --------------------------------------------------------------------------------------------


def save_weights(model: IterativeGenerator, path: str | Path, info: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write the model (its sampling weights) as a checkpoint of kind ``model.kind``.

    ``info`` holds plain provenance (data, steps, seconds, seed, command); ``extra`` more tensors
    (e.g. the autoencoder a latent model decodes with).
    """
    payload = {**model.describe(), "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "info": dict(info or {}), **(extra or {})}
    return checkpoints.save(path, model.kind, payload)


def load_payload(path: str | Path, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The payload of a weights file of one of ``kinds``, with a clear error for any other file."""
    return checkpoints.load_weights(path, kinds, " or ".join(kinds))


def rebuild(payload: dict[str, Any], cls: type[IterativeGenerator], **options: Any) -> IterativeGenerator:
    """The model a payload describes, its weights loaded, in eval mode on the CPU."""
    net = build_network(payload["net"], payload["net_options"])
    model = cls(net, **options)
    state = payload["state"]
    model.shift = torch.zeros_like(state["shift"])  # the buffers take the saved shapes first
    model.scale = torch.zeros_like(state["scale"])
    checkpoints.check_state_dict_matches(model, state, cls.__name__)
    model.load_state_dict(state)
    return model.eval()


def finite_or_nan(value: float) -> float:
    """``value`` if finite, else NaN (JSON writers turn NaN into null)."""
    return value if math.isfinite(value) else math.nan
