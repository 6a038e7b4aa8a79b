"""Checks for the density track: a first look at the data (notebook 00), maximum likelihood, naive Bayes,
mixtures and EM (notebooks 01-03)."""

from __future__ import annotations

import math

import torch

from gan_course.checks.core import CheckResult, passed, failed, compare, _not_answered, _call, _unless_missing


def bernoulli_mle(theta: object, x: torch.Tensor) -> CheckResult:
    r"""Notebook 01: the Bernoulli MLE :math:`\hat\theta = \frac1N\sum_i x_i` of binary ``x``."""
    return _unless_missing("theta", theta, lambda: compare(
        "theta", theta, x.double().mean(0),
        hint="The MLE of a coin's bias is the fraction of heads: the mean of x."))


def gaussian_mle(mean: object, var: object, x: torch.Tensor) -> CheckResult:
    r"""Notebook 01: the Gaussian MLE, mean and *biased* variance :math:`\frac1N\sum_i(x_i-\hat\mu)^2`."""
    x = x.double()
    mu = x.mean(0)
    first = _unless_missing("the mean", mean, lambda: compare("the mean", mean, mu, hint="Average the samples."))
    if not first:
        return first
    n = x.shape[0]
    expected = ((x - mu) ** 2).mean(0)
    hint = "Differentiate the log-likelihood in sigma^2 and set it to 0."
    try:
        if torch.allclose(torch.as_tensor(var, dtype=torch.float64), expected * n / (n - 1), rtol=1e-6):
            hint = ("You divided by N-1 (the unbiased estimate); the maximum-likelihood variance "
                    "divides by N.")
    except (TypeError, RuntimeError, ValueError):
        pass
    second = _unless_missing("the variance", var, lambda: compare("the variance", var, expected, hint=hint))
    return passed("The mean and the (biased, 1/N) variance are right.") if second else second


def gaussian_log_likelihood(fn: object) -> CheckResult:
    r"""Notebook 01: ``fn(x, mean, std)`` returns :math:`\sum_i \log\mathcal N(x_i;\mu,\sigma^2)`.

    Tested on 2,000 points, where a product of densities underflows to 0 and its log to -inf.
    """
    gen = torch.Generator().manual_seed(0)
    x = 0.3 + 4.0 * torch.randn(2000, generator=gen, dtype=torch.float64)
    mean, std = torch.tensor(0.3, dtype=torch.float64), torch.tensor(4.0, dtype=torch.float64)
    got, problem = _call("log_likelihood", fn, x, mean, std)
    if problem is not None:
        return problem
    expected = (-0.5 * torch.log(2 * torch.pi * std**2) - (x - mean) ** 2 / (2 * std**2)).sum()
    return compare("log_likelihood", got, expected, rtol=1e-6, hint=(
        "Sum log-densities; multiplying 2,000 densities underflows to 0 (log 0 = -inf)."))


def naive_bayes_pixel_probs(theta: object, x: torch.Tensor, alpha: float = 1.0) -> CheckResult:
    r"""Notebook 02: smoothed pixel probabilities :math:`(\sum_i x_{ij}+\alpha)/(N+2\alpha)`.

    Any shape that holds one value per pixel is accepted — (1, 28, 28), (28, 28) or (784,) — since
    the prompt allows them all; the values are compared after reshaping to the images' shape.
    """
    flat = x.double().reshape(x.shape[0], -1)
    expected = ((flat.sum(0) + alpha) / (flat.shape[0] + 2 * alpha)).reshape(x.shape[1:])
    hint = "Add alpha to the count of ones and 2*alpha to the number of images."
    try:
        got = torch.as_tensor(theta.detach() if isinstance(theta, torch.Tensor) else theta, dtype=torch.float64)
        if got.numel() == expected.numel():
            theta = got.reshape(expected.shape)  # (784,), (28, 28) and (1, 28, 28) hold the same pixels
            if torch.allclose(theta, flat.mean(0).reshape(expected.shape)):
                hint = ("No smoothing: a pixel never on in training gets theta = 0, so any test digit "
                        "with that pixel on has probability 0 (log-likelihood -inf). Add alpha.")
    except (TypeError, RuntimeError, ValueError):
        pass
    return _unless_missing("theta", theta, lambda: compare("theta", theta, expected, rtol=1e-5, hint=hint))


