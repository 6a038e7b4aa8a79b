"""Small helpers shared by the tests (import with ``from helpers import ...``)."""

import torch


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    """A snapshot of a module's parameters."""
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    """Whether two parameter snapshots are equal."""
    return all(torch.equal(x, y) for x, y in zip(a, b))


def tick(dash, n: int = 1) -> None:
    """Send ``n`` Play ticks to a dashboard, as the browser would after a full interval each."""
    for _ in range(n):
        dash._last_tick_end = float("-inf")
        dash.play.value += 1
