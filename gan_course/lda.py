r"""Latent Dirichlet allocation by collapsed Gibbs sampling, and the "bars" corpus.

.. math:: \theta_d \sim \mathrm{Dir}(\alpha),\quad \phi_k \sim \mathrm{Dir}(\beta),\quad
    z_{di} \sim \mathrm{Cat}(\theta_d),\quad w_{di} \sim \mathrm{Cat}(\phi_{z_{di}})

Blei, Ng & Jordan (2003), "Latent Dirichlet allocation". Integrating :math:`\theta` and
:math:`\phi` out leaves the topic of one word given all the others (Griffiths & Steyvers, 2004,
"Finding scientific topics", eq. 5):

.. math:: p(z_{di}=k \mid z_{-di}, w) \propto (n_{dk}^{-di} + \alpha)\,
    \frac{n_{kw}^{-di} + \beta}{n_{k}^{-di} + V\beta}

where the counts leave out word :math:`di` itself. Two samplers use it:

- ``"sequential"``: the textbook sampler, one word after another (exact; a Python loop, for
  small corpora and for checking);
- ``"parallel"``: the i-th word of *every* document at once, so one sweep is a few hundred tensor
  operations. Within a step, documents see the topic-word counts without each other's i-th
  words: the approximation of AD-LDA (Newman et al., 2009, "Distributed algorithms for topic
  models"), which there matched the exact sampler's perplexity.

The bars corpus (Griffiths & Steyvers, 2004, fig. 1): 10 topics, the 5 horizontal and 5 vertical
bars of a 5x5 image; each document mixes them with :math:`\theta_d \sim \mathrm{Dir}(1)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from gan_course.validate import require_binary, require_choice, require_positive_int, require_positive_number, require_seed

SAMPLERS = ("parallel", "sequential")


# --------------------------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------------------------


def bars_topics(size: int = 5) -> torch.Tensor:
    """The (2 size, size^2) topic-word matrix of the bars: rows 0..size-1 horizontal, then vertical.

    >>> bars_topics(2)
    tensor([[0.5000, 0.5000, 0.0000, 0.0000],
            [0.0000, 0.0000, 0.5000, 0.5000],
            [0.5000, 0.0000, 0.5000, 0.0000],
            [0.0000, 0.5000, 0.0000, 0.5000]])
    """
    size = require_positive_int("size", size)
    eye = torch.eye(size)
    horizontal = eye[:, :, None].expand(size, size, size)  # (bar, row, col): row == bar
    vertical = eye[:, None, :].expand(size, size, size)  # (bar, row, col): col == bar
    return torch.cat([horizontal, vertical]).reshape(2 * size, size * size) / size


@dataclass
class Corpus:
    """Documents as word ids, with the truth they were drawn from (when known)."""

    docs: torch.Tensor  # (D, L) int64 word ids; -1 pads shorter documents
    vocab_size: int  # V
    topics: torch.Tensor | None = None  # (K, V) true topic-word distributions
    doc_topic: torch.Tensor | None = None  # (D, K) true topic proportions


def bars_corpus(num_docs: int, doc_length: int = 100, size: int = 5, alpha: float = 1.0,
                seed: int | None = None) -> Corpus:
    r"""Documents of ``doc_length`` words, each from :math:`\theta_d\sim\mathrm{Dir}(\alpha)` over the bars."""
    num_docs, doc_length = require_positive_int("num_docs", num_docs), require_positive_int("doc_length", doc_length)
    if not (isinstance(alpha, (int, float)) and alpha > 0):
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    gen = None if seed is None else torch.Generator().manual_seed(int(seed))
    topics = bars_topics(size)  # (K, V)
    theta = _dirichlet(float(alpha), num_docs, topics.shape[0], seed)  # (D, K)
    z = torch.multinomial(theta, doc_length, replacement=True, generator=gen)  # (D, L)
    words = torch.multinomial(topics[z.reshape(-1)], 1, generator=gen).reshape(num_docs, doc_length)
    return Corpus(words, size * size, topics, theta.float())


def _dirichlet(alpha: float, n: int, k: int, seed: int | None) -> torch.Tensor:
    """(n, k) draws from the symmetric Dirichlet(alpha), seeded."""
    rng = np.random.default_rng(None if seed is None else int(seed))
    return torch.from_numpy(rng.dirichlet(np.full(k, alpha), size=n))  # float64


def images_to_documents(x: torch.Tensor) -> Corpus:
    """Binary images (N, ...) as documents whose words are the indices of their "on" pixels."""
    require_binary(x, "x")
    flat = x.reshape(x.shape[0], -1).bool()  # (N, V)
    lengths = flat.sum(1)
    docs = torch.full((flat.shape[0], max(int(lengths.max()), 1)), -1, dtype=torch.int64)
    for d, row in enumerate(flat):
        on = row.nonzero()[:, 0]
        docs[d, : len(on)] = on
    return Corpus(docs, flat.shape[1])


def word_counts(docs: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """The (D, V) document-word count matrix (the input of scikit-learn's LDA)."""
    mask = docs >= 0
    counts = torch.zeros(docs.shape[0], vocab_size)
    rows = torch.arange(docs.shape[0])[:, None].expand_as(docs)  # (D, L)
    counts.index_put_((rows[mask], docs[mask]), torch.ones(int(mask.sum())), accumulate=True)
    return counts


def match_topics(estimated: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pair each reference topic with a distinct estimated one, maximising the total cosine similarity.

    Args:
        estimated: (K, V) topic-word rows (any scale).
        reference: (R, V) with R <= K.

    Returns:
        ``(index, cosine)``: for reference topic r, the estimated topic ``index[r]`` and their cosine similarity.
    """
    from scipy.optimize import linear_sum_assignment

    est = torch.nn.functional.normalize(estimated.double(), dim=1)
    ref = torch.nn.functional.normalize(reference.double(), dim=1)
    cosine = ref @ est.T  # (R, K)
    rows, cols = linear_sum_assignment(-cosine.numpy())
    return torch.as_tensor(cols), cosine[torch.as_tensor(rows), torch.as_tensor(cols)]


# --------------------------------------------------------------------------------------------
# The collapsed conditional and the collapsed joint (pure)
# --------------------------------------------------------------------------------------------


def topic_conditional(doc_topic_counts: torch.Tensor, word_topic_counts: torch.Tensor, topic_counts: torch.Tensor,
                      alpha: float, beta: float, vocab_size: int) -> torch.Tensor:
    r"""The normalised Gibbs conditional of one word's topic, counts *without* that word.

    .. math:: p(z=k\mid\cdot) \propto (n_{dk} + \alpha)\,\frac{n_{kw} + \beta}{n_k + V\beta}

    Args:
        doc_topic_counts: (..., K) :math:`n_{dk}`.
        word_topic_counts: (..., K) :math:`n_{kw}` for the word in question.
        topic_counts: (K,) :math:`n_k`.

    >>> topic_conditional(torch.tensor([1., 0.]), torch.tensor([0., 2.]), torch.tensor([5., 5.]), 1.0, 1.0, 3)
    tensor([0.4000, 0.6000])
    """
    p = (doc_topic_counts + alpha) * (word_topic_counts + beta) / (topic_counts + vocab_size * beta)  # (..., K)
    return p / p.sum(-1, keepdim=True)


def collapsed_log_joint(z: torch.Tensor, docs: torch.Tensor, num_topics: int, vocab_size: int,
                        alpha: float, beta: float) -> float:
    r""":math:`\log p(w, z)` with :math:`\theta, \phi` integrated out (Griffiths & Steyvers, 2004, eq. 2-3).

    .. math:: \sum_k \Big[\log\Gamma(V\beta) - V\log\Gamma(\beta) + \sum_w \log\Gamma(n_{kw}+\beta)
        - \log\Gamma(n_k + V\beta)\Big] + \sum_d \Big[\log\Gamma(K\alpha) - K\log\Gamma(\alpha)
        + \sum_k\log\Gamma(n_{dk}+\alpha) - \log\Gamma(n_d+K\alpha)\Big]
    """
    return _log_joint(*_counts(z, docs, num_topics, vocab_size), alpha, beta)


def _log_joint(n_dk: torch.Tensor, n_wk: torch.Tensor, n_k: torch.Tensor, alpha: float, beta: float) -> float:
    """:func:`collapsed_log_joint` from the counts."""
    (vocab_size, num_topics), lg = n_wk.shape, torch.lgamma
    topics = (num_topics * (math.lgamma(vocab_size * beta) - vocab_size * math.lgamma(beta))
              + lg(n_wk + beta).sum() - lg(n_k + vocab_size * beta).sum())
    documents = (n_dk.shape[0] * (math.lgamma(num_topics * alpha) - num_topics * math.lgamma(alpha))
                 + lg(n_dk + alpha).sum() - lg(n_dk.sum(1) + num_topics * alpha).sum())
    return float(topics + documents)


def _counts(z: torch.Tensor, docs: torch.Tensor, k: int, v: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:math:`n_{dk}` (D, K), :math:`n_{wk}` (V, K) (word-major, so one word's row is contiguous) and
    :math:`n_k` (K,), as float64 counts."""
    mask = docs >= 0
    ones = torch.ones(int(mask.sum()), dtype=torch.float64)
    rows = torch.arange(docs.shape[0])[:, None].expand_as(docs)  # (D, L)
    n_dk = torch.zeros(docs.shape[0], k, dtype=torch.float64).index_put_((rows[mask], z[mask]), ones, accumulate=True)
    n_wk = torch.zeros(v, k, dtype=torch.float64).index_put_((docs[mask], z[mask]), ones, accumulate=True)
    return n_dk, n_wk, n_wk.sum(0)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class LatentDirichletAllocation:
    r"""LDA fitted by collapsed Gibbs sampling.

    .. math:: p(w_d) = \int \prod_i \sum_k \theta_{dk}\,\phi_{k w_{di}}\ \mathrm{Dir}(\theta_d;\alpha)\,d\theta_d

    After ``fit``, :attr:`topic_word` (K, V) and :attr:`doc_topic` (D, K) are the posterior-mean
    estimates from the last sample, :math:`\hat\phi_{kw} = (n_{kw}+\beta)/(n_k+V\beta)` and
    :math:`\hat\theta_{dk} = (n_{dk}+\alpha)/(n_d+K\alpha)`.

    Args:
        num_topics: K.
        alpha: the documents' Dirichlet prior :math:`\alpha` (symmetric).
        beta: the topics' Dirichlet prior :math:`\beta` (symmetric).
        sweeps: Gibbs sweeps over every word in ``fit``.
        sampler: ``"parallel"`` (fast; see the module docstring) or ``"sequential"`` (exact).
        seed: makes the random start and every sweep repeatable.
    """

    def __init__(self, num_topics: int, alpha: float = 1.0, beta: float = 0.1, sweeps: int = 200,
                 sampler: str = "parallel", seed: int | None = None) -> None:
        self.num_topics = require_positive_int("num_topics", num_topics)
        self.alpha, self.beta = require_positive_number("alpha", alpha), require_positive_number("beta", beta)
        self.sampler = require_choice("sampler", sampler, SAMPLERS)
        self.sweeps = require_positive_int("sweeps", sweeps)
        self.gen = torch.Generator().manual_seed(0 if seed is None else require_seed(seed))
        self.vocab_size: int | None = None
        self.docs: torch.Tensor | None = None  # (D, L) the fitted word ids; -1 pads
        self.z: torch.Tensor | None = None  # (D, L) topic of every word; -1 on padding
        self._n: tuple[torch.Tensor, ...] = ()  # n_dk (D, K), n_wk (V, K), n_k (K,), kept in step with z
        self.history: list[float] = []  # log p(w, z) after each sweep

    def _docs(self, docs: torch.Tensor | Corpus, vocab_size: int | None) -> tuple[torch.Tensor, int]:
        if isinstance(docs, Corpus):
            docs, vocab_size = docs.docs, docs.vocab_size
        if not isinstance(docs, torch.Tensor) or docs.ndim != 2 or docs.is_floating_point() or docs.shape[0] == 0:
            raise ValueError(f"docs must be a (D, L) integer tensor of word ids (-1 pads), got "
                             f"{tuple(docs.shape) if isinstance(docs, torch.Tensor) else type(docs).__name__}")
        vocab_size = self.vocab_size or vocab_size or int(docs.max()) + 1
        if (docs < -1).any() or (docs >= vocab_size).any():
            bad = ((docs < -1) | (docs >= vocab_size)).nonzero()[0].tolist()
            raise ValueError(f"docs holds word {docs[tuple(bad)].item()} at index {tuple(bad)}, outside the "
                             f"vocabulary {{0, ..., {vocab_size - 1}}} (-1 pads)")
        return docs.long(), vocab_size

    def fit(self, docs: torch.Tensor | Corpus, vocab_size: int | None = None) -> "LatentDirichletAllocation":
        """Run ``sweeps`` Gibbs sweeps from a random assignment of topics."""
        self.vocab_size = None
        docs, self.vocab_size = self._docs(docs, vocab_size)
        self.docs = docs
        z = torch.randint(self.num_topics, docs.shape, generator=self.gen)
        self.z = torch.where(docs >= 0, z, -1)
        self._n = _counts(self.z.clamp_min(0), docs, self.num_topics, self.vocab_size)
        self.history = []
        with torch.no_grad():
            for _ in range(self.sweeps):
                self.sweep()
        return self

    def sweep(self) -> float:
        """One Gibbs sweep over every word; returns :math:`\\log p(w, z)` after it."""
        if self.z is None:
            raise RuntimeError("call fit(docs) first")
        if self.sampler == "sequential":
            self._sequential_sweep(*self._n)
        else:
            self._parallel_sweep(self.docs, self.z, *self._n)
        self.history.append(_log_joint(*self._n, self.alpha, self.beta))
        return self.history[-1]

    def _parallel_sweep(self, docs: torch.Tensor, z: torch.Tensor, n_dk: torch.Tensor, n_wk: torch.Tensor | None,
                        n_k: torch.Tensor | None, phi: torch.Tensor | None = None) -> None:
        """Word position i of every document at once, updating ``z`` and the counts in place;
        with ``phi`` (V, K) the topics stay fixed (``transform``)."""
        k = self.num_topics
        doc_rows = torch.arange(docs.shape[0]) * k  # offsets of each document's row in n_dk, flattened
        uniform = torch.rand(docs.shape, generator=self.gen, dtype=torch.float64)  # (D, L)
        on_all, words = (docs >= 0).double(), docs.clamp_min(0)  # padding adds and removes 0
        flat_dk = n_dk.view(-1)
        for i in range(docs.shape[1]):
            w, old, on = words[:, i], z[:, i].clamp_min(0), on_all[:, i]
            flat_dk.index_add_(0, doc_rows + old, -on)  # remove word i of every document
            if phi is None:
                n_wk.view(-1).index_add_(0, w * k + old, -on)
                n_k.index_add_(0, old, -on)
                p = (n_dk + self.alpha) * (n_wk[w] + self.beta) / (n_k + self.vocab_size * self.beta)  # (D, K)
            else:
                p = (n_dk + self.alpha) * phi[w]  # (D, K)
            cdf = p.cumsum(1)  # (D, K)
            new = (cdf < uniform[:, i:i + 1] * cdf[:, -1:]).sum(1).clamp_max(k - 1)  # inverse CDF
            flat_dk.index_add_(0, doc_rows + new, on)  # and put it back with its new topic
            if phi is None:
                n_wk.view(-1).index_add_(0, w * k + new, on)
                n_k.index_add_(0, new, on)
            z[:, i] = torch.where(on > 0, new, -1)

    def _sequential_sweep(self, n_dk: torch.Tensor, n_wk: torch.Tensor, n_k: torch.Tensor) -> None:
        """Every word in turn, document by document (NumPy views of the counts: one small vector per word)."""
        uniform = torch.rand(self.docs.shape, generator=self.gen, dtype=torch.float64).numpy()
        n_dk, n_wk, n_k = n_dk.numpy(), n_wk.numpy(), n_k.numpy()  # views: updates reach the tensors
        docs, z = self.docs.numpy(), self.z.numpy()
        v_beta = self.vocab_size * self.beta
        for d in range(docs.shape[0]):
            for i in range(docs.shape[1]):
                w, old = docs[d, i], z[d, i]
                if w < 0:
                    continue
                n_dk[d, old] -= 1
                n_wk[w, old] -= 1
                n_k[old] -= 1
                cdf = np.cumsum((n_dk[d] + self.alpha) * (n_wk[w] + self.beta) / (n_k + v_beta))
                new = min(int(np.searchsorted(cdf, uniform[d, i] * cdf[-1], side="right")), self.num_topics - 1)
                n_dk[d, new] += 1
                n_wk[w, new] += 1
                n_k[new] += 1
                z[d, i] = new

    # -- estimates ----------------------------------------------------------------------------
    def _require_fit(self) -> None:
        if self.z is None:
            raise RuntimeError("call fit(docs) first")

    @property
    def topic_word(self) -> torch.Tensor:
        r"""(K, V) :math:`\hat\phi_{kw} = (n_{kw}+\beta)/(n_k+V\beta)` from the current sample."""
        self._require_fit()
        _, n_wk, n_k = self._n
        return ((n_wk + self.beta) / (n_k + self.vocab_size * self.beta)).T.float().contiguous()

    @property
    def doc_topic(self) -> torch.Tensor:
        r"""(D, K) :math:`\hat\theta_{dk} = (n_{dk}+\alpha)/(n_d+K\alpha)` from the current sample."""
        self._require_fit()
        n_dk = self._n[0]
        return ((n_dk + self.alpha) / (n_dk.sum(1, keepdim=True) + self.num_topics * self.alpha)).float()

    def transform(self, docs: torch.Tensor | Corpus, sweeps: int = 50) -> torch.Tensor:
        r"""Topic proportions (D, K) of new documents with the topics held fixed ("fold-in" Gibbs),
        the average of :math:`\hat\theta_d` over the second half of ``sweeps`` sweeps."""
        self._require_fit()
        docs, _ = self._docs(docs, self.vocab_size)
        phi = self.topic_word.double().T.contiguous()  # (V, K)
        z = torch.where(docs >= 0, torch.randint(self.num_topics, docs.shape, generator=self.gen), -1)
        n_dk = _counts(z.clamp_min(0), docs, self.num_topics, self.vocab_size)[0]
        total = torch.zeros_like(n_dk)
        kept = 0
        for s in range(require_positive_int("sweeps", sweeps)):
            self._parallel_sweep(docs, z, n_dk, None, None, phi)
            if s >= sweeps // 2:
                total += (n_dk + self.alpha) / (n_dk.sum(1, keepdim=True) + self.num_topics * self.alpha)
                kept += 1
        return (total / kept).float()

    def sample(self, n: int, length: int, seed: int | None = None) -> torch.Tensor:
        r"""``n`` new documents (n, length) of word ids: :math:`\theta\sim\mathrm{Dir}(\alpha)`, then a topic
        and a word for each position."""
        phi = self.topic_word.double()
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        n, length = require_positive_int("n", n), require_positive_int("length", length)
        theta = _dirichlet(self.alpha, n, self.num_topics, seed)  # (n, K)
        z = torch.multinomial(theta, length, replacement=True, generator=gen)  # (n, L)
        return torch.multinomial(phi[z.reshape(-1)], 1, generator=gen).reshape(n, length)
