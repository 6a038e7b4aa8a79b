"""Self-checks for the notebooks' exercises.

Each check takes the student's answer (a number, a tensor or a function), compares it with the
reference, and returns a ``CheckResult`` that prints as a green tick or a red cross with a hint.
A check must accept the reference solution and reject the common mistakes; tests make sure of it.

In a notebook::

    from gan_course import checks
    checks.gaussian_mle(my_mean, my_var)   # shows ✓ or ✗ with a hint
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one self-check; truthy when it passed."""

    passed: bool  # did the answer match the reference?
    message: str  # what to tell the student

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "✓" if self.passed else "✗"
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px;color:{colour}">'
                f"<b>{mark}</b> {html.escape(self.message)}</div>")


def passed(message: str) -> CheckResult:
    """A passing verdict."""
    return CheckResult(True, message)


def failed(message: str) -> CheckResult:
    """A failing verdict; the message should say what to look at."""
    return CheckResult(False, message)


def compare(name: str, got: object, expected: torch.Tensor | float, rtol: float = 1e-4,
            atol: float = 1e-6, hint: str = "") -> CheckResult:
    """Compare a numeric answer with the reference, shape first, then values.

    >>> compare("the mean", 0.5, 0.5).passed
    True
    >>> compare("the mean", 0.4, 0.5).passed
    False
    """
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    try:
        got_t = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got,
                                dtype=torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        return failed(f"{name}: expected a number or tensor, got {type(got).__name__}")
    expected_t = expected_t.cpu()
    if got_t.shape != expected_t.shape:
        return failed(f"{name}: expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}")
    if not torch.isfinite(got_t).all():
        return failed(f"{name}: your answer contains NaN or inf. {hint}".strip())
    if torch.allclose(got_t, expected_t, rtol=rtol, atol=atol):
        return passed(f"{name} is right.")
    error = (got_t - expected_t).abs().max().item()
    return failed(f"{name} is off by up to {error:.3g}. {hint}".strip())
