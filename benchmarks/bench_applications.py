"""Notebook 10's goals table: one run of each application, its measurements beside its goals.

    python benchmarks/bench_applications.py --minutes 5 --seeds 0 1 2            # 5 wall-clock minutes each
    python benchmarks/bench_applications.py --kinds semi aae --steps semi=3300 aae=13000

Each run is ``train_<kind>`` into a temporary folder, with one torch thread. The machine this
course is built on is shared, so every row also reports the steps done, the processor seconds
used (``cpu_seconds``: what the run would need on a quiet core) and the load average at the end.
``--steps kind=N`` trains exactly N steps instead (the time budget then only caps the run).
``--cpu-clock`` runs every budget on this process's processor time instead of the wall clock
(``time.perf_counter`` is replaced by ``time.process_time`` in this process): with one torch
thread, "5 minutes" is then what one quiet core does in 5 minutes, however busy the machine is —
how the shipped weights and the goals table were made on a shared machine. ``--keep DIR`` keeps
each run's folder (``DIR/KIND``, with ``grid.png``) instead of deleting it:

    python benchmarks/bench_applications.py --kinds semi --cpu-clock --keep runs/cpu5   # then
    cp runs/cpu5/semi/weights.pt assets/models/semi_mnist.pt
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from gan_course import aae, runs, semi_supervised, superres, text2digit

TRAIN = {"semi": semi_supervised.train_semi, "text2digit": text2digit.train_text2digit,
         "aae": aae.train_aae, "superres": superres.train_superres}


def goals(kind: str, r: dict) -> list[tuple[str, str, bool]]:
    """(what, measured, met) for each goal of ``kind`` in the issue."""
    if kind == "semi":
        gain = r["test_accuracy"] - r["baseline_accuracy"]
        return [("test accuracy >= 0.90", f"{r['test_accuracy']:.3f}", r["test_accuracy"] >= 0.90),
                ("+5 points over labels only", f"{100 * gain:+.1f} (labels only {r['baseline_accuracy']:.3f})",
                 gain >= 0.05)]
    if kind == "text2digit":
        return [("digit as asked >= 90 %", f"{r['digit_accuracy']:.3f} (L2: {r['baseline']['digit_accuracy']:.3f})",
                 r["digit_accuracy"] >= 0.9),
                ("thickness read back >= 80 %", f"{r['thickness_readback']:.3f} (L2: {r['baseline']['thickness_readback']:.3f})",
                 r["thickness_readback"] >= 0.8),
                ("slant read back >= 80 %", f"{r['slant_readback']:.3f} (L2: {r['baseline']['slant_readback']:.3f})",
                 r["slant_readback"] >= 0.8)]
    if kind == "aae":
        return [("rank correlation >= 0.9", f"{r['rank_correlation']:.3f}", r["rank_correlation"] >= 0.9),
                ("KS of each free unit <= 0.1", " ".join(f"{v:.3f}" for v in r["ks_free_units"]), r["ks_max"] <= 0.1)]
    if kind == "superres":
        return [("classifier accuracy >= 95 %", f"{r['accuracy']:.3f} (L2: {r['baseline']['accuracy']:.3f})",
                 r["accuracy"] >= 0.95),
                ("sharper than L2", f"{r['sharpness']:.3f} vs {r['baseline']['sharpness']:.3f} (real {r['real_sharpness']:.3f})",
                 r["sharpness"] > r["baseline"]["sharpness"])]
    raise ValueError(kind)


def write_grid(path: Path, images: torch.Tensor) -> None:
    """grid.png of a kept run (images (N, 1, 28, 28) in [0, 1])."""
    from gan_course import plots, storage

    storage.atomic_write_bytes(path, plots.image_grid_png(images, nrow=10))


def run(kind: str, minutes: float, seed: int, steps: int | None, keep: str | None = None, command: str = "") -> dict:
    wall = time.time()
    options = {} if steps is None else {"steps": steps}
    if keep is None:
        with tempfile.TemporaryDirectory() as scratch:
            result = TRAIN[kind](Path(scratch) / kind, minutes=minutes, seed=seed, progress=False, **options)
    else:  # the run's folder appears complete or not at all
        with runs.output_folder(Path(keep) / kind, force=True) as folder:
            result = TRAIN[kind](folder, minutes=minutes, seed=seed, progress=False, write_grid=write_grid,
                                 command=command, **options)
    return {**result, "wall_seconds": round(time.time() - wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=list(TRAIN), choices=list(TRAIN))
    parser.add_argument("--minutes", type=float, default=5.0, help="the budget of each run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", nargs="*", default=[], metavar="KIND=N", help="train KIND for exactly N steps")
    parser.add_argument("--json", default=None, help="also write every result to this file")
    parser.add_argument("--cpu-clock", action="store_true", help="budgets in processor seconds, not wall seconds")
    parser.add_argument("--keep", default=None, metavar="DIR", help="keep each run's folder as DIR/KIND")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.cpu_clock:
        time.perf_counter = time.process_time  # every budget in this process counts processor time
    steps = {k: int(v) for k, v in (item.split("=") for item in args.steps)}
    results = []
    print(f"{'kind':11s}{'seed':>5s}{'steps':>7s}{'wall s':>8s}{'cpu s':>7s}{'load':>6s}   goal: measured (met?)",
          flush=True)
    for kind in args.kinds:
        for seed in args.seeds:
            command = (f"python benchmarks/bench_applications.py --kinds {kind} --minutes {args.minutes:g} "
                       f"--seeds {seed}{' --cpu-clock' if args.cpu_clock else ''} --keep {args.keep}")
            r = run(kind, args.minutes if kind not in steps else max(args.minutes, 600.0), seed, steps.get(kind),
                    args.keep, command)
            results.append(r)
            cells = "; ".join(f"{what}: {measured} ({'met' if ok else 'NOT met'})"
                              for what, measured, ok in goals(kind, r))
            print(f"{kind:11s}{seed:5d}{r['steps']:7d}{r['wall_seconds']:8.0f}{r['cpu_seconds']:7.0f}"
                  f"{r['load_average']:6.1f}   "
                  f"{cells}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
