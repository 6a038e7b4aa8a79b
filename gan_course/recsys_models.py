r"""Recommenders as conditional generative models :math:`p(i \mid u, c)`, in torch.

One model serves every strategy of appendix B1: a softmax over the catalog whose logits are a
factorisation with context embeddings,

.. math:: \log p_\theta(i \mid u, c_1..c_F) = \beta_i + \Big(P_u + \sum_f Q^{(f)}_{c_f}\Big)^\top V_i
    - \log Z,

fitted by maximum likelihood on implicit feedback (the items users consumed). With no context
it is matrix factorisation for :math:`p(i \mid u)` (Hu, Koren & Volinsky 2008 for implicit
feedback; the softmax form is Covington et al. 2016, "Deep neural networks for YouTube
recommendations", who *sample* it over millions of items; over a few hundred items the full
softmax is cheap and exact). With context embeddings it is contextual modelling, the conditional
model a factorisation machine (Rendle 2010) writes as pairwise interactions.

Around it: pre-filtering (one model per context slice), post-filtering (re-weight the
context-free distribution by :math:`p(i\mid c)/p(i)`), and a context that is never observed,
a latent mixture component fitted by EM (Dempster, Laird & Rubin 1977) whose E and M steps are
:func:`latent_e_step` and :func:`latent_m_step`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from gan_course.loop import check_finite, fit_loop
from gan_course.recsys_data import check_ids
from gan_course.validate import require_nonnegative_number, require_positive_int, require_positive_number


@dataclass(frozen=True)
class FitConfig:
    """How a softmax recommender is trained (full-batch Adam on the sessions' item counts)."""

    dim: int = 16  # size of the user, context and item embeddings
    steps: int = 150  # Adam steps (full batch)
    lr: float = 0.05  # Adam learning rate
    reg: float = 3.0  # L2 weight on the embeddings, per interaction: reg * ||theta||^2 / N
    seed: int = 0  # seed of the initial embeddings

    def __post_init__(self) -> None:
        require_positive_int("dim", self.dim)
        require_positive_int("steps", self.steps)
        require_positive_number("lr", self.lr)
        require_nonnegative_number("reg", self.reg)


# --------------------------------------------------------------------------------------------
# The model and its likelihood
# --------------------------------------------------------------------------------------------


class ContextualSoftmax(nn.Module):
    r"""Logits :math:`\beta_i + (P_u + \sum_f Q^{(f)}_{c_f})^\top V_i`; no context gives plain MF."""

    def __init__(self, num_users: int, num_items: int, context_sizes: tuple[int, ...] = (),
                 dim: int = 16, seed: int = 0) -> None:
        super().__init__()
        self.num_users = require_positive_int("num_users", num_users)
        self.num_items = require_positive_int("num_items", num_items)
        self.context_sizes = tuple(require_positive_int("context_sizes[]", n) for n in context_sizes)
        gen = torch.Generator().manual_seed(seed)
        self.user = nn.Parameter(0.1 * torch.randn(num_users, dim, generator=gen))  # (U, d) P
        self.item = nn.Parameter(0.1 * torch.randn(num_items, dim, generator=gen))  # (I, d) V
        self.bias = nn.Parameter(torch.zeros(num_items))  # (I,) beta
        self.context = nn.ParameterList(
            [nn.Parameter(0.1 * torch.randn(n, dim, generator=gen)) for n in self.context_sizes])  # (C_f, d)

    def query(self, user: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The query vector :math:`P_u + \\sum_f Q^{(f)}_{c_f}`, shape (B, d)."""
        if context.ndim != 2 or context.shape[1] != len(self.context_sizes):
            raise ValueError(f"context must have shape (B, {len(self.context_sizes)}) for context sizes "
                             f"{self.context_sizes}, got {tuple(context.shape)}")
        q = self.user[user]  # (B, d)
        for f, table in enumerate(self.context):
            q = q + table[context[:, f]]
        return q

    def forward(self, user: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Unnormalised log-probabilities of every item, shape (B, I)."""
        return self.bias + self.query(user, context) @ self.item.T  # (B, I)

    def penalty(self) -> torch.Tensor:
        """:math:`\\|P\\|^2 + \\|V\\|^2 + \\sum_f \\|Q^{(f)}\\|^2` (the biases are not penalised)."""
        return self.user.square().sum() + self.item.square().sum() + sum(q.square().sum() for q in self.context)


def softmax_nll(logits: torch.Tensor, counts: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    r"""Mean negative log-likelihood per interaction of item counts under a softmax.

    .. math:: -\frac{1}{\sum_s w_s N_s}\sum_s w_s \sum_i n_{si}\,\log\operatorname{softmax}(z_s)_i

    >>> round(softmax_nll(torch.zeros(1, 4), torch.tensor([[2., 0., 0., 0.]])).item(), 4)  # log 4
    1.3863
    """
    w = torch.ones(counts.shape[0]) if weight is None else weight  # (S,)
    log_p = torch.log_softmax(logits, dim=-1)  # (S, I)
    return -(w * (counts * log_p).sum(-1)).sum() / (w * counts.sum(-1)).sum().clamp_min(1e-12)


def check_inputs(model: ContextualSoftmax, user: torch.Tensor, context: torch.Tensor, counts: torch.Tensor) -> None:
    """Raise a ValueError naming the argument when ids or shapes do not fit ``model``."""
    check_ids("user", user, model.num_users)
    if context.ndim != 2 or context.shape != (len(user), len(model.context_sizes)):
        raise ValueError(f"context must have shape (S, F) = ({len(user)}, {len(model.context_sizes)}), "
                         f"got {tuple(context.shape)}")
    for f, size in enumerate(model.context_sizes):
        check_ids(f"context[:, {f}]", context[:, f], size)
    if counts.shape != (len(user), model.num_items):
        raise ValueError(f"counts must have shape (S, I) = ({len(user)}, {model.num_items}) (item ids in "
                         f"[0, {model.num_items - 1}]), got {tuple(counts.shape)}")


def aggregate(user: torch.Tensor, context: torch.Tensor, counts: torch.Tensor,
              weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Sum the (weighted) counts of sessions that share a user and a context: their sufficient statistic.

    Sessions with the same :math:`(u, c)` have the same :math:`p(i\mid u, c)`, so
    :math:`\sum_s w_s \sum_i n_{si}\log p(i\mid u_s, c_s)` only needs
    :math:`N_{(u,c),i} = \sum_{s:(u_s,c_s)=(u,c)} w_s n_{si}`: one row per distinct pair.

    Returns:
        ``(user (G,), context (G, F), counts (G, I), inverse (S,))``; ``inverse[s]`` is session s's row.
    """
    keys, inverse = torch.unique(torch.cat([user[:, None], context], 1), dim=0, return_inverse=True)  # (G, 1+F)
    weighted = counts if weight is None else counts * weight[:, None]  # (S, I)
    summed = torch.zeros(len(keys), counts.shape[1]).index_add_(0, inverse, weighted)  # (G, I)
    return keys[:, 0], keys[:, 1:], summed, inverse


def fit_softmax(model: ContextualSoftmax, user: torch.Tensor, context: torch.Tensor, counts: torch.Tensor,
                fit: FitConfig = FitConfig(), weight: torch.Tensor | None = None, progress: bool = False,
                steps: int | None = None) -> list[float]:
    """Maximum likelihood (with L2) by full-batch Adam; returns the loss at every step.

    Args:
        model: the recommender, trained in place.
        user: (S,) each session's user; context: (S, F) its context values; counts: (S, I) items.
        fit: optimiser settings. weight: (S,) optional per-session weights (EM's responsibilities).
        steps: overrides ``fit.steps`` (EM runs a few steps per M step).
    """
    check_inputs(model, user, context, counts)
    user, context, counts, _ = aggregate(user, context, counts, weight)
    optimizer = torch.optim.Adam(model.parameters(), lr=fit.lr)
    n = float(counts.sum().clamp_min(1.0))
    losses: list[float] = []

    def step() -> None:
        loss = softmax_nll(model(user, context), counts) + fit.reg * model.penalty() / n
        check_finite({"loss": loss.item()}, len(losses))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    fit_loop(step, steps=steps or fit.steps, progress=progress, desc="recommender")
    return losses


# --------------------------------------------------------------------------------------------
# Popularity, pre- and post-filtering
# --------------------------------------------------------------------------------------------


def item_log_probs(counts: torch.Tensor, group: torch.Tensor, num_groups: int, alpha: float = 1.0) -> torch.Tensor:
    r"""Smoothed :math:`\log \hat p(i \mid g) = \log\frac{n_{gi} + \alpha}{n_g + I\alpha}` per group, (G, I).

    With one group (``group`` all zeros) this is the popularity baseline :math:`\log\hat p(i)`.
    """
    table = torch.zeros(num_groups, counts.shape[1]).index_add_(0, group, counts)  # (G, I)
    return torch.log(table + alpha) - torch.log(table.sum(1, keepdim=True) + alpha * counts.shape[1])


def post_filter_scores(log_p_item_given_user: torch.Tensor, log_p_item_given_context: torch.Tensor,
                       log_p_item: torch.Tensor) -> torch.Tensor:
    r"""Post-filtering: re-weight a context-free recommender by how the context changes each item.

    If the user and the context are independent given the item, Bayes' rule gives

    .. math:: p(i \mid u, c) \propto \frac{p(i \mid u)\, p(i \mid c)}{p(i)}.

    Args:
        log_p_item_given_user: (B, I) the context-free model's log-probabilities (or logits).
        log_p_item_given_context: (B, I) :math:`\log p(i\mid c_b)` for each query's context.
        log_p_item: (I,) :math:`\log p(i)`, the overall popularity.

    Returns:
        (B, I) scores whose softmax is the re-weighted distribution.
    """
    return log_p_item_given_user + log_p_item_given_context - log_p_item  # (B, I)


class PreFilter:
    """Contextual pre-filtering: one recommender per value of a context, each on its slice only."""

    def __init__(self, num_users: int, num_items: int, num_values: int, fit: FitConfig = FitConfig()) -> None:
        self.num_users, self.num_items = num_users, num_items
        self.num_values = require_positive_int("num_values", num_values)
        self.fit_config = fit
        self.models: list[ContextualSoftmax] = []

    def fit(self, user: torch.Tensor, value: torch.Tensor, counts: torch.Tensor, progress: bool = False) -> "PreFilter":
        """Train on each slice ``value == v``; a value with no training session is an error."""
        check_ids("value", value, self.num_values)
        sizes = torch.bincount(value, minlength=self.num_values)
        for v in range(self.num_values):
            if sizes[v] == 0:
                raise ValueError(f"the context slice for value {v} is empty: pre-filtering needs at least one "
                                 f"training session for every context value in [0, {self.num_values - 1}]")
        self.models = []
        for v in range(self.num_values):
            rows = value == v
            model = ContextualSoftmax(self.num_users, self.num_items, (), self.fit_config.dim, self.fit_config.seed)
            fit_softmax(model, user[rows], torch.zeros(int(rows.sum()), 0, dtype=torch.long), counts[rows],
                        self.fit_config, progress=progress)
            self.models.append(model)
        return self

    @torch.no_grad()
    def scores(self, user: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        """Each query scored by the model of its own context's slice, shape (B, I)."""
        if not self.models:
            raise RuntimeError("call fit(...) before scores(...)")
        out = torch.empty(len(user), self.num_items)  # (B, I)
        no_context = torch.zeros(len(user), 0, dtype=torch.long)
        for v, model in enumerate(self.models):
            rows = value == v
            out[rows] = model(user[rows], no_context[rows])
        return out


# --------------------------------------------------------------------------------------------
# Unobservable context: a latent mixture component fitted by EM
# --------------------------------------------------------------------------------------------


def session_counts_from_items(items: torch.Tensor, num_items: int) -> torch.Tensor:
    """Item counts (S, I) of sessions given as item lists (S, L)."""
    return torch.zeros(items.shape[0], num_items).scatter_add_(1, items, torch.ones(items.shape))


def with_latent(context: torch.Tensor, num_latent: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every session repeated once per latent value: the (S*K,) row index and the (S*K, F+1) context."""
    s = context.shape[0]
    rows = torch.arange(s).repeat_interleave(num_latent)  # (S*K,)
    latent = torch.arange(num_latent).repeat(s)  # (S*K,)
    return rows, torch.cat([context[rows], latent[:, None]], dim=1)  # (S*K, F+1)


def latent_log_likelihood(model: ContextualSoftmax, user: torch.Tensor, context: torch.Tensor,
                          items: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_j \log p(i_{sj} \mid u_s, c_s, m)` for every session and latent value, (S, K).

    ``model``'s last context is the latent one; ``context`` holds only the observed ones (S, F);
    ``items`` (S, L) are each session's items.
    """
    k = model.context_sizes[-1]
    empty = torch.zeros(len(user), 0)
    keys_user, keys_context, _, inverse = aggregate(user, context, empty)  # G distinct (u, c)
    rows, full = with_latent(keys_context, k)  # (G*K,), (G*K, F+1)
    log_p = torch.log_softmax(model(keys_user[rows], full), dim=1).reshape(-1, k, model.num_items)  # (G, K, I)
    picked = log_p[inverse[:, None, None], torch.arange(k)[None, :, None], items[:, None, :]]  # (S, K, L)
    return picked.sum(2)  # (S, K)


def latent_e_step(log_prior: torch.Tensor, log_likelihood: torch.Tensor) -> torch.Tensor:
    r"""E step: the posterior over the latent context of each session, as log-responsibilities.

    .. math:: \log r_{sm} = \log\pi_m + \sum_i n_{si}\log p(i\mid u_s,c_s,m)
        - \log\sum_{m'} \pi_{m'} \textstyle\prod_i p(i\mid u_s,c_s,m')^{n_{si}}

    Args:
        log_prior: (K,) :math:`\log\pi_m`. log_likelihood: (S, K) from :func:`latent_log_likelihood`.

    >>> latent_e_step(torch.log(torch.tensor([0.5, 0.5])), torch.tensor([[0., -1e9]])).exp()
    tensor([[1., 0.]])
    """
    joint = log_prior + log_likelihood  # (S, K)
    return joint - torch.logsumexp(joint, dim=1, keepdim=True)


def latent_m_step(model: ContextualSoftmax, user: torch.Tensor, context: torch.Tensor, counts: torch.Tensor,
                  resp: torch.Tensor, fit: FitConfig, steps: int) -> torch.Tensor:
    r"""M step: :math:`\pi_m = \frac1S\sum_s r_{sm}`, and a few Adam steps on the expected log-likelihood

    :math:`\sum_s\sum_m r_{sm}\sum_i n_{si}\log p_\theta(i\mid u_s,c_s,m)` (a generalised EM step:
    it raises the bound rather than maximising it). Returns the new :math:`\log\pi` (K,).
    """
    rows, full = with_latent(context, resp.shape[1])
    fit_softmax(model, user[rows], full, counts[rows], fit, weight=resp.reshape(-1), steps=steps)
    return torch.log(resp.mean(0).clamp_min(1e-12))


def residual_features(model: ContextualSoftmax, user: torch.Tensor, context: torch.Tensor,
                      items: torch.Tensor) -> torch.Tensor:
    r"""What a session's items say beyond its user and observed context, in item-embedding space, (S, d).

    .. math:: x_s = \frac1L\sum_j V_{i_{sj}} - \mathbb E_{p(i\mid u_s, c_s)}[V_i]

    A latent context shifts a session's items in one direction; a Gaussian mixture on these
    residuals gives EM its starting responsibilities.
    """
    with torch.no_grad():
        expected = torch.softmax(model(user, context), dim=1) @ model.item  # (S, d)
        return model.item[items].mean(1) - expected  # (S, L, d) -> (S, d)


def initial_responsibilities(features: torch.Tensor, num_latent: int, seed: int = 0) -> torch.Tensor:
    """Responsibilities (S, K) of a K-component Gaussian mixture fitted by EM (``density.GaussianMixture``)."""
    from gan_course.mixtures import GaussianMixture

    return GaussianMixture(num_latent, "full", seed=seed).fit(features).predict_proba(features)


@dataclass
class LatentContextFit:
    """A fitted latent-context model: the network, the prior and the EM trace."""

    model: ContextualSoftmax  # last context = the latent one
    log_prior: torch.Tensor  # (K,) log pi
    resp: torch.Tensor  # (S, K) the training sessions' responsibilities
    log_likelihood: list[float]  # mean log-likelihood per interaction before each E step


def fit_latent_context(base: ContextualSoftmax, user: torch.Tensor, context: torch.Tensor, items: torch.Tensor,
                       num_latent: int, fit: FitConfig = FitConfig(), iterations: int = 8,
                       m_steps: int = 25, init_resp: torch.Tensor | None = None) -> LatentContextFit:
    """EM for a latent context, starting from a model fitted on the observed contexts only.

    Args:
        base: a fitted model on the observed ``context`` (S, F); copied, never changed.
        user: (S,) the sessions' users; items: (S, L) their items.
        num_latent: K, the number of latent values.
        fit: training settings of every M step.
        iterations: EM iterations (E step, then M step).
        m_steps: Adam steps per M step.
        init_resp: (S, K) starting responsibilities; None fits a Gaussian mixture to
            :func:`residual_features` (notebook 03's EM) and starts from its responsibilities.
    """
    require_positive_int("num_latent", num_latent)
    require_positive_int("iterations", iterations)
    require_positive_int("m_steps", m_steps)
    model = ContextualSoftmax(base.num_users, base.num_items, base.context_sizes + (num_latent,),
                              base.item.shape[1], fit.seed)
    with torch.no_grad():
        model.user.copy_(base.user), model.item.copy_(base.item), model.bias.copy_(base.bias)
        for table, learned in zip(model.context, base.context):
            table.copy_(learned)
    if init_resp is None:
        init_resp = initial_responsibilities(residual_features(base, user, context, items), num_latent, fit.seed)
    if init_resp.shape != (len(user), num_latent):
        raise ValueError(f"init_resp must have shape (S, K) = ({len(user)}, {num_latent}), got {tuple(init_resp.shape)}")
    counts = session_counts_from_items(items, base.num_items)
    resp = init_resp
    log_prior = latent_m_step(model, user, context, counts, resp, fit, m_steps)
    trace: list[float] = []
    total = float(items.numel())
    for _ in range(iterations):
        with torch.no_grad():
            ll = latent_log_likelihood(model, user, context, items)  # (S, K)
            trace.append(float(torch.logsumexp(log_prior + ll, dim=1).sum()) / total)
            resp = latent_e_step(log_prior, ll).exp()
        log_prior = latent_m_step(model, user, context, counts, resp, fit, m_steps)
    return LatentContextFit(model, log_prior, resp, trace)


@torch.no_grad()
def infer_latent(fitted: LatentContextFit, user: torch.Tensor, context: torch.Tensor,
                 revealed: torch.Tensor) -> torch.Tensor:
    """The posterior over the latent context of new sessions from their revealed items (B, L), (B, K)."""
    if revealed.shape[1] == 0:
        return fitted.log_prior.exp().expand(len(user), -1).clone()  # nothing seen: the prior
    ll = latent_log_likelihood(fitted.model, user, context, revealed)  # (B, K)
    return latent_e_step(fitted.log_prior, ll).exp()


@torch.no_grad()
def latent_scores(fitted: LatentContextFit, user: torch.Tensor, context: torch.Tensor, posterior: torch.Tensor,
                  hard: bool = True) -> torch.Tensor:
    r"""Scores of every item given an inferred latent context, (B, I).

    ``hard=True`` takes the most probable value and uses it as if observed,
    :math:`\log p(i\mid u, c, \hat m)`; ``hard=False`` keeps the uncertainty,
    :math:`\log\sum_m p(m\mid\text{activity})\,p(i\mid u, c, m)`.
    """
    k = posterior.shape[1]
    if hard:
        return fitted.model(user, torch.cat([context, posterior.argmax(1)[:, None]], 1))
    rows, full = with_latent(context, k)
    log_p = torch.log_softmax(fitted.model(user[rows], full), 1).reshape(len(user), k, -1)  # (B, K, I)
    return torch.logsumexp(log_p + posterior.clamp_min(1e-30).log()[:, :, None], dim=1)  # (B, I)
