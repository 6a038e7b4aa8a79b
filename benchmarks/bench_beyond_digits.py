"""Notebook 11's digit goals (issue 16): diffusion, flow matching and ``dcgan-sc`` in 5 minutes.

    python benchmarks/bench_beyond_digits.py --cpu-clock --seeds 0 1 2
    python benchmarks/bench_beyond_digits.py --kinds dcgan-sc --cpu-clock --keep runs/beyond5

Each run is the command line's ``train KIND`` (``denoising_runs.train_diffusion_digits``,
``train_flow_digits``, ``self_conditioned.train_self_conditioned``) with one torch thread and a
budget of ``--minutes``, scored by ``classifier.evaluate_images`` on its 1,000 samples. The goals:
diffusion or flow with a classifier score of at least 0.8 x the real digits'; ``dcgan-sc`` at
least 0.9 x real with every digit between 5 % and 15 % of the samples.

``--cpu-clock`` counts every budget in this process's processor seconds instead of wall seconds
(``time.perf_counter`` is replaced by ``time.process_time``): with one thread, "5 minutes" is
then what one quiet core does in 5 minutes, however busy the shared machine is. ``--keep DIR``
keeps each run's folder as ``DIR/KIND-SEED`` (its ``weights.pt`` can be shipped).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from gan_course import denoising_runs, runs, self_conditioned

TRAIN = {"diffusion": denoising_runs.train_diffusion_digits, "flow": denoising_runs.train_flow_digits,
         "dcgan-sc": self_conditioned.train_self_conditioned}


def goals(kind: str, metrics: dict) -> list[tuple[str, str, bool]]:
    """(what, measured, met) for each goal of ``kind``."""
    score = metrics["classifier_score"]
    ratio = score["value"] / score["real"]
    if kind != "dcgan-sc":
        return [("score >= 0.8 x real", f"{score['value']:.2f} = {ratio:.2f} x {score['real']:.2f}", ratio >= 0.8)]
    shares = metrics["class_histogram"]["value"]
    return [("score >= 0.9 x real", f"{score['value']:.2f} = {ratio:.2f} x {score['real']:.2f}", ratio >= 0.9),
            ("every digit 5-15 %", " ".join(f"{100 * s:.0f}" for s in shares),
             all(0.05 <= s <= 0.15 for s in shares))]


def run(kind: str, minutes: float, seed: int, keep: str | None, command: str) -> dict:
    wall, cpu = time.time(), time.process_time()
    if keep is None:
        with tempfile.TemporaryDirectory() as scratch:
            result = TRAIN[kind](Path(scratch) / kind, minutes=minutes, seed=seed, progress=False)
    else:  # the run's folder appears complete or not at all
        with runs.output_folder(Path(keep) / f"{kind}-{seed}", force=True) as folder:
            result = TRAIN[kind](folder, minutes=minutes, seed=seed, progress=False, command=command)
    return {**result, "wall_seconds": time.time() - wall, "cpu_seconds": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=list(TRAIN), choices=list(TRAIN))
    parser.add_argument("--minutes", type=float, default=5.0, help="the budget of each run")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--cpu-clock", action="store_true", help="budgets in processor seconds, not wall seconds")
    parser.add_argument("--keep", default=None, metavar="DIR", help="keep each run's folder as DIR/KIND-SEED")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.cpu_clock:
        time.perf_counter = time.process_time  # every budget in this process counts processor time
    print(f"{'kind':10s}{'seed':>5s}{'steps':>7s}{'wall s':>8s}{'cpu s':>7s}{'FID':>7s}   goal: measured (met?)",
          flush=True)
    for kind in args.kinds:
        for seed in args.seeds:
            command = (f"python benchmarks/bench_beyond_digits.py --kinds {kind} --minutes {args.minutes:g} "
                       f"--seeds {seed}{' --cpu-clock' if args.cpu_clock else ''} --keep {args.keep}")
            r = run(kind, args.minutes, seed, args.keep, command)
            m = r["metrics"].get("quality", r["metrics"])  # diffusion and flow nest theirs
            cells = "; ".join(f"{what}: {measured} ({'met' if ok else 'NOT met'})" for what, measured, ok in goals(kind, m))
            print(f"{kind:10s}{seed:5d}{r['steps']:7d}{r['wall_seconds']:8.0f}{r['cpu_seconds']:7.0f}"
                  f"{m['fid']['value']:7.1f}   {cells}", flush=True)
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
