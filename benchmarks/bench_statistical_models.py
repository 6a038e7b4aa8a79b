"""Benchmark: notebook A2's models against their references, over several seeds.

- ``hmm``: HiddenMarkovModel against hmmlearn on the same parameters (log_prob relative error,
  Viterbi paths equal), categorical (the casino) and Gaussian emissions;
- ``dp``: the Dirichlet-process mixture against scikit-learn's BayesianGaussianMixture from the
  same k-means responsibilities (parameters, effective components, log-likelihood), and how many
  components it keeps on notebook 03's three clouds over seeds, beside BIC;
- ``lda``: bars recovered by collapsed Gibbs (parallel and sequential samplers) and by
  scikit-learn's variational LDA over seeds (each true bar's best cosine after matching);
- ``mcmc``: random-walk Metropolis step sizes (acceptance, ESS, energy test), Gibbs completion of
  digits (plain and collapsed) against the exact posterior, unadjusted Langevin's bias;
- ``digits``: held-out bits/dim of the row-by-row HMM and the DP Bernoulli mixture beside notebook
  03's baselines.

    python benchmarks/bench_statistical_models.py [--part hmm|dp|lda|mcmc|digits|all] [--seeds 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from gan_course import density, lda, mcmc
from gan_course.data import mnist
from gan_course.dpmixture import DirichletProcessBernoulliMixture, DirichletProcessMixture
from gan_course.hmm import HiddenMarkovModel

CASINO = ([0.5, 0.5], [[0.95, 0.05], [0.10, 0.90]], [[1 / 6] * 6, [0.1] * 5 + [0.5]])


def three_clouds(dtype: torch.dtype = torch.float32) -> density.GaussianMixture:
    """Notebook 03's mixture of three tilted Gaussians (float32, as there: same samples for a seed)."""
    return density.GaussianMixture(3, "full").set_params(
        weights=torch.tensor([0.5, 0.3, 0.2], dtype=dtype),
        means=torch.tensor([[-2.0, 0.0], [2.0, 1.5], [1.5, -2.0]], dtype=dtype),
        covariances=torch.tensor([[[1.2, 0.8], [0.8, 1.0]], [[0.6, -0.3], [-0.3, 0.4]], [[0.3, 0.0], [0.0, 1.0]]],
                                 dtype=dtype))


# --------------------------------------------------------------------------------------------


def bench_hmm(seeds: int) -> None:
    from hmmlearn import hmm as reference

    print("\n## HMM against hmmlearn (same parameters)")
    print("| emission | seed | T | log_prob rel. error | Viterbi paths equal | Viterbi accuracy vs true states |")
    print("|---|---|---|---|---|---|")
    casino = HiddenMarkovModel.from_parameters(*CASINO)
    ref = reference.CategoricalHMM(2, n_features=6, init_params="")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = (np.array(p) for p in CASINO)
    for seed in range(seeds):
        rolls, states = casino.sample(1, 1000, seed=seed)
        x = rolls[0].numpy()[:, None]
        rel = abs(casino.log_prob(rolls[0]).item() / ref.score(x) - 1)
        equal = np.array_equal(casino.viterbi(rolls[0]).numpy(), ref.decode(x, algorithm="viterbi")[1])
        accuracy = (casino.viterbi(rolls[0]) == states[0]).float().mean().item()
        print(f"| casino (categorical) | {seed} | 1000 | {rel:.1e} | {equal} | {accuracy:.3f} |")
    for seed in range(seeds):
        gen = torch.Generator().manual_seed(seed)
        start = torch.rand(3, generator=gen, dtype=torch.float64) + 0.1
        trans = torch.rand(3, 3, generator=gen, dtype=torch.float64) + 0.1
        means = 2 * torch.randn(3, 2, generator=gen, dtype=torch.float64)
        var = torch.rand(3, 2, generator=gen, dtype=torch.float64) + 0.3
        start, trans = start / start.sum(), trans / trans.sum(1, keepdim=True)
        ours = HiddenMarkovModel.from_gaussian_parameters(start, trans, means, var)
        ref_g = reference.GaussianHMM(3, covariance_type="diag", init_params="")
        ref_g.startprob_, ref_g.transmat_, ref_g.means_, ref_g.covars_ = (v.numpy() for v in (start, trans, means, var))
        obs, states = ours.sample(1, 500, seed=seed)
        rel = abs(ours.log_prob(obs[0]).item() / ref_g.score(obs[0].numpy()) - 1)
        equal = np.array_equal(ours.viterbi(obs[0]).numpy(), ref_g.decode(obs[0].numpy(), algorithm="viterbi")[1])
        accuracy = (ours.viterbi(obs[0]) == states[0]).float().mean().item()
        print(f"| Gaussian, D = 2, K = 3 | {seed} | 500 | {rel:.1e} | {equal} | {accuracy:.3f} |")

    print("\nBaum–Welch on 20 casino sequences of 300 rolls, from random starts:")
    print("| seed | steps | converged | p(six \\| loaded) | A(loaded, loaded) | A(fair, fair) | log-lik. vs truth |")
    print("|---|---|---|---|---|---|---|")
    for seed in range(seeds):
        rolls, _ = casino.sample(20, 300, seed=100 + seed)
        model = HiddenMarkovModel(2, "categorical", num_symbols=6, max_iter=500, seed=seed).fit(rolls)
        loaded = int(model.emission.probs[:, 5].argmax())
        fair = 1 - loaded
        gain = (model.log_prob(rolls).sum() - casino.log_prob(rolls).sum()).item()
        print(f"| {seed} | {len(model.history)} | {model.converged} | {model.emission.probs[loaded, 5]:.3f} | "
              f"{model.transition[loaded, loaded]:.3f} | {model.transition[fair, fair]:.3f} | {gain:+.1f} nats |")


