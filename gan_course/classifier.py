"""A small MNIST classifier, and the evaluation of generated digits that leans on it.

The classifier plays the part that Inception-v3 plays for natural images: its class
probabilities give the classifier score (Inception Score), its penultimate 128 features give
FID, KID and precision/recall. Its weights ship in ``assets/models/mnist_classifier.pt``; rebuild
them with ``python -m gan_course train classifier``.

Every number ``evaluate_images`` returns comes with its real-vs-real reference: the same metric
for real *train* digits measured against the real *test* digits at the same sample size. A
generator cannot be expected to beat it (FID and KID have a floor above 0 at finite N; the
score, precision and recall a ceiling below their maximum).

Image ranges: the classifier takes images in [0, 1] (as ``data.mnist`` gives them); GAN
generators give [-1, 1]. ``evaluate_images`` and ``to_unit`` ask which one you pass
(``value_range``) rather than guess.
"""

from __future__ import annotations

import math
import time
import warnings
import weakref
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_course import checkpoints, data, metrics
from gan_course.config import assets_dir, get_device, seed_everything
from gan_course.loop import check_finite, fit_loop
from gan_course.validate import require_positive_int

WEIGHTS_FILE = "mnist_classifier.pt"
REBUILD = "python -m gan_course train classifier"
NUM_CLASSES = 10
FEATURE_DIM = 128
EVAL_N = 1000  # samples per side for FID/KID/precision/recall: compare numbers only at equal N
KID_SUBSETS = 100  # KID: subsets of KID_SUBSET_SIZE rows each
KID_SUBSET_SIZE = 100  # (the estimate is unbiased at any size; larger subsets cost m^2 each)
PR_K = 3  # precision/recall: the k-th neighbour sets each ball's radius
REFERENCE_SEED = 0  # which real train digits form the real-vs-real reference


class ClassifierWeightsError(RuntimeError):
    """The classifier's weights file is missing, corrupt or from another architecture."""


class MNISTClassifier(nn.Module):
    """conv32-pool-conv64-pool-conv64-pool-fc128-dropout-fc10: 130,890 parameters (530 KB in fp32).

    Input (B, 1, 28, 28) in [0, 1]; ``forward`` gives logits (B, 10); ``features`` gives the
    penultimate ReLU activations (B, 128) used by FID, KID and precision/recall.
    """

    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 3, 3)
        )
        self.fc = nn.Linear(64 * 3 * 3, FEATURE_DIM)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features: (B, 1, 28, 28) in [0, 1] -> (B, 128), non-negative."""
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"x must have shape (B, 1, 28, 28), got {tuple(x.shape)}")
        h = self.conv(x).flatten(1)  # (B, 576)
        return F.relu(self.fc(h))  # (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits: (B, 1, 28, 28) in [0, 1] -> (B, 10)."""
        return self.head(self.dropout(self.features(x)))


def to_unit(x: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    r"""Map images from ``value_range`` = (lo, hi) to [0, 1]: :math:`(x - lo) / (hi - lo)`.

    Use ``value_range=(-1, 1)`` for generator output (tanh) and ``(0, 1)`` for ``data.mnist``.
    Values outside the range (beyond a little round-off) are an error, since they mean the
    range is wrong.

    >>> to_unit(torch.tensor([-1.0, 0.0, 1.0]), (-1, 1))
    tensor([0.0000, 0.5000, 1.0000])
    """
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and float(value_range[0]) < float(value_range[1])):
        raise ValueError(f"value_range must be (lo, hi) with lo < hi, e.g. (-1, 1) for generator output "
                         f"or (0, 1) for data.mnist images, got {value_range!r}")
    lo, hi = float(value_range[0]), float(value_range[1])
    tolerance = 1e-3 * (hi - lo)
    x_min, x_max = float(x.min()), float(x.max())
    if x_min < lo - tolerance or x_max > hi + tolerance:
        raise ValueError(f"x has values in [{x_min:.3g}, {x_max:.3g}], outside value_range=({lo:g}, {hi:g}); "
                         "pass value_range=(-1, 1) for generator output or (0, 1) for data.mnist images")
    return ((x - lo) / (hi - lo)).clamp(0.0, 1.0)


