"""The course's recommended GANs and the `train` command: MLP GANs on the toy data, DCGANs on digits.

Notebooks 07-09 and ``python -m gan_course train dcgan|cgan|wgan-gp`` build their trainers here,
so a lecture, a student's laptop and the command line train the very same model (notebooks 05-06
and ``train toy`` do the same with ``toy_trainer`` and ``TOY_RECIPES``)::

    trainer = image_trainer("dcgan", seed=0)      # DCGAN networks + GANTrainer on bundled digits
    trainer.fit(seconds=300)                      # five minutes
    trainer = load_pretrained("dcgan")            # or start from the shipped weights

Images are scaled to [-1, 1] for the GANs (the generator ends in tanh); ``to_uint8`` maps
samples back to bytes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gan_course import data, metrics, nets, storage
from gan_course.config import assets_dir, cpu_has_native_bf16, get_device
from gan_course.train import GANTrainer, check_state_dict_matches, fit_loop, gaussian_latent, history_to_json

WEIGHTS_FORMAT = 1
NUM_SAMPLES = 1000  # samples written by the command line (100 per class for cgan)


@dataclass(frozen=True)
class ImageRecipe:
    """A GAN on 28x28 digits: networks, loss and optimiser settings."""

    loss: str = "nonsaturating"  # a name in losses.LOSS_NAMES
    latent_dim: int = 64  # size of z
    width_g: int = 64  # generator channels (DCGANGenerator width)
    width_d: int = 64  # discriminator channels (DCGANDiscriminator width)
    conditional: bool = False  # feed the digit label to both players
    conditioning: str = "concat"  # how D reads the label: "concat" or "projection"
    spectral_norm: bool = False  # spectral norm on D's layers
    upsample: str = "transposed"  # "transposed" (DCGAN) or "resize" (no checkerboard)
    d_steps: int = 1  # discriminator (critic) updates per generator update
    lr_d: float = 2e-4  # discriminator learning rate
    lr_g: float = 2e-4  # generator learning rate
    betas: tuple[float, float] = (0.5, 0.999)  # Adam; beta1 = 0.5 as in DCGAN
    batch_size: int = 64  # images per minibatch
    gp_weight: float = 10.0  # gradient penalty weight (wgan_gp only)
    clip_value: float = 0.0  # > 0: weight clipping of the critic (the original WGAN)
    ema: float = 0.0  # > 0: sample from a moving average of G's weights with this decay
    r1_weight: float = 0.0  # gamma > 0: R1 penalty gamma/2 * E||grad D(x)||^2 at real data


# Tuned for a 5-minute run on a 2-core CPU (seed 0, classifier score and FID of 1,000 samples):
# a narrower D (32) is 1.7x faster per step than 64 and as good per step; at equal time lr 8e-4
# beat 5e-4 (2-minute runs: FID 76 against 101) and 2e-4 (136), 1e-3 was no better (78); a wider
# G (128), batch 32 and the hinge loss were no better either; the weight average (ema)
# gives cleaner samples than the last iterate.
# cgan reads the label through an input plane (concat): with the projection discriminator this
# small (width 32, no spectral norm, non-saturating loss) the generator ignored z and drew one
# prototype per digit (within-class pixel std 0.02 against 0.28 for real digits, seed 0, 2,500
# steps), while concat kept z in use (0.19).
_CPU_FRIENDLY = dict(width_d=32, lr_d=8e-4, lr_g=8e-4, ema=0.999)
IMAGE_RECIPES = {
    "dcgan": ImageRecipe(**_CPU_FRIENDLY),
    "cgan": ImageRecipe(conditional=True, **_CPU_FRIENDLY),
    # Gulrajani et al. (2017): 5 critic steps, Adam(0, 0.9), lr 1e-4, penalty weight 10
    "wgan-gp": ImageRecipe(loss="wgan_gp", d_steps=5, lr_d=1e-4, lr_g=1e-4, betas=(0.0, 0.9), width_d=32, ema=0.999),
}
KINDS = tuple(IMAGE_RECIPES)


def _recipe(kind: str, recipe: ImageRecipe | None) -> ImageRecipe:
    if kind not in IMAGE_RECIPES:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
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
    num_classes = 10 if recipe.conditional else None
    generator = nets.DCGANGenerator(recipe.latent_dim, recipe.width_g, num_classes, upsample=recipe.upsample)
    discriminator = nets.DCGANDiscriminator(recipe.width_d, num_classes, recipe.conditioning,
                                            spectral_norm=recipe.spectral_norm)
    return generator, discriminator


def image_trainer(kind: str = "dcgan", seed: int = 0, device: str = "auto", recipe: ImageRecipe | None = None,
                  source: str = "bundled", **overrides) -> GANTrainer:
    """A ``GANTrainer`` for ``kind`` ("dcgan", "cgan" or "wgan-gp") on the MNIST train split.

    Args:
        kind: which recipe in ``IMAGE_RECIPES``.
        seed: seeds the initial weights, the minibatches and the noise.
        device: "auto" (CUDA, then MPS, then CPU), or a device name.
        recipe: replaces the recipe of ``kind`` (vary one with ``dataclasses.replace``).
        source: the MNIST source, as for ``data.mnist`` ("bundled", "full" or "auto").
        overrides: ``TrainerConfig`` fields that win over the recipe (e.g. ``precision="fp32"``).

    Precision: autocast on GPUs (bf16, or fp16 on older ones) and bf16 on CPUs with native bf16
    (``config.cpu_has_native_bf16``: about 1.6x more steps per second there); fp32 on other CPUs.
    ``precision="fp32"`` turns it off.
    """
    r = _recipe(kind, recipe)
    dev = get_device(device)
    x, y = data.mnist("train", source=source)
    x = to_gan_range(x)  # (N, 1, 28, 28) in [-1, 1]
    if dev.type == "cuda":  # convolutions run fastest in NHWC on tensor cores
        x = x.contiguous(memory_format=torch.channels_last)
    torch.manual_seed(seed)  # the networks' initial weights
    generator, discriminator = build_networks(r)
    if dev.type == "cuda":
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
    settings = dict(d_steps=r.d_steps, lr_d=r.lr_d, lr_g=r.lr_g, betas=r.betas, batch_size=r.batch_size,
                    gp_weight=r.gp_weight, r1_weight=r.r1_weight, clip_value=r.clip_value, ema=r.ema, seed=seed,
                    device=device)
    if dev.type == "cpu" and cpu_has_native_bf16():
        settings["precision"] = "bf16"
    settings.update(overrides)
    loss = settings.pop("loss", r.loss)
    return GANTrainer(generator, discriminator, (x, y) if r.conditional else x, loss, **settings)


# --------------------------------------------------------------------------------------------
# Shipped weights: small files with the networks, the history and how they were made
# --------------------------------------------------------------------------------------------


def pretrained_path(kind: str) -> Path:
    """Where the shipped weights of ``kind`` live: ``assets/models/{kind}_mnist.pt``."""
    _recipe(kind, None)
    return assets_dir() / "models" / f"{kind}_mnist.pt"


def export_weights(trainer: GANTrainer, kind: str, path: str | Path, seed: int, command: str,
                   recipe: ImageRecipe | None = None) -> Path:
    """Write the networks (in fp16, to keep the file small), the history and the provenance."""
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    state = {"format": WEIGHTS_FORMAT, "kind": kind,
             "recipe": dataclasses.asdict(_recipe(kind, recipe)),
             "seed": seed, "command": command, "torch": str(torch.__version__),
             "device": trainer.device.type, "precision": trainer.precision.name,
             "steps": trainer.global_step, "seconds": round(trainer.elapsed, 1),
             "generator": half(trainer.generator.state_dict()),
             "discriminator": half(trainer.discriminator.state_dict()),
             **({"generator_ema": half(trainer.generator_ema.state_dict())} if trainer.generator_ema is not None else {}),
             "history": {k: torch.tensor(v, dtype=torch.float32) for k, v in trainer.history.items()}}
    return storage.atomic_torch_save(state, path)


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
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"no shipped weights for {kind!r} at {path}; {rebuild}") from None
    except Exception as error:  # a truncated or foreign file
        reason = (str(error).splitlines() or [""])[0][:120]
        raise ValueError(f"the weights file {path} is damaged ({type(error).__name__}: {reason}); {rebuild}") from None
    if not isinstance(state, dict) or state.get("format") != WEIGHTS_FORMAT or state.get("kind") != kind:
        raise ValueError(f"{path} does not hold {kind!r} weights of format {WEIGHTS_FORMAT}; {rebuild}")
    recipe = ImageRecipe(**{**state["recipe"], "betas": tuple(state["recipe"]["betas"])})
    trainer = image_trainer(kind, seed=int(state["seed"]), device=device, recipe=recipe, **overrides)
    nets_to_load = [("generator", trainer.generator), ("discriminator", trainer.discriminator)]
    if trainer.generator_ema is not None:
        nets_to_load.append(("generator_ema" if "generator_ema" in state else "generator", trainer.generator_ema))
    for name, net in nets_to_load:
        weights = {k: v.float() if v.is_floating_point() else v for k, v in state[name].items()}
        check_state_dict_matches(net, weights, name)
        net.load_state_dict(weights)
    trainer.history = {k: v.tolist() for k, v in state["history"].items()}
    trainer.global_step = trainer.g_updates = int(state["steps"])
    trainer.d_updates = trainer.g_updates * trainer.config.d_steps
    trainer.elapsed = float(state["seconds"])
    return trainer


# --------------------------------------------------------------------------------------------
# The command line's run: train for some minutes, write samples, metrics and checkpoints
# --------------------------------------------------------------------------------------------


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


def _write_run(out: str | os.PathLike, trainer: GANTrainer, samples: np.ndarray) -> Path:
    """Make the folder ``out`` and write what every ``train`` run leaves there: ``samples.npy``,
    ``history.json`` and ``checkpoint.pt`` (the whole trainer, to resume), each atomically.
    Returns the folder as a ``Path``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    storage.atomic_write(out / "samples.npy", lambda f: np.save(f, samples))
    storage.atomic_write_bytes(out / "history.json", history_to_json(trainer.history).encode())
    trainer.save(out / "checkpoint.pt")
    return out