def bench_dp(seeds: int) -> None:
    from sklearn.mixture import BayesianGaussianMixture

    truth = three_clouds()
    print("\n## DP mixture against scikit-learn's BayesianGaussianMixture (same k-means start, truncation 10)")
    print("| N | seed | iterations (ours / sklearn) | max weight diff | max mean diff | effective K (ours / sklearn) "
          "| plug-in log-lik. per point (ours / sklearn) |")
    print("|---|---|---|---|---|---|---|")
    for n in (600, 1500):
        x = truth.sample(n, seed=0).double()  # notebook 03's data: x2d = truth.sample(fast(600, 1500), seed=0)
        for seed in range(seeds):
            labels = density.kmeans_labels(x, 10, gen=torch.Generator().manual_seed(seed))
            resp = torch.nn.functional.one_hot(labels, 10).double()

            class SameStart(BayesianGaussianMixture):
                def _initialize_parameters(self, X, random_state, *args, **kwargs):
                    self._initialize(X, resp.numpy())

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = SameStart(n_components=10, weight_concentration_prior_type="dirichlet_process",
                                max_iter=500).fit(x.numpy())
            ours = DirichletProcessMixture(10, max_iter=500).fit(x, init_resp=resp)
            plug = density.GaussianMixture(10, "full", reg_covar=0.0).set_params(
                torch.from_numpy(ref.weights_), torch.from_numpy(ref.means_), covariances=torch.from_numpy(ref.covariances_))
            print(f"| {n} | {seed} | {ours.n_iter} / {ref.n_iter_} | {abs(ours.weights.numpy() - ref.weights_).max():.1e} | "
                  f"{abs(ours.means.numpy() - ref.means_).max():.1e} | {ours.effective_components()} / "
                  f"{int((ref.weights_ >= 0.01).sum())} | {ours.log_prob(x).mean():.4f} / {plug.log_prob(x).mean():.4f} |")
    print("\nEffective components (weight >= 1 %) on notebook 03's clouds, our k-means start, over seeds; BIC's K:")
    print("| N | concentration | effective K per seed | BIC's K (full covariances, K = 1..7) |")
    print("|---|---|---|---|")
    for n in (600, 1500):
        x = truth.sample(n, seed=0).double()
        bics = [density.GaussianMixture(k, "full", seed=0).fit(x).bic(x) for k in range(1, 8)]
        for concentration in (None, 1.0, 10.0):
            counts = [DirichletProcessMixture(10, concentration=concentration, max_iter=500, seed=s).fit(x)
                      .effective_components() for s in range(seeds)]
            name = "1/K (sklearn's default)" if concentration is None else f"{concentration:g}"
            print(f"| {n} | {name} | {counts} | {int(np.argmin(bics)) + 1} |")