# --------------------------------------------------------------------------------------------
# --- Training ---
# --------------------------------------------------------------------------------------------


def default_path() -> Path:
    """Where the shipped weights live: ``assets/models/mnist_classifier.pt``."""
    return assets_dir() / "models" / WEIGHTS_FILE


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by its own random whole number of pixels in [-max_shift, max_shift] on
    each axis, filling with 0 (background): (B, C, H, W) -> (B, C, H, W)."""
    b, _, h, w = x.shape
    s = max_shift
    padded = F.pad(x, (s, s, s, s))  # (B, C, H + 2s, W + 2s)
    dy = torch.randint(0, 2 * s + 1, (b,), generator=generator)  # (B,) top row of the crop
    dx = torch.randint(0, 2 * s + 1, (b,), generator=generator)  # (B,) left column of the crop
    out = torch.empty_like(x)
    for i in range(2 * s + 1):  # one slice per shift: (2s + 1)^2 cheap copies, not a gather
        for j in range(2 * s + 1):
            rows = ((dy == i) & (dx == j)).nonzero()[:, 0]  # (b_ij,)
            out[rows] = padded[rows, :, i:i + h, j:j + w]
    return out


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """The share of ``x`` (in [0, 1]) that ``model`` classifies as ``y``."""
    model.eval()
    correct = sum(int((model(xb).argmax(1) == yb).sum())
                  for xb, yb in zip(x.split(batch_size), y.split(batch_size)))
    return correct / len(x)


def train_classifier(seed: int = 0, epochs: int = 24, out: str | Path | None = None, batch_size: int = 128,
                     lr: float = 3e-3, max_shift: int = 2, num_train: int | None = None,
                     progress: bool = False) -> dict:
    """Train ``MNISTClassifier`` on the bundled train split and save it with its metadata.

    Adam with a one-cycle learning rate (warm-up, then cosine decay), cross-entropy, every image shifted by up to
    ``max_shift`` pixels each time it is seen. Deterministic for a given seed (on the CPU).
    The test accuracy on the 1,000 bundled test digits is measured and stored in the file.

    Args:
        seed: seeds the weights, the order of the batches and the shifts.
        epochs: passes over the 4,000 train digits.
        out: where to write the weights; None means ``assets/models/mnist_classifier.pt``.
        batch_size: images per step.
        lr: the peak learning rate.
        max_shift: the augmentation's largest shift in pixels.
        num_train: train on only the first ``num_train`` train digits (for smoke tests); None: all.
        progress: show a progress bar (epoch and loss).

    Returns:
        ``{"path", "test_accuracy", "seconds", "seed", "epochs"}``.
    """
    seed = seed_everything(seed)
    epochs = require_positive_int("epochs", epochs)
    batch_size = require_positive_int("batch_size", batch_size)
    path = Path(out) if out is not None else default_path()
    start = time.perf_counter()
    x, y = data.mnist("train", source="bundled")  # (4000, 1, 28, 28), (4000,)
    if num_train is not None:
        num_train = require_positive_int("num_train", num_train)
        x, y = x[:num_train], y[:num_train]
    x_test, y_test = data.mnist("test", source="bundled")
    generator = torch.Generator().manual_seed(seed)
    model = MNISTClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch)
    epoch = {"x": x, "order": torch.arange(0), "loss": math.nan}  # the current epoch's shifted images and order
    step = 0

    def one_step() -> None:
        nonlocal step
        batch = step % steps_per_epoch
        if batch == 0:  # a new epoch: fresh shifts and a fresh order
            model.train()
            epoch["x"] = random_shift(x, max_shift, generator) if max_shift > 0 else x  # (4000, 1, 28, 28)
            epoch["order"] = torch.randperm(len(x), generator=generator)
        rows = epoch["order"][batch * batch_size:(batch + 1) * batch_size]  # (B,)
        loss = F.cross_entropy(model(epoch["x"][rows]), y[rows])
        epoch["loss"] = loss.item()
        check_finite({"loss": epoch["loss"]}, step + 1, hint=f"Lower lr (now {lr}).")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        step += 1

    _, interrupted = fit_loop(one_step, epochs * steps_per_epoch, progress=progress, desc="classifier",
                              postfix=lambda: {"epoch": step // steps_per_epoch, "loss": f"{epoch['loss']:.4f}"})
    if interrupted:
        raise KeyboardInterrupt(f"the classifier's training was interrupted after {step} steps; nothing was written")
    test_accuracy = accuracy(model, x_test, y_test)
    seconds = time.perf_counter() - start
    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "max_shift": max_shift, "num_train": num_train}
    if settings == _TRAIN_DEFAULTS:  # what the command line runs
        command = f"{REBUILD} --seed {seed}" + ("" if out is None else f" --out {out}")
    else:
        changed = ", ".join(f"{k}={v!r}" for k, v in settings.items() if _TRAIN_DEFAULTS[k] != v)
        command = f"gan_course.classifier.train_classifier(seed={seed}, {changed}, out={str(path)!r})"
    meta = {"command": command, "seed": seed, **settings, "num_train": len(x),
            "test_accuracy": test_accuracy, "train_seconds": round(seconds, 1),
            "torch_version": str(torch.__version__), "architecture": "MNISTClassifier"}
    checkpoints.save(path, "classifier", {"model": model.state_dict(), "meta": meta})
    return {"path": str(path), "test_accuracy": test_accuracy, "seconds": seconds, "seed": seed, "epochs": epochs}


_TRAIN_DEFAULTS = {"epochs": 24, "batch_size": 128, "lr": 3e-3, "max_shift": 2, "num_train": None}


# --------------------------------------------------------------------------------------------
# --- Loading ---
# --------------------------------------------------------------------------------------------

_CACHE: dict[tuple[str, int, str], MNISTClassifier] = {}  # (path, mtime_ns, device) -> model


def load_classifier(path: str | Path | None = None, device: str | torch.device = "cpu") -> MNISTClassifier:
    """The trained classifier in eval mode, loaded once per file and device.

    Args:
        path: the weights file; None means the shipped ``assets/models/mnist_classifier.pt``.
        device: where the model goes (``"auto"`` picks the GPU when there is one).

    Raises:
        ClassifierWeightsError: the file is missing, unreadable, or holds other weights; the
            message says how to rebuild it.
    """
    path = Path(path) if path is not None else default_path()
    device = get_device(device)
    if not path.is_file():
        raise ClassifierWeightsError(f"the classifier weights {path} are missing; rebuild them with "
                                     f"`{REBUILD}` (about a minute on a CPU)")
    key = (str(path.resolve()), path.stat().st_mtime_ns, str(device))
    if key not in _CACHE:
        try:
            saved = checkpoints.load(path, "classifier")
            model = MNISTClassifier()
            model.load_state_dict(saved["model"])
        except Exception as error:  # unpickling, a missing key, a shape mismatch: all mean "rebuild"
            why = " ".join(str(error).split())[:160]  # one line, short: the cause stays chained below
            raise ClassifierWeightsError(f"the classifier weights {path} are corrupt or do not fit "
                                         f"MNISTClassifier; rebuild them with `{REBUILD}` "
                                         f"({type(error).__name__}: {why})") from error
        _CACHE[key] = model.to(device).eval()
    return _CACHE[key]


def classifier_meta(path: str | Path | None = None) -> dict:
    """The metadata stored with the weights: command, seed, test accuracy, torch version."""
    load_classifier(path)  # the same checks and errors
    path = Path(path) if path is not None else default_path()
    return dict(checkpoints.load(path, "classifier")["meta"])


@torch.no_grad()
def predict(model: MNISTClassifier, x: torch.Tensor, batch_size: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities (N, 10) and features (N, 128) of images ``x`` in [0, 1], on the CPU."""
    device = next(model.parameters()).device
    probs, feats = [], []
    for xb in x.split(batch_size):
        f = model.features(xb.to(device, torch.float32))  # (B, 128)
        probs.append(model.head(f).softmax(dim=1).cpu())  # (B, 10)
        feats.append(f.cpu())
    return torch.cat(probs), torch.cat(feats)


