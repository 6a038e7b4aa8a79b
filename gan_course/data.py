"""The course's data: MNIST digits, toy 1-D/2-D distributions, and a device-resident sampler.

MNIST comes from one of two sources:

- ``"bundled"``: a balanced 5,000-image subset shipped in ``assets/data`` (works offline),
  split once, by a fixed seed, into 4,000 train and 1,000 test images, 400/100 per digit;
- ``"full"``: the 70,000-image set, downloaded from public mirrors, checked against known
  SHA-256 sums and cached (``GAN_COURSE_DATA`` or the user's cache folder).

``"auto"`` takes the full set when it is cached and the bundled subset otherwise; it never
touches the network.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import math
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch

from gan_course.config import assets_dir, cache_dir, get_device, torch_generator
from gan_course.storage import atomic_write_bytes
from gan_course.validate import require_bool, require_choice, require_positive_int

SPLITS = ("train", "test", "all")
SOURCES = ("auto", "bundled", "full")

BUNDLED_FILE = "mnist_5k.npz"
BUNDLED_SHA256 = "246e0c30eeea57c8d0037d3f38c8e00651ec204cc61b8022563e9aeeb9d756f4"
SPLIT_SEED = 0  # fixes the bundled train/test split for the whole course
TEST_PER_DIGIT = 100  # 100 test + 400 train images of each digit

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FULL_FILES = {  # split -> (images file, labels file)
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_announced: set[str] = set()  # one-line notices already printed in this process


class DataError(RuntimeError):
    """A data file is missing, corrupt or could not be downloaded."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _announce(message: str) -> None:
    if message not in _announced:
        _announced.add(message)
        print(message)


# --------------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------------


