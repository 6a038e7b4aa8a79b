r"""Autoregressive models of binary images: the chain rule of probability made into a density.

Naive Bayes (notebook 02) assumed :math:`p(x) = \prod_j p(x_j)`. The chain rule needs no
assumption at all:

.. math:: p(x) = \prod_{j=1}^{D} p(x_j \mid x_{<j}), \qquad
    p(x_j = 1 \mid x_{<j}) = \sigma\big(\ell_j(x_{<j})\big),

so a model that predicts each pixel from the pixels *before it* (in raster order) is a
normalised density with an exact log-likelihood, computed for all pixels in one pass. Sampling
has no such shortcut: pixel j needs pixels 1..j-1 first, so it takes D sequential steps.

- :class:`FVSBN`, the fully visible sigmoid belief net (Neal, 1992; Frey, 1998): one logistic
  regression per pixel, :math:`\ell_j = b_j + \sum_{i<j} W_{ji} x_i`.
- :class:`MADE`, the masked autoencoder for distribution estimation (Germain, Gregor, Murray and
  Larochelle, 2015): a one-hidden-layer network whose weight masks keep output j blind to the
  inputs :math:`\ge j`, plus FVSBN's direct connections.

Both have ``log_prob``, ``bits_per_dim``, ``sample`` (pixel by pixel) and ``complete``;
:func:`fit_autoregressive` trains them, :func:`train_autoregressive` is the command-line run.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_course import checkpoints, metrics, storage
from gan_course.config import seed_everything, torch_generator, weights_path
from gan_course.likelihoods import bernoulli_log_likelihood
from gan_course.loop import FitState, fit_model
from gan_course.validate import (binary_rows, require_in_range, require_int, require_nonnegative_number,
                                 require_positive_int, require_seed)

CHECKPOINT_KIND = "autoregressive"
PRETRAINED_FILE = "autoregressive_mnist.pt"


# --------------------------------------------------------------------------------------------
# Masks (pure functions)
# --------------------------------------------------------------------------------------------


def hidden_degrees(num_hidden: int, num_dims: int) -> torch.Tensor:
    r"""MADE's degrees of the hidden units, spread evenly over :math:`1, \dots, D-1`.

    A unit of degree m sees inputs :math:`1..m` and feeds outputs :math:`> m` (the paper draws
    the degrees at random; evenly spread ones are reproducible without a seed).

    >>> hidden_degrees(4, 5).tolist()
    [1, 2, 3, 4]
    """
    num_hidden, num_dims = require_positive_int("num_hidden", num_hidden), require_int("num_dims", num_dims, 2)
    return 1 + torch.arange(num_hidden) * (num_dims - 1) // num_hidden  # (H,) in 1..D-1


def autoregressive_mask(in_degrees: torch.Tensor, out_degrees: torch.Tensor, strict: bool) -> torch.Tensor:
    r"""The (out, in) 0/1 mask that lets unit k see input d only when the degrees allow it.

    .. math:: M_{kd} = [\,m_\text{out}(k) \ge m_\text{in}(d)\,] \ \text{(hidden)}, \qquad
        M_{kd} = [\,m_\text{out}(k) > m_\text{in}(d)\,] \ \text{(output, strict)}

    The inputs have degrees :math:`1..D`; with ``strict=True`` between inputs and outputs it is
    the strictly lower-triangular mask of FVSBN.

    >>> autoregressive_mask(torch.arange(1, 4), torch.arange(1, 4), strict=True)
    tensor([[0., 0., 0.],
            [1., 0., 0.],
            [1., 1., 0.]])
    """
    out_deg, in_deg = out_degrees[:, None], in_degrees[None, :]  # (out, 1), (1, in)
    return (out_deg > in_deg if strict else out_deg >= in_deg).to(torch.float32)  # (out, in)


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each image of ``x`` (B, ..., H, W) moved by its own random offset of at most ``max_shift``
    pixels along each axis, the border filled with 0: data augmentation for 4,000 digits.

    >>> random_shift(torch.ones(3, 1, 4, 4), 0).sum().item()
    48.0
    """
    max_shift = require_int("max_shift", max_shift, 0)
    if max_shift == 0:
        return x
    s = max_shift
    offsets = torch.randint(-s, s + 1, (len(x), 2), generator=generator, device=x.device)  # (B, 2): dy, dx
    padded = F.pad(x, (s, s, s, s))  # (B, ..., H + 2s, W + 2s)
    out = torch.empty_like(x)
    h, w = x.shape[-2:]
    for dy, dx in itertools.product(range(-s, s + 1), repeat=2):
        rows = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).nonzero().squeeze(1)  # samples with this offset
        out[rows] = padded[rows, ..., s - dy:s - dy + h, s - dx:s - dx + w]
    return out