def train_image(kind: str, out: str | Path, minutes: float | None = None, seed: int = 0, device: str = "auto",
                steps: int | None = None, progress: bool = True
                ) -> tuple[dict, GANTrainer, torch.Tensor, torch.Tensor | None]:
    """Train ``kind`` for ``minutes`` (or ``steps``) and write ``out/``: ``samples.npy`` (uint8,
    (1000, 28, 28)), ``checkpoint.pt`` (the full trainer, to resume), ``weights.pt`` (the small
    shippable file) and ``history.json``. The caller adds ``metrics.json`` and ``grid.png``.

    Returns:
        (run summary dict, the trainer, the samples in [-1, 1], the requested labels or None).
    """
    _recipe(kind, None)
    if minutes is None and steps is None:
        raise ValueError("give minutes (a time budget) or steps")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                or not 0 < minutes < math.inf):
        raise ValueError(f"minutes must be a positive number, got {minutes!r}")
    trainer = image_trainer(kind, seed=seed, device=device)
    trainer.fit(steps=steps, seconds=None if minutes is None else 60 * minutes, progress=progress)
    x_fake, y = sample_images(trainer, NUM_SAMPLES, seed=seed)
    out = _write_run(out, trainer, to_uint8(x_fake))
    command = "python -m gan_course " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else ""
    export_weights(trainer, kind, out / "weights.pt", seed, command)
    summary = {"kind": kind, "seed": seed, "steps": trainer.global_step, "seconds": round(trainer.elapsed, 1),
               "device": str(trainer.device), "precision": trainer.precision.name, "interrupted": trainer.interrupted}
    return summary, trainer, x_fake, y


