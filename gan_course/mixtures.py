r"""Mixture models fitted by expectation-maximisation.

.. math:: p(x) = \sum_{k=1}^K \pi_k\, p(x \mid k),\qquad
    r_{ik} = p(k \mid x_i) \ \text{(E step)},\qquad \text{weighted MLE of each component (M step)}

(Dempster, Laird & Rubin, 1977.) EM starts from k-means (:mod:`gan_course.kmeans`).
:class:`GaussianMixture` and :class:`BernoulliMixture` share the EM loop of ``_Mixture`` and expose ``e_step``/``m_step`` so a widget can show one step at a
time; both follow the course's estimator interface (``fit``, ``log_prob``, ``sample``,
``bits_per_dim``). Importable from :mod:`gan_course.density` as well.
"""

from __future__ import annotations

import math

import torch

from gan_course import metrics
from gan_course.config import torch_generator
from gan_course.kmeans import INITS, kmeans_labels
from gan_course.likelihoods import bernoulli_log_prob
from gan_course.validate import (binary_rows, data_matrix, float_data, require_choice, require_nonnegative_number,
                                 require_positive_int, require_positive_number)

COVARIANCES = ("full", "diag")
_EPS_COUNT = 1e-3  # a component with fewer effective points than this is "empty" and re-seeded


