r"""Super-resolution, 7x7 -> 28x28: regression against an adversarially trained model (pix2pix).

Average-pooling a digit by 4 keeps 49 numbers of its 784; many sharp digits pool to the same
7x7 image. A network trained with an L2 loss to undo the pooling learns their *mean*: a blurry
digit. Isola et al. (2017, "pix2pix") add a conditional discriminator that sees the (low-res,
high-res) pair and learns to tell real pairs from upsampled ones; the generator then minimises

.. math:: \mathcal L_G = \mathbb E\operatorname{softplus}(-D(G(s), s)) + \lambda\,\mathbb E\lVert G(s) - x\rVert_1,
    \qquad \mathcal L_D = \mathbb E\operatorname{softplus}(-D(x, s)) + \mathbb E\operatorname{softplus}(D(G(s), s))

with :math:`s` the 7x7 input. The L1 term keeps the output close to the truth; the adversarial
term rules out the blur, which no real digit has. The generator starts from the trained L2 model
and the adversarial phase sharpens it (a warm start: the L2 model is the baseline anyway).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_course import app_runs, attributes, classifier, data, nets, recipes, runs
from gan_course.loop import check_finite, fit_loop, make_optimizer, update_weight_average
from gan_course.losses import minimax_d_loss, nonsaturating_g_loss
from gan_course.validate import require_int, require_nonnegative_number

FACTOR = 4  # 28 / 7


def downsample(x: torch.Tensor) -> torch.Tensor:
    """Average-pool 28x28 images by 4: (B, 1, 28, 28) -> (B, 1, 7, 7).

    >>> downsample(torch.ones(2, 1, 28, 28)).shape
    torch.Size([2, 1, 7, 7])
    """
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"x must have shape (B, 1, 28, 28), got {tuple(x.shape)}")
    return F.avg_pool2d(x, FACTOR)


def enlarge(s: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour 7x7 -> 28x28 (each pixel a 4x4 block): what the low-res input looks like."""
    return F.interpolate(s, scale_factor=FACTOR, mode="nearest")


@dataclass(frozen=True)
class SuperResSpec:
    """The upsampler, the conditional discriminator and the loss weight."""

    width: int = 32  # channels of the upsampler's 7x7 and 14x14 layers (half at 28x28)
    width_d: int = 32  # DCGAN discriminator width
    l1_weight: float = 100.0  # lambda (pix2pix: 100, images in [-1, 1])

    def __post_init__(self) -> None:
        require_int("width", self.width, 2)
        require_int("width_d", self.width_d)
        require_nonnegative_number("l1_weight", self.l1_weight)


