"""Checks for notebook 10, what GANs are used for: the semi-supervised discriminator's loss, the
matching-aware discriminator of text to image, and the adversarial autoencoder's code discriminator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gan_course.checks.core import CheckResult, _allclose, _call, compare, failed, passed


def _finite(got: object) -> bool:
    try:
        return math.isfinite(float(torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got)))
    except (TypeError, ValueError, RuntimeError):
        return True  # not a number at all: compare() says so


def _verdict(name: str, got: object, expected: torch.Tensor, mistakes: dict[str, torch.Tensor], hint: str,
             unstable: str) -> CheckResult | None:
    """None when ``got`` matches ``expected``; else the hint of the planted mistake it matches, or
    the instability hint for inf/NaN, or the generic comparison."""
    result = compare(name, got, expected, rtol=1e-5, atol=1e-6, hint=hint)
    if result:
        return None
    for message, wrong in mistakes.items():
        if _allclose(got, wrong):
            return failed(f"{name}: {message}")
    if not _finite(got):
        return failed(f"{name}: you got inf or NaN for large logits. {unstable}")
    return result


# --------------------------------------------------------------------------------------------
# Semi-supervised learning: K logits and an implicit fake class
# --------------------------------------------------------------------------------------------


def _semi_case(big: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(10)
    scale = 50.0 if big else 2.0  # large: exp overflows float32 beyond 88
    labelled = torch.randn(6, 10, generator=gen) * scale  # (B_l, K), float32 as a network gives them
    y = torch.tensor([3, 0, 9, 3, 7, 1])
    unlabelled = torch.randn(5, 10, generator=gen) * scale  # (B_u, K)
    fake = torch.randn(4, 10, generator=gen) * scale - (2.0 if not big else 20.0)  # (B_f, K)
    return labelled, y, unlabelled, fake


def semi_supervised_d_loss(fn: object) -> CheckResult:
    r"""Notebook 10: ``fn(labelled_logits (B_l, K), y (B_l,), unlabelled_logits (B_u, K), fake_logits (B_f, K))``
    is the discriminator's loss of Salimans et al. (2016): cross-entropy over the K classes on the
    labelled digits, plus :math:`\mathbb E\operatorname{softplus}(-\log Z(x))` on unlabelled ones and
    :math:`\mathbb E\operatorname{softplus}(\log Z(G(z)))` on fakes, :math:`\log Z = \operatorname{logsumexp}(\ell)`
    (``semi_supervised.semi_supervised_d_loss``). Tested with logits beyond ±100 too."""
    from gan_course.semi_supervised import semi_supervised_d_loss as reference

    name = "semi-supervised D loss"
    hint = ("Three terms: F.cross_entropy(labelled, y), then F.softplus(-torch.logsumexp(unlabelled, 1)).mean() "
            "and F.softplus(torch.logsumexp(fake, 1)).mean().")
    for big in (False, True):
        ll, y, lu, lf = _semi_case(big)
        got, problem = _call(name, fn, ll.clone(), y.clone(), lu.clone(), lf.clone())
        if problem is not None:
            return problem
        ll, lu, lf = ll.double(), lu.double(), lf.double()  # the references, in float64
        sup, lz_u, lz_f = F.cross_entropy(ll, y), torch.logsumexp(lu, 1), torch.logsumexp(lf, 1)
        unl, fake = F.softplus(-lz_u).mean(), F.softplus(lz_f).mean()
        pad = lambda t: torch.cat([t, torch.zeros(len(t), 1, dtype=t.dtype)], dim=1)  # noqa: E731  (K + 1 logits)
        mistakes = {
            "the fake term is missing: D must also push log Z down on generated digits, "
            "+ F.softplus(torch.logsumexp(fake, 1)).mean().": sup + unl,
            "the unlabelled term is missing: the unlabelled digits are real, so "
            "+ F.softplus(-torch.logsumexp(unlabelled, 1)).mean().": sup + fake,
            "the labelled term is missing: F.cross_entropy(labelled_logits, y) over the K classes.": unl + fake,
            "the signs of the unlabelled and fake terms are swapped: a real digit should make Z(x) large "
            "(-log D(x) = softplus(-log Z)), a fake one small (softplus(+log Z)).":
                sup + F.softplus(lz_u).mean() + F.softplus(-lz_f).mean(),
            "the labelled term conditions on the digit being real: cross-entropy over the K real classes "
            "(F.cross_entropy(labelled, y)), not over K+1 with the fake class.":
                F.cross_entropy(pad(ll), y) + unl + fake,
            "use log Z = torch.logsumexp(logits, 1), not the largest logit: D(x) = Z/(Z+1) sums over all classes.":
                sup + F.softplus(-lu.max(1).values).mean() + F.softplus(lf.max(1).values).mean(),
            "use log Z = torch.logsumexp(logits, 1), not the mean of the logits.":
                sup + F.softplus(-lu.mean(1)).mean() + F.softplus(lf.mean(1)).mean(),
            "the unlabelled and fake terms have weight 1 here (Salimans et al.'s code halves them; the check "
            "follows the equation).": sup + 0.5 * (unl + fake),
        }
        wrong = _verdict(f"{name}{' (large logits)' if big else ''}", got, reference(ll, y, lu, lf), mistakes, hint,
                         "Work in log space: log Z = torch.logsumexp(logits, 1), and -log(Z/(Z+1)) = softplus(-log Z), "
                         "never torch.exp(logits).sum() or log(sigmoid(...)).")
        if wrong is not None:
            return wrong
    return passed(f"{name} is right (it matches semi_supervised.semi_supervised_d_loss, large logits too).")


# --------------------------------------------------------------------------------------------
# Text to image: the matching-aware discriminator (GAN-CLS)
# --------------------------------------------------------------------------------------------


def matching_aware_d_loss(fn: object) -> CheckResult:
    r"""Notebook 10: ``fn(real_right, real_wrong, fake_right)`` (logits) is GAN-CLS's discriminator
    loss (Reed et al., 2016): :math:`\mathbb E\operatorname{softplus}(-\ell_{x,t}) + \tfrac12(\mathbb E
    \operatorname{softplus}(\ell_{x,\hat t}) + \mathbb E\operatorname{softplus}(\ell_{G(z,t),t}))`
    (``text2digit.matching_aware_d_loss``). Tested with logits of ±60 too."""
    from gan_course.text2digit import matching_aware_d_loss as reference

    name = "matching-aware D loss"
    hint = ("Real image + its caption is 'real' (target 1); real image + wrong caption and fake image + its caption "
            "are both 'fake' (target 0), each with weight 1/2: softplus(-rr).mean() + 0.5 * (softplus(rw).mean() "
            "+ softplus(fr).mean()).")
    for big in (False, True):
        gen = torch.Generator().manual_seed(16)
        s = 60.0 if big else 1.5
        rr, rw, fr = (torch.randn(n, generator=gen) * s for n in (5, 5, 5))  # float32, as a network gives them
        got, problem = _call(name, fn, rr.clone(), rw.clone(), fr.clone())
        if problem is not None:
            return problem
        rr, rw, fr = rr.double(), rw.double(), fr.double()  # the references, in float64
        sp = F.softplus
        mistakes = {
            "the two 'fake' kinds get 1/2 each in Reed et al.'s loss (so real and 'not matching' weigh the same); "
            "you gave each weight 1.": sp(-rr).mean() + sp(rw).mean() + sp(fr).mean(),
            "a real image with a wrong caption is a mismatch: D must call it fake (softplus(+logit)), not real.":
                sp(-rr).mean() + 0.5 * (sp(-rw).mean() + sp(fr).mean()),
            "the wrong-caption term is missing: without it D only checks realism, and the text is free to be "
            "ignored. Add 0.5 * softplus(real_wrong).mean().": sp(-rr).mean() + 0.5 * sp(fr).mean(),
            "the wrong-caption term is missing (and the fake term has weight 1): that is the plain conditional "
            "GAN loss. GAN-CLS adds real image + wrong caption as a third, 'fake' kind.": sp(-rr).mean() + sp(fr).mean(),
            "the signs are flipped: D wants a large logit for real+right (softplus(-logit)) and small ones for "
            "the two others (softplus(+logit)).": sp(rr).mean() + 0.5 * (sp(-rw).mean() + sp(-fr).mean()),
        }
        wrong = _verdict(f"{name}{' (logits ±60)' if big else ''}", got, reference(rr, rw, fr), mistakes, hint,
                         "Work with logits (F.softplus or F.binary_cross_entropy_with_logits), not log(sigmoid(...)).")
        if wrong is not None:
            return wrong
    return passed(f"{name} is right (it matches text2digit.matching_aware_d_loss).")


# --------------------------------------------------------------------------------------------
# The adversarial autoencoder: a discriminator on codes
# --------------------------------------------------------------------------------------------


def code_discriminator_loss(fn: object) -> CheckResult:
    r"""Notebook 10: ``fn(prior_logits, code_logits)`` is the AAE's code discriminator loss: samples of
    the prior :math:`\mathcal N(0, I)` are real, the encoder's codes are fake,
    :math:`\mathbb E\operatorname{softplus}(-\ell_{prior}) + \mathbb E\operatorname{softplus}(\ell_{code})`
    (``aae.code_discriminator_loss``), with batches of different sizes and logits of ±60."""
    from gan_course.aae import code_discriminator_loss as reference

    name = "code discriminator loss"
    hint = ("Prior samples are 'real' (target 1), codes 'fake' (target 0): "
            "F.softplus(-prior_logits).mean() + F.softplus(code_logits).mean().")
    for big in (False, True):
        gen = torch.Generator().manual_seed(17)
        s = 60.0 if big else 1.5
        prior, code = torch.randn(6, generator=gen) * s, torch.randn(4, generator=gen) * s  # float32
        got, problem = _call(name, fn, prior.clone(), code.clone())
        if problem is not None:
            return problem
        prior, code = prior.double(), code.double()  # the references, in float64
        sp = F.softplus
        both = torch.cat([prior, code])
        targets = torch.cat([torch.ones_like(prior), torch.zeros_like(code)])
        mistakes = {
            "the roles are swapped: the prior N(0, I) plays the data (real, target 1) and the encoder's codes "
            "play the generator's output (fake, target 0).": sp(prior).mean() + sp(-code).mean(),
            "that is the encoder's loss (it wants its codes called real), not the discriminator's.": sp(-code).mean(),
            "one cross-entropy over torch.cat([prior, code]) weighs each batch by its size and averages: the "
            "loss is the *sum* of the two means, one over the prior samples and one over the codes.":
                F.binary_cross_entropy_with_logits(both, targets),
            "the code term is missing: the discriminator must also learn to call the encoder's codes fake.":
                sp(-prior).mean(),
        }
        wrong = _verdict(f"{name}{' (logits ±60)' if big else ''}", got, reference(prior, code), mistakes, hint,
                         "Work with logits (F.softplus or F.binary_cross_entropy_with_logits), not log(sigmoid(...)).")
        if wrong is not None:
            return wrong
    return passed(f"{name} is right (it matches aae.code_discriminator_loss, the GAN loss with the prior as data).")
