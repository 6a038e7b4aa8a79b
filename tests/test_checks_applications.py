"""Notebook 10's self-checks accept right answers written several ways and reject planted mistakes,
each with its own hint."""

import torch
import torch.nn.functional as F

from gan_course import aae, checks, losses, semi_supervised, text2digit

# ---- exercise 1: the semi-supervised discriminator's loss ---------------------------------------


def semi_by_k_plus_one(labelled, y, unlabelled, fake):
    """Written with an explicit (K+1)-th logit fixed at 0 and log_softmax."""
    pad = lambda t: torch.cat([t, torch.zeros(len(t), 1, dtype=t.dtype)], dim=1)  # noqa: E731  (B, K + 1)
    supervised = F.cross_entropy(labelled, y)
    log_p_fake_unl = F.log_softmax(pad(unlabelled), dim=1)[:, -1]  # log 1/(Z+1)
    log_d_unl = torch.log(-torch.expm1(log_p_fake_unl))  # log(1 - 1/(Z+1)) = log D(x)
    return supervised - log_d_unl.mean() - F.log_softmax(pad(fake), dim=1)[:, -1].mean()


def semi_by_softplus(labelled, y, unlabelled, fake):
    lz_u, lz_f = torch.logsumexp(unlabelled, 1), torch.logsumexp(fake, 1)
    return F.cross_entropy(labelled, y) - lz_u.mean() + F.softplus(lz_u).mean() + F.softplus(lz_f).mean()


def test_semi_supervised_d_loss_accepts_references():
    assert checks.semi_supervised_d_loss(semi_supervised.semi_supervised_d_loss)
    assert checks.semi_supervised_d_loss(semi_by_k_plus_one)
    assert checks.semi_supervised_d_loss(semi_by_softplus)


def test_semi_supervised_d_loss_rejects_mistakes():
    ce = F.cross_entropy
    unl = lambda lu: F.softplus(-torch.logsumexp(lu, 1)).mean()  # noqa: E731
    fk = lambda lf: F.softplus(torch.logsumexp(lf, 1)).mean()  # noqa: E731
    no_fake = checks.semi_supervised_d_loss(lambda ll, y, lu, lf: ce(ll, y) + unl(lu))
    assert not no_fake and "fake term is missing" in no_fake.message
    no_unl = checks.semi_supervised_d_loss(lambda ll, y, lu, lf: ce(ll, y) + fk(lf))
    assert not no_unl and "unlabelled term is missing" in no_unl.message
    swapped = checks.semi_supervised_d_loss(lambda ll, y, lu, lf: ce(ll, y) + F.softplus(torch.logsumexp(lu, 1)).mean()
                                            + F.softplus(-torch.logsumexp(lf, 1)).mean())
    assert not swapped and "swapped" in swapped.message
    k_plus_one_ce = checks.semi_supervised_d_loss(
        lambda ll, y, lu, lf: ce(torch.cat([ll, torch.zeros(len(ll), 1, dtype=ll.dtype)], 1), y) + unl(lu) + fk(lf))
    assert not k_plus_one_ce and "K real classes" in k_plus_one_ce.message
    by_max = checks.semi_supervised_d_loss(lambda ll, y, lu, lf: ce(ll, y) + F.softplus(-lu.max(1).values).mean()
                                           + F.softplus(lf.max(1).values).mean())
    assert not by_max and "largest logit" in by_max.message
    halved = checks.semi_supervised_d_loss(lambda ll, y, lu, lf: ce(ll, y) + 0.5 * (unl(lu) + fk(lf)))
    assert not halved and "halves" in halved.message
    by_exp = checks.semi_supervised_d_loss(
        lambda ll, y, lu, lf: ce(ll, y) - torch.log(lu.exp().sum(1) / (lu.exp().sum(1) + 1)).mean()
        + torch.log(lf.exp().sum(1) + 1).mean())
    assert by_exp.passed is False and "log space" in by_exp.message  # right on small logits, inf on large ones
    assert not checks.semi_supervised_d_loss(None)
    assert "still None" in checks.semi_supervised_d_loss(lambda ll, y, lu, lf: None).message
    assert "raised" in checks.semi_supervised_d_loss(lambda ll, lu, lf: 0.0).message


# ---- exercise 2: the matching-aware discriminator ------------------------------------------------


