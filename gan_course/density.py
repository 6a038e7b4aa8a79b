r"""Explicit density models fitted by maximum likelihood, all in torch.

The first third of the course fits a density :math:`p_\theta` to data by maximising

.. math:: \hat\theta = \arg\max_\theta \frac{1}{N}\sum_{i=1}^N \log p_\theta(x_i),

which is the same as minimising :math:`\mathrm{KL}(p_\text{data}\,\|\,p_\theta)`. This module holds

- closed-form MLE helpers (Bernoulli, categorical, Gaussian) and :func:`fit_by_gradient`, the
  same estimate found numerically with autograd;
- :class:`BernoulliNaiveBayes` (pixels independent, optionally given a class);
- :class:`GaussianMixture` and :class:`BernoulliMixture`, fitted by EM, with an
  ``e_step``/``m_step`` API so a widget can show one step at a time.

Every estimator has ``fit(x)``, ``log_prob(x)`` (per sample, natural log), ``sample(n)`` and
``bits_per_dim(x)``; every computation runs on the device of its input, and probabilities are
summed with log-sum-exp, never multiplied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch

from gan_course import metrics
from gan_course.validate import require_binary, require_finite, require_positive_int

COVARIANCES = ("full", "diag")
INITS = ("kmeans++", "random")
_EPS_COUNT = 1e-3  # a component with fewer effective points than this is "empty" and re-seeded


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _as_float(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        x = x.to(torch.float32)
    require_finite(x, name)
    return x


def _as_matrix(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """(N,) or (N, D) real data as float (N, D)."""
    x = _as_float(x, name)
    if x.ndim == 1:
        x = x[:, None]  # (N, 1)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N,) or (N, D) with N > 0, got {tuple(x.shape)}")
    return x


def _as_binary(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """(N, ...) binary data as float (N, D), D the product of the trailing dims."""
    x = _as_float(x, name)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, ...) with N > 0, got {tuple(x.shape)}")
    require_binary(x, name)
    return x.reshape(x.shape[0], -1)  # (N, D)




def _generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    return torch.Generator(device=device).manual_seed(int(seed))


# --------------------------------------------------------------------------------------------
# Closed-form maximum likelihood
# --------------------------------------------------------------------------------------------


def bernoulli_mle(x: torch.Tensor, alpha: float = 0.0) -> torch.Tensor:
    r"""Bernoulli MLE (with optional Laplace smoothing) per dimension.

    .. math:: \hat\theta_j = \frac{\sum_i x_{ij} + \alpha}{N + 2\alpha}

    Args:
        x: binary data (N, ...) or (N,).
        alpha: pseudo-count added to both outcomes; 0 is the plain MLE.

    Returns:
        :math:`\hat\theta` with the shape of one sample.

    >>> bernoulli_mle(torch.tensor([1., 0., 1., 1.]))
    tensor(0.7500)
    """
    x = _as_float(x)
    require_binary(x)
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    return (x.sum(0) + alpha) / (x.shape[0] + 2 * alpha)


def categorical_mle(x: torch.Tensor, num_classes: int, alpha: float = 0.0) -> torch.Tensor:
    r"""Categorical MLE: :math:`\hat\pi_c = (N_c + \alpha) / (N + C\alpha)`.

    >>> categorical_mle(torch.tensor([0, 2, 2, 1]), 3)
    tensor([0.2500, 0.2500, 0.5000])
    """
    require_positive_int("num_classes", num_classes)
    if x.is_floating_point() or x.ndim != 1:
        raise ValueError(f"x must be a 1-D integer tensor of class indices, got dtype {x.dtype} "
                         f"and shape {tuple(x.shape)}")
    if x.numel() and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"x must hold classes in [0, {num_classes - 1}], got values in "
                         f"[{x.min().item()}, {x.max().item()}]")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    counts = torch.bincount(x, minlength=num_classes).to(torch.float32)
    return (counts + alpha) / (x.numel() + num_classes * alpha)


def gaussian_mle(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gaussian MLE: the mean and the *biased* variance (divide by N, not N-1).

    .. math:: \hat\mu = \frac1N\sum_i x_i, \qquad \hat\sigma^2 = \frac1N\sum_i (x_i-\hat\mu)^2

    Args:
        x: data (N,) or (N, D).

    Returns:
        ``(mean, var)``, each a scalar for (N,) input and (D,) for (N, D).

    >>> gaussian_mle(torch.tensor([1., 3.]))
    (tensor(2.), tensor(1.))
    """
    x = _as_float(x)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"x must have shape (N,) or (N, D) with N > 0, got {tuple(x.shape)}")
    mean = x.mean(0)
    return mean, ((x - mean) ** 2).mean(0)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor | float, std: torch.Tensor | float) -> torch.Tensor:
    r"""Elementwise :math:`\log \mathcal N(x; \mu, \sigma^2) = -\tfrac12\log(2\pi\sigma^2) - \tfrac{(x-\mu)^2}{2\sigma^2}`.

    >>> round(gaussian_log_prob(torch.tensor(0.), 0., 1.).item(), 4)
    -0.9189
    """
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device)
    return -0.5 * math.log(2 * math.pi) - std.log() - 0.5 * ((x - mean) / std) ** 2


