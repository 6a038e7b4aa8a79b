"""Benchmark: mode collapse on ring8 and grid25, a plain GAN against the course's recommended setting.

For each dataset and setting, train one GAN per seed, draw 2,500 samples and measure
``metrics.mode_coverage`` (VEEGAN / PacGAN protocol: a sample is of high quality within 3 std of
its nearest mode; a mode is covered when one high-quality sample is nearest to it). Prints per
cell: modes covered (mean ± standard error over seeds), runs with all modes, high-quality %,
reverse KL to the uniform histogram (nats) and seconds per run.

- plain: the non-saturating GAN with the recommended networks and learning rate, but no
  packing, no R1 penalty, no learning-rate decay, and the same number of steps;
- recommended: ``recipes.TOY_RECIPES[name]`` (what ``python -m gan_course train toy`` uses).

The published best (PacGAN, 10 trials): ring 7.9 ± 0.1 modes with 95.6 % high quality; grid
24.8 ± 0.2 modes with 93.6 % high quality.

    python benchmarks/bench_modes.py [--seeds 10] [--first-seed 0] [--data ring8 grid25] [--settings plain recommended]
                                     [--threads 1] [--steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import time

import torch

from gan_course import recipes


def plain_recipe(name: str) -> recipes.ToyRecipe:
    """The recommended networks and lr, without packing, spectral norm, R1 or learning-rate decay."""
    return dataclasses.replace(recipes.TOY_RECIPES[name], loss="nonsaturating", pack=1, spectral_norm=False,
                               r1_weight=0.0, lr_decay=0.0, d_steps=1)


def cell(rows: list[dict], num_modes: int) -> dict:
    """Mean ± standard error of the runs of one (dataset, setting) cell."""
    modes = [r["modes_covered"] for r in rows]
    sem = statistics.stdev(modes) / math.sqrt(len(modes)) if len(modes) > 1 else float("nan")
    return {"modes": statistics.mean(modes), "sem": sem, "all": sum(m == num_modes for m in modes),
            "runs": len(rows), "hq": 100 * statistics.mean(r["high_quality"] for r in rows),
            "kl": statistics.mean(r["reverse_kl"] for r in rows),
            "seconds": statistics.mean(r["seconds"] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds per cell")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--data", nargs="+", default=["ring8", "grid25"], choices=["ring8", "grid25"])
    parser.add_argument("--settings", nargs="+", default=["plain", "recommended"], choices=["plain", "recommended"])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (1 on a shared machine)")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps (for a quick look)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = []
    for name in args.data:
        for setting in args.settings:
            recipe = plain_recipe(name) if setting == "plain" else recipes.TOY_RECIPES[name]
            rows = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                r = recipes.toy_mode_run(name, recipe, seed=seed, steps=args.steps)
                rows.append(r)
                print(f"  {name:7s} {setting:11s} seed {seed}: {r['modes_covered']:2d}/{r['num_modes']} modes, "
                      f"{100 * r['high_quality']:5.1f} % high quality, reverse KL {r['reverse_kl']:.3f}, "
                      f"{r['seconds']:.1f} s", flush=True)
            table.append((name, setting, cell(rows, rows[0]["num_modes"]), rows[0]["num_modes"]))
    print()
    print("| data | setting | modes covered (mean ± s.e.) | runs with all modes | high quality % | reverse KL "
          "| s / run |")
    print("|---|---|---|---|---|---|---|")
    for name, setting, c, k in table:
        print(f"| {name} | {setting} | {c['modes']:.2f} ± {c['sem']:.2f} of {k} | {c['all']}/{c['runs']} | "
              f"{c['hq']:.1f} | {c['kl']:.3f} | {c['seconds']:.1f} |")
    print("\nrecipes: " + "; ".join(f"{n}: {recipes.TOY_RECIPES[n]}" for n in args.data))
    print(f"threads per run: {args.threads}; {time.strftime('%Y-%m-%d %H:%M')}")


if __name__ == "__main__":
    main()