# --------------------------------------------------------------------------------------------
# Recommended settings for the toy datasets, and the `train toy` command
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyRecipe:
    """The course's recommended GAN for one toy dataset (used by ``python -m gan_course train toy``)."""

    latent_dim: int = 1  # size of z
    width: int = 64  # hidden units per layer, both players
    depth: int = 2  # hidden layers, both players
    loss: str = "nonsaturating"  # the default loss
    steps: int = 3000  # generator updates
    d_steps: int = 1  # discriminator updates per generator update
    lr_d: float = 1e-3  # discriminator learning rate
    lr_g: float = 1e-3  # generator learning rate
    batch_size: int = 256  # samples per minibatch
    num_data: int = 20000  # size of the training set drawn from the toy distribution
    pack: int = 1  # PacGAN: samples the discriminator sees at once (batch_size must be a multiple)
    spectral_norm: bool = False  # spectral normalisation of the discriminator's layers
    lr_decay: float = 0.0  # the last fraction of the run over which both lrs fall linearly to 5 %
    noise: str = "gaussian"  # the latent distribution: "gaussian" N(0, I) or "uniform" U[-1, 1]^d
    r1_weight: float = 0.0  # gamma > 0: R1 penalty gamma/2 * E||grad D(x)||^2 at real data


TOY_RECIPES = {
    "gauss1d": ToyRecipe(width=32, steps=1500),
    "mix1d": ToyRecipe(width=64, steps=3000),
    # ring8 and grid25: measured by benchmarks/bench_modes.py (see benchmarks/RESULTS.md)
    "ring8": ToyRecipe(latent_dim=2, width=128, depth=3, steps=8000, lr_d=5e-4, lr_g=5e-4, pack=2, lr_decay=0.5),
    # grid25: without R1, 1-4 of the 25 modes went missing in 6 of 10 seeds; with gamma = 0.1, none
    "grid25": ToyRecipe(latent_dim=2, width=128, depth=3, steps=8000, lr_d=1e-3, lr_g=1e-3, lr_decay=0.5,
                        r1_weight=0.1),
    "spiral": ToyRecipe(latent_dim=2, width=128, depth=3, steps=4000, lr_d=5e-4, lr_g=5e-4),
    "moons": ToyRecipe(latent_dim=2, width=128, depth=3, steps=3000, lr_d=5e-4, lr_g=5e-4),
}
NUM_OUTPUT_SAMPLES = 2500
TOY_NOISE = ("gaussian", "uniform")


