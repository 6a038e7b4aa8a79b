"""GPU benchmark: the course's GaussianMixture on CUDA against scikit-learn's on the CPU (goal: 30x faster).

100,000 samples x 32 dimensions, 16 components with diagonal covariances (``--covariance full``
for full ones), 20 EM iterations from the same start for both (tol=0: no early stop), as in
``bench_gmm.py``'s large case. scikit-learn runs in float64 on every CPU core it finds; the
course's model runs in float32 on the GPU, after one warm-up fit. Each is timed best of
``--repeats``; the largest per-sample log-likelihood difference checks that both fitted the
same model. The figure, printed last, is scikit-learn's time over the GPU's.

    python benchmarks/gpu_gmm.py [--covariance diag|full] [--iters 20] [--repeats 3]
    python benchmarks/gpu_gmm.py --device cpu --tiny     (checks that it runs, on a CPU, in seconds)

Without CUDA (and without ``--device cpu``) it refuses in one line, exit code 2.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch

from gpu_device import require_device  # benchmarks/ is the script's folder, first on sys.path

GOAL_SPEEDUP = 30.0  # scikit-learn's time over the GPU's (issue 18)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (the benchmark), or cpu with --tiny to check it runs")
    parser.add_argument("--covariance", choices=("diag", "full"), default="diag")
    parser.add_argument("--iters", type=int, default=20, help="EM iterations for both")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many fits")
    parser.add_argument("--tiny", action="store_true",
                        help="2,000 x 8, 4 components, 5 iterations: a check that it runs")
    return parser.parse_args(argv)


def blobs(n: int, d: int, k: int, seed: int = 0) -> torch.Tensor:
    """k random centres with unit noise around them, float64 (n, d)."""
    gen = torch.Generator().manual_seed(seed)
    centers = 3.0 * torch.randn(k, d, generator=gen, dtype=torch.float64)  # (k, d)
    labels = torch.randint(k, (n,), generator=gen)
    return centers[labels] + torch.randn(n, d, generator=gen, dtype=torch.float64)  # (n, d)


def best_of(repeats: int, fit, device: torch.device) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        out = fit()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    device = require_device(args.device)
    from sklearn.mixture import GaussianMixture as SkGaussianMixture  # after the check: a refusal is quick

    from gan_course.density import GaussianMixture

    if device.type == "cpu":
        torch.set_num_threads(1)  # a check on a shared machine, not a measurement
    n, d, k, iters = (2_000, 8, 4, 5) if args.tiny else (100_000, 32, 16, args.iters)
    x = blobs(n, d, k)
    start = GaussianMixture(k, args.covariance, seed=0).initialize(x)
    w, m, c = start.weights.clone(), start.means.clone(), start.covariances.clone()
    precisions = torch.linalg.inv(c) if args.covariance == "full" else 1.0 / c
    x_device = x.to(device, torch.float32)

    def ours():
        gm = GaussianMixture(k, args.covariance, max_iter=iters, tol=0.0)
        gm.set_params(*(t.to(device, torch.float32) for t in (w, m)), covariances=c.to(device, torch.float32))
        return gm.fit(x_device, warm_start=True)

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "did not converge": both stop after `iters` on purpose
            return SkGaussianMixture(k, covariance_type=args.covariance, max_iter=iters, tol=0.0,
                                     weights_init=w.numpy(), means_init=m.numpy(),
                                     precisions_init=precisions.numpy()).fit(x.numpy())

    ours()  # warm-up: the CUDA context, the kernels
    t_ours, gm = best_of(args.repeats, ours, device)
    t_sk, sk = best_of(args.repeats, theirs, torch.device("cpu"))
    diff = float(np.abs(gm.log_prob(x_device).double().cpu().numpy() - sk.score_samples(x.numpy())).max())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (1 thread)"
    print(f"{n:,} x {d}, {k} {args.covariance} components, {iters} EM iterations, best of {args.repeats}; "
          f"torch {torch.__version__}")
    print(f"  scikit-learn (CPU, float64, {os.cpu_count()} cores)   {t_sk:8.3f} s")
    print(f"  gan_course ({name}, float32)   {t_ours:8.3f} s   max |log p difference| = {diff:.1e}")
    met = "met" if t_sk / t_ours >= GOAL_SPEEDUP else "missed"
    verdict = "" if args.tiny else f"; goal >= {GOAL_SPEEDUP:g}x: {met}"
    print(f"GaussianMixture on {name} against scikit-learn: {t_sk / t_ours:.1f}x faster{verdict}")


if __name__ == "__main__":
    main()
