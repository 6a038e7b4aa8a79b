"""Checks for context-aware recommendation: recall@k, post-filtering, the E step (appendix B1)."""

from __future__ import annotations

import torch

from gan_course.checks.core import CheckResult, _allclose, _call, compare, failed, passed


def _as_double(value: object) -> torch.Tensor | None:
    try:
        return torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None


def _ranking_case() -> tuple[torch.Tensor, torch.Tensor, int]:
    """Four queries over eight items, no ties, one query with more targets than k."""
    scores = torch.tensor([[8., 7., 6., 5., 4., 3., 2., 1.],
                           [1., 2., 3., 4., 5., 6., 7., 8.],
                           [5., 1., 8., 2., 7., 3., 6., 4.],
                           [3., 8., 1., 7., 2., 6., 4., 5.]], dtype=torch.float64)
    targets = torch.zeros(4, 8, dtype=torch.bool)
    targets[0, [0, 5]] = True  # one of two in the top 3
    targets[1, [0, 1]] = True  # both at the bottom
    targets[2, [0, 2, 4, 6, 7]] = True  # five targets, the top 3 are all targets
    targets[3, [1]] = True  # the single target is first
    return scores, targets, 3


def recall_at_k(fn: object) -> CheckResult:
    r"""Appendix B1: ``fn(scores (Q, I), targets (Q, I) bool, k)`` returns the mean recall@k.

    .. math:: \mathrm{recall@}k = \frac1Q\sum_q \frac{|\mathrm{top}_k(q)\cap T_q|}{|T_q|}
    """
    from gan_course import recsys

    scores, targets, k = _ranking_case()
    got, problem = _call("recall@k", fn, scores.clone(), targets.clone(), k)
    if problem is not None:
        return problem
    expected = recsys.recall_at_k(scores, targets, k)
    hits = targets.gather(1, scores.topk(k, dim=1).indices).sum(1).double()  # (Q,)
    size = targets.sum(1).double()  # (Q,)
    worst = targets.gather(1, scores.topk(k, dim=1, largest=False).indices).sum(1).double()
    hint = "Take each query's k best-scored items (topk), count the targets among them, divide by |T|, average."
    value = _as_double(got)
    if value is not None and value.shape == ():
        mistakes = {
            float((hits / k).mean()): "That is precision@k (hits / k); recall divides by the number of targets |T|.",
            float((hits / size.clamp(max=k)).mean()): ("You divided by min(k, |T|); recall divides by |T|, so a "
                                                       "query with more targets than k cannot reach 1."),
            float((worst / size).mean()): "Those are the k *lowest* scores: rank in descending order (topk, largest=True).",
            float((hits / size).sum()): "Average over the queries (mean), do not sum.",
        }
        for wrong, text in mistakes.items():
            if abs(float(value) - wrong) < 1e-6:
                hint = text
    return compare("recall@k", got, expected, rtol=1e-6, atol=1e-9, hint=hint)


def _post_filter_case() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    log_user = torch.log_softmax(torch.randn(3, 6, generator=gen, dtype=torch.float64), 1)  # (B, I)
    log_context = torch.log_softmax(2 * torch.randn(3, 6, generator=gen, dtype=torch.float64), 1)  # (B, I)
    log_item = torch.log_softmax(torch.randn(6, generator=gen, dtype=torch.float64), 0)  # (I,)
    return log_user, log_context, log_item