@dataclass
class GradientFit:
    """What :func:`fit_by_gradient` found."""

    params: dict[str, torch.Tensor]  # the fitted parameters, detached
    history: list[float] = field(default_factory=list)  # mean log-likelihood after each step


def fit_by_gradient(
    log_prob_fn: Callable[..., torch.Tensor],
    params: Mapping[str, torch.Tensor | float],
    x: torch.Tensor,
    steps: int = 100,
    lr: float = 0.05,
    method: str = "lbfgs",
) -> GradientFit:
    r"""Numerical MLE: maximise :math:`\frac1N\sum_i \log p_\theta(x_i)` with autograd.

    Args:
        log_prob_fn: ``log_prob_fn(x, **params)`` returning per-sample log-likelihoods (N,).
        params: starting values, by name; use unconstrained parameters (e.g. ``log_std``).
        x: data, passed to ``log_prob_fn`` unchanged.
        steps: optimiser steps.
        lr: learning rate (``"adam"``); L-BFGS uses a line search and ignores it below 1.
        method: ``"lbfgs"`` (fast, precise) or ``"adam"`` (the way neural nets are trained).

    Returns:
        A :class:`GradientFit` with the parameters and the log-likelihood history.

    >>> x = torch.tensor([1., 2., 3., 4.], dtype=torch.float64)
    >>> fit = fit_by_gradient(lambda x, mean, log_std: gaussian_log_prob(x, mean, log_std.exp()),
    ...                       {"mean": 0.0, "log_std": 0.0}, x)
    >>> round(fit.params["mean"].item(), 4)
    2.5
    """
    if method not in ("lbfgs", "adam"):
        raise ValueError(f"method must be 'lbfgs' or 'adam', got {method!r}")
    require_positive_int("steps", steps)
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    x = _as_float(x)
    leaves = {name: torch.tensor(value, dtype=x.dtype, device=x.device).clone().requires_grad_(True)
              if not isinstance(value, torch.Tensor)
              else value.detach().to(device=x.device, dtype=x.dtype).clone().requires_grad_(True)
              for name, value in params.items()}

    def loss() -> torch.Tensor:
        return -log_prob_fn(x, **leaves).mean()

    history: list[float] = []
    if method == "adam":
        opt = torch.optim.Adam(leaves.values(), lr=lr)
    else:
        opt = torch.optim.LBFGS(leaves.values(), lr=max(lr, 1.0), max_iter=20,
                                tolerance_grad=1e-12, tolerance_change=1e-14,
                                line_search_fn="strong_wolfe")
    for _ in range(steps):
        def closure() -> torch.Tensor:
            opt.zero_grad()
            value = loss()
            value.backward()
            return value
        opt.step(closure)
        with torch.no_grad():
            history.append(-loss().item())
    return GradientFit({k: v.detach() for k, v in leaves.items()}, history)


