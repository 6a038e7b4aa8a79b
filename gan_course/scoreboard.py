r"""The course scoreboard: every model of the course on the same held-out digits, in one table.

Two kinds of number, each where it exists:

- **held-out bits/dim** on the binarised test split, for the models with a likelihood or a bound
  (naive Bayes, the Bernoulli mixture, the VAE's importance-weighted bound, the appendix's
  autoregressive model): :math:`-\frac{1}{ND\ln 2}\sum_i \log p(x_i)`;
- **sample metrics** for all of them, 1,000 samples against the 1,000 test digits through
  ``classifier.evaluate_images``: classifier score, FID, KID, precision and recall, each next to
  the real train-vs-test reference (the first row).

``rows()`` builds the table from the shipped weights (the density baselines are fitted on the
spot, in seconds); ``rows(train=True, minutes=M)`` retrains the trainable models within a budget of
M minutes in all. ``python -m gan_course scoreboard [--json]`` prints it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import torch

from gan_course import autoregressive, classifier, data, density, denoising_runs, recipes, self_conditioned, stylegan
from gan_course.config import weights_path
from gan_course.validate import (require_bool, require_choice, require_int, require_positive_int,
                                 require_positive_number, require_seed)

NUM_SAMPLES = classifier.EVAL_N  # samples per model (FID, KID, precision and recall depend on N)
IW_SAMPLES = 1000  # importance samples of the VAE's bound
METRICS = ("classifier_score", "fid", "kid", "precision", "recall", "class_tv")


def _row(model: str, family: str, bits: float | None, x: torch.Tensor | None, value_range: tuple[float, float],
         source: str, evaluations: int | None, seconds: float, samples: str) -> dict[str, Any]:
    """One row: the bits/dim (or None) and every sample metric of ``x`` (or None)."""
    row: dict[str, Any] = {"model": model, "family": family, "bits_per_dim": bits}
    if x is not None:
        quality = classifier.evaluate_images(x, value_range=value_range)
        row.update({name: quality[name]["value"] for name in METRICS})
    else:
        row.update({name: None for name in METRICS})
    row.update({"network_evaluations_per_sample": evaluations, "samples": samples, "source": source,
                "seconds": round(seconds, 1)})
    return row


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def reference_row() -> dict[str, Any]:
    """The real train digits against the test digits: the ceiling (or floor) of every metric."""
    x, _ = data.mnist("train", source="bundled")
    rows = torch.randperm(len(x), generator=torch.Generator().manual_seed(classifier.REFERENCE_SEED))[:NUM_SAMPLES]
    return _row("real digits (1,000 train digits: the reference)", "data", None, x[rows], (0, 1), "data", None, 0.0,
                "real digits")


def density_rows(seed: int = 0, mixture_components: int = 50) -> list[dict[str, Any]]:
    """Naive Bayes and a Bernoulli mixture, fitted here on the binarised train digits (seconds)."""
    x, _ = data.mnist("train", source="bundled", binarize=True)
    x_test, _ = data.mnist("test", source="bundled", binarize=True)
    out = []
    nb, t = _timed(lambda: density.BernoulliNaiveBayes().fit(x))
    out.append(_row("naive Bayes (independent pixels)", "likelihood", float(nb.bits_per_dim(x_test)),
                    nb.sample(NUM_SAMPLES, seed=seed), (0, 1), "fitted here", 1, t, "binary draws"))
    k = mixture_components
    bm, t = _timed(lambda: density.BernoulliMixture(k, max_iter=50, seed=seed).fit(x))
    out.append(_row(f"Bernoulli mixture K={k} (EM)", "likelihood", float(bm.bits_per_dim(x_test)),
                    bm.sample(NUM_SAMPLES, seed=seed), (0, 1), "fitted here", 1, t, "binary draws"))
    return out


def autoregressive_row(seed: int = 0) -> list[dict[str, Any]]:
    """The appendix's autoregressive model (MADE), from its shipped weights, when present."""
    if not weights_path(autoregressive.PRETRAINED_FILE).exists():
        return []
    model = autoregressive.pretrained()
    x_test, _ = data.mnist("test", source="bundled", binarize=True)
    bits = float(model.bits_per_dim(x_test))
    x, t = _timed(lambda: model.sample(NUM_SAMPLES, seed=seed))
    return [_row(f"autoregressive ({type(model).__name__}, exact likelihood)", "likelihood", bits, x, (0, 1),
                 "shipped weights", 784, t, "binary draws, pixel by pixel")]