class _Mixture:
    r"""What every EM-fitted mixture shares: the loop, the log-likelihood, responsibilities.

    .. math:: r_{ik} = \frac{\pi_k\, p(x_i\mid k)}{\sum_{k'} \pi_{k'}\, p(x_i\mid k')}
        \quad\text{(E step)}, \qquad \pi_k = \tfrac1N\textstyle\sum_i r_{ik} \quad\text{(M step)}

    Subclasses define ``_component_log_prob(x) -> (N, K)``, ``_m_step_params(x, resp, nk)``,
    ``_reseed(k, x)`` and ``num_parameters``.
    """

    def __init__(self, num_components: int, max_iter: int, tol: float, init: str, seed: int | None) -> None:
        self.num_components = require_positive_int("num_components", num_components)
        self.max_iter = require_positive_int("max_iter", max_iter)
        self.tol = require_nonnegative_number("tol", tol)
        self.init, self.seed = require_choice("init", init, INITS), seed
        self.weights: torch.Tensor | None = None  # (K,) mixing proportions
        self.history: list[float] = []  # mean log-likelihood at each E step
        self.n_iter = 0
        self.converged = False
        self.reseeded = 0  # how many times an empty component was re-seeded
        self.event_shape: tuple[int, ...] = ()  # the shape of one sample, as fitted
        self._trusted: torch.Tensor | None = None  # data already checked by the running fit

    # -- data handling, overridden by the Bernoulli mixture --------------------------------------
    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x is self._trusted:
            return x  # inside fit: checked once, not at every E and M step
        return self._validate(x)

    def _validate(self, x: torch.Tensor) -> torch.Tensor:
        return data_matrix(x)

    def _check_size(self, x: torch.Tensor) -> None:
        if self.num_components > x.shape[0]:
            raise ValueError(f"num_components must be at most the number of samples ({x.shape[0]}), "
                             f"got {self.num_components}")

    def _require_fit(self) -> None:
        if self.weights is None:
            raise RuntimeError("call fit(x) (or initialize(x)) before using the model")

    # -- EM -------------------------------------------------------------------------------------
    def initialize(self, x: torch.Tensor) -> "_Mixture":
        """Initial parameters from ``init`` (k-means++ or random seeds, then one M step)."""
        self.event_shape = tuple(x.shape[1:]) if x.ndim > 1 else (1,)
        x = self._prepare(x)
        self._check_size(x)
        gen = torch_generator(self.seed, x.device)
        labels = kmeans_labels(x, self.num_components, self.init, 10 if self.init == "kmeans++" else 0, gen)
        resp = torch.nn.functional.one_hot(labels, self.num_components).to(x.dtype)  # (N, K)
        self._init_params(x, resp)
        self.history, self.n_iter, self.converged = [], 0, False
        return self

    def _init_params(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        """The first parameters: one M step from hard responsibilities (k-means labels)."""
        nk = resp.sum(0) + 10 * torch.finfo(x.dtype).eps
        self._m_step_params(x, resp, nk)
        self.weights = nk / nk.sum()

    def weighted_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\log \\pi_k + \\log p(x_i \\mid k)`, shape (N, K)."""
        self._require_fit()
        return self._component_log_prob(x) + self.weights.log()

    def e_step(self, x: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Log-responsibilities (N, K) and the mean log-likelihood of the current parameters."""
        x = self._prepare(x)
        weighted = self.weighted_log_prob(x)  # (N, K)
        log_norm = torch.logsumexp(weighted, dim=1, keepdim=True)  # (N, 1)
        return weighted - log_norm, log_norm.mean().item()

    def m_step(self, x: torch.Tensor, log_resp: torch.Tensor) -> None:
        """Re-estimate every parameter from the responsibilities ``exp(log_resp)`` (N, K).

        A component with (almost) no responsibility is re-seeded at the worst-explained sample
        instead of being left to collapse into NaN.
        """
        x = self._prepare(x)
        resp = log_resp.exp()  # (N, K)
        nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps  # (K,), as scikit-learn does
        self._m_step_params(x, resp, nk)
        self.weights = nk / nk.sum()
        empty = (nk < _EPS_COUNT).nonzero().flatten().tolist()
        if empty:
            worst = self.log_prob(x).argsort()  # worst-explained samples first
            for i, k in enumerate(empty):
                self._reseed(k, x, x[worst[i % len(worst)]])
                self.weights[k] = 1.0 / x.shape[0]
            self.weights = self.weights / self.weights.sum()
            self.reseeded += len(empty)

    def em_step(self, x: torch.Tensor) -> float:
        """One E step and one M step; returns the mean log-likelihood before the M step."""
        log_resp, ll = self.e_step(x)
        self.m_step(x, log_resp)
        self.history.append(ll)
        self.n_iter += 1
        return ll

    def fit(self, x: torch.Tensor, warm_start: bool = False) -> "_Mixture":
        """Run EM until the mean log-likelihood changes by less than ``tol`` or ``max_iter`` steps.

        Args:
            x: data on any device; the parameters live on the same device.
            warm_start: continue from the current parameters (e.g. set by ``set_params``)
                instead of initialising afresh.
        """
        if not warm_start or self.weights is None:
            self.initialize(x)
        x = self._prepare(x)
        self._check_size(x)
        self.converged = False
        previous = -math.inf
        self._trusted = x
        try:
            with torch.no_grad():
                for _ in range(self.max_iter):
                    ll = self.em_step(x)
                    if abs(ll - previous) < self.tol:
                        self.converged = True
                        break
                    previous = ll
        finally:
            self._trusted, self._cache = None, None
        return self

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample :math:`\\log p(x_i) = \\log\\sum_k \\pi_k p(x_i\\mid k)`, shape (N,)."""
        return torch.logsumexp(self.weighted_log_prob(self._prepare(x)), dim=1)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Responsibilities :math:`p(k \\mid x_i)`, shape (N, K); each row sums to 1."""
        return self.e_step(x)[0].exp()

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most responsible component of each sample (N,)."""
        return self.e_step(x)[0].argmax(1)

    def score(self, x: torch.Tensor) -> float:
        """Mean log-likelihood per sample."""
        return self.log_prob(x).mean().item()

    def bic(self, x: torch.Tensor) -> float:
        r"""Bayesian information criterion, lower is better: :math:`-2\log L + p \log N`."""
        x = self._prepare(x)
        n = x.shape[0]
        return -2 * self.log_prob(x).sum().item() + self.num_parameters * math.log(n)

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """Bits per dimension of ``x`` under the model."""
        flat = self._prepare(x)
        return metrics.bits_per_dim(self.log_prob(flat), int(flat.shape[1]))

    def _sample_components(self, n: int, gen: torch.Generator | None) -> torch.Tensor:
        self._require_fit()
        require_positive_int("n", n)
        return torch.multinomial(self.weights, n, replacement=True, generator=gen)  # (n,)

    def _check_mask(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if mask.shape != x.shape:
            raise ValueError(f"mask must have the shape of x {tuple(x.shape)}, got {tuple(mask.shape)}")
        return mask.to(device=x.device, dtype=torch.bool)


class GaussianMixture(_Mixture):
    r"""A mixture of K Gaussians with full or diagonal covariances, fitted by EM.

    .. math:: p(x) = \sum_{k=1}^K \pi_k\,\mathcal N(x;\mu_k,\Sigma_k)

    The updates follow scikit-learn's ``GaussianMixture`` (``reg_covar`` added to every
    variance), so started from the same parameters both give the same numbers.

    Args:
        num_components: K.
        covariance: ``"full"`` or ``"diag"``.
        max_iter: most EM steps in ``fit``.
        tol: stop when the mean log-likelihood changes by less than this.
        reg_covar: added to the diagonal of every covariance, keeping it invertible.
        init: ``"kmeans++"`` (seeding and a few k-means steps) or ``"random"`` (K random samples).
        seed: makes initialisation and sampling repeatable.
    """

    def __init__(self, num_components: int, covariance: str = "full", max_iter: int = 100,
                 tol: float = 1e-3, reg_covar: float = 1e-6, init: str = "kmeans++",
                 seed: int | None = None) -> None:
        super().__init__(num_components, max_iter, tol, init, seed)
        self.covariance = require_choice("covariance", covariance, COVARIANCES)
        self.reg_covar = require_nonnegative_number("reg_covar", reg_covar)
        self.means: torch.Tensor | None = None  # (K, D)
        self.covariances: torch.Tensor | None = None  # (K, D, D) full, (K, D) diag
        self._prec_chol: torch.Tensor | None = None  # (K, D, D) full, (K, D) diag
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None  # (x, [x, x*x]) during fit

    def _diag_features(self, x: torch.Tensor) -> torch.Tensor:
        """``[x, x*x]`` (N, 2D): both diagonal EM steps become one matrix product each."""
        if self._cache is not None and self._cache[0] is x:
            return self._cache[1]
        features = torch.cat([x, x * x], dim=1)  # (N, 2D)
        if x is self._trusted:
            self._cache = (x, features)
        return features

    # -- parameters -----------------------------------------------------------------------------
    def set_params(self, weights: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor | None = None,
                   precisions: torch.Tensor | None = None) -> "GaussianMixture":
        """Set the parameters directly (give covariances or precisions), e.g. to start EM from them."""
        if (covariances is None) == (precisions is None):
            raise ValueError("give exactly one of covariances and precisions")
        means = data_matrix(means, "means")
        k, d = means.shape
        if k != self.num_components:
            raise ValueError(f"means must have {self.num_components} rows, got {k}")
        shape = (k, d, d) if self.covariance == "full" else (k, d)
        given = covariances if covariances is not None else precisions
        given = float_data(given, "covariances" if covariances is not None else "precisions").to(means)
        if tuple(given.shape) != shape:
            raise ValueError(f"{self.covariance} covariances/precisions must have shape {shape}, "
                             f"got {tuple(given.shape)}")
        weights = float_data(weights, "weights").to(means)
        if tuple(weights.shape) != (k,) or (weights < 0).any() or not weights.sum() > 0:
            raise ValueError(f"weights must be {k} non-negative numbers with a positive sum, got "
                             f"shape {tuple(weights.shape)} and values {weights.tolist()}")
        self.weights = weights / weights.sum()
        self.means = means
        if covariances is not None:
            self._set_covariances(given)
        elif self.covariance == "full":
            self._prec_chol = torch.linalg.cholesky(given)  # lower L with L L^T = precision
            self.covariances = torch.linalg.inv(given)
        else:
            self._prec_chol, self.covariances = given.sqrt(), 1.0 / given
        return self

    def _set_covariances(self, cov: torch.Tensor) -> None:
        self.covariances = cov
        if self.covariance == "full":
            chol, info = torch.linalg.cholesky_ex(cov)  # (K, D, D)
            if info.any():
                raise ValueError("a covariance matrix is not positive definite; increase reg_covar")
            eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device).expand_as(cov)
            self._prec_chol = torch.linalg.solve_triangular(chol, eye, upper=False).mT  # (K, D, D)
        else:
            self._prec_chol = cov.rsqrt()  # (K, D)

    def _m_step_params(self, x: torch.Tensor, resp: torch.Tensor, nk: torch.Tensor) -> None:
        if self.covariance == "full":
            means = resp.T @ x / nk[:, None]  # (K, D)
            # sum_i r_ik d_i d_i^T = W^T W with W = sqrt(r) * d: one batched product, symmetric
            weighted = (x[None, :, :] - means[:, None, :]) * resp.T.sqrt()[:, :, None]  # (K, N, D)
            cov = torch.bmm(weighted.transpose(1, 2), weighted) / nk[:, None, None]  # (K, D, D)
            cov = cov + self.reg_covar * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        else:
            d = x.shape[1]
            moments = resp.T @ self._diag_features(x) / nk[:, None]  # (K, 2D): E_k[x], E_k[x^2]
            means = moments[:, :d]
            cov = moments[:, d:] - means**2 + self.reg_covar  # E_k[x^2] - E_k[x]^2
        self.means = means
        self._set_covariances(cov)

    def _reseed(self, k: int, x: torch.Tensor, point: torch.Tensor) -> None:
        self.means[k] = point
        var = x.var(0, unbiased=False) + self.reg_covar  # (D,)
        cov = self.covariances.clone()
        cov[k] = torch.diag(var) if self.covariance == "full" else var
        self._set_covariances(cov)

    @property
    def num_parameters(self) -> int:
        """Free parameters: weights (K-1), means (KD), covariances (KD(D+1)/2 or KD)."""
        self._require_fit()
        k, d = self.means.shape
        cov = k * d * (d + 1) // 2 if self.covariance == "full" else k * d
        return (k - 1) + k * d + cov

    # -- densities ------------------------------------------------------------------------------
    def _component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\log\mathcal N(x_i;\mu_k,\Sigma_k)` (N, K) via the Cholesky factor of the precision."""
        x = x.to(self.means)
        k, d = self.means.shape
        if x.shape[1] != d:
            raise ValueError(f"x has {x.shape[1]} dims per sample, the model has {d}")
        if self.covariance == "full":
            prec = self._prec_chol  # (K, D, D)
            log_det = prec.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (K,)
            y = (x @ prec.permute(1, 0, 2).reshape(d, k * d)).reshape(-1, k, d)  # (N, K, D)
            y = y - torch.einsum("kd,kde->ke", self.means, prec)  # (N, K, D)
            maha = (y * y).sum(-1)  # (N, K)
        else:
            prec = self._prec_chol**2  # (K, D) precisions
            log_det = self._prec_chol.log().sum(-1)  # (K,)
            # sum_d (x_d - mu_kd)^2 p_kd = sum_d mu^2 p - 2 x.(mu p) + x^2.p, as one product
            weights = torch.cat([-2 * self.means * prec, prec], dim=1)  # (K, 2D)
            maha = self._diag_features(x) @ weights.T + (self.means**2 * prec).sum(1)  # (N, K)
        return -0.5 * (d * math.log(2 * math.pi) + maha) + log_det

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, D): a component from the weights, then a Gaussian draw."""
        gen = torch_generator(seed, self.means.device if self.means is not None else torch.device("cpu"))
        comp = self._sample_components(n, gen)  # (n,)
        z = torch.randn(n, self.means.shape[1], generator=gen, device=self.means.device,
                        dtype=self.means.dtype)  # (n, D)
        if self.covariance == "full":
            chol = torch.linalg.cholesky(self.covariances)  # (K, D, D)
            return self.means[comp] + (chol[comp] @ z[:, :, None])[:, :, 0]
        return self.means[comp] + self.covariances[comp].sqrt() * z

    def complete(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        r"""Fill the unobserved entries (``mask`` False) with their posterior mean.

        .. math:: \mathbb E[x_m \mid x_o] = \sum_k p(k\mid x_o)\,
            \big(\mu_{k,m} + \Sigma_{k,mo}\Sigma_{k,oo}^{-1}(x_o-\mu_{k,o})\big)

        Args:
            x: (N, D) data; the values where ``mask`` is False are ignored (may be NaN).
            mask: (N, D) bool, True where observed.

        Returns:
            (N, D): ``x`` where observed, the conditional expectation elsewhere.
        """
        self._require_fit()
        mask = self._check_mask(x if x.ndim == 2 else x[:, None], mask if mask.ndim == 2 else mask[:, None])
        x = torch.where(mask, x.reshape(mask.shape), 0.0)
        x = data_matrix(x).to(self.means)
        out = x.clone()
        patterns, which = torch.unique(mask, dim=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = which == p
            out[rows] = self._complete_pattern(x[rows], pattern)
        return out

    def _complete_pattern(self, x: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Completion for rows that share one observed pattern ``obs`` (D,)."""
        if obs.all():
            return x
        cov = self.covariances if self.covariance == "full" else torch.diag_embed(self.covariances)
        mis = ~obs
        k = self.num_components
        cond = self.means[:, mis].expand(x.shape[0], k, -1).clone()  # (N, K, M)
        if obs.any():
            xo = x[:, obs]  # (N, O)
            s_oo = cov[:, obs][:, :, obs]  # (K, O, O)
            s_mo = cov[:, mis][:, :, obs]  # (K, M, O)
            marginal = GaussianMixture(k, "full", reg_covar=0.0).set_params(
                self.weights, self.means[:, obs], covariances=s_oo)
            resp = marginal.predict_proba(xo)  # (N, K)
            diff = xo[:, None, :] - self.means[None, :, obs]  # (N, K, O)
            gain = torch.linalg.solve(s_oo, s_mo.mT).mT  # (K, M, O) = S_mo S_oo^{-1}
            cond = cond + torch.einsum("kmo,nko->nkm", gain, diff)
        else:
            resp = self.weights.expand(x.shape[0], k)
        filled = x.clone()
        filled[:, mis] = (resp[:, :, None] * cond).sum(1)  # (N, M)
        return filled


class BernoulliMixture(_Mixture):
    r"""A mixture of K independent-Bernoulli images, fitted by EM.

    .. math:: p(x) = \sum_{k=1}^K \pi_k \prod_j \theta_{kj}^{x_j}(1-\theta_{kj})^{1-x_j},
        \qquad \theta_{kj} = \frac{\sum_i r_{ik}x_{ij} + \alpha}{\sum_i r_{ik} + 2\alpha}

    ``alpha`` (a small pseudo-count) keeps every :math:`\theta` away from 0 and 1, so an unseen
    pixel value never has probability zero on held-out data.

    Args:
        num_components: K.
        alpha: pseudo-count of the M step (must be positive).
        max_iter, tol, init, seed: as for :class:`GaussianMixture`.
    """

    def __init__(self, num_components: int, alpha: float = 0.01, max_iter: int = 100,
                 tol: float = 1e-3, init: str = "kmeans++", seed: int | None = None) -> None:
        super().__init__(num_components, max_iter, tol, init, seed)
        self.alpha = require_positive_number("alpha", alpha)
        self.theta: torch.Tensor | None = None  # (K, D)

    def _validate(self, x: torch.Tensor) -> torch.Tensor:
        return binary_rows(x)

    def _m_step_params(self, x: torch.Tensor, resp: torch.Tensor, nk: torch.Tensor) -> None:
        self.theta = (resp.T @ x + self.alpha) / (nk[:, None] + 2 * self.alpha)  # (K, D)

    def _reseed(self, k: int, x: torch.Tensor, point: torch.Tensor) -> None:
        self.theta[k] = 0.5 * point + 0.25  # the sample, blurred so both values stay possible

    @property
    def num_parameters(self) -> int:
        """Free parameters: weights (K-1) and pixel probabilities (KD)."""
        self._require_fit()
        k, d = self.theta.shape
        return (k - 1) + k * d

    def _component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.theta)
        if x.shape[1] != self.theta.shape[1]:
            raise ValueError(f"x has {x.shape[1]} dims per sample, the model has {self.theta.shape[1]}")
        return bernoulli_log_prob(x, self.theta.log(), (-self.theta).log1p())  # (N, K)

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, *event_shape): a component, then independent pixels."""
        gen = torch_generator(seed, self.theta.device if self.theta is not None else torch.device("cpu"))
        comp = self._sample_components(n, gen)
        return torch.bernoulli(self.theta[comp], generator=gen).reshape(n, *self.event_shape)

    def complete(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        r"""Fill the unobserved pixels (``mask`` False) with :math:`p(x_j = 1 \mid x_o)`.

        .. math:: p(x_j=1\mid x_o) = \sum_k p(k\mid x_o)\,\theta_{kj},\qquad
            p(k\mid x_o) \propto \pi_k \prod_{j\in o}\theta_{kj}^{x_j}(1-\theta_{kj})^{1-x_j}

        Args:
            x: (N, ...) binary images; entries where ``mask`` is False are ignored.
            mask: bool of the shape of ``x``, True where observed.

        Returns:
            Tensor of the shape of ``x``: observed pixels kept, the rest probabilities in (0, 1).
        """
        self._require_fit()
        mask = self._check_mask(x, mask)
        x = torch.where(mask, x, 0.0)
        flat, obs = binary_rows(x).to(self.theta), mask.reshape(x.shape[0], -1).to(self.theta)  # (N, D)
        log_t, log_1m = self.theta.log(), (-self.theta).log1p()  # (K, D)
        # only observed pixels vote: mask each pixel's log-likelihood before summing
        log_lik = (flat * obs) @ log_t.T + ((1 - flat) * obs) @ log_1m.T  # (N, K)
        resp = torch.softmax(log_lik + self.weights.log(), dim=1)  # (N, K)
        filled = torch.where(obs.bool(), flat, resp @ self.theta)  # (N, D)
        return filled.reshape(x.shape)
