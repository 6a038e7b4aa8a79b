"""Minibatches drawn from tensors that stay on the device, and the checks of training data.

``DeviceSampler`` slices index permutations of device-resident tensors (no DataLoader, no
copies); ``make_sampler`` turns what a trainer is given — a tensor, a pair ``(x, y)`` or an
iterator of batches — into a sampler, after checking the samples (``training_samples``).
"""

from __future__ import annotations

import warnings
from typing import Any, Iterator

import torch

from gan_course.config import get_device
from gan_course.validate import require_finite, require_int


class DeviceSampler:
    """Minibatches drawn by index from tensors that stay on the device: no DataLoader, no copies.

    Each epoch is a random permutation made on the device; a batch is an index slice of it, so
    every sample is seen once per epoch (a last partial batch is skipped). Iterating never ends.

    Args:
        x: the data, first dimension the sample index.
        y: optional labels, aligned with ``x``; then batches are ``(x, y)`` pairs.
        batch_size: samples per batch, at most ``len(x)``.
        device: where the data lives (None: where ``x`` already is; ``"auto"``: the GPU if any).
        seed: seeds the sampler's own generator, so its order is repeatable.

    >>> sampler = DeviceSampler(torch.arange(10.0)[:, None], batch_size=4, seed=0)
    >>> next(sampler).shape
    torch.Size([4, 1])
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 64,
                 device: str | torch.device | None = None, seed: int | None = None) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim == 0 or len(x) == 0:
            raise ValueError(f"x must be a non-empty tensor, got {type(x).__name__} "
                             f"of shape {tuple(getattr(x, 'shape', ()))}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"y must have one label per sample: len(x)={len(x)}, len(y)={len(y)}")
        batch_size = require_int("batch_size", batch_size, 1, len(x))  # at most the number of samples
        self.device = x.device if device is None else get_device(device)
        self.x = x.to(self.device)
        self.y = None if y is None else y.to(self.device)
        self.batch_size = batch_size
        self.generator = torch.Generator(device=self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))
        self._perm = self._new_perm()
        self._pos = 0

    def _new_perm(self) -> torch.Tensor:
        return torch.randperm(len(self.x), generator=self.generator, device=self.device)

    def __len__(self) -> int:
        """Full batches per epoch."""
        return len(self.x) // self.batch_size

    def __iter__(self) -> "DeviceSampler":
        return self

    def __next__(self) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self._pos + self.batch_size > len(self.x):
            self._perm, self._pos = self._new_perm(), 0
        index = self._perm[self._pos:self._pos + self.batch_size]  # (B,)
        self._pos += self.batch_size
        # index_select, not x[index]: advanced indexing is ~10x slower on CPU for 4-D tensors
        x = self.x.index_select(0, index)
        return x if self.y is None else (x, self.y.index_select(0, index))

    def position(self) -> tuple:
        """A cheap mark of where the stream is (no copy of the permutation, which is replaced,
        never changed in place); ``set_position`` goes back to it."""
        return self.generator.get_state(), self._perm, self._pos

    def set_position(self, position: tuple) -> None:
        """Go back to a ``position()``: the next batches are the ones that followed it."""
        state, self._perm, self._pos = position
        self.generator.set_state(state)

    def state_dict(self) -> dict:
        """The sampler's position and generator state, for exact resumption."""
        return {"generator": self.generator.get_state(), "perm": self._perm.cpu(), "pos": self._pos}

    def load_state_dict(self, state: dict) -> None:
        """Restore a position saved by ``state_dict``."""
        if len(state["perm"]) != len(self.x):
            raise ValueError(f"this sampler state is for {len(state['perm'])} samples, "
                             f"but the sampler holds {len(self.x)}")
        self.generator.set_state(state["generator"].cpu())  # a generator's state is a CPU byte tensor, wherever it lives
        self._perm = state["perm"].to(self.device)
        self._pos = int(state["pos"])


def make_sampler(data: Any, batch_size: int, device: torch.device, seed: int) -> Iterator:
    """Minibatches of ``data``: a tensor (N, ...) or a pair ``(x, y)`` of tensors become a
    ``DeviceSampler``; an iterator of batches (a sampler of your own) is used as it is.

    Tensors are checked first: finite floating-point samples (float64 is converted to float32,
    with a warning; integers are refused), integer labels of the same length. On the same
    device the sampler reads ``x`` without copying it and never writes to it.
    """
    if isinstance(data, torch.Tensor):
        return DeviceSampler(training_samples(data), batch_size=batch_size, device=device, seed=seed)
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        x, y = training_samples(data[0]), data[1]
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool or y.ndim != 1:
            raise ValueError(f"data's labels y must be a 1-D integer tensor, got dtype {y.dtype} and shape "
                             f"{tuple(y.shape)}")
        return DeviceSampler(x, y, batch_size=batch_size, device=device, seed=seed)
    if hasattr(data, "__next__"):
        return data
    raise ValueError(f"data must be a tensor, a pair (x, y) of tensors or a sampler (an iterator "
                     f"of batches), got {type(data).__name__}")


def training_samples(x: torch.Tensor, name: str = "data") -> torch.Tensor:
    """``x`` as float32-or-narrower training samples: finite, floating point, at least one."""
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{name} must hold at least one sample, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} holds {x.dtype} values; a GAN trains on floating-point samples: convert them "
                         f"first, e.g. x.float() (and scale pixels to the generator's range)")
    if x.dtype == torch.float64:
        warnings.warn(f"{name} is float64; it is converted to float32, the networks' dtype", stacklevel=4)
        x = x.float()
    require_finite(x, name)
    return x
