"""Self-checks for the notebooks' exercises.

Each check takes the student's answer (a number, a tensor or a function), compares it with the
reference, and returns a ``CheckResult`` that prints as a green tick or a red cross with a hint.
A check must accept the reference solution and reject the common mistakes; tests make sure of it.

In a notebook::

    from gan_course import checks
    checks.gaussian_mle(my_mean, my_var)   # shows ✓ or ✗ with a hint
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one self-check; truthy when it passed."""

    passed: bool  # did the answer match the reference?
    message: str  # what to tell the student

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.message}"

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "✓" if self.passed else "✗"
        return (f'<div style="border-left:4px solid {colour};padding:4px 8px;color:{colour}">'
                f"<b>{mark}</b> {html.escape(self.message)}</div>")


def passed(message: str) -> CheckResult:
    """A passing verdict."""
    return CheckResult(True, message)


def failed(message: str) -> CheckResult:
    """A failing verdict; the message should say what to look at."""
    return CheckResult(False, message)


def compare(name: str, got: object, expected: torch.Tensor | float, rtol: float = 1e-4,
            atol: float = 1e-6, hint: str = "") -> CheckResult:
    """Compare a numeric answer with the reference, shape first, then values.

    >>> compare("the mean", 0.5, 0.5).passed
    True
    >>> compare("the mean", 0.4, 0.5).passed
    False
    """
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    try:
        got_t = torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got,
                                dtype=torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        return failed(f"{name}: expected a number or tensor, got {type(got).__name__}")
    expected_t = expected_t.cpu()
    if got_t.shape != expected_t.shape:
        return failed(f"{name}: expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}")
    if not torch.isfinite(got_t).all():
        return failed(f"{name}: your answer contains NaN or inf. {hint}".strip())
    if torch.allclose(got_t, expected_t, rtol=rtol, atol=atol):
        return passed(f"{name} is right.")
    error = (got_t - expected_t).abs().max().item()
    return failed(f"{name} is off by up to {error:.3g}. {hint}".strip())


_TODO = "fill in your answer first (it is still None)."


def _not_answered(name: str, answer: object) -> CheckResult | None:
    """A failed verdict when the answer is still the placeholder, else None."""
    if answer is None or answer is Ellipsis:
        return failed(f"{name}: {_TODO}")
    return None


def _call(name: str, fn: object, *args) -> tuple[object, CheckResult | None]:
    """Call the student's function; a failure to call becomes a failed verdict, not a traceback."""
    if fn is None or not callable(fn):
        return None, failed(f"{name}: expected a function, got {type(fn).__name__}")
    try:
        out = fn(*args)
    except Exception as error:  # the student's code may raise anything
        return None, failed(f"{name}: your function raised {type(error).__name__}: {error}")
    return out, _not_answered(name, out)


def _unless_missing(name: str, answer: object, check) -> CheckResult:
    """The placeholder verdict when ``answer`` is still None, else ``check()``."""
    missing = _not_answered(name, answer)
    return missing if missing is not None else check()


# --------------------------------------------------------------------------------------------
# --- density track (notebooks 01-03) ---
# --------------------------------------------------------------------------------------------


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
    r"""Notebook 02: smoothed pixel probabilities :math:`(\sum_i x_{ij}+\alpha)/(N+2\alpha)`."""
    flat = x.double().reshape(x.shape[0], -1)
    expected = ((flat.sum(0) + alpha) / (flat.shape[0] + 2 * alpha)).reshape(x.shape[1:])
    hint = "Add alpha to the count of ones and 2*alpha to the number of images."
    try:
        if torch.allclose(torch.as_tensor(theta, dtype=torch.float64).reshape(expected.shape),
                          flat.mean(0).reshape(expected.shape)):
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
# --- GAN theory (notebook 05) ---
# --------------------------------------------------------------------------------------------


def _gan_answer(name: str, answer: object) -> CheckResult | None:
    if answer is None or answer is Ellipsis:
        return failed(f"{name}: fill in your answer first (it is still None).")
    return None


def nonsaturating_loss(fn: object) -> CheckResult:
    r"""Notebook 05: ``fn(fake_logits)`` returns :math:`-\mathbb E[\log D(G(z))]` from *logits*.

    Tested with a logit of -200 (a discriminator sure the sample is fake), where
    ``-log(sigmoid(l))`` overflows to inf but ``softplus(-l)`` gives 200.
    """
    if fn is None or not callable(fn):
        return failed(f"nonsaturating_loss: expected a function, got {type(fn).__name__}")
    logits = torch.tensor([-200.0, -5.0, 0.0, 3.0])
    try:
        got = fn(logits.clone())
    except Exception as error:  # the student's code may raise anything
        return failed(f"nonsaturating_loss: your function raised {type(error).__name__}: {error}")
    if (problem := _gan_answer("nonsaturating_loss", got)) is not None:
        return problem
    expected = torch.nn.functional.softplus(-logits.double()).mean()
    saturating = -torch.nn.functional.softplus(logits.double()).mean()
    hint = "Minimise -log D(G(z)) = softplus(-logit); take the mean over the batch."
    try:
        value = torch.as_tensor(got, dtype=torch.float64)
        if value.shape == () and torch.isclose(value, saturating, rtol=1e-4):
            hint = "That is the saturating loss log(1 - D(G(z))); the non-saturating one is -log D(G(z))."
        elif value.shape == () and not torch.isfinite(value):
            hint = ("log(sigmoid(-200)) = log(0) = -inf: compute log D from the logit with "
                    "F.logsigmoid or F.softplus, never sigmoid then log.")
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("nonsaturating_loss", got, expected, rtol=1e-5, hint=hint)


