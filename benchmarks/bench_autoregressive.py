"""Autoregressive models on the course scoreboard: held-out bits/dim against the density baselines
and the VAE, training time, and what sampling costs next to scoring.

Every row is scored on the bundled binarised test split (1,000 digits) after training on the
4,000 bundled training digits:

- naive Bayes and Bernoulli mixtures (K = 10, 50, 100, 200; 100 EM iterations, seed 0), as in
  notebooks 02-04 (the best mixture by its test score);
- the VAE with notebook 04's full-mode settings (latent 16, hidden 256, 2,000 steps, lr 1e-3,
  KL warm-up 333 steps), scored by its ELBO and its importance-weighted bound (k = 500);
- the FVSBN (lr 3e-3, weight decay 1e-3, shifts of up to 1 pixel) and MADE, each trained for
  ``--minutes`` of wall-clock time; MADE through ``autoregressive.train_autoregressive``, the
  very run of ``python -m gan_course train autoregressive``.

Then milliseconds per digit to score the test split (one pass), to sample 100 digits pixel by
pixel with the cache, and to sample without it (one whole pass per pixel, ``--naive`` digits).

    python benchmarks/bench_autoregressive.py --minutes 5 --seeds 0 1
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

import torch

from gan_course import autoregressive, density, vae
from gan_course.config import seed_everything
from gan_course.data import mnist


def baselines(x_train: torch.Tensor, x_test: torch.Tensor) -> dict[str, float]:
    models = {"naive Bayes": density.BernoulliNaiveBayes().fit(x_train)}
    for k in (10, 50, 100, 200):
        models[f"Bernoulli mixture K={k}"] = density.BernoulliMixture(k, max_iter=100, seed=0).fit(x_train)
    return density.scoreboard(models, x_test)


def vae_rows(x_train: torch.Tensor, x_test: torch.Tensor, seed: int, steps: int, k: int) -> dict[str, float]:
    seed_everything(seed)
    model = vae.VAE(latent_dim=16, hidden=256)
    start = time.perf_counter()
    vae.fit_vae(model, x_train, steps=steps, lr=1e-3, seed=seed, kl_warmup=steps // 6, progress=False, device="cpu")
    seconds = time.perf_counter() - start
    with torch.no_grad():
        return {"elbo": float(model.bits_per_dim(x_test)), "iw": float(vae.ImportanceWeighted(model, k=k).bits_per_dim(x_test)),
                "seconds": seconds}


def fvsbn_row(x_train: torch.Tensor, x_test: torch.Tensor, seed: int, minutes: float):
    seed_everything(seed)
    model = autoregressive.FVSBN(784, event_shape=(1, 28, 28))
    start = time.perf_counter()
    state = autoregressive.fit_autoregressive(model, x_train, seconds=60 * minutes, lr=3e-3, weight_decay=1e-3,
                                              max_shift=1, seed=seed, progress=False)
    return model, {"test": float(model.bits_per_dim(x_test)), "train": float(model.bits_per_dim(x_train)),
                   "steps": state.step, "seconds": time.perf_counter() - start}


def made_row(seed: int, minutes: float):
    with tempfile.TemporaryDirectory() as out:
        result = autoregressive.train_autoregressive(out, minutes=minutes, seed=seed, progress=False)
        model = autoregressive.load_model(f"{out}/weights.pt")
    return model, {"test": result["test_bits_per_dim"], "train": result["train_bits_per_dim"],
                   "steps": result["steps"], "seconds": result["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget of each autoregressive model")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--vae-steps", type=int, default=2000)
    parser.add_argument("--k", type=int, default=500, help="importance samples of the VAE bound")
    parser.add_argument("--naive", type=int, default=20, help="digits sampled the slow way (one pass per pixel)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x_train, _ = mnist("train", source="bundled", binarize=True)
    x_test, _ = mnist("test", source="bundled", binarize=True)

    base = baselines(x_train, x_test)
    best_mixture = min((n for n in base if n.startswith("Bernoulli")), key=base.get)
    print("| model | seed | held-out bits/dim | nats/image | train bits/dim | steps | train s |")
    print("|---|---|---|---|---|---|---|")
    for name, bpd in base.items():
        print(f"| {name} | - | {bpd:.4f} | {bpd * 784 * math.log(2):.1f} | | | |")
    costs = {}
    for seed in args.seeds:
        v = vae_rows(x_train, x_test, seed, args.vae_steps, args.k)
        print(f"| VAE (ELBO), {args.vae_steps} steps | {seed} | {v['elbo']:.4f} | {v['elbo'] * 784 * math.log(2):.1f} "
              f"| | {args.vae_steps} | {v['seconds']:.0f} |")
        print(f"| VAE (IW bound, k={args.k}) | {seed} | {v['iw']:.4f} | {v['iw'] * 784 * math.log(2):.1f} | | | |")
        for name, (model, row) in (("FVSBN", fvsbn_row(x_train, x_test, seed, args.minutes)),
                                   ("MADE", made_row(seed, args.minutes))):
            print(f"| {name} ({args.minutes:g} min) | {seed} | {row['test']:.4f} | {row['test'] * 784 * math.log(2):.1f} "
                  f"| {row['train']:.4f} | {row['steps']} | {row['seconds']:.0f} |", flush=True)
            if seed == args.seeds[0]:
                costs[name] = {**autoregressive.measure_costs(model, x_test, num_samples=100, naive=False),
                               **{k: v for k, v in autoregressive.measure_costs(
                                   model, x_test[:1], num_samples=args.naive).items() if k.startswith("naive")}}
    print(f"\nbest mixture: {best_mixture} at {base[best_mixture]:.4f} bits/dim")
    print("\n| model | score, ms/digit (1,000 at once) | sample, ms/digit (100, cached) "
          f"| sample, ms/digit ({args.naive}, one pass per pixel) | sample / score |")
    print("|---|---|---|---|---|")
    for name, c in costs.items():
        print(f"| {name} | {c['score_ms']:.3f} | {c['sample_ms']:.2f} | {c['naive_sample_ms']:.1f} "
              f"| {c['sample_ms'] / c['score_ms']:.0f}x |")


if __name__ == "__main__":
    main()
