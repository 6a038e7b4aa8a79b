r"""StyleGAN in miniature: a mapping network, styles injected at 7x7, 14x14 and 28x28, per-layer
noise, style mixing, and truncation (Karras, Laine & Aila, 2019, *A Style-Based Generator
Architecture for Generative Adversarial Networks*).

The generator does not read z at its input. A mapping network turns it into a style vector,
:math:`w = f(z)`; the synthesis network starts from a *learned constant* 7x7 map and, after every
convolution, adds per-pixel noise and re-styles each feature map with adaptive instance
normalisation,

.. math:: \mathrm{AdaIN}(h, w) = \gamma(w)\,\frac{h - \mu(h)}{\sigma(h)} + \beta(w),

with :math:`(\gamma, \beta)` an affine map of :math:`w`, one per layer. Each layer can be given
its own :math:`w`: *style mixing* takes the early (coarse, 7x7) layers' styles from one sample
and the late (fine, 28x28) ones from another. The discriminator is the DCGAN one, and
``GANTrainer`` trains the pair as it trains every GAN of the course.

What it takes to train on a CPU budget (12 processor-minutes, ``benchmarks/RESULTS.md``): the
mapping network learning at 0.01x the rate through equalized layers, the paper's Adam (lr 2e-3,
betas (0, 0.99)) and a minibatch standard-deviation feature in the discriminator (Karras et al.,
2018). Without the last two, every run collapsed to one to three images.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_course import checkpoints, classifier, data, recipes, runs
from gan_course.config import weights_path
from gan_course.loop import NonFiniteLossError
from gan_course.nets import DCGANDiscriminator
from gan_course.specs import TrainerConfig
from gan_course.train import GANTrainer
from gan_course.validate import require_budget, require_in_range, require_int, require_positive_int

KIND = "stylegan"
CHECKPOINT_KIND = "stylegan_weights"

RESOLUTIONS = (7, 7, 14, 14, 28, 28)  # the resolution of each styled layer, two per scale


class EqualizedLinear(nn.Module):
    r"""A linear layer whose effective learning rate is ``lr_mul`` times the optimiser's (Karras et
    al., 2018 and 2019): the stored weight :math:`V \sim \mathcal N(0, 1/\text{lr\_mul}^2)` is used
    as :math:`W = c\,V` with :math:`c = \text{gain}\cdot\text{lr\_mul}/\sqrt{\text{fan-in}}`. Adam's
    step does not depend on the gradient's scale, so every step moves :math:`V` by about the
    learning rate and :math:`W` by ``lr_mul`` times it."""

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 1.0, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale, self.lr_mul = gain * lr_mul / in_features ** 0.5, lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class MappingNetwork(nn.Module):
    r""":math:`w = f(z)`: an MLP of ``depth`` LeakyReLU layers after normalising z to the sphere,
    learning at ``lr_mul`` (0.01) times the rate of the rest, as in StyleGAN: a mapping that moves
    fast collapses every z onto a few styles."""

    def __init__(self, latent_dim: int, w_dim: int, depth: int = 4, lr_mul: float = 0.01) -> None:
        super().__init__()
        dims = [latent_dim] + [w_dim] * depth
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):  # He's gain: w keeps a unit scale through the depth
            layers += [EqualizedLinear(a, b, lr_mul, gain=(2 / (1 + 0.2**2)) ** 0.5), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)  # pixel norm: |z| = sqrt(d)
        return self.net(z)  # (B, w_dim)


class StyleLayer(nn.Module):
    r"""3x3 convolution, per-pixel noise scaled per channel, LeakyReLU, then AdaIN with the style w."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.noise_weight = nn.Parameter(torch.zeros(1, out_channels, 1, 1))  # learned strength of the noise
        self.style = nn.Linear(w_dim, 2 * out_channels)  # w -> (gamma, beta)
        nn.init.normal_(self.style.weight, std=w_dim ** -0.5)  # styles that differ from the start
        with torch.no_grad():  # centred on the identity style: gamma = 1, beta = 0
            self.style.bias.copy_(torch.cat([torch.ones(out_channels), torch.zeros(out_channels)]))
        self.register_buffer("fixed_noise", torch.randn(1, 1, size, size))  # the noise map in eval mode

    def forward(self, h: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        h = self.conv(h)
        if noise is None:
            noise = self.fixed_noise if not self.training else torch.randn(len(h), 1, *h.shape[2:], device=h.device)
        h = F.leaky_relu(h + self.noise_weight * noise, 0.2)
        gamma, beta = self.style(w)[:, :, None, None].chunk(2, dim=1)  # (B, C, 1, 1) each
        return gamma * F.instance_norm(h) + beta


class StyleGenerator(nn.Module):
    r"""A style-based generator for 28x28 digits: :math:`z \to w`, then a constant 7x7 map styled
    by six ``StyleLayer`` (two at each of 7x7, 14x14, 28x28), then a 1x1 convolution and tanh.

    Args:
        latent_dim: size of z.
        w_dim: size of w.
        channels: feature maps at 7x7, 14x14 and 28x28.
        mixing: in training, the probability that a batch mixes two styles at a random layer
            (the mixing regularisation of Karras et al.), so neighbouring layers do not rely on
            sharing one w.

    >>> StyleGenerator()(torch.zeros(2, 32)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, latent_dim: int = 32, w_dim: int = 64, channels: tuple[int, int, int] = (64, 32, 16),
                 mixing: float = 0.5) -> None:
        super().__init__()
        self.latent_dim = require_int("latent_dim", latent_dim)
        self.w_dim = require_int("w_dim", w_dim)
        self.mixing = require_in_range("mixing", mixing, 0, 1)
        c7, c14, c28 = (require_int("channels", c) for c in channels)
        self.options = {"latent_dim": self.latent_dim, "w_dim": self.w_dim, "channels": [c7, c14, c28],
                        "mixing": self.mixing}  # what rebuilds it from a weights file
        self.mapping = MappingNetwork(latent_dim, w_dim)
        self.const = nn.Parameter(torch.randn(1, c7, 7, 7))
        self.layers = nn.ModuleList([StyleLayer(c7, c7, w_dim, 7), StyleLayer(c7, c7, w_dim, 7),
                                     StyleLayer(c7, c14, w_dim, 14), StyleLayer(c14, c14, w_dim, 14),
                                     StyleLayer(c14, c28, w_dim, 28), StyleLayer(c28, c28, w_dim, 28)])
        self.to_image = nn.Conv2d(c28, 1, 1)
        self.register_buffer("w_mean", torch.zeros(w_dim))  # the average w (for truncation), tracked in training
        self._mix_gen = torch.Generator().manual_seed(0)  # where mixing regularisation draws its coins

    @property
    def num_styles(self) -> int:
        return len(self.layers)

    def synthesize(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Images from one style per layer, ``ws`` (B, num_styles, w_dim); ``noise`` optional per layer."""
        if ws.ndim != 3 or ws.shape[1:] != (self.num_styles, self.w_dim):
            raise ValueError(f"ws must have shape (B, {self.num_styles}, {self.w_dim}), got {tuple(ws.shape)}")
        h = self.const.expand(len(ws), -1, -1, -1)  # (B, c7, 7, 7)
        for i, layer in enumerate(self.layers):
            if i in (2, 4):
                h = F.interpolate(h, scale_factor=2, mode="nearest")  # 7 -> 14 -> 28
            h = layer(h, ws[:, i], None if noise is None else noise[i])
        return torch.tanh(self.to_image(h))  # (B, 1, 28, 28)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("this StyleGAN is unconditional; it takes no labels y")
        w = self.mapping(z)  # (B, w_dim)
        ws = w[:, None].expand(-1, self.num_styles, -1)  # (B, L, w_dim): one w for every layer
        if self.training:
            with torch.no_grad():
                self.w_mean.lerp_(w.detach().float().mean(0), 0.01)
            if self.mixing > 0 and float(torch.rand((), generator=self._mix_gen)) < self.mixing:
                other = self.mapping(z.roll(1, dims=0))  # another sample's w
                cut = int(torch.randint(1, self.num_styles, (), generator=self._mix_gen))
                ws = torch.cat([ws[:, :cut], other[:, None].expand(-1, self.num_styles - cut, -1)], dim=1)
        return self.synthesize(ws)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, truncation: float = 1.0) -> tuple[torch.Tensor, None]:
        """``n`` digits in [-1, 1] (n, 1, 28, 28) from seeded z, one w for every layer, truncated by
        ``truncation`` (1: none); in eval mode (the fixed noise maps). ``None`` stands where a
        conditional model returns the labels."""
        z = torch.randn(require_positive_int("n", n), self.latent_dim, generator=torch.Generator().manual_seed(int(seed)))
        was_training = self.training
        self.eval()
        try:
            w = self.styles(z, truncation)  # (n, w_dim)
            return self.synthesize(w[:, None].expand(-1, self.num_styles, -1)), None
        finally:
            self.train(was_training)

    @torch.no_grad()
    def styles(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        r""":math:`w` for each z (B, w_dim), truncated towards the mean: :math:`\bar w + \psi (w - \bar w)`."""
        psi = require_in_range("truncation", truncation, 0, 1)
        return self.w_mean + psi * (self.mapping(z) - self.w_mean)

    @torch.no_grad()
    def mix(self, w_coarse: torch.Tensor, w_fine: torch.Tensor, crossover: int = 2) -> torch.Tensor:
        """Images with the styles of layers < ``crossover`` from ``w_coarse`` and the rest from
        ``w_fine`` (both (B, w_dim)). crossover 2: 7x7 from one, 14x14 and 28x28 from the other."""
        crossover = require_int("crossover", crossover, 0, self.num_styles)
        ws = torch.stack([w_coarse if i < crossover else w_fine for i in range(self.num_styles)], dim=1)
        return self.synthesize(ws)  # (B, 1, 28, 28)


class MinibatchStdDiscriminator(nn.Module):
    r"""The DCGAN discriminator with a minibatch standard-deviation feature (Karras et al., 2018,
    *Progressive Growing of GANs*): the features of each group of ``group`` consecutive images get
    one more number, the standard deviation of the features over the group averaged over the
    features. A generator that draws the same image again and again gives a group spread near 0,
    which real digits never have, so the discriminator can see collapse directly.

    Groups are consecutive images: the trainer passes real and fake images in one batch, one half
    each, and a group must not mix the two.
    """

    def __init__(self, width: int = 32, group: int = 4) -> None:
        super().__init__()
        self.body = DCGANDiscriminator(width=width)
        self.group = require_int("group", group)
        self.head = nn.Linear(self.body.head.in_features + 1, 1)
        self.body.head = nn.Identity()  # its features go to self.head, with the spread beside them

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x, y)  # (B, F): the body's features (its head is the identity)
        g = math.gcd(self.group, len(h))
        var = h.view(-1, g, h.shape[1]).var(dim=1, unbiased=False)  # (B / g, F)
        spread = (var + 1e-8).sqrt().mean(dim=1)  # (B / g,); the 1e-8 keeps the gradient finite at 0
        feature = spread.repeat_interleave(g)[:, None]  # (B, 1)
        return self.head(torch.cat([h, feature], dim=1)).squeeze(1)  # (B,)


