r"""Context-aware recommendation, evaluated against a known truth (appendix B1).

Every strategy scores the held-out sessions of :func:`gan_course.recsys_data.split_by_time`; the
scores are ranked and measured by

.. math:: \mathrm{recall@}k = \frac{|\mathrm{top}_k \cap T|}{|T|}, \qquad
    \mathrm{NDCG@}k = \frac{\sum_{r=1}^{k} [\mathrm{top}_k(r) \in T] / \log_2(r+1)}
    {\sum_{r=1}^{\min(k, |T|)} 1/\log_2(r+1)}

(Järvelin & Kekäläinen 2002), catalog coverage (the fraction of the catalog recommended to at
least one query; Herlocker et al. 2004) and novelty, the mean self-information
:math:`-\log_2 \hat p(i)` of the recommended items (Zhou et al. 2010). :func:`run_all` trains the
seven strategies on one seeded world and returns ``{strategy: {metric: value}}``, what
``python -m gan_course recsys --seed S --json`` prints; :func:`format_table` is its plain table.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from gan_course.recsys_data import RecsysConfig, Split, World, generate, infer_language, session_counts, split_by_time
from gan_course.recsys_models import (ContextualSoftmax, FitConfig, PreFilter, fit_latent_context, fit_softmax,
                                      infer_latent, item_log_probs, latent_scores, post_filter_scores)
from gan_course.validate import require_positive_int

STRATEGIES = ("popularity", "no_context", "pre_filter", "post_filter", "contextual_model", "latent_context",
              "oracle_context")
METRICS = ("recall_at_10", "ndcg_at_10", "coverage", "context_coverage", "novelty", "seconds")
# The L2 weight of the context-free model (``no_context``, and the base of ``post_filter``). Chosen
# on validation worlds (seeds 100-104, never the evaluation seeds 0-4): a model that must average
# over contexts it cannot see does best with a stronger prior (10) than the models that see them
# (``FitConfig().reg`` = 3, best for pre-filtering, contextual modelling and the oracle).
NO_CONTEXT_REG = 10.0


# --------------------------------------------------------------------------------------------
# Metrics: pure functions of scores (Q, I) and targets (Q, I)
# --------------------------------------------------------------------------------------------


def _check_ranking(scores: torch.Tensor, targets: torch.Tensor, k: object) -> int:
    k = require_positive_int("k", k)  # the length of the recommended list
    if scores.ndim != 2 or targets.shape != scores.shape:
        raise ValueError(f"scores and targets must have the same shape (Q, I), got {tuple(scores.shape)} "
                         f"and {tuple(targets.shape)}")
    if k > scores.shape[1]:
        raise ValueError(f"k must be at most the number of items ({scores.shape[1]}), got {k}")
    if targets.dtype != torch.bool or not targets.any(1).all():
        raise ValueError("targets must be a bool tensor with at least one target item per query (row)")
    return k


def top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The ids of the ``k`` best-scored items of each query, best first, shape (Q, k)."""
    return scores.topk(k, dim=1).indices


def recall_at_k(scores: torch.Tensor, targets: torch.Tensor, k: int = 10) -> float:
    r"""Mean over queries of :math:`|\mathrm{top}_k \cap T| / |T|`.

    >>> recall_at_k(torch.tensor([[3., 2., 1., 0.]]), torch.tensor([[True, False, False, True]]), k=2)
    0.5
    """
    k = _check_ranking(scores, targets, k)
    hits = targets.gather(1, top_k(scores, k)).sum(1)  # (Q,)
    return (hits / targets.sum(1)).mean().item()


def ndcg_at_k(scores: torch.Tensor, targets: torch.Tensor, k: int = 10) -> float:
    r"""Mean over queries of the normalised discounted cumulative gain with binary relevance.

    >>> round(ndcg_at_k(torch.tensor([[3., 2., 1., 0.]]), torch.tensor([[False, True, False, False]]), k=2), 4)
    0.6309
    """
    k = _check_ranking(scores, targets, k)
    discount = 1 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64))  # (k,)
    dcg = (targets.gather(1, top_k(scores, k)).double() * discount).sum(1)  # (Q,)
    ideal = torch.cumsum(discount, 0)[targets.sum(1).clamp(max=k) - 1]  # (Q,)
    return (dcg / ideal).mean().item()