def mnist(
    split: str = "train",
    source: str = "auto",
    binarize: bool = False,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST digits as tensors.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"``.
        source: ``"bundled"`` (5,000 images: 4,000 train / 1,000 test), ``"full"`` (70,000:
            60,000 / 10,000, downloaded once) or ``"auto"`` (the full set if cached, else bundled).
        binarize: threshold the pixels at 0.5, giving values in {0, 1}.
        device: where the tensors go; None keeps them on the CPU, ``"auto"`` picks the GPU.

    Returns:
        ``(x, y)``: ``x`` float32 of shape (N, 1, 28, 28) in [0, 1]; ``y`` int64 of shape (N,).
    """
    require_choice("split", split, SPLITS)
    require_choice("source", source, SOURCES)
    require_bool("binarize", binarize)
    if source == "auto":
        source = "full" if _full_cache_ok(_mnist_root()) else "bundled"
        if source == "full":
            _announce(f"MNIST: using the full 70,000-image set cached in {_mnist_root()}")
        elif any((_mnist_root() / name).exists() for name in MNIST_SHA256):
            _announce(f"MNIST: using the bundled 5,000-image subset (the full set's cache in {_mnist_root()} is "
                      "incomplete or corrupt: its checksums do not match; mnist(source='full') fetches it again)")
        else:
            _announce("MNIST: using the bundled 5,000-image subset "
                      "(the full set is not cached; mnist(source='full') downloads it)")
    images, labels = _bundled_split(split) if source == "bundled" else _full_split(split)

    x = torch.from_numpy(images).to(torch.float32).div_(255.0).unsqueeze(1)  # (N, 1, 28, 28)
    if binarize:
        x = (x > 0.5).to(torch.float32)
    y = torch.from_numpy(labels.astype(np.int64))
    if device is not None:
        device = get_device(device)
        x, y = x.to(device), y.to(device)
    return x, y


def sources() -> dict:
    """Which MNIST sources this machine has: the bundled file's health, and the full set's cache.

    Returns a dict with ``bundled`` (``"ok"`` or ``"broken: <why>"``), ``full_cached`` (bool),
    ``cache_dir`` and ``auto_source`` (what ``source="auto"`` would load).
    """
    try:
        _load_bundled(bundled_path())
        bundled = "ok"
    except (DataError, FileNotFoundError) as error:
        bundled = f"broken: {error}"
    full_cached = _full_cache_ok(_mnist_root())
    return {"bundled": bundled, "full_cached": full_cached, "cache_dir": str(_mnist_root()),
            "auto_source": "full" if full_cached else "bundled"}


def bundled_path() -> Path:
    """The bundled subset's file."""
    return assets_dir() / "data" / BUNDLED_FILE


@functools.lru_cache(maxsize=4)
def _load_bundled(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"the bundled MNIST file {path} is missing; it should have SHA-256 "
                        f"{BUNDLED_SHA256} (restore it with `git checkout -- assets/data`)")
    digest = _sha256(path)
    if digest != BUNDLED_SHA256:
        raise DataError(f"the bundled MNIST file {path} is corrupt: its SHA-256 is {digest}, "
                        f"expected {BUNDLED_SHA256} (restore it with `git checkout -- assets/data`)")
    with np.load(path) as archive:
        return archive["images"], archive["labels"]


def bundled_split_indices() -> dict[str, np.ndarray]:
    """Row indices of the bundled file for ``"train"`` and ``"test"``: stratified, fixed seed.

    Each digit's rows are permuted by ``SPLIT_SEED``; the first ``TEST_PER_DIGIT`` go to test.
    Both lists are then shuffled (same seed) so that digits come mixed, not sorted by label.
    """
    _, labels = _load_bundled(bundled_path())
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        test.append(rows[:TEST_PER_DIGIT])
        train.append(rows[TEST_PER_DIGIT:])
    return {"train": rng.permutation(np.concatenate(train)), "test": rng.permutation(np.concatenate(test))}


def _bundled_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _load_bundled(bundled_path())
    if split == "all":
        return images, labels
    rows = bundled_split_indices()[split]
    return images[rows], labels[rows]


def _mnist_root() -> Path:
    return cache_dir() / "mnist"


def _mirrors() -> tuple[str, ...]:
    """The download mirrors: ``GAN_COURSE_MNIST_MIRRORS`` (comma-separated) overrides them."""
    override = os.environ.get("GAN_COURSE_MNIST_MIRRORS")
    if override:
        return tuple(m.strip() for m in override.split(",") if m.strip())
    return MNIST_MIRRORS


def _full_cache_ok(root: Path) -> bool:
    return all((root / name).is_file() and _sha256(root / name) == sha for name, sha in MNIST_SHA256.items())


def download_mnist(timeout: float = 60.0) -> Path:
    """Download the full MNIST into the cache (skipping files already there and intact).

    Each file is tried on every mirror in turn; a download counts only when its SHA-256 matches
    the known one. Files are written atomically, so the cache never holds a partial file; a
    corrupt cached file is deleted and fetched again.

    Returns:
        The cache folder holding the four verified ``.gz`` files.

    Raises:
        DataError: a file could not be fetched intact from any mirror.
    """
    root = _mnist_root()
    for name, expected in MNIST_SHA256.items():
        path = root / name
        if path.is_file():
            if _sha256(path) == expected:
                continue
            _announce(f"MNIST: the cached {path} is corrupt; downloading it again")
            path.unlink()
        errors = []
        for mirror in _mirrors():
            url = mirror.rstrip("/") + "/" + name
            try:
                payload = _fetch(url, timeout)
            except (OSError, http.client.HTTPException, urllib.error.URLError, DataError) as error:
                errors.append(f"{url}: {error}")
                continue
            digest = hashlib.sha256(payload).hexdigest()
            if digest != expected:
                errors.append(f"{url}: SHA-256 mismatch (got {digest}, expected {expected})")
                continue
            atomic_write_bytes(path, payload)
            break
        else:
            raise DataError(f"could not download {name} intact from any mirror:\n  " + "\n  ".join(errors)
                            + "\nmnist(source='bundled') works offline.")
    return root


def _fetch(url: str, timeout: float, progress: bool = True) -> bytes:
    """The bytes at ``url``, read in chunks under a progress bar of bytes; a short read is an error."""
    from tqdm.auto import tqdm  # a dependency; imported late to keep imports light

    with urllib.request.urlopen(url, timeout=timeout) as response:
        expected = response.headers.get("Content-Length")
        total = int(expected) if expected is not None else None
        chunks = []
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], leave=False,
                  disable=not progress) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
    payload = b"".join(chunks)
    if total is not None and len(payload) != total:
        raise DataError(f"truncated download: got {len(payload)} of {total} bytes")
    return payload


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST format): a big-endian header, then uint8 data."""
    raw = gzip.decompress(path.read_bytes())
    found, count = struct.unpack(">II", raw[:8])
    if found != magic:
        raise DataError(f"{path} is not an IDX file of the expected kind (magic {found}, expected {magic})")
    dims = (count,) if magic == 2049 else (count, *struct.unpack(">II", raw[8:16]))
    offset = 8 if magic == 2049 else 16
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != math.prod(dims):
        raise DataError(f"{path} holds {data.size} bytes of data, expected {math.prod(dims)}")
    return data.reshape(dims).copy()  # writable, so torch.from_numpy can share it


def _full_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    root = download_mnist()
    if split == "all":
        parts = [_full_split_arrays(root, s) for s in ("train", "test")]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return _full_split_arrays(root, split)


def _full_split_arrays(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_file, labels_file = _FULL_FILES[split]
    return _read_idx(root / images_file, 2051), _read_idx(root / labels_file, 2049)


# --------------------------------------------------------------------------------------------
# Toy distributions
# --------------------------------------------------------------------------------------------

TOY_NAMES = ("gauss1d", "mix1d", "ring8", "grid25", "spiral", "moons", "two_gaussians")


def toy_modes(name: str) -> tuple[torch.Tensor | None, float | None]:
    """The mixture components of a toy distribution: ``(centers (K, d), std)``.

    All mixtures weight their components equally. ``spiral`` and ``moons`` are not mixtures of
    Gaussians and return ``(None, None)``.

    >>> centers, std = toy_modes("ring8")
    >>> centers.shape, std
    (torch.Size([8, 2]), 0.01)
    """
    require_choice("name", name, TOY_NAMES)
    if name == "gauss1d":
        return torch.tensor([[2.0]]), 0.5
    if name == "mix1d":
        return torch.tensor([[-3.0], [0.0], [3.0]]), 0.5
    if name == "ring8":
        angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8  # 8 distinct angles, no endpoint
        return torch.stack([angles.cos(), angles.sin()], dim=1).float(), 0.01  # (8, 2)
    if name == "grid25":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(axis, axis), 0.05  # (25, 2)
    if name == "two_gaussians":  # the simplest two-mode problem (notebook 06's first dashboard)
        return torch.tensor([[-1.0, 0.0], [1.0, 0.0]]), 0.1  # (2, 2)
    return None, None


DATASETS_2D = ("ring8", "grid25", "spiral", "moons", "two_gaussians")  # the 2-D toys (notebook 06)


def dataset_2d(name: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None, float | None]:
    """``n`` samples of the 2-D toy ``name`` and, for the mixtures, their modes:
    ``(x (n, 2), centers (K, 2) or None, std or None)``."""
    require_choice("data", name, DATASETS_2D)
    return toy(name, n, seed=seed), *toy_modes(name)


def toy(name: str, n: int, seed: int | None = None, device: str | torch.device | None = None) -> torch.Tensor:
    """``n`` samples of a toy distribution, float32 of shape (n, d) (d = 1 or 2).

    Args:
        name: one of ``TOY_NAMES``.
        n: number of samples (positive).
        seed: makes the draw repeatable; None draws from torch's global generator.
        device: where the samples go (None: CPU).
    """
    require_choice("name", name, TOY_NAMES)
    n = require_positive_int("n", n)
    gen = torch_generator(seed)
    centers, std = toy_modes(name)
    if centers is not None:
        component = torch.randint(len(centers), (n,), generator=gen)
        x = centers[component] + std * torch.randn(n, centers.shape[1], generator=gen)  # (n, d)
    elif name == "spiral":
        t = 3 * math.pi * torch.rand(n, generator=gen).sqrt()  # sqrt: even density along the arm
        x = torch.stack([t * t.cos(), t * t.sin()], dim=1) / (3 * math.pi)  # (n, 2), radius <= 1
        x = x + 0.02 * torch.randn(n, 2, generator=gen)
    else:  # moons, as in scikit-learn's make_moons, centred on the origin
        upper = torch.rand(n, generator=gen) < 0.5
        theta = math.pi * torch.rand(n, generator=gen)
        x = torch.where(upper[:, None],
                        torch.stack([theta.cos(), theta.sin()], dim=1),
                        torch.stack([1 - theta.cos(), 0.5 - theta.sin()], dim=1))  # (n, 2)
        x = x - torch.tensor([0.5, 0.25]) + 0.05 * torch.randn(n, 2, generator=gen)
    x = x.to(torch.float32)
    return x if device is None else x.to(get_device(device))


def toy_log_prob(name: str, x: torch.Tensor) -> torch.Tensor:
    """Exact log-density of a toy mixture at ``x`` (n, d); natural log, shape (n,).

    Only for the Gaussian mixtures (``gauss1d``, ``mix1d``, ``ring8``, ``grid25``).
    """
    require_choice("name", name, TOY_NAMES)
    centers, std = toy_modes(name)
    if centers is None:
        raise ValueError(f"name {name!r} has no closed-form density; use one of "
                         f"{[t for t in TOY_NAMES if toy_modes(t)[0] is not None]}")
    if x.ndim != 2 or x.shape[1] != centers.shape[1]:
        raise ValueError(f"x must have shape (n, {centers.shape[1]}) for {name!r}, got {tuple(x.shape)}")
    centers = centers.to(device=x.device, dtype=x.dtype)
    d = centers.shape[1]
    sq = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1)  # (n, K)
    log_comp = -0.5 * sq / std**2 - d * math.log(std) - 0.5 * d * math.log(2 * math.pi)  # (n, K)
    return torch.logsumexp(log_comp, dim=1) - math.log(len(centers))


# the minibatch samplers live in gan_course.samplers; importable from here as before
from gan_course.samplers import DeviceSampler  # noqa: E402

__all__ = ["mnist", "sources", "download_mnist", "bundled_path", "bundled_split_indices", "toy", "toy_modes",
           "toy_log_prob", "dataset_2d", "TOY_NAMES", "DATASETS_2D", "SPLITS", "SOURCES", "DataError", "DeviceSampler"]
