r"""Diffusion and flow-matching runs: the recommended settings, training on the 2-D toys and on
digits, and the files ``python -m gan_course train diffusion|flow`` writes.

On the 2-D toys the network is a ``TimeMLP`` with Fourier features of the point (without them
the modes of ring8 and grid25 stay blurred for thousands of steps: see ``benchmarks/RESULTS.md``).
On digits a pixel-space U-Net does not fit a CPU's five minutes, so the course does what latent
diffusion does (Rombach et al., 2022): the VAE of notebook 04 compresses each digit to a
16-number code (its encoder's mean), the diffusion or flow model learns the distribution of
those codes, and the VAE's decoder turns sampled codes into images::

    result = train_flow("ring8", "runs/flow_ring8", steps=6000)
    result = train_diffusion("mnist", "runs/diffusion_mnist", minutes=5)
    x = sample_flow("runs/flow_ring8/weights.pt", n=2500, seed=0)      # (2500, 2) float32
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_course import classifier, data, divergences, runs, storage, vae
from gan_course.denoising import DenoiserTrainer, IterativeGenerator, load_payload, rebuild, save_weights
from gan_course.diffusion import Diffusion
from gan_course.flow_matching import FlowMatching
from gan_course.time_nets import TimeMLP
from gan_course.validate import require_choice, require_int, require_positive_int, require_positive_number

KINDS = {"diffusion": Diffusion, "flow": FlowMatching}
TOY_DATA = ("ring8", "grid25", "spiral", "moons", "two_gaussians")
DATA = TOY_DATA + ("mnist",)
NUM_TOY_SAMPLES = 2500  # as `train toy`
NUM_IMAGES = 1000  # as `train dcgan`


@dataclass(frozen=True)
class DenoiserRecipe:
    """A diffusion or flow run: the network, the optimiser, the length, the sampler."""

    width: int = 128  # hidden units of the TimeMLP
    depth: int = 3  # hidden layers
    octaves: int = 6  # Fourier features of x (0: none)
    lr: float = 3e-3  # Adam's learning rate
    batch_size: int = 512  # samples per update
    ema: float = 0.995  # decay of the weight average samples come from
    steps: int = 6000  # updates of a run
    num_data: int = 20000  # toy samples drawn for training
    sample_steps: int = 100  # sampler steps (DDPM ancestral / Euler)

    def __post_init__(self) -> None:
        for name in ("width", "depth", "batch_size", "steps", "num_data", "sample_steps"):
            object.__setattr__(self, name, require_positive_int(name, getattr(self, name)))
        object.__setattr__(self, "octaves", require_int("octaves", self.octaves, 0))
        object.__setattr__(self, "lr", require_positive_number("lr", self.lr))

    def replace(self, **changes: Any) -> "DenoiserRecipe":
        return replace(self, **changes)


# the toy setting: measured on ring8 and grid25 by benchmarks/bench_beyond.py (RESULTS.md)
TOY_RECIPE = DenoiserRecipe()


@dataclass(frozen=True)
class LatentRecipe:
    """A digit run: a VAE (notebook 04's, MLP, Bernoulli) and a model of its codes."""

    latent_dim: int = 16  # size of the VAE's code
    vae_steps: int = 3000  # VAE updates (batch 128, lr 1e-3, KL warm-up over the first sixth)
    vae_share: float = 0.45  # with a time budget: the VAE's share of it
    # measured on the VAE's codes (seed 0): lr 2e-3 beat 1e-3 at 4,000 steps (score 8.1 against 7.9)
    model: DenoiserRecipe = DenoiserRecipe(width=256, depth=3, octaves=0, lr=2e-3, batch_size=256, ema=0.995,
                                           steps=6000, sample_steps=50)


DIGIT_RECIPE = LatentRecipe()


def build_model(kind: str, data_dim: int, recipe: DenoiserRecipe, seed: int = 0) -> IterativeGenerator:
    """A fresh ``Diffusion`` or ``FlowMatching`` model on a ``TimeMLP`` (weights from ``seed``)."""
    cls = KINDS[require_choice("kind", kind, tuple(KINDS))]
    torch.manual_seed(seed)
    return cls(TimeMLP(data_dim, recipe.width, recipe.depth, octaves=recipe.octaves))


def toy_trainer(kind: str, name: str, seed: int = 0, recipe: DenoiserRecipe = TOY_RECIPE,
                x: torch.Tensor | None = None, device: str = "cpu") -> DenoiserTrainer:
    """A ``DenoiserTrainer`` for ``kind`` on the 2-D toy ``name`` (or on ``x`` (n, 2) of your own)."""
    if x is None:
        x = data.toy(require_choice("data", name, TOY_DATA), recipe.num_data, seed=seed)  # (N, 2)
    model = build_model(kind, x.shape[1], recipe, seed)
    return DenoiserTrainer(model, x, lr=recipe.lr, batch_size=recipe.batch_size, ema=recipe.ema, seed=seed,
                           device=device)


def toy_mode_run(kind: str, name: str, seed: int = 0, recipe: DenoiserRecipe = TOY_RECIPE,
                 steps: int | None = None, sample_steps: int | None = None) -> dict:
    """Train ``kind`` on ring8 or grid25 and measure ``divergences.mode_coverage`` of 2,500 samples
    (what ``benchmarks/bench_beyond.py`` and notebook 11 tabulate). Adds ``seconds`` of training,
    ``steps`` and the sampler's network ``evaluations`` per sample."""
    centers, std = data.toy_modes(require_choice("data", name, ("ring8", "grid25")))
    trainer = toy_trainer(kind, name, seed, recipe)
    steps = recipe.steps if steps is None else require_positive_int("steps", steps)
    start = time.perf_counter()
    trainer.fit(steps=steps, progress=False)
    seconds = time.perf_counter() - start
    sample_steps = recipe.sample_steps if sample_steps is None else sample_steps
    model = trainer.sampling_model
    x = model.sample(NUM_TOY_SAMPLES, steps=sample_steps, seed=seed)
    result = divergences.mode_coverage(x, centers, std).as_dict()
    result.pop("counts")
    return {**result, "seconds": seconds, "steps": trainer.global_step,
            "evaluations": model.evaluations(sample_steps)}


# --------------------------------------------------------------------------------------------
# Digits: a model of the VAE's codes
# --------------------------------------------------------------------------------------------


class LatentImageModel:
    """Digits through a VAE's codes: sample codes with ``model``, decode them with ``vae``.

    Attributes:
        vae: the trained VAE (its decoder draws the images; its encoder made the training codes).
        model: the diffusion or flow model of the codes.
    """

    def __init__(self, autoencoder: vae.VAE, model: IterativeGenerator) -> None:
        self.vae, self.model = autoencoder.eval(), model.eval()

    @torch.no_grad()
    def sample(self, n: int, steps: int | None = None, method: str | None = None, seed: int | None = 0) -> torch.Tensor:
        """``n`` digits (n, 1, 28, 28) in [0, 1] (the decoder's pixel probabilities)."""
        codes = self.model.sample(n, steps=steps, method=method, seed=seed)  # (n, latent_dim)
        return self.vae.decode(codes).cpu()

    def evaluations(self, steps: int | None = None, method: str | None = None) -> int:
        """Network evaluations per digit: the sampler's, plus one decoder pass."""
        return self.model.evaluations(self.model.default_steps if steps is None else steps, method) + 1


def digit_codes(autoencoder: vae.VAE, x: torch.Tensor) -> torch.Tensor:
    """The encoder's mean code of each image: (N, 1, 28, 28) -> (N, latent_dim)."""
    with torch.no_grad():
        return torch.cat([autoencoder.encode(xb)[0] for xb in x.split(1000)]).cpu()


def train_latent(kind: str, seed: int = 0, recipe: LatentRecipe = DIGIT_RECIPE, seconds: float | None = None,
                 progress: bool = True) -> tuple[LatentImageModel, dict]:
    """Train the VAE on the binarised train digits, then ``kind`` on its codes.

    With ``seconds`` the VAE gets ``recipe.vae_share`` of the budget and the code model the rest;
    otherwise each runs its recipe's steps. Returns the model and a summary (steps, seconds).
    """
    x, _ = data.mnist("train", source="bundled", binarize=True)
    torch.manual_seed(seed)
    autoencoder = vae.VAE(latent_dim=recipe.latent_dim, hidden=256, architecture="mlp")
    start = time.perf_counter()
    vae_seconds = None if seconds is None else recipe.vae_share * seconds
    vae_steps = recipe.vae_steps if seconds is None else None
    fit = vae.fit_vae(autoencoder, x, steps=vae_steps, seconds=vae_seconds, lr=1e-3, seed=seed,
                      kl_warmup=recipe.vae_steps // 6, progress=progress, device="cpu")
    vae_time = time.perf_counter() - start
    codes = digit_codes(autoencoder, x)  # (N, d)
    m = recipe.model
    trainer = DenoiserTrainer(build_model(kind, recipe.latent_dim, m, seed), codes, lr=m.lr,
                              batch_size=m.batch_size, ema=m.ema, seed=seed)
    trainer.fit(steps=None if seconds is not None else m.steps,
                seconds=None if seconds is None else max(seconds - vae_time, 1.0), progress=progress)
    summary = {"vae_steps": fit.step, "vae_seconds": round(vae_time, 1), "steps": trainer.global_step,
               "seconds": round(time.perf_counter() - start, 1), "interrupted": fit.interrupted or trainer.interrupted}
    trainer.sampling_model.default_steps = m.sample_steps
    return LatentImageModel(autoencoder, trainer.sampling_model), summary


# --------------------------------------------------------------------------------------------
# Runs that write a folder, and sampling from their weights
# --------------------------------------------------------------------------------------------


def _train(kind: str, data_name: str, out: str | os.PathLike, steps: int | None, minutes: float | None, seed: int,
           progress: bool, command: str) -> dict:
    require_choice("data", data_name, DATA)
    if steps is not None:
        require_positive_int("steps", steps)
    if minutes is not None:
        require_positive_number("minutes", minutes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    info = {"data": data_name, "seed": seed, "command": command, "torch": str(torch.__version__)}
    if data_name == "mnist":
        if steps is not None:
            raise ValueError("steps is for the 2-D toys; digits take minutes (a time budget), got steps="
                             f"{steps}")
        recipe = DIGIT_RECIPE
        latent, summary = train_latent(kind, seed, recipe, None if minutes is None else 60 * minutes, progress)
        x = latent.sample(NUM_IMAGES, seed=seed)  # (1000, 1, 28, 28) in [0, 1]
        samples = (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        quality = classifier.evaluate_images(x, value_range=(0, 1))
        metrics = {"quality": quality}
        half = {k: v.half() if v.is_floating_point() else v for k, v in latent.vae.state_dict().items()}
        extra = {"vae": {"options": latent.vae.options, "state": half}, "recipe": asdict(recipe)}
        model = latent.model
        evaluations = latent.evaluations()
    else:
        recipe = TOY_RECIPE
        trainer = toy_trainer(kind, data_name, seed, recipe)
        start = time.perf_counter()
        trainer.fit(steps=recipe.steps if steps is None and minutes is None else steps,
                    seconds=None if minutes is None else 60 * minutes, progress=progress)
        summary = {"steps": trainer.global_step, "seconds": round(time.perf_counter() - start, 3),
                   "interrupted": trainer.interrupted}
        model = trainer.sampling_model
        model.default_steps = recipe.sample_steps
        x = model.sample(NUM_TOY_SAMPLES, seed=seed)  # (2500, 2)
        samples = x.numpy().astype(np.float32)
        metrics = runs.toy_metrics(data_name, x)
        metrics.update(zip(("kl_nats", "js_nats"), _kl_js(trainer.sampler.x.cpu(), x)))
        extra = {"recipe": asdict(recipe)}
        evaluations = model.evaluations(recipe.sample_steps)
    summary = {"kind": kind, "data": data_name, "seed": seed, **summary,
               "sampler": {"method": model.methods[0], "steps": model.default_steps,
                           "evaluations_per_sample": evaluations}}
    storage.atomic_write(out / "samples.npy", lambda f: np.save(f, samples))
    save_weights(model, out / "weights.pt", info={**info, **summary}, extra={**extra, "default_steps":
                                                                              model.default_steps})
    result = {**summary, "metrics": metrics}
    runs.write_json(out / "metrics.json", result)
    return result


def _kl_js(x_data: torch.Tensor, x: torch.Tensor) -> tuple[float, float]:
    """``divergences.kl_js_2d`` of 2,500 data points and the samples ``x`` on a grid around the data;
    (nan, nan) when no sample lands on that grid (a run of a few steps), where neither is defined."""
    bounds = _bounds(x_data)
    on_grid = (x[:, 0] >= bounds[0]) & (x[:, 0] <= bounds[1]) & (x[:, 1] >= bounds[2]) & (x[:, 1] <= bounds[3])  # (n,)
    if not bool(on_grid.any()):
        return math.nan, math.nan
    return divergences.kl_js_2d(x_data[:NUM_TOY_SAMPLES], x, bounds, bins=64)


def _bounds(x: torch.Tensor) -> tuple[float, float, float, float]:
    lo, hi = x.min(0).values.tolist(), x.max(0).values.tolist()
    pad = 0.1 * max(hi[0] - lo[0], hi[1] - lo[1])
    return lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad


def train_diffusion(data: str, out: str | os.PathLike, steps: int | None = None, minutes: float | None = None,
                    seed: int = 0, progress: bool = True, command: str = "") -> dict:
    """Train a DDPM on ``data`` (a 2-D toy or ``"mnist"``) and write ``out/``: ``samples.npy``
    (2-D: float32 (2500, 2); digits: uint8 (1000, 28, 28)), ``metrics.json`` and ``weights.pt``.

    Toys run ``steps`` (default: the recipe's 6,000) or ``minutes``; digits run ``minutes``
    (default: the recipe's steps). Returns what ``metrics.json`` holds.
    """
    return _train("diffusion", data, out, steps, minutes, seed, progress, command)


def train_flow(data: str, out: str | os.PathLike, steps: int | None = None, minutes: float | None = None,
               seed: int = 0, progress: bool = True, command: str = "") -> dict:
    """As ``train_diffusion``, for a flow-matching model."""
    return _train("flow", data, out, steps, minutes, seed, progress, command)


def load_model(weights_path: str | os.PathLike, kind: str | None = None) -> IterativeGenerator | LatentImageModel:
    """The model in a ``weights.pt`` of ``train diffusion|flow`` (a ``LatentImageModel`` for digits).

    ``kind`` ("diffusion" or "flow") insists on one family: a file of another kind is refused.
    """
    names = {"diffusion": Diffusion.kind, "flow": FlowMatching.kind}
    kinds = tuple(names.values()) if kind is None else (names[require_choice("kind", kind, tuple(names))],)
    payload = load_payload(weights_path, kinds)
    cls = Diffusion if payload["kind"] == Diffusion.kind else FlowMatching
    options = {"num_steps": payload["num_steps"], "schedule": payload["schedule"]} if cls is Diffusion else {}
    model = rebuild(payload, cls, **options)
    model.default_steps = int(payload.get("default_steps", model.default_steps))
    if "vae" not in payload:
        return model
    autoencoder = vae.VAE(**payload["vae"]["options"])
    autoencoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["vae"]["state"].items()})
    return LatentImageModel(autoencoder, model)


def _sample(kind: str, weights_path: str | os.PathLike, n: int, seed: int, steps: int | None) -> np.ndarray:
    n = require_positive_int("n", n)
    if steps is not None:
        require_positive_int("steps", steps)
    model = load_model(weights_path, kind)
    x = model.sample(n, steps=steps, seed=seed)
    if isinstance(model, LatentImageModel):
        return (x[:, 0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()  # (n, 28, 28)
    return x.numpy().astype(np.float32)  # (n, 2)


def sample_diffusion(weights_path: str | os.PathLike, n: int, seed: int = 0, steps: int | None = None) -> np.ndarray:
    """``n`` samples from a diffusion ``weights.pt`` in the run's format (float32 (n, 2) or uint8
    (n, 28, 28)); ``steps`` sets the sampler's steps (default: the run's)."""
    return _sample("diffusion", weights_path, n, seed, steps)


def sample_flow(weights_path: str | os.PathLike, n: int, seed: int = 0, steps: int | None = None) -> np.ndarray:
    """As ``sample_diffusion``, for a flow-matching ``weights.pt``."""
    return _sample("flow", weights_path, n, seed, steps)


def train_diffusion_digits(out: str | os.PathLike, minutes: float | None = 5.0, seed: int = 0, progress: bool = True,
                           command: str = "") -> dict:
    """``train_diffusion("mnist", ...)`` with the signature of the command line's other kinds
    (``python -m gan_course train diffusion --minutes M --seed S --out DIR``)."""
    return train_diffusion("mnist", out, minutes=minutes, seed=seed, progress=progress, command=command)


def train_flow_digits(out: str | os.PathLike, minutes: float | None = 5.0, seed: int = 0, progress: bool = True,
                      command: str = "") -> dict:
    """``train_flow("mnist", ...)`` with the signature of the command line's other kinds."""
    return train_flow("mnist", out, minutes=minutes, seed=seed, progress=progress, command=command)
