"""Checks for the conditional GAN (notebook 08)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, passed, failed, compare, _call, _allclose


def smoothed_d_loss(fn: object) -> CheckResult:
    r"""Notebook 08: ``fn(real, fake, smoothing)`` is D's loss with one-sided label smoothing,
    :math:`\mathbb E[(1-s)\operatorname{softplus}(-\ell_r) + s\operatorname{softplus}(\ell_r)] + \mathbb E[\operatorname{softplus}(\ell_f)]`
    (``losses.smoothed_d_loss``). Tested with large logits too, where sigmoid-then-log breaks, and
    with equal batch sizes, where one cross-entropy over the concatenated batch gives half the sum."""
    from gan_course import losses

    real = torch.tensor([3.0, -1.0, 0.5, 60.0])
    fake = torch.tensor([-2.0, 0.0, 1.5, -60.0])
    hint = ("Binary cross-entropy on logits with real targets 1 - smoothing and fake targets 0, e.g. "
            "F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smoothing)) + the same for fake with 0.")
    for s in (0.1, 0.3):
        got, problem = _call("smoothed D loss", fn, real.clone(), fake.clone(), s)
        if problem is not None:
            return problem
        expected = losses.smoothed_d_loss(real.double(), fake.double(), s)
        mistakes = {
            "Both sides are smoothed: keep the fake target at 0 (one-sided), or D is rewarded for "
            "saying 'real' with probability s where only fakes live.":
                _bce_to(real, 1 - s) + _bce_to(fake, s),
            "Your real target is s; it should be 1 - smoothing.": _bce_to(real, s) + _bce_to(fake, 0.0),
            "That is the loss without smoothing: the real target must be 1 - smoothing.":
                _bce_to(real, 1.0) + _bce_to(fake, 0.0),
            "That is half the loss: one binary cross-entropy over torch.cat([real, fake]) averages over both "
            "batches. D's loss is the *sum* of the two means, mean over the real batch plus mean over the fakes "
            "(as losses.smoothed_d_loss and the trainer compute it).":
                (_bce_to(real, 1 - s) + _bce_to(fake, 0.0)) / 2,
        }
        result = compare(f"smoothed D loss (smoothing={s})", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
        if not result:
            for message, wrong in mistakes.items():
                if _allclose(got, wrong):
                    return failed(f"smoothed D loss (smoothing={s}): {message}")
            try:
                if not math.isfinite(float(torch.as_tensor(got))):
                    return failed("smoothed D loss: you got inf or NaN for logits of ±60. Work with logits "
                                  "(softplus, or binary_cross_entropy_with_logits), not log(sigmoid(...)).")
            except (TypeError, ValueError, RuntimeError):
                pass
            return result
    return passed("smoothed D loss is right (it matches losses.smoothed_d_loss).")


def _bce_to(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of logits against one constant target (a helper of the checks)."""
    logits = logits.double()
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def label_plane(fn: object) -> CheckResult:
    """Notebook 08: ``fn(x (B, 1, 28, 28), y (B,), embed nn.Embedding(10, 784))`` stacks each
    image with its label's embedding as a second 28x28 plane: (B, 2, 28, 28), image first."""
    gen = torch.Generator().manual_seed(8)
    x = torch.rand(5, 1, 28, 28, generator=gen)  # (B, 1, 28, 28)
    y = torch.tensor([3, 0, 9, 3, 7])  # (B,)
    embed = torch.nn.Embedding(10, 28 * 28)
    with torch.no_grad():
        embed.weight.copy_(torch.randn(10, 28 * 28, generator=gen))
        got, problem = _call("input with label plane", fn, x.clone(), y.clone(), embed)
    if problem is not None:
        return problem
    plane = embed.weight.detach()[y].view(5, 1, 28, 28).double()  # (B, 1, 28, 28)
    x = x.double()
    expected = torch.cat([x, plane], dim=1)  # (B, 2, 28, 28)
    hint = "embed(y) is (B, 784): view it as (B, 1, 28, 28), then torch.cat([x, plane], dim=1)."
    shape = tuple(got.shape) if isinstance(got, torch.Tensor) else None
    if shape == (10, 1, 28, 28):
        hint = "You stacked along the batch (dim=0): the plane is a second *channel*, so concatenate along dim=1."
    elif shape == (5, 1, 28, 56) or shape == (5, 1, 56, 28):
        hint = "You put the plane beside the image (a spatial dim): concatenate along the channel dim=1."
    elif shape == (5, 2, 28, 28) and _allclose(got, torch.cat([plane, x], dim=1)):
        hint = "Right shape, but the plane comes first: put the image first, torch.cat([x, plane], dim=1), as nets.DCGANDiscriminator does."
    elif shape == (5, 2, 28, 28):
        hint = ("Right shape, wrong values: each sample's plane must be the embedding row of its own label, "
                "embed(y).view(B, 1, 28, 28) (a transpose or a view in the wrong order mixes samples).")
    if shape is not None and shape != tuple(expected.shape):
        return failed(f"input with label plane: expected shape {tuple(expected.shape)}, got {shape}. {hint}")
    return compare("input with label plane", got.detach() if isinstance(got, torch.Tensor) else got, expected,
                   rtol=0, atol=1e-6, hint=hint)


def _requested_test_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Requests 0..9, 20 each, and predictions that often say 1 or 7, so per-row and per-column shares differ."""
    gen = torch.Generator().manual_seed(80)
    y_requested = torch.arange(10).repeat_interleave(20)  # (200,)
    y_predicted = y_requested.clone()
    wrong = torch.rand(200, generator=gen) < 0.1 + 0.05 * y_requested  # (200,) more mistakes for higher digits
    y_predicted[wrong] = torch.where(torch.rand(int(wrong.sum()), generator=gen) < 0.6,
                                     torch.tensor(1), torch.tensor(7))
    return y_requested, y_predicted


def per_digit_accuracy(fn: object) -> CheckResult:
    r"""Notebook 08: ``fn(y_requested (N,), y_predicted (N,))`` returns (10,): entry k is the share
    of the samples *asked for* k that the classifier calls k, :math:`C_{kk} / \sum_j C_{kj}`."""
    from gan_course.metrics import confusion_matrix

    y_requested, y_predicted = _requested_test_case()
    got, problem = _call("per-digit accuracy", fn, y_requested.clone(), y_predicted.clone())
    if problem is not None:
        return problem
    counts = confusion_matrix(y_requested, y_predicted, 10).double()  # (10, 10) rows: requested
    expected = counts.diag() / counts.sum(dim=1)  # (10,)
    hint = "For each k: among the samples with y_requested == k, the fraction with y_predicted == k."
    if _allclose(got, counts.diag() / counts.sum(dim=0).clamp_min(1)):
        hint = ("You divided by how often each digit was *predicted* (a column of the confusion matrix): that "
                "is the classifier's precision. Divide by how often it was *requested* (a row).")
    elif _allclose(got, counts.diag()):
        hint = "Those are counts: divide each by the number of samples requested for that digit."
    elif _allclose(got, 100 * expected):
        hint = "Those are percentages: give fractions in [0, 1]."
    elif isinstance(got, (int, float)) or (isinstance(got, torch.Tensor) and got.numel() == 1):
        hint = "Give one accuracy per digit, a tensor of shape (10,), not the overall one."
    return compare("per-digit accuracy", got, expected, rtol=1e-6, atol=1e-9, hint=hint)