# --------------------------------------------------------------------------------------------
# The shared model: log-likelihood, sampling, completion
# --------------------------------------------------------------------------------------------


class BinaryAutoregressive(nn.Module):
    r"""What every autoregressive model of binary vectors shares; a subclass gives the logits.

    Subclasses implement ``logits(x)`` (all D conditionals in one pass) and, for fast sampling,
    ``_start(x)`` / ``_next_logit(cache, x, j)`` / ``_update(cache, x, j)``, which compute the
    logit of one pixel at a time from a cache that grows as the pixels are drawn.
    """

    def __init__(self, num_dims: int, event_shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.num_dims = require_int("num_dims", num_dims, 2)
        self.event_shape = tuple(event_shape) if event_shape is not None else (self.num_dims,)
        if math.prod(self.event_shape) != self.num_dims:
            raise ValueError(f"event_shape must hold num_dims={self.num_dims} values, got {self.event_shape}")

    # -- to implement ---------------------------------------------------------------------------
    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) logits of :math:`p(x_j = 1 \\mid x_{<j})` for (B, D) float input."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The constructor's arguments (a checkpoint rebuilds the model from them)."""
        raise NotImplementedError

    def _start(self, x: torch.Tensor) -> Any:
        return None

    def _next_logit(self, cache: Any, x: torch.Tensor, j: int) -> torch.Tensor:
        return self.logits(x)[:, j]  # the slow default: one whole pass per pixel

    def _update(self, cache: Any, x: torch.Tensor, j: int) -> Any:
        return cache

    # -- shared ---------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def check_binary(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """``x`` (N, ...) binary as a float (N, D) tensor on the model's device, D checked."""
        flat = binary_rows(x, name)
        if flat.shape[1] != self.num_dims:
            raise ValueError(f"{name} must have {self.num_dims} values per sample (shape (N, "
                             f"{', '.join(map(str, self.event_shape))})), got shape {tuple(x.shape)}")
        return flat.to(device=self.device, dtype=next(self.parameters()).dtype)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""Exact :math:`\log p(x) = \sum_j \log p(x_j \mid x_{<j})` per sample (N,), natural log."""
        flat = self.check_binary(x)
        return bernoulli_log_likelihood(flat, self.logits(flat))  # (N,)

    @torch.no_grad()
    def bits_per_dim(self, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Held-out bits/dim, :math:`-\\frac{1}{ND\\ln 2}\\sum_i \\log p(x_i)`, in batches."""
        batch_size = require_positive_int("batch_size", batch_size)
        flat = self.check_binary(x)
        log_p = torch.cat([self.log_prob(chunk) for chunk in flat.split(batch_size)])  # (N,)
        return metrics.bits_per_dim(log_p, self.num_dims)

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None, weight_decay: float = 0.0,
             max_shift: int = 0) -> tuple[torch.Tensor, dict[str, float]]:
        r"""The training objective on a batch: :math:`-\frac1B\sum_i \log p(x_i) + \frac\lambda2\lVert W\rVert^2`.

        Two things keep a model of 4,000 digits from memorising them: the penalty
        (``weight_decay`` :math:`\lambda`, on the weight matrices, not the biases) and, for images,
        shifting each one by up to ``max_shift`` pixels (drawn with ``generator``). Returns
        ``(loss, values)`` as :func:`gan_course.loop.fit_model` expects; ``values["nll"]`` is in
        nats per image.
        """
        if max_shift:
            if len(self.event_shape) < 2:
                raise ValueError(f"max_shift needs images (an event_shape with height and width), got "
                                 f"event_shape={self.event_shape}")
            x = random_shift(x.reshape(len(x), *self.event_shape), max_shift, generator).reshape(len(x), -1)
        nll = -self.log_prob(x).mean()
        penalty = sum((w * w).sum() for name, w in self.named_parameters() if name.endswith("weight"))
        loss = nll + 0.5 * weight_decay * penalty
        return loss, {"loss": loss.item(), "nll": nll.item()}

    @torch.no_grad()
    def _fill(self, x: torch.Tensor, first: int, uniforms: torch.Tensor, cache: bool) -> torch.Tensor:
        """Draw pixels ``first..D-1`` of ``x`` (B, D) in order; pixel j is 1 when u_j < p_j."""
        state = self._start(x) if cache else None
        for j in range(self.num_dims):
            if j >= first:
                logit = self._next_logit(state, x, j) if cache else self.logits(x)[:, j]  # (B,)
                x[:, j] = (uniforms[:, j] < torch.sigmoid(logit)).to(x.dtype)
            state = self._update(state, x, j) if cache else None
        return x

    def _uniforms(self, n: int, seed: int | None) -> torch.Tensor:
        gen = torch_generator(seed, "cpu")
        return torch.rand(n, self.num_dims, generator=gen).to(self.device)  # (n, D): one draw per pixel

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, cache: bool = True) -> torch.Tensor:
        r"""``n`` samples drawn pixel by pixel: :math:`x_j \sim \mathrm{Bern}\big(p(x_j=1\mid x_{<j})\big)`, j = 1..D.

        Args:
            n: how many samples.
            seed: makes the draw repeatable (None: torch's global stream).
            cache: keep what earlier pixels contributed, so each step costs one pixel's logit;
                ``False`` runs the whole network once per pixel (D passes), the textbook way. Both
                give the same samples for the same seed.

        Returns:
            (n, *event_shape) float tensor of 0s and 1s.
        """
        n = require_positive_int("n", n)
        x = torch.zeros(n, self.num_dims, device=self.device, dtype=next(self.parameters()).dtype)
        return self._fill(x, 0, self._uniforms(n, seed), cache).reshape(n, *self.event_shape)

    @torch.no_grad()
    def complete(self, x: torch.Tensor, num_given: int, seed: int | None = None) -> torch.Tensor:
        r"""Keep the first ``num_given`` pixels of each sample and draw the rest from :math:`p(x_{\ge k}\mid x_{<k})`.

        In raster order the first 392 pixels of a digit are its upper half, so this completes the
        lower half from the upper half with an exact conditional (no approximation).
        """
        flat = self.check_binary(x).clone()
        num_given = require_int("num_given", num_given, 0, self.num_dims)
        return self._fill(flat, num_given, self._uniforms(len(flat), seed), True).reshape(x.shape)

    def masks(self) -> dict[str, torch.Tensor]:
        """``{parameter name: its 0/1 mask}`` for the masked weight matrices (buffer ``a_weight_mask`` masks ``a.weight``)."""
        buffers = dict(self.named_buffers())
        return {name: buffers[name.replace(".", "_") + "_mask"] for name, _ in self.named_parameters()
                if name.replace(".", "_") + "_mask" in buffers}

    def num_parameters(self) -> int:
        """Free parameters: only the weights the masks let through, plus the biases."""
        masks = self.masks()
        return sum(int(masks[n].sum()) if n in masks else p.numel() for n, p in self.named_parameters())


