r"""Hidden Markov models: the forward algorithm in log space, Viterbi, Baum–Welch and sampling.

.. math:: p(x_{1:T}) = \sum_{z_{1:T}} \pi_{z_1} b_{z_1}(x_1)\prod_{t=2}^{T} A_{z_{t-1}z_t}\, b_{z_t}(x_t)

A hidden state :math:`z_t` follows a Markov chain (start probabilities :math:`\pi`, transition
matrix :math:`A`) and emits one observation :math:`x_t` from :math:`b_{z_t}`: a categorical
symbol, a Gaussian vector (diagonal covariance) or a vector of independent Bernoulli pixels
(a digit read row by row). Rabiner (1989), "A tutorial on hidden Markov models and selected
applications in speech recognition"; the casino example is from Durbin et al. (1998),
*Biological Sequence Analysis*.

The pure functions (:func:`forward`, :func:`backward`, :func:`viterbi_decode`) work in log space
on batches of equal-length sequences; :class:`HiddenMarkovModel` adds parameters, Baum–Welch and
sampling, with hmmlearn's updates, so both give the same numbers from the same start.
"""

from __future__ import annotations

import math

import torch

from gan_course.validate import require_binary, require_finite, require_nonnegative_number, require_positive_int

EMISSIONS = ("categorical", "gaussian", "bernoulli")
ROW_TOL = 1e-6  # how far a row of probabilities may sum from 1


# --------------------------------------------------------------------------------------------
# Pure functions: forward, backward, Viterbi (log space, batched)
# --------------------------------------------------------------------------------------------