# --------------------------------------------------------------------------------------------
# --- Evaluation of generated images ---
# --------------------------------------------------------------------------------------------

# model -> {n: test-split outputs and real references}; forgotten with the model
_REFERENCE: weakref.WeakKeyDictionary[MNISTClassifier, dict[int, dict]] = weakref.WeakKeyDictionary()


def _metrics(probs: torch.Tensor, feats: torch.Tensor, test: dict) -> dict[str, float | list]:
    """Every metric of one set of images against the test split's outputs (flat, no references)."""
    labels = probs.argmax(dim=1)  # (N,)
    hist = metrics.class_histogram(labels, NUM_CLASSES)  # (10,)
    size = min(KID_SUBSET_SIZE, len(feats), len(test["feats"]))
    kid_mean, kid_std = metrics.kid(feats, test["feats"], KID_SUBSETS, size, seed=0)
    precision, recall = metrics.precision_recall_knn(test["feats"], feats, k=PR_K)
    return {"classifier_score": metrics.classifier_score(probs),
            "fid": metrics.fid_from_features(feats, test["feats"]),
            "kid": kid_mean, "kid_std": kid_std, "precision": precision, "recall": recall,
            "class_tv": float(0.5 * (hist - test["hist"]).abs().sum()),
            "class_histogram": hist.tolist()}


