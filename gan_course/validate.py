"""Checks of input data shared by the estimators: clear errors before any computation.

They name the argument, say what was wrong and where, and what to do about it.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def require_finite(x: torch.Tensor, name: str = "x") -> None:
    """Raise a ValueError saying how many entries of ``x`` are NaN or inf, and where."""
    if torch.isfinite(x.sum()):
        return  # fast path: one reduction; an overflowing sum falls through to the full check
    bad = ~torch.isfinite(x)
    if bad.any():
        where = bad.nonzero()[:5].tolist()  # first few (row, col, ...) positions
        count = int(bad.sum())
        more = " ..." if count > 5 else ""
        raise ValueError(f"{name} contains {count} NaN/inf value(s) out of {x.numel()}, "
                         f"e.g. at index {', '.join(map(str, map(tuple, where)))}{more}; "
                         "clean or drop those samples first")


def require_binary(x: torch.Tensor, name: str = "x") -> None:
    """Raise a ValueError unless every entry of ``x`` is 0 or 1, naming the observed range."""
    off = ~((x == 0) | (x == 1))
    if off.any():
        example = x[off][0].item()
        raise ValueError(f"{name} must be binary (every value 0 or 1) for a Bernoulli model, got "
                         f"values in [{x.min().item():.4g}, {x.max().item():.4g}] with "
                         f"{int(off.sum())} non-binary value(s) such as {example:.4g}; binarize it "
                         "first, e.g. mnist(..., binarize=True) or (x > 0.5).float()")


def require_positive_int(name: str, value: object) -> int:
    """``value`` as an int when it is a positive integer (NumPy integers too, never a bool);
    else a ValueError naming ``name`` and the value given."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def require_nonnegative_number(name: str, value: object) -> float:
    """``value`` as a float when it is a finite number >= 0 (never a bool); else a ValueError
    naming ``name`` and the value given (NaN and inf are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
