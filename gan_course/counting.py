r"""Can a generative model count? Images of 1 to 4 blobs, a blob counter, and two models to ask.

A GAN's discriminator judges local texture well and global structure poorly: the course's
sources list "cannot count objects" among GANs' failures. This module makes the question
measurable on 28x28 images:

- ``blob_images``: a dataset made by a seed, each image holding k Gaussian blobs, k uniform in
  1..4, their centres at least ``min_distance`` pixels apart so they never touch;
- ``count_blobs``: the connected components of the image above a threshold (8-connectivity),
  computed by label propagation in torch (checked against ``scipy.ndimage.label``);
- ``count_histogram``: the share of images with 0, 1, ..., 6+ blobs, to compare a model's samples
  with the data's.

``gan_trainer`` (the DCGAN recipe) and ``diffusion_trainer`` (a DDPM on a small U-Net) train on
the blobs; ``save_models``/``load_models`` keep both in one file.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_course import checkpoints, recipes
from gan_course.config import assets_dir
from gan_course.denoising import DenoiserTrainer, rebuild
from gan_course.diffusion import Diffusion
from gan_course.time_nets import TinyUNet
from gan_course.train import GANTrainer
from gan_course.validate import require_in_range, require_int, require_positive_int, require_positive_number

MAX_COUNT = 4  # blobs per image: 1..MAX_COUNT
HISTOGRAM_BINS = 7  # 0, 1, ..., 5, and 6 or more
CHECKPOINT_KIND = "counting_models"


def blob_images(n: int, seed: int = 0, max_count: int = MAX_COUNT, radius: float = 1.8,
                min_distance: float = 8.0, margin: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``n`` images (n, 1, 28, 28) in [0, 1] of k round blobs, k uniform in 1..``max_count``.

    A blob is :math:`\exp(-\lVert p - c \rVert^2 / 2r^2)` around its centre c; centres are drawn
    uniformly at least ``margin`` pixels from the border and ``min_distance`` from each other
    (by rejection), so the blobs never merge above the counter's threshold.

    Returns:
        ``(x (n, 1, 28, 28), counts (n,))``.
    """
    n = require_positive_int("n", n)
    max_count = require_int("max_count", max_count, 1, 9)
    require_positive_number("radius", radius)
    gen = torch.Generator().manual_seed(int(seed))
    counts = torch.randint(1, max_count + 1, (n,), generator=gen)  # (n,)
    centers = torch.zeros(n, max_count, 2)
    for i in range(n):
        placed: list[torch.Tensor] = []
        while len(placed) < int(counts[i]):
            c = margin + (27 - 2 * margin) * torch.rand(2, generator=gen)
            if all(float((c - p).norm()) >= min_distance for p in placed):
                placed.append(c)
        centers[i, : len(placed)] = torch.stack(placed)
    grid = torch.stack(torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij"), dim=-1)  # (28, 28, 2)
    d2 = (grid[None, None] - centers[:, :, None, None]).pow(2).sum(-1)  # (n, K, 28, 28)
    present = (torch.arange(max_count)[None] < counts[:, None]).float()[:, :, None, None]  # (n, K, 1, 1)
    x = (present * torch.exp(-d2 / (2 * radius**2))).amax(dim=1, keepdim=True)  # (n, 1, 28, 28)
    return x, counts


def count_blobs(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """The number of connected components (8-connectivity) of ``x > threshold`` in each image.

    Every pixel above the threshold starts with its own label (its index + 1); labels spread by
    3x3 max-pooling inside the foreground until nothing changes, so each component ends with its
    largest index, held by exactly one of its pixels: counting those pixels counts components.

    Args:
        x: (N, 1, H, W) images.

    Returns:
        (N,) int64 counts.

    >>> img = torch.zeros(1, 1, 8, 8); img[0, 0, 1, 1] = img[0, 0, 2, 2] = img[0, 0, 5, 5] = 1
    >>> count_blobs(img)   # a diagonal pair is one component, the lone pixel another
    tensor([2])
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"x must be a tensor of shape (N, 1, H, W), got {tuple(getattr(x, 'shape', ()))}")
    on = x.float() > threshold  # (N, 1, H, W)
    index = torch.arange(1, on[0].numel() + 1, dtype=torch.float32).reshape(on.shape[1:])  # (1, H, W)
    labels = torch.where(on, index.expand_as(on.float()), torch.zeros(()))
    for _ in range(on.shape[-1] * on.shape[-2]):
        spread = torch.where(on, F.max_pool2d(labels, 3, stride=1, padding=1), torch.zeros(()))
        if torch.equal(spread, labels):
            break
        labels = spread
    return (on & (labels == index)).sum(dim=(1, 2, 3))  # (N,)


def count_histogram(counts: torch.Tensor) -> torch.Tensor:
    """The share of images with 0, 1, ..., 5 and 6 or more blobs: (HISTOGRAM_BINS,) float64."""
    clipped = counts.long().clamp(0, HISTOGRAM_BINS - 1)
    return torch.bincount(clipped, minlength=HISTOGRAM_BINS).double() / max(len(counts), 1)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    r"""Total variation between two histograms: :math:`\tfrac12 \sum_k |p_k - q_k|` (0 = the same, 1 = disjoint)."""
    return float(0.5 * (p - q).abs().sum())


# --------------------------------------------------------------------------------------------
# The two models
# --------------------------------------------------------------------------------------------


def gan_trainer(x: torch.Tensor, seed: int = 0, device: str = "cpu") -> GANTrainer:
    """The DCGAN recipe (``recipes.IMAGE_RECIPES["dcgan"]``) on images ``x`` in [0, 1]."""
    recipe = recipes.IMAGE_RECIPES["dcgan"]
    torch.manual_seed(seed)
    generator, discriminator = recipe.net.build()
    return GANTrainer(generator, discriminator, recipes.to_gan_range(x),
                      config=dataclasses.replace(recipe.trainer, seed=seed, device=device))


DIFFUSION_WIDTH = 8  # channels of the U-Net at 28x28: blobs need little, and a CPU has little


def diffusion_trainer(x: torch.Tensor, seed: int = 0, device: str = "cpu", width: int = DIFFUSION_WIDTH,
                      lr: float = 2e-3, batch_size: int = 64) -> DenoiserTrainer:
    """A DDPM (T = 1000, linear schedule) on a ``TinyUNet`` of ``width``, on images ``x`` in [0, 1]."""
    torch.manual_seed(seed)
    model = Diffusion(TinyUNet(width=width), num_steps=1000)
    return DenoiserTrainer(model, recipes.to_gan_range(x), lr=lr, batch_size=batch_size, ema=0.995, seed=seed,
                           device=device)


@torch.no_grad()
def gan_samples(generator: torch.nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` images in [0, 1] from a DCGAN generator (eval mode)."""
    gen = torch.Generator().manual_seed(int(seed))
    was_training = generator.training
    generator.eval()
    try:
        return ((generator(torch.randn(n, generator.latent_dim, generator=gen)) + 1) / 2).clamp(0, 1)
    finally:
        generator.train(was_training)


def diffusion_samples(model: Diffusion, n: int, seed: int = 0, steps: int = 50) -> torch.Tensor:
    """``n`` images in [0, 1] from the diffusion model (DDIM, ``steps`` steps)."""
    return ((model.sample(n, steps=steps, method="ddim", seed=seed) + 1) / 2).clamp(0, 1)


def pretrained_path() -> Path:
    """Where the shipped pair lives: ``assets/models/counting_blobs.pt``."""
    return assets_dir() / "models" / "counting_blobs.pt"


def save_models(path: str | os.PathLike, gan: GANTrainer, diffusion: DenoiserTrainer, info: dict) -> Path:
    """Both samplers (the GAN's averaged generator, the diffusion model's average) in fp16, and ``info``."""
    half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
    model = diffusion.sampling_model
    payload = {"generator": half(gan.sampling_generator.state_dict()), "gan_net": dataclasses.asdict(
        recipes.IMAGE_RECIPES["dcgan"].net), "diffusion": {**model.describe(), "state": half(model.state_dict())},
        "info": dict(info)}
    return checkpoints.save(path, CHECKPOINT_KIND, payload)


def load_models(path: str | os.PathLike | None = None) -> tuple[torch.nn.Module, Diffusion, dict]:
    """``(generator, diffusion model, info)`` from a file of ``save_models`` (default: the shipped one)."""
    path = Path(path) if path is not None else pretrained_path()
    try:
        payload = checkpoints.load(path, CHECKPOINT_KIND)
    except checkpoints.CheckpointError as error:
        raise ValueError(f"path {str(path)!r} does not hold the counting models: {error}") from None
    from gan_course.specs import DCGANSpec

    generator, _ = DCGANSpec(**payload["gan_net"]).build()
    generator.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in payload["generator"].items()})
    d = payload["diffusion"]
    state = {k: v.float() if v.is_floating_point() else v for k, v in d["state"].items()}
    model = rebuild({**d, "state": state}, Diffusion, num_steps=d["num_steps"], schedule=d["schedule"])
    return generator.eval(), model, dict(payload["info"])


def blob_quality(x: torch.Tensor, threshold: float = 0.5) -> dict[str, float]:
    """How blob-like samples are: the share of foreground pixels, and the mean peak of each image
    (real blobs peak at 1)."""
    require_in_range("threshold", threshold, 0, 1)
    return {"foreground": float((x > threshold).float().mean()), "peak": float(x.amax(dim=(1, 2, 3)).mean()),
            "empty": float((x.amax(dim=(1, 2, 3)) <= threshold).float().mean())}