def latent_rows(models: dict[str, denoising_runs.LatentImageModel], seed: int = 0, source: str = "shipped weights",
                seconds: dict[str, float] | None = None, iw_samples: int | None = None) -> list[dict[str, Any]]:
    """The VAE (its importance-weighted bound with ``iw_samples`` samples, default ``IW_SAMPLES``,
    and its prior's samples) and the diffusion and flow models of its codes."""
    k = IW_SAMPLES if iw_samples is None else require_positive_int("iw_samples", iw_samples)
    x_test, _ = data.mnist("test", source="bundled", binarize=True)
    out = []
    autoencoder = next(iter(models.values())).vae
    bits = float(autoencoder.bits_per_dim(x_test, k=k))
    out.append(_row(f"VAE (importance-weighted bound, k={k})", "latent variable", bits,
                    autoencoder.sample(NUM_SAMPLES, seed=seed).cpu(), (0, 1), source, 1, 0.0,
                    "decoder means of z ~ N(0, I)"))
    names = {"flow": "flow matching on the VAE's codes", "diffusion": "diffusion (DDPM) on the VAE's codes"}
    for kind, model in models.items():
        x, t = _timed(lambda model=model: model.sample(NUM_SAMPLES, seed=seed))
        out.append(_row(names[kind], "iterative", None, x, (0, 1), source, model.evaluations(),
                        (seconds or {}).get(kind, t), f"decoder means, {model.model.default_steps} sampler steps"))
    return out


def gan_rows(trainers: dict[str, Any], seed: int = 0, source: str = "shipped weights") -> list[dict[str, Any]]:
    """The image GANs: DCGAN, WGAN-GP, the self-conditioned DCGAN, the miniature StyleGAN (and the
    conditional GAN, given labels)."""
    names = {"dcgan": "DCGAN", "wgan-gp": "WGAN-GP", "dcgan-sc": "self-conditioned DCGAN (dcgan-sc, no labels)",
             "stylegan": "StyleGAN in miniature", "cgan": "conditional GAN (given the digit labels)"}
    out = []
    for kind, trainer in trainers.items():
        if kind in ("dcgan-sc", "stylegan"):  # a SelfConditionedGAN, a StyleGenerator
            (x, _), t = _timed(lambda trainer=trainer: trainer.sample(NUM_SAMPLES, seed=seed))
        else:
            (x, _), t = _timed(lambda trainer=trainer: recipes.sample_images(trainer, NUM_SAMPLES, seed=seed))
        out.append(_row(names[kind], "GAN", None, x, (-1, 1), source, 1, t, "one generator pass"))
    return out


def _shipped_gans() -> dict[str, Any]:
    trainers: dict[str, Any] = {}
    for kind in ("dcgan", "wgan-gp", "cgan"):
        if recipes.pretrained_path(kind).exists():
            trainers[kind] = recipes.load_pretrained(kind, device="cpu")
    if self_conditioned.pretrained_path().exists():
        trainers["dcgan-sc"] = self_conditioned.load()
    if stylegan.pretrained_path().exists():
        trainers["stylegan"] = stylegan.load()
    return trainers


def _shipped_latents() -> dict[str, denoising_runs.LatentImageModel]:
    models = {}
    for kind in ("flow", "diffusion"):
        path = shipped_path(kind)
        if path.exists():
            models[kind] = denoising_runs.load_model(path, kind)
    return models