def optimal_discriminator(d_star: object, p_data: torch.Tensor, p_g: torch.Tensor) -> CheckResult:
    r"""Notebook 05: :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))` on a grid."""
    if (problem := _gan_answer("D*", d_star)) is not None:
        return problem
    p, q = p_data.double(), p_g.double()
    expected = p / (p + q)
    hint = "Maximise p_data(x) log D + p_g(x) log(1 - D) pointwise in D."
    try:
        if torch.allclose(torch.as_tensor(d_star, dtype=torch.float64), q / (p + q), atol=1e-6):
            hint = "You have the fraction upside down: D* is the probability that x is *real*, p_data / (p_data + p_g)."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("D*", d_star, expected, rtol=1e-4, atol=1e-6, hint=hint)


def gan_value_at_optimum(value: object, p_data: torch.Tensor, p_g: torch.Tensor, grid: torch.Tensor) -> CheckResult:
    r"""Notebook 05: :math:`V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_{data}\,\|\,p_g)`, computed on a grid."""
    from gan_course.metrics import js_divergence_grid

    if (problem := _gan_answer("V(D*, G)", value)) is not None:
        return problem
    js = js_divergence_grid(p_data.double(), p_g.double(), grid.double())
    expected = -math.log(4.0) + 2 * js
    hint = "Integrate p_data log D* + p_g log(1 - D*) over the grid (torch.trapezoid)."
    try:
        v = float(torch.as_tensor(value))
        if math.isclose(v, float(js), rel_tol=1e-3) or math.isclose(v, float(-math.log(4) + js), rel_tol=1e-3):
            hint = "Close: V(D*, G) = -log 4 + 2 JSD, with the factor 2 and the constant -log 4."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("V(D*, G)", value, expected, rtol=1e-3, atol=1e-4, hint=hint)


def dirac_gan_eigenvalues(eigenvalues: object, gp_weight: float = 0.0) -> CheckResult:
    r"""Notebook 05: eigenvalues of the Dirac-GAN field's Jacobian at (0, 0): :math:`-\gamma/2 \pm i\sqrt{1/4 - \gamma^2/4}`
    (for :math:`\gamma < 1`), i.e. :math:`\pm i/2` without a penalty. Order does not matter."""
    if (problem := _gan_answer("the eigenvalues", eigenvalues)) is not None:
        return problem
    jac = torch.tensor([[0.0, 0.5], [-0.5, -gp_weight]], dtype=torch.float64)  # d(theta', psi')/d(theta, psi)
    expected = torch.linalg.eigvals(jac)
    try:
        got = torch.as_tensor(eigenvalues).to(torch.complex128).flatten()
    except (TypeError, RuntimeError, ValueError):
        return failed(f"the eigenvalues: expected two (complex) numbers, got {type(eigenvalues).__name__}")
    if got.shape != (2,):
        return failed(f"the eigenvalues: expected 2 of them, got {got.numel()}")
    key = lambda t: sorted(t.tolist(), key=lambda c: (round(c.imag, 9), round(c.real, 9)))  # noqa: E731
    if all(abs(a - b) < 1e-4 for a, b in zip(key(got), key(expected))):
        return passed("The eigenvalues are right: " + ("purely imaginary, so gradient play rotates." if gp_weight == 0
                                                        else "their real part is negative, so play converges."))
    hint = "Differentiate (theta', psi') with respect to (theta, psi) at 0, using sigmoid(0) = 1/2."
    if all(abs(c.imag) < 1e-9 for c in got.tolist()):
        hint = "A rotation has complex eigenvalues: use torch.linalg.eigvals, not eigvalsh."
    return failed(f"the eigenvalues are not right. {hint}")


# --------------------------------------------------------------------------------------------
# --- latent variables and VAE ---
# --------------------------------------------------------------------------------------------


def _vae_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(6, 4, generator=gen, dtype=torch.float64)  # (B, d)
    logvar = 1.5 * torch.randn(6, 4, generator=gen, dtype=torch.float64)  # (B, d)
    return mu, logvar


def _allclose(a: object, b: torch.Tensor) -> bool:
    try:
        a = torch.as_tensor(a.detach() if isinstance(a, torch.Tensor) else a, dtype=torch.float64)
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-5, atol=1e-8))
    except (TypeError, RuntimeError, ValueError):
        return False


def vae_kl(fn: object) -> CheckResult:
    r"""Notebook 04: ``fn(mu, logvar)`` returns :math:`\frac12\sum_j(\sigma_j^2+\mu_j^2-1-\log\sigma_j^2)`, shape (B,)."""
    mu, logvar = _vae_inputs()
    got, problem = _call("kl", fn, mu, logvar)
    if problem is not None:
        return problem
    terms = logvar.exp() + mu**2 - 1 - logvar  # (B, d)
    expected = 0.5 * terms.sum(1)  # (B,)
    hint = "KL(N(mu, sigma^2) || N(0, 1)) = 1/2 (sigma^2 + mu^2 - 1 - log sigma^2), summed over the latent dims."
    if _allclose(got, 0.5 * terms):
        return failed("kl has one value per latent dimension: sum over them, one KL per row, shape (B,).")
    if _allclose(got, terms.sum(1)):
        hint = "You are missing the factor 1/2."
    elif _allclose(got, 0.5 * (torch.exp(2 * logvar) + mu**2 - 1 - 2 * logvar).sum(1)):
        hint = "logvar is log sigma^2, not log sigma: sigma^2 = exp(logvar)."
    return compare("kl", got, expected, rtol=1e-5, atol=1e-8, hint=hint)


