"""The course's recommended GANs: one description per run, composed of a network spec and a config.

A recipe is a network spec (``specs.MLPSpec`` or ``specs.DCGANSpec``) plus a ``TrainerConfig`` and
what is left of a run (steps, data size). Notebooks 05-09, the dashboards and
``python -m gan_course train ...`` build their trainers from these recipes, so a lecture, a
student's laptop and the command line train the very same model::

    trainer = image_trainer("dcgan", seed=0)            # DCGAN networks + GANTrainer on bundled digits
    trainer.fit(seconds=300)                            # five minutes
    trainer = load_pretrained("dcgan")                  # or start from the shipped weights
    faster = TOY_RECIPES["ring8"].replace(lr_d=1e-3)    # vary any field, wherever it lives

Images are scaled to [-1, 1] for the GANs (the generator ends in tanh); ``to_uint8`` maps
samples back to bytes.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_course import checkpoints, data, metrics, nets, specs
from gan_course.config import cpu_has_native_bf16, get_device, weights_path
from gan_course.distributed import World
from gan_course.specs import TrainerConfig
from gan_course.train import GANTrainer
from gan_course.validate import require_choice, require_positive_int

NUM_SAMPLES = 1000  # image samples written by the command line (100 per class for cgan)


class _Recipe:
    """What every recipe can do: vary any field by name, and go to and from a plain dict."""

    def replace(self, **changes: Any):
        """A copy with some fields changed, wherever they live (the recipe, its ``net`` or its
        ``trainer``): ``recipe.replace(lr_d=1e-3, pack=2, steps=500)``. Validated like a new recipe."""
        parts = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                 if dataclasses.is_dataclass(getattr(self, f.name))}
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {name: {} for name in parts}
        for key, value in changes.items():
            owner = next((name for name, part in parts.items() if key in _field_names(part)), None)
            if key in _field_names(self):
                top[key] = value
            elif owner is not None:
                nested[owner][key] = value
            else:
                allowed = sorted(_field_names(self) - set(parts) | set().union(*map(_field_names, parts.values())))
                raise ValueError(f"{key!r} is not a setting of {type(self).__name__}; settings: {', '.join(allowed)}")
        top.update({name: dataclasses.replace(parts[name], **ch) for name, ch in nested.items() if ch})
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as nested plain dicts (what checkpoints store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """The recipe ``to_dict`` gave (tuples come back as tuples: each part validates itself)."""
        parts = {"net": cls._net_spec, "trainer": TrainerConfig}
        try:
            return cls(**{k: parts[k](**v) if k in parts else v for k, v in d.items()})
        except TypeError as error:
            raise ValueError(f"not a {cls.__name__} description ({error}): {d!r}") from None


def _field_names(obj: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(obj)}


# --------------------------------------------------------------------------------------------
# Toy GANs: MLPs on 1-D and 2-D data (notebooks 05-06, `train toy`, the 2-D dashboard)
# --------------------------------------------------------------------------------------------

_TOY_TRAINER = TrainerConfig(lr_d=1e-3, lr_g=1e-3, batch_size=256)


@dataclass(frozen=True)
class ToyRecipe(_Recipe):
    """A GAN on a toy dataset: the two MLPs, the trainer's settings, and the run's length."""

    _net_spec = specs.MLPSpec

    net: specs.MLPSpec = field(default_factory=specs.MLPSpec)  # both players' networks and the noise
    trainer: TrainerConfig = _TOY_TRAINER  # loss, learning rates, d_steps, batch size, lr_decay, seed ...
    steps: int = 3000  # generator updates of a run
    num_data: int = 20000  # size of the training set drawn from the toy distribution

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", require_positive_int("steps", self.steps))
        object.__setattr__(self, "num_data", require_positive_int("num_data", self.num_data))
        if self.trainer.batch_size % self.net.pack:
            raise ValueError(f"batch_size ({self.trainer.batch_size}) must be a multiple of pack ({self.net.pack})")


def _toy(latent_dim: int, width: int, depth: int, steps: int, lr: float, pack: int = 1, **trainer) -> ToyRecipe:
    return ToyRecipe(specs.MLPSpec(latent_dim=latent_dim, width=width, depth=depth, pack=pack),
                     dataclasses.replace(_TOY_TRAINER, lr_d=lr, lr_g=lr, **trainer), steps=steps)


_RING8 = _toy(2, 128, 3, 8000, 5e-4, pack=2, lr_decay=0.5)
TOY_RECIPES = {
    # gauss1d and mix1d (benchmarks/bench_toy1d.py): with equal learning rates (1e-3) the generator's
    # spread oscillated and ended anywhere from 0.6x to 1.3x the data's (gauss1d: 1 seed of 10 within
    # 10 %). The discriminator is the slow player: against a frozen generator 40 % too narrow it needs
    # 200-500 steps at lr 1e-3 to tell (a mean D(x) - D(G(z)) gap of 0.05-0.10), while G moves every
    # step. A ten times faster D (lr_d 3e-3, lr_g 3e-4; Heusel et al.'s two time scales), then a
    # linear lr decay over the second half: gauss1d fits on 9 of 10 seeds. mix1d with 2 D steps per
    # G step fits on 9 of 10 too (seed 1 drops the mode at +3), its components' spreads right on 9.
    # gauss1d keeps d_steps = 1: notebook 05's hand-written training step makes one D update.
    "gauss1d": _toy(1, 32, 2, 3000, 3e-3, lr_decay=0.5).replace(lr_g=3e-4),
    "mix1d": _toy(1, 64, 2, 3000, 3e-3, lr_decay=0.5, d_steps=2).replace(lr_g=3e-4),
    # ring8 and grid25: measured by benchmarks/bench_modes.py (see benchmarks/RESULTS.md)
    "ring8": _RING8,
    # grid25: without R1, 1-4 of the 25 modes went missing in 6 of 10 seeds; with gamma = 0.1, none
    "grid25": _toy(2, 128, 3, 8000, 1e-3, lr_decay=0.5, r1_weight=0.1),
    "spiral": _toy(2, 128, 3, 4000, 5e-4),
    "moons": _toy(2, 128, 3, 3000, 5e-4),
    "two_gaussians": _RING8,  # two modes: the ring's setting, as the 2-D dashboard has always used
}


def toy_trainer(name: str, loss: str | None = None, seed: int = 0, device: str = "auto",
                recipe: ToyRecipe | None = None, x: torch.Tensor | None = None) -> GANTrainer:
    """A ``GANTrainer`` for a toy recipe (default: the recommended one for dataset ``name``).

    Args:
        name: a dataset in ``TOY_RECIPES``; its data is drawn with ``seed`` unless ``x`` is given.
        loss: overrides the recipe's loss.
        seed: seeds the data, the initial weights and the training streams.
        device: where to train.
        recipe: replaces the recommended recipe.
        x: samples (n, d) of your own instead of the named dataset.
    """
    if recipe is None:
        recipe = TOY_RECIPES[require_choice("data", name, tuple(TOY_RECIPES))]
    if x is None:
        x = data.toy(require_choice("data", name, data.TOY_NAMES), recipe.num_data, seed=seed)  # (N, d)
    torch.manual_seed(seed)  # the networks' initial weights
    generator, discriminator = recipe.net.build(x.shape[1])
    config = dataclasses.replace(recipe.trainer, seed=seed, device=device,
                                 **({"loss": loss} if loss is not None else {}))
    return GANTrainer(generator, discriminator, x, latent_sampler=recipe.net.latent_sampler(), config=config)


def toy_mode_run(name: str, recipe: ToyRecipe | None = None, seed: int = 0, steps: int | None = None,
                 device: str = "cpu", num_samples: int = 2500, progress: bool = True) -> dict:
    """Train ``recipe`` (default: the recommended one) on the mixture ``name`` and measure its modes.

    Used by notebook 06's comparison table and ``benchmarks/bench_modes.py``. Returns
    ``metrics.mode_coverage(...).as_dict()`` without the counts, plus ``seconds`` of training.
    """
    centers, std = data.toy_modes(name)
    if centers is None or centers.shape[1] != 2:
        raise ValueError(f"name must be a 2-D mixture ('ring8' or 'grid25'), got {name!r}")
    r = recipe or TOY_RECIPES[name]
    trainer = toy_trainer(name, seed=seed, device=device, recipe=r)
    start = time.perf_counter()
    trainer.fit(steps=r.steps if steps is None else steps, progress=progress)
    seconds = time.perf_counter() - start
    result = metrics.mode_coverage(trainer.sample(num_samples, seed=seed).cpu(), centers, std).as_dict()
    result.pop("counts")
    return {**result, "seconds": seconds}


# --------------------------------------------------------------------------------------------
# Image GANs: DCGANs on 28x28 digits (notebooks 07-09, `train dcgan|cgan|wgan-gp`)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRecipe(_Recipe):
    """A GAN on 28x28 digits: the two DCGAN networks and the trainer's settings."""

    _net_spec = specs.DCGANSpec

    net: specs.DCGANSpec = field(default_factory=specs.DCGANSpec)  # both players' networks
    trainer: TrainerConfig = field(default_factory=TrainerConfig)  # loss, learning rates, d_steps, ema ...


