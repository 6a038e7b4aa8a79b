"""Appendix B1's metrics on hand-made cases and against scikit-learn; every strategy on a tiny budget."""

import json
import math

import pytest
import torch
from sklearn.metrics import ndcg_score

from gan_course.recsys import (STRATEGIES, catalog_coverage, context_coverage, format_table, make_task, ndcg_at_k,
                               novelty, recall_at_k, run_all, run_strategies, summary_ratios, top_k)
from gan_course.recsys_data import RecsysConfig, generate
from gan_course.recsys_models import FitConfig

TINY_WORLD = RecsysConfig(num_users=40, num_items=30, mean_sessions=4.0, session_length=5, reveal=2)
TINY_FIT = FitConfig(dim=4, steps=5)


def random_case(q=20, items=15, seed=0):
    gen = torch.Generator().manual_seed(seed)
    scores = torch.randn(q, items, generator=gen, dtype=torch.float64)  # no ties
    targets = torch.rand(q, items, generator=gen) < 0.3
    targets[:, 0] = True  # at least one target per query
    return scores, targets


def test_recall_by_hand():
    scores = torch.tensor([[0.9, 0.1, 0.5, 0.3], [0.1, 0.2, 0.3, 0.4]])
    targets = torch.tensor([[True, True, False, False], [False, False, True, True]])
    # top-2: {0, 2} -> 1 of 2 targets; {3, 2} -> 2 of 2
    assert recall_at_k(scores, targets, 2) == pytest.approx(0.75)
    assert recall_at_k(scores, targets, 1) == pytest.approx(0.5)  # {0}: 1/2; {3}: 1/2
    assert recall_at_k(scores, targets, 4) == pytest.approx(1.0)


def test_recall_matches_a_loop_over_sets():
    scores, targets = random_case()
    for k in (1, 3, 10):
        expected = 0.0
        for s, t in zip(scores, targets):
            best = set(sorted(range(len(s)), key=lambda i: -s[i])[:k])
            relevant = set(t.nonzero().flatten().tolist())
            expected += len(best & relevant) / len(relevant)
        assert recall_at_k(scores, targets, k) == pytest.approx(expected / len(scores))


def test_ndcg_by_hand_and_against_scikit_learn():
    scores = torch.tensor([[4.0, 3.0, 2.0, 1.0]])
    targets = torch.tensor([[False, True, False, True]])
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(scores, targets, 4) == pytest.approx(dcg / ideal)
    scores, targets = random_case(q=30, items=25, seed=1)
    for k in (1, 5, 10):
        expected = ndcg_score(targets.numpy().astype(float), scores.numpy(), k=k)
        assert ndcg_at_k(scores, targets, k) == pytest.approx(expected, abs=1e-9)


def test_perfect_and_worst_rankings():
    scores, targets = random_case()
    perfect = targets.double() + 0.01 * torch.rand(targets.shape, dtype=torch.float64)
    assert ndcg_at_k(perfect, targets, 15) == pytest.approx(1.0)
    assert recall_at_k(perfect, targets, 15) == pytest.approx(1.0)
    assert recall_at_k(-targets.double(), targets, 1) == 0.0


def test_coverage_and_novelty_by_hand():
    top = torch.tensor([[0, 1], [1, 2], [2, 0]])
    assert catalog_coverage(top, 6) == pytest.approx(0.5)
    # group 0 sees {0, 1, 2}, group 1 sees {2, 0}: (3/6 + 2/6) / 2
    assert context_coverage(top, torch.tensor([0, 0, 1]), 6) == pytest.approx(5 / 12)
    log_p = torch.log(torch.tensor([0.5, 0.25, 0.125, 0.125]))
    assert novelty(torch.tensor([[0, 1], [2, 2]]), log_p) == pytest.approx((1 + 2 + 3 + 3) / 4)


def test_top_k_is_best_first():
    assert top_k(torch.tensor([[0.1, 0.7, 0.3]]), 2).tolist() == [[1, 2]]


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_bad_k(k):
    scores, targets = random_case()
    with pytest.raises(ValueError, match=rf"k must be a positive int, got {k!r}"):
        recall_at_k(scores, targets, k)
    with pytest.raises(ValueError, match="k must be a positive int"):
        ndcg_at_k(scores, targets, k)


