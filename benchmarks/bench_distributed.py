"""What training in several processes costs: the dcgan recipe alone and under torchrun, and one all-reduce.

Run it alone (one process), then under torchrun with N processes; rank 0 prints one table:

    python benchmarks/bench_distributed.py [--device cpu] [--steps 30] [--threads 1]
    torchrun --standalone --nproc_per_node 2 benchmarks/bench_distributed.py [--device cpu] [--steps 30]

Rows: the trainer's steps per second and images per second (each rank draws a batch of
``batch_size`` from its shard, so an update of N ranks sees N x 64 images), and the time of one
all-reduce of the generator's and of the discriminator's gradient (what every update adds).
The networks, data (the 4,000 bundled digits) and precision are the recipe's.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch
import torch.distributed as dist

from gan_course import data, distributed, recipes
from gan_course.train import GANTrainer


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def all_reduce_ms(numel: int, device: torch.device, repeats: int = 50) -> float:
    """Median milliseconds of one all-reduce of ``numel`` float32 numbers."""
    flat = torch.randn(numel, device=device)
    times = []
    for _ in range(repeats + 5):
        sync(device)
        start = time.perf_counter()
        dist.all_reduce(flat)
        sync(device)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times[5:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (gloo) or cuda (NCCL)")
    parser.add_argument("--kind", default="dcgan", choices=recipes.KINDS)
    parser.add_argument("--steps", type=int, default=30, help="timed steps, after 5 warm-up steps")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process on the CPU")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    world = distributed.setup(args.device)
    recipe = recipes.IMAGE_RECIPES[args.kind]
    x, y = data.mnist("train", source="bundled")
    x = recipes.to_gan_range(x)  # (4000, 1, 28, 28)
    torch.manual_seed(0)
    generator, discriminator = recipe.net.build()
    chosen = recipes.image_trainer(args.kind, device=args.device).config  # the recipe's device and precision
    config = dataclasses.replace(chosen, device=str(world.device) if world else args.device)
    trainer = GANTrainer(generator, discriminator, (x, y) if recipe.net.conditional else x, config=config,
                         distributed=world)
    trainer.fit(steps=5, progress=False)
    sync(trainer.device)
    start = time.perf_counter()
    trainer.fit(steps=args.steps, progress=False)
    sync(trainer.device)
    seconds = time.perf_counter() - start
    n = distributed.world_size()
    sizes = {name: sum(p.numel() for p in net.parameters()) for name, net in
             (("generator", trainer.generator), ("discriminator", trainer.discriminator))}
    reduce_ms = {name: all_reduce_ms(size, trainer.device) for name, size in sizes.items()} if world else {}
    if distributed.writes_outputs():
        rate = args.steps / seconds
        backend = world.backend if world else "no backend"
        print(f"{args.kind}, {n} process(es) on {trainer.device.type} ({backend}), {args.threads} thread(s) each, "
              f"precision {trainer.precision.name}, batch {config.batch_size} per process")
        print(f"  steps/s {rate:7.2f}   images/s (all processes) {rate * config.batch_size * n:8.0f}")
        for name, ms in reduce_ms.items():
            print(f"  one all-reduce of the {name}'s gradient ({sizes[name]:,} numbers): {ms:.2f} ms")
    distributed.shutdown()


if __name__ == "__main__":
    main()