class Upsampler(nn.Module):
    """7x7 -> 28x28 in [-1, 1]: a 3x3 convolution, two (nearest x2, 3x3 convolution, batch norm,
    ReLU) steps, a 3x3 convolution and tanh; the nearest-neighbour input is added before the
    tanh, so the network learns what to add to the blocks."""

    def __init__(self, spec: SuperResSpec = SuperResSpec()) -> None:
        super().__init__()
        w = spec.width
        block = lambda a, b: [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, padding=1, bias=False),  # noqa: E731
                              nn.BatchNorm2d(b), nn.ReLU()]
        self.net = nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), *block(w, w), *block(w, w // 2),
                                 nn.Conv2d(w // 2, 1, 3, padding=1))  # (B, 1, 28, 28)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        if s.ndim != 4 or tuple(s.shape[1:]) != (1, 7, 7):
            raise ValueError(f"the low-res input must have shape (B, 1, 7, 7), got {tuple(s.shape)}")
        return torch.tanh(self.net(s) + 2 * enlarge(s))  # (B, 1, 28, 28)


class PairDiscriminator(nn.Module):
    """D(x, s): the high-res image and the enlarged low-res one as two channels, then a DCGAN discriminator."""

    def __init__(self, spec: SuperResSpec = SuperResSpec()) -> None:
        super().__init__()
        self.body = nets.DCGANDiscriminator(spec.width_d, channels=2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([x, enlarge(s)], dim=1))  # (B,)


class SuperResTrainer:
    """The L2 baseline and the pix2pix model, trained one after the other on the same pairs.

    ``fit_baseline`` trains ``baseline`` by L2; ``start_adversarial`` copies it into ``generator``;
    ``fit_adversarial`` trains ``generator`` (L1 + adversarial) and ``discriminator``.
    Images in [-1, 1]."""

    def __init__(self, x: torch.Tensor, spec: SuperResSpec = SuperResSpec(), lr: float = 1e-3,
                 batch_size: int = 64, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.x, self.s = x, downsample(x)
        self.spec, self.lr, self.batch_size = spec, lr, batch_size
        self.baseline, self.discriminator = Upsampler(spec), PairDiscriminator(spec)
        self.generator: Upsampler | None = None
        self.average: Upsampler | None = None
        self.gen = torch.Generator().manual_seed(seed)
        self.baseline_steps = self.adversarial_steps = 0
        self.history: dict[str, list[float]] = {"l2": [], "l1": [], "g_adv": [], "d_loss": []}

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.randint(len(self.x), (self.batch_size,), generator=self.gen)
        return self.x[rows], self.s[rows]

    def fit_baseline(self, steps: int | None = None, seconds: float | None = None, progress: bool = False) -> bool:
        """Minimise :math:`\\mathbb E\\lVert U(s) - x\\rVert^2`; returns whether it was interrupted."""
        opt = make_optimizer("adam", self.baseline.parameters(), self.lr, (0.9, 0.999), torch.device("cpu"))
        self.baseline.train()

        def one_step() -> None:
            x, s = self._batch()
            loss = F.mse_loss(self.baseline(s), x)
            check_finite({"l2": loss.item()}, self.baseline_steps + 1, hint=f"Lower lr (now {self.lr}).")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.baseline_steps += 1
            self.history["l2"].append(loss.item())

        try:
            return fit_loop(one_step, steps, seconds, progress, desc="L2 upsampler")[1]
        finally:
            self.baseline.eval()

    def start_adversarial(self) -> None:
        """The pix2pix generator starts as a copy of the L2 model (and its weight average too)."""
        self.generator = copy.deepcopy(self.baseline)
        self.average = copy.deepcopy(self.baseline).requires_grad_(False).eval()
        cpu = torch.device("cpu")
        self.opt_g = make_optimizer("adam", self.generator.parameters(), self.lr / 4, (0.5, 0.999), cpu)
        self.opt_d = make_optimizer("adam", self.discriminator.parameters(), self.lr / 4, (0.5, 0.999), cpu)

    def adversarial_step(self) -> None:
        """One discriminator update on (real, upsampled) pairs, then one generator update."""
        if self.generator is None:
            self.start_adversarial()
        x, s = self._batch()
        x_fake = self.generator(s)
        # Train discriminator
        logits = self.discriminator(torch.cat([x, x_fake.detach()]), torch.cat([s, s]))  # (2B,)
        d_loss = minimax_d_loss(logits[:len(x)], logits[len(x):])
        check_finite({"d_loss": d_loss.item()}, self.adversarial_steps + 1, hint=f"Lower lr (now {self.lr / 4}).")
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        # Train generator: fool D and stay close to the truth
        self.discriminator.requires_grad_(False)
        try:
            g_adv = nonsaturating_g_loss(self.discriminator(x_fake, s))
            l1 = (x_fake - x).abs().mean()
            check_finite({"g_loss": g_adv.item(), "l1": l1.item()}, self.adversarial_steps + 1)
            self.opt_g.zero_grad(set_to_none=True)
            (g_adv + self.spec.l1_weight * l1).backward()
            self.opt_g.step()
        finally:
            self.discriminator.requires_grad_(True)
        update_weight_average(self.average, self.generator, 0.99, self.adversarial_steps)
        self.adversarial_steps += 1
        for k, v in (("l1", l1), ("g_adv", g_adv), ("d_loss", d_loss)):
            self.history[k].append(v.item())

    def fit_adversarial(self, steps: int | None = None, seconds: float | None = None, progress: bool = False) -> bool:
        """``adversarial_step()`` until ``steps`` or ``seconds`` run out; returns whether it was interrupted."""
        if self.generator is None:
            self.start_adversarial()
        self.generator.train()
        try:
            return fit_loop(self.adversarial_step, steps, seconds, progress, desc="pix2pix upsampler")[1]
        finally:
            self.generator.eval()


@torch.no_grad()
def upsample(model: Upsampler, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Pool images (N, 1, 28, 28) in [0, 1] to 7x7 and upsample them back with ``model``: (N, 1, 28, 28) in [0, 1]."""
    model.eval()
    out = [(model(downsample(recipes.to_gan_range(xb))) + 1) / 2 for xb in x.split(batch_size)]
    return torch.cat(out).clamp(0, 1)


def measure(x_up: torch.Tensor, x_true: torch.Tensor, y_true: torch.Tensor) -> dict[str, float]:
    """Upsampled digits against the truth: the classifier's accuracy on them (true labels), their
    mean sharpness, and the mean absolute pixel error; all images in [0, 1]."""
    probs, _ = classifier.predict(classifier.load_classifier(), x_up)
    return {"accuracy": float((probs.argmax(1) == y_true).double().mean()),
            "sharpness": float(attributes.sharpness(x_up).mean()),
            "l1_error": float((x_up - x_true).abs().mean())}


# --------------------------------------------------------------------------------------------
# The command line: train superres, sample
# --------------------------------------------------------------------------------------------


def train_superres(out: str | Path, minutes: float = 5.0, seed: int = 0, progress: bool = False,
                   write_grid: app_runs.WriteGrid | None = None, command: str = "", spec: SuperResSpec = SuperResSpec(),
                   lr: float = 1e-3, batch_size: int = 64, baseline_share: float = 0.3, steps: int | None = None,
                   baseline_steps: int = 1000) -> dict:
    """Train the L2 upsampler (``baseline_share`` of the budget), then the pix2pix upsampler from it
    (the rest) — or ``baseline_steps`` and then ``steps`` updates, ``minutes`` capping the run
    (``app_runs.Budget``) — and write ``out/``: ``samples.npy`` and ``baseline.npy`` (uint8 (1000, 28, 28), the
    1,000 test digits upsampled from 7x7 by each, in the split's order), ``weights.pt``,
    ``metrics.json`` (``accuracy``, ``sharpness``, ``l1_error`` for each, the real test digits'
    sharpness, and the nearest-neighbour enlargement's accuracy) and, with ``write_grid``,
    ``grid.png`` (rows: 7x7 input, L2, pix2pix, truth). Returns the metrics dict."""
    seconds, seed, progress = app_runs.check_run(minutes, seed, progress)
    out = Path(out)
    budget = app_runs.Budget(seconds, steps, baseline_steps)
    x, _ = data.mnist("train", source="bundled")
    x_test, y_test = data.mnist("test", source="bundled")
    trainer = SuperResTrainer(recipes.to_gan_range(x), spec, lr, batch_size, seed)
    interrupted = trainer.fit_baseline(*budget.baseline(baseline_share, None, baseline_steps), progress=progress)
    if not interrupted:
        interrupted = trainer.fit_adversarial(*budget.gan(), progress=progress)
    model = trainer.average if trainer.average is not None else trainer.baseline
    x_gan, x_l2 = upsample(model, x_test), upsample(trainer.baseline, x_test)
    nearest = (enlarge(downsample(x_test))).clamp(0, 1)
    result = {"kind": "superres", "seed": seed, "steps": trainer.adversarial_steps,
              "baseline_steps": trainer.baseline_steps, **measure(x_gan, x_test, y_test),
              "baseline": measure(x_l2, x_test, y_test), "nearest": measure(nearest, x_test, y_test),
              "real_sharpness": float(attributes.sharpness(x_test).mean()),
              **budget.report(), "interrupted": interrupted}
    app_runs.write_npy(out / "samples.npy", app_runs.to_uint8(x_gan))
    app_runs.write_npy(out / "baseline.npy", app_runs.to_uint8(x_l2))
    app_runs.save_weights(out / "weights.pt", "superres", {
        "spec": asdict(spec), "seed": seed, "steps": trainer.adversarial_steps, "baseline_steps": trainer.baseline_steps,
        "command": command, "generator": app_runs.half(model), "baseline": app_runs.half(trainer.baseline),
        "headline": f"accuracy {result['accuracy']:.3f} (L2 {result['baseline']['accuracy']:.3f}), sharpness "
                    f"{result['sharpness']:.3f} (L2 {result['baseline']['sharpness']:.3f})"})
    if write_grid is not None:
        write_grid(out / "grid.png", torch.cat([nearest[:10], x_l2[:10], x_gan[:10], x_test[:10]]))
    runs.write_json(out / "metrics.json", result)
    return result


def load(weights_path: str | Path) -> tuple[Upsampler, Upsampler, dict]:
    """The pix2pix upsampler and the L2 baseline of a ``train superres`` run (eval mode), and the payload."""
    payload = app_runs.load_weights(weights_path, "superres")
    spec = SuperResSpec(**payload["spec"])
    g = app_runs.load_state(Upsampler(spec), payload["generator"], "pix2pix upsampler")
    b = app_runs.load_state(Upsampler(spec), payload["baseline"], "L2 upsampler")
    return g, b, payload


def sample_superres(weights_path: str | Path, n: int, seed: int = 0, digit: int | None = None,
                    prompt: str | None = None, attribute: float | None = None) -> np.ndarray:
    """``n`` test digits (of class ``digit`` if given, chosen by ``seed``) pooled to 7x7 and upsampled
    by the pix2pix model: uint8 (n, 28, 28)."""
    n, seed = app_runs.check_sample(n, seed)
    digit = app_runs.check_digit(digit)
    app_runs.refuse("superres", prompt=prompt, attribute=attribute)
    g, _, _ = load(weights_path)
    x, y = data.mnist("test", source="bundled")
    pool = torch.arange(len(x)) if digit is None else torch.nonzero(y == digit)[:, 0]
    gen = torch.Generator().manual_seed(seed)
    rows = pool[torch.randperm(len(pool), generator=gen)[:n]] if n <= len(pool) else \
        pool[torch.randint(len(pool), (n,), generator=gen)]
    return app_runs.to_uint8(upsample(g, x[rows]))