def catalog_coverage(top: torch.Tensor, num_items: int) -> float:
    """The fraction of the catalog that appears in at least one recommended list ``top`` (Q, k)."""
    require_positive_int("num_items", num_items)
    return top.unique().numel() / num_items


def context_coverage(top: torch.Tensor, group: torch.Tensor, num_items: int) -> float:
    """Catalog coverage within each context value, averaged over the values present in ``group`` (Q,).

    A recommender confined to what is typical of each context covers the catalog *within* a
    context less than its overall coverage suggests.

    >>> context_coverage(torch.tensor([[0], [1], [2], [2]]), torch.tensor([0, 0, 1, 1]), 4)
    0.375
    """
    values = group.unique()
    return sum(catalog_coverage(top[group == v], num_items) for v in values) / len(values)


def novelty(top: torch.Tensor, item_log_prob: torch.Tensor) -> float:
    r"""Mean self-information :math:`-\log_2 \hat p(i)` of the recommended items, in bits.

    >>> novelty(torch.tensor([[0, 1]]), torch.log(torch.tensor([0.5, 0.25, 0.25])))
    1.5
    """
    return (-item_log_prob[top] / torch.log(torch.tensor(2.0))).mean().item()


def evaluate(scores: torch.Tensor, targets: torch.Tensor, item_log_prob: torch.Tensor, group: torch.Tensor,
             k: int = 10) -> dict[str, float]:
    """Recall, NDCG, catalog coverage, coverage within each context value of ``group`` (Q,) and novelty, at ``k``."""
    top = top_k(scores, k)
    return {f"recall_at_{k}": recall_at_k(scores, targets, k), f"ndcg_at_{k}": ndcg_at_k(scores, targets, k),
            "coverage": catalog_coverage(top, scores.shape[1]),
            "context_coverage": context_coverage(top, group, scores.shape[1]), "novelty": novelty(top, item_log_prob)}


