r"""The self-conditioned DCGAN (``dcgan-sc``): a conditional GAN on clusters instead of labels.

Liu et al. (2020, *Diverse Image Generation via Self-Conditioned GANs*): cluster the training
images without labels (here k-means on the pixels, ``kmeans.kmeans_labels``), then train the
conditional GAN of notebook 08 with the cluster id :math:`c` as its condition. Sampling draws a
cluster by its share of the data, then an image from it:

.. math:: p_G(x) = \sum_{c=1}^{k} \pi_c\, p_G(x \mid c),\qquad \pi_c = \frac{N_c}{N},

a mixture of conditional generators, the view of notebook 03's mixtures. It stays a model of
p(x) alone (no label is ever used), but each generator only has to cover one cluster, which
removes most of the shapes *between* digits that the unconditional DCGAN draws.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gan_course import checkpoints, classifier, data, nets, recipes, runs
from gan_course.config import cpu_has_native_bf16, get_device, weights_path
from gan_course.kmeans import kmeans_labels
from gan_course.loop import NonFiniteLossError
from gan_course.train import GANTrainer
from gan_course.validate import require_budget, require_int, require_positive_int

KIND = "dcgan-sc"
CHECKPOINT_KIND = "self_conditioned_gan"
NUM_CLUSTERS = 20  # k: 20 clusters beat 10 (a digit written two ways gets two clusters); bench_self_conditioned.py
NUM_SAMPLES = 1000


def cluster_digits(x: torch.Tensor, k: int = NUM_CLUSTERS, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""k-means on the pixels of ``x`` (N, 1, 28, 28): the cluster of each image (N,) and the
    clusters' shares :math:`\pi_c = N_c / N` (k,)."""
    k = require_int("k", k, 2)
    ids = kmeans_labels(x.flatten(1).double(), k, gen=torch.Generator().manual_seed(int(seed)))  # (N,)
    return ids, torch.bincount(ids, minlength=k).double() / len(ids)