# --------------------------------------------------------------------------------------------
# FVSBN
# --------------------------------------------------------------------------------------------


class FVSBN(BinaryAutoregressive):
    r"""Fully visible sigmoid belief net: one logistic regression per pixel on the pixels before it.

    .. math:: p(x_j = 1 \mid x_{<j}) = \sigma\Big(b_j + \sum_{i<j} W_{ji}\,x_i\Big)

    :math:`W` is strictly lower triangular (a fixed mask zeroes the rest), so the model has
    :math:`D(D-1)/2 + D` parameters: 307,720 for 28x28 digits (Neal, 1992; Frey, 1998).

    Args:
        num_dims: D, pixels per sample.
        event_shape: the shape of one sample (default ``(D,)``; ``(1, 28, 28)`` for digits).
    """

    def __init__(self, num_dims: int = 784, event_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(num_dims, event_shape)
        d = self.num_dims
        self.linear = nn.Linear(d, d)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        order = torch.arange(1, d + 1)
        self.register_buffer("linear_weight_mask", autoregressive_mask(order, order, strict=True))  # (D, D)

    def config(self) -> dict[str, Any]:
        return {"num_dims": self.num_dims, "event_shape": list(self.event_shape)}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.linear.weight * self.linear_weight_mask, self.linear.bias)  # (B, D)

    def _next_logit(self, cache: Any, x: torch.Tensor, j: int) -> torch.Tensor:
        w = self.linear.weight[j, :j]  # (j,): the row is masked to i < j already by slicing
        return x[:, :j] @ w + self.linear.bias[j]  # (B,)