def bench_lda(seeds: int) -> None:
    from sklearn.decomposition import LatentDirichletAllocation as SkLDA

    print("\n## LDA on the bars (10 bars, 5x5, Dir(1) documents of 100 words; alpha = 1, beta = 0.1)")
    print("| docs | method | seed | seconds | worst bar's cosine | bars with cosine >= 0.9 |")
    print("|---|---|---|---|---|---|")
    rows = [(1000, "Gibbs, parallel, 300 sweeps", lambda c, s: lda.LatentDirichletAllocation(
                10, sweeps=300, seed=s).fit(c).topic_word),
            (300, "Gibbs, parallel, 150 sweeps", lambda c, s: lda.LatentDirichletAllocation(
                10, sweeps=150, seed=s).fit(c).topic_word),
            (300, "Gibbs, sequential, 150 sweeps", lambda c, s: lda.LatentDirichletAllocation(
                10, sweeps=150, sampler="sequential", seed=s).fit(c).topic_word),
            (1000, "sklearn variational, batch, 100 iterations", lambda c, s: torch.from_numpy(SkLDA(
                10, doc_topic_prior=1.0, topic_word_prior=0.1, learning_method="batch", max_iter=100,
                random_state=s).fit(lda.word_counts(c.docs, 25).numpy()).components_)),
            (300, "sklearn variational, batch, 100 iterations", lambda c, s: torch.from_numpy(SkLDA(
                10, doc_topic_prior=1.0, topic_word_prior=0.1, learning_method="batch", max_iter=100,
                random_state=s).fit(lda.word_counts(c.docs, 25).numpy()).components_))]
    for docs, name, fit in rows:
        for seed in range(seeds if "sequential" not in name else min(seeds, 2)):
            corpus = lda.bars_corpus(docs, 100, seed=seed)
            start = time.perf_counter()
            topics = fit(corpus, seed)
            seconds = time.perf_counter() - start
            _, cosine = lda.match_topics(topics, corpus.topics)
            print(f"| {docs} | {name} | {seed} | {seconds:.1f} | {cosine.min():.3f} | {(cosine >= 0.9).sum()} / 10 |")