def toy_latent_sampler(noise: str, latent_dim: int) -> Callable[[int, torch.Generator], torch.Tensor]:
    r"""z ~ N(0, I) (``"gaussian"``) or z ~ U[-1, 1]^latent_dim (``"uniform"``)."""
    if noise == "gaussian":
        return gaussian_latent(latent_dim)
    if noise == "uniform":
        return lambda n, gen: 2 * torch.rand(n, latent_dim, generator=gen, device=gen.device) - 1
    raise ValueError(f"noise must be one of {TOY_NOISE}, got {noise!r}")


def toy_trainer(name: str, loss: str | None = None, seed: int = 0, device: str = "auto",
                recipe: ToyRecipe | None = None) -> GANTrainer:
    """A ``GANTrainer`` with the recommended networks and settings for the toy ``name``."""
    if name not in TOY_RECIPES:
        raise ValueError(f"data must be one of {', '.join(map(repr, TOY_RECIPES))}; got {name!r}")
    r = recipe or TOY_RECIPES[name]
    x = data.toy(name, r.num_data, seed=seed)  # (N, d)
    torch.manual_seed(seed)  # the networks' initial weights
    g = nets.MLPGenerator(r.latent_dim, x.shape[1], r.width, r.depth)
    d = nets.MLPDiscriminator(x.shape[1], r.width, r.depth, spectral_norm=r.spectral_norm, pack=r.pack)
    return GANTrainer(g, d, x, loss or r.loss, latent_sampler=toy_latent_sampler(r.noise, r.latent_dim),
                      d_steps=r.d_steps, lr_d=r.lr_d, lr_g=r.lr_g, r1_weight=r.r1_weight,
                      batch_size=r.batch_size, seed=seed, device=device)


