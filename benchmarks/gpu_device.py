"""The device the GPU scripts (``gpu_epoch.py``, ``gpu_gmm.py``) time on, checked the same way."""

from __future__ import annotations

import sys

import torch


def require_device(name: str) -> torch.device:
    """The device to time on; without CUDA, one line on stderr and exit code 2."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        print(f"error: {sys.argv[0]} times a CUDA GPU, and this machine has none (torch.cuda.is_available() is "
              "False); run it on a GPU machine, or add --device cpu --tiny to check that it runs", file=sys.stderr)
        raise SystemExit(2)
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        print(f"error: --device must be cuda or cpu, got {name!r}", file=sys.stderr)
        raise SystemExit(2)
    return torch.device(name)