# the trainer's settings: the paper's Adam (lr 2e-3, betas (0, 0.99)), a weight average and a
# small R1 penalty (gamma 0.1 here; 10 at the paper's scale). With the DCGAN recipe's Adam (lr 8e-4,
# betas (0.5, 0.999)) and no minibatch spread in D, every 12-minute run collapsed (RESULTS.md)
STYLE_TRAINER = TrainerConfig(lr_d=2e-3, lr_g=2e-3, betas=(0.0, 0.99), ema=0.999, r1_weight=0.1)


def style_trainer(seed: int = 0, device: str = "cpu", config: TrainerConfig = STYLE_TRAINER,
                  **generator_options) -> GANTrainer:
    """A ``GANTrainer`` for a ``StyleGenerator`` against the DCGAN discriminator (width 32) with a
    minibatch standard-deviation feature, on the bundled train digits in [-1, 1]."""
    x, _ = data.mnist("train", source="bundled")
    torch.manual_seed(seed)
    generator = StyleGenerator(**generator_options)
    discriminator = MinibatchStdDiscriminator(width=32)
    return GANTrainer(generator, discriminator, recipes.to_gan_range(x),
                      config=dataclasses.replace(config, seed=seed, device=device))


# --------------------------------------------------------------------------------------------
# Weights and runs
# --------------------------------------------------------------------------------------------