def toy_metrics(name: str, samples: torch.Tensor) -> dict:
    """Sample quality on a toy: mean log p_data of the samples; in 1-D, JS and KL on a grid; on
    the 2-D mixtures (ring8, grid25), ``metrics.mode_coverage`` (modes covered, high quality, ...)."""
    out: dict = {}
    samples = samples.detach().double().cpu()
    centers, std = data.toy_modes(name)
    if centers is None:
        return out
    out["mean_log_prob_data"] = float(data.toy_log_prob(name, samples).mean())
    if samples.shape[1] == 2:
        coverage = metrics.mode_coverage(samples, centers, std).as_dict()
        coverage.pop("counts")  # reverse KL is inf when no sample is of high quality: null in JSON
        out["mode_coverage"] = {k: None if isinstance(v, float) and not math.isfinite(v) else v
                                for k, v in coverage.items()}
    if samples.shape[1] == 1:
        grid = torch.linspace(-8, 8, 1601, dtype=torch.float64)
        log_prob = lambda t: data.toy_log_prob(name, t)  # noqa: E731
        out["js_nats"] = float(metrics.js_to_samples(log_prob, samples, grid, bandwidth=0.15))
        out["kl_nats"] = float(metrics.kl_to_samples(log_prob, samples, grid, bandwidth=0.15))
    return out


def fit_toy(trainer: GANTrainer, steps: int, lr_decay: float = 0.0, progress: bool = True) -> GANTrainer:
    r"""``steps`` trainer steps; over the last ``lr_decay`` fraction both learning rates fall
    linearly from their value to 5 % of it (sharper modes at the end), then are restored.

    .. math:: \eta_t = \eta \,\big(0.05 + 0.95 \max(0, \min(1, (T - t) / (\lambda T)))\big)
    """
    if not 0 <= lr_decay <= 1:
        raise ValueError(f"lr_decay must be in [0, 1], got {lr_decay!r}")
    if lr_decay == 0:
        trainer.fit(steps=steps, progress=progress)
        return trainer
    groups = trainer.opt_d.param_groups + trainer.opt_g.param_groups
    base = [g["lr"] for g in groups]
    done = {"n": 0}

    def one_step() -> None:
        factor = 0.05 + 0.95 * max(0.0, min(1.0, (steps - done["n"]) / (lr_decay * steps)))
        for group, lr in zip(groups, base):
            group["lr"] = lr * factor
        trainer.step()
        done["n"] += 1
    try:
        _, trainer.interrupted = fit_loop(one_step, steps, None, progress, desc="GAN")
    finally:
        for group, lr in zip(groups, base):
            group["lr"] = lr
    return trainer


def train_toy(name: str, out: str | os.PathLike, loss: str | None = None, steps: int | None = None,
              seed: int = 0, device: str = "auto", progress: bool = True) -> dict:
    """Train the recommended GAN on a toy and write ``out/``: ``samples.npy`` (2500, d) float32,
    ``metrics.json``, ``history.json`` and ``checkpoint.pt``. Returns the metrics dict."""
    trainer = toy_trainer(name, loss, seed, device)
    steps = TOY_RECIPES[name].steps if steps is None else steps
    start = time.perf_counter()
    fit_toy(trainer, steps, TOY_RECIPES[name].lr_decay, progress)
    seconds = time.perf_counter() - start
    samples = trainer.sample(NUM_OUTPUT_SAMPLES, seed=seed).cpu()  # (2500, d)
    out = _write_run(out, trainer, samples.numpy().astype(np.float32))
    last = {k: trainer.history[k][-1] for k in ("d_loss", "g_loss", "d_real", "d_fake")} if trainer.global_step else {}
    result = {"data": name, "loss": trainer.config.loss, "steps": trainer.global_step, "seed": seed,
              "device": str(trainer.device), "seconds": round(seconds, 3), "interrupted": trainer.interrupted,
              "final": last, **toy_metrics(name, samples)}
    result = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in result.items()}
    storage.atomic_write_bytes(out / "metrics.json", json.dumps(result, indent=2).encode())
    return result


def toy_mode_run(name: str, recipe: ToyRecipe | None = None, seed: int = 0, steps: int | None = None,
                 device: str = "cpu", num_samples: int = NUM_OUTPUT_SAMPLES) -> dict:
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
    fit_toy(trainer, r.steps if steps is None else steps, r.lr_decay, progress=False)
    seconds = time.perf_counter() - start
    result = metrics.mode_coverage(trainer.sample(num_samples, seed=seed).cpu(), centers, std).as_dict()
    result.pop("counts")
    return {**result, "seconds": seconds}
