"""GPU benchmark: one 60,000-image epoch of the course's DCGAN (goal: at most 1 s on an H100/H200).

The trainer of the ``dcgan`` recipe (``recipes.image_trainer``: data resident on the GPU,
channels_last, bf16/fp16 autocast, fused Adam), its minibatches drawn from the 4,000 bundled
training digits tiled 15 times to 60,000 images. One epoch is 60,000 // batch steps, each a
discriminator and a generator update; it is timed whole, between two CUDA synchronisations,
after a warm-up (cuDNN's algorithm choice, the allocator). The figure, printed last, is the
fastest of the timed epochs.

    python benchmarks/gpu_epoch.py [--batch-size 64] [--epochs 3] [--precision auto|fp32|bf16|fp16]
    python benchmarks/gpu_epoch.py --device cpu --tiny     (checks that it runs, on a CPU, in seconds)

Without CUDA (and without ``--device cpu``) it refuses in one line, exit code 2. It stays within
about a minute on a GPU: when the warm-up shows an epoch would take more than 15 s, one epoch is
timed instead of ``--epochs``.
"""

from __future__ import annotations

import argparse
import time

import torch

from gpu_device import require_device  # benchmarks/ is the script's folder, first on sys.path

EPOCH_IMAGES = 60_000
GOAL_SECONDS = 1.0  # on an H100/H200 (issue 18)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (the benchmark), or cpu with --tiny to check it runs")
    parser.add_argument("--batch-size", type=int, default=64, help="the recipe's is 64")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs; the fastest is the figure")
    parser.add_argument("--precision", default=None, help="the trainer's precision (default: the recipe's choice)")
    parser.add_argument("--tiny", action="store_true", help="1,024 images and one epoch: a check that it runs")
    return parser.parse_args(argv)


def tiled_digits(n: int, device: torch.device) -> torch.Tensor:
    """The bundled training digits in [-1, 1], repeated to ``n`` images (n, 1, 28, 28), on ``device``."""
    from gan_course import data, recipes

    x = recipes.to_gan_range(data.mnist("train", source="bundled")[0])  # (4000, 1, 28, 28)
    x = x.repeat(-(-n // len(x)), 1, 1, 1)[:n].to(device)  # (n, 1, 28, 28)
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(trainer, steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` trainer steps, between two synchronisations."""
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    sync(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    device = require_device(args.device)
    from gan_course import recipes  # after the check: a refusal is quick
    from gan_course.samplers import DeviceSampler

    if device.type == "cpu":
        torch.set_num_threads(1)  # a check on a shared machine, not a measurement
    images = 1024 if args.tiny else EPOCH_IMAGES
    chosen = {} if args.precision is None else {"precision": args.precision}
    trainer = recipes.image_trainer("dcgan", seed=0, device=str(device), batch_size=args.batch_size, **chosen)
    # the recipe's trainer, with its minibatches drawn from the tiled set instead of the 4,000 digits
    trainer.sampler = DeviceSampler(tiled_digits(images, device), batch_size=args.batch_size, seed=0)
    steps = images // args.batch_size
    warm = timed_steps(trainer, 3 if args.tiny else 50, device) / (3 if args.tiny else 50)
    epochs = 1 if args.tiny or warm * steps > 15 else args.epochs
    seconds = [timed_steps(trainer, steps, device) for _ in range(epochs)]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (1 thread)"
    print(f"device: {name}; torch {torch.__version__}; precision {trainer.precision.name}; batch {args.batch_size}; "
          f"{steps} steps per epoch of {images:,} images")
    for i, s in enumerate(seconds):
        print(f"  epoch {i + 1}: {s:.3f} s ({steps / s:.0f} steps/s, {images / s:,.0f} images/s)")
    best = min(seconds)
    met = "met" if best <= GOAL_SECONDS else "missed"
    verdict = "" if args.tiny else f"; goal <= {GOAL_SECONDS:g} s on an H100/H200: {met}"
    print(f"{images:,}-image DCGAN epoch: {best:.3f} s (fastest of {epochs}){verdict}")


if __name__ == "__main__":
    main()