def pretrained_path() -> Path:
    """Where the shipped weights are read from: ``assets/models/stylegan_mnist.pt``, or the folder
    ``GAN_COURSE_WEIGHTS`` names (``config.weights_path``)."""
    return weights_path(f"{KIND}_mnist.pt")


def save(trainer: GANTrainer, path: str | os.PathLike, seed: int = 0, command: str = "") -> Path:
    """The sampling generator (the weight average) in fp16, its options, the history and the
    provenance, as a ``"stylegan_weights"`` checkpoint."""
    g = trainer.sampling_generator
    payload = {"kind": KIND, "options": g.options, "seed": seed, "command": command, "torch": str(torch.__version__),
               "steps": trainer.global_step, "seconds": round(trainer.elapsed, 1),
               "generator": {k: v.half() if v.is_floating_point() else v for k, v in g.state_dict().items()},
               "history": {k: torch.tensor(v, dtype=torch.float32) for k, v in trainer.history.items()}}
    return checkpoints.save(path, CHECKPOINT_KIND, payload)


@torch.no_grad()
def load(path: str | os.PathLike | None = None) -> StyleGenerator:
    """The generator in a weights file (default: the shipped one), in eval mode on the CPU, with
    its mean style :math:`\bar w` measured on 10,000 draws of z (what truncation pulls towards).
    A file of another kind is refused."""
    path = Path(path) if path is not None else pretrained_path()
    state = checkpoints.load_weights(path, CHECKPOINT_KIND, KIND, remedy=f"make it with: python -m gan_course "
                                     f"train {KIND} --minutes 10 --seed 0 --out runs/{KIND}")
    options = dict(state["options"])
    generator = StyleGenerator(**{**options, "channels": tuple(options["channels"])})
    generator.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["generator"].items()})
    generator.eval()
    z = torch.randn(10_000, generator.latent_dim, generator=torch.Generator().manual_seed(0))
    generator.w_mean.copy_(generator.mapping(z).mean(0))
    generator.steps, generator.history = int(state["steps"]), state["history"]
    return generator


