"""Benchmark: diffusion (DDPM) and flow matching on ring8 and grid25 (issue 16, notebook 11).

For each kind, dataset and seed: train ``denoising_runs.TOY_RECIPE`` (a TimeMLP with Fourier
features, 6,000 steps by default) headless on one thread, draw 2,500 samples with the recipe's
sampler, and print ``divergences.mode_coverage`` (modes covered, high-quality fraction), the
training time and the network evaluations per sample. The goal of issue 16: all modes in at least
9 of 10 seeds with at least 90 % high quality, at most 120 s a run.

    python benchmarks/bench_beyond.py [--kinds flow diffusion] [--data ring8 grid25] [--seeds 10] [--steps N]

``--dashboard TICKS`` measures instead what the live view costs: the 2-D dashboard
(``widgets.diffusion2d``, flow on ring8, its default refresh and 25 steps a tick) is sent TICKS
Play ticks as the browser sends them, against the same number of updates of the same model
headless; the two are alternated ``--rounds`` times. The goal: at most 15 % slower.

Times are printed twice: wall-clock seconds and the process's CPU seconds (``time.process_time``,
on one thread), which a busy shared machine inflates much less than the wall clock.
"""

from __future__ import annotations

import argparse
import time

import torch

from gan_course import data, denoising_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=["flow", "diffusion"], choices=["flow", "diffusion"])
    parser.add_argument("--data", nargs="+", default=["ring8", "grid25"], choices=["ring8", "grid25"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the recipe's)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dashboard", type=int, default=0, metavar="TICKS", help="measure the dashboard's overhead")
    parser.add_argument("--rounds", type=int, default=3, help="--dashboard: alternations of live and headless")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.dashboard:
        dashboard_overhead(args.dashboard, args.rounds)
        return

    print(f"recipe: {denoising_runs.TOY_RECIPE}")
    print(f"{'kind':<10}{'data':<8}{'seed':>5}{'steps':>7}{'modes':>9}{'hq':>7}{'seconds':>9}{'cpu s':>8}{'NFE':>5}  ok")
    for kind in args.kinds:
        for name in args.data:
            k = len(data.toy_modes(name)[0])
            hits = 0
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                cpu = time.process_time()
                r = denoising_runs.toy_mode_run(kind, name, seed, steps=args.steps)
                cpu = time.process_time() - cpu
                ok = r["modes_covered"] == k and r["high_quality"] >= 0.9
                hits += ok
                print(f"{kind:<10}{name:<8}{seed:>5}{r['steps']:>7}{r['modes_covered']:>6}/{k:<2}{r['high_quality']:>7.3f}"
                      f"{r['seconds']:>9.1f}{cpu:>8.1f}{r['evaluations']:>5}  {'yes' if ok else 'no'}", flush=True)
            print(f"{kind} on {name}: goal met in {hits} of {args.seeds} seeds", flush=True)


def dashboard_overhead(ticks: int, rounds: int) -> None:
    """Seconds for ``ticks`` Play ticks of the dashboard against the same updates headless."""
    from gan_course.widgets.diffusion2d import Diffusion2DDashboard

    print(f"{'round':>5}{'updates':>9}{'live s':>9}{'headless s':>12}{'live cpu':>10}{'headless cpu':>14}{'frames':>8}"
          f"{'slower (wall)':>15}{'slower (cpu)':>14}")
    for r in range(rounds):
        dash = Diffusion2DDashboard("ring8", kind="flow", seed=r)
        dash.play.playing = True
        frames = len(dash.frames)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(ticks):
            dash._last_tick_end = float("-inf")  # as tests/helpers.tick: each tick after a full interval
            dash.play.value += 1
        live, live_cpu = time.perf_counter() - start, time.process_time() - cpu
        dash.play.playing = False
        updates = dash.trainer.global_step
        trainer = denoising_runs.toy_trainer("flow", "ring8", seed=r)
        start, cpu = time.perf_counter(), time.process_time()
        trainer.fit(steps=updates, progress=False)
        headless, headless_cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"{r:>5}{updates:>9}{live:>9.1f}{headless:>12.1f}{live_cpu:>10.1f}{headless_cpu:>14.1f}"
              f"{len(dash.frames) - frames:>8}{100 * (live / headless - 1):>14.1f}%"
              f"{100 * (live_cpu / headless_cpu - 1):>13.1f}%", flush=True)


if __name__ == "__main__":
    main()