# --------------------------------------------------------------------------------------------
# MADE
# --------------------------------------------------------------------------------------------


class MADE(BinaryAutoregressive):
    r"""Masked autoencoder for distribution estimation, with one hidden layer and direct connections.

    .. math:: h = \mathrm{ReLU}\big(c + (W \odot M^W)\,x\big), \qquad
        \ell = b + (V \odot M^V)\,h + (A \odot M^A)\,x

    Hidden unit k has a degree :math:`m(k)\in\{1..D-1\}` and sees inputs :math:`d \le m(k)`
    (:math:`M^W`); output j sees hidden units with :math:`m(k) < j` (:math:`M^V`) and, through the
    direct connections :math:`A`, the inputs :math:`i < j` (:math:`M^A`, FVSBN's mask). So output j
    never depends on inputs :math:`\ge j` and :math:`\prod_j p(x_j\mid x_{<j})` is a normalised
    density (Germain, Gregor, Murray and Larochelle, 2015).

    Args:
        num_dims: D, pixels per sample.
        num_hidden: H, hidden units.
        direct: add the direct input-to-output connections (an FVSBN inside the MADE).
        event_shape: the shape of one sample.
    """

    def __init__(self, num_dims: int = 784, num_hidden: int = 500, direct: bool = True,
                 event_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(num_dims, event_shape)
        self.num_hidden = require_positive_int("num_hidden", num_hidden)
        if not isinstance(direct, bool):
            raise ValueError(f"direct must be True or False, got {direct!r}")
        self.direct = direct
        d, h = self.num_dims, self.num_hidden
        order, degrees = torch.arange(1, d + 1), hidden_degrees(h, d)
        self.hidden = nn.Linear(d, h)
        self.out = nn.Linear(h, d)
        nn.init.zeros_(self.out.weight)  # start as independent pixels: the conditionals ignore x
        self.register_buffer("hidden_weight_mask", autoregressive_mask(order, degrees, strict=False))  # (H, D)
        self.register_buffer("out_weight_mask", autoregressive_mask(degrees, order, strict=True))  # (D, H)
        if direct:
            self.skip = nn.Linear(d, d, bias=False)
            nn.init.zeros_(self.skip.weight)
            self.register_buffer("skip_weight_mask", autoregressive_mask(order, order, strict=True))  # (D, D)

    def config(self) -> dict[str, Any]:
        return {"num_dims": self.num_dims, "num_hidden": self.num_hidden, "direct": self.direct,
                "event_shape": list(self.event_shape)}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(F.linear(x, self.hidden.weight * self.hidden_weight_mask, self.hidden.bias))  # (B, H)
        out = F.linear(h, self.out.weight * self.out_weight_mask, self.out.bias)  # (B, D)
        if self.direct:
            out = out + F.linear(x, self.skip.weight * self.skip_weight_mask)
        return out

    # Sampling with a cache: the hidden pre-activations grow by one input column per drawn pixel.
    def _start(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden.bias.expand(len(x), -1).clone()  # (B, H): no pixel seen yet

    def _next_logit(self, cache: torch.Tensor, x: torch.Tensor, j: int) -> torch.Tensor:
        v = self.out.weight[j] * self.out_weight_mask[j]  # (H,): hidden units of degree < j + 1
        logit = F.relu(cache) @ v + self.out.bias[j]  # (B,)
        if self.direct:
            logit = logit + x[:, :j] @ self.skip.weight[j, :j]
        return logit

    def _update(self, cache: torch.Tensor, x: torch.Tensor, j: int) -> torch.Tensor:
        column = self.hidden.weight[:, j] * self.hidden_weight_mask[:, j]  # (H,)
        return cache + x[:, j:j + 1] * column  # (B, H): pixel j now seen by the units allowed to


MODELS: dict[str, type[BinaryAutoregressive]] = {"FVSBN": FVSBN, "MADE": MADE}


# --------------------------------------------------------------------------------------------
# Training, saving, loading
# --------------------------------------------------------------------------------------------


def fit_autoregressive(model: BinaryAutoregressive, x: torch.Tensor, steps: int | None = None,
                       seconds: float | None = None, lr: float = 1e-3, weight_decay: float = 1e-3,
                       max_shift: int = 0, batch_size: int = 64, seed: int = 0, progress: bool = True,
                       state: FitState | None = None) -> FitState:
    r"""Maximum likelihood by Adam on minibatches: minimise :math:`-\frac1B\sum_i\log p(x_i) + \frac\lambda2\lVert W\rVert^2`.

    The loop is :func:`gan_course.loop.fit_model` (progress bar, time budget, the stop button
    leaves a consistent state, a NaN stops training before the update that would spread it).

    Args:
        model: an :class:`FVSBN` or a :class:`MADE`, on the device it should train on.
        x: (N, ...) binary training data, D values per sample.
        steps, seconds: stop after this many updates or this much wall time (give one or both).
        lr: Adam's learning rate.
        weight_decay: :math:`\lambda`, the L2 penalty on the weight matrices.
        max_shift: move each training image by up to this many pixels (0: no augmentation).
        batch_size: samples per update.
        seed: the minibatch order.
        progress: show a progress bar.
        state: a previous call's result, to continue exactly.

    Returns:
        The :class:`gan_course.loop.FitState`; ``state.history["nll"]`` is the batch NLL in nats.
    """
    if not isinstance(model, BinaryAutoregressive):
        raise ValueError(f"model must be an FVSBN or a MADE, got {type(model).__name__}")
    options = {"weight_decay": require_nonnegative_number("weight_decay", weight_decay),
               "max_shift": require_int("max_shift", max_shift, 0)}
    return fit_model(model, model.check_binary(x), steps, seconds, lr=lr, batch_size=batch_size, seed=seed, progress=progress,
                     state=state, loss_options=lambda step: options, desc=type(model).__name__)


def save_model(model: BinaryAutoregressive, path: str | os.PathLike, info: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as an ``autoregressive`` checkpoint: its class, constructor arguments and,
    of each masked weight matrix, only the entries its mask lets through, in float16 (the masks
    are rebuilt from the configuration). ``info`` (numbers, strings, dicts) is stored beside it.
    Use :func:`round_to_stored_precision` first to score exactly what is stored."""
    masks = model.masks()
    weights = {k: (v[masks[k].bool()] if k in masks else v).detach().cpu().half()
               for k, v in model.state_dict().items() if not k.endswith("_mask")}
    payload = {"model": type(model).__name__, "config": model.config(), "weights": weights, "info": dict(info or {})}
    return checkpoints.save(path, kind=CHECKPOINT_KIND, payload=payload)


@torch.no_grad()
def round_to_stored_precision(model: BinaryAutoregressive) -> BinaryAutoregressive:
    """Round every parameter to float16 and back, in place: the model :func:`load_model` will give."""
    for p in model.parameters():
        p.copy_(p.half().to(p.dtype))
    return model


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> BinaryAutoregressive:
    """The model saved by :func:`save_model`, in float32; ``model.info`` holds what was stored beside it."""
    payload = checkpoints.load(path, kind=CHECKPOINT_KIND, map_location="cpu")
    name = payload.get("model")
    if name not in MODELS:
        raise checkpoints.CheckpointError(f"{path} holds an autoregressive model {name!r}; this version knows "
                                          f"{', '.join(MODELS)}")
    model = MODELS[name](**{**payload["config"], "event_shape": tuple(payload["config"]["event_shape"])})
    state, masks = model.state_dict(), model.masks()
    for key, stored in payload["weights"].items():
        state[key] = (torch.zeros_like(state[key]).masked_scatter(masks[key].bool(), stored.float()) if key in masks
                      else stored.float().reshape(state[key].shape))
    model.load_state_dict(state)
    model.info = dict(payload.get("info", {}))
    return model.to(device).eval()


def pretrained(device: str | torch.device = "cpu") -> BinaryAutoregressive:
    """The shipped model (``assets/models/autoregressive_mnist.pt``): :func:`train_autoregressive`'s
    5-minute CPU run on the bundled binarised training digits; ``model.info`` says how it was made."""
    return load_model(weights_path(PRETRAINED_FILE), device)


@torch.no_grad()
def measure_costs(model: BinaryAutoregressive, x: torch.Tensor, num_samples: int = 100, seed: int = 0,
                  naive: bool = True) -> dict[str, float]:
    """Wall-clock milliseconds per image to score ``x`` (one pass for all pixels) and to sample
    ``num_samples`` images pixel by pixel: ``{"score_ms", "sample_ms"}``, plus ``"naive_sample_ms"``
    (one whole pass per pixel, ``cache=False``) when ``naive`` is True."""
    num_samples, flat = require_positive_int("num_samples", num_samples), model.check_binary(x)
    runs = {"score_ms": (lambda: model.log_prob(flat), len(flat)),
            "sample_ms": (lambda: model.sample(num_samples, seed=seed), num_samples)}
    if naive:
        runs["naive_sample_ms"] = (lambda: model.sample(num_samples, seed=seed, cache=False), num_samples)
    out = {}
    for name, (run, count) in runs.items():
        start = time.perf_counter()
        run()
        out[name] = 1e3 * (time.perf_counter() - start) / count
    return out


# The command-line run's settings: chosen on the bundled split by benchmarks/bench_autoregressive.py.
BEST_MADE = {"num_hidden": 500, "direct": True}
BEST_FIT = {"lr": 3e-3, "weight_decay": 3e-4, "max_shift": 1, "batch_size": 64}


def train_autoregressive(out: str | os.PathLike, minutes: float = 5.0, seed: int = 0,
                         progress: bool = True, command: str | None = None) -> dict[str, Any]:
    """Train the course's best autoregressive model on the bundled binarised digits for ``minutes``.

    Writes into ``out/``: ``metrics.json`` (``test_bits_per_dim`` on the 1,000 held-out digits,
    the training split's, steps, seconds, seed, model and settings), ``weights.pt`` (an
    ``autoregressive`` checkpoint, :func:`load_model` reads it) and ``samples.npy`` (100 samples,
    uint8 (100, 28, 28) of 0/255). ``command`` is recorded as the run's provenance (the command
    line passes its own). Returns the metrics.
    """
    from gan_course.data import mnist

    minutes, seed = require_in_range("minutes", minutes, 1e-3, 24 * 60), seed_everything(require_seed(seed))
    x_train, _ = mnist("train", source="bundled", binarize=True)
    x_test, _ = mnist("test", source="bundled", binarize=True)
    model = MADE(num_dims=784, event_shape=(1, 28, 28), **BEST_MADE)
    start = time.perf_counter()
    state = fit_autoregressive(model, x_train, seconds=60.0 * minutes, seed=seed, progress=progress, **BEST_FIT)
    seconds = time.perf_counter() - start
    round_to_stored_precision(model)  # score what weights.pt will hold
    result = {"model": "MADE", "settings": {**BEST_MADE, **BEST_FIT}, "seed": seed,
              "minutes": minutes, "steps": state.step, "seconds": round(seconds, 1), "interrupted": state.interrupted,
              "test_bits_per_dim": float(model.bits_per_dim(x_test)),
              "train_bits_per_dim": float(model.bits_per_dim(x_train)),
              "data": "bundled binarised MNIST, 4,000 train / 1,000 test",
              "command": command or f"python -m gan_course train autoregressive --minutes {minutes:g} --seed {seed}"}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_model(model, out / "weights.pt", info=result)
    samples = model.sample(100, seed=seed).reshape(100, 28, 28)
    storage.atomic_write(out / "samples.npy", lambda f: np.save(f, (samples.cpu().numpy() * 255).astype(np.uint8)))
    storage.atomic_write_bytes(out / "metrics.json", json.dumps(result, indent=2).encode())
    return result