def train_stylegan(out: str | os.PathLike, minutes: float | None = 10.0, seed: int = 0, progress: bool = True,
                   steps: int | None = None, command: str = "") -> dict:
    """Train the miniature StyleGAN for ``minutes`` (or ``steps``) and write ``out/`` as
    ``train dcgan`` does: ``samples.npy`` (uint8 (1000, 28, 28)), ``metrics.json`` (every metric
    beside its real reference) and ``weights.pt``. Returns what ``metrics.json`` holds."""
    require_budget(steps, minutes, "minutes")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    trainer = style_trainer(seed)
    stopped = None
    try:
        trainer.fit(steps=steps, seconds=None if minutes is None else 60 * minutes, progress=progress)
    except NonFiniteLossError as error:
        stopped = str(error)
    x_fake, _ = recipes.sample_images(trainer, recipes.NUM_SAMPLES, seed=seed)
    np.save(out / "samples.npy", recipes.to_uint8(x_fake))
    save(trainer, out / "weights.pt", seed, command)
    result = {"kind": KIND, "seed": seed, "steps": trainer.global_step,
              "seconds": round(time.perf_counter() - start, 1), "train_seconds": round(trainer.elapsed, 1),
              "interrupted": trainer.interrupted, **({"stopped": stopped} if stopped else {}),
              "metrics": classifier.evaluate_images(x_fake, value_range=(-1, 1))}
    runs.write_json(out / "metrics.json", result)
    return result


