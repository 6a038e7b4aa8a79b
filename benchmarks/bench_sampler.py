"""DeviceSampler (index slices of device-resident tensors) vs a torch DataLoader.

Prints the time to draw minibatches of the bundled MNIST both ways and their ratio.
Run:  python benchmarks/bench_sampler.py [--batches 2000] [--batch-size 64] [--device auto]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from gan_course.config import get_device
from gan_course.data import DeviceSampler, mnist


def time_draws(draw, batches: int, device: torch.device) -> float:
    draw()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(batches):
        batch = draw()
    if device.type == "cuda":
        torch.cuda.synchronize()
    assert batch[0].shape[0] > 0
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = get_device(args.device)
    x, y = mnist("train", source="bundled")

    sampler = DeviceSampler(x, y, batch_size=args.batch_size, device=device, seed=0)
    fast = time_draws(lambda: next(sampler), args.batches, device)

    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True, drop_last=True)
    batches = iter(())

    def from_loader():
        nonlocal batches
        try:
            xb, yb = next(batches)
        except StopIteration:
            batches = iter(loader)
            xb, yb = next(batches)
        return xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)

    slow = time_draws(from_loader, args.batches, device)
    per = 1e6 / args.batches
    print(f"device {device}, {args.batches} batches of {args.batch_size} MNIST digits")
    print(f"  DeviceSampler : {fast:7.3f} s  ({fast * per:7.1f} µs/batch)")
    print(f"  DataLoader    : {slow:7.3f} s  ({slow * per:7.1f} µs/batch)")
    print(f"  ratio DataLoader / DeviceSampler = {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
