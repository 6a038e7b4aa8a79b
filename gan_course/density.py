r"""Explicit density models fitted by maximum likelihood, all in torch.

The first third of the course fits a density :math:`p_\theta` to data by maximising

.. math:: \hat\theta = \arg\max_\theta \frac{1}{N}\sum_{i=1}^N \log p_\theta(x_i),

which is the same as minimising :math:`\mathrm{KL}(p_\text{data}\,\|\,p_\theta)`. This module holds

- closed-form MLE helpers (Bernoulli, categorical, Gaussian) and :func:`fit_by_gradient`, the
  same estimate found numerically with autograd; kernel and histogram density estimates;
- :class:`BernoulliNaiveBayes` (pixels independent, optionally given a class) and its
  discriminative counterpart :class:`LogisticRegression`;
- the held-out bits/dim scoreboard of notebooks 02-04.

The mixtures fitted by EM (:class:`GaussianMixture`, :class:`BernoulliMixture`,
:func:`kmeans_labels`) live in :mod:`gan_course.mixtures` and :mod:`gan_course.kmeans`, the
hidden Markov model in :mod:`gan_course.hmm`; all are importable from here.
Every estimator has ``fit(x)``, ``log_prob(x)`` (per sample, natural log), ``sample(n)`` and
``bits_per_dim(x)``; every computation runs on the device of its input, and probabilities are
summed with log-sum-exp, never multiplied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch

from gan_course import divergences, metrics
from gan_course.config import torch_generator
from gan_course.likelihoods import bernoulli_log_prob, gaussian_log_prob
from gan_course.kmeans import INITS, kmeans_labels
from gan_course.hmm import HiddenMarkovModel
from gan_course.mixtures import COVARIANCES, BernoulliMixture, GaussianMixture
from gan_course.validate import (binary_rows, float_data, require_binary, require_nonnegative_number,
                                 require_positive_int, require_positive_number)


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
    x = float_data(x)
    require_binary(x)
    require_nonnegative_number("alpha", alpha)
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
    require_nonnegative_number("alpha", alpha)
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
    x = float_data(x)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"x must have shape (N,) or (N, D) with N > 0, got {tuple(x.shape)}")
    mean = x.mean(0)
    return mean, ((x - mean) ** 2).mean(0)


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
        raise ValueError(f"method must be one of 'lbfgs', 'adam'; got {method!r}")
    require_positive_int("steps", steps)
    require_positive_number("lr", lr)
    x = float_data(x)
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

    The course's one KDE (``divergences.log_kde_1d``), with this module's input checks.

    Args:
        x_train: the N kernel centres (N,).
        x: where to evaluate (M,).
        bandwidth: the kernel width h (> 0); small h over-fits, large h over-smooths.

    Returns:
        (M,) natural-log densities, computed with log-sum-exp.

    >>> round(kde_log_prob(torch.zeros(3), torch.zeros(1), 1.0).item(), 4)
    -0.9189
    """
    require_positive_number("bandwidth", bandwidth)
    x_train, x = float_data(x_train, "x_train"), float_data(x, "x")
    if x_train.ndim != 1 or x.ndim != 1:
        raise ValueError(f"x_train and x must be 1-D, got shapes {tuple(x_train.shape)} and {tuple(x.shape)}")
    return divergences.log_kde_1d(x_train.to(x), x, bandwidth)


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
    x_train, x = float_data(x_train, "x_train"), float_data(x, "x")
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
        self.weight_decay = require_nonnegative_number("weight_decay", weight_decay)
        self.steps = require_positive_int("steps", steps)
        self.weight: torch.Tensor | None = None  # (C, D)
        self.bias: torch.Tensor | None = None  # (C,)
        self.classes: torch.Tensor | None = None  # (C,)

    def fit(self, x: torch.Tensor, y: torch.Tensor) -> "LogisticRegression":
        """Fit on features ``x`` (N, ...) and labels ``y`` (N,)."""
        flat = float_data(x).reshape(x.shape[0], -1)  # (N, D)
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
        flat = float_data(x).reshape(x.shape[0], -1).to(self.weight)
        return self.classes[(flat @ self.weight.T + self.bias).argmax(1)]


# --------------------------------------------------------------------------------------------
# Bernoulli naive Bayes
# --------------------------------------------------------------------------------------------


class BernoulliNaiveBayes:
    r"""Pixels independent given the class (or independent outright when there are no labels).

    .. math:: p(x) = \sum_c \pi_c \prod_j \theta_{cj}^{x_j}(1-\theta_{cj})^{1-x_j},
        \qquad \hat\theta_{cj} = \frac{N_{cj} + \alpha}{N_c + 2\alpha}

    With labels this is scikit-learn's ``BernoulliNB`` (class prior by counts, Laplace smoothing
    ``alpha`` on the pixel probabilities); without labels there is one class.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = require_positive_number("alpha", alpha)  # Laplace smoothing
        self.theta: torch.Tensor | None = None  # (C, D) pixel-on probabilities
        self.log_prior: torch.Tensor | None = None  # (C,) log class probabilities
        self.classes: torch.Tensor | None = None  # (C,) class labels (None when unsupervised)
        self.event_shape: tuple[int, ...] = ()

    def fit(self, x: torch.Tensor, y: torch.Tensor | None = None) -> "BernoulliNaiveBayes":
        """Fit on binary ``x`` (N, ...); class-conditional when labels ``y`` (N,) are given."""
        self.event_shape = tuple(x.shape[1:])
        flat = binary_rows(x)  # (N, D)
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
        flat = binary_rows(x).to(self.theta)
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
        gen = torch_generator(seed, self.theta.device)
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


__all__ = [
    "bernoulli_mle", "categorical_mle", "gaussian_mle", "gaussian_log_prob", "GradientFit", "fit_by_gradient",
    "kde_log_prob", "histogram_log_prob", "LogisticRegression", "bernoulli_log_prob", "BernoulliNaiveBayes",
    "scoreboard", "fit_digit_baselines", "baseline_scoreboard",
    # re-exported from gan_course.mixtures, gan_course.kmeans and gan_course.hmm
    "COVARIANCES", "INITS", "GaussianMixture", "BernoulliMixture", "kmeans_labels", "HiddenMarkovModel",
]
