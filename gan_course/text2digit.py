r"""Text to digit: a conditional GAN with a matching-aware discriminator (Reed et al., 2016), and
the L2 regression from caption to image beside it.

A caption such as "a bold seven slanted right" fits many images. A model trained to *regress* the
image from the caption with an L2 loss learns the mean of all of them, a blurry average; a
conditional GAN draws one sharp image among them, a different one for each noise vector z. The
discriminator of Reed et al.'s GAN-CLS judges (image, text) pairs and sees three kinds: a real
image with its own caption ("real"), a real image with a caption of another digit ("wrong") and a
generated image with the caption it was made from ("fake"):

.. math:: \mathcal L_D = -\log D(x, t) - \tfrac12\big[\log(1 - D(x, \hat t)) + \log(1 - D(G(z, t), t))\big],
    \qquad \mathcal L_G = -\log D(G(z, t), t)

so it must check that the image *matches* the text, not only that it looks real. Each player reads
the caption with a text encoder of its own: a bag of words, the mean of learned word vectors.

Training uses the course's ``GANTrainer``: the sampler yields (images, captions) where each row of
captions holds the right caption and a mismatched one, the discriminator returns the two logits
(right, wrong) of each image, and the loss pair above is a ``(d_loss, g_loss)`` of logits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_course import app_runs, attributes, captions, classifier, data, nets, recipes, runs
from gan_course.config import cpu_has_native_bf16, get_device
from gan_course.loop import check_finite, fit_loop, make_optimizer
from gan_course.specs import TrainerConfig
from gan_course.train import GANTrainer
from gan_course.validate import require_int

# --------------------------------------------------------------------------------------------
# The loss pair (pure functions of logits)
# --------------------------------------------------------------------------------------------


def matching_aware_d_loss(real_right: torch.Tensor, real_wrong: torch.Tensor, fake_right: torch.Tensor) -> torch.Tensor:
    r"""GAN-CLS's discriminator loss (Reed et al., 2016, Algorithm 1), on logits.

    .. math:: \mathcal L_D = \mathbb E\operatorname{softplus}(-\ell_{x,t})
        + \tfrac12\big(\mathbb E\operatorname{softplus}(\ell_{x,\hat t}) + \mathbb E\operatorname{softplus}(\ell_{G(z,t),t})\big)

    Args:
        real_right: logits of real images with their own captions.
        real_wrong: logits of real images with mismatched captions.
        fake_right: logits of generated images with the captions they were made from.

    >>> round(matching_aware_d_loss(torch.zeros(2), torch.zeros(2), torch.zeros(2)).item(), 4)  # 2 log 2
    1.3863
    """
    return F.softplus(-real_right).mean() + 0.5 * (F.softplus(real_wrong).mean() + F.softplus(fake_right).mean())


def pair_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``matching_aware_d_loss`` on the trainer's logits: ``real`` and ``fake`` are (B, 2), column 0
    with the right caption, column 1 with the wrong one (unused for fakes)."""
    return matching_aware_d_loss(real[:, 0], real[:, 1], fake[:, 0])


