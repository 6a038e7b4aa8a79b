r"""Semi-supervised classification with a GAN's discriminator (Salimans et al., 2016).

The discriminator is a classifier with K logits :math:`\ell_1..\ell_K`; "fake" is an implicit
(K+1)-th class whose logit is fixed at 0, so

.. math:: p(y = k \mid x) = \frac{e^{\ell_k}}{Z(x) + 1},\qquad D(x) = \frac{Z(x)}{Z(x) + 1},
    \qquad Z(x) = \sum_{k=1}^K e^{\ell_k(x)} .

It learns from three streams at once: the few labelled digits (cross-entropy on the K classes),
the many unlabelled ones (they are *some* digit: :math:`-\log D(x)`) and the generator's fakes
(:math:`-\log(1 - D(G(z)))`). The generator is trained by *feature matching*: the mean of D's last
hidden features on fakes should match their mean on real digits. The unlabelled digits shape the
features the classifier reads, which is why 100 labels can be enough.

The networks are those of the paper's MNIST model, narrower (a 4,000-digit training set and a CPU
budget of minutes): an MLP discriminator with Gaussian noise on its input and hidden layers and
weight normalisation, an MLP generator with batch norm and a sigmoid output. The baseline is the
same discriminator trained on the labelled digits alone.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_course import app_runs, data, runs
from gan_course.loop import check_finite, fit_loop, make_optimizer, update_weight_average
from gan_course.validate import require_int

NUM_CLASSES = 10


# --------------------------------------------------------------------------------------------
# The losses (pure functions of logits and features)
# --------------------------------------------------------------------------------------------


def semi_supervised_d_loss(labelled_logits: torch.Tensor, y: torch.Tensor, unlabelled_logits: torch.Tensor,
                           fake_logits: torch.Tensor, unsupervised_weight: float = 1.0) -> torch.Tensor:
    r"""The discriminator's loss with K logits and an implicit fake class (Salimans et al., 2016).

    .. math:: \mathcal L_D = \underbrace{-\mathbb E_{x,y}\log\frac{e^{\ell_y}}{Z}}_{\text{labelled}}
        \;\underbrace{-\,\mathbb E_x \log\frac{Z(x)}{Z(x)+1}}_{\text{unlabelled: real}}
        \;\underbrace{-\,\mathbb E_z \log\frac{1}{Z(G(z))+1}}_{\text{fake}}
        = \mathrm{CE} + \mathbb E\operatorname{softplus}(-\log Z(x)) + \mathbb E\operatorname{softplus}(\log Z(G(z)))

    The labelled term is the cross-entropy over the K real classes (the paper's
    :math:`p(y \mid x, y < K+1)`). Computed from :math:`\log Z = \operatorname{logsumexp}(\ell)`, so
    it stays finite for any logits.

    Args:
        labelled_logits: (B_l, K) logits of labelled digits; y (B_l,) their labels.
        unlabelled_logits: (B_u, K) logits of unlabelled real digits.
        fake_logits: (B_f, K) logits of generated digits.
        unsupervised_weight: the weight of the two unsupervised terms (1 in the equation; the
            authors' MNIST code uses 1/2).

    >>> zeros = torch.zeros(2, 10)
    >>> round(semi_supervised_d_loss(zeros, torch.tensor([0, 1]), zeros, zeros).item(), 4)  # log 10 + log(1.1) + log 11
    4.7958
    """
    supervised = F.cross_entropy(labelled_logits, y)
    log_z_real = torch.logsumexp(unlabelled_logits, dim=1)  # (B_u,)
    log_z_fake = torch.logsumexp(fake_logits, dim=1)  # (B_f,)
    return supervised + unsupervised_weight * (F.softplus(-log_z_real).mean() + F.softplus(log_z_fake).mean())


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    r"""Feature matching (Salimans et al., 2016): :math:`\lVert \mathbb E_x f(x) - \mathbb E_z f(G(z)) \rVert_2^2`.

    The generator matches the mean of D's features on real digits instead of fooling D outright.

    >>> feature_matching_loss(torch.ones(4, 3), torch.zeros(5, 3)).item()
    3.0
    """
    return (real_features.mean(dim=0) - fake_features.mean(dim=0)).pow(2).sum()


# --------------------------------------------------------------------------------------------
# The networks
# --------------------------------------------------------------------------------------------


class GaussianNoise(nn.Module):
    """Add N(0, std^2) noise in training mode; nothing in eval mode."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


@dataclass(frozen=True)
class SemiSpec:
    """The two networks of the semi-supervised GAN (defaults: measured in benchmarks/bench_applications.py)."""

    widths: tuple[int, ...] = (1000, 500, 250, 250, 250)  # the discriminator's hidden layers (the paper's)
    input_noise: float = 0.3  # std of the noise on D's input (the paper: 0.3)
    hidden_noise: float = 0.5  # std of the noise on D's hidden layers (the paper: 0.5)
    latent_dim: int = 64  # size of z
    width_g: int = 500  # the generator's two hidden layers

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(require_int("widths", w) for w in self.widths))
        require_int("latent_dim", self.latent_dim)
        require_int("width_g", self.width_g)