@dataclasses.dataclass
class SelfConditionedGAN:
    """A conditional GAN trainer on cluster ids, and the clusters' shares to sample them by."""

    trainer: GANTrainer  # the cGAN recipe's networks with k conditions
    shares: torch.Tensor  # (k,) pi_c, the share of the training digits in each cluster
    seed: int = 0  # the seed of the clustering and of training

    @property
    def num_clusters(self) -> int:
        return len(self.shares)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` digits in [-1, 1] (n, 1, 28, 28) on the CPU and the cluster each came from (n,):
        a cluster drawn by its share, then the generator (its weight average, in eval mode)."""
        n = require_positive_int("n", n)
        gen = torch.Generator().manual_seed(int(seed))
        clusters = torch.multinomial(self.shares, n, replacement=True, generator=gen)  # (n,)
        with nets.eval_mode(self.trainer.sampling_generator):
            x = self.trainer.sample(n, y=clusters.to(self.trainer.device), seed=seed).cpu()
        return x, clusters


def build(seed: int = 0, k: int = NUM_CLUSTERS, recipe: recipes.ImageRecipe | None = None,
          device: str = "auto", source: str = "bundled") -> SelfConditionedGAN:
    """Cluster the MNIST train split and make a ``GANTrainer`` with the networks of the cGAN recipe
    (``recipes.IMAGE_RECIPES["cgan"]``), conditioned on ``k`` clusters instead of 10 digits.

    As ``recipes.image_trainer`` does: data in [-1, 1], weights from ``seed``, bf16 autocast on
    CPUs with native bf16 (``recipe.trainer.precision == "auto"``).
    """
    r = recipe or recipes.IMAGE_RECIPES["cgan"]
    x, _ = data.mnist("train", source=source)  # the labels are never used
    ids, shares = cluster_digits(x, k, seed)
    spec = r.net
    torch.manual_seed(seed)  # the networks' initial weights
    generator = nets.DCGANGenerator(spec.latent_dim, spec.width_g, k, upsample=spec.upsample)
    discriminator = nets.DCGANDiscriminator(spec.width_d, k, spec.conditioning, spectral_norm=spec.spectral_norm)
    settings: dict[str, Any] = {"seed": seed, "device": device}
    if get_device(device).type == "cpu" and r.trainer.precision == "auto" and cpu_has_native_bf16():
        settings["precision"] = "bf16"
    trainer = GANTrainer(generator, discriminator, (recipes.to_gan_range(x), ids),
                         config=dataclasses.replace(r.trainer, **settings))
    return SelfConditionedGAN(trainer, shares, seed)


# --------------------------------------------------------------------------------------------
# Weights, runs, sampling
# --------------------------------------------------------------------------------------------


def pretrained_path() -> Path:
    """Where the weights are read from: the shipped ``assets/models/dcgan-sc_mnist.pt``, or the
    folder ``GAN_COURSE_WEIGHTS`` names (``config.weights_path``)."""
    return weights_path(f"{KIND}_mnist.pt")


def save(model: SelfConditionedGAN, path: str | os.PathLike, command: str = "") -> Path:
    """The networks in fp16, the shares, the history and the provenance, as a
    ``"self_conditioned_gan"`` checkpoint."""
    t = model.trainer
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    payload = {"kind": KIND, "seed": model.seed, "shares": model.shares.float(), "command": command,
               "torch": str(torch.__version__), "device": t.device.type, "precision": t.precision.name,
               "steps": t.global_step, "seconds": round(t.elapsed, 1),
               "generator": half(t.generator.state_dict()), "discriminator": half(t.discriminator.state_dict()),
               **({"generator_ema": half(t.generator_ema.state_dict())} if t.generator_ema is not None else {}),
               "history": {k: torch.tensor(v, dtype=torch.float32) for k, v in t.history.items()}}
    return checkpoints.save(path, CHECKPOINT_KIND, payload)


def load(path: str | os.PathLike | None = None, device: str = "cpu") -> SelfConditionedGAN:
    """The model in a weights file (default: the shipped one); training can go on from it (fresh
    optimizers). A file of another kind is refused."""
    path = Path(path) if path is not None else pretrained_path()
    state = checkpoints.load_weights(path, CHECKPOINT_KIND, KIND, remedy=f"make it with: python -m gan_course "
                                     f"train {KIND} --minutes 5 --seed 0 --out runs/{KIND}")
    shares = state["shares"].double()
    model = build(int(state["seed"]), len(shares), device=device)
    steps = int(state["steps"])
    model.trainer.load_weights({k: state[k] for k in ("generator", "discriminator", "generator_ema") if k in state},
                               history=state["history"],
                               counters={"global_step": steps, "g_updates": steps, "d_updates": steps,
                                         "elapsed": float(state["seconds"])})
    model.shares = shares
    return model


def train_self_conditioned(out: str | os.PathLike, minutes: float | None = 5.0, seed: int = 0,
                           progress: bool = True, steps: int | None = None, device: str = "auto",
                           command: str = "") -> dict:
    """Train ``dcgan-sc`` for ``minutes`` (or ``steps``) and write ``out/`` as ``train dcgan`` does:
    ``samples.npy`` (uint8 (1000, 28, 28)), ``metrics.json`` (every metric beside its real
    reference, and the clusters' shares) and ``weights.pt``. Returns what ``metrics.json`` holds."""
    require_budget(steps, minutes, "minutes")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    model = build(seed, device=device)
    stopped = None
    try:
        model.trainer.fit(steps=steps, seconds=None if minutes is None else 60 * minutes, progress=progress)
    except NonFiniteLossError as error:
        stopped = str(error)
    x_fake, clusters = model.sample(NUM_SAMPLES, seed=seed)
    np.save(out / "samples.npy", recipes.to_uint8(x_fake))
    save(model, out / "weights.pt", command)
    t = model.trainer
    result = {"kind": KIND, "seed": seed, "steps": t.global_step, "seconds": round(time.perf_counter() - start, 1),
              "train_seconds": round(t.elapsed, 1), "device": str(t.device), "precision": t.precision.name,
              "interrupted": t.interrupted, **({"stopped": stopped} if stopped else {}),
              "clusters": model.num_clusters, "shares": [round(float(s), 4) for s in model.shares],
              "metrics": classifier.evaluate_images(x_fake, value_range=(-1, 1))}
    runs.write_json(out / "metrics.json", result)
    return result


def sample_dcgan_sc(weights_path: str | os.PathLike, n: int, seed: int = 0, steps: int | None = None) -> np.ndarray:
    """``n`` digits from a ``dcgan-sc`` weights file as uint8 (n, 28, 28) (``steps``: a GAN samples
    in one step; any other value is refused)."""
    if steps is not None and steps != 1:
        raise ValueError(f"steps must be 1 or None for {KIND}: a GAN samples in one network call, got {steps!r}")
    x, _ = load(weights_path).sample(n, seed=seed)
    return recipes.to_uint8(x)
