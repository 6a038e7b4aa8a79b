r"""Interactions with a known truth: the generative process behind appendix B1.

A recommender is a conditional generative model of interactions, :math:`p(i \mid u, c)`. To see
what each method recovers we draw the interactions ourselves, from a process whose every
parameter is in :class:`RecsysConfig`:

.. math::
    \log p(i \mid u, \ell, c, m) = \beta_i + (a_u + e_c + g_m)^\top b_i
        + \gamma\,[\ell_i = \ell_u] - \log Z(u, \ell, c, m)

- items :math:`i` have a latent feature :math:`b_i \sim \mathcal N(0, I_d)`, a popularity
  :math:`\beta_i \sim \mathcal N(0, \sigma_\beta^2)` (a long tail) and a language :math:`\ell_i`;
- users :math:`u` have a latent taste :math:`a_u \sim \mathcal N(0, \sigma_a^2 I_d / d)` and a
  *representational* context that never changes: a first language :math:`\ell_u`, partially
  observable (a fraction of users declare it; everyone's country, a correlate, is recorded);
- every session has two *interactional* contexts: a companion :math:`c` (alone, partner, friends, kids),
  fully observable (logged with the session), and a mood :math:`m`, unobservable, which shifts
  the taste like the companion does (:math:`e_c, g_m \sim \mathcal N(0, \sigma^2 I_d / d)`);
- a session draws ``session_length`` items with replacement from that softmax.

Sessions carry a time; :func:`split_by_time` holds out every session after ``split_time``. Users
who signed up late have few training sessions (cold start), which is where the representational
context helps. Representational and interactional context are Dourish's two views ("What we
talk about when we talk about context", 2004); the degrees of observability follow Adomavicius &
Tuzhilin, "Context-aware recommender systems" (Recommender Systems Handbook, 2011). No real
personal data: everything is drawn here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from gan_course.validate import (require_in_range, require_int, require_nonnegative_number, require_positive_int,
                                 require_seed)

COMPANIONS = ("alone", "partner", "friends", "kids")
MOODS = ("calm", "upbeat", "curious")


@dataclass(frozen=True)
class RecsysConfig:
    """The parameters of the generative process; vary them with ``dataclasses.replace``."""

    num_users: int = 600  # U, users
    num_items: int = 500  # I, items in the catalog
    dim: int = 8  # d, dimension of the latent tastes a_u and item features b_i
    taste_scale: float = 1.5  # sigma_a: std of a user's taste term a_u . b_i (in nats)
    popularity_scale: float = 1.0  # sigma_beta: std of the item popularity beta_i (long tail)
    num_languages: int = 3  # languages of users and items; also the number of countries
    home_country_prob: float = 0.8  # P(a user lives in their language's home country)
    declared_prob: float = 0.3  # P(a user declares their language at sign-up)
    language_affinity: float = 1.0  # gamma: logit bonus of an item in the user's language
    companion_probs: tuple[float, ...] = (0.35, 0.25, 0.2, 0.2)  # P(alone), P(partner), P(friends), P(kids)
    companion_scale: float = 2.0  # std of the companion's taste shift e_c . b_i (in nats)
    mood_probs: tuple[float, ...] = (0.4, 0.35, 0.25)  # P(mood) for each of the len() moods
    mood_scale: float = 1.5  # std of the mood's taste shift g_m . b_i (in nats)
    mean_sessions: float = 10.0  # sessions per user: 1 + Poisson(mean_sessions - 1)
    session_length: int = 8  # items drawn (with replacement) in one session
    reveal: int = 3  # test sessions: items shown as "activity so far"; the rest are the targets
    split_time: float = 0.9  # users sign up uniformly before it; sessions at or after it are held out

    def __post_init__(self) -> None:
        for name in ("num_users", "num_items", "dim", "num_languages", "session_length"):
            require_positive_int(name, getattr(self, name))
        for name in ("taste_scale", "popularity_scale", "language_affinity", "companion_scale", "mood_scale"):
            require_nonnegative_number(name, getattr(self, name))
        for name in ("home_country_prob", "declared_prob", "split_time"):
            require_in_range(name, getattr(self, name), 0, 1)
        for name in ("companion_probs", "mood_probs"):
            probs = getattr(self, name)
            if len(probs) == 0 or min(probs) < 0 or not math.isclose(sum(probs), 1.0, abs_tol=1e-6):
                raise ValueError(f"{name} must be non-negative and sum to 1, got {probs!r}")
        require_in_range("mean_sessions", self.mean_sessions, 1, math.inf, include_high=False)
        require_int("reveal", self.reveal, 0, self.session_length - 1)

    @property
    def num_companions(self) -> int:
        return len(self.companion_probs)

    @property
    def num_moods(self) -> int:
        return len(self.mood_probs)


@dataclass(frozen=True)
class Sessions:
    """A set of sessions, one row each; ``items`` keeps the order in which they were consumed."""

    user: torch.Tensor  # (S,) long, the session's user
    time: torch.Tensor  # (S,) float in [0, 1]
    companion: torch.Tensor  # (S,) long, observable interactional context
    mood: torch.Tensor  # (S,) long, unobservable interactional context (known only to the oracle)
    items: torch.Tensor  # (S, L) long, the items of the session in order

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def subset(self, index: torch.Tensor) -> "Sessions":
        """The sessions selected by a boolean mask or an index tensor."""
        return Sessions(self.user[index], self.time[index], self.companion[index], self.mood[index],
                        self.items[index])


@dataclass(frozen=True)
class World:
    """Everything the generative process drew: the truth, and the sessions it produced."""

    config: RecsysConfig
    item_features: torch.Tensor  # (I, d) b_i
    item_popularity: torch.Tensor  # (I,) beta_i
    item_language: torch.Tensor  # (I,) long
    user_taste: torch.Tensor  # (U, d) a_u
    user_language: torch.Tensor  # (U,) long, the true first language (representational context)
    user_country: torch.Tensor  # (U,) long, always recorded: a correlate of the language
    declared: torch.Tensor  # (U,) bool, did the user declare their language at sign-up?
    companion_shift: torch.Tensor  # (C, d) e_c
    mood_shift: torch.Tensor  # (M, d) g_m
    sessions: Sessions  # every session, ordered by time within each user

    def true_logits(self, user: torch.Tensor, companion: torch.Tensor, mood: torch.Tensor) -> torch.Tensor:
        r"""The true :math:`\log p(i \mid u, \ell_u, c, m)` up to a constant per row, shape (B, I)."""
        cfg = self.config
        query = self.user_taste[user] + self.companion_shift[companion] + self.mood_shift[mood]  # (B, d)
        same = self.item_language[None, :] == self.user_language[user][:, None]  # (B, I)
        return self.item_popularity + query @ self.item_features.T + cfg.language_affinity * same


@dataclass(frozen=True)
class Split:
    """A split by time: training sessions, held-out sessions, and what each user reveals."""

    train: Sessions  # every session before ``split_time``
    test: Sessions  # every session from ``split_time`` on
    revealed: torch.Tensor  # (S_test, reveal) long, the first items of each test session (activity)
    targets: torch.Tensor  # (S_test, I) bool, the distinct items of each test session after those
    num_users: int  # U, the declared range of user ids
    num_items: int  # I, the declared range of item ids


# --------------------------------------------------------------------------------------------
# The generative process
# --------------------------------------------------------------------------------------------


def _shift(n: int, dim: int, scale: float, gen: torch.Generator) -> torch.Tensor:
    """``n`` vectors whose dot product with b ~ N(0, I) has std ``scale``: N(0, scale^2 I / d)."""
    return scale / math.sqrt(dim) * torch.randn(n, dim, generator=gen)  # (n, d)


def generate(config: RecsysConfig = RecsysConfig(), seed: int = 0) -> World:
    """Draw a world from ``config``: items, users, their contexts, and every session.

    Args:
        config: the parameters of the generative process.
        seed: the seed of the only random generator used; the same seed gives the same world.

    Returns:
        A :class:`World`; ``world.sessions`` holds every session, ordered by user then time.
    """
    if not isinstance(config, RecsysConfig):
        raise ValueError(f"config must be a RecsysConfig, got {type(config).__name__}")
    gen = torch.Generator().manual_seed(require_seed(seed))
    cfg, num_lang = config, config.num_languages
    # Items: features, popularity, language
    item_features = torch.randn(cfg.num_items, cfg.dim, generator=gen)  # (I, d)
    item_popularity = cfg.popularity_scale * torch.randn(cfg.num_items, generator=gen)  # (I,)
    item_language = torch.randint(num_lang, (cfg.num_items,), generator=gen)  # (I,)
    # Users: taste, language, its correlate (country), whether it was declared
    user_taste = _shift(cfg.num_users, cfg.dim, cfg.taste_scale, gen)  # (U, d)
    user_language = torch.randint(num_lang, (cfg.num_users,), generator=gen)  # (U,)
    at_home = torch.rand(cfg.num_users, generator=gen) < cfg.home_country_prob
    elsewhere = torch.randint(num_lang, (cfg.num_users,), generator=gen)
    user_country = torch.where(at_home, user_language, elsewhere)  # country k is language k's home
    declared = torch.rand(cfg.num_users, generator=gen) < cfg.declared_prob
    # Interactional contexts: how each companion and each mood shifts the taste
    companion_shift = _shift(cfg.num_companions, cfg.dim, cfg.companion_scale, gen)  # (C, d)
    mood_shift = _shift(cfg.num_moods, cfg.dim, cfg.mood_scale, gen)  # (M, d)
    sessions = _draw_sessions(cfg, gen)
    world = World(cfg, item_features, item_popularity, item_language, user_taste, user_language,
                  user_country, declared, companion_shift, mood_shift, sessions)
    probs = torch.softmax(world.true_logits(sessions.user, sessions.companion, sessions.mood), dim=1)  # (S, I)
    items = torch.multinomial(probs, cfg.session_length, replacement=True, generator=gen)  # (S, L)
    return dataclasses.replace(world, sessions=dataclasses.replace(sessions, items=items))


def _draw_sessions(cfg: RecsysConfig, gen: torch.Generator) -> Sessions:
    """Who, when and in which context; the items are drawn afterwards from the true model."""
    counts = 1 + torch.poisson(torch.full((cfg.num_users,), cfg.mean_sessions - 1.0), generator=gen).long()
    user = torch.repeat_interleave(torch.arange(cfg.num_users), counts)  # (S,)
    signup = cfg.split_time * torch.rand(cfg.num_users, generator=gen)[user]  # (S,) sign-up, before the split
    time = signup + (1 - signup) * torch.rand(len(user), generator=gen)  # uniform after sign-up
    order = torch.argsort(user.double() * 2 + time.double())  # by user, then by time
    user, time = user[order], time[order]
    companion = torch.multinomial(torch.tensor(cfg.companion_probs), len(user), replacement=True, generator=gen)
    mood = torch.multinomial(torch.tensor(cfg.mood_probs), len(user), replacement=True, generator=gen)
    empty = torch.zeros(len(user), 0, dtype=torch.long)
    return Sessions(user, time, companion, mood, empty)


def split_by_time(world: World) -> Split:
    """Hold out every session at or after ``config.split_time``.

    Each held-out session shows its first ``reveal`` items (the activity a system sees before it
    recommends) and asks for the distinct items after them.
    """
    cfg = world.config
    late = world.sessions.time >= cfg.split_time
    train, test = world.sessions.subset(~late), world.sessions.subset(late)
    revealed = test.items[:, :cfg.reveal]  # (S_test, reveal)
    targets = torch.zeros(len(test), cfg.num_items, dtype=torch.bool)  # (S_test, I)
    targets.scatter_(1, test.items[:, cfg.reveal:], True)
    return Split(train, test, revealed, targets, cfg.num_users, cfg.num_items)


# --------------------------------------------------------------------------------------------
# Observing the contexts
# --------------------------------------------------------------------------------------------


def check_ids(name: str, ids: torch.Tensor, upper: int) -> torch.Tensor:
    """``ids`` when it is an integer tensor with values in ``[0, upper)``; else a ValueError.

    >>> check_ids("user", torch.tensor([0, 2]), 3)
    tensor([0, 2])
    """
    if not isinstance(ids, torch.Tensor) or ids.is_floating_point() or ids.dtype == torch.bool:
        raise ValueError(f"{name} must be an integer tensor of ids, got "
                         f"{ids.dtype if isinstance(ids, torch.Tensor) else type(ids).__name__}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= upper):
        bad = ids[(ids < 0) | (ids >= upper)][0].item()
        raise ValueError(f"{name} ids must lie in [0, {upper - 1}] (the declared range), got {bad}")
    return ids


def session_counts(sessions: Sessions, num_users: int, num_items: int) -> torch.Tensor:
    r"""The item counts of each session, :math:`n_{si}`, shape (S, I); ids are checked first."""
    check_ids("user", sessions.user, num_users)
    check_ids("item", sessions.items, num_items)
    counts = torch.zeros(len(sessions), num_items)  # (S, I)
    counts.scatter_add_(1, sessions.items, torch.ones(sessions.items.shape))
    return counts


def infer_language(country: torch.Tensor, declared_language: torch.Tensor, declared: torch.Tensor,
                   num_languages: int) -> torch.Tensor:
    r"""Partially observable context: the declared language, else the likeliest one given the country.

    .. math:: \hat\ell_u = \arg\max_\ell \hat p(\ell \mid k_u), \qquad
        \hat p(\ell \mid k) \propto n_{k\ell} + \hat p(\ell)

    where :math:`n_{k\ell}` counts the users of country :math:`k` who declared language
    :math:`\ell`, and :math:`\hat p(\ell) = (n_\ell + 1) / (n + L)` is the smoothed share of
    language :math:`\ell` among all declarations (a prior worth one user, so a country where
    nobody declared gets the most common language).

    Args:
        country: (U,) every user's country (always recorded).
        declared_language: (U,) the language, read only where ``declared`` is True.
        declared: (U,) bool, which users declared their language.
        num_languages: the number of languages (and of countries).

    Returns:
        (U,) the declared language where there is one, the inferred one elsewhere.

    >>> infer_language(torch.tensor([0, 0, 1]), torch.tensor([1, 0, 0]), torch.tensor([True, False, False]), 2)
    tensor([1, 1, 1])
    """
    check_ids("country", country, num_languages)
    check_ids("declared_language", declared_language[declared], num_languages)
    spoken = declared_language[declared]
    prior = (torch.bincount(spoken, minlength=num_languages) + 1.0) / (len(spoken) + num_languages)  # (L,)
    pairs = country[declared] * num_languages + spoken
    table = torch.bincount(pairs, minlength=num_languages ** 2).reshape(num_languages, num_languages) + prior  # (K, L)
    return torch.where(declared, declared_language, table.argmax(1)[country])