def _batched(log_emission: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if log_emission.ndim == 2:
        return log_emission[None], True  # (1, T, K)
    if log_emission.ndim != 3 or log_emission.shape[1] == 0:
        raise ValueError(f"log_emission must have shape (T, K) or (N, T, K) with T > 0, got "
                         f"{tuple(log_emission.shape)}")
    return log_emission, False


def _log_matmul(log_a: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    r""":math:`\log \sum_i e^{a_{ni}} M_{ij}` (N, K) without leaving log space: shift each row by its
    maximum, multiply, add the shift back (a log-sum-exp done as one matrix product)."""
    shift = log_a.max(dim=1, keepdim=True).values.clamp_min(torch.finfo(log_a.dtype).min)  # (N, 1); -inf rows stay -inf
    return torch.log((log_a - shift).exp() @ matrix) + shift


def forward(log_start: torch.Tensor, log_transition: torch.Tensor,
            log_emission: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The forward recursion in log space, and the log-likelihood of each sequence.

    .. math:: \log\alpha_1(j) = \log\pi_j + \log b_j(x_1),\qquad
        \log\alpha_t(j) = \log b_j(x_t) + \operatorname{logsumexp}_i\big(\log\alpha_{t-1}(i) + \log A_{ij}\big),

    and :math:`\log p(x_{1:T}) = \operatorname{logsumexp}_j \log\alpha_T(j)`. Summing in log space
    keeps a sequence of thousands of steps from underflowing to 0.

    Args:
        log_start: (K,) log start probabilities.
        log_transition: (K, K) log transition matrix, row = from, column = to.
        log_emission: (T, K) or (N, T, K) log-likelihood of each observation under each state.

    Returns:
        ``(log_alpha, log_likelihood)``: (T, K) and a scalar, or (N, T, K) and (N,).

    >>> lp, la = torch.tensor([0.5, 0.5]).log(), torch.tensor([[0.9, 0.1], [0.2, 0.8]]).log()
    >>> round(forward(lp, la, torch.full((4, 2), 0.5).log())[1].item(), 6)  # every symbol has p = 1/2
    -2.772589
    """
    log_emission, single = _batched(log_emission)
    transition = log_transition.exp()
    steps = [log_start + log_emission[:, 0]]  # (N, K)
    for t in range(1, log_emission.shape[1]):
        steps.append(_log_matmul(steps[-1], transition) + log_emission[:, t])
    log_alpha = torch.stack(steps, dim=1)  # (N, T, K)
    log_likelihood = torch.logsumexp(log_alpha[:, -1], dim=1)  # (N,)
    return (log_alpha[0], log_likelihood[0]) if single else (log_alpha, log_likelihood)


def backward(log_transition: torch.Tensor, log_emission: torch.Tensor) -> torch.Tensor:
    r"""The backward recursion in log space.

    .. math:: \log\beta_T(i) = 0,\qquad
        \log\beta_t(i) = \operatorname{logsumexp}_j\big(\log A_{ij} + \log b_j(x_{t+1}) + \log\beta_{t+1}(j)\big)

    Args:
        log_transition: (K, K).
        log_emission: (T, K) or (N, T, K).

    Returns:
        ``log_beta`` of the shape of ``log_emission``.
    """
    log_emission, single = _batched(log_emission)
    transition_t = log_transition.exp().T
    steps = [torch.zeros_like(log_emission[:, -1])]  # (N, K)
    for t in range(log_emission.shape[1] - 2, -1, -1):
        steps.append(_log_matmul(log_emission[:, t + 1] + steps[-1], transition_t))  # (N, K_from)
    log_beta = torch.stack(steps[::-1], dim=1)  # (N, T, K)
    return log_beta[0] if single else log_beta


def viterbi_decode(log_start: torch.Tensor, log_transition: torch.Tensor,
                   log_emission: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The most probable state path and its log joint probability (Viterbi, 1967).

    .. math:: \delta_t(j) = \log b_j(x_t) + \max_i\big(\delta_{t-1}(i) + \log A_{ij}\big),\qquad
        \hat z_T = \arg\max_j \delta_T(j),\ \ \hat z_{t} = \psi_{t+1}(\hat z_{t+1})

    Args:
        log_start, log_transition, log_emission: as for :func:`forward`.

    Returns:
        ``(path, log_prob)``: int64 (T,) and a scalar, or (N, T) and (N,). Ties go to the lower state.
    """
    log_emission, single = _batched(log_emission)
    delta = log_start + log_emission[:, 0]  # (N, K)
    pointers = []
    for t in range(1, log_emission.shape[1]):
        best, arg = (delta[:, :, None] + log_transition).max(dim=1)  # (N, K_to), best K_from
        pointers.append(arg)
        delta = best + log_emission[:, t]
    log_prob, last = delta.max(dim=1)  # (N,)
    path = [last]
    for arg in reversed(pointers):
        path.append(arg.gather(1, path[-1][:, None])[:, 0])
    path = torch.stack(path[::-1], dim=1)  # (N, T)
    return (path[0], log_prob[0]) if single else (path, log_prob)


def require_stochastic(name: str, p: object, shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """``p`` as a float64 tensor whose last axis holds probabilities (>= 0, summing to 1 within
    ``ROW_TOL``); else a ValueError naming ``name``, the offending row and its values."""
    p = torch.as_tensor(p, dtype=torch.float64)
    if shape is not None and tuple(p.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(p.shape)}")
    if p.ndim == 0 or p.shape[-1] == 0:
        raise ValueError(f"{name} must hold at least one probability, got shape {tuple(p.shape)}")
    require_finite(p, name)
    rows = p.reshape(-1, p.shape[-1])  # (R, C)
    negative = (rows < 0).any(1)
    if negative.any():
        r = int(negative.nonzero()[0])
        raise ValueError(f"{name} must be non-negative probabilities, but row {r} is {rows[r].tolist()}")
    sums = rows.sum(1)
    off = (sums - 1).abs() > ROW_TOL
    if off.any():
        r = int(off.nonzero()[0])
        what = "each row" if p.ndim > 1 else "it"
        raise ValueError(f"{name}: {what} must sum to 1 (within {ROW_TOL:g}), but row {r} sums to "
                         f"{sums[r].item():.6g}: {rows[r].tolist()}")
    return p


def _chain(start_prob: object, transition: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated start probabilities (K,) and transition matrix (K, K)."""
    start = require_stochastic("start_prob", start_prob)
    if start.ndim != 1:
        raise ValueError(f"start_prob must have shape (K,), got {tuple(start.shape)}")
    return start, require_stochastic("transition", transition, (start.shape[0],) * 2)


# --------------------------------------------------------------------------------------------
# Emission distributions: log-likelihoods (N, T, K), M step, sampling
# --------------------------------------------------------------------------------------------


class _Categorical:
    kind = "categorical"

    def __init__(self, probs: torch.Tensor) -> None:
        self.probs = probs  # (K, M): row k is p(symbol | state k)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.probs.log().T[x]  # (N, T) symbols -> (N, T, K)

    def m_step(self, x: torch.Tensor, gamma: torch.Tensor, alpha: float) -> None:
        onehot = torch.nn.functional.one_hot(x.reshape(-1), self.probs.shape[1]).to(gamma)  # (F, M)
        counts = gamma.reshape(-1, gamma.shape[-1]).T @ onehot + alpha  # (K, M)
        self.probs = counts / counts.sum(1, keepdim=True)

    def sample(self, states: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        rows = self.probs[states.reshape(-1)]  # (n T, M)
        return torch.multinomial(rows, 1, generator=gen).reshape(states.shape)


class _Gaussian:
    kind = "gaussian"

    def __init__(self, means: torch.Tensor, variances: torch.Tensor) -> None:
        self.means, self.variances = means, variances  # (K, D) each: diagonal covariances

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        diff = x[:, :, None, :] - self.means  # (N, T, K, D)
        return -0.5 * (math.log(2 * math.pi) + self.variances.log() + diff**2 / self.variances).sum(-1)

    def m_step(self, x: torch.Tensor, gamma: torch.Tensor, var_prior: float) -> None:
        flat, g = x.reshape(-1, x.shape[-1]), gamma.reshape(-1, gamma.shape[-1])  # (F, D), (F, K)
        post = g.sum(0)[:, None]  # (K, 1)
        self.means = g.T @ flat / post
        spread = g.T @ flat**2 - 2 * self.means * (g.T @ flat) + self.means**2 * post  # sum_t g (x - mu)^2
        self.variances = (var_prior + spread) / post.clamp_min(1e-5)

    def sample(self, states: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        noise = torch.randn(*states.shape, self.means.shape[1], generator=gen, dtype=self.means.dtype)
        return self.means[states] + self.variances[states].sqrt() * noise  # (n, T, D)


class _Bernoulli:
    kind = "bernoulli"

    def __init__(self, theta: torch.Tensor) -> None:
        self.theta = theta  # (K, D): p(pixel on | state)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        # x log t + (1 - x) log(1 - t) = x (log t - log(1 - t)) + log(1 - t): one product
        log_t, log_1m = self.theta.log(), (-self.theta).log1p()  # (K, D)
        return x @ (log_t - log_1m).T + log_1m.sum(1)  # (N, T, D) @ (D, K) -> (N, T, K)

    def m_step(self, x: torch.Tensor, gamma: torch.Tensor, alpha: float) -> None:
        flat, g = x.reshape(-1, x.shape[-1]), gamma.reshape(-1, gamma.shape[-1])  # (F, D), (F, K)
        self.theta = (g.T @ flat + alpha) / (g.sum(0)[:, None] + 2 * alpha)  # (K, D)

    def sample(self, states: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        return torch.bernoulli(self.theta[states], generator=gen)  # (n, T, D)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class HiddenMarkovModel:
    r"""A hidden Markov model with categorical, Gaussian (diagonal) or Bernoulli-vector emissions.

    .. math:: p(x_{1:T}) = \sum_{z_{1:T}} \pi_{z_1} b_{z_1}(x_1)\prod_{t=2}^{T} A_{z_{t-1}z_t}\, b_{z_t}(x_t)

    Fitted by Baum–Welch (EM with forward–backward responsibilities), or built from known
    parameters with :meth:`from_parameters` (categorical) / :meth:`from_gaussian_parameters`.

    A *sequence* is (T,) int symbols (categorical), or (T, D) floats (Gaussian; (T,) when D = 1)
    or (T, D) binary (Bernoulli); a batch is (N, T[, D]) or a list of sequences of any lengths.

    Args:
        num_states: K.
        emission: one of ``EMISSIONS``.
        num_symbols: M, the alphabet size (categorical only; else taken from the data).
        max_iter: most Baum–Welch steps in ``fit``.
        tol: stop when the total log-likelihood rises by less than this.
        alpha: pseudo-count added to emission counts (categorical, Bernoulli); 0 is the MLE.
        var_prior: added to each Gaussian variance's numerator (hmmlearn's ``covars_prior``).
        seed: makes the random start of ``fit`` repeatable.

    Attributes:
        start_prob, transition: :math:`\\pi` (K,) and :math:`A` (K, K).
        emission: ``.probs`` (K, M) categorical; ``.means``, ``.variances`` (K, D) Gaussian; ``.theta`` (K, D).
    """

    def __init__(self, num_states: int, emission: str = "categorical", num_symbols: int | None = None,
                 max_iter: int = 100, tol: float = 1e-4, alpha: float = 0.0, var_prior: float = 1e-2,
                 seed: int | None = None) -> None:
        if emission not in EMISSIONS:
            raise ValueError(f"emission must be one of {EMISSIONS}, got {emission!r}")
        self.num_states = require_positive_int("num_states", num_states)
        self.num_symbols = None if num_symbols is None else require_positive_int("num_symbols", num_symbols)
        self.emission_kind, self.max_iter = emission, require_positive_int("max_iter", max_iter)
        self.tol = require_nonnegative_number("tol", tol)
        self.alpha = require_nonnegative_number("alpha", alpha)
        self.var_prior = require_nonnegative_number("var_prior", var_prior)
        self.seed = seed
        self.start_prob: torch.Tensor | None = None  # (K,)
        self.transition: torch.Tensor | None = None  # (K, K), rows sum to 1
        self.emission: _Categorical | _Gaussian | _Bernoulli | None = None
        self.history: list[float] = []  # total log-likelihood before each Baum–Welch step
        self.converged = False

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_parameters(cls, start_prob: object, transition: object, emission: object) -> "HiddenMarkovModel":
        """A categorical HMM from its start probabilities (K,), transitions (K, K) and emission
        probabilities (K, M), each row a distribution."""
        start, trans = _chain(start_prob, transition)
        k = start.shape[0]
        emit = require_stochastic("emission", emission)
        if emit.ndim != 2 or emit.shape[0] != k:
            raise ValueError(f"emission must have shape ({k}, M), one row per state, got {tuple(emit.shape)}")
        model = cls(k, "categorical", num_symbols=emit.shape[1])
        model.start_prob, model.transition, model.emission = start, trans, _Categorical(emit)
        return model

    @classmethod
    def from_gaussian_parameters(cls, start_prob: object, transition: object, means: object,
                                 variances: object) -> "HiddenMarkovModel":
        """A Gaussian HMM from start (K,), transitions (K, K), means (K, D) and variances (K, D) (or (K,) for D = 1)."""
        start, trans = _chain(start_prob, transition)
        k = start.shape[0]
        means, variances = (torch.as_tensor(v, dtype=torch.float64) for v in (means, variances))
        means, variances = (v[:, None] if v.ndim == 1 else v for v in (means, variances))
        if means.shape != variances.shape or means.ndim != 2 or means.shape[0] != k:
            raise ValueError(f"means and variances must both have shape ({k}, D), got {tuple(means.shape)} "
                             f"and {tuple(variances.shape)}")
        require_finite(means, "means")
        if not (variances > 0).all():
            raise ValueError(f"variances must be positive, got {variances.tolist()}")
        model = cls(k, "gaussian")
        model.start_prob, model.transition, model.emission = start, trans, _Gaussian(means, variances)
        return model

    # -- sequences --------------------------------------------------------------------------
    def _check(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """One validated batch (N, T[, D]) in the form the emission expects."""
        if self.emission_kind == "categorical":
            if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
                raise ValueError(f"{name} must hold integer symbols, got dtype {x.dtype}")
            m = self.num_symbols if self.emission is None else self.emission.probs.shape[1]
            if m is not None and x.numel() and (x.min() < 0 or x.max() >= m):
                bad = ((x < 0) | (x >= m)).nonzero()[0].tolist()
                raise ValueError(f"{name} holds symbol {x[tuple(bad)].item()} at index {tuple(bad)}, outside the "
                                 f"emission alphabet {{0, ..., {m - 1}}} ({m} symbols)")
            return x.long()
        x = x.to(torch.float64)
        require_finite(x, name)
        if self.emission_kind == "bernoulli":
            require_binary(x, name)
        if self.emission is not None:
            d = self.emission.means.shape[1] if self.emission_kind == "gaussian" else self.emission.theta.shape[1]
            if x.shape[-1] != d:
                raise ValueError(f"{name} must have {d} features per step (last axis), got shape {tuple(x.shape)}")
        return x

    def _as_groups(self, sequences: object,
                   name: str = "sequence") -> tuple[list[tuple[list[int], torch.Tensor]], int, bool]:
        """Equal-length groups ``[(indices, batch (n, T[, D]))]``, the number of sequences, and
        whether a single sequence was given."""
        event = int(self.emission_kind != "categorical")  # 0: a symbol per step, 1: a vector
        if isinstance(sequences, torch.Tensor):
            x = sequences
            if self.emission_kind == "gaussian" and x.ndim == 1:
                x = x[:, None]  # (T,) of scalars -> (T, 1)
            if x.ndim == 1 + event:
                return [([0], self._check(x, name)[None])], 1, True
            if x.ndim == 2 + event:
                return [(list(range(len(x))), self._check(x, name))], len(x), False
            shape = "(T, D)" if event else "(T,)"
            raise ValueError(f"{name} must have shape {shape} or (N, {shape[1:]}, got {tuple(x.shape)}")
        if isinstance(sequences, (list, tuple)) and sequences and all(isinstance(s, torch.Tensor) for s in sequences):
            by_length: dict[int, list[int]] = {}
            for i, s in enumerate(sequences):
                by_length.setdefault(len(s), []).append(i)
            groups = []
            for indices in by_length.values():
                parts = [self._as_groups(sequences[i], f"{name}[{i}]")[0][0][1] for i in indices]
                groups.append((indices, torch.cat(parts)))
            return groups, len(sequences), False
        raise ValueError(f"{name} must be a tensor or a non-empty list of tensors, got {type(sequences).__name__}")

    # -- inference ----------------------------------------------------------------------------
    def _log_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.emission is None:
            raise RuntimeError("call fit(sequences) or build the model with from_parameters(...) first")
        return self.start_prob.log(), self.transition.log()

    def log_prob(self, sequences: object) -> torch.Tensor:
        """:math:`\\log p(x_{1:T})` in nats: a scalar for one sequence, (N,) for a batch or a list."""
        log_start, log_trans = self._log_params()
        groups, n, single = self._as_groups(sequences)
        out = torch.empty(n, dtype=torch.float64)
        for indices, x in groups:
            out[indices] = forward(log_start, log_trans, self.emission.log_prob(x))[1]
        return out[0] if single else out

    def viterbi(self, sequences: object) -> torch.Tensor | list[torch.Tensor]:
        """The most likely state path: int64 (T,) for one sequence, (N, T) for a batch, a list for a list."""
        log_start, log_trans = self._log_params()
        groups, n, single = self._as_groups(sequences)
        paths: list[torch.Tensor | None] = [None] * n
        for indices, x in groups:
            for i, path in zip(indices, viterbi_decode(log_start, log_trans, self.emission.log_prob(x))[0]):
                paths[i] = path
        return paths[0] if single else torch.stack(paths) if isinstance(sequences, torch.Tensor) else paths

    def posterior(self, sequences: torch.Tensor) -> torch.Tensor:
        """State posteriors :math:`p(z_t = k \\mid x_{1:T})`: (T, K) for one sequence, (N, T, K) for a batch."""
        log_start, log_trans = self._log_params()
        groups, _, single = self._as_groups(sequences)
        if len(groups) != 1 or not isinstance(sequences, torch.Tensor):
            raise ValueError("posterior takes one sequence or an equal-length batch as a tensor")
        gamma = self._log_gamma(groups[0][1], log_start, log_trans)[0].exp()  # (N, T, K)
        return gamma[0] if single else gamma

    def _log_gamma(self, x: torch.Tensor, log_start: torch.Tensor, log_trans: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """``log_gamma, log_alpha, log_beta`` (N, T, K), ``log_emit`` (N, T, K) and ``log_lik`` (N,)."""
        log_emit = self.emission.log_prob(x)  # (N, T, K)
        log_alpha, log_lik = forward(log_start, log_trans, log_emit)
        log_beta = backward(log_trans, log_emit)
        return log_alpha + log_beta - log_lik[:, None, None], log_alpha, log_beta, log_emit, log_lik

    # -- Baum–Welch ---------------------------------------------------------------------------
    def initialize(self, sequences: object) -> "HiddenMarkovModel":
        """A random start (seeded): near-uniform start and transition rows; emissions from random
        rows (categorical) or k-means on all observations (Gaussian, Bernoulli)."""
        from gan_course.density import kmeans_labels  # here, not at the top: density re-exports this class

        groups, _, _ = self._as_groups(sequences, "sequences")
        gen = torch.Generator().manual_seed(0 if self.seed is None else int(self.seed))
        k = self.num_states
        self.start_prob = torch.full((k,), 1.0 / k, dtype=torch.float64)
        trans = 0.5 + torch.rand(k, k, generator=gen, dtype=torch.float64)
        self.transition = trans / trans.sum(1, keepdim=True)
        if self.emission_kind == "categorical":
            self.num_symbols = self.num_symbols or int(max(x.max() for _, x in groups)) + 1
            probs = torch.rand(k, self.num_symbols, generator=gen, dtype=torch.float64)
            self.emission = _Categorical(probs / probs.sum(1, keepdim=True))
            return self
        frames = torch.cat([x.reshape(-1, x.shape[-1]) for _, x in groups])  # (F, D)
        if len(frames) < k:
            raise ValueError(f"num_states ({k}) must be at most the number of observations ({len(frames)})")
        pick = torch.randperm(len(frames), generator=gen)[:20000]  # k-means on a subsample
        labels = kmeans_labels(frames[pick], k, gen=gen)
        onehot = torch.nn.functional.one_hot(labels, k).to(frames)  # (F', K)
        counts = onehot.sum(0)[:, None].clamp_min(1)  # (K, 1)
        centers = onehot.T @ frames[pick] / counts  # (K, D)
        if self.emission_kind == "gaussian":
            self.emission = _Gaussian(centers, frames.var(0, unbiased=False).expand(k, -1).clone() + 1e-3)
        else:
            self.emission = _Bernoulli(0.9 * centers + 0.05)  # away from 0 and 1
        return self

    def em_step(self, sequences: object) -> float:
        """One Baum–Welch step (Baum et al., 1970); returns the total log-likelihood before it.

        .. math:: \\xi_t(i,j) = \\frac{\\alpha_t(i)A_{ij}b_j(x_{t+1})\\beta_{t+1}(j)}{p(x)},\\quad
            A_{ij} \\leftarrow \\frac{\\sum_t \\xi_t(i,j)}{\\sum_{t,j'}\\xi_t(i,j')},\\quad
            \\pi_k \\leftarrow \\frac1N\\sum_n\\gamma^{(n)}_1(k),\\quad \\gamma_t(k) = \\alpha_t(k)\\beta_t(k)/p(x)
        """
        log_start, log_trans = self._log_params()
        groups, n, _ = self._as_groups(sequences, "sequences")
        k = self.num_states
        start, trans = torch.zeros(k, dtype=torch.float64), torch.zeros(k, k, dtype=torch.float64)
        xs, gammas, total = [], [], 0.0
        for _, x in groups:
            log_gamma, log_alpha, log_beta, log_emit, log_lik = self._log_gamma(x, log_start, log_trans)
            total += log_lik.sum().item()
            start += log_gamma[:, 0].exp().sum(0)
            ahead = log_emit[:, 1:] + log_beta[:, 1:]  # (N, T-1, K): log b_j(x_t+1) + log beta_t+1(j)
            before = log_alpha[:, :-1] - log_lik[:, None, None]  # (N, T-1, K)
            # sum_n,t xi_t(i, j) = A_ij sum_n,t e^{before_i} e^{ahead_j}: one product, shifted for range
            shift_b = before.amax(2, keepdim=True).clamp_min(torch.finfo(before.dtype).min)  # (N, T-1, 1)
            shift_a = ahead.amax(2, keepdim=True).clamp_min(torch.finfo(ahead.dtype).min)
            left = (before - shift_b).exp() * (shift_b + shift_a).clamp_max(700).exp()  # (N, T-1, K)
            trans += self.transition * (left.reshape(-1, k).T @ (ahead - shift_a).exp().reshape(-1, k))
            xs.append(x)
            gammas.append(log_gamma.exp())
        self.start_prob = start / n
        self.transition = trans / trans.sum(1, keepdim=True).clamp_min(1e-300)
        frames = torch.cat([x.reshape(-1, *x.shape[2:]) for x in xs])[None]  # (1, F[, D])
        gamma = torch.cat([g.reshape(-1, k) for g in gammas])[None]  # (1, F, K)
        self.emission.m_step(frames, gamma, self.var_prior if self.emission_kind == "gaussian" else self.alpha)
        self.history.append(total)
        return total

    def fit(self, sequences: object, warm_start: bool = False) -> "HiddenMarkovModel":
        """Baum–Welch until the total log-likelihood rises by less than ``tol`` (or ``max_iter`` steps)."""
        if not warm_start or self.emission is None:
            self.initialize(sequences)
        self.history, self.converged, previous = [], False, -math.inf
        with torch.no_grad():
            for _ in range(self.max_iter):
                total = self.em_step(sequences)
                if total - previous < self.tol:
                    self.converged = True
                    break
                previous = total
        return self

    # -- generating and scoring -------------------------------------------------------------
    def sample(self, n: int, length: int, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` sequences of ``length`` steps: ``(observations (n, T[, D]), states (n, T))``."""
        self._log_params()
        n, length = require_positive_int("n", n), require_positive_int("length", length)
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        states = [torch.multinomial(self.start_prob, n, replacement=True, generator=gen)]  # (n,)
        for _ in range(length - 1):
            states.append(torch.multinomial(self.transition[states[-1]], 1, generator=gen)[:, 0])
        states = torch.stack(states, dim=1)  # (n, T)
        return self.emission.sample(states, gen), states

    def bits_per_dim(self, sequences: object) -> torch.Tensor:
        """Bits per observed number, :math:`-\\sum \\log p(x) / (\\ln 2 \\cdot` all symbols or pixels): digits
        read row by row, (N, 28, 28), count 784 dims each, as on the course scoreboard."""
        log_p = self.log_prob(sequences).reshape(-1)  # (N,)
        groups, _, _ = self._as_groups(sequences)
        numbers = sum(x.numel() for _, x in groups)  # every symbol or pixel of every sequence
        return -log_p.sum() / (numbers * math.log(2))