# --------------------------------------------------------------------------------------------
# The task: what each strategy may see
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One world split by time, with the contexts each kind of strategy is allowed to see."""

    world: World  # the truth (only the oracle reads the mood from it)
    split: Split  # train and held-out sessions
    counts: torch.Tensor  # (S, I) item counts of the training sessions
    observed_train: torch.Tensor  # (S, 2) [inferred language, companion] of the training sessions
    observed_test: torch.Tensor  # (Q, 2) the same for the held-out sessions
    true_train: torch.Tensor  # (S, 3) [language, companion, mood], the truth
    true_test: torch.Tensor  # (Q, 3)

    @property
    def observed_sizes(self) -> tuple[int, int]:
        cfg = self.world.config
        return cfg.num_languages, cfg.num_companions

    @property
    def true_sizes(self) -> tuple[int, int, int]:
        return self.observed_sizes + (self.world.config.num_moods,)


def make_task(world: World) -> Task:
    """Split ``world`` by time and build the observed (language inferred from country) and true contexts."""
    split = split_by_time(world)
    cfg = world.config
    language = infer_language(world.user_country, world.user_language, world.declared, cfg.num_languages)
    observed = [torch.stack([language[s.user], s.companion], 1) for s in (split.train, split.test)]  # (S, 2)
    true = [torch.stack([world.user_language[s.user], s.companion, s.mood], 1) for s in (split.train, split.test)]
    counts = session_counts(split.train, split.num_users, split.num_items)
    return Task(world, split, counts, observed[0], observed[1], true[0], true[1])


def joint_context(context: torch.Tensor, sizes: tuple[int, ...]) -> torch.Tensor:
    """Several context columns (B, F) as one value in [0, prod(sizes)), row-major.

    >>> joint_context(torch.tensor([[0, 1], [2, 3]]), (3, 4))
    tensor([ 1, 11])
    """
    value = torch.zeros(context.shape[0], dtype=torch.long)
    for f, n in enumerate(sizes):
        value = value * n + context[:, f]
    return value


# --------------------------------------------------------------------------------------------
# The seven strategies
# --------------------------------------------------------------------------------------------


def _softmax_scores(task: Task, train_ctx: torch.Tensor, test_ctx: torch.Tensor, sizes: tuple[int, ...],
                    fit: FitConfig, progress: bool) -> tuple[ContextualSoftmax, torch.Tensor]:
    cfg = task.world.config
    model = ContextualSoftmax(cfg.num_users, cfg.num_items, sizes, fit.dim, fit.seed)
    fit_softmax(model, task.split.train.user, train_ctx, task.counts, fit, progress=progress)
    with torch.no_grad():
        return model, model(task.split.test.user, test_ctx)


def run_strategies(task: Task, fit: FitConfig = FitConfig(), em_iterations: int = 8, progress: bool = False,
                   no_context_reg: float | None = NO_CONTEXT_REG) -> dict[str, tuple[torch.Tensor, float]]:
    """Train every strategy on ``task``; returns ``{strategy: (scores (Q, I), seconds)}``.

    A strategy built on another one (post-filtering on ``no_context``, the latent context on
    ``contextual_model``) counts that one's seconds too. ``no_context_reg`` replaces ``fit.reg``
    for the context-free model (None keeps ``fit.reg``).
    """
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the first optimiser imports torch's compiler
    # stack (seconds): pay it here, not inside the first strategy's timer
    out: dict[str, tuple[torch.Tensor, float]] = {}
    split, counts, cfg = task.split, task.counts, task.world.config
    q = len(split.test)
    none_train, none_test = (torch.zeros(n, 0, dtype=torch.long) for n in (len(split.train), q))

    def timed(name: str, fn: Callable[[], torch.Tensor], before: float = 0.0) -> None:
        start = time.perf_counter()
        scores = fn()
        out[name] = (scores, before + time.perf_counter() - start)

    log_pop = item_log_probs(counts, torch.zeros(len(split.train), dtype=torch.long), 1)[0]  # (I,)
    timed("popularity", lambda: log_pop.expand(q, -1).clone())
    fit_none = fit if no_context_reg is None else dataclasses.replace(fit, reg=no_context_reg)
    timed("no_context", lambda: _softmax_scores(task, none_train, none_test, (), fit_none, progress)[1])
    joint_sizes = task.observed_sizes
    joint_train, joint_test = joint_context(task.observed_train, joint_sizes), joint_context(task.observed_test, joint_sizes)
    num_joint = joint_sizes[0] * joint_sizes[1]

    def pre_filter() -> torch.Tensor:
        pf = PreFilter(cfg.num_users, cfg.num_items, num_joint, fit).fit(split.train.user, joint_train, counts, progress)
        return pf.scores(split.test.user, joint_test)

    timed("pre_filter", pre_filter)

    def post_filter() -> torch.Tensor:
        given_context = item_log_probs(counts, joint_train, num_joint)  # (C, I)
        return post_filter_scores(torch.log_softmax(out["no_context"][0], 1), given_context[joint_test], log_pop)

    timed("post_filter", post_filter, before=out["no_context"][1])

    models: dict[str, ContextualSoftmax] = {}

    def contextual() -> torch.Tensor:
        models["contextual"], scores = _softmax_scores(task, task.observed_train, task.observed_test,
                                                       task.observed_sizes, fit, progress)
        return scores

    timed("contextual_model", contextual)

    def latent() -> torch.Tensor:
        fitted = fit_latent_context(models["contextual"], split.train.user, task.observed_train, split.train.items,
                                    cfg.num_moods, fit, iterations=em_iterations)
        posterior = infer_latent(fitted, split.test.user, task.observed_test, split.revealed)  # (Q, K)
        return latent_scores(fitted, split.test.user, task.observed_test, posterior, hard=True)  # as if observed

    timed("latent_context", latent, before=out["contextual_model"][1])
    timed("oracle_context", lambda: _softmax_scores(task, task.true_train, task.true_test, task.true_sizes,
                                                    fit, progress)[1])
    return out


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave them), then restore the old number."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(require_positive_int("threads", n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_all(seed: int = 0, progress: bool = False, config: RecsysConfig | None = None,
            fit: FitConfig | None = None, em_iterations: int = 8, threads: int | None = 1,
            no_context_reg: float | None = NO_CONTEXT_REG) -> dict[str, dict[str, float]]:
    """Generate the world of ``seed``, train the seven strategies, and measure them on held-out sessions.

    Args:
        seed: seeds the world and every model's initialisation.
        progress: show a progress bar per model.
        config: the generative process (default: ``RecsysConfig()``).
        fit: training settings (default: ``FitConfig(seed=seed)``).
        em_iterations: EM iterations of the latent-context strategy.
        no_context_reg: the context-free model's L2 weight (:data:`NO_CONTEXT_REG`; None: ``fit.reg``).
        threads: torch threads while it runs (restored afterwards). The models are small, so one
            thread is fastest on a shared CPU: 39 s against 201 s with two on a busy 2-core
            machine (benchmarks/RESULTS.md). None keeps the current setting.

    Returns:
        ``{strategy: {"recall_at_10", "ndcg_at_10", "coverage", "context_coverage", "novelty",
        "seconds"}}`` for the strategies in :data:`STRATEGIES`, in that order (plain floats: it
        is the JSON object of ``python -m gan_course recsys --json``).
    """
    config = RecsysConfig() if config is None else config
    fit = FitConfig(seed=seed) if fit is None else fit
    with torch_threads(threads):
        task = make_task(generate(config, seed))
        log_pop = item_log_probs(task.counts, torch.zeros(len(task.split.train), dtype=torch.long), 1)[0]
        group = joint_context(task.observed_test, task.observed_sizes)  # (Q,) the observed context of each query
        result = {}
        for name, (scores, seconds) in run_strategies(task, fit, em_iterations, progress, no_context_reg).items():
            result[name] = {**evaluate(scores, task.split.targets, log_pop, group), "seconds": round(seconds, 3)}
    return result


def score_table(scores: dict[str, torch.Tensor], task: Task, k: int = 10) -> dict[str, dict[str, float]]:
    """:func:`evaluate` for each named score tensor (Q, I) on ``task``'s held-out sessions."""
    log_pop = item_log_probs(task.counts, torch.zeros(len(task.split.train), dtype=torch.long), 1)[0]
    group = joint_context(task.observed_test, task.observed_sizes)
    return {name: evaluate(s, task.split.targets, log_pop, group, k) for name, s in scores.items()}