def pair_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating loss on its images with the right captions: fake (B, 2)."""
    return F.softplus(-fake[:, 0]).mean()


# --------------------------------------------------------------------------------------------
# The networks
# --------------------------------------------------------------------------------------------


class BagOfWords(nn.Module):
    """A caption (B, T) of word indices (0 = padding) -> the mean of its word vectors (B, dim)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.embed = nn.EmbeddingBag(len(captions.VOCABULARY), dim, mode="mean", padding_idx=0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.ndim != 2 or tokens.dtype != torch.long:
            raise ValueError(f"captions must be word indices of shape (B, T), dtype int64, got "
                             f"{tuple(tokens.shape)} {tokens.dtype}")
        return self.embed(tokens)  # (B, dim); an all-padding caption gives zeros


def _right(tokens: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor:
    """The right captions (B, T) from (B, T) or (B, 2, T); None is the empty caption."""
    if tokens is None:
        return torch.zeros(batch, captions.MAX_WORDS, dtype=torch.long, device=device)
    return tokens[:, 0] if tokens.ndim == 3 else tokens


@dataclass(frozen=True)
class TextSpec:
    """Both players of the text-to-digit GAN (and the regression model)."""

    latent_dim: int = 32  # size of z
    text_dim: int = 32  # size of each player's caption vector
    width_g: int = 64  # DCGAN generator width
    width_d: int = 32  # DCGAN discriminator width

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, require_int(f.name, getattr(self, f.name)))


class TextToDigitGenerator(nn.Module):
    """G(z, caption): the caption's vector is concatenated to z and a DCGAN generator draws the
    digit in [-1, 1]. Captions (B, T), or (B, 2, T) pairs of which the first is used; None is
    the empty caption."""

    def __init__(self, spec: TextSpec = TextSpec()) -> None:
        super().__init__()
        self.latent_dim = spec.latent_dim
        self.text = BagOfWords(spec.text_dim)
        self.body = nets.DCGANGenerator(spec.latent_dim + spec.text_dim, spec.width_g)

    def forward(self, z: torch.Tensor, tokens: torch.Tensor | None = None) -> torch.Tensor:
        t = self.text(_right(tokens, len(z), z.device))  # (B, text_dim)
        return self.body(torch.cat([z, t.to(z.dtype)], dim=1))  # (B, 1, 28, 28)


class MatchingDiscriminator(nn.Module):
    """D(x, caption): the caption's vector becomes a learned 28x28 plane stacked on the image (as
    notebook 08's concat discriminator does with a label) and a DCGAN discriminator gives a logit.

    With pairs (B, 2, T) it returns (B, 2) logits: the image with its right and with its wrong
    caption; with captions (B, T), (B,)."""

    def __init__(self, spec: TextSpec = TextSpec()) -> None:
        super().__init__()
        self.text = BagOfWords(spec.text_dim)
        self.plane = nn.Linear(spec.text_dim, 28 * 28)
        self.body = nets.DCGANDiscriminator(spec.width_d, channels=2)

    def _logits(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        plane = self.plane(self.text(tokens)).view(-1, 1, 28, 28).to(x.dtype)  # (B, 1, 28, 28)
        return self.body(torch.cat([x, plane], dim=1))  # (B,)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.ndim == 2:
            return self._logits(x, tokens)
        b = len(x)
        both = self._logits(torch.cat([x, x]), torch.cat([tokens[:, 0], tokens[:, 1]]))  # (2B,)
        return both.view(2, b).T  # (B, 2): right, wrong


class CaptionRegressor(nn.Module):
    """The baseline: the caption's vector alone into the same DCGAN generator, trained with L2."""

    def __init__(self, spec: TextSpec = TextSpec()) -> None:
        super().__init__()
        self.text = BagOfWords(spec.text_dim)
        self.body = nets.DCGANGenerator(spec.text_dim, spec.width_g)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.body(self.text(_right(tokens, len(tokens), tokens.device)))  # (B, 1, 28, 28) in [-1, 1]


# --------------------------------------------------------------------------------------------
# Data: each digit with its caption, and a mismatched caption
# --------------------------------------------------------------------------------------------


class CaptionPairs:
    """An endless stream of batches ``(x, pairs)``: images (B, 1, 28, 28) in [-1, 1] and (B, 2, T)
    word indices, the digit's own caption and the caption of another digit that reads differently."""

    def __init__(self, x: torch.Tensor, tokens: torch.Tensor, batch_size: int, seed: int,
                 device: str | torch.device = "cpu") -> None:
        self.device = get_device(device)
        self.x, self.tokens = x.to(self.device), tokens.to(self.device)
        self.batch_size = require_int("batch_size", batch_size, 1, len(x))
        self.generator = torch.Generator().manual_seed(seed)

    def __iter__(self) -> "CaptionPairs":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.x)
        rows = torch.randint(n, (self.batch_size,), generator=self.generator)  # (B,)
        other = torch.randint(n, (self.batch_size,), generator=self.generator)  # (B,)
        for _ in range(10):  # draw again where the other caption happens to read the same
            same = (self.tokens[other] == self.tokens[rows]).all(dim=1).cpu()
            if not same.any():
                break
            other[same] = torch.randint(n, (int(same.sum()),), generator=self.generator)
        pairs = torch.stack([self.tokens[rows.to(self.device)], self.tokens[other.to(self.device)]], dim=1)
        return self.x[rows.to(self.device)], pairs  # (B, 1, 28, 28), (B, 2, T)


def fit_regressor(model: CaptionRegressor, x: torch.Tensor, tokens: torch.Tensor, steps: int | None = None,
                  seconds: float | None = None, lr: float = 1e-3, batch_size: int = 64, seed: int = 0,
                  progress: bool = False) -> int:
    r"""Train the baseline by L2 regression, :math:`\min \mathbb E\lVert R(t) - x\rVert^2`; returns the steps done."""
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer("adam", model.parameters(), lr, (0.9, 0.999), torch.device("cpu"))
    done = [0]
    model.train()

    def one_step() -> None:
        rows = torch.randint(len(x), (batch_size,), generator=gen)
        loss = F.mse_loss(model(tokens[rows]), x[rows])
        check_finite({"loss": loss.item()}, done[0] + 1, hint=f"Lower lr (now {lr}).")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        done[0] += 1

    try:
        fit_loop(one_step, steps, seconds, progress, desc="caption regression")
    finally:
        model.eval()
    return done[0]


# --------------------------------------------------------------------------------------------
# Measuring what was drawn against what was asked
# --------------------------------------------------------------------------------------------


def evaluation_prompts(per_prompt: int = 25) -> tuple[list[str], list[captions.Request]]:
    """The 40 prompts "a thin|bold <digit> slanted left|right", each ``per_prompt`` times, digit by
    digit: 1,000 prompts by default."""
    texts, asked = [], []
    for digit in range(10):
        for thick in ("thin", "bold"):
            for lean in ("left", "right"):
                texts += [captions.caption(digit, thick, lean)] * per_prompt
                asked += [captions.Request(digit, thick, lean)] * per_prompt
    return texts, asked


def read_back(x: torch.Tensor, asked: list[captions.Request], thresholds: attributes.AttributeThresholds,
              classifier: nn.Module) -> dict[str, float]:
    """How much of what was asked the images (N, 1, 28, 28) in [0, 1] show: the share classified as
    the digit asked, the shares whose measured thickness and slant lie on the asked side of the
    training digits' medians, the share with all three, and the mean sharpness."""
    from gan_course.classifier import predict

    probs, _ = predict(classifier, x)
    digit_ok = probs.argmax(dim=1) == torch.tensor([a.digit for a in asked])
    t, s = attributes.thickness(x), attributes.slant(x)
    thick_ok = torch.tensor([(v > thresholds.thickness_median) == (a.thickness == "bold")
                             for v, a in zip(t.tolist(), asked)])
    slant_ok = torch.tensor([(v > thresholds.slant_median) == (a.slant == "right") for v, a in zip(s.tolist(), asked)])
    return {"digit_accuracy": float(digit_ok.double().mean()), "thickness_readback": float(thick_ok.double().mean()),
            "slant_readback": float(slant_ok.double().mean()),
            "all_three": float((digit_ok & thick_ok & slant_ok).double().mean()),
            "sharpness": float(attributes.sharpness(x).mean())}


def within_prompt_spread(x: torch.Tensor, per_prompt: int) -> float:
    """The per-pixel std across the images of one prompt, averaged over pixels and prompts
    (0 when each prompt always gives the same image): images (P * per_prompt, 1, 28, 28) grouped by prompt."""
    groups = x.reshape(-1, per_prompt, 28 * 28)  # (P, per_prompt, 784)
    return float(groups.std(dim=1).mean())


# --------------------------------------------------------------------------------------------
# The command line: train text2digit, sample
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def generate(generator: TextToDigitGenerator, tokens: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One digit per caption (N, T), from noise drawn with ``seed``: (N, 1, 28, 28) in [0, 1]."""
    z = torch.randn(len(tokens), generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    with nets.eval_mode(generator):
        return ((generator(z, tokens).float() + 1) / 2).clamp(0, 1)


@torch.no_grad()
def regress(model: CaptionRegressor, tokens: torch.Tensor) -> torch.Tensor:
    """The regression baseline's image of each caption (N, T): (N, 1, 28, 28) in [0, 1]."""
    with nets.eval_mode(model):
        return ((model(tokens).float() + 1) / 2).clamp(0, 1)


def grid_prompts() -> torch.Tensor:
    """The captions of the 10 x 10 grid: row k the digit k; columns thin-left, thin-right,
    bold-left, bold-right, then the digit alone, each twice (two noise vectors): (100, T)."""
    styles = [("thin", "left"), ("thin", "right"), ("bold", "left"), ("bold", "right"), (None, None)]
    return captions.tokenize_all([captions.caption(k, t, s) for k in range(10) for t, s in styles for _ in range(2)])


def train_text2digit(out: str | Path, minutes: float = 5.0, seed: int = 0, progress: bool = False,
                     write_grid: app_runs.WriteGrid | None = None, command: str = "", spec: TextSpec = TextSpec(), lr: float = 8e-4,
                     batch_size: int = 64, drop: float = 0.2, regression_share: float = 0.15,
                     steps: int | None = None, regression_steps: int = 1000) -> dict:
    """Train the regression baseline (``regression_share`` of the budget), then the matching-aware
    GAN (the rest), on the bundled train split with captions made from labels and measured
    attributes (or ``regression_steps`` and then ``steps`` updates, ``minutes`` capping the run:
    ``app_runs.Budget``), and write ``out/``: ``weights.pt``, ``metrics.json`` (``digit_accuracy``,
    ``thickness_readback``, ``slant_readback``, ``sharpness``, ``within_prompt_spread`` and the same
    for ``baseline``, on the 1,000 ``evaluation_prompts``) and, with ``write_grid``, ``grid.png``.
    Returns the metrics dict."""
    seconds, seed, progress = app_runs.check_run(minutes, seed, progress)
    out = Path(out)
    budget = app_runs.Budget(seconds, steps, regression_steps)
    x, y = data.mnist("train", source="bundled")  # (4000, 1, 28, 28) in [0, 1]
    thresholds = attributes.fit_thresholds(x)
    thick, lean = attributes.attribute_words(x, thresholds)
    tokens = captions.tokenize_all(captions.training_captions(y, thick, lean, drop, torch.Generator().manual_seed(seed)))
    torch.manual_seed(seed)
    regressor = CaptionRegressor(spec)
    regression_steps = fit_regressor(regressor, recipes.to_gan_range(x), tokens,
                                     *budget.baseline(regression_share, None, regression_steps),
                                     batch_size=batch_size, seed=seed, progress=progress)
    torch.manual_seed(seed)
    generator, discriminator = TextToDigitGenerator(spec), MatchingDiscriminator(spec)
    config = TrainerConfig(loss="custom", lr_d=lr, lr_g=lr, ema=0.999, batch_size=batch_size, seed=seed, device="cpu",
                           precision="bf16" if cpu_has_native_bf16() else "fp32")
    trainer = GANTrainer(generator, discriminator, CaptionPairs(recipes.to_gan_range(x), tokens, batch_size, seed),
                         loss=(pair_d_loss, pair_g_loss), config=config)
    gan_steps, gan_seconds = budget.gan()
    trainer.fit(steps=gan_steps, seconds=gan_seconds, progress=progress)
    texts, asked = evaluation_prompts()
    prompt_tokens = captions.tokenize_all(texts)
    clf = classifier.load_classifier()
    x_gan, x_reg = generate(trainer.sampling_generator, prompt_tokens, seed), regress(regressor, prompt_tokens)
    x_test, _ = data.mnist("test", source="bundled")
    result = {"kind": "text2digit", "seed": seed, "steps": trainer.global_step, "regression_steps": regression_steps,
              **read_back(x_gan, asked, thresholds, clf), "within_prompt_spread": within_prompt_spread(x_gan, 25),
              "baseline": {**read_back(x_reg, asked, thresholds, clf), "within_prompt_spread": within_prompt_spread(x_reg, 25)},
              "real_sharpness": float(attributes.sharpness(x_test).mean()), "thresholds": thresholds.to_dict(),
              **budget.report(), "interrupted": trainer.interrupted}
    app_runs.save_weights(out / "weights.pt", "text2digit", {
        "spec": dataclasses.asdict(spec), "seed": seed, "steps": trainer.global_step, "command": command,
        "vocabulary": list(captions.VOCABULARY), "thresholds": thresholds.to_dict(),
        "headline": f"digit as asked {result['digit_accuracy']:.3f}, thickness {result['thickness_readback']:.3f}, "
                    f"slant {result['slant_readback']:.3f}, sharpness {result['sharpness']:.3f} "
                    f"(L2: {result['baseline']['sharpness']:.3f})",
        "generator": app_runs.half(trainer.sampling_generator), "regressor": app_runs.half(regressor)})
    if write_grid is not None:
        write_grid(out / "grid.png", generate(trainer.sampling_generator, grid_prompts(), seed))
    runs.write_json(out / "metrics.json", result)
    return result


def load(weights_path: str | Path) -> tuple[TextToDigitGenerator, CaptionRegressor, dict]:
    """The generator and the regression baseline of a ``train text2digit`` run (eval mode), and the payload."""
    payload = app_runs.load_weights(weights_path, "text2digit")
    if list(payload["vocabulary"]) != list(captions.VOCABULARY):
        raise ValueError(f"weights_path {str(weights_path)!r} was trained with another vocabulary: "
                         f"{' '.join(payload['vocabulary'][1:])}")
    spec = TextSpec(**payload["spec"])
    g = app_runs.load_state(TextToDigitGenerator(spec), payload["generator"], "text-to-digit generator")
    r = app_runs.load_state(CaptionRegressor(spec), payload["regressor"], "caption regressor")
    return g, r, payload


def sample_text2digit(weights_path: str | Path, n: int, seed: int = 0, digit: int | None = None,
                      prompt: str | None = None, attribute: float | None = None) -> np.ndarray:
    """``n`` digits (uint8 (n, 28, 28)) for ``prompt`` ("a bold seven slanted right"), or for the
    caption "a <digit>", or (neither given) for the captions of ``n`` random test digits."""
    n, seed = app_runs.check_sample(n, seed)
    digit = app_runs.check_digit(digit)
    app_runs.refuse("text2digit", attribute=attribute)
    if prompt is not None and digit is not None:
        raise ValueError(f"give digit or prompt, not both (got digit={digit!r}, prompt={prompt!r})")
    if prompt is not None:
        tokens = captions.tokenize(prompt).repeat(n, 1)  # (n, T); unknown words are refused here
        captions.parse(prompt)
    g, _, payload = load(weights_path)
    if prompt is None and digit is not None:
        tokens = captions.tokenize(captions.caption(digit)).repeat(n, 1)
    elif prompt is None:
        x, y = data.mnist("test", source="bundled")
        rows = torch.randint(len(x), (n,), generator=torch.Generator().manual_seed(seed))
        thresholds = attributes.AttributeThresholds(**payload["thresholds"])
        thick, lean = attributes.attribute_words(x[rows], thresholds)
        tokens = captions.tokenize_all([captions.caption(int(k), t, s) for k, t, s in zip(y[rows].tolist(), thick, lean)])
    return app_runs.to_uint8(generate(g, tokens, seed))
