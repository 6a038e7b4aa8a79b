"""Fixtures for the unit tests: a private data cache, no inherited device or mirror overrides."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """No test reads or writes the user's real cache: downloads go to a temporary folder."""
    monkeypatch.setenv("GAN_COURSE_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("GAN_COURSE_MNIST_MIRRORS", raising=False)
    monkeypatch.delenv("GAN_COURSE_DEVICE", raising=False)


@pytest.fixture
def one_thread():
    """Tiny networks run fastest on one torch thread (and a test machine may be shared)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def few_digits(monkeypatch):
    """The first 200 train digits only, the test split as is: dcgan-sc clusters the train split (k-means on
    all 4,000 takes seconds) whenever it is built or loaded."""
    from gan_course import data

    mnist = data.mnist

    def first_train_digits(split, *args, **kwargs):
        x, y = mnist(split, *args, **kwargs)
        return (x[:200], y[:200]) if split == "train" else (x, y)

    monkeypatch.setattr(data, "mnist", first_train_digits)