def bench_mcmc(seeds: int) -> None:
    truth = three_clouds(torch.float64)
    exact = truth.sample(500, seed=1)  # for the Langevin rows
    print("\n## Random-walk Metropolis on notebook 03's clouds (200 chains from (0, 0); 1,000 kept steps after 300)")
    print("| step size | seed | acceptance | ESS of x1 (of 200,000) | energy test p, last states vs 500 exact (3 exact sets) |")
    print("|---|---|---|---|---|")
    origin = torch.zeros(200, 2, dtype=torch.float64)
    for step in (0.1, 0.5, 1.0, 2.0, 5.0):
        for seed in range(min(seeds, 3)):
            run = mcmc.metropolis_hastings(truth.log_prob, origin, steps=1000, step_size=step, burn_in=300, seed=seed)
            ps = [mcmc.energy_test(run.samples[-1], truth.sample(500, seed=10 + k), permutations=200, seed=0)[1]
                  for k in range(3)]
            print(f"| {step} | {seed} | {run.acceptance_rate:.3f} | {mcmc.effective_sample_size(run.samples[:, :, 0]):.0f} "
                  f"| {', '.join(f'{p:.3f}' for p in ps)} |")

    print("\n## Unadjusted Langevin on the clouds (400 particles from uniform [-2, 2]^2, 1,000 steps)")
    print("| step size | energy distance to exact | energy test p |")
    print("|---|---|---|")
    score = mcmc.score_from_log_prob(truth.log_prob)
    x0 = 4 * torch.rand(400, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 2
    for step in (0.01, 0.05, 0.2, 0.5, 1.0):
        run = mcmc.langevin(score, x0, steps=1000, step_size=step, seed=0)
        stat, p = mcmc.energy_test(run.samples[-1], exact[:400], permutations=200, seed=0)
        print(f"| {step} | {stat:.4f} | {p:.3f} |")

    print("\n## Gibbs completion of the lower half of 20 test digits (Bernoulli mixture K = 50, 20 chains x 200 steps)")
    print("| rows missing | sampler | mean abs error vs exact | max abs error | component switches per step | seconds |")
    print("|---|---|---|---|---|---|")
    x_train, _ = mnist("train", source="bundled", binarize=True)
    x_test, _ = mnist("test", source="bundled", binarize=True)
    mix = density.BernoulliMixture(50, max_iter=50, seed=0).fit(x_train)
    digits = x_test[:20]
    for rows in (4, 8, 14):
        mask = torch.ones_like(digits, dtype=torch.bool)
        mask[:, :, 28 - rows:, :] = False
        exact_fill = mix.complete(digits, mask)
        for collapsed in (False, True):
            start = time.perf_counter()
            run = mcmc.gibbs_complete(mix, digits, mask, steps=200, burn_in=20, chains=20, collapsed=collapsed, seed=0)
            error = (run.marginal - exact_fill)[~mask].abs()
            switches = (run.components[1:] != run.components[:-1]).float().mean().item()
            print(f"| {rows} | {'collapsed' if collapsed else 'plain'} | {error.mean():.4f} | {error.max():.3f} | "
                  f"{switches:.4f} | {time.perf_counter() - start:.1f} |")


def bench_digits(seeds: int) -> None:
    x_train, y_train = mnist("train", source="bundled", binarize=True)
    x_test, _ = mnist("test", source="bundled", binarize=True)
    print("\n## Held-out bits/dim on the bundled binarized digits (4,000 train / 1,000 test)")
    print("| model | seed | seconds | held-out bits/dim | training bits/dim | note |")
    print("|---|---|---|---|---|---|")
    for k in (10, 50, 100):
        start = time.perf_counter()
        model = density.BernoulliMixture(k, max_iter=100, seed=0).fit(x_train)
        print(f"| Bernoulli mixture K={k} (notebook 03) | 0 | {time.perf_counter() - start:.1f} | "
              f"{model.bits_per_dim(x_test):.4f} | {model.bits_per_dim(x_train):.4f} | |")
    for truncation in (100, 200):
        for seed in range(min(seeds, 2)):
            start = time.perf_counter()
            model = DirichletProcessBernoulliMixture(truncation, seed=seed).fit(x_train)
            print(f"| DP Bernoulli mixture, truncation {truncation} | {seed} | {time.perf_counter() - start:.1f} | "
                  f"{model.bits_per_dim(x_test):.4f} | {model.bits_per_dim(x_train):.4f} | "
                  f"{model.effective_components()} components >= 1 %, {model.effective_components(0.001)} >= 0.1 % |")
    rows_train, rows_test = x_train[:, 0], x_test[:, 0]  # (N, 28, 28): 28 rows of 28 pixels
    for states, iters in ((20, 30), (50, 30), (100, 30)):
        for seed in range(min(seeds, 2) if states < 100 else 1):
            start = time.perf_counter()
            model = HiddenMarkovModel(states, "bernoulli", alpha=0.01, max_iter=iters, seed=seed).fit(rows_train)
            print(f"| HMM over rows, {states} states, {iters} Baum–Welch steps | {seed} | {time.perf_counter() - start:.1f} "
                  f"| {model.bits_per_dim(rows_test):.4f} | {model.bits_per_dim(rows_train):.4f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="all", choices=("hmm", "dp", "lda", "mcmc", "digits", "all"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits  # scikit-learn and hmmlearn: as many BLAS threads as torch

    threadpool_limits(args.threads)
    parts = {"hmm": bench_hmm, "dp": bench_dp, "lda": bench_lda, "mcmc": bench_mcmc, "digits": bench_digits}
    for name, run in parts.items():
        if args.part in (name, "all"):
            run(args.seeds)


if __name__ == "__main__":
    main()