# Tuned for a 5-minute run on a 2-core CPU (seed 0, classifier score and FID of 1,000 samples):
# a narrower D (32) is 1.7x faster per step than 64 and as good per step; at equal time lr 8e-4
# beat 5e-4 (2-minute runs: FID 76 against 101) and 2e-4 (136), 1e-3 was no better (78); a wider
# G (128), batch 32 and the hinge loss were no better either; the weight average (ema)
# gives cleaner samples than the last iterate.
# cgan reads the label through an input plane (concat): with the projection discriminator this
# small (width 32, no spectral norm, non-saturating loss) the generator ignored z and drew one
# prototype per digit (within-class pixel std 0.02 against 0.28 for real digits, seed 0, 2,500
# steps), while concat kept z in use (0.19).
_CPU_FRIENDLY = TrainerConfig(lr_d=8e-4, lr_g=8e-4, ema=0.999)
IMAGE_RECIPES = {
    "dcgan": ImageRecipe(specs.DCGANSpec(width_d=32), _CPU_FRIENDLY),
    "cgan": ImageRecipe(specs.DCGANSpec(width_d=32, conditional=True), _CPU_FRIENDLY),
    # Gulrajani et al. (2017): 5 critic steps, Adam(0, 0.9), lr 1e-4, penalty weight 10
    "wgan-gp": ImageRecipe(specs.DCGANSpec(width_d=32),
                           TrainerConfig(loss="wgan_gp", d_steps=5, lr_d=1e-4, lr_g=1e-4, betas=(0.0, 0.9), ema=0.999)),
}
KINDS = tuple(IMAGE_RECIPES)