def kde_log_prob(x_train: torch.Tensor, x: torch.Tensor, bandwidth: float) -> torch.Tensor:
    r"""Log-density of a 1-D Gaussian kernel density estimate, evaluated at ``x``.

    .. math:: \log \hat p_h(x) = \log \frac1N \sum_{i=1}^N \mathcal N(x; x_i, h^2)

    Args:
        x_train: the N kernel centres (N,).
        x: where to evaluate (M,).
        bandwidth: the kernel width h (> 0); small h over-fits, large h over-smooths.

    Returns:
        (M,) natural-log densities, computed with log-sum-exp.

    >>> round(kde_log_prob(torch.zeros(3), torch.zeros(1), 1.0).item(), 4)
    -0.9189
    """
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    x_train, x = _as_float(x_train, "x_train"), _as_float(x, "x")
    if x_train.ndim != 1 or x.ndim != 1:
        raise ValueError(f"x_train and x must be 1-D, got shapes {tuple(x_train.shape)} and {tuple(x.shape)}")
    log_k = gaussian_log_prob(x[:, None], x_train[None, :].to(x), bandwidth)  # (M, N)
    return torch.logsumexp(log_k, dim=1) - math.log(x_train.shape[0])


def histogram_log_prob(x_train: torch.Tensor, x: torch.Tensor, bins: int,
                       value_range: tuple[float, float], alpha: float = 0.0) -> torch.Tensor:
    r"""Log-density of a histogram estimate with ``bins`` equal bins over ``value_range``.

    .. math:: \hat p(x) = \frac{n_{b(x)} + \alpha}{(N + B\alpha)\,w}

    where :math:`b(x)` is the bin of x and w the bin width. Points outside the range, or in an
    empty bin with ``alpha=0``, get :math:`-\infty`: the over-fitting the notebook shows.
    """
    require_positive_int("bins", bins)
    lo, hi = map(float, value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range!r}")
    x_train, x = _as_float(x_train, "x_train"), _as_float(x, "x")
    width = (hi - lo) / bins
    index = lambda v: ((v - lo) / width).floor().long()  # noqa: E731
    inside_train = (x_train >= lo) & (x_train < hi)
    counts = torch.bincount(index(x_train[inside_train]), minlength=bins).to(x.dtype)  # (B,)
    probs = (counts + alpha) / ((x_train.shape[0] + bins * alpha) * width)
    inside = (x >= lo) & (x < hi)
    out = torch.full_like(x, -math.inf)
    out[inside] = probs[index(x[inside])].log()
    return out


