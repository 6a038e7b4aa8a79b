r"""Latent-variable models of images: the autoencoder and the variational autoencoder (VAE).

A VAE is a generative model with a latent code :math:`z`:

.. math:: p_\theta(x) = \int p_\theta(x \mid z)\, p(z)\, dz, \qquad p(z) = \mathcal N(0, I).

The integral has no closed form, so an encoder :math:`q_\phi(z \mid x)` proposes codes and the model
is trained on the evidence lower bound (Kingma & Welling, 2014, *Auto-Encoding Variational Bayes*):

.. math:: \log p_\theta(x) \ \ge\ \mathrm{ELBO}(x) =
    \underbrace{\mathbb E_{q_\phi(z\mid x)}[\log p_\theta(x\mid z)]}_{\text{reconstruction}}
    - \underbrace{\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)}_{\text{closed form}}.

Drawing :math:`k` codes gives the tighter importance-weighted bound (Burda et al., 2016)

.. math:: \log p_\theta(x) \ \ge\ \mathcal L_k(x) = \mathbb E\Big[\log \frac1k \sum_{i=1}^k
    \frac{p_\theta(x \mid z_i)\, p(z_i)}{q_\phi(z_i \mid x)}\Big],\qquad
    \mathcal L_1 = \mathrm{ELBO} \le \mathcal L_k \le \mathcal L_{k+1} \le \log p_\theta(x).

Layout: the networks, the two models, checkpoints, and ``fit_vae`` — the one training helper,
built on the shared machinery of :mod:`gan_course.loop` (progress bar, time budget, NaN guard).
The math (KL, reparameterization, likelihoods, log-mean-exp) lives in :mod:`gan_course.likelihoods`
and is importable from here::

    x, _ = data.mnist("train", source="bundled", binarize=True)
    vae = VAE(latent_dim=16)
    state = fit_vae(vae, x, steps=3000)
    vae.bits_per_dim(x_test), vae.bits_per_dim(x_test, k=100)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from gan_course import checkpoints, metrics
from gan_course.checkpoints import check_state_dict_matches
from gan_course.config import get_device
from gan_course.likelihoods import (bernoulli_log_likelihood, gaussian_kl, gaussian_log_likelihood, log_mean_exp,
                                    log_normal_diag, reparameterize)
from gan_course.loop import FitState, NonFiniteLossError, fit_model
from gan_course.validate import require_binary, require_choice, require_finite, require_int, require_positive_int

ARCHITECTURES = ("mlp", "conv")
LIKELIHOODS = ("bernoulli", "gaussian")
IMAGE_SHAPE = (1, 28, 28)
_LOG_STD_MIN = math.log(1e-2)  # a Gaussian decoder's sigma never goes below 0.01


def make_encoder(architecture: str, out_dim: int, hidden: int) -> nn.Module:
    """An image (B, 1, 28, 28) -> (B, out_dim) network: an MLP, or two strided convolutions."""
    d = int(np.prod(IMAGE_SHAPE))
    if architecture == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.ReLU(),
                             nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))
    c = max(hidden // 8, 8)  # channels of the first convolution
    return nn.Sequential(
        nn.Conv2d(1, c, 4, stride=2, padding=1), nn.ReLU(),  # (B, c, 14, 14)
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),  # (B, 2c, 7, 7)
        nn.Flatten(), nn.Linear(2 * c * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


def make_decoder(architecture: str, latent_dim: int, hidden: int) -> nn.Module:
    """A code (B, latent_dim) -> (B, 1, 28, 28) network giving one number per pixel (a logit or mean)."""
    d = int(np.prod(IMAGE_SHAPE))
    if architecture == "mlp":
        return nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                             nn.Linear(hidden, d), nn.Unflatten(1, IMAGE_SHAPE))
    c = max(hidden // 8, 8)
    return nn.Sequential(
        nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * c * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (2 * c, 7, 7)),  # (B, 2c, 7, 7)
        nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),  # (B, c, 14, 14)
        nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1))  # (B, 1, 28, 28)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class _ImageModel(nn.Module):
    """What the autoencoder and the VAE share: options, input checks, the decoder's likelihood."""

    def __init__(self, latent_dim: int, hidden: int, architecture: str, likelihood: str) -> None:
        super().__init__()
        self.latent_dim = require_positive_int("latent_dim", latent_dim)
        self.hidden = require_positive_int("hidden", hidden)
        self.architecture = require_choice("architecture", architecture, ARCHITECTURES)
        self.likelihood = require_choice("likelihood", likelihood, LIKELIHOODS)
        # the Gaussian decoder's one learned noise level log(sigma), shared by all pixels
        self.log_std = nn.Parameter(torch.zeros(())) if likelihood == "gaussian" else None

    @property
    def options(self) -> dict:
        """The constructor arguments (saved in checkpoints so ``load`` can rebuild the model)."""
        return {"latent_dim": self.latent_dim, "hidden": self.hidden,
                "architecture": self.architecture, "likelihood": self.likelihood}

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def check_images(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """Validate a batch of images (N, 1, 28, 28) (or (N, 784)) and move it to the model's device."""
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of images, got {type(x).__name__}")
        if x.ndim == 2 and x.shape[1] == int(np.prod(IMAGE_SHAPE)):
            x = x.reshape(-1, *IMAGE_SHAPE)  # (N, 1, 28, 28)
        if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE or x.shape[0] == 0:
            raise ValueError(f"{name} must have shape (N, 1, 28, 28) or (N, 784) with N > 0, got {tuple(x.shape)}")
        x = x.to(self.device, torch.float32)
        require_finite(x, name)
        if self.likelihood == "bernoulli":
            require_binary(x, name)
        return x

    def _decoder_log_likelihood(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """:math:`\\log p(x \\mid z)` from the decoder's raw output ``out`` (logits or means)."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, out)
        return gaussian_log_likelihood(x, torch.sigmoid(out), self.log_std.clamp_min(_LOG_STD_MIN))

    def _mean(self, out: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image in [0, 1]: pixel probabilities, or Gaussian means."""
        return torch.sigmoid(out)

    def save(self, path: str | os.PathLike, history: dict | None = None, fit: FitState | None = None) -> Path:
        """Write the weights and options atomically (read back with ``load_model``).

        With ``fit`` (a ``fit_vae`` result) the optimizer, minibatch order, noise stream, step and
        history are saved too, and ``load_fit`` continues the run exactly.
        """
        state = {"model_class": type(self).__name__, "options": self.options,
                 "model": self.state_dict(), "history": dict(fit.history) if fit else (history or {})}
        if fit is not None:
            state["fit"] = fit.state_dict()
        return checkpoints.save(path, "vae", state)


class Autoencoder(_ImageModel):
    r"""A deterministic autoencoder: an encoder :math:`z = f(x)` and a decoder :math:`\hat x = g(z)`.

    Trained to reconstruct, :math:`\min \mathbb E_x[-\log p(x \mid g(f(x)))]` (binary
    cross-entropy for ``likelihood="bernoulli"``). It learns a representation, but it is not a
    generative model: nothing says which codes :math:`z` are valid, so there is no :math:`p(x)`
    and no way to sample.

    Args:
        latent_dim: size of the code :math:`z`.
        hidden: width of the hidden layers.
        architecture: ``"mlp"`` or ``"conv"``.
        likelihood: ``"bernoulli"`` (binary images) or ``"gaussian"`` (grey images).
    """

    def __init__(self, latent_dim: int = 2, hidden: int = 256, architecture: str = "mlp",
                 likelihood: str = "bernoulli") -> None:
        super().__init__(latent_dim, hidden, architecture, likelihood)
        self.encoder = make_encoder(self.architecture, self.latent_dim, self.hidden)
        self.decoder = make_decoder(self.architecture, self.latent_dim, self.hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each image: (N, 1, 28, 28) -> (N, latent_dim)."""
        return self.encoder(self.check_images(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image for each code: (N, latent_dim) -> (N, 1, 28, 28) in [0, 1]."""
        return self._mean(self.decoder(_check_codes(z, self.latent_dim).to(self.device)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions (N, 1, 28, 28) in [0, 1]."""
        return self._mean(self.decoder(self.encode(x)))

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        """Mean reconstruction loss :math:`-\\log p(x\\mid g(f(x)))` per image (nats), and its parts."""
        rec = self._decoder_log_likelihood(x, self.decoder(self.encoder(x)))  # (B,)
        loss = -rec.mean()
        return loss, {"loss": loss.item(), "reconstruction": -rec.mean().item()}


class VAE(_ImageModel):
    r"""A variational autoencoder with a standard-normal prior and a diagonal Gaussian encoder.

    .. math:: p(z) = \mathcal N(0, I),\quad p_\theta(x\mid z) = \prod_j \mathrm{Bern}(x_j;\sigma(\ell_j(z)))
        \ \text{or}\ \mathcal N(x_j; \mu_j(z), \sigma^2),\quad
        q_\phi(z\mid x) = \mathcal N(\mu_\phi(x), \operatorname{diag}\sigma^2_\phi(x))

    Args:
        latent_dim: size of the code :math:`z`.
        hidden: width of the hidden layers.
        architecture: ``"mlp"`` or ``"conv"``.
        likelihood: ``"bernoulli"`` (binary images: bits/dim comparable with notebooks 02-03) or
            ``"gaussian"`` (grey images; its bits/dim is of a *density* over continuous pixels, not
            comparable with the Bernoulli models).
    """

    def __init__(self, latent_dim: int = 16, hidden: int = 256, architecture: str = "mlp",
                 likelihood: str = "bernoulli") -> None:
        super().__init__(latent_dim, hidden, architecture, likelihood)
        self.encoder = make_encoder(self.architecture, 2 * self.latent_dim, self.hidden)  # mu and logvar
        self.decoder = make_decoder(self.architecture, self.latent_dim, self.hidden)

    # ---- the two halves ------------------------------------------------------------------------

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)  # (B, d) each
        return mu, logvar.clamp(-12.0, 8.0)  # keeps exp(logvar) finite early in training

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's :math:`(\\mu, \\log\\sigma^2)` for each image, each (N, latent_dim)."""
        return self._encode(self.check_images(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean image for each code: (N, latent_dim) -> (N, 1, 28, 28) in [0, 1]."""
        return self._mean(self.decoder(_check_codes(z, self.latent_dim).to(self.device)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions (N, 1, 28, 28): the decoder's mean at the encoder's mean code."""
        mu, _ = self.encode(x)
        return self._mean(self.decoder(mu))

    # ---- the ELBO ------------------------------------------------------------------------------

    def elbo_terms(self, x: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        r"""The ELBO term by term, one value per image, with one reparameterized draw of :math:`z`.

        Returns:
            ``{"reconstruction": E_q[log p(x|z)], "kl": KL(q(z|x) || p(z)), "elbo": their difference}``,
            each (B,) in nats. ``x`` must already be checked (``check_images``).
        """
        mu, logvar = self._encode(x)  # (B, d)
        z = reparameterize(mu, logvar, generator=generator)  # (B, d)
        reconstruction = self._decoder_log_likelihood(x, self.decoder(z))  # (B,)
        kl = gaussian_kl(mu, logvar)  # (B,)
        return {"reconstruction": reconstruction, "kl": kl, "elbo": reconstruction - kl}

    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None,
             kl_weight: float = 1.0) -> tuple[torch.Tensor, dict]:
        r"""The training loss :math:`-\mathrm{ELBO}` averaged over the batch (nats per image).

        ``kl_weight`` < 1 is KL warm-up (a :math:`\beta` below one early in training); the values
        reported are always those of the true ELBO.
        """
        terms = self.elbo_terms(x, generator)
        rec, kl = terms["reconstruction"].mean(), terms["kl"].mean()
        loss = -(rec - kl_weight * kl)
        return loss, {"loss": (kl - rec).item(), "reconstruction": -rec.item(), "kl": kl.item()}

    @torch.no_grad()
    def log_weights(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Importance log-weights :math:`\log w_i = \log p(x\mid z_i) + \log p(z_i) - \log q(z_i\mid x)`.

        Args:
            x: (B, 1, 28, 28) checked images.
            k: codes drawn per image.

        Returns:
            (B, k) log-weights in nats.
        """
        mu, logvar = self._encode(x)  # (B, d)
        mu_k, logvar_k = mu.expand(k, *mu.shape), logvar.expand(k, *logvar.shape)  # (k, B, d)
        z = reparameterize(mu_k, logvar_k, generator=generator)  # (k, B, d)
        out = self.decoder(z.reshape(-1, self.latent_dim)).reshape(k, *x.shape)  # (k, B, 1, 28, 28)
        log_px_z = self._decoder_log_likelihood(x, out)  # (k, B)
        log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))  # (k, B)
        log_qz = log_normal_diag(z, mu_k, logvar_k)  # (k, B)
        return (log_px_z + log_pz - log_qz).T  # (B, k)

    @torch.no_grad()
    def log_prob_bound(self, x: torch.Tensor, k: int | None = None, seed: int = 0,
                       max_rows: int = 8192) -> torch.Tensor:
        r"""A lower bound on :math:`\log p(x)` for each image (nats).

        Args:
            x: (N, 1, 28, 28) images.
            k: None for the ELBO (closed-form KL, one draw of :math:`z`); an int for the
                importance-weighted bound :math:`\mathcal L_k` (log-mean-exp over k draws).
            seed: seeds the draws, so the same call gives the same number.
            max_rows: at most this many decoder passes at once (bounds the memory used).

        Returns:
            (N,) bounds; the mean over images is the number to report.
        """
        if k is not None:
            k = require_positive_int("k", k)
        max_rows = require_positive_int("max_rows", max_rows)
        x = self.check_images(x)
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        was_training = self.training
        self.eval()
        try:
            if k is None:
                chunks = [self.elbo_terms(xb, gen)["elbo"] for xb in x.split(max_rows)]
            else:
                chunks = [self._iw_bound(xb, k, gen, max_rows) for xb in x.split(max(1, max_rows // k))]
        finally:
            self.train(was_training)
        return torch.cat(chunks)  # (N,)

    def _iw_bound(self, x: torch.Tensor, k: int, gen: torch.Generator, max_rows: int) -> torch.Tensor:
        """:math:`\\mathcal L_k` for a batch, with the k draws split so no pass exceeds ``max_rows``."""
        per_pass = max(1, max_rows // x.shape[0])
        log_w = torch.cat([self.log_weights(x, min(per_pass, k - i), gen)
                           for i in range(0, k, per_pass)], dim=1)  # (B, k)
        return log_mean_exp(log_w, dim=1)  # (B,)

    def bits_per_dim(self, x: torch.Tensor, k: int | None = None, seed: int = 0) -> torch.Tensor:
        r"""Held-out bits per dimension from the ELBO (``k=None``) or from :math:`\mathcal L_k`.

        .. math:: \mathrm{bpd} = -\frac{\text{bound}}{D\ln 2} \ \ge\ -\frac{\log p(x)}{D \ln 2}

        A bound on log p(x) from below is a bound on bits/dim from above: the true value is lower.
        """
        return metrics.bits_per_dim(self.log_prob_bound(x, k=k, seed=seed), int(np.prod(IMAGE_SHAPE)))

    # ---- generation ----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, binary: bool = False) -> torch.Tensor:
        r"""``n`` new images: :math:`z \sim \mathcal N(0, I)`, then the decoder.

        Args:
            n: how many.
            seed: seeds the draws (None: the global torch stream).
            binary: False returns the decoder's mean (pixel probabilities, what papers show);
                True draws every pixel from its Bernoulli (only for the Bernoulli decoder).

        Returns:
            (n, 1, 28, 28) in [0, 1].
        """
        n = require_positive_int("n", n)
        gen = None if seed is None else torch.Generator(device=self.device).manual_seed(int(seed))
        z = torch.randn(n, self.latent_dim, generator=gen, device=self.device)  # (n, d)
        mean = self.decode(z)
        if not binary:
            return mean
        if self.likelihood != "bernoulli":
            raise ValueError("binary=True needs likelihood='bernoulli'; this VAE is Gaussian")
        return torch.bernoulli(mean, generator=gen)


def _check_codes(z: torch.Tensor, latent_dim: int) -> torch.Tensor:
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must be a tensor of shape (N, {latent_dim}) (latent_dim={latent_dim}), "
                         f"got {tuple(getattr(z, 'shape', ())) or type(z).__name__}")
    return z.float()


@torch.no_grad()
def interpolate(model: _ImageModel, x_start: torch.Tensor, x_end: torch.Tensor, steps: int = 10) -> torch.Tensor:
    r"""Decode the straight line between the codes of two images.

    .. math:: z_t = (1-t)\,z_{start} + t\,z_{end},\quad t \in \{0, \tfrac1{s-1}, \dots, 1\}

    Uses the encoder's mean for a VAE. Returns (steps, 1, 28, 28).
    """
    steps = require_positive_int("steps", steps)
    x = torch.cat([x_start.reshape(1, *IMAGE_SHAPE), x_end.reshape(1, *IMAGE_SHAPE)])  # (2, 1, 28, 28)
    z = model.encode(x)
    z = z[0] if isinstance(z, tuple) else z  # (2, d): a VAE gives (mu, logvar)
    t = torch.linspace(0, 1, steps, device=z.device)[:, None]  # (steps, 1)
    return model.decode((1 - t) * z[0] + t * z[1])  # (steps, 1, 28, 28)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> _ImageModel:
    """Rebuild an ``Autoencoder`` or ``VAE`` from a file written by ``model.save`` (safe load)."""
    return _load(path, device)[0]


def load_fit(path: str | os.PathLike, x: torch.Tensor,
             device: str | torch.device = "cpu") -> tuple[_ImageModel, FitState]:
    """Rebuild the model and its ``FitState`` from ``model.save(path, fit=state)``.

    ``fit_vae(model, x, steps=..., state=state)`` then continues exactly where the saved run
    stopped. ``x`` must be the training data of that run.
    """
    model, state = _load(path, device)
    if "fit" not in state:
        raise ValueError(f"{path} holds weights only; save with model.save(path, fit=state) to resume training")
    return model, FitState.restore(state["fit"], model, model.check_images(x), state["history"])


def _load(path: str | os.PathLike, device: str | torch.device) -> tuple[_ImageModel, dict]:
    state = checkpoints.load(path, "vae", map_location=get_device(device))
    classes = {"VAE": VAE, "Autoencoder": Autoencoder}
    cls = classes[require_choice("model_class", state.get("model_class"), tuple(classes))]
    model = cls(**state["options"]).to(get_device(device))
    check_state_dict_matches(model, state["model"], cls.__name__)
    model.load_state_dict(state["model"])
    return model, state


# --------------------------------------------------------------------------------------------
# Training: the shared minibatch loop of gan_course.loop, with the VAE's KL warm-up
# --------------------------------------------------------------------------------------------


def fit_vae(model: _ImageModel, x: torch.Tensor, steps: int | None = None, seconds: float | None = None,
            lr: float = 1e-3, batch_size: int | None = None, seed: int = 0, kl_warmup: int = 0,
            progress: bool = True, state: FitState | None = None, device: str | torch.device = "auto") -> FitState:
    r"""Train an ``Autoencoder`` or a ``VAE`` by Adam on minibatches of ``x``.

    Each step minimises the model's ``loss`` (reconstruction for the autoencoder,
    :math:`-\mathrm{ELBO}` for the VAE) through :func:`gan_course.loop.fit_model`: progress bar,
    time budget, the stop button leaves a consistent state, and a NaN loss stops training with
    the weights of the last good step.

    Args:
        model: the model to train; it is moved to ``device`` (and stays there).
        x: (N, 1, 28, 28) training images (binary for a Bernoulli decoder).
        steps, seconds: stop after this many updates or this much wall time (give one or both).
        lr: Adam's learning rate.
        batch_size: images per update, at most ``len(x)``; None: 128, or ``len(x)`` when smaller.
        seed: seeds the minibatch order and the reparameterization noise.
        kl_warmup: the VAE's KL weight rises linearly from 0 to 1 over this many steps (0: none).
        progress: show a progress bar.
        state: a previous call's result, to continue (same optimizer, order and noise).
        device: ``"auto"`` (a GPU when there is one), ``"cpu"``, ``"cuda"``, ... Ignored when
            continuing from ``state``: the model stays where its optimizer is.

    Returns:
        The ``FitState``; ``state.history`` holds one row per step.
    """
    if not isinstance(model, _ImageModel):
        raise ValueError(f"model must be an Autoencoder or a VAE, got {type(model).__name__}")
    kl_warmup = require_int("kl_warmup", kl_warmup, 0)
    if state is None:
        model.to(get_device(device))
    x = model.check_images(x)

    def kl_weight(step: int) -> dict:  # KL warm-up: a beta below one early in training
        if not isinstance(model, VAE):
            return {}
        return {"kl_weight": min(1.0, (step + 1) / kl_warmup) if kl_warmup else 1.0}

    return fit_model(model, x, steps, seconds, lr=lr, batch_size=batch_size, seed=seed, progress=progress,
                     state=state, loss_options=kl_weight)


@torch.no_grad()
def decode_grid(model: _ImageModel, n: int = 10, limit: float = 2.5) -> torch.Tensor:
    r"""Decode an n-by-n grid of codes :math:`z \in [-\mathrm{limit}, \mathrm{limit}]^2` (2-D latents only).

    Rows go down in :math:`z_2`, columns right in :math:`z_1`, so ``plots.show_images(ax, out, nrow=n)``
    draws the decoder's map of the latent plane. Returns (n*n, 1, 28, 28).
    """
    if model.latent_dim != 2:
        raise ValueError(f"decode_grid needs a model with latent_dim=2, got latent_dim={model.latent_dim}")
    n = require_positive_int("n", n)
    t = torch.linspace(-limit, limit, n, device=model.device)  # (n,)
    z2, z1 = torch.meshgrid(t.flip(0), t, indexing="ij")  # (n, n) each; top row is the largest z2
    return model.decode(torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1))  # (n*n, 1, 28, 28)


@dataclass(frozen=True)
class ImportanceWeighted:
    r"""A scoreboard row for a VAE scored by its k-sample bound :math:`\mathcal L_k` instead of the ELBO.

    ``density.scoreboard({"VAE (IW, k=100)": ImportanceWeighted(vae, 100)}, x_test)``.
    """

    model: VAE  # the trained VAE
    k: int = 100  # importance samples per image

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        """Bits/dim from :math:`\\mathcal L_k` (an upper bound on the true bits/dim)."""
        return self.model.bits_per_dim(x, k=self.k)


__all__ = ["Autoencoder", "VAE", "FitState", "fit_vae", "load_model", "load_fit", "interpolate", "decode_grid",
           "ImportanceWeighted", "make_encoder", "make_decoder", "ARCHITECTURES", "LIKELIHOODS", "NonFiniteLossError",
           # re-exported from gan_course.likelihoods, the math's home
           "gaussian_kl", "reparameterize", "log_normal_diag", "bernoulli_log_likelihood", "gaussian_log_likelihood",
           "log_mean_exp"]