def _recipe(kind: str, recipe: ImageRecipe | None) -> ImageRecipe:
    require_choice("kind", kind, KINDS)
    return recipe or IMAGE_RECIPES[kind]


def to_gan_range(x: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (as ``data.mnist`` gives them) to [-1, 1] (as a tanh generator makes them)."""
    return x * 2 - 1


def to_uint8(x_fake: torch.Tensor) -> np.ndarray:
    """Generated images (N, 1, 28, 28) in [-1, 1] to bytes (N, 28, 28), 0 = background."""
    unit = (x_fake.detach().float().cpu()[:, 0] + 1) / 2  # (N, 28, 28) in [0, 1]
    return (unit.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def build_networks(recipe: ImageRecipe) -> tuple[nets.DCGANGenerator, nets.DCGANDiscriminator]:
    """The generator and discriminator a recipe describes (weights from the current torch seed)."""
    return recipe.net.build()


def image_trainer(kind: str = "dcgan", seed: int = 0, device: str = "auto", recipe: ImageRecipe | None = None,
                  source: str = "bundled", distributed: World | None = None, **overrides) -> GANTrainer:
    """A ``GANTrainer`` for ``kind`` ("dcgan", "cgan" or "wgan-gp") on the MNIST train split.

    Args:
        kind: which recipe in ``IMAGE_RECIPES``.
        seed: seeds the initial weights, the minibatches and the noise.
        device: "auto" (CUDA, then MPS, then CPU), or a device name.
        recipe: replaces the recipe of ``kind`` (vary one with ``recipe.replace(...)``).
        source: the MNIST source, as for ``data.mnist`` ("bundled", "full" or "auto").
        distributed: under torchrun, ``distributed.setup()``'s ``World``: this process trains its
            shard of the digits as one rank of several.
        overrides: ``TrainerConfig`` fields that win over the recipe (e.g. ``precision="fp32"``).

    Precision: autocast on GPUs (bf16, or fp16 on older ones) and bf16 on CPUs with native bf16
    (``config.cpu_has_native_bf16``: about 1.6x more steps per second there) when the recipe says
    "auto"; fp32 on other CPUs. ``precision="fp32"`` turns it off.
    """
    r = _recipe(kind, recipe)
    dev = get_device(device)
    x, y = data.mnist("train", source=source)
    x = to_gan_range(x)  # (N, 1, 28, 28) in [-1, 1]
    if dev.type == "cuda":  # convolutions run fastest in NHWC on tensor cores
        x = x.contiguous(memory_format=torch.channels_last)
    torch.manual_seed(seed)  # the networks' initial weights
    generator, discriminator = r.net.build()
    if dev.type == "cuda":
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
    settings: dict[str, Any] = {"seed": seed, "device": device}
    if dev.type == "cpu" and r.trainer.precision == "auto" and cpu_has_native_bf16():
        settings["precision"] = "bf16"
    config = dataclasses.replace(r.trainer, **{**settings, **overrides})
    return GANTrainer(generator, discriminator, (x, y) if r.net.conditional else x, config=config,
                      distributed=distributed)


def sample_images(trainer: GANTrainer, n: int = NUM_SAMPLES, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` samples in [-1, 1] (on the CPU) in eval mode; a conditional model makes n/10 of each
    digit in class order (0, 0, ..., 1, 1, ...). Returns (x_fake, y_requested or None)."""
    y = None
    if trainer.num_classes is not None:
        if n % trainer.num_classes:
            raise ValueError(f"n must be a multiple of {trainer.num_classes} for a conditional model, got {n}")
        y = torch.arange(trainer.num_classes, device=trainer.device).repeat_interleave(n // trainer.num_classes)
    # batch norm with its running statistics: samples do not depend on the batch
    with nets.eval_mode(trainer.sampling_generator):
        x_fake = trainer.sample(n, y=y, seed=seed).cpu()
    return x_fake, None if y is None else y.cpu()


# --------------------------------------------------------------------------------------------
# Shipped weights: small files with the networks, the history and how they were made
# --------------------------------------------------------------------------------------------


def pretrained_path(kind: str) -> Path:
    """Where the weights of ``kind`` are read from: ``assets/models/{kind}_mnist.pt``, or the
    folder ``GAN_COURSE_WEIGHTS`` names (``config.weights_path``)."""
    _recipe(kind, None)
    return weights_path(f"{kind}_mnist.pt")


def export_weights(trainer: GANTrainer, kind: str, path: str | Path, seed: int, command: str,
                   recipe: ImageRecipe | None = None) -> Path:
    """Write the networks (in fp16, to keep the file small), the history and the provenance as a
    ``"gan_weights"`` checkpoint."""
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    payload = {"kind": kind, "recipe": _recipe(kind, recipe).to_dict(),
               "seed": seed, "command": command, "torch": str(torch.__version__),
               "device": trainer.device.type, "precision": trainer.precision.name,
               "steps": trainer.global_step, "seconds": round(trainer.elapsed, 1),
               "generator": half(trainer.generator.state_dict()),
               "discriminator": half(trainer.discriminator.state_dict()),
               **({"generator_ema": half(trainer.generator_ema.state_dict())} if trainer.generator_ema is not None
                  else {}),
               "history": {k: torch.tensor(v, dtype=torch.float32) for k, v in trainer.history.items()}}
    return checkpoints.save(path, "gan_weights", payload)


def load_pretrained(kind: str = "dcgan", device: str = "auto", path: str | Path | None = None,
                    **overrides) -> GANTrainer:
    """A trainer for ``kind`` holding the shipped weights (and their training history).

    The optimizers start fresh, so ``fit`` continues training from the shipped networks.
    A missing or damaged file raises an error that says how to make it again.
    """
    path = Path(path) if path is not None else pretrained_path(kind)
    rebuild = (f"make it again with: python -m gan_course train {kind} --minutes 5 --seed 0 "
               f"--out runs/{kind} && cp runs/{kind}/weights.pt {path}")
    try:
        state = checkpoints.load(path, "gan_weights", map_location="cpu")
    except FileNotFoundError:
        raise FileNotFoundError(f"no shipped weights for {kind!r} at {path}; {rebuild}") from None
    except checkpoints.CheckpointError as error:
        raise ValueError(f"the weights file is damaged or of another kind ({error}); {rebuild}") from None
    if state.get("kind") != kind:
        raise ValueError(f"{path} does not hold {kind!r} weights (it holds {state.get('kind')!r}); {rebuild}")
    recipe = ImageRecipe.from_dict(state["recipe"])
    trainer = image_trainer(kind, seed=int(state["seed"]), device=device, recipe=recipe, **overrides)
    steps = int(state["steps"])
    trainer.load_weights({k: state[k] for k in ("generator", "discriminator", "generator_ema") if k in state},
                         history=state["history"],
                         counters={"global_step": steps, "g_updates": steps, "d_updates": steps * trainer.config.d_steps,
                                   "elapsed": float(state["seconds"])})
    return trainer