def naive_bayes_log_prob(fn: object) -> CheckResult:
    r"""Notebook 02: ``fn(x (N, D), theta (D,))`` returns :math:`\sum_j x_j\log\theta_j+(1-x_j)\log(1-\theta_j)`, (N,).

    Tested on 2,000-pixel images, whose probabilities underflow even in float64.
    """
    gen = torch.Generator().manual_seed(1)
    theta = 0.2 + 0.6 * torch.rand(2000, generator=gen)
    x = torch.bernoulli(theta.expand(5, -1), generator=gen)  # (5, 2000)
    got, problem = _call("log_prob", fn, x, theta)
    if problem is not None:
        return problem
    expected = (x.double() * theta.double().log() + (1 - x.double()) * (1 - theta.double()).log()).sum(1)
    return compare("log_prob", got, expected, rtol=1e-5, hint=(
        "Sum the per-pixel log-probabilities: a product of 2,000 probabilities underflows to 0."))


def bits_per_dim(value: object, log_prob: torch.Tensor, num_dims: int) -> CheckResult:
    r"""Notebook 02: :math:`-\frac{1}{ND\ln 2}\sum_i\log p(x_i)` from per-sample log-likelihoods in nats."""
    expected = -log_prob.double().mean() / (num_dims * math.log(2))
    hint = "Average over samples, divide by the number of dimensions and convert nats to bits (/ ln 2)."
    try:
        v = float(torch.as_tensor(value, dtype=torch.float64))
        if math.isclose(v, expected.item() * math.log(2), rel_tol=1e-4):
            hint = "That is nats per dimension: divide by ln 2 to get bits."
        elif math.isclose(v, expected.item() * num_dims, rel_tol=1e-4):
            hint = "That is bits per image: divide by the number of pixels."
    except (TypeError, RuntimeError, ValueError):
        pass
    return _unless_missing("bits/dim", value, lambda: compare("bits/dim", value, expected, hint=hint))


def responsibilities(resp: object, x: torch.Tensor, model: object) -> CheckResult:
    r"""Notebook 03: :math:`r_{ik} = \pi_k\mathcal N(x_i;\mu_k,\Sigma_k) / \sum_{k'}\pi_{k'}\mathcal N(x_i;\mu_{k'},\Sigma_{k'})`.

    ``model`` is a fitted ``gan_course.density.GaussianMixture``; its ``predict_proba`` is the reference.
    """
    if (problem := _not_answered("responsibilities", resp)) is not None:
        return problem
    expected = model.predict_proba(x).double()
    hint = "Compute pi_k * N(x_i; mu_k, Sigma_k) for every k, then divide each row by its sum."
    try:
        r = torch.as_tensor(resp.detach() if isinstance(resp, torch.Tensor) else resp, dtype=torch.float64)
        if r.shape == expected.shape and not torch.allclose(r.sum(1), torch.ones_like(r[:, 0]), atol=1e-4):
            hint = ("Each row must sum to 1 (the posterior over components): normalise by the sum over "
                    "k (log-sum-exp in log space).")
    except (TypeError, RuntimeError, ValueError, AttributeError):
        pass
    return compare("responsibilities", resp, expected, rtol=1e-4, atol=1e-6, hint=hint)


def m_step_means(means: object, x: torch.Tensor, resp: torch.Tensor) -> CheckResult:
    r"""Notebook 03: :math:`\mu_k = \sum_i r_{ik}x_i / \sum_i r_{ik}`, shape (K, D)."""
    r, xd = resp.double(), x.double()
    expected = r.T @ xd / r.sum(0)[:, None]  # (K, D)
    hint = "Weight each point by its responsibility and divide by N_k = sum_i r_ik (not by N)."
    return _unless_missing("means", means, lambda: compare("means", means, expected, rtol=1e-5, hint=hint))