class LogisticRegression:
    r"""Multinomial logistic regression, the discriminative counterpart of naive Bayes.

    .. math:: p(y=c \mid x) = \mathrm{softmax}(W x + b)_c, \quad
        \min_{W,b}\ -\frac1N\sum_i \log p(y_i\mid x_i) + \frac{\lambda}{2}\lVert W\rVert^2

    Fitted with L-BFGS on the whole set (small data only).
    """

    def __init__(self, weight_decay: float = 1e-3, steps: int = 100) -> None:
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.weight_decay, self.steps = float(weight_decay), require_positive_int("steps", steps)
        self.weight: torch.Tensor | None = None  # (C, D)
        self.bias: torch.Tensor | None = None  # (C,)
        self.classes: torch.Tensor | None = None  # (C,)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> "LogisticRegression":
        """Fit on features ``x`` (N, ...) and labels ``y`` (N,)."""
        flat = _as_float(x).reshape(x.shape[0], -1)  # (N, D)
        self.classes, target = torch.unique(y.to(flat.device), return_inverse=True)
        w = torch.zeros(len(self.classes), flat.shape[1], dtype=flat.dtype, device=flat.device,
                        requires_grad=True)
        b = torch.zeros(len(self.classes), dtype=flat.dtype, device=flat.device, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=self.steps, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(flat @ w.T + b, target)
            loss = loss + 0.5 * self.weight_decay * (w * w).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.weight, self.bias = w.detach(), b.detach()
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each sample (N,)."""
        if self.weight is None:
            raise RuntimeError("call fit(x, y) first")
        flat = _as_float(x).reshape(x.shape[0], -1).to(self.weight)
        return self.classes[(flat @ self.weight.T + self.bias).argmax(1)]


# --------------------------------------------------------------------------------------------
# Bernoulli naive Bayes
# --------------------------------------------------------------------------------------------


def bernoulli_log_prob(x: torch.Tensor, log_theta: torch.Tensor, log1m_theta: torch.Tensor) -> torch.Tensor:
    r"""Log-likelihood of binary rows under independent Bernoullis, one row per component.

    .. math:: \log p(x \mid k) = \sum_j x_j \log\theta_{kj} + (1-x_j)\log(1-\theta_{kj})

    Args:
        x: (N, D) binary.
        log_theta, log1m_theta: (K, D) logs of :math:`\theta` and :math:`1-\theta`.

    Returns:
        (N, K) log-likelihoods, computed as two matrix products.
    """
    # x log t + (1 - x) log(1 - t) = x (log t - log(1 - t)) + log(1 - t): one matrix product
    return x @ (log_theta - log1m_theta).T + log1m_theta.sum(1)  # (N, K)


class BernoulliNaiveBayes:
    r"""Pixels independent given the class (or independent outright when there are no labels).

    .. math:: p(x) = \sum_c \pi_c \prod_j \theta_{cj}^{x_j}(1-\theta_{cj})^{1-x_j},
        \qquad \hat\theta_{cj} = \frac{N_{cj} + \alpha}{N_c + 2\alpha}

    With labels this is scikit-learn's ``BernoulliNB`` (class prior by counts, Laplace smoothing
    ``alpha`` on the pixel probabilities); without labels there is one class.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a positive number (Laplace smoothing), got {alpha!r}")
        self.alpha = float(alpha)
        self.theta: torch.Tensor | None = None  # (C, D) pixel-on probabilities
        self.log_prior: torch.Tensor | None = None  # (C,) log class probabilities
        self.classes: torch.Tensor | None = None  # (C,) class labels (None when unsupervised)
        self.event_shape: tuple[int, ...] = ()

    def fit(self, x: torch.Tensor, y: torch.Tensor | None = None) -> "BernoulliNaiveBayes":
        """Fit on binary ``x`` (N, ...); class-conditional when labels ``y`` (N,) are given."""
        self.event_shape = tuple(x.shape[1:])
        flat = _as_binary(x)  # (N, D)
        if y is None:
            onehot = torch.ones(flat.shape[0], 1, dtype=flat.dtype, device=flat.device)  # (N, 1)
            self.classes = None
        else:
            if y.ndim != 1 or y.shape[0] != flat.shape[0]:
                raise ValueError(f"y must have shape ({flat.shape[0]},), got {tuple(y.shape)}")
            self.classes, index = torch.unique(y.to(flat.device), return_inverse=True)
            onehot = torch.nn.functional.one_hot(index, len(self.classes)).to(flat.dtype)  # (N, C)
        counts = onehot.sum(0)  # (C,)
        self.theta = (onehot.T @ flat + self.alpha) / (counts[:, None] + 2 * self.alpha)  # (C, D)
        self.log_prior = (counts / counts.sum()).log()
        return self

    def _joint(self, x: torch.Tensor) -> torch.Tensor:
        if self.theta is None:
            raise RuntimeError("call fit(x) before using the model")
        flat = _as_binary(x).to(self.theta)
        if flat.shape[1] != self.theta.shape[1]:
            raise ValueError(f"x has {flat.shape[1]} dims per sample, the model was fitted on "
                             f"{self.theta.shape[1]}")
        return bernoulli_log_prob(flat, self.theta.log(), (-self.theta).log1p()) + self.log_prior  # (N, C)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample :math:`\\log p(x)` (N,), marginal over classes when fitted with labels."""
        return torch.logsumexp(self._joint(x), dim=1)

    def predict_log_proba(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\log p(c \\mid x)`, shape (N, C), columns in the order of ``self.classes``."""
        joint = self._joint(x)
        return joint - torch.logsumexp(joint, dim=1, keepdim=True)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The most probable class of each sample (N,)."""
        if self.classes is None:
            raise RuntimeError("predict needs a model fitted with labels: fit(x, y)")
        return self.classes[self.predict_log_proba(x).argmax(1)]

    def sample(self, n: int, y: torch.Tensor | int | None = None, seed: int | None = None) -> torch.Tensor:
        """``n`` samples (n, *event_shape); of class ``y`` when given, else classes from the prior."""
        if self.theta is None:
            raise RuntimeError("call fit(x) before sampling")
        require_positive_int("n", n)
        gen = _generator(seed, self.theta.device)
        if y is None:
            rows = torch.multinomial(self.log_prior.exp(), n, replacement=True, generator=gen)
        else:
            if self.classes is None:
                raise ValueError("y was given, but the model was fitted without labels")
            y = torch.as_tensor(y, device=self.theta.device).expand(n)
            match = y[:, None] == self.classes[None, :]  # (n, C)
            if not match.any(1).all():
                raise ValueError(f"y must be one of the fitted classes {self.classes.tolist()}")
            rows = match.to(torch.int64).argmax(1)
        x = torch.bernoulli(self.theta[rows], generator=gen)  # (n, D)
        return x.reshape(n, *self.event_shape)

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """Held-out bits per dimension of ``x``."""
        return metrics.bits_per_dim(self.log_prob(x), int(self.theta.shape[1]))


# --------------------------------------------------------------------------------------------
# Mixtures fitted by EM
# --------------------------------------------------------------------------------------------


def kmeans_labels(x: torch.Tensor, k: int, init: str = "kmeans++", iters: int = 100,
                  gen: torch.Generator | None = None) -> torch.Tensor:
    r"""Hard cluster labels (N,) of the rows of ``x`` (N, D): k-means++ (or ``"random"``) seeding,
    then up to ``iters`` Lloyd iterations (stops early when no label changes).

    .. math:: \min_{c,\,\mu} \sum_i \lVert x_i - \mu_{c_i} \rVert^2

    Used to start EM (``GaussianMixture``, ``BernoulliMixture``) and by
    ``benchmarks/bench_self_conditioned.py`` to give a GAN cluster ids instead of labels.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    x = _as_matrix(x)  # (N, D)
    require_positive_int("k", k)
    if k > x.shape[0]:
        raise ValueError(f"k ({k}) must be at most the number of rows of x ({x.shape[0]})")
    n = x.shape[0]
    if init == "random":
        centers = x[torch.randperm(n, generator=gen, device=x.device)[:k]]  # (K, D)
    else:
        centers = x[torch.randint(n, (1,), generator=gen, device=x.device)]  # (1, D)
        for _ in range(1, k):
            dist = torch.cdist(x, centers).min(1).values ** 2  # (N,)
            probs = dist if dist.sum() > 0 else torch.ones_like(dist)
            pick = torch.multinomial(probs, 1, generator=gen)
            centers = torch.cat([centers, x[pick]])  # (k, D)
    labels = torch.cdist(x, centers).argmin(1)
    for _ in range(iters):
        onehot = torch.nn.functional.one_hot(labels, k).to(x.dtype)  # (N, K)
        counts = onehot.sum(0)[:, None]  # (K, 1)
        centers = torch.where(counts > 0, onehot.T @ x / counts.clamp_min(1), centers)
        new = torch.cdist(x, centers).argmin(1)
        if torch.equal(new, labels):
            break
        labels = new
    return labels


class _Mixture:
    r"""What every EM-fitted mixture shares: the loop, the log-likelihood, responsibilities.

    .. math:: r_{ik} = \frac{\pi_k\, p(x_i\mid k)}{\sum_{k'} \pi_{k'}\, p(x_i\mid k')}
        \quad\text{(E step)}, \qquad \pi_k = \tfrac1N\textstyle\sum_i r_{ik} \quad\text{(M step)}

    Subclasses define ``_component_log_prob(x) -> (N, K)``, ``_m_step_params(x, resp, nk)``,
    ``_init_params(x, resp)``, ``_reseed(k, x)`` and ``num_parameters``.
    """

    def __init__(self, num_components: int, max_iter: int, tol: float, init: str, seed: int | None) -> None:
        self.num_components = require_positive_int("num_components", num_components)
        self.max_iter = require_positive_int("max_iter", max_iter)
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0, got {tol!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.tol, self.init, self.seed = float(tol), init, seed
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
        return _as_matrix(x)

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
        gen = _generator(self.seed, x.device)
        labels = kmeans_labels(x, self.num_components, self.init, 10 if self.init == "kmeans++" else 0, gen)
        resp = torch.nn.functional.one_hot(labels, self.num_components).to(x.dtype)  # (N, K)
        self._init_params(x, resp)
        self.history, self.n_iter, self.converged = [], 0, False
        return self

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
        if covariance not in COVARIANCES:
            raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
        if not reg_covar >= 0:
            raise ValueError(f"reg_covar must be >= 0, got {reg_covar!r}")
        super().__init__(num_components, max_iter, tol, init, seed)
        self.covariance, self.reg_covar = covariance, float(reg_covar)
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
        means = _as_matrix(means, "means")
        k, d = means.shape
        if k != self.num_components:
            raise ValueError(f"means must have {self.num_components} rows, got {k}")
        shape = (k, d, d) if self.covariance == "full" else (k, d)
        given = covariances if covariances is not None else precisions
        given = _as_float(given, "covariances" if covariances is not None else "precisions").to(means)
        if tuple(given.shape) != shape:
            raise ValueError(f"{self.covariance} covariances/precisions must have shape {shape}, "
                             f"got {tuple(given.shape)}")
        weights = _as_float(weights, "weights").to(means)
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

    def _init_params(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        nk = resp.sum(0) + 10 * torch.finfo(x.dtype).eps
        self._m_step_params(x, resp, nk)
        self.weights = nk / nk.sum()

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
        gen = _generator(seed, self.means.device if self.means is not None else torch.device("cpu"))
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
        x = _as_matrix(x).to(self.means)
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
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a positive number, got {alpha!r}")
        super().__init__(num_components, max_iter, tol, init, seed)
        self.alpha = float(alpha)
        self.theta: torch.Tensor | None = None  # (K, D)

    def _validate(self, x: torch.Tensor) -> torch.Tensor:
        return _as_binary(x)

    def _init_params(self, x: torch.Tensor, resp: torch.Tensor) -> None:
        nk = resp.sum(0) + 10 * torch.finfo(x.dtype).eps
        self._m_step_params(x, resp, nk)
        self.weights = nk / nk.sum()

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
        gen = _generator(seed, self.theta.device if self.theta is not None else torch.device("cpu"))
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
        flat, obs = _as_binary(x).to(self.theta), mask.reshape(x.shape[0], -1).to(self.theta)  # (N, D)
        log_t, log_1m = self.theta.log(), (-self.theta).log1p()  # (K, D)
        # only observed pixels vote: mask each pixel's log-likelihood before summing
        log_lik = (flat * obs) @ log_t.T + ((1 - flat) * obs) @ log_1m.T  # (N, K)
        resp = torch.softmax(log_lik + self.weights.log(), dim=1)  # (N, K)
        filled = torch.where(obs.bool(), flat, resp @ self.theta)  # (N, D)
        return filled.reshape(x.shape)


# --------------------------------------------------------------------------------------------
# The course scoreboard
# --------------------------------------------------------------------------------------------


def scoreboard(models: Mapping[str, object], x: torch.Tensor) -> dict[str, float]:
    """Held-out bits/dim of each model on ``x``: ``{name: bits_per_dim}``.

    Any object with a ``bits_per_dim(x)`` method can be a row (a later notebook adds its VAE),
    so scoreboards from different notebooks merge with ``{**old, **new}``.
    """
    return {name: float(model.bits_per_dim(x)) for name, model in models.items()}


def fit_digit_baselines(x: torch.Tensor, y: torch.Tensor | None = None,
                        num_components: tuple[int, ...] = (10, 50), seed: int = 0,
                        max_iter: int = 50) -> dict[str, object]:
    """The scoreboard's density baselines, fitted on binary digits ``x``.

    Returns ``{"naive Bayes": ..., "naive Bayes | class": ..., "Bernoulli mixture K=10": ...}``
    (the class-conditional row only when labels ``y`` are given).
    """
    models: dict[str, object] = {"naive Bayes": BernoulliNaiveBayes().fit(x)}
    if y is not None:
        models["naive Bayes | class"] = BernoulliNaiveBayes().fit(x, y)
    for k in num_components:
        models[f"Bernoulli mixture K={k}"] = BernoulliMixture(k, max_iter=max_iter, seed=seed).fit(x)
    return models


def baseline_scoreboard(num_components: tuple[int, ...] = (10, 50), seed: int = 0, max_iter: int = 50,
                        source: str = "bundled") -> dict[str, float]:
    """The density baselines' held-out bits/dim on the course's binarized test split.

    Fits naive Bayes (with and without labels) and Bernoulli mixtures on the binarized training
    split of ``mnist(source=source)`` and scores the test split; a later notebook merges its own
    rows: ``{**baseline_scoreboard(), "VAE (bound)": vae_bpd}``.
    """
    from gan_course.data import mnist

    x_train, y_train = mnist("train", source=source, binarize=True)
    x_test, _ = mnist("test", source=source, binarize=True)
    models = fit_digit_baselines(x_train, y_train, num_components, seed=seed, max_iter=max_iter)
    return scoreboard(models, x_test)