def reparameterize(fn: object) -> CheckResult:
    r"""Notebook 04: ``fn(mu, logvar, eps)`` returns :math:`z = \mu + e^{\frac12\log\sigma^2}\,\varepsilon`."""
    mu, logvar = _vae_inputs(1)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    got, problem = _call("z", fn, mu, logvar, eps)
    if problem is not None:
        return problem
    hint = "z = mu + sigma * eps with sigma = exp(0.5 * logvar)."
    if _allclose(got, mu + logvar.exp() * eps):
        hint = "exp(logvar) is the variance sigma^2; scale eps by the standard deviation exp(0.5 * logvar)."
    elif _allclose(got, mu + logvar * eps):
        hint = "logvar is a log-variance: take exp(0.5 * logvar) to get sigma."
    return compare("z", got, mu + torch.exp(0.5 * logvar) * eps, rtol=1e-5, atol=1e-8, hint=hint)


def iw_bound(fn: object) -> CheckResult:
    r"""Notebook 04: ``fn(log_w)`` maps log-weights (B, k) to :math:`\log\frac1k\sum_i w_i`, shape (B,).

    The test log-weights are near -700 nats (as for real digits), so ``exp`` underflows to 0 and
    only a log-sum-exp answer is finite.
    """
    gen = torch.Generator().manual_seed(3)
    log_w = -800 + 5 * torch.randn(5, 7, generator=gen, dtype=torch.float64)  # (B, k)
    got, problem = _call("the bound", fn, log_w)
    if problem is not None:
        return problem
    expected = torch.logsumexp(log_w, 1) - math.log(log_w.shape[1])  # (B,)
    hint = "log (1/k) sum_i exp(a_i) = logsumexp(a) - log k; use torch.logsumexp."
    if _allclose(got, log_w.mean(1)):
        hint = "That is the average of log w: the ELBO. The bound takes the log of the average of w."
    elif _allclose(got, torch.logsumexp(log_w, 1)):
        hint = "Close: subtract log k to turn the sum into a mean."
    elif _allclose(got, torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])):
        hint = "Average over the k samples (dim=1), not over the images."
    try:
        g = torch.as_tensor(got, dtype=torch.float64)
        if not torch.isfinite(g).all():
            hint = "exp(-800) underflows to 0 and log(0) = -inf: use torch.logsumexp instead of exp then log."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("the bound", got, expected, rtol=1e-6, atol=1e-6, hint=hint)


def mse_minimizer(prediction: object, x: torch.Tensor, y: torch.Tensor) -> CheckResult:
    r"""Notebook 04: the per-class prediction that minimises squared error is the class mean.

    .. math:: \arg\min_{\hat x}\ \mathbb E\big[\|x - \hat x\|^2 \mid y = c\big] = \mathbb E[x \mid y = c]

    Args:
        prediction: (C, ...) one image per class, classes in sorted order.
        x: (N, ...) images; y: (N,) their labels.
    """
    if (problem := _not_answered("prediction", prediction)) is not None:
        return problem
    classes = torch.unique(y)
    xd = x.double()
    expected = torch.stack([xd[y == c].mean(0) for c in classes])  # (C, ...)
    hint = "For each class c, average the images of that class: x[y == c].mean(0)."
    if _allclose(prediction, xd.mean(0).expand_as(expected)):
        hint = "That is one mean for all classes; the label tells you which digit, so average per class."
    elif _allclose(prediction, torch.stack([xd[y == c].median(0).values for c in classes])):
        hint = "The median minimises the absolute error; squared error is minimised by the mean."
    return compare("prediction", prediction, expected, rtol=1e-4, atol=1e-6, hint=hint)


# --------------------------------------------------------------------------------------------
# --- GAN 2-D ---
# --------------------------------------------------------------------------------------------


def _mode_test_set() -> tuple[torch.Tensor, torch.Tensor, float]:
    """Samples around 4 of 5 centers, some far off, so that the common mistakes give other answers."""
    gen = torch.Generator().manual_seed(5)
    centers = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0], [4.0, 4.0]])  # (5, 2)
    std = 0.05
    near = centers[torch.tensor([0] * 40 + [1] * 30 + [2] * 20 + [3] * 10)]  # (100, 2)
    x = near + std * torch.randn(100, 2, generator=gen)
    off = torch.tensor([[3.4, 3.4], [3.5, 3.3], [1.0, 0.1]])  # nearest to mode 4 (twice) and 0, but far
    return torch.cat([x, off]), centers, std