def _check_images(x_fake: object) -> None:
    if not isinstance(x_fake, torch.Tensor) or x_fake.ndim != 4 or tuple(x_fake.shape[1:]) != (1, 28, 28):
        shape = tuple(x_fake.shape) if isinstance(x_fake, torch.Tensor) else type(x_fake).__name__
        raise ValueError(f"x_fake must have shape (N, 1, 28, 28), got {shape}")


def _test_outputs(model: MNISTClassifier) -> dict:
    """The classifier's features, label histogram and accuracy on the 1,000 bundled test digits,
    computed once per model and kept in memory as long as the model lives."""
    cached = _REFERENCE.setdefault(model, {})
    if "test" not in cached:
        x_test, y_test = data.mnist("test", source="bundled")
        probs, feats = predict(model, x_test)
        cached["test"] = {"feats": feats, "hist": metrics.class_histogram(y_test, NUM_CLASSES),
                          "accuracy": float((probs.argmax(1) == y_test).double().mean())}
    return cached["test"]


def _reference(model: MNISTClassifier, n: int) -> dict:
    """The test split's outputs and the metrics of ``n`` real train digits against them.

    Computed once per model and ``n``, then kept in memory as long as the model lives.
    """
    cached = _REFERENCE.setdefault(model, {})
    if n not in cached:
        test = dict(_test_outputs(model))
        x_train, _ = data.mnist("train", source="bundled")
        rows = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(REFERENCE_SEED))[:n]
        test["real"] = _metrics(*predict(model, x_train[rows]), test)
        cached[n] = test
    return cached[n]


def quick_quality(x_fake: torch.Tensor, *, value_range: tuple[float, float],
                  classifier: MNISTClassifier | None = None) -> dict[str, float]:
    """The classifier score and the FID against the test digits, nothing else: cheap enough for
    sweeps, checkpoints along a run and a dashboard's quality curve. No real reference and no
    N check: use ``evaluate_images`` for a report.

    Returns:
        ``{"score": classifier score (1..10, higher is better), "fid": FID (lower is better)}``.
    """
    _check_images(x_fake)
    model = classifier if classifier is not None else load_classifier()
    model.eval()
    probs, feats = predict(model, to_unit(x_fake.detach().float().cpu(), value_range))  # (N, 10), (N, 128)
    return {"score": metrics.classifier_score(probs),
            "fid": metrics.fid_from_features(feats, _test_outputs(model)["feats"])}