@torch.no_grad()
def mixing_study(generator: StyleGenerator, model: classifier.MNISTClassifier, n: int = 500, crossover: int = 2,
                 seed: int = 0) -> dict[str, float]:
    r"""Which source each trait of a mixed digit follows, measured on ``n`` pairs (A, B) of styles:
    the mix takes layers < ``crossover`` (coarse) from A and the rest (fine) from B.

    Returns the share of mixes the classifier reads as A's digit and as B's digit (``digit_coarse``,
    ``digit_fine``), and the Pearson correlation of the mix's stroke width with A's and with B's
    (``width_coarse``, ``width_fine``). "Identity follows the coarse source" means
    digit_coarse > digit_fine; "thickness follows the fine one" means width_fine > width_coarse.
    """
    n = require_positive_int("n", n)
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(2, n, generator.latent_dim, generator=gen)  # (2, n, latent)
    w_a, w_b = generator.mapping(z[0]), generator.mapping(z[1])  # (n, w_dim) each
    one = lambda w: w[:, None].expand(-1, generator.num_styles, -1)  # noqa: E731  (n, L, w_dim)
    images = [(generator.synthesize(ws) + 1) / 2 for ws in (one(w_a), one(w_b))]  # A and B alone, in [0, 1]
    mixed = (generator.mix(w_a, w_b, crossover) + 1) / 2
    digit_a, digit_b, digit_mix = (classifier.predict(model, x)[0].argmax(1) for x in (*images, mixed))
    width_a, width_b, width_mix = (stroke_width(x).double() for x in (*images, mixed))
    corr = lambda u, v: float(torch.corrcoef(torch.stack([u, v]))[0, 1])  # noqa: E731
    return {"digit_coarse": float((digit_mix == digit_a).double().mean()),
            "digit_fine": float((digit_mix == digit_b).double().mean()),
            "width_coarse": corr(width_mix, width_a), "width_fine": corr(width_mix, width_b), "n": n}


# --------------------------------------------------------------------------------------------
# Measuring a style: stroke width
# --------------------------------------------------------------------------------------------


def stroke_width(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    r"""The mean stroke width of each digit, in pixels: :math:`2A / P` for a binarised image of area
    A (pixels on) and perimeter P (edges between a pixel on and a 4-neighbour off). A stroke of
    length L and width w has :math:`A = Lw` and :math:`P = 2(L + w)`, so :math:`2A/P \approx w`.

    Args:
        x: (N, 1, H, W) images in [0, 1].

    Returns:
        (N,) widths (0 for an empty image).

    >>> img = torch.zeros(1, 1, 28, 28); img[0, 0, 4:24, 10:13] = 1   # a bar 20 x 3
    >>> round(float(stroke_width(img)[0]), 2)   # 2 * 60 / 46
    2.61
    """
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"x must have shape (N, 1, H, W), got {tuple(x.shape)}")
    on = (x > threshold).float()  # (N, 1, H, W)
    padded = F.pad(on, (1, 1, 1, 1))  # (N, 1, H+2, W+2): off outside the image
    neighbours = (padded[..., 1:-1, 2:] + padded[..., 1:-1, :-2] + padded[..., 2:, 1:-1]
                  + padded[..., :-2, 1:-1])  # (N, 1, H, W): 4-neighbours on
    area = on.sum(dim=(1, 2, 3))  # (N,)
    perimeter = (on * (4 - neighbours)).sum(dim=(1, 2, 3))  # edges from a pixel on to one off
    return torch.where(perimeter > 0, 2 * area / perimeter.clamp_min(1), torch.zeros_like(area))