def post_filter(fn: object) -> CheckResult:
    r"""Appendix B1: ``fn(log_p_user (B, I), log_p_context (B, I), log_p_item (I,))`` returns scores (B, I)

    whose softmax is :math:`p(i\mid u,c) \propto p(i\mid u)\,p(i\mid c)/p(i)`. Any constant per
    row is accepted (log-scores), and so are probabilities proportional to it.
    """
    log_user, log_context, log_item = _post_filter_case()
    got, problem = _call("post-filter scores", fn, log_user.clone(), log_context.clone(), log_item.clone())
    if problem is not None:
        return problem
    expected = torch.log_softmax(log_user + log_context - log_item, 1)  # (B, I)
    value = _as_double(got)
    if value is None or value.shape != expected.shape:
        shape = None if value is None else tuple(value.shape)
        return failed(f"post-filter scores: expected a tensor of shape {tuple(expected.shape)}, got {shape}")
    if not torch.isfinite(value).all():
        return failed("post-filter scores: your answer contains NaN or inf; work with the log-probabilities given.")
    candidates = [torch.log_softmax(value, 1)]
    if (value > 0).all():
        candidates.append(torch.log_softmax(torch.log(value), 1))  # probabilities, normalised or not
    if any(_allclose(c, expected) for c in candidates):
        return passed("The post-filter is right: p(i|u) p(i|c) / p(i), renormalised.")
    mistakes = [
        (log_user + log_context, "Divide by p(i): p(i|u) and p(i|c) both contain the item's popularity, "
                                 "so the product counts it twice (subtract log p(i))."),
        (log_user + log_context + log_item, "Divide by p(i), do not multiply: subtract log p(i)."),
        (torch.log(log_user.exp() + log_context.exp()), "Multiply the probabilities (add the logs); adding "
                                                         "probabilities is a mixture, not Bayes' rule."),
        (log_user, "The context is missing: re-weight by p(i|c) / p(i)."),
        (log_user - log_context + log_item, "The ratio is upside down: multiply by p(i|c) and divide by p(i)."),
    ]
    for wrong, text in mistakes:
        wrong = torch.log_softmax(wrong, 1)
        if any(_allclose(c, wrong) for c in candidates):
            return failed(f"post-filter scores: {text}")
    return compare("post-filter scores (as log-probabilities)", candidates[0], expected, rtol=1e-6, atol=1e-9,
                   hint="Add log p(i|u) and log p(i|c), subtract log p(i).")


def _e_step_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Log-likelihoods of whole sessions: thousands of nats below zero, so exp() underflows to 0."""
    gen = torch.Generator().manual_seed(4)
    log_prior = torch.log(torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))
    log_lik = -2000 + 3 * torch.randn(5, 3, generator=gen, dtype=torch.float64)  # (S, K)
    log_lik[0] = torch.tensor([-2000.0, -2000.5, -2000.2], dtype=torch.float64)  # the prior tips the balance
    return log_prior, log_lik


def latent_e_step(fn: object) -> CheckResult:
    r"""Appendix B1: ``fn(log_prior (K,), log_likelihood (S, K))`` returns the responsibilities (S, K).

    .. math:: r_{sm} = \frac{\pi_m \prod_j p(i_{sj}\mid u_s, c_s, m)}{\sum_{m'} \pi_{m'} \prod_j p(i_{sj}\mid u_s, c_s, m')}

    Tested with session log-likelihoods near -2000 nats, where ``exp`` underflows to 0.
    """
    from gan_course.recsys_models import latent_e_step as reference

    log_prior, log_lik = _e_step_case()
    got, problem = _call("responsibilities", fn, log_prior.clone(), log_lik.clone())
    if problem is not None:
        return problem
    expected = reference(log_prior, log_lik).exp()
    hint = "Add log pi_m to each row, then normalise each row with log-sum-exp and exponentiate."
    value = _as_double(got)
    if value is not None and value.shape == expected.shape:
        joint = log_prior + log_lik
        if not torch.isfinite(value).all():
            hint = ("exp(-2000) underflows to 0, and 0 / 0 is NaN: normalise in log space "
                    "(subtract torch.logsumexp over the row) before exponentiating.")
        elif _allclose(value, torch.softmax(log_lik, 1)):
            hint = "The prior is missing: add log pi_m before normalising."
        elif _allclose(value, torch.softmax(joint, 0)):
            hint = "Normalise over the latent values of each session (dim=1), not over the sessions."
        elif _allclose(value, torch.log_softmax(joint, 1)):
            hint = "These are log-responsibilities: return their exp (each row must sum to 1)."
    return compare("responsibilities", got, expected, rtol=1e-6, atol=1e-9, hint=hint)
