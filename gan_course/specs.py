"""What a GAN run is made of, as frozen dataclasses: the two networks' spec and the trainer's config.

A recipe (``recipes.ToyRecipe``, ``recipes.ImageRecipe``) composes one network spec with one
``TrainerConfig``; nothing else describes a run. Each dataclass checks and normalises its
fields when it is made (a NumPy integer becomes an int), so one that exists is valid, and
``dataclasses.replace`` (or ``recipe.replace``) varies it::

    net = MLPSpec(latent_dim=2, width=128, depth=3, pack=2)
    config = TrainerConfig(lr_d=5e-4, lr_g=5e-4, batch_size=256, lr_decay=0.5)
    generator, discriminator = net.build(data_dim=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gan_course.loop import OPTIMIZERS
from gan_course.losses import LOSS_NAMES
from gan_course.nets import CONDITIONING, UPSAMPLING, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gan_course.validate import (require_choice, require_in_range, require_int, require_nonnegative_number,
                                 require_positive_int, require_positive_number, require_seed)


# --------------------------------------------------------------------------------------------
# Noise, and the two networks
# --------------------------------------------------------------------------------------------

NOISE = ("gaussian", "uniform")  # the latent distributions the toy GANs know


def gaussian_latent(latent_dim: int) -> Callable[[int, torch.Generator], torch.Tensor]:
    r"""The default latent sampler :math:`z \sim \mathcal N(0, I_{latent\_dim})`."""
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, latent_dim, generator=generator, device=generator.device)
    return sample


def latent_sampler(noise: str, latent_dim: int) -> Callable[[int, torch.Generator], torch.Tensor]:
    r"""z ~ N(0, I) (``"gaussian"``) or z ~ U[-1, 1]^latent_dim (``"uniform"``): ``f(n, generator) -> z``."""
    if require_choice("noise", noise, NOISE) == "gaussian":
        return gaussian_latent(latent_dim)
    return lambda n, gen: 2 * torch.rand(n, latent_dim, generator=gen, device=gen.device) - 1


@dataclass(frozen=True)
class MLPSpec:
    """Both players of a toy GAN: MLPs of the same width and depth (notebooks 05-06)."""

    latent_dim: int = 1  # size of z
    width: int = 64  # hidden units per layer, both players
    depth: int = 2  # hidden layers, both players
    noise: str = "gaussian"  # the latent distribution, one of NOISE
    spectral_norm: bool = False  # spectral normalisation of the discriminator's layers
    pack: int = 1  # PacGAN: samples the discriminator sees at once

    def __post_init__(self) -> None:
        for name, minimum in (("latent_dim", 1), ("width", 1), ("depth", 0), ("pack", 1)):
            object.__setattr__(self, name, require_int(name, getattr(self, name), minimum))
        require_choice("noise", self.noise, NOISE)

    def build(self, data_dim: int) -> tuple[MLPGenerator, MLPDiscriminator]:
        """``(generator, discriminator)`` for samples of ``data_dim`` numbers (weights from the
        current torch seed, the generator's first)."""
        generator = MLPGenerator(self.latent_dim, data_dim, self.width, self.depth)
        discriminator = MLPDiscriminator(data_dim, self.width, self.depth, spectral_norm=self.spectral_norm,
                                         pack=self.pack)
        return generator, discriminator

    def latent_sampler(self) -> Callable[[int, torch.Generator], torch.Tensor]:
        """The sampler of z this spec's generator reads."""
        return latent_sampler(self.noise, self.latent_dim)


@dataclass(frozen=True)
class DCGANSpec:
    """Both players of an image GAN on 28x28 digits (notebooks 07-09)."""

    latent_dim: int = 64  # size of z
    width_g: int = 64  # generator channels (DCGANGenerator width)
    width_d: int = 64  # discriminator channels (DCGANDiscriminator width)
    conditional: bool = False  # feed the digit label to both players
    conditioning: str = "concat"  # how D reads the label: "concat" (an input plane) or "projection"
    spectral_norm: bool = False  # spectral norm on D's layers
    upsample: str = "transposed"  # "transposed" (DCGAN) or "resize" (no checkerboard)

    def __post_init__(self) -> None:
        for name in ("latent_dim", "width_g", "width_d"):
            object.__setattr__(self, name, require_int(name, getattr(self, name)))
        require_choice("conditioning", self.conditioning, CONDITIONING)
        require_choice("upsample", self.upsample, UPSAMPLING)

    @property
    def num_classes(self) -> int | None:
        """10 for a conditional model, else None."""
        return 10 if self.conditional else None

    def build(self) -> tuple[DCGANGenerator, DCGANDiscriminator]:
        """``(generator, discriminator)`` (weights from the current torch seed, the generator's first)."""
        generator = DCGANGenerator(self.latent_dim, self.width_g, self.num_classes, upsample=self.upsample)
        discriminator = DCGANDiscriminator(self.width_d, self.num_classes, self.conditioning,
                                           spectral_norm=self.spectral_norm)
        return generator, discriminator


# --------------------------------------------------------------------------------------------
# The trainer's hyperparameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainerConfig:
    """Hyperparameters of a GAN run (vary them with ``dataclasses.replace``).

    Numbers are checked and normalised on creation (a NumPy integer becomes an int, betas a
    tuple), so a config that exists is a valid one.
    """

    loss: str = "nonsaturating"  # a name in losses.LOSS_NAMES, or "custom" for a pair of functions
    d_steps: int = 1  # discriminator updates per generator update (k in Goodfellow et al.)
    lr_d: float = 2e-4  # discriminator learning rate (2e-4: Radford et al., 2016)
    lr_g: float = 2e-4  # generator learning rate
    optimizer_d: str = "adam"  # the discriminator's optimizer, one of loop.OPTIMIZERS
    optimizer_g: str = "adam"  # the generator's optimizer
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's (beta1, beta2); beta1=0.5 as in DCGAN
    batch_size: int = 64  # samples per minibatch, real and fake alike
    gp_weight: float = 10.0  # weight of the gradient penalty (only for losses that use it)
    r1_weight: float = 0.0  # gamma > 0: add gamma/2 * R1 (D's squared gradient norm at real data)
    clip_value: float = 0.0  # > 0: clamp D's weights to [-c, c] after each update (the original WGAN)
    ema: float = 0.0  # > 0: sample from an exponential moving average of G's weights with this decay
    lr_decay: float = 0.0  # > 0: in fit(steps=T) both lrs fall linearly to 5 % over the last lr_decay*T steps
    seed: int = 0  # seeds the sampler and the latent generator
    device: str = "auto"  # "auto" picks CUDA, then MPS, then CPU
    precision: str = "auto"  # "auto", "fp32", "bf16" or "fp16" (the last two only on CUDA)

    def __post_init__(self) -> None:
        fix = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  (frozen)
        require_choice("loss", self.loss, LOSS_NAMES + ("custom",))
        require_choice("optimizer_d", self.optimizer_d, OPTIMIZERS)
        require_choice("optimizer_g", self.optimizer_g, OPTIMIZERS)
        for name in ("d_steps", "batch_size"):
            fix(name, require_positive_int(name, getattr(self, name)))
        for name in ("lr_d", "lr_g"):
            fix(name, require_positive_number(name, getattr(self, name)))
        betas = self.betas
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        fix("betas", tuple(require_in_range("betas", b, 0, 1, include_high=False) for b in betas))
        for name in ("gp_weight", "r1_weight", "clip_value"):
            fix(name, require_nonnegative_number(name, getattr(self, name)))
        fix("ema", require_in_range("ema", self.ema, 0, 1, include_high=False))
        fix("lr_decay", require_in_range("lr_decay", self.lr_decay, 0, 1))
        fix("seed", require_seed(self.seed))