def shipped_path(kind: str) -> Path:
    """Where the digit model of ``kind`` ("flow" or "diffusion") is read from: the shipped
    ``assets/models/{kind}_mnist.pt``, or the folder ``GAN_COURSE_WEIGHTS`` names
    (``config.weights_path``, which says what is missing instead of falling back)."""
    return weights_path(f"{require_choice('kind', kind, ('flow', 'diffusion'))}_mnist.pt")


def _trained(minutes: float, seed: int, progress: bool) -> tuple[dict, dict, dict]:
    """Retrain the four image GANs and the two latent models (each with its own VAE), sharing
    ``minutes`` equally among the six runs."""
    share = 60 * minutes / 6  # seconds per run
    trainers: dict[str, Any] = {}
    for kind in ("dcgan", "wgan-gp", "cgan"):
        trainers[kind] = recipes.image_trainer(kind, seed=seed, device="cpu")
        trainers[kind].fit(seconds=share, progress=progress)
    trainers["dcgan-sc"] = self_conditioned.build(seed, device="cpu")
    trainers["dcgan-sc"].trainer.fit(seconds=share, progress=progress)
    latents, seconds = {}, {}
    for kind in ("flow", "diffusion"):
        latents[kind], summary = denoising_runs.train_latent(kind, seed, seconds=share, progress=progress)
        seconds[kind] = summary["seconds"]
    return trainers, latents, seconds


def rows(train: bool = False, minutes: float = 10.0, seed: int = 0, progress: bool = False,
         mixture_components: int = 50, iw_samples: int | None = None) -> list[dict[str, Any]]:
    """Every model of the course on the held-out digits, one dict per model (JSON-ready).

    Each row: ``{"model": what it is, "family", "bits_per_dim": number or None, "classifier_score",
    "fid", "kid", "precision", "recall", "class_tv", "network_evaluations_per_sample", "samples",
    "source", "seconds"}``; the first row is the real digits' reference.

    Args:
        train: retrain the GANs and the latent models here (within ``minutes`` in all) instead of
            loading the shipped weights.
        minutes: the time budget of ``train=True``.
        seed: seeds the fits and the samples.
        progress: show progress bars while training.
        mixture_components: K of the Bernoulli mixture fitted here.
        iw_samples: importance samples of the VAE's bound (default ``IW_SAMPLES``; fewer is
            faster and gives a looser bound).
    """
    train = require_bool("train", train)
    require_positive_number("minutes", minutes)
    require_seed(seed)
    mixture_components = require_int("mixture_components", mixture_components, 2)
    table = [reference_row(), *density_rows(seed, mixture_components), *autoregressive_row(seed)]
    if train:
        trainers, latents, seconds = _trained(minutes, seed, progress)
        source = f"trained here ({minutes:g} minutes in all)"
        table += latent_rows(latents, seed, source, seconds, iw_samples) + gan_rows(trainers, seed, source)
    else:
        latents = _shipped_latents()
        if latents:
            table += latent_rows(latents, seed, iw_samples=iw_samples)
        table += gan_rows(_shipped_gans(), seed)
    return table


def format_table(table: list[dict[str, Any]]) -> str:
    """The rows as a plain-text table (what ``scoreboard`` prints without ``--json``)."""
    def fmt(v, spec):
        return "—" if v is None else format(v, spec)
    lines = [f"{'model':<52}{'bits/dim':>9}{'score':>7}{'FID':>8}{'prec.':>7}{'recall':>7}{'NFE':>5}"]
    for r in table:
        lines.append(f"{r['model'][:51]:<52}{fmt(r['bits_per_dim'], '.4f'):>9}{fmt(r['classifier_score'], '.2f'):>7}"
                     f"{fmt(r['fid'], '.1f'):>8}{fmt(r['precision'], '.3f'):>7}{fmt(r['recall'], '.3f'):>7}"
                     f"{fmt(r['network_evaluations_per_sample'], 'd'):>5}")
    return "\n".join(lines)