def gmm_num_parameters(value: object, num_components: int, dim: int, covariance: str = "full") -> CheckResult:
    r"""Notebook 03: free parameters of a Gaussian mixture, as BIC counts them.

    .. math:: (K-1) + KD + K\,\tfrac{D(D+1)}{2}\ \text{(full)}\quad\text{or}\quad (K-1) + KD + KD\ \text{(diag)}
    """
    k, d = num_components, dim
    cov = k * d * (d + 1) // 2 if covariance == "full" else k * d
    expected = (k - 1) + k * d + cov
    hint = ("Weights have K-1 free values (they sum to 1); a symmetric D x D covariance has "
            "D(D+1)/2; a diagonal one has D.")
    return _unless_missing("number of parameters", value, lambda: compare(
        "number of parameters", value, float(expected), rtol=0, atol=0.5, hint=hint))


# --------------------------------------------------------------------------------------------
# Notebook 00: a first look at the data
# --------------------------------------------------------------------------------------------


def class_mean_image(image: object, x: torch.Tensor, y: torch.Tensor, digit: int) -> CheckResult:
    r"""Notebook 00: the average image of one digit, :math:`\bar x_c = \frac{1}{N_c}\sum_{i: y_i = c} x_i`.

    Any shape with one value per pixel is accepted: (1, 28, 28), (28, 28) or (784,).
    """
    if (problem := _not_answered("the mean image", image)) is not None:
        return problem
    xd = x.double()
    expected = xd[y == digit].mean(0)  # (1, 28, 28)
    try:
        got = torch.as_tensor(image.detach() if isinstance(image, torch.Tensor) else image, dtype=torch.float64)
    except (TypeError, RuntimeError, ValueError):
        return compare("the mean image", image, expected)
    if got.numel() != expected.numel():
        return failed(f"the mean image: expected one value per pixel ({expected.numel()}), got shape "
                      f"{tuple(got.shape)}. Average over the images (dim=0), not over the pixels.")
    got = got.reshape(expected.shape)
    hint = f"Keep the images whose label is {digit} (x[y == {digit}]) and average them over dim=0."
    if torch.allclose(got, xd.mean(0)):
        hint = f"That is the mean of all the digits: keep only the {digit}s first (x[y == {digit}])."
    elif torch.allclose(got, xd[y == digit].sum(0)):
        hint = "That is the sum of the images: divide by how many there are (or use .mean(0))."
    return compare("the mean image", got, expected, rtol=1e-5, atol=1e-7, hint=hint)


def mixture_moments(mean: object, std: object, name: str) -> CheckResult:
    r"""Notebook 00: the exact mean and standard deviation of an equal-weight 1-D toy mixture.

    .. math:: \mu = \frac1K\sum_k \mu_k, \qquad
              \sigma_{mix}^2 = \sigma^2 + \frac1K\sum_k (\mu_k - \mu)^2

    (the law of total variance: the spread within a component plus the spread of the centers).
    """
    from gan_course.data import toy_modes

    centers, sigma = toy_modes(name)
    centers = centers.double().flatten()
    mu = centers.mean()
    var = sigma**2 + ((centers - mu) ** 2).mean()
    first = _unless_missing("the mean", mean, lambda: compare(
        "the mean", mean, mu, rtol=1e-6, atol=1e-6, hint="With equal weights the mean is the average of the centers."))
    if not first:
        return first
    hint = "Var = (spread within a component, sigma^2) + (spread of the centers around the mean)."
    wrong = {"That is one component's spread: add the spread of the centers (law of total variance).": sigma,
             "That is the spread of the centers alone: add the variance sigma^2 within each component.":
                 ((centers - mu) ** 2).mean().sqrt().item(),
             "That is the variance: take its square root.": var.item(),
             "Standard deviations do not add: add the two variances, then take the square root.":
                 sigma + ((centers - mu) ** 2).mean().sqrt().item()}
    try:
        value = float(torch.as_tensor(std.detach() if isinstance(std, torch.Tensor) else std))
        hint = next((h for h, v in wrong.items() if math.isclose(value, v, rel_tol=1e-4)), hint)
    except (TypeError, RuntimeError, ValueError):
        pass
    second = _unless_missing("the std", std, lambda: compare("the std", std, var.sqrt(), rtol=1e-5, hint=hint))
    return passed(f"Right: mean {mu.item():.3g} and std {var.sqrt().item():.4g} for {name}.") if second else second
