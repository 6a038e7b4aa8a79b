"""gan_course.data: bundled MNIST and the toy distributions (the download of the full set is tested in
test_data_download.py, the minibatch samplers in test_samplers.py)."""

import hashlib

import numpy as np
import pytest
import torch

from gan_course import data

pytestmark = pytest.mark.usefixtures("one_thread")


def image_hashes(x):
    return {hashlib.sha1(img.numpy().tobytes()).hexdigest() for img in x}


# ------------------------------------------------------------------ bundled MNIST
def test_train_split_4000_balanced():
    x, y = data.mnist("train", source="bundled")
    assert x.shape == (4000, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and torch.bincount(y).tolist() == [400] * 10
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() == 1.0


def test_test_split_1000_balanced_and_disjoint_from_train():
    x_train, _ = data.mnist("train", source="bundled")
    x_test, y_test = data.mnist("test", source="bundled")
    assert x_test.shape == (1000, 1, 28, 28)
    assert torch.bincount(y_test).tolist() == [100] * 10
    train, test = image_hashes(x_train), image_hashes(x_test)
    assert len(train) == 4000 and len(test) == 1000 and not train & test


def test_all_is_train_plus_test_and_split_is_fixed():
    x_all, y_all = data.mnist("all", source="bundled")
    assert x_all.shape == (5000, 1, 28, 28) and torch.bincount(y_all).tolist() == [500] * 10
    assert image_hashes(x_all) == image_hashes(data.mnist("train", source="bundled")[0]) | image_hashes(
        data.mnist("test", source="bundled")[0])
    # the same call gives the same order: the split is a fixed function of SPLIT_SEED
    assert torch.equal(data.mnist("test", source="bundled")[1], data.mnist("test", source="bundled")[1])


def test_digits_are_mixed_not_sorted_by_label():
    _, y = data.mnist("train", source="bundled")
    assert len(set(y[:50].tolist())) >= 8


def test_binarize_gives_zeros_and_ones_matching_threshold():
    x, _ = data.mnist("test", source="bundled")
    xb, _ = data.mnist("test", source="bundled", binarize=True)
    assert set(xb.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(xb, (x > 0.5).float())


def test_mnist_puts_images_and_labels_on_the_device_asked_for():
    x, y = data.mnist("test", source="bundled", device="cpu")
    assert x.device.type == "cpu" and y.device.type == "cpu"


def test_auto_without_cache_uses_bundled_and_says_so(capsys):
    data._announced.clear()
    x, _ = data.mnist("train", source="auto")
    assert len(x) == 4000
    assert "bundled 5,000-image subset" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "valid"}, r"split must be one of 'train', 'test', 'all'; got 'valid'"),
    ({"source": "web"}, r"source must be one of 'auto', 'bundled', 'full'; got 'web'"),
])
def test_bad_split_or_source(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.mnist(**kwargs)


def test_corrupt_bundled_file_names_file_and_hash(tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    (assets / "data").mkdir(parents=True)
    good = data.bundled_path().read_bytes()
    (assets / "data" / data.BUNDLED_FILE).write_bytes(good[:-10] + b"0123456789")
    monkeypatch.setenv("GAN_COURSE_ASSETS", str(assets))
    with pytest.raises(data.DataError, match=f"mnist_5k.npz is corrupt.*expected {data.BUNDLED_SHA256}"):
        data.mnist("train", source="bundled")
    assert data.sources()["bundled"].startswith("broken")


def test_missing_bundled_file(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("GAN_COURSE_ASSETS", str(tmp_path))
    with pytest.raises(data.DataError, match="is missing"):
        data.mnist("test", source="bundled")


# ------------------------------------------------------------------ toys
def test_toy_modes_ring8_and_grid25_distinct_centers():
    ring, ring_std = data.toy_modes("ring8")
    grid, grid_std = data.toy_modes("grid25")
    assert ring.shape == (8, 2) and len(torch.unique(ring.round(decimals=4), dim=0)) == 8
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert ring_std == 0.01
    assert grid.shape == (25, 2) and len(torch.unique(grid, dim=0)) == 25
    assert set(grid.flatten().tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0} and grid_std == 0.05
    assert data.toy_modes("spiral") == (None, None) and data.toy_modes("moons") == (None, None)


@pytest.mark.parametrize("name", data.TOY_NAMES)
def test_toy_shapes_dtype_and_seed(name):
    x = data.toy(name, 500, seed=3)
    d = 1 if name.endswith("1d") else 2
    assert x.shape == (500, d) and x.dtype == torch.float32 and torch.isfinite(x).all()
    assert torch.equal(x, data.toy(name, 500, seed=3))
    assert not torch.equal(x, data.toy(name, 500, seed=4))


@pytest.mark.parametrize("name", ["gauss1d", "mix1d", "ring8", "grid25"])
def test_toy_samples_sit_on_their_modes(name):
    centers, std = data.toy_modes(name)
    x = data.toy(name, 4000, seed=0)
    dist = torch.cdist(x, centers)  # (n, K)
    nearest = dist.min(dim=1)
    assert (nearest.values < 4 * std * np.sqrt(x.shape[1])).float().mean() > 0.999
    counts = torch.bincount(nearest.indices, minlength=len(centers)).float()
    assert counts.min() > 0.6 * counts.mean()  # equal weights


@pytest.mark.parametrize("name", ["gauss1d", "mix1d"])
def test_toy_log_prob_integrates_to_one_1d(name):
    grid = torch.linspace(-8, 8, 20001, dtype=torch.float64)[:, None]
    density = data.toy_log_prob(name, grid).exp()
    assert torch.trapezoid(density, grid[:, 0]).item() == pytest.approx(1.0, abs=1e-6)


def test_toy_log_prob_matches_torch_distributions_2d():
    centers, std = data.toy_modes("ring8")
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(8)),
        torch.distributions.Independent(torch.distributions.Normal(centers, std), 1))
    x = data.toy("ring8", 100, seed=1)
    assert torch.allclose(data.toy_log_prob("ring8", x), mixture.log_prob(x), atol=1e-4)
    with pytest.raises(ValueError, match="no closed-form density"):
        data.toy_log_prob("moons", x)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        data.toy_log_prob("ring8", x[:, :1])


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "ring9", "n": 10}, "name must be one of .*'ring8'.*got 'ring9'"),
    ({"name": "ring8", "n": 0}, "n must be a positive int, got 0"),
    ({"name": "ring8", "n": -5}, "n must be a positive int, got -5"),
    ({"name": "ring8", "n": 2.5}, "n must be a positive int, got 2.5"),
])
def test_toy_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.toy(**kwargs)
    if kwargs["name"] == "ring9":
        with pytest.raises(ValueError, match="name must be one of"):
            data.toy_modes("ring9")
