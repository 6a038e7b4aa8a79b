"""Argument and data checks shared by the whole package: one rule, one message.

Every check names the argument, says what was given and what is allowed, and returns the value
in a plain Python type, so callers write ``self.k = require_int("k", k)``. NumPy integers and
floats are accepted where Python ones are; a bool is never a number.

>>> require_int("steps", 3)
3
>>> require_choice("loss", "hinge", ("hinge", "wgan_gp"))
'hinge'
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

_INTS = (int, np.integer)
_NUMBERS = (int, float, np.integer, np.floating)


# --------------------------------------------------------------------------------------------
# Numbers and names
# --------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, _INTS) and not isinstance(value, (bool, np.bool_))


def _is_number(value: object) -> bool:
    return isinstance(value, _NUMBERS) and not isinstance(value, (bool, np.bool_))


def require_int(name: str, value: object, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int when it is an integer in ``[minimum, maximum]``; else a ValueError.

    The message is "a positive int" for ``minimum=1``, "a non-negative int" for 0, "an int >= m"
    otherwise, and "an int in [m, M]" when there is a maximum.

    >>> require_int("depth", 0, minimum=0)
    0
    """
    if maximum is not None:
        if not _is_int(value) or not minimum <= value <= maximum:
            raise ValueError(f"{name} must be an int in [{minimum}, {maximum}], got {value!r}")
        return int(value)
    if not _is_int(value) or value < minimum:
        what = {1: "a positive int", 0: "a non-negative int"}.get(minimum, f"an int >= {minimum}")
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def require_positive_int(name: str, value: object) -> int:
    """``value`` as an int when it is an integer >= 1 (``require_int`` with minimum 1)."""
    return require_int(name, value, 1)


def require_number(name: str, value: object) -> float:
    """``value`` as a float when it is a finite number (never a bool); else a ValueError."""
    if not _is_number(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def require_positive_number(name: str, value: object) -> float:
    """``value`` as a float when it is a finite number > 0; else a ValueError naming ``name``."""
    if not _is_number(value) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def require_budget(steps: object, amount: object, unit: str = "seconds") -> tuple[int | None, float | None]:
    """A training budget: a step count, a time in ``unit``, or both (each positive); neither is refused.
    Returns ``(steps, amount)`` checked, each None where it was not given."""
    if steps is None and amount is None:
        raise ValueError(f"give steps or {unit} (or both), got neither")
    return (None if steps is None else require_positive_int("steps", steps),
            None if amount is None else require_positive_number(unit, amount))


def require_nonnegative_number(name: str, value: object) -> float:
    """``value`` as a float when it is a finite number >= 0 (NaN and inf are refused)."""
    if not _is_number(value) or not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def require_in_range(name: str, value: object, low: float, high: float, include_high: bool = True) -> float:
    """``value`` as a float when it is a number in ``[low, high]`` (or ``[low, high)``).

    >>> require_in_range("ema", 0.999, 0, 1, include_high=False)
    0.999
    """
    inside = _is_number(value) and (low <= value <= high if include_high else low <= value < high)
    if not inside:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}{']' if include_high else ')'}, "
                         f"got {value!r}")
    return float(value)


def require_choice(name: str, value: object, allowed: Sequence[str]) -> str:
    """``value`` when it is one of ``allowed``; else a ValueError listing them."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def require_bool(name: str, value: object) -> bool:
    """``value`` when it is a bool (NumPy's too); else a ValueError (``"no"`` is not False)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def require_seed(value: object, name: str = "seed") -> int:
    """A seed: a non-negative int (NumPy integers too)."""
    return require_int(name, value, 0)


# --------------------------------------------------------------------------------------------
# Tensors
# --------------------------------------------------------------------------------------------


def require_tensor(x: object, name: str = "x") -> torch.Tensor:
    """``x`` when it is a ``torch.Tensor``; else a ValueError naming ``name`` and the type given."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    return x


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


def float_data(x: object, name: str = "x") -> torch.Tensor:
    """``x`` as a floating tensor without NaN/inf (integer tensors are converted to float32)."""
    x = require_tensor(x, name)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    require_finite(x, name)
    return x


def data_matrix(x: object, name: str = "x") -> torch.Tensor:
    """(N,) or (N, D) real data as a float (N, D) tensor, N > 0."""
    x = float_data(x, name)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N,) or (N, D) with N > 0, got {tuple(x.shape)}")
    return x[:, None] if x.ndim == 1 else x  # (N, D)


def binary_rows(x: object, name: str = "x") -> torch.Tensor:
    """(N, ...) binary data as a float (N, D) tensor, D the product of the trailing dims."""
    x = float_data(x, name)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, ...) with N > 0, got {tuple(x.shape)}")
    require_binary(x, name)
    return x.reshape(x.shape[0], -1)  # (N, D)
