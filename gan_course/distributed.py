r"""Training one GAN in several processes at once, on PyTorch's own engine (``torch.distributed``).

Under ``torchrun --nproc_per_node N -m gan_course train dcgan ...`` each of the N processes (a
*rank*) holds the whole model and its own shard of the training data; every update averages the
ranks' gradients, so all ranks take the same step and keep identical weights:

.. math:: g = \frac1N \sum_{r=1}^{N} \nabla_\theta \mathcal L(\theta; x_r, z_r),

which is the gradient of one process on the concatenated batch :math:`(x_1, \dots, x_N)`: N
ranks with a batch of B each train like one process with a batch of N B (Goyal et al., 2017,
"Accurate, Large Minibatch SGD"). ``GANTrainer(..., distributed=setup())`` is all a caller adds;
the trainer calls this module at four points (``World``): its data shard and noise streams, the
gradient average of every update, an agreed end of ``fit``, and checkpoints that hold every
rank's random streams (written by rank 0 alone).

**Why an explicit all-reduce and not ``DistributedDataParallel``.** DDP is the same all-reduce
of gradients on the same engine, started by hooks during backward so that it overlaps the
computation. We average after backward instead, as NVIDIA's StyleGAN2-ADA and StyleGAN3
training loops do (``training/training_loop.py``: one flat ``all_reduce`` of each player's
gradient before its optimizer step), because:

1. a GAN update runs its networks in ways DDP's reducer is not designed for. The generator's
   loss back-propagates through the discriminator with D's weights frozen; R1 and the gradient
   penalty take a double backward through D (``autograd.grad(..., create_graph=True)``), which
   PyTorch's maintainers call unsupported in DDP (pytorch/pytorch#47562, #63929: "DDP doesn't
   have great support for higher-order gradients"). With torch 2.13 on gloo these patterns did
   give the right gradients when we tried them, but only through reducer internals that are not
   documented behaviour;
2. the NaN guard and the history need the ranks' *mean* loss, D(x) and D(G(z)) before the
   optimizer step, so that every rank takes the same decision: that needs a collective of our
   own anyway, and here it travels in the same single all-reduce as the gradient;
3. the networks stay plain modules: their ``state_dict`` keys, attributes (``latent_dim``), the
   weight average and ``requires_grad_`` toggling are those of a one-process run, so a
   checkpoint's networks load anywhere;
4. DDP's gain, overlapping communication with backward, is small at this size: the dcgan
   recipe's gradients are 546,176 numbers for G (2.2 MB) and 36,513 for D, one or two of DDP's
   buckets (1 MB for the first, 25 MB after), most of them reduced at the end of backward anyway.

``tests/test_distributed.py`` checks the average against DDP's on the same networks.

**Batch norm is synchronised.** The DCGAN generator normalises with batch statistics; per rank
they would be those of B samples, and the update would no longer be the one of the concatenated
batch. ``SyncBatchNorm`` computes them over all ranks (one all-reduce of the per-channel sums
per layer and forward pass, differentiable). ``torch.nn.SyncBatchNorm`` does the same on GPUs
but refuses CPU tensors, so a gloo run on the CPU, and the tests here, could not use it; ours
runs on both backends, and without a process group (or in eval mode) it is plain batch norm,
with the same ``state_dict``.

**What it costs.** Every update adds one all-reduce of the player's gradient, every generator
forward one of 3C numbers per batch-norm layer, every step one of two flags (the agreed stop);
``benchmarks/bench_distributed.py`` measures them (benchmarks/RESULTS.md). Checkpoints hold
every rank's random streams, so a run resumes exactly with the same number of processes, and
only with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import signal
import sys
import threading
import time
from typing import Any, Iterator

import torch
import torch.distributed as dist
import torch.nn as nn

from gan_course.config import get_device
from gan_course.loop import DeferredInterrupt, LRSchedule, linear_decay
from gan_course.validate import require_budget, require_int

SUPPORTED_KINDS = ("dcgan", "cgan", "wgan-gp")  # the image recipes; toy GANs and the classifier run in one process
_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")  # what torchrun sets for every process it starts


class RankFailedError(RuntimeError):
    """Another rank of the run stopped (its own error is printed by it); this one stops too."""


# --------------------------------------------------------------------------------------------
# The processes of a run
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class World:
    """This process's place in a run of several: what the trainer asks ``distributed`` for.

    Made by ``setup()`` under torchrun (rank 0 writes the outputs). Its methods are the four
    hooks ``GANTrainer`` calls when it is given ``distributed=world``.
    """

    rank: int  # this process, 0 .. world_size - 1
    world_size: int  # how many processes train the model
    local_rank: int  # this process on its machine: the index of its GPU
    device: torch.device  # where this rank trains: cuda:local_rank, or the CPU
    backend: str  # "nccl" (CUDA) or "gloo" (CPU)

    @property
    def writes_outputs(self) -> bool:
        """Whether this process writes checkpoints, samples and reports: rank 0 only."""
        return self.rank == 0

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's minibatch and noise streams (rank 0 keeps ``seed``). The ranks'
        seeds differ in their low 32 bits, the only ones the CPU generator (Mersenne twister) reads."""
        return int(seed) + 1_000_003 * self.rank

    def prepare(self, data: Any, generator: nn.Module, discriminator: nn.Module, batch_size: int,
                device: torch.device) -> Any:
        """Before the trainer's first step: this rank's shard of ``data``, batch norm synchronised
        in both networks (in place), and rank 0's initial weights on every rank."""
        if device.type != self.device.type:
            raise ValueError(f"this rank runs on {self.device} (torchrun's backend {self.backend}), but the trainer "
                             f"was asked for device {str(device)!r}; give the same device to both")
        shard = shard_data(data, self.rank, self.world_size, batch_size)
        for net in (generator, discriminator):
            synchronise_batch_norm(net)
            broadcast_module(net.to(device), self)
        return shard

    def average(self, net: nn.Module, values: torch.Tensor) -> torch.Tensor:
        """Replace ``net``'s gradients by their mean over the ranks; return ``values`` (losses,
        D outputs) averaged the same way. One all-reduce for both."""
        return average_gradients(net, values, self)

    def fit(self, trainer, steps: int | None, seconds: float | None, progress: bool) -> dict:
        """``trainer.fit`` in which every rank stops after the same step (``fit``)."""
        return fit(trainer, steps, seconds, progress)

    def gather_streams(self, state: dict) -> dict:
        """``state`` (a trainer's) with every rank's random streams (``gather_streams``)."""
        return gather_streams(state, self)