def modes_covered(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(samples (N, 2), centers (K, 2), std)`` returns the number of covered modes.

    A mode is covered when at least one *high-quality* sample (within 3 std of its nearest
    center) has it as nearest center.
    """
    from gan_course.metrics import mode_coverage

    x, centers, std = _mode_test_set()
    got, problem = _call("modes covered", fn, x, centers, std)
    if problem is not None:
        return problem
    expected = mode_coverage(x, centers, std).modes_covered  # 4: mode 4 only has far samples nearest
    hint = "Find each sample's nearest center (torch.cdist, argmin), keep those within 3 * std, count distinct modes."
    try:
        if int(got) == 5:
            hint = ("Mode (4, 4) is only the nearest center of samples far from it: a sample counts only "
                    "when it is of high quality (within 3 std of that center).")
    except (TypeError, ValueError, RuntimeError):
        pass
    return compare("modes covered", got, float(expected), rtol=0, atol=0.01, hint=hint)


def reverse_kl_to_uniform(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(counts (K,))`` returns :math:`\mathrm{KL}(\hat p \,\|\, U) = \sum_k \hat p_k \log(K \hat p_k)`.

    Tested with an empty mode (:math:`0 \log 0 = 0`), where the forward direction is infinite.
    """
    counts = torch.tensor([50.0, 30.0, 20.0, 0.0])
    got, problem = _call("reverse KL", fn, counts.clone())
    if problem is not None:
        return problem
    p = counts.double() / counts.sum()
    k = len(counts)
    expected = torch.where(p > 0, p * torch.log(k * p.clamp_min(1e-300)), torch.zeros_like(p)).sum()
    hint = "Normalise the counts to p, then sum p_k log(K p_k) over the modes with p_k > 0 (0 log 0 = 0)."
    try:
        value = torch.as_tensor(got, dtype=torch.float64)
        if value.shape == () and not torch.isfinite(value):
            hint = ("You got inf or NaN: either that is KL(U || p), the other direction (infinite when a mode "
                    "is empty), or 0 * log 0 was not set to 0.")
        elif value.shape == () and math.isclose(float(value), float((counts.double() * torch.where(
                p > 0, torch.log(k * p.clamp_min(1e-300)), torch.zeros_like(p))).sum()), rel_tol=1e-6):
            hint = "Normalise the counts into a histogram p = counts / counts.sum() first."
    except (TypeError, RuntimeError, ValueError):
        pass
    return compare("reverse KL", got, expected, rtol=1e-6, atol=1e-9, hint=hint)


def pack_samples(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(x (B, d), m)`` returns the PacGAN input (B/m, m d): m *consecutive* samples per row."""
    x = torch.arange(24, dtype=torch.float64).reshape(12, 2)  # (B, d)
    got, problem = _call("packed batch", fn, x.clone(), 3)
    if problem is not None:
        return problem
    expected = x.reshape(4, 6)  # (B / m, m * d)
    hint = "Row i holds samples 3i, 3i+1, 3i+2 one after the other: x.reshape(B // m, m * d)."
    if _allclose(got, x.T.reshape(2, 12).T.reshape(4, 6)) or _allclose(got, x.reshape(3, 4, 2).transpose(0, 1).reshape(4, 6)):
        hint = "Your rows mix samples that are not consecutive (a transpose crept in): use x.reshape(B // m, m * d)."
    return compare("packed batch", got, expected, rtol=0, atol=0, hint=hint)


def r1_penalty(fn: object) -> CheckResult:
    r"""Notebook 06: ``fn(discriminator, x)`` returns the R1 penalty at the real batch x, differentiable in D.

    .. math:: R_1 = \mathbb E_{x}\big[\lVert \nabla_x \ell(x) \rVert_2^2\big]

    Checked against ``losses.r1_penalty``, for the value and for the gradient it sends into the
    discriminator's weights (the critic of the notebook-09 checks, on a batch of 6x6 images).
    """
    from gan_course import losses

    x = torch.randn(8, 1, 6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    discriminator = _TinyCritic()
    expected = losses.r1_penalty(discriminator, x)
    (expected_grad,) = torch.autograd.grad(expected, [discriminator.w1])
    got, problem = _call("R1 penalty", fn, discriminator, x.clone())
    if problem is not None:
        return problem
    points = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(discriminator(points).sum(), points)
    norms = g.flatten(1).norm(dim=1)  # (B,)
    hint = "g = grad of D(x).sum() w.r.t. x (create_graph=True); the mean over samples of ||g||^2."
    try:
        value = float(torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64))
        if math.isclose(value, float(norms.mean()), rel_tol=1e-6):
            hint = "Square the norm: R1 is the mean of ||g||^2, not of ||g||."
        elif math.isclose(value, float((norms ** 2).sum()), rel_tol=1e-6):
            hint = "Average over the samples (mean), do not sum: the penalty must not grow with the batch size."
        elif math.isclose(value, float(((norms - 1) ** 2).mean()), rel_tol=1e-6):
            hint = "R1 pulls the gradient towards 0 at the real data: ||g||^2, not (||g|| - 1)^2 (that is WGAN-GP)."
    except (TypeError, ValueError, RuntimeError):
        pass
    return _penalty_result("R1 penalty", got, expected, expected_grad, discriminator.w1, "discriminator", hint,
                           "keep the graph of the input gradient (create_graph=True).",
                           "The R1 penalty is right, value and gradient (it matches losses.r1_penalty).")


# --------------------------------------------------------------------------------------------
# --- Notebook 09: Wasserstein GAN ---
# --------------------------------------------------------------------------------------------


def _w1_test_pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Pairs of 1-D samples, one with equal means (so the gap of means is 0 but W1 is not)."""
    gen = torch.Generator().manual_seed(9)
    a = torch.randn(300, generator=gen, dtype=torch.float64)
    b = torch.rand(300, generator=gen, dtype=torch.float64) * 4 + 1
    c = 3 * torch.randn(300, generator=gen, dtype=torch.float64)
    return [(a, b), (a - a.mean(), c - c.mean())]


def wasserstein_1d(fn: object) -> CheckResult:
    r"""Notebook 09: ``fn(a (n,), b (n,))`` returns :math:`W_1 = \frac1n \sum_i |a_{(i)} - b_{(i)}|`.

    Checked against ``metrics.wasserstein_1d`` (itself tested against ``scipy.stats.wasserstein_distance``).
    """
    from gan_course import metrics

    for a, b in _w1_test_pairs():
        got, problem = _call("W1", fn, a.clone(), b.clone())
        if problem is not None:
            return problem
        expected = metrics.wasserstein_1d(a, b)
        hint = "Sort both samples, then average the absolute gaps between values of the same rank."
        try:
            value = float(torch.as_tensor(got, dtype=torch.float64))
            sa, sb = a.sort().values, b.sort().values
            if math.isclose(value, float((a - b).abs().mean()), rel_tol=1e-6):
                hint = ("That is the mean gap between *unsorted* pairs: a transport plan, but not the cheapest. "
                        "Sort both samples first, so the i-th smallest grain goes to the i-th smallest place.")
            elif math.isclose(value, float((a.mean() - b.mean()).abs()), rel_tol=1e-6, abs_tol=1e-9):
                hint = ("That is the gap between the means, only a lower bound on W1 (0 for these two samples of "
                        "equal mean but different spread). Sort and average |a_(i) - b_(i)|.")
            elif math.isclose(value, float(((sa - sb) ** 2).mean().sqrt()), rel_tol=1e-6) or \
                    math.isclose(value, float(((sa - sb) ** 2).mean()), rel_tol=1e-6):
                hint = "You squared the gaps (that is W2 or its square): W1 averages |a_(i) - b_(i)|."
        except (TypeError, ValueError, RuntimeError):
            pass
        result = compare("W1", got, expected, rtol=1e-6, atol=1e-9, hint=hint)
        if not result:
            return result
    return passed("W1 is right: sort both samples and average the gaps, as scipy.stats.wasserstein_distance does.")


class _TinyCritic(torch.nn.Module):
    """A small smooth critic on (B, 1, 6, 6) images for the gradient-penalty check."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.w1 = torch.nn.Parameter(torch.randn(36, 16, generator=gen, dtype=torch.float64) / 3)
        self.w2 = torch.nn.Parameter(torch.randn(16, generator=gen, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x.flatten(1) @ self.w1) @ self.w2  # (B,)


def gradient_penalty(fn: object) -> CheckResult:
    r"""Notebook 09: ``fn(critic, x, x_fake, eps)`` returns the WGAN-GP penalty, differentiable in the critic.

    .. math:: \hat x = \epsilon x + (1 - \epsilon) \tilde x,\quad
              \mathrm{GP} = \mathbb E\big[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2\big]

    with ``eps`` of shape (B, 1, 1, 1). Checked against ``losses.gradient_penalty`` with the same
    interpolation weights, for the value and for the gradient it sends into the critic's weights.
    """
    from gan_course import losses

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(8, 1, 6, 6, generator=gen, dtype=torch.float64)
    x_fake = torch.randn(8, 1, 6, 6, generator=gen, dtype=torch.float64) * 0.5 + 1
    eps = torch.rand((8, 1, 1, 1), generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    critic = _TinyCritic()
    expected = losses.gradient_penalty(critic, x, x_fake, generator=torch.Generator().manual_seed(11))
    (expected_grad,) = torch.autograd.grad(expected, [critic.w1])
    got, problem = _call("gradient penalty", fn, critic, x.clone(), x_fake.clone(), eps.clone())
    if problem is not None:
        return problem

    def penalty(points: torch.Tensor, per_sample: bool = True, minus_one: bool = True) -> float:
        points = points.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(points).sum(), points)
        norms = g.flatten(1).norm(dim=1) if per_sample else g.norm()
        return float(((norms - 1) ** 2).mean() if minus_one else (norms ** 2).mean())

    hint = "x_hat = eps * x + (1 - eps) * x_fake; g = grad of critic(x_hat).sum() w.r.t. x_hat; mean of (||g|| - 1)^2 per sample."
    try:
        value = float(torch.as_tensor(got.detach() if isinstance(got, torch.Tensor) else got, dtype=torch.float64))
        x_hat = eps * x + (1 - eps) * x_fake
        if math.isclose(value, penalty(x), rel_tol=1e-6) or math.isclose(value, penalty(x_fake), rel_tol=1e-6):
            hint = ("The penalty is measured on random points *between* real and fake samples, "
                    "x_hat = eps * x + (1 - eps) * x_fake, not on the real or the fake batch itself.")
        elif math.isclose(value, penalty(x_hat, minus_one=False), rel_tol=1e-6):
            hint = "The penalty pulls the norm towards 1, not 0: (||g|| - 1)^2, not ||g||^2."
        elif math.isclose(value, penalty(x_hat, per_sample=False), rel_tol=1e-6):
            hint = ("Take one gradient norm per sample (g.flatten(1).norm(dim=1)), not the norm of the whole "
                    "batch's gradient.")
        elif math.isclose(value, penalty((1 - eps) * x + eps * x_fake), rel_tol=1e-6):
            hint = "Use the interpolation as written: x_hat = eps * x + (1 - eps) * x_fake."
    except (TypeError, ValueError, RuntimeError):
        pass
    return _penalty_result("gradient penalty", got, expected, expected_grad, critic.w1, "critic", hint,
                           "do not detach x_hat's gradient (create_graph=True).",
                           "The gradient penalty is right, value and gradient (it matches losses.gradient_penalty).")


def _penalty_result(name: str, got: object, expected: torch.Tensor, expected_grad: torch.Tensor,
                    weight: torch.Tensor, player: str, hint: str, graph_hint: str, success: str) -> CheckResult:
    """A gradient penalty's answer: its value against ``expected``, then the gradient it sends into
    ``weight`` (a parameter of ``player``) against ``expected_grad``. The player minimises the
    penalty, so it must stay differentiable (``create_graph=True`` on the input gradient)."""
    result = compare(name, got, expected.detach(), rtol=1e-6, atol=1e-9, hint=hint)
    if not result:
        return result
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        return failed(f"{name}: the value is right, but it cannot be back-propagated into the {player}: "
                      "return a tensor, and call torch.autograd.grad(..., create_graph=True).")
    try:
        (got_grad,) = torch.autograd.grad(got, [weight])
    except RuntimeError as error:
        return failed(f"{name}: back-propagating it failed ({error}); use create_graph=True.")
    if not torch.allclose(got_grad.double(), expected_grad, rtol=1e-5, atol=1e-9):
        return failed(f"{name}: the value is right but its gradient with respect to the {player}'s weights "
                      f"is not; {graph_hint}")
    return passed(success)


LIPSCHITZ_CHOICES = {
    "a": "Weight clipping: small weights make a simpler critic, which is what we want.",
    "b": "The gradient penalty: it constrains the critic's gradient only where it is measured, "
         "leaving the weights free to form any 1-Lipschitz function.",
    "c": "Both equally: each one makes the critic exactly 1-Lipschitz.",
    "d": "Neither: any constraint on the critic removes capacity in the same way.",
}


def lipschitz_capacity(answer: object) -> CheckResult:
    """Notebook 09: which way of enforcing the Lipschitz constraint keeps the critic's capacity (a-d)?"""
    missing = _not_answered("answer", answer)
    if missing is not None:
        return missing
    choice = str(answer).strip().lower().strip("()")
    if choice not in LIPSCHITZ_CHOICES:
        return failed(f"answer: give one letter of {', '.join(LIPSCHITZ_CHOICES)}, got {answer!r}")
    if choice == "b":
        return passed("Right: the penalty asks ||grad f|| = 1 on points between real and fake, and the weights stay "
                      "free. Clipping confines every weight to [-c, c]: most pile up at ±c and the critic is biased "
                      "towards very simple functions (Gulrajani et al., 2017, section 3).")
    hints = {
        "a": "A simpler critic is the problem, not the aim: clipped weights pile up at ±c and the critic can only "
             "draw very simple functions, so its estimate of W1 is poor. Look at the weight histogram again.",
        "c": "Neither makes the critic exactly 1-Lipschitz: clipping bounds the constant loosely (some K that depends "
             "on c and the architecture), the penalty holds only softly and only on the sampled points.",
        "d": "The two constraints act on different things: clipping on every weight, the penalty only on the "
             "gradient at sampled points. One of them leaves the weights free.",
    }
    return failed(hints[choice])


# --------------------------------------------------------------------------------------------
# --- Notebook 08: conditional GAN ---
# --------------------------------------------------------------------------------------------


def smoothed_d_loss(fn: object) -> CheckResult:
    r"""Notebook 08: ``fn(real, fake, smoothing)`` is D's loss with one-sided label smoothing,
    :math:`\mathbb E[(1-s)\operatorname{softplus}(-\ell_r) + s\operatorname{softplus}(\ell_r)] + \mathbb E[\operatorname{softplus}(\ell_f)]`
    (``losses.smoothed_d_loss``). Tested with large logits too, where sigmoid-then-log breaks."""
    from gan_course import losses

    real = torch.tensor([3.0, -1.0, 0.5, 60.0])
    fake = torch.tensor([-2.0, 0.0, 1.5, -60.0])
    hint = ("Binary cross-entropy on logits with real targets 1 - smoothing and fake targets 0, e.g. "
            "F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smoothing)) + the same for fake with 0.")
    for s in (0.1, 0.3):
        got, problem = _call("smoothed D loss", fn, real.clone(), fake.clone(), s)
        if problem is not None:
            return problem
        expected = losses.smoothed_d_loss(real.double(), fake.double(), s)
        mistakes = {
            "Both sides are smoothed: keep the fake target at 0 (one-sided), or D is rewarded for "
            "saying 'real' with probability s where only fakes live.":
                _bce_to(real, 1 - s) + _bce_to(fake, s),
            "Your real target is s; it should be 1 - smoothing.": _bce_to(real, s) + _bce_to(fake, 0.0),
            "That is the loss without smoothing: the real target must be 1 - smoothing.":
                _bce_to(real, 1.0) + _bce_to(fake, 0.0),
        }
        result = compare(f"smoothed D loss (smoothing={s})", got, expected, rtol=1e-5, atol=1e-6, hint=hint)
        if not result:
            for message, wrong in mistakes.items():
                if _allclose(got, wrong):
                    return failed(f"smoothed D loss (smoothing={s}): {message}")
            try:
                if not math.isfinite(float(torch.as_tensor(got))):
                    return failed("smoothed D loss: you got inf or NaN for logits of ±60. Work with logits "
                                  "(softplus, or binary_cross_entropy_with_logits), not log(sigmoid(...)).")
            except (TypeError, ValueError, RuntimeError):
                pass
            return result
    return passed("smoothed D loss is right (it matches losses.smoothed_d_loss).")


def _bce_to(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Mean binary cross-entropy of logits against one constant target (a helper of the checks)."""
    logits = logits.double()
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def label_plane(fn: object) -> CheckResult:
    """Notebook 08: ``fn(x (B, 1, 28, 28), y (B,), embed nn.Embedding(10, 784))`` stacks each
    image with its label's embedding as a second 28x28 plane: (B, 2, 28, 28), image first."""
    gen = torch.Generator().manual_seed(8)
    x = torch.rand(5, 1, 28, 28, generator=gen)  # (B, 1, 28, 28)
    y = torch.tensor([3, 0, 9, 3, 7])  # (B,)
    embed = torch.nn.Embedding(10, 28 * 28)
    with torch.no_grad():
        embed.weight.copy_(torch.randn(10, 28 * 28, generator=gen))
        got, problem = _call("input with label plane", fn, x.clone(), y.clone(), embed)
    if problem is not None:
        return problem
    plane = embed.weight.detach()[y].view(5, 1, 28, 28).double()  # (B, 1, 28, 28)
    x = x.double()
    expected = torch.cat([x, plane], dim=1)  # (B, 2, 28, 28)
    hint = "embed(y) is (B, 784): view it as (B, 1, 28, 28), then torch.cat([x, plane], dim=1)."
    shape = tuple(got.shape) if isinstance(got, torch.Tensor) else None
    if shape == (10, 1, 28, 28):
        hint = "You stacked along the batch (dim=0): the plane is a second *channel*, so concatenate along dim=1."
    elif shape == (5, 1, 28, 56) or shape == (5, 1, 56, 28):
        hint = "You put the plane beside the image (a spatial dim): concatenate along the channel dim=1."
    elif shape == (5, 2, 28, 28) and _allclose(got, torch.cat([plane, x], dim=1)):
        hint = "Right shape, but the plane comes first: put the image first, torch.cat([x, plane], dim=1), as nets.DCGANDiscriminator does."
    elif shape == (5, 2, 28, 28):
        hint = ("Right shape, wrong values: each sample's plane must be the embedding row of its own label, "
                "embed(y).view(B, 1, 28, 28) (a transpose or a view in the wrong order mixes samples).")
    if shape is not None and shape != tuple(expected.shape):
        return failed(f"input with label plane: expected shape {tuple(expected.shape)}, got {shape}. {hint}")
    return compare("input with label plane", got.detach() if isinstance(got, torch.Tensor) else got, expected,
                   rtol=0, atol=1e-6, hint=hint)


def _requested_test_case() -> tuple[torch.Tensor, torch.Tensor]:
    """Requests 0..9, 20 each, and predictions that often say 1 or 7, so per-row and per-column shares differ."""
    gen = torch.Generator().manual_seed(80)
    y_requested = torch.arange(10).repeat_interleave(20)  # (200,)
    y_predicted = y_requested.clone()
    wrong = torch.rand(200, generator=gen) < 0.1 + 0.05 * y_requested  # (200,) more mistakes for higher digits
    y_predicted[wrong] = torch.where(torch.rand(int(wrong.sum()), generator=gen) < 0.6,
                                     torch.tensor(1), torch.tensor(7))
    return y_requested, y_predicted


def per_digit_accuracy(fn: object) -> CheckResult:
    r"""Notebook 08: ``fn(y_requested (N,), y_predicted (N,))`` returns (10,): entry k is the share
    of the samples *asked for* k that the classifier calls k, :math:`C_{kk} / \sum_j C_{kj}`."""
    from gan_course.metrics import confusion_matrix

    y_requested, y_predicted = _requested_test_case()
    got, problem = _call("per-digit accuracy", fn, y_requested.clone(), y_predicted.clone())
    if problem is not None:
        return problem
    counts = confusion_matrix(y_requested, y_predicted, 10).double()  # (10, 10) rows: requested
    expected = counts.diag() / counts.sum(dim=1)  # (10,)
    hint = "For each k: among the samples with y_requested == k, the fraction with y_predicted == k."
    if _allclose(got, counts.diag() / counts.sum(dim=0).clamp_min(1)):
        hint = ("You divided by how often each digit was *predicted* (a column of the confusion matrix): that "
                "is the classifier's precision. Divide by how often it was *requested* (a row).")
    elif _allclose(got, counts.diag()):
        hint = "Those are counts: divide each by the number of samples requested for that digit."
    elif _allclose(got, 100 * expected):
        hint = "Those are percentages: give fractions in [0, 1]."
    elif isinstance(got, (int, float)) or (isinstance(got, torch.Tensor) and got.numel() == 1):
        hint = "Give one accuracy per digit, a tensor of shape (10,), not the overall one."
    return compare("per-digit accuracy", got, expected, rtol=1e-6, atol=1e-9, hint=hint)


# --------------------------------------------------------------------------------------------
# --- Notebook 07: DCGAN on digits ---
# --------------------------------------------------------------------------------------------

_CONVT_CASES = ((7, 4, 2, 1), (14, 4, 2, 1), (3, 3, 2, 0), (5, 5, 1, 2), (4, 3, 3, 1))  # (H_in, k, s, p)


def transposed_conv_size(fn: object) -> CheckResult:
    r"""Notebook 07: ``fn(h_in, kernel, stride, padding)`` returns the output height of a
    transposed convolution, :math:`H_{out} = (H_{in} - 1)\,s - 2p + k`, checked against torch."""
    got = []
    for case in _CONVT_CASES:
        value, problem = _call("transposed conv output size", fn, *case)
        if problem is not None:
            return problem
        try:
            got.append(float(value))
        except (TypeError, ValueError, RuntimeError):
            return failed(f"transposed conv output size: expected a number, got {type(value).__name__}")
    expected = [torch.nn.ConvTranspose2d(1, 1, kernel_size=k, stride=s, padding=p)(torch.zeros(1, 1, h, h)).shape[-1]
                for h, k, s, p in _CONVT_CASES]
    if got == expected:
        return passed(f"transposed conv output size is right on {len(_CONVT_CASES)} settings (checked against torch).")
    mistakes = (  # (formula, hint), tried on every case
        (lambda h, k, s, p: (h + 2 * p - k) // s + 1,
         "that is the formula of an ordinary convolution (which shrinks); the transposed one inverts it."),
        (lambda h, k, s, p: (h - 1) * s + k,
         "padding removes rows from both sides of the output: subtract 2 * padding."),
        (lambda h, k, s, p: h * s - 2 * p + k,
         "the input's H_in pixels are H_in - 1 strides apart: use (H_in - 1) * stride."),
    )
    hint = next((text for formula, text in mistakes if got == [formula(*c) for c in _CONVT_CASES]),
                "H_out = (H_in - 1) * stride - 2 * padding + kernel.")
    i = next(i for i, (g, e) in enumerate(zip(got, expected)) if g != e)
    h, k, s, p = _CONVT_CASES[i]
    return failed(f"transposed conv output size: for H_in={h}, kernel={k}, stride={s}, padding={p} torch gives "
                  f"{expected[i]}, you gave {got[i]:g}; {hint}")


def slerp(fn: object) -> CheckResult:
    r"""Notebook 07: ``fn(z0 (D,), z1 (D,), steps)`` returns the spherical interpolation (steps, D),
    :math:`z(t) = \frac{\sin((1-t)\omega)}{\sin\omega} z_0 + \frac{\sin(t\omega)}{\sin\omega} z_1`."""
    from gan_course import latent

    gen = torch.Generator().manual_seed(7)
    z0, z1 = torch.randn(2, 16, generator=gen, dtype=torch.float64)  # (D,) each, norms about 4
    got, problem = _call("slerp", fn, z0.clone(), z1.clone(), 5)
    if problem is not None:
        return problem
    expected = latent.slerp(z0, z1, 5)  # (S, D)
    hint = "z(t) = sin((1-t) w) / sin(w) * z0 + sin(t w) / sin(w) * z1, w the angle between z0 and z1."
    if _allclose(got, latent.lerp(z0, z1, 5)):
        hint = "That is the straight line (lerp): the weights must be sines of the angle, not 1 - t and t."
    elif _allclose(got, expected.flip(0)):
        hint = "Your path runs from z1 to z0: the weight of z0 is sin((1 - t) w) / sin(w)."
    elif isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.allclose(
            torch.linalg.vector_norm(got.double(), dim=-1), torch.ones(5, dtype=torch.float64), atol=1e-4):
        hint = ("Your points all have norm 1: use the angle of the normalised vectors, but interpolate "
                "z0 and z1 themselves (the end points must be z0 and z1).")
    return compare("slerp", got, expected, rtol=1e-5, atol=1e-6, hint=hint)


def dcgan_discriminator_shapes(shapes: object, width: int = 64) -> CheckResult:
    """Notebook 07: ``shapes`` lists (C, H, W) after each convolution of
    ``nets.DCGANDiscriminator(width)`` on a (1, 28, 28) digit; checked with forward hooks."""
    from gan_course import nets

    def check() -> CheckResult:
        disc = nets.DCGANDiscriminator(width=width)
        expected: list[tuple[int, ...]] = []
        hooks = [m.register_forward_hook(lambda m, i, o: expected.append(tuple(o.shape[1:])))
                 for m in disc.modules() if isinstance(m, torch.nn.Conv2d)]
        with torch.no_grad():
            disc(torch.zeros(1, 1, 28, 28))
        for h in hooks:
            h.remove()
        try:
            got = [tuple(int(v) for v in s) for s in shapes]
        except (TypeError, ValueError):
            return failed(f"discriminator shapes: give a list of (C, H, W) tuples, got {shapes!r}")
        if got == expected:
            c, h, w = expected[-1]
            return passed(f"discriminator shapes are right: {expected}, then {c * h * w} features into the linear head.")
        hint = "Each conv (kernel 4, stride 2, padding 1) halves H and W: (H + 2 - 4) // 2 + 1."
        if len(got) != len(expected):
            hint = f"D has {len(expected)} convolutions; give one (C, H, W) per convolution."
        elif any(g[1:] == (h - 1, h - 1) for g, (_, h, _w) in zip(got, expected)):
            hint = "Off by one in H: the padding of 1 on each side counts, (28 + 2*1 - 4) // 2 + 1 = 14."
        elif [g[1:] for g in got] == [e[1:] for e in expected]:
            hint = f"Heights and widths are right; the channels go {width}, then 2 x {width}."
        return failed(f"discriminator shapes: expected {len(expected)} shapes, got {got}. {hint}")

    return _unless_missing("discriminator shapes", shapes, check)


def underrepresented_digit(answer: object, result: dict) -> CheckResult:
    """Notebook 07: the digit whose share of the samples is lowest relative to its share of the
    real test digits, read from ``classifier.evaluate_images``'s ``result["class_histogram"]``."""
    def check() -> CheckResult:
        fake = torch.as_tensor(result["class_histogram"]["value"], dtype=torch.float64)  # (10,)
        real = torch.as_tensor(result["class_histogram"]["real"], dtype=torch.float64)  # (10,)
        ratio = fake / real.clamp_min(1e-12)  # (10,)
        expected = int(ratio.argmin())
        try:
            got = int(answer)
        except (TypeError, ValueError, RuntimeError):
            return failed(f"under-represented digit: give one digit as an int, got {answer!r}")
        if 0 <= got < len(ratio) and ratio[got] == ratio[expected]:  # ties: any of the rarest
            return passed(f"digit {got} is the rarest: {100 * fake[got]:.1f} % of the samples, "
                          f"{100 * real[got]:.1f} % of the real test digits.")
        hint = "Divide each generated fraction by the real fraction and take the smallest."
        if got == int(ratio.argmax()):
            hint = "That is the most over-produced digit: you want the smallest ratio, not the largest."
        return failed(f"under-represented digit: not {answer!r}. {hint}")

    return _unless_missing("under-represented digit", answer, check)
