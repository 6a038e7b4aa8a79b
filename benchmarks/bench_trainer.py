"""GANTrainer against a reference DCGAN loop written the way the PyTorch examples write it.

Both train the same DCGAN networks (the course's "dcgan" recipe, same initial weights) at the
same batch size, in one process, in alternating rounds so that a busy machine slows both alike:

- trainer: ``recipes.image_trainer("dcgan")`` — data resident on the device and sampled by
  ``index_select``, one discriminator pass over real and fake together, no weight gradients
  for D during the generator step, multi-tensor (CPU) or fused (CUDA) Adam, bf16 autocast on
  CPUs with native bf16 (AVX512-BF16 or AMX), and on CUDA channels_last with bf16/fp16 autocast;
- reference: ``DataLoader(TensorDataset(x), shuffle=True)``, fp32, plain ``torch.optim.Adam``,
  ``BCEWithLogitsLoss``, D on real then on ``fake.detach()``, then G through D (the loop of
  pytorch/examples/dcgan).

Run: ``python benchmarks/bench_trainer.py [--device cpu|cuda] [--batch-size 64] [--rounds 5]
[--precision auto|fp32|bf16|fp16]`` (``--precision fp32`` measures the trainer without autocast).
Prints iterations per second of each, their ratio, and the time of one 60,000-image epoch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from gan_course import data, recipes
from gan_course.config import get_device


def reference_loop(generator: nn.Module, discriminator: nn.Module, x: torch.Tensor, batch_size: int,
                   device: torch.device):
    """An endless iterator; each ``next`` is one D and one G update, as in pytorch/examples/dcgan."""
    loader = DataLoader(TensorDataset(x), batch_size=batch_size, shuffle=True, drop_last=True)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones = torch.ones(batch_size, device=device)
    zeros = torch.zeros(batch_size, device=device)
    while True:
        for (real,) in loader:
            real = real.to(device)
            # Train discriminator
            discriminator.zero_grad()
            loss_real = criterion(discriminator(real), ones)
            loss_real.backward()
            noise = torch.randn(batch_size, generator.latent_dim, device=device)
            fake = generator(noise)
            loss_fake = criterion(discriminator(fake.detach()), zeros)
            loss_fake.backward()
            opt_d.step()
            # Train generator
            generator.zero_grad()
            loss_g = criterion(discriminator(fake), ones)
            loss_g.backward()
            opt_g.step()
            yield (loss_real + loss_fake).item(), loss_g.item()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_iterations(step, iterations: int, device: torch.device) -> float:
    """Iterations per second of ``iterations`` calls of ``step``."""
    sync(device)
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    sync(device)
    return iterations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=None, help="per round (default: 20 CPU, 200 GPU)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", default=None, help="the trainer's precision (default: the recipe's choice)")
    args = parser.parse_args()
    device = get_device(args.device)
    iterations = args.iterations or (200 if device.type == "cuda" else 20)

    chosen = {} if args.precision is None else {"precision": args.precision}
    trainer = recipes.image_trainer("dcgan", seed=0, device=str(device), batch_size=args.batch_size, **chosen)
    torch.manual_seed(0)
    generator, discriminator = recipes.build_networks(recipes.IMAGE_RECIPES["dcgan"])
    generator.load_state_dict(trainer.generator.state_dict())  # the same starting point
    discriminator.load_state_dict(trainer.discriminator.state_dict())
    x = recipes.to_gan_range(data.mnist("train")[0])  # (N, 1, 28, 28), on the CPU like a dataset
    reference = reference_loop(generator.to(device), discriminator.to(device), x, args.batch_size, device)

    runs = {"GANTrainer": lambda: trainer.step(), "reference loop": lambda: next(reference)}
    for step in runs.values():  # warm-up: allocator, cuDNN / oneDNN algorithm choice
        time_iterations(step, max(3, iterations // 10), device)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, step in runs.items():
            rates[name].append(time_iterations(step, iterations, device))

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; precision of the trainer: {trainer.precision.name}")
    print(f"DCGAN recipe, batch {args.batch_size}, {args.rounds} alternating rounds of {iterations} iterations")
    for run, values in rates.items():
        median = statistics.median(values)
        epoch = 60000 / args.batch_size / median
        print(f"{run:>15}: {median:8.1f} it/s (rounds {min(values):.1f}-{max(values):.1f}), "
              f"60,000-image epoch {epoch:7.1f} s")
    ratio = statistics.median(a / b for a, b in zip(rates["GANTrainer"], rates["reference loop"]))
    print(f"ratio GANTrainer / reference: {ratio:.2f} (median of per-round ratios)")


if __name__ == "__main__":
    main()
