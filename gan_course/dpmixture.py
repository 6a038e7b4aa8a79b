r"""Dirichlet-process mixtures by truncated stick-breaking and variational inference.

.. math:: v_k \sim \mathrm{Beta}(1, \alpha),\qquad \pi_k = v_k\prod_{j<k}(1 - v_j),\qquad
    x_i \mid z_i = k \sim p(x \mid \theta_k)

Break a stick of length 1: keep a fraction :math:`v_1` as the first weight, break the rest again,
and so on (Sethuraman, 1994). The weights fall off geometrically on average, so a mixture with an
unbounded number of components uses only as many as the data ask for; :math:`\alpha` says how
readily a new one opens. Truncating at ``truncation`` components and fitting a factorised
posterior :math:`q(v)\,q(\theta)\,q(z)` by coordinate ascent is the variational DP mixture of
Blei & Jordan (2006), "Variational inference for Dirichlet process mixtures".

- :class:`DirichletProcessMixture` — Gaussian components with Normal–Wishart priors; its updates
  are scikit-learn's ``BayesianGaussianMixture(weight_concentration_prior_type="dirichlet_process",
  covariance_type="full")``, so from the same responsibilities both give the same numbers.
- :class:`DirichletProcessBernoulliMixture` — Bernoulli-image components with Beta priors, for
  the digits scoreboard.

After fitting, ``log_prob`` is the plug-in density with the posterior-mean parameters (a proper
mixture density, so it has bits/dim like every other model on the scoreboard).
"""

from __future__ import annotations

import math

import torch

from gan_course.density import GaussianMixture, kmeans_labels
from gan_course.validate import (require_binary, require_finite, require_nonnegative_number, require_positive_int,
                                 require_positive_number)


# --------------------------------------------------------------------------------------------
# Stick-breaking: pure functions
# --------------------------------------------------------------------------------------------


def stick_breaking_weights(v: torch.Tensor) -> torch.Tensor:
    r"""Mixture weights from stick-breaking fractions.

    .. math:: \pi_k = v_k \prod_{j<k} (1 - v_j)

    Args:
        v: (..., K) fractions in [0, 1]; set the last to 1 to use the whole stick.

    Returns:
        (..., K) weights; they sum to :math:`1 - \prod_k (1 - v_k)`.

    >>> stick_breaking_weights(torch.tensor([0.5, 0.5, 1.0]))
    tensor([0.5000, 0.2500, 0.2500])
    """
    if ((v < 0) | (v > 1)).any():
        raise ValueError(f"v must hold fractions in [0, 1], got values in [{v.min().item():.4g}, {v.max().item():.4g}]")
    left = torch.cumprod(1 - v, dim=-1)  # (..., K): stick left after k breaks
    before = torch.cat([torch.ones_like(v[..., :1]), left[..., :-1]], dim=-1)  # stick left before break k
    return v * before


