"""Benchmark: appendix B1's context-aware recommenders over several seeds, and the issue's goals.

For each seed, ``gan_course.recsys.run_all`` generates the default world, trains the seven
strategies and measures them on the held-out sessions. Prints each seed's recall@10 and catalog
coverage per strategy, then the goals:

- ``contextual_model`` above ``no_context`` in recall@10 by at least 20 % relative;
- ``latent_context`` recovers at least half of the gap between ``no_context`` and
  ``oracle_context`` (also printed: the share of the *mood's* gap, between ``contextual_model``,
  which sees everything but the mood, and the oracle);
- ``pre_filter`` has lower catalog coverage than ``no_context`` (and the same within one context);
- the whole ``run_all`` under 2 minutes (wall clock of each seed, with ``--threads`` torch threads).

    python benchmarks/bench_recsys.py [--seeds 0 1 2 3 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

from gan_course.recsys import STRATEGIES, run_all, summary_ratios


THRESHOLDS = {  # summary_ratios key: (label, comparison, bound)
    "context_gain": ("contextual_model / no_context, recall@10", ">=", 1.2),
    "latent_share": ("latent_context: share of the gap no_context -> oracle", ">=", 0.5),
    "latent_share_of_mood": ("latent_context: share of the gap contextual_model -> oracle (the mood's)", ">=", 0.5),
    "pre_filter_coverage": ("pre_filter / no_context, catalog coverage", "<", 1.0),
    "pre_filter_context_coverage": ("pre_filter / no_context, in-context coverage", "<", 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1, help="torch threads inside run_all")
    args = parser.parse_args()
    results, walls = {}, {}
    for seed in args.seeds:
        start = time.perf_counter()
        results[seed] = run_all(seed, threads=args.threads)
        walls[seed] = time.perf_counter() - start
        print(f"seed {seed}: run_all {walls[seed]:.1f} s", flush=True)

    print(f"\nrecall@10 / catalog coverage / in-context coverage, per seed ({args.threads} torch thread(s))")
    print("| strategy | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean recall | mean coverage | seconds |")
    print("|---|" + "---|" * (len(args.seeds) + 3))
    for name in STRATEGIES:
        cells = [f"{results[s][name]['recall_at_10']:.3f} / {results[s][name]['coverage']:.3f} / "
                 f"{results[s][name]['context_coverage']:.3f}" for s in args.seeds]
        mean_recall = statistics.mean(results[s][name]["recall_at_10"] for s in args.seeds)
        mean_cov = statistics.mean(results[s][name]["coverage"] for s in args.seeds)
        mean_sec = statistics.mean(results[s][name]["seconds"] for s in args.seeds)
        print(f"| {name} | " + " | ".join(cells) + f" | {mean_recall:.3f} | {mean_cov:.3f} | {mean_sec:.1f} |")

    print("\ngoals, per seed")
    print("| quantity | goal | " + " | ".join(f"seed {s}" for s in args.seeds) + " | met on |")
    print("|---|---|" + "---|" * (len(args.seeds) + 1))
    per_seed = {s: summary_ratios(results[s]) for s in args.seeds}
    for key, (label, op, bound) in THRESHOLDS.items():
        values = [per_seed[s][key] for s in args.seeds]
        met = sum((v >= bound) if op == ">=" else (v < bound) for v in values)
        print(f"| {label} | {op} {bound} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {met}/{len(values)} |")
    wall = [walls[s] for s in args.seeds]
    print("| run_all wall clock (s) | < 120 | " + " | ".join(f"{w:.1f}" for w in wall)
          + f" | {sum(w < 120 for w in wall)}/{len(wall)} |")


if __name__ == "__main__":
    main()
