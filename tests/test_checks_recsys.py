"""Appendix B1's self-checks accept the reference answers and reject planted mistakes with their own hint."""

import torch

from gan_course import checks


def reference_recall(scores, targets, k):
    hits = targets.gather(1, scores.topk(k, dim=1).indices).sum(1)
    return (hits / targets.sum(1)).mean()


def test_recall_at_k():
    assert checks.recall_at_k(reference_recall)
    assert checks.recall_at_k(lambda s, t, k: float(reference_recall(s, t, k)))  # a float is fine
    by_argsort = lambda s, t, k: (t.gather(1, s.argsort(1, descending=True)[:, :k]).sum(1) / t.sum(1)).mean()
    assert checks.recall_at_k(by_argsort)
    precision = checks.recall_at_k(lambda s, t, k: (t.gather(1, s.topk(k, 1).indices).sum(1) / k).mean())
    assert not precision and "precision@k" in precision.message
    capped = checks.recall_at_k(
        lambda s, t, k: (t.gather(1, s.topk(k, 1).indices).sum(1) / t.sum(1).clamp(max=k)).mean())
    assert not capped and "min(k, |T|)" in capped.message
    worst = checks.recall_at_k(
        lambda s, t, k: (t.gather(1, s.topk(k, 1, largest=False).indices).sum(1) / t.sum(1)).mean())
    assert not worst and "lowest" in worst.message
    summed = checks.recall_at_k(lambda s, t, k: (t.gather(1, s.topk(k, 1).indices).sum(1) / t.sum(1)).sum())
    assert not summed and "mean" in summed.message
    assert "still None" in checks.recall_at_k(lambda s, t, k: None).message
    assert "raised" in checks.recall_at_k(lambda s, t, k: 1 / 0).message
    assert not checks.recall_at_k(None)


def test_post_filter():
    assert checks.post_filter(lambda lu, lc, li: lu + lc - li)
    assert checks.post_filter(lambda lu, lc, li: lu + lc - li + 7.0)  # a constant per row drops out
    assert checks.post_filter(lambda lu, lc, li: torch.softmax(lu + lc - li, 1))  # probabilities
    assert checks.post_filter(lambda lu, lc, li: lu.exp() * lc.exp() / li.exp())  # unnormalised probabilities
    twice = checks.post_filter(lambda lu, lc, li: lu + lc)
    assert not twice and "counts it twice" in twice.message
    times = checks.post_filter(lambda lu, lc, li: lu + lc + li)
    assert not times and "do not multiply" in times.message
    mixture = checks.post_filter(lambda lu, lc, li: lu.exp() + lc.exp())
    assert not mixture and "mixture" in mixture.message
    no_context = checks.post_filter(lambda lu, lc, li: lu)
    assert not no_context and "context is missing" in no_context.message
    flipped = checks.post_filter(lambda lu, lc, li: lu - lc + li)
    assert not flipped and "upside down" in flipped.message
    assert "shape" in checks.post_filter(lambda lu, lc, li: lu[0]).message
    assert "still None" in checks.post_filter(lambda lu, lc, li: None).message


def test_latent_e_step():
    def reference(log_prior, log_lik):
        joint = log_prior + log_lik
        return (joint - torch.logsumexp(joint, 1, keepdim=True)).exp()

    assert checks.latent_e_step(reference)
    assert checks.latent_e_step(lambda lp, ll: torch.softmax(lp + ll, dim=1))
    naive = checks.latent_e_step(lambda lp, ll: (lp + ll).exp() / (lp + ll).exp().sum(1, keepdim=True))
    assert not naive and "underflows" in naive.message
    no_prior = checks.latent_e_step(lambda lp, ll: torch.softmax(ll, 1))
    assert not no_prior and "prior is missing" in no_prior.message
    wrong_dim = checks.latent_e_step(lambda lp, ll: torch.softmax(lp + ll, 0))
    assert not wrong_dim and "dim=1" in wrong_dim.message
    logs = checks.latent_e_step(lambda lp, ll: torch.log_softmax(lp + ll, 1))
    assert not logs and "log-responsibilities" in logs.message
    assert "still None" in checks.latent_e_step(lambda lp, ll: None).message
    assert not checks.latent_e_step("not a function")