def evaluate_images(x_fake: torch.Tensor, *, value_range: tuple[float, float], y_requested: torch.Tensor | None = None,
                    classifier: MNISTClassifier | None = None, device: str | torch.device = "cpu") -> dict:
    """Score generated digits with the course classifier, each number next to its real reference.

    The fakes are compared with the 1,000 bundled test digits. Use N = 1,000 fakes (``EVAL_N``):
    FID, KID and precision/recall depend on N, and the reference is computed at the same N
    (N real *train* digits, a fixed random choice, against the same test digits), once per
    classifier and N, then kept in memory.

    Args:
        x_fake: (N, 1, 28, 28) generated images, 10 <= N <= 4,000.
        value_range: the range of ``x_fake``: ``(-1, 1)`` for generator output, ``(0, 1)`` for
            images like ``data.mnist``'s. Required: a wrong guess silently ruins every metric.
        y_requested: (N,) the digit each sample was asked for (conditional GANs), or None.
        classifier: the model to use; None loads the shipped one.
        device: where the classifier runs.

    Returns:
        ``{name: {"value": v, "real": r}}``, where ``r`` is the same metric for real train digits:

        - ``classifier_score`` (1..10, higher is better; real train digits about 9.7),
        - ``fid`` and ``kid`` (lower is better, ``kid`` also has ``"std"`` over its subsets),
        - ``precision`` and ``recall`` (k = 3 nearest neighbours, higher is better),
        - ``class_tv``: total variation between the predicted-class histogram and the test
          split's (0 = same proportions; lower is better),
        - ``class_histogram``: the 10 fractions (``"real"`` is the test split's label histogram),
        - ``requested_accuracy`` (only with ``y_requested``): the share classified as asked;
          ``"real"`` is the classifier's accuracy on the test digits.

        plus ``"n"``: the number of fakes.
    """
    _check_images(x_fake)
    n = len(x_fake)
    if not 10 <= n <= 4000:
        raise ValueError(f"x_fake must hold between 10 and 4000 images (use {EVAL_N}), got {n}")
    if n != EVAL_N:
        warnings.warn(f"evaluating {n} images: FID/KID/precision/recall depend on N, so compare them only "
                      f"with numbers at N={n} (the course reports N={EVAL_N})", stacklevel=2)
    x = to_unit(x_fake.detach().float().cpu(), value_range)  # (N, 1, 28, 28) in [0, 1]
    model = classifier if classifier is not None else load_classifier(device=device)
    model.eval()
    reference = _reference(model, n)
    probs, feats = predict(model, x)
    values = _metrics(probs, feats, reference)
    real = reference["real"]
    result: dict = {name: {"value": values[name], "real": real[name]}
                    for name in ("classifier_score", "fid", "kid", "precision", "recall", "class_tv")}
    result["kid"]["std"] = values["kid_std"]
    result["class_histogram"] = {"value": values["class_histogram"], "real": reference["hist"].tolist()}
    if y_requested is not None:
        y_requested = torch.as_tensor(y_requested).cpu()
        if y_requested.shape != (n,):
            raise ValueError(f"y_requested must have shape ({n},) to match x_fake, got {tuple(y_requested.shape)}")
        if y_requested.dtype.is_floating_point or y_requested.min() < 0 or y_requested.max() >= NUM_CLASSES:
            raise ValueError(f"y_requested must hold integer digits 0..9, got {y_requested.dtype} values in "
                             f"[{y_requested.min().item()}, {y_requested.max().item()}]")
        hit = float((probs.argmax(dim=1) == y_requested).double().mean())
        result["requested_accuracy"] = {"value": hit, "real": reference["accuracy"]}
    result["n"] = n
    return result


_REPORT_ROWS = (  # key, label, format, which way is better
    ("classifier_score", "classifier score", "{:.2f}", "higher"),
    ("fid", "FID (classifier features)", "{:.2f}", "lower"),
    ("kid", "KID", "{:.4f}", "lower"),
    ("precision", "precision (k=3)", "{:.3f}", "higher"),
    ("recall", "recall (k=3)", "{:.3f}", "higher"),
    ("class_tv", "class histogram TV", "{:.3f}", "lower"),
    ("requested_accuracy", "requested digit accuracy", "{:.3f}", "higher"),
)


def format_report(result: dict) -> str:
    """One line per metric of ``evaluate_images``, with the real train-vs-test reference beside it."""
    n = result.get("n", "?")
    lines = [f"{'metric (N=' + str(n) + ')':<28}{'value':>10}{'real':>10}   better"]
    for key, label, fmt, better in _REPORT_ROWS:
        if key not in result:
            continue
        entry = result[key]
        value = fmt.format(entry["value"])
        if "std" in entry:
            value = f"{value} ± {fmt.format(entry['std'])}"
        lines.append(f"{label:<28}{value:>10}{fmt.format(entry['real']):>10}   {better}")
    hist = result["class_histogram"]["value"]
    lines.append(f"{'digits 0-9 (%)':<28}" + " ".join(f"{100 * h:.0f}" for h in hist))
    return "\n".join(lines)
