"""What every exercise check shares: the verdict, the comparison, and the student-proof calls.

A check takes the student's answer (a number, a tensor or a function), compares it with the
reference, and returns a ``CheckResult`` that prints as a green tick or a red cross with a hint.
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


_TODO = "fill in your answer first (it is still None)."


def _not_answered(name: str, answer: object) -> CheckResult | None:
    """A failed verdict when the answer is still the placeholder, else None."""
    if answer is None or answer is Ellipsis:
        return failed(f"{name}: {_TODO}")
    return None


def _call(name: str, fn: object, *args) -> tuple[object, CheckResult | None]:
    """Call the student's function; a failure to call becomes a failed verdict, not a traceback."""
    if fn is None or not callable(fn):
        return None, failed(f"{name}: expected a function, got {type(fn).__name__}")
    try:
        out = fn(*args)
    except Exception as error:  # the student's code may raise anything
        return None, failed(f"{name}: your function raised {type(error).__name__}: {error}")
    return out, _not_answered(name, out)


def _unless_missing(name: str, answer: object, check) -> CheckResult:
    """The placeholder verdict when ``answer`` is still None, else ``check()``."""
    missing = _not_answered(name, answer)
    return missing if missing is not None else check()


def _allclose(a: object, b: torch.Tensor) -> bool:
    try:
        a = torch.as_tensor(a.detach() if isinstance(a, torch.Tensor) else a, dtype=torch.float64)
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-5, atol=1e-8))
    except (TypeError, RuntimeError, ValueError):
        return False


class _TinyCritic(torch.nn.Module):
    """A small smooth critic on (B, 1, 6, 6) images for the gradient-penalty check."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.w1 = torch.nn.Parameter(torch.randn(36, 16, generator=gen, dtype=torch.float64) / 3)
        self.w2 = torch.nn.Parameter(torch.randn(16, generator=gen, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x.flatten(1) @ self.w1) @ self.w2  # (B,)


def _penalty_result(name: str, got: object, expected: torch.Tensor, expected_grad: torch.Tensor,
                    weight: torch.Tensor, player: str, hint: str, graph_hint: str, success: str) -> CheckResult:
    """A gradient penalty's answer: its value against ``expected``, then the gradient it sends into
    ``weight`` (a parameter of ``player``) against ``expected_grad``. The player minimises the
    penalty, so it must stay differentiable (``create_graph=True`` on the input gradient)."""
    result = compare(name, got, expected.detach(), rtol=1e-6, atol=1e-9, hint=hint)
    if not result:
        return result
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        return failed(f"{name}: the value is right, but it cannot be back-propagated into the {player}: "
                      "return a tensor, and call torch.autograd.grad(..., create_graph=True).")
    try:
        (got_grad,) = torch.autograd.grad(got, [weight])
    except RuntimeError as error:
        return failed(f"{name}: back-propagating it failed ({error}); use create_graph=True.")
    if not torch.allclose(got_grad.double(), expected_grad, rtol=1e-5, atol=1e-9):
        return failed(f"{name}: the value is right but its gradient with respect to the {player}'s weights "
                      f"is not; {graph_hint}")
    return passed(success)