def matching_by_bce(rr, rw, fr):
    bce = F.binary_cross_entropy_with_logits
    return bce(rr, torch.ones_like(rr)) + (bce(rw, torch.zeros_like(rw)) + bce(fr, torch.zeros_like(fr))) / 2


def test_matching_aware_d_loss_accepts_references():
    assert checks.matching_aware_d_loss(text2digit.matching_aware_d_loss)
    assert checks.matching_aware_d_loss(matching_by_bce)
    assert checks.matching_aware_d_loss(lambda rr, rw, fr: losses.minimax_d_loss(rr, torch.cat([rw, fr]))
                                        if len(rw) == len(fr) else None)  # equal batches: one mean over both


def test_matching_aware_d_loss_rejects_mistakes():
    sp = F.softplus
    equal = checks.matching_aware_d_loss(lambda rr, rw, fr: sp(-rr).mean() + sp(rw).mean() + sp(fr).mean())
    assert not equal and "1/2" in equal.message
    wrong_real = checks.matching_aware_d_loss(lambda rr, rw, fr: sp(-rr).mean() + 0.5 * (sp(-rw).mean() + sp(fr).mean()))
    assert not wrong_real and "mismatch" in wrong_real.message
    no_wrong = checks.matching_aware_d_loss(lambda rr, rw, fr: sp(-rr).mean() + 0.5 * sp(fr).mean())
    assert not no_wrong and "wrong-caption term is missing" in no_wrong.message
    plain = checks.matching_aware_d_loss(lambda rr, rw, fr: losses.minimax_d_loss(rr, fr))
    assert not plain and "plain conditional" in plain.message
    flipped = checks.matching_aware_d_loss(lambda rr, rw, fr: sp(rr).mean() + 0.5 * (sp(-rw).mean() + sp(-fr).mean()))
    assert not flipped and "flipped" in flipped.message
    via_sigmoid = checks.matching_aware_d_loss(
        lambda rr, rw, fr: -torch.log(torch.sigmoid(rr)).mean()
        - 0.5 * (torch.log(1 - torch.sigmoid(rw)).mean() + torch.log(1 - torch.sigmoid(fr)).mean()))
    assert not via_sigmoid and "logits" in via_sigmoid.message
    assert not checks.matching_aware_d_loss(None)


# ---- exercise 3: the adversarial autoencoder's code discriminator --------------------------------


def test_code_discriminator_loss_accepts_references():
    assert checks.code_discriminator_loss(aae.code_discriminator_loss)
    assert checks.code_discriminator_loss(losses.minimax_d_loss)
    bce = F.binary_cross_entropy_with_logits
    assert checks.code_discriminator_loss(lambda p, c: bce(p, torch.ones_like(p)) + bce(c, torch.zeros_like(c)))


def test_code_discriminator_loss_rejects_mistakes():
    sp = F.softplus
    swapped = checks.code_discriminator_loss(lambda p, c: sp(p).mean() + sp(-c).mean())
    assert not swapped and "roles are swapped" in swapped.message
    encoder = checks.code_discriminator_loss(lambda p, c: sp(-c).mean())
    assert not encoder and "encoder's loss" in encoder.message
    one_mean = checks.code_discriminator_loss(
        lambda p, c: F.binary_cross_entropy_with_logits(torch.cat([p, c]), torch.cat([torch.ones_like(p), torch.zeros_like(c)])))
    assert not one_mean and "sum" in one_mean.message
    only_prior = checks.code_discriminator_loss(lambda p, c: sp(-p).mean())
    assert not only_prior and "code term is missing" in only_prior.message
    via_sigmoid = checks.code_discriminator_loss(lambda p, c: -torch.log(torch.sigmoid(p)).mean()
                                                 - torch.log(1 - torch.sigmoid(c)).mean())
    assert not via_sigmoid and "logits" in via_sigmoid.message
    assert "raised" in checks.code_discriminator_loss(lambda p: 0.0).message
    assert not checks.code_discriminator_loss(lambda p, c: torch.tensor(1.0))


def test_every_check_is_exported():
    for name in ("semi_supervised_d_loss", "matching_aware_d_loss", "code_discriminator_loss"):
        assert name in checks.__all__ and callable(getattr(checks, name))