class SemiDiscriminator(nn.Module):
    r"""An MLP classifier with K logits: noise, then weight-normalised layers with LeakyReLU.

    ``features(x)`` is the last hidden layer (what feature matching and retrieval read);
    ``forward(x)`` the K logits. Input (B, 1, 28, 28) in [0, 1].
    """

    def __init__(self, spec: SemiSpec = SemiSpec()) -> None:
        super().__init__()
        self.spec = spec
        wn = nn.utils.parametrizations.weight_norm
        layers: list[nn.Module] = [nn.Flatten(), GaussianNoise(spec.input_noise)]
        dims = (28 * 28, *spec.widths)
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [wn(nn.Linear(a, b)), nn.LeakyReLU(0.2), GaussianNoise(spec.hidden_noise)]
        self.body = nn.Sequential(*layers)
        self.head = wn(nn.Linear(dims[-1], NUM_CLASSES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, widths[-1])."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> logits (B, K)."""
        return self.head(self.features(x))


class SemiGenerator(nn.Module):
    """An MLP generator: z -> 2 x (linear, batch norm, softplus) -> 784 sigmoid, images in [0, 1]."""

    def __init__(self, spec: SemiSpec = SemiSpec()) -> None:
        super().__init__()
        self.latent_dim = spec.latent_dim
        w = spec.width_g
        self.net = nn.Sequential(nn.Linear(spec.latent_dim, w), nn.BatchNorm1d(w), nn.Softplus(),
                                 nn.Linear(w, w), nn.BatchNorm1d(w), nn.Softplus(),
                                 nn.utils.parametrizations.weight_norm(nn.Linear(w, 28 * 28)), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, 1, 28, 28) in [0, 1]."""
        return self.net(z).view(-1, 1, 28, 28)


# --------------------------------------------------------------------------------------------
# Labelled digits, and training
# --------------------------------------------------------------------------------------------


def choose_labelled(y: torch.Tensor, labels: int, seed: int) -> torch.Tensor:
    """Indices of ``labels`` digits, ``labels / 10`` of each class, chosen by ``seed``: (labels,).

    >>> choose_labelled(torch.arange(40) % 10, 20, seed=0).shape
    torch.Size([20])
    """
    if isinstance(labels, bool) or not isinstance(labels, (int, np.integer)) or labels <= 0 or labels % NUM_CLASSES:
        raise ValueError(f"labels must be a positive multiple of {NUM_CLASSES} (the same number per digit), got {labels!r}")
    per_class = labels // NUM_CLASSES
    smallest = min(int((y == k).sum()) for k in range(NUM_CLASSES))
    if per_class > smallest:
        raise ValueError(f"labels must be at most {NUM_CLASSES * smallest} for this training split "
                         f"({smallest} digits of the rarest class), got {labels}")
    gen = torch.Generator().manual_seed(int(seed))
    chosen = [torch.nonzero(y == k)[:, 0][torch.randperm(int((y == k).sum()), generator=gen)[:per_class]]
              for k in range(NUM_CLASSES)]
    return torch.cat(chosen)


@dataclass(frozen=True)
class SemiConfig:
    """How the semi-supervised GAN and its baseline train."""

    lr: float = 3e-3  # Adam's learning rate, both players (the paper's)
    unsupervised_weight: float = 0.5  # of the unlabelled and fake terms (the paper's MNIST code)
    batch_size: int = 100  # labelled, unlabelled and fake digits per step, each
    baseline_steps: int = 600  # updates of the labels-only baseline
    ema: float = 0.99  # the weight average of D that classifies (0: the last iterate)


class SemiSupervisedGAN:
    """The discriminator-classifier, its generator and their optimisers; ``step()`` is one update of each.

    Args:
        x_labelled, y_labelled: the labelled digits (L, 1, 28, 28) in [0, 1] and their labels (L,).
        x_unlabelled: the unlabelled digits (N, 1, 28, 28) in [0, 1].
        spec, config: the networks and the training settings.
        seed: seeds the weights, the minibatches and the noise.
    """

    def __init__(self, x_labelled: torch.Tensor, y_labelled: torch.Tensor, x_unlabelled: torch.Tensor,
                 spec: SemiSpec = SemiSpec(), config: SemiConfig = SemiConfig(), seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.spec, self.config = spec, config
        self.discriminator, self.generator = SemiDiscriminator(spec), SemiGenerator(spec)
        self.average = copy.deepcopy(self.discriminator).requires_grad_(False)
        betas = (0.5, 0.999)
        self.opt_d = make_optimizer("adam", self.discriminator.parameters(), config.lr, betas, torch.device("cpu"))
        self.opt_g = make_optimizer("adam", self.generator.parameters(), config.lr, betas, torch.device("cpu"))
        self.x_labelled, self.y_labelled, self.x_unlabelled = x_labelled, y_labelled, x_unlabelled
        self.gen = torch.Generator().manual_seed(seed)
        self.steps = 0
        self.history: dict[str, list[float]] = {"d_loss": [], "g_loss": []}

    def _rows(self, n: int) -> torch.Tensor:
        return torch.randint(n, (self.config.batch_size,), generator=self.gen)

    def step(self) -> None:
        """One discriminator update on a labelled, an unlabelled and a fake batch, then one
        generator update by feature matching."""
        b = self.config.batch_size
        rows = self._rows(len(self.x_labelled))
        xl, yl = self.x_labelled[rows], self.y_labelled[rows]  # (B, 1, 28, 28), (B,)
        xu = self.x_unlabelled[self._rows(len(self.x_unlabelled))]  # (B, 1, 28, 28)
        z = torch.randn(b, self.spec.latent_dim, generator=self.gen)
        # Train discriminator
        x_fake = self.generator(z)
        logits = self.discriminator(torch.cat([xl, xu, x_fake.detach()]))  # (3B, K): one pass, no batch norm in D
        d_loss = semi_supervised_d_loss(logits[:b], yl, logits[b:2 * b], logits[2 * b:], self.config.unsupervised_weight)
        check_finite({"d_loss": d_loss.item()}, self.steps + 1, hint=f"Lower lr (now {self.config.lr}).")
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        # Train generator: match the mean features of an unlabelled batch
        xu2 = self.x_unlabelled[self._rows(len(self.x_unlabelled))]
        self.discriminator.requires_grad_(False)
        try:
            both = self.discriminator.features(torch.cat([xu2, x_fake]))  # (2B, F)
            g_loss = feature_matching_loss(both[:b].detach(), both[b:])
            check_finite({"g_loss": g_loss.item()}, self.steps + 1, hint=f"Lower lr (now {self.config.lr}).")
            self.opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            self.opt_g.step()
        finally:
            self.discriminator.requires_grad_(True)
        update_weight_average(self.average, self.discriminator, self.config.ema, self.steps)
        self.steps += 1
        self.history["d_loss"].append(d_loss.item())
        self.history["g_loss"].append(g_loss.item())

    def fit(self, steps: int | None = None, seconds: float | None = None, progress: bool = False) -> bool:
        """``step()`` until ``steps`` or ``seconds`` run out; returns whether it was interrupted."""
        self.discriminator.train(), self.generator.train()
        last = lambda: {k: f"{v[-1]:.3f}" for k, v in self.history.items() if v}  # noqa: E731
        _, interrupted = fit_loop(self.step, steps, seconds, progress, desc="semi-supervised GAN", postfix=last)
        return interrupted

    @property
    def classifier(self) -> SemiDiscriminator:
        """The discriminator that classifies: the weight average when ``ema > 0``, in eval mode."""
        return (self.average if self.config.ema > 0 else self.discriminator).eval()


def train_supervised(model: SemiDiscriminator, x: torch.Tensor, y: torch.Tensor, steps: int | None,
                     seconds: float | None, lr: float = 1e-3, batch_size: int = 100, seed: int = 0,
                     progress: bool = False) -> SemiDiscriminator:
    """The baseline: ``model`` trained by cross-entropy on the labelled digits alone (its noise
    layers regularise it as they do in the GAN). Returns the model in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer("adam", model.parameters(), lr, (0.5, 0.999), torch.device("cpu"))
    model.train()
    done = [0]

    def one_step() -> None:
        rows = torch.randint(len(x), (batch_size,), generator=gen)
        loss = F.cross_entropy(model(x[rows]), y[rows])
        check_finite({"loss": loss.item()}, done[0] + 1, hint=f"Lower lr (now {lr}).")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done[0] += 1

    fit_loop(one_step, steps, seconds, progress, desc="labels only")
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The predicted digit of each image (N,), in eval mode."""
    model.eval()
    return torch.cat([model(xb).argmax(dim=1) for xb in x.split(batch_size)])


# --------------------------------------------------------------------------------------------
# The command line: train semi, sample
# --------------------------------------------------------------------------------------------


def train_semi(out: str | Path, minutes: float = 5.0, seed: int = 0, progress: bool = False, labels: int = 100,
               write_grid: app_runs.WriteGrid | None = None, command: str = "", steps: int | None = None,
               spec: SemiSpec = SemiSpec(), config: SemiConfig = SemiConfig()) -> dict:
    """Train the baseline (labels only) and the semi-supervised GAN on the bundled train split and
    write ``out/``: ``metrics.json`` (``test_accuracy``, ``baseline_accuracy``, ``labels``, steps,
    seconds), ``test_predictions.npy`` (int64 (1000,), the GAN's prediction of each test digit in
    the split's order), ``weights.pt`` and, with ``write_grid``, ``grid.png`` (100 generated digits).

    The baseline gets ``config.baseline_steps`` updates or a tenth of the budget, whichever ends
    first; the GAN the rest (or exactly ``steps`` updates, ``minutes`` then only capping the run,
    see ``app_runs.Budget``). The unlabelled stream is every training digit with its label hidden
    (the labelled ones too, as in Salimans et al.'s code). Returns the metrics dict.
    """
    seconds, seed, progress = app_runs.check_run(minutes, seed, progress)
    out = Path(out)
    x, y = data.mnist("train", source="bundled")  # (4000, 1, 28, 28), (4000,)
    labelled = choose_labelled(y, labels, seed)  # checks labels before any work
    x_test, y_test = data.mnist("test", source="bundled")
    budget = app_runs.Budget(seconds, steps, config.baseline_steps)
    torch.manual_seed(seed)
    baseline = train_supervised(SemiDiscriminator(spec), x[labelled], y[labelled],
                                *budget.baseline(0.1, config.baseline_steps, config.baseline_steps),
                                config.lr, config.batch_size, seed, progress)
    baseline_accuracy = float((predict(baseline, x_test) == y_test).double().mean())
    model = SemiSupervisedGAN(x[labelled], y[labelled], x, spec, config, seed)
    interrupted = model.fit(*budget.gan(), progress=progress)
    predictions = predict(model.classifier, x_test)  # (1000,)
    result = {"kind": "semi", "labels": labels, "test_accuracy": float((predictions == y_test).double().mean()),
              "baseline_accuracy": baseline_accuracy, "steps": model.steps, "seed": seed,
              **budget.report(), "interrupted": interrupted}
    app_runs.write_npy(out / "test_predictions.npy", predictions.numpy().astype(np.int64))
    app_runs.save_weights(out / "weights.pt", "semi", {
        "spec": asdict(spec), "config": asdict(config), "seed": seed, "labels": labels, "steps": model.steps,
        "command": command, "test_accuracy": result["test_accuracy"], "baseline_accuracy": baseline_accuracy,
        "headline": f"test accuracy {result['test_accuracy']:.3f}, labels only {baseline_accuracy:.3f}",
        "discriminator": app_runs.half(model.classifier), "generator": app_runs.half(model.generator)})
    if write_grid is not None:
        write_grid(out / "grid.png", generate(model.generator, 100, seed))
    runs.write_json(out / "metrics.json", result)
    return result


@torch.no_grad()
def generate(generator: SemiGenerator, n: int, seed: int) -> torch.Tensor:
    """``n`` samples (n, 1, 28, 28) in [0, 1] from fixed noise, batch norm in eval mode."""
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    return generator.eval()(z)


def load(weights_path: str | Path) -> tuple[SemiDiscriminator, SemiGenerator, dict]:
    """The classifier and the generator of a ``train semi`` run (eval mode), and the payload."""
    payload = app_runs.load_weights(weights_path, "semi")
    spec = SemiSpec(**{**payload["spec"], "widths": tuple(payload["spec"]["widths"])})
    d = app_runs.load_state(SemiDiscriminator(spec), payload["discriminator"], "semi-supervised discriminator")
    g = app_runs.load_state(SemiGenerator(spec), payload["generator"], "semi-supervised generator")
    return d, g, payload


def sample_semi(weights_path: str | Path, n: int, seed: int = 0, digit: int | None = None, prompt: str | None = None,
                attribute: float | None = None) -> np.ndarray:
    """``n`` digits (uint8 (n, 28, 28)) from the semi-supervised GAN's generator; with ``digit``,
    only samples its own discriminator classifies as that digit (drawn until there are n)."""
    n, seed = app_runs.check_sample(n, seed)
    digit = app_runs.check_digit(digit)
    app_runs.refuse("semi", prompt=prompt, attribute=attribute)
    d, g, _ = load(weights_path)
    if digit is None:
        return app_runs.to_uint8(generate(g, n, seed))
    kept, tries = [], 0
    while sum(len(k) for k in kept) < n:
        tries += 1
        if tries > 50:
            raise ValueError(f"digit={digit}: fewer than {n} of {50 * max(n, 100)} samples were classified as {digit}")
        x = generate(g, max(n, 100), seed + tries)
        kept.append(x[predict(d, x) == digit])
    return app_runs.to_uint8(torch.cat(kept)[:n])