def expected_log_stick_weights(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathbb E_q[\log\pi_k]` when :math:`q(v_k) = \mathrm{Beta}(a_k, b_k)`.

    .. math:: \mathbb E[\log \pi_k] = \psi(a_k) - \psi(a_k + b_k)
        + \sum_{j<k}\big(\psi(b_j) - \psi(a_j + b_j)\big)
    """
    total = torch.digamma(a + b)
    log_rest = torch.digamma(b) - total  # E[log(1 - v_j)]
    before = torch.cat([torch.zeros_like(a[:1]), torch.cumsum(log_rest, 0)[:-1]])  # (K,)
    return torch.digamma(a) - total + before


def stick_posterior(nk: torch.Tensor, concentration: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The stick fractions' posterior :math:`q(v_k) = \mathrm{Beta}(1 + N_k,\ \alpha + \sum_{j>k} N_j)`."""
    later = torch.cat([torch.flip(torch.cumsum(torch.flip(nk, [0]), 0), [0])[1:], nk.new_zeros(1)])  # sum_{j>k} N_j
    return 1.0 + nk, concentration + later


def posterior_mean_weights(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""The weights at the posterior-mean fractions :math:`\mathbb E[v_k] = a_k/(a_k+b_k)`, renormalised
    over the truncation."""
    weights = stick_breaking_weights(a / (a + b))
    return weights / weights.sum()


def _bernoulli_log_prob(x: torch.Tensor, log_on: torch.Tensor, log_off: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_j x_j \log\theta_{kj} + (1 - x_j)\log(1-\theta_{kj})` (N, K) from (K, D) logs, as one product."""
    return x @ (log_on - log_off).T + log_off.sum(1)  # (N, D) @ (D, K)


class _StickBreakingMixture:
    """What both DP mixtures share: the stick, the fit loop, the weights and the summaries."""

    def __init__(self, truncation: int, concentration: float | None, max_iter: int, tol: float,
                 seed: int | None) -> None:
        self.truncation = require_positive_int("truncation", truncation)
        if concentration is not None and not (isinstance(concentration, (int, float)) and concentration > 0):
            raise ValueError(f"concentration must be a positive number (or None for 1/truncation), "
                             f"got {concentration!r}")
        self.concentration = 1.0 / self.truncation if concentration is None else float(concentration)
        self.max_iter = require_positive_int("max_iter", max_iter)
        self.tol = require_nonnegative_number("tol", tol)
        self.seed = seed
        self.stick: tuple[torch.Tensor, torch.Tensor] | None = None  # Beta(a_k, b_k) of each fraction v_k
        self.history: list[float] = []  # the convergence objective at each step
        self.n_iter, self.converged = 0, False

    def _require_fit(self) -> None:
        if self.stick is None:
            raise RuntimeError("call fit(x) first")

    def _init_resp(self, x: torch.Tensor, init_resp: torch.Tensor | None) -> torch.Tensor:
        k = self.truncation
        if init_resp is not None:
            resp = torch.as_tensor(init_resp, dtype=x.dtype)
            if tuple(resp.shape) != (x.shape[0], k) or (resp < 0).any():
                raise ValueError(f"init_resp must be non-negative with shape ({x.shape[0]}, {k}), got "
                                 f"{tuple(resp.shape)}")
            return resp / resp.sum(1, keepdim=True)
        if k > x.shape[0]:
            raise ValueError(f"truncation ({k}) must be at most the number of samples ({x.shape[0]})")
        gen = torch.Generator().manual_seed(0 if self.seed is None else int(self.seed))
        return torch.nn.functional.one_hot(kmeans_labels(x, k, gen=gen), k).to(x.dtype)  # (N, K)

    @property
    def weights(self) -> torch.Tensor:
        """(K,) posterior-mean mixture weights, in stick order."""
        self._require_fit()
        return posterior_mean_weights(*self.stick)

    def effective_components(self, threshold: float = 0.01) -> int:
        """How many components carry at least ``threshold`` of the weight."""
        return int((self.weights >= threshold).sum())

    def fit(self, x: torch.Tensor, init_resp: torch.Tensor | None = None) -> "_StickBreakingMixture":
        """Coordinate ascent from k-means responsibilities (or ``init_resp`` (N, K)) until the
        objective changes by less than ``tol``."""
        self.stick = None  # forget a previous fit: new data may have another shape
        x = self._validate(x)
        self._set_priors(x)
        self._m_step(x, self._init_resp(x, init_resp))
        self.history, self.converged, previous = [], False, -math.inf
        with torch.no_grad():
            for self.n_iter in range(1, self.max_iter + 1):
                log_resp = self._e_step(x)
                self._m_step(x, log_resp.exp())
                objective = self._objective(x, log_resp)
                self.history.append(objective)
                if abs(objective - previous) < self.tol:
                    self.converged = True
                    break
                previous = objective
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most responsible component of each sample (N,)."""
        self._require_fit()
        return self._e_step(self._validate(x)).argmax(1)

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """Bits per dimension of ``x`` under the plug-in density."""
        flat = self._validate(x)
        return -self.log_prob(x).mean() / (flat.shape[1] * math.log(2))


# --------------------------------------------------------------------------------------------
# Gaussian components (scikit-learn's BayesianGaussianMixture, dirichlet_process, full)
# --------------------------------------------------------------------------------------------


class DirichletProcessMixture(_StickBreakingMixture):
    r"""A Dirichlet-process mixture of Gaussians, truncated, fitted by variational inference.

    .. math:: v_k \sim \mathrm{Beta}(1,\alpha),\quad \Lambda_k \sim \mathcal W(W_0, \nu_0),\quad
        \mu_k \sim \mathcal N(m_0, (\beta_0\Lambda_k)^{-1}),\quad
        x_i \sim \sum_k \pi_k(v)\,\mathcal N(\mu_k, \Lambda_k^{-1})

    The defaults are scikit-learn's: :math:`\alpha = 1/K`, :math:`\beta_0 = 1`, :math:`m_0` the data
    mean, :math:`\nu_0 = D`, :math:`W_0^{-1}` the data covariance; ``tol`` on the change of the
    evidence lower bound (up to constants, as scikit-learn computes it).

    Args:
        truncation: K, the most components the posterior can use.
        concentration: :math:`\alpha`; None is 1/K.
        mean_precision_prior, degrees_of_freedom_prior: :math:`\beta_0` and :math:`\nu_0` (None: D).
        reg_covar: added to the diagonal of each component's data covariance.
        max_iter, tol, seed: the loop and the k-means start.
    """

    def __init__(self, truncation: int = 10, concentration: float | None = None, mean_precision_prior: float = 1.0,
                 degrees_of_freedom_prior: float | None = None, reg_covar: float = 1e-6, max_iter: int = 500,
                 tol: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(truncation, concentration, max_iter, tol, seed)
        if not mean_precision_prior > 0:
            raise ValueError(f"mean_precision_prior must be positive, got {mean_precision_prior!r}")
        self.mean_precision_prior = float(mean_precision_prior)
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.reg_covar = require_nonnegative_number("reg_covar", reg_covar)
        self.means: torch.Tensor | None = None  # (K, D) posterior means m_k
        self.covariances: torch.Tensor | None = None  # (K, D, D) inverse of E[Lambda_k]
        self.mean_precision: torch.Tensor | None = None  # (K,) beta_k
        self.degrees_of_freedom: torch.Tensor | None = None  # (K,) nu_k

    def _validate(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
        x = x.to(torch.float64)
        x = x[:, None] if x.ndim == 1 else x  # (N, D)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"x must have shape (N,) or (N, D) with N >= 2, got {tuple(x.shape)}")
        require_finite(x, "x")
        if self.stick is not None and x.shape[1] != self.means.shape[1]:
            raise ValueError(f"x has {x.shape[1]} dims per sample, the model has {self.means.shape[1]}")
        return x

    def _set_priors(self, x: torch.Tensor) -> None:
        d = x.shape[1]
        dof = self.degrees_of_freedom_prior
        if dof is not None and not dof > d - 1:
            raise ValueError(f"degrees_of_freedom_prior must be > D - 1 = {d - 1}, got {dof!r}")
        self._dof_prior = float(d if dof is None else dof)
        self._mean_prior = x.mean(0)  # (D,)
        self._covariance_prior = torch.atleast_2d(torch.cov(x.T))  # (D, D), unbiased as numpy's np.cov

    def _m_step(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        nk = resp.sum(0) + 10 * torch.finfo(x.dtype).eps  # (K,)
        xk = resp.T @ x / nk[:, None]  # (K, D)
        diff = x[None] - xk[:, None]  # (K, N, D)
        sk = torch.einsum("nk,knd,kne->kde", resp, diff, diff) / nk[:, None, None]  # (K, D, D)
        sk = sk + self.reg_covar * torch.eye(x.shape[1], dtype=x.dtype)
        self.stick = stick_posterior(nk, self.concentration)
        beta0 = self.mean_precision_prior
        self.mean_precision = beta0 + nk
        self.means = (beta0 * self._mean_prior + nk[:, None] * xk) / self.mean_precision[:, None]
        self.degrees_of_freedom = self._dof_prior + nk
        shift = xk - self._mean_prior  # (K, D)
        scatter = (self._covariance_prior + nk[:, None, None] * sk
                   + (nk * beta0 / self.mean_precision)[:, None, None] * shift[:, :, None] * shift[:, None, :])
        self.covariances = scatter / self.degrees_of_freedom[:, None, None]  # (K, D, D)
        chol = torch.linalg.cholesky(self.covariances)  # (K, D, D) lower L, L L^T = C
        eye = torch.eye(x.shape[1], dtype=x.dtype).expand_as(chol)
        self._prec_chol = torch.linalg.solve_triangular(chol, eye, upper=False).mT  # (K, D, D), upper U: U U^T = C^-1

    def _e_step(self, x: torch.Tensor) -> torch.Tensor:
        r"""Log-responsibilities (N, K):
        :math:`\mathbb E[\log\pi_k] + \mathbb E[\log\mathcal N(x_i\mid\mu_k,\Lambda_k)]` normalised."""
        d = x.shape[1]
        y = torch.einsum("nd,kde->nke", x, self._prec_chol) - torch.einsum("kd,kde->ke", self.means, self._prec_chol)
        log_det = self._prec_chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (K,)
        nu = self.degrees_of_freedom
        log_gauss = -0.5 * (d * math.log(2 * math.pi) + (y * y).sum(-1)) + log_det - 0.5 * d * nu.log()  # (N, K)
        i = torch.arange(d, dtype=x.dtype)[:, None]  # (D, 1)
        log_lambda = d * math.log(2.0) + torch.digamma(0.5 * (nu[None] - i)).sum(0)  # E[log |Lambda_k|] (K,)
        weighted = log_gauss + 0.5 * (log_lambda - d / self.mean_precision) + expected_log_stick_weights(*self.stick)
        return weighted - torch.logsumexp(weighted, dim=1, keepdim=True)

    def _objective(self, x: torch.Tensor, log_resp: torch.Tensor) -> float:
        """scikit-learn's lower bound (constants dropped) of the parameters after the M step."""
        d = x.shape[1]
        nu = self.degrees_of_freedom
        log_det = self._prec_chol.diagonal(dim1=-2, dim2=-1).log().sum(-1) - 0.5 * d * nu.log()  # (K,)
        i = torch.arange(d, dtype=x.dtype)[:, None]
        log_wishart = -(nu * log_det + nu * d * 0.5 * math.log(2.0) + torch.lgamma(0.5 * (nu[None] - i)).sum(0))
        a, b = self.stick
        log_beta = torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)
        entropy = -(log_resp.exp() * log_resp).sum()
        return (entropy - log_wishart.sum() + log_beta.sum() - 0.5 * d * self.mean_precision.log().sum()).item()

    def as_gaussian_mixture(self) -> GaussianMixture:
        """The plug-in mixture: posterior-mean weights, means :math:`m_k`, covariances
        :math:`\\mathbb E[\\Lambda_k]^{-1}`."""
        self._require_fit()
        return GaussianMixture(self.truncation, "full", reg_covar=0.0).set_params(
            self.weights, self.means, covariances=self.covariances)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample log-density (N,) in nats under the plug-in mixture."""
        return self.as_gaussian_mixture().log_prob(self._validate(x))

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, D) of the plug-in mixture."""
        return self.as_gaussian_mixture().sample(n, seed=seed)


# --------------------------------------------------------------------------------------------
# Bernoulli components (binary images)
# --------------------------------------------------------------------------------------------


class DirichletProcessBernoulliMixture(_StickBreakingMixture):
    r"""A Dirichlet-process mixture of independent-Bernoulli images, by variational inference.

    .. math:: v_k \sim \mathrm{Beta}(1,\alpha),\quad \theta_{kj}\sim\mathrm{Beta}(a_0, b_0),\quad
        x_i \sim \sum_k \pi_k(v)\prod_j \theta_{kj}^{x_{ij}}(1-\theta_{kj})^{1-x_{ij}}

    Coordinate ascent:
    :math:`q(\theta_{kj}) = \mathrm{Beta}(a_0 + \sum_i r_{ik}x_{ij},\ b_0 + \sum_i r_{ik}(1-x_{ij}))`,
    the stick as in :func:`stick_posterior`, and
    :math:`\log r_{ik} = \mathbb E[\log\pi_k] + \sum_j x_{ij}\mathbb E[\log\theta_{kj}]
    + (1-x_{ij})\mathbb E[\log(1-\theta_{kj})] + c`.
    ``tol`` is on the change of the mean plug-in log-likelihood of the training data.

    Args:
        truncation: K.
        concentration: :math:`\alpha` (None: 1/K).
        pixel_prior: :math:`a_0 = b_0`, the Beta prior's pseudo-counts on each pixel; the default 1 (uniform)
            makes a duplicate component cost more than it explains, so duplicates empty out.
        max_iter, tol, seed: the loop and the k-means start.
    """

    def __init__(self, truncation: int = 100, concentration: float | None = 1.0, pixel_prior: float = 1.0,
                 max_iter: int = 100, tol: float = 1e-3, seed: int | None = None) -> None:
        super().__init__(truncation, concentration, max_iter, tol, seed)
        self.pixel_prior = require_positive_number("pixel_prior", pixel_prior)
        self.pixel_counts: tuple[torch.Tensor, torch.Tensor] | None = None  # Beta(a_kj, b_kj), (K, D) each
        self.event_shape: tuple[int, ...] = ()

    def _validate(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] == 0:
            raise ValueError(f"x must be a tensor of shape (N, ...) with N > 0, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        flat = x.reshape(x.shape[0], -1).to(torch.float32)  # (N, D)
        require_finite(flat, "x")
        require_binary(flat, "x")
        if self.stick is not None and flat.shape[1] != self.pixel_counts[0].shape[1]:
            raise ValueError(f"x has {flat.shape[1]} pixels per sample, the model has {self.pixel_counts[0].shape[1]}")
        return flat

    def _set_priors(self, x: torch.Tensor) -> None:
        pass  # the Beta prior is fixed; nothing depends on the data

    def fit(self, x: torch.Tensor, init_resp: torch.Tensor | None = None) -> "DirichletProcessBernoulliMixture":
        self.event_shape = tuple(x.shape[1:])
        return super().fit(x, init_resp)

    def _m_step(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        nk = resp.sum(0)  # (K,)
        on = resp.T @ x  # (K, D)
        self.pixel_counts = (self.pixel_prior + on, self.pixel_prior + nk[:, None] - on)
        self.stick = stick_posterior(nk.double(), self.concentration)

    def _e_step(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.pixel_counts
        total = torch.digamma(a + b)
        weighted = _bernoulli_log_prob(x, torch.digamma(a) - total, torch.digamma(b) - total)  # (N, K)
        weighted = weighted + expected_log_stick_weights(*self.stick).to(weighted)
        return weighted - torch.logsumexp(weighted, dim=1, keepdim=True)

    def _objective(self, x: torch.Tensor, log_resp: torch.Tensor) -> float:
        return self.log_prob(x).mean().item()

    @property
    def theta(self) -> torch.Tensor:
        """(K, D) posterior-mean pixel probabilities :math:`a_{kj}/(a_{kj}+b_{kj})`."""
        self._require_fit()
        a, b = self.pixel_counts
        return a / (a + b)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample log-likelihood (N,) in nats under the plug-in mixture."""
        flat = self._validate(x)
        theta = self.theta
        log_joint = _bernoulli_log_prob(flat, theta.log(), (-theta).log1p()) + self.weights.log().to(theta)  # (N, K)
        return torch.logsumexp(log_joint, dim=1)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` binary images (n, *event_shape) of the plug-in mixture."""
        self._require_fit()
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        comp = torch.multinomial(self.weights.float(), require_positive_int("n", n), replacement=True, generator=gen)
        return torch.bernoulli(self.theta[comp], generator=gen).reshape(n, *self.event_shape)