def environment() -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` from torchrun's variables, or None outside torchrun."""
    given = {name: os.environ.get(name) for name in _ENV}
    if given["WORLD_SIZE"] is None and given["RANK"] is None:
        return None
    try:
        rank, world_size, local_rank = (int(given[name] if given[name] is not None else "0") for name in _ENV)
    except ValueError:
        raise ValueError(f"torchrun's variables must be integers, got {given}") from None
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise ValueError(f"torchrun's variables are inconsistent: RANK={rank} must lie in [0, WORLD_SIZE={world_size}) "
                         f"and LOCAL_RANK={local_rank} must be >= 0")
    return rank, world_size, local_rank


def setup(device: str = "auto", timeout_minutes: float = 10.0) -> World | None:
    """Join the run torchrun started: the process group (NCCL on CUDA, gloo on the CPU) and this
    rank's device. Returns None outside torchrun (one process: nothing to set up).

    On CUDA, rank r uses GPU ``LOCAL_RANK``. A SIGTERM (what torchrun sends the other ranks when
    one fails) becomes ``SystemExit``, so temporary run folders are removed on the way out.
    """
    found = environment()
    if found is None:
        return None
    rank, world_size, local_rank = found
    if not dist.is_available():
        raise ValueError("this PyTorch build has no torch.distributed; run without torchrun")
    chosen = get_device(device)
    if chosen.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK={local_rank}, but this machine has {torch.cuda.device_count()} CUDA GPU(s): "
                             f"use --nproc_per_node {torch.cuda.device_count()} or fewer")
        torch.cuda.set_device(local_rank)
        chosen, backend = torch.device("cuda", local_rank), "nccl"
    elif chosen.type == "cpu":
        backend = "gloo"
    else:
        raise ValueError(f"torchrun runs on CUDA GPUs (NCCL) or the CPU (gloo), not on {chosen.type}; "
                         "give --device cuda or cpu")
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=timeout_minutes),
                                **({"device_id": chosen} if backend == "nccl" else {}))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return World(rank, world_size, local_rank, chosen, backend)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def shutdown() -> None:
    """Leave the process group (at the end of a run; nothing if there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def writes_outputs() -> bool:
    """Whether this process writes files: True in a one-process run, and on rank 0 of a torchrun run."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def world_size() -> int:
    """How many processes train together (1 outside torchrun)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@contextlib.contextmanager
def rank_zero_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. downloading the full MNIST), the other ranks after it
    (reading what it left); one process just runs it."""
    if world_size() == 1:
        yield
        return
    if dist.get_rank() != 0:
        _collective(dist.barrier, "a wait for rank 0")
    yield
    if dist.get_rank() == 0:
        _collective(dist.barrier, "a wait for rank 0")


def require_supported(kind: str) -> str:
    """``kind`` when it can train under torchrun (the image recipes); else a ValueError."""
    if kind not in SUPPORTED_KINDS:
        raise ValueError(f"train {kind} runs in one process; torchrun is for the image GANs "
                         f"({', '.join(SUPPORTED_KINDS)}): run it without torchrun")
    return kind


def _collective(call, what: str, *args, **kwargs):
    """Run one collective; if a peer is gone, say so in a sentence (the original error is kept)."""
    try:
        return call(*args, **kwargs)
    except RuntimeError as error:  # gloo and NCCL raise DistBackendError, a RuntimeError
        raise RankFailedError(f"rank {dist.get_rank()} of {dist.get_world_size()} stopped during {what}: another "
                              "process of this run failed (its own message is printed above, and torchrun names "
                              "its rank); this one stops too, and no checkpoint is half-written") from error


# --------------------------------------------------------------------------------------------
# Data: one shard per rank
# --------------------------------------------------------------------------------------------


def shard_data(data: Any, rank: int, world_size: int, batch_size: int) -> Any:
    """Rank ``rank``'s shard of ``data`` (a tensor or an ``(x, y)`` pair): every ``world_size``-th
    sample from ``rank`` on, so each shard holds every class of a sorted set alike.

    The shards are disjoint and cover the data; each must hold at least one batch, checked here,
    before any step.

    >>> shard_data(torch.arange(10.0)[:, None], rank=1, world_size=3, batch_size=2).flatten().tolist()
    [1.0, 4.0, 7.0]
    """
    world_size = require_int("world_size", world_size, 1)
    rank = require_int("rank", rank, 0, world_size - 1)
    batch_size = require_int("batch_size", batch_size, 1)
    pair = isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)
    if not (isinstance(data, torch.Tensor) or pair):
        raise ValueError(f"under torchrun the data must be a tensor or an (x, y) pair of tensors, which each process "
                         f"shards; got {type(data).__name__} (a sampler of your own cannot be split)")
    n = len(data[0] if pair else data)
    smallest = n // world_size
    if smallest < batch_size:
        allowed = max(n // batch_size, 0)
        raise ValueError(f"{world_size} processes split the {n} training samples into shards of {smallest}, fewer "
                         f"than one batch of {batch_size}: use at most {allowed} processes (--nproc_per_node) for "
                         f"this batch size, or more data")
    if pair:
        return _every(data[0], rank, world_size), _every(data[1], rank, world_size)
    return _every(data, rank, world_size)


def _every(t: torch.Tensor, start: int, step: int) -> torch.Tensor:
    """``t[start::step]`` as its own dense tensor, keeping channels_last images channels_last."""
    nhwc = t.ndim == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last)
    return t[start::step].contiguous(memory_format=torch.channels_last if nhwc else torch.contiguous_format)


# --------------------------------------------------------------------------------------------
# Gradients and weights
# --------------------------------------------------------------------------------------------


def average_gradients(net: nn.Module, values: torch.Tensor, world: World) -> torch.Tensor:
    r"""Average ``net``'s gradients over the ranks, in place: :math:`g \leftarrow \frac1N \sum_r g_r`.

    What DDP's reducer does, in one flat all-reduce after backward; ``values`` (1-D, float)
    ride along and come back averaged. Every rank must call it with the same network.
    """
    params = [p for p in net.parameters() if p.grad is not None]
    flat = torch.cat([*(p.grad.reshape(-1).float() for p in params), values.float()])  # (P + V,)
    _collective(dist.all_reduce, "a gradient average", flat)
    flat /= world.world_size
    sizes = [p.numel() for p in params]
    for p, g in zip(params, flat[:sum(sizes)].split(sizes)):
        p.grad.copy_(g.view(p.grad.shape))
    return flat[sum(sizes):].to(values.device)


@torch.no_grad()
def broadcast_module(net: nn.Module, world: World) -> None:
    """Give every rank rank 0's parameters and buffers (as DDP does when it wraps a module)."""
    for t in [*net.parameters(), *net.buffers()]:
        _collective(dist.broadcast, "the first weights", t, src=0)


class _AllReduceSum(torch.autograd.Function):
    """Sum over the ranks, differentiable: the gradient of a sum is the sum of the gradients."""

    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        _collective(dist.all_reduce, "a batch-norm statistic", t)
        return t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _AllReduceSum.apply(grad)


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    r"""Batch norm whose statistics are those of all ranks' batches together (Ioffe & Szegedy, 2015).

    .. math:: \mu = \frac1n \sum_{r,i} x_{ri},\quad \sigma^2 = \frac1n \sum_{r,i} x_{ri}^2 - \mu^2,\quad
              y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta

    with n the number of values per channel over every rank. The sums travel in one
    differentiable all-reduce, in float64, where the difference of the two moments keeps its
    digits. In eval mode, or without a process group of several ranks, it is ``nn.BatchNorm*d``
    exactly, with the same ``state_dict``. ``synchronise_batch_norm`` puts it in a network.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"SyncBatchNorm expects (B, C, ...) inputs, got shape {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]  # every axis but the channels
        x64 = x.double()
        count = x64.new_full((x.shape[1],), x.numel() / x.shape[1])  # (C,)
        sums = _AllReduceSum.apply(torch.stack([x64.sum(dims), (x64 * x64).sum(dims), count]))  # (3, C)
        n = sums[2]
        mean, var = sums[0] / n, sums[1] / n - (sums[0] / n) ** 2  # (C,) each; var is biased
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach() * n / (n - 1).clamp(min=1))
        scale = torch.rsqrt(var + self.eps)  # (C,)
        shift = -mean * scale
        if self.affine:
            scale, shift = scale * self.weight, shift * self.weight + self.bias
        shape = (1, -1) + (1,) * (x.dim() - 2)  # broadcast over (B, C, ...)
        return (x.float() * scale.float().view(shape) + shift.float().view(shape)).to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
        self.running_var.lerp_(unbiased_var.to(self.running_var.dtype), factor)


def synchronise_batch_norm(net: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm1d/2d/3d`` in ``net`` by a ``SyncBatchNorm`` holding the same
    parameters and buffers (the very tensors: an optimizer built before keeps working), in place."""
    for name, child in net.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, SyncBatchNorm):
            setattr(net, name, _synchronised(child))
        else:
            synchronise_batch_norm(child)
    return net


def _synchronised(bn: nn.modules.batchnorm._BatchNorm) -> SyncBatchNorm:
    sync = SyncBatchNorm(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    if bn.affine:
        sync.weight, sync.bias = bn.weight, bn.bias
    if bn.track_running_stats:
        sync.running_mean, sync.running_var, sync.num_batches_tracked = (bn.running_mean, bn.running_var,
                                                                         bn.num_batches_tracked)
    return sync.train(bn.training)


# --------------------------------------------------------------------------------------------
# Checkpoints: every rank's random streams
# --------------------------------------------------------------------------------------------


def gather_streams(state: dict, world: World) -> dict:
    """A trainer's ``state_dict`` with every rank's random streams (minibatch order, noise, torch's
    generators) under ``"distributed"``, the same dict on every rank. A collective: every rank
    calls it; rank 0 writes the result."""
    streams: list[Any] = [None] * world.world_size
    _collective(dist.all_gather_object, "a checkpoint", streams, state["rng"])
    return {**state, "distributed": {"world_size": world.world_size, "rng": streams}}


def rank_state(state: dict, world: World | None) -> dict:
    """``state`` with this rank's streams in ``"rng"``, ready for ``resume.load_trainer_state``;
    a checkpoint of another number of processes is refused (its streams are per process)."""
    saved = int(state.get("distributed", {}).get("world_size", 1))
    here = 1 if world is None else world.world_size
    if "distributed" not in state and here == 1:
        return state
    if saved != here:
        how = "in one process (without torchrun)" if saved == 1 else f"with torchrun --nproc_per_node {saved}"
        raise ValueError(f"this checkpoint was written by a run of {saved} process(es) and this one has {here}: each "
                         f"process has its own data shard and random streams, so resume it {how}; nothing was loaded")
    return {**state, "rng": state["distributed"]["rng"][0 if world is None else world.rank]}


# --------------------------------------------------------------------------------------------
# Training: every rank stops after the same step
# --------------------------------------------------------------------------------------------


def fit(trainer, steps: int | None = None, seconds: float | None = None, progress: bool = True) -> dict:
    """``trainer.fit`` for a trainer of several ranks: before each step the ranks agree (one
    all-reduce of two flags) whether the time budget is spent or Ctrl-C was pressed on any of
    them, so all stop after the same step instead of one waiting forever for the others.

    The rest is ``GANTrainer.fit``: ``lr_decay``, callbacks, ``trainer.interrupted``; the
    progress bar is rank 0's. Returns the history.
    """
    steps, seconds = require_budget(steps, seconds)
    schedule = None
    if trainer.config.lr_decay > 0:
        if steps is None:
            raise ValueError(f"lr_decay={trainer.config.lr_decay} needs a step count to decay over: call "
                             "fit(steps=...), or set lr_decay=0 for a time budget alone")
        schedule = LRSchedule([trainer.opt_d, trainer.opt_g], linear_decay(trainer.config.lr_decay), steps)
    bar = None
    if progress and trainer.distributed.writes_outputs:
        from tqdm.auto import tqdm  # a dependency; imported late, as loop does

        bar = tqdm(total=steps, desc=f"GAN x{trainer.distributed.world_size}", leave=False)
    flags = torch.zeros(2, device=trainer.device)
    start, done, trainer.interrupted = time.perf_counter(), 0, False
    try:
        with DeferredInterrupt() as interrupt:
            while steps is None or done < steps:
                flags[0] = float(interrupt.requested)
                flags[1] = float(seconds is not None and time.perf_counter() - start >= seconds)
                _collective(dist.all_reduce, "the agreement to go on", flags, op=dist.ReduceOp.MAX)
                if flags.any():
                    trainer.interrupted = bool(flags[0])
                    break
                if schedule is not None:
                    schedule.apply(done)
                trainer.step()
                done += 1
                for callback in trainer.callbacks:
                    callback(trainer)
                if bar is not None:
                    bar.update(1)
    finally:
        if schedule is not None:
            schedule.restore()
        if bar is not None:
            bar.close()
    if trainer.interrupted:
        print(f"Interrupted after {done} whole steps on every rank; the run so far can be written.", file=sys.stderr)
    return trainer.history

