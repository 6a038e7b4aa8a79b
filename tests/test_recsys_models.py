"""Recommenders of appendix B1: the likelihood, training, pre/post-filtering and EM for a latent context."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from gan_course.recsys_models import (ContextualSoftmax, FitConfig, PreFilter, aggregate, fit_latent_context,
                                      fit_softmax, infer_latent, initial_responsibilities, item_log_probs,
                                      latent_e_step, latent_log_likelihood, latent_m_step, latent_scores,
                                      post_filter_scores, residual_features, session_counts_from_items,
                                      softmax_nll)

TINY = FitConfig(dim=4, steps=5, lr=0.05, reg=1.0)


def random_sessions(s=30, users=5, items=12, length=4, sizes=(2,), seed=0):
    gen = torch.Generator().manual_seed(seed)
    user = torch.randint(users, (s,), generator=gen)
    context = torch.stack([torch.randint(n, (s,), generator=gen) for n in sizes], 1) if sizes else \
        torch.zeros(s, 0, dtype=torch.long)
    item_ids = torch.randint(items, (s, length), generator=gen)
    return user, context, item_ids, session_counts_from_items(item_ids, items)


def test_softmax_nll_matches_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 9, generator=gen)
    items = torch.randint(9, (6, 4), generator=gen)
    counts = session_counts_from_items(items, 9)
    expected = F.cross_entropy(logits.repeat_interleave(4, 0), items.flatten())
    assert torch.allclose(softmax_nll(logits, counts), expected, atol=1e-6)
    weight = torch.tensor([1.0, 0, 0, 0, 0, 2.0])
    manual = -(torch.log_softmax(logits, 1) * counts * weight[:, None]).sum() / (4 * 3.0)
    assert torch.allclose(softmax_nll(logits, counts, weight), manual, atol=1e-6)


def test_aggregation_is_exact():
    user, context, _, counts = random_sessions(s=40, users=3, sizes=(2,))
    model = ContextualSoftmax(3, 12, (2,), dim=4)
    weight = torch.rand(40, generator=torch.Generator().manual_seed(1))
    g_user, g_context, g_counts, inverse = aggregate(user, context, counts, weight)
    assert len(g_user) <= 6 and torch.equal(g_user[inverse], user) and torch.equal(g_context[inverse], context)
    with torch.no_grad():
        full = softmax_nll(model(user, context), counts, weight)
        grouped = softmax_nll(model(g_user, g_context), g_counts)
    assert torch.allclose(full, grouped, atol=1e-6)


def test_model_without_context_is_matrix_factorisation():
    model = ContextualSoftmax(4, 7, (), dim=3)
    user = torch.tensor([0, 3])
    expected = model.bias + model.user[user] @ model.item.T
    assert torch.allclose(model(user, torch.zeros(2, 0, dtype=torch.long)), expected)
    ctx = ContextualSoftmax(4, 7, (2, 3), dim=3)
    c = torch.tensor([[1, 2], [0, 0]])
    q = ctx.user[user] + ctx.context[0][c[:, 0]] + ctx.context[1][c[:, 1]]
    assert torch.allclose(ctx(user, c), ctx.bias + q @ ctx.item.T)


def test_maximum_likelihood_recovers_frequencies(one_thread):
    """One user, no penalty: the MLE of a categorical is the empirical frequency."""
    counts = torch.tensor([[5.0, 3.0, 2.0, 0.0, 10.0]])
    model = ContextualSoftmax(1, 5, (), dim=2)
    losses = fit_softmax(model, torch.tensor([0]), torch.zeros(1, 0, dtype=torch.long), counts,
                         FitConfig(dim=2, steps=600, lr=0.1, reg=0.0))
    assert losses[-1] < losses[0]
    with torch.no_grad():
        p = torch.softmax(model(torch.tensor([0]), torch.zeros(1, 0, dtype=torch.long)), 1)[0]
    assert torch.allclose(p[:3], counts[0, :3] / 20, atol=0.01) and p[4] > 0.45 and p[3] < 0.02


def test_fit_softmax_bad_input():
    model = ContextualSoftmax(3, 5, (2,), dim=2)
    counts = torch.ones(2, 5)
    with pytest.raises(ValueError, match=r"user ids must lie in \[0, 2\].*got 3"):
        fit_softmax(model, torch.tensor([0, 3]), torch.zeros(2, 1, dtype=torch.long), counts, TINY)
    with pytest.raises(ValueError, match=r"context\[:, 0\] ids must lie in \[0, 1\].*got 2"):
        fit_softmax(model, torch.tensor([0, 1]), torch.tensor([[0], [2]]), counts, TINY)
    with pytest.raises(ValueError, match=r"counts must have shape \(S, I\) = \(2, 5\)"):
        fit_softmax(model, torch.tensor([0, 1]), torch.zeros(2, 1, dtype=torch.long), torch.ones(2, 6), TINY)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        FitConfig(steps=0)


def test_item_log_probs_by_hand():
    counts = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    group = torch.tensor([0, 1, 0])
    got = item_log_probs(counts, group, 2, alpha=1.0).exp()
    assert torch.allclose(got, torch.tensor([[4 / 6, 1 / 6, 1 / 6], [1 / 5, 2 / 5, 2 / 5]]))


def test_post_filter_is_bayes_rule_when_user_and_context_are_independent_given_the_item():
    gen = torch.Generator().manual_seed(0)
    p_i = torch.softmax(torch.randn(6, generator=gen, dtype=torch.float64), 0)  # (I,)
    p_u_i = torch.softmax(torch.randn(4, 6, generator=gen, dtype=torch.float64), 0)  # (U, I) p(u | i)
    p_c_i = torch.softmax(torch.randn(3, 6, generator=gen, dtype=torch.float64), 0)  # (C, I) p(c | i)
    joint = p_i[None, None, :] * p_u_i[:, None, :] * p_c_i[None, :, :]  # (U, C, I) p(u, c, i)
    exact = joint / joint.sum(2, keepdim=True)  # p(i | u, c)
    p_i_u = (p_i * p_u_i) / (p_i * p_u_i).sum(1, keepdim=True)  # (U, I)
    p_i_c = (p_i * p_c_i) / (p_i * p_c_i).sum(1, keepdim=True)  # (C, I)
    for u, c in itertools.product(range(4), range(3)):
        scores = post_filter_scores(p_i_u[u:u + 1].log(), p_i_c[c:c + 1].log(), p_i.log())
        assert torch.allclose(torch.softmax(scores, 1)[0], exact[u, c], atol=1e-12)


def test_pre_filter_trains_each_slice_on_its_own_data(one_thread):
    user, context, items, counts = random_sessions(s=40, users=4, items=10, sizes=(2,))
    value = context[:, 0]
    a = PreFilter(4, 10, 2, TINY).fit(user, value, counts)
    changed = counts.clone()
    changed[value == 0] = torch.flip(changed[value == 0], dims=[1])  # other data in slice 0 only
    b = PreFilter(4, 10, 2, TINY).fit(user, value, changed)
    query_user, query_value = torch.tensor([0, 1, 2]), torch.tensor([1, 1, 1])
    assert torch.allclose(a.scores(query_user, query_value), b.scores(query_user, query_value))
    assert not torch.allclose(a.scores(query_user, 0 * query_value), b.scores(query_user, 0 * query_value))


def test_pre_filter_empty_slice_and_bad_values():
    user, context, _, counts = random_sessions(s=10, users=3, items=6, sizes=(2,))
    with pytest.raises(ValueError, match=r"context slice for value 2 is empty.*\[0, 2\]"):
        PreFilter(3, 6, 3, TINY).fit(user, context[:, 0], counts)
    with pytest.raises(ValueError, match=r"value ids must lie in \[0, 0\].*got 1"):
        PreFilter(3, 6, 1, TINY).fit(user, context[:, 0].clamp(max=1).fill_(1), counts)
    with pytest.raises(RuntimeError, match="call fit"):
        PreFilter(3, 6, 2, TINY).scores(user, context[:, 0])


def test_latent_e_step_by_hand_and_in_log_space():
    log_prior = torch.log(torch.tensor([0.25, 0.75]))
    log_lik = torch.log(torch.tensor([[0.2, 0.1], [0.0001, 0.5]]))
    expected = torch.tensor([[0.05 / 0.125, 0.075 / 0.125], [0.000025 / 0.375025, 0.375 / 0.375025]])
    assert torch.allclose(latent_e_step(log_prior, log_lik).exp(), expected, atol=1e-6)
    far = latent_e_step(log_prior.double(), torch.tensor([[-3000.0, -3001.0]], dtype=torch.float64)).exp()
    e = torch.exp(torch.tensor(1.0, dtype=torch.float64))
    assert torch.allclose(far[0], torch.stack([0.25 * e, torch.tensor(0.75, dtype=torch.float64)]) / (0.25 * e + 0.75))


def test_latent_log_likelihood_matches_a_loop():
    user, context, items, _ = random_sessions(s=7, users=3, items=9, sizes=(2,))
    model = ContextualSoftmax(3, 9, (2, 3), dim=4)
    got = latent_log_likelihood(model, user, context, items)
    with torch.no_grad():
        for s, m in itertools.product(range(7), range(3)):
            log_p = torch.log_softmax(model(user[s:s + 1], torch.tensor([[context[s, 0], m]])), 1)[0]
            assert torch.allclose(got[s, m], log_p[items[s]].sum(), atol=1e-5)


def test_m_step_prior_is_the_mean_responsibility():
    user, context, items, counts = random_sessions(s=12, users=3, items=9, sizes=(2,))
    model = ContextualSoftmax(3, 9, (2, 2), dim=4)
    resp = torch.softmax(torch.randn(12, 2, generator=torch.Generator().manual_seed(5)), 1)
    log_prior = latent_m_step(model, user, context, counts, resp, TINY, steps=2)
    assert torch.allclose(log_prior.exp(), resp.mean(0), atol=1e-6)


def planted_mixture(seed=0, sessions=400, items=20, length=10):
    """Two latent moods favouring disjoint halves of the catalog, one user, one observed context."""
    gen = torch.Generator().manual_seed(seed)
    mood = torch.randint(2, (sessions,), generator=gen)
    probs = torch.full((2, items), 0.2 / (items // 2))
    probs[0, : items // 2] = 0.8 / (items // 2)
    probs[1, items // 2:] = 0.8 / (items // 2)
    item_ids = torch.multinomial(probs[mood], length, replacement=True, generator=gen)  # (S, L)
    return torch.zeros(sessions, dtype=torch.long), torch.zeros(sessions, 1, dtype=torch.long), item_ids, mood


def test_em_recovers_a_planted_latent_context(one_thread):
    user, context, items, mood = planted_mixture()
    fit = FitConfig(dim=4, steps=60, lr=0.1, reg=0.1)
    base = ContextualSoftmax(1, 20, (1,), dim=4)
    fit_softmax(base, user, context, session_counts_from_items(items, 20), fit)
    fitted = fit_latent_context(base, user, context, items, 2, fit, iterations=4, m_steps=20)
    assert fitted.log_likelihood[-1] > fitted.log_likelihood[0]
    hard = fitted.resp.argmax(1)
    accuracy = max((hard == mood).double().mean(), (hard != mood).double().mean()).item()
    assert accuracy > 0.95
    # new sessions: their first items tell the mood
    _, _, new_items, new_mood = planted_mixture(seed=1, sessions=100)
    posterior = infer_latent(fitted, torch.zeros(100, dtype=torch.long), torch.zeros(100, 1, dtype=torch.long),
                             new_items[:, :5])
    agree = (posterior.argmax(1) == new_mood).double().mean().item()
    assert max(agree, 1 - agree) > 0.85


def test_initial_responsibilities_from_a_gaussian_mixture():
    user, context, items, mood = planted_mixture()
    base = ContextualSoftmax(1, 20, (1,), dim=4)
    fit_softmax(base, user, context, session_counts_from_items(items, 20), FitConfig(dim=4, steps=60, lr=0.1, reg=0.1))
    features = residual_features(base, user, context, items)
    assert features.shape == (400, 4)
    resp = initial_responsibilities(features, 2, seed=0)
    assert torch.allclose(resp.sum(1), torch.ones(400), atol=1e-5)
    hard = resp.argmax(1)
    assert max((hard == mood).double().mean(), (hard != mood).double().mean()) > 0.8  # a start; EM refines it


def test_infer_latent_without_activity_is_the_prior_and_soft_scores_reduce_to_hard():
    user, context, items, _ = random_sessions(s=20, users=3, items=9, sizes=(2,))
    base = ContextualSoftmax(3, 9, (2,), dim=4)
    fitted = fit_latent_context(base, user, context, items, 3, TINY, iterations=1, m_steps=2,
                                init_resp=torch.full((20, 3), 1 / 3))
    prior = infer_latent(fitted, user[:4], context[:4], items[:4, :0])
    assert torch.allclose(prior, fitted.log_prior.exp().expand(4, -1))
    one_hot = F.one_hot(torch.tensor([0, 2, 1, 1]), 3).float()
    hard = latent_scores(fitted, user[:4], context[:4], one_hot, hard=True)
    soft = latent_scores(fitted, user[:4], context[:4], one_hot, hard=False)
    assert torch.allclose(torch.log_softmax(hard, 1), soft, atol=1e-5)
    with pytest.raises(ValueError, match=r"init_resp must have shape \(S, K\) = \(20, 3\)"):
        fit_latent_context(base, user, context, items, 3, TINY, init_resp=torch.ones(20, 2))