def test_bad_rankings():
    scores, targets = random_case(items=15)
    with pytest.raises(ValueError, match=r"k must be at most the number of items \(15\), got 16"):
        recall_at_k(scores, targets, 16)
    with pytest.raises(ValueError, match="same shape"):
        recall_at_k(scores, targets[:, :5], 3)
    empty = targets.clone()
    empty[2] = False
    with pytest.raises(ValueError, match="at least one target item per query"):
        ndcg_at_k(scores, empty, 3)


def test_every_strategy_runs_on_a_tiny_budget(one_thread):
    task = make_task(generate(TINY_WORLD, seed=1))
    out = run_strategies(task, TINY_FIT, em_iterations=1)
    assert tuple(out) == STRATEGIES
    for name, (scores, seconds) in out.items():
        assert scores.shape == (len(task.split.test), TINY_WORLD.num_items), name
        assert torch.isfinite(scores).all() and seconds >= 0, name


def test_run_all_returns_the_json_object(one_thread):
    result = run_all(seed=2, config=TINY_WORLD, fit=TINY_FIT, em_iterations=1)
    assert tuple(result) == STRATEGIES
    for name, metrics in result.items():
        assert {"recall_at_10", "ndcg_at_10", "coverage", "seconds"} <= set(metrics), name
        for key in ("recall_at_10", "ndcg_at_10", "coverage", "context_coverage"):
            assert 0.0 <= metrics[key] <= 1.0, (name, key)
    json.loads(json.dumps(result))  # plain floats only
    assert result["popularity"]["coverage"] == pytest.approx(10 / TINY_WORLD.num_items)
    again = run_all(seed=2, config=TINY_WORLD, fit=TINY_FIT, em_iterations=1)
    assert {n: m["recall_at_10"] for n, m in again.items()} == {n: m["recall_at_10"] for n, m in result.items()}
    table = format_table(result)
    assert all(name in table for name in STRATEGIES) and "recall@10" in table


def test_the_true_model_ranks_better_than_popularity(one_thread):
    """The known truth is the ceiling every strategy is measured against."""
    world = generate(RecsysConfig(num_users=200, num_items=100), seed=0)
    task = make_task(world)
    test = task.split.test
    truth = world.true_logits(test.user, test.companion, test.mood)
    popularity = task.counts.sum(0).expand(len(test), -1)
    assert recall_at_k(truth, task.split.targets, 10) > recall_at_k(popularity, task.split.targets, 10) + 0.05


def test_run_all_restores_the_number_of_threads():
    before = torch.get_num_threads()
    run_all(seed=0, config=TINY_WORLD, fit=TINY_FIT, em_iterations=1, threads=1)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be a positive int, got 0"):
        run_all(seed=0, config=TINY_WORLD, fit=TINY_FIT, threads=0)


def test_summary_ratios_by_hand():
    def row(recall, coverage=0.5, context_coverage=0.2):
        return {"recall_at_10": recall, "coverage": coverage, "context_coverage": context_coverage}

    result = {"no_context": row(0.4, 0.2, 0.16), "pre_filter": row(0.5, 0.3, 0.08), "contextual_model": row(0.6),
              "latent_context": row(0.65), "oracle_context": row(0.7)}
    ratios = summary_ratios(result)
    assert ratios["context_gain"] == pytest.approx(1.5)
    assert ratios["latent_share"] == pytest.approx(0.25 / 0.3)
    assert ratios["latent_share_of_mood"] == pytest.approx(0.5)
    assert ratios["pre_filter_coverage"] == pytest.approx(1.5)
    assert ratios["pre_filter_context_coverage"] == pytest.approx(0.5)


def test_no_context_reg_only_changes_the_context_free_models(one_thread):
    task = make_task(generate(TINY_WORLD, seed=1))
    fit = FitConfig(dim=4, steps=20, reg=1.0)
    own = run_strategies(task, fit, em_iterations=1, no_context_reg=None)
    strong = run_strategies(task, fit, em_iterations=1, no_context_reg=50.0)
    for name in ("no_context", "post_filter"):
        assert not torch.allclose(own[name][0], strong[name][0]), name
    for name in ("pre_filter", "contextual_model", "oracle_context"):
        assert torch.allclose(own[name][0], strong[name][0]), name