def summary_ratios(result: dict[str, dict[str, float]]) -> dict[str, float]:
    r"""What one :func:`run_all` result says about the strategies, as ratios.

    - ``context_gain``: recall@10 of ``contextual_model`` over ``no_context``;
    - ``latent_share``: the share of the gap from ``no_context`` to ``oracle_context`` that
      ``latent_context`` closes, :math:`(R_\text{latent} - R_\text{none}) / (R_\text{oracle} - R_\text{none})`;
    - ``latent_share_of_mood``: the same from ``contextual_model`` (everything but the mood);
    - ``pre_filter_coverage``, ``pre_filter_context_coverage``: ``pre_filter``'s catalog and
      in-context coverage over ``no_context``'s.
    """
    recall = {name: m["recall_at_10"] for name, m in result.items()}
    share = lambda start: (recall["latent_context"] - recall[start]) / (recall["oracle_context"] - recall[start])
    return {"context_gain": recall["contextual_model"] / recall["no_context"],
            "latent_share": share("no_context"), "latent_share_of_mood": share("contextual_model"),
            "pre_filter_coverage": result["pre_filter"]["coverage"] / result["no_context"]["coverage"],
            "pre_filter_context_coverage": result["pre_filter"]["context_coverage"]
            / result["no_context"]["context_coverage"]}


def format_table(result: dict[str, dict[str, float]]) -> str:
    """The result of :func:`run_all` (or :func:`score_table`) as a plain-text table, one strategy per row."""
    header = (f"{'strategy':18s} {'recall@10':>9s} {'NDCG@10':>8s} {'coverage':>8s} {'in-context':>10s} "
              f"{'novelty':>8s} {'seconds':>8s}")
    rows = [header, "-" * len(header)]
    nan = float("nan")
    for name, m in result.items():
        rows.append(f"{name:18s} {m['recall_at_10']:9.3f} {m['ndcg_at_10']:8.3f} {m['coverage']:8.3f} "
                    f"{m.get('context_coverage', nan):10.3f} {m.get('novelty', nan):8.2f} {m.get('seconds', nan):8.2f}")
    rows.append("coverage: share of the catalog recommended at least once; in-context: the same within one "
                "observed context, averaged; novelty: mean -log2 popularity (bits)")
    return "\n".join(rows)
