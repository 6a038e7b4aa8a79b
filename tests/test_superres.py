"""Super-resolution: pooling against numpy, the networks, both phases on a few steps, the measures,
a tiny run of ``train_superres`` with its files, sampling; bad input."""

import json
import math

import numpy as np
import pytest
import torch

from gan_course import data, superres as sr

TINY = sr.SuperResSpec(width=4, width_d=4)


def test_downsample_is_the_mean_of_4x4_blocks_and_enlarge_repeats_them():
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    expected = x.numpy().reshape(2, 1, 7, 4, 7, 4).mean(axis=(3, 5))
    np.testing.assert_allclose(sr.downsample(x).numpy(), expected, rtol=1e-6)
    big = sr.enlarge(sr.downsample(x))
    assert big.shape == (2, 1, 28, 28) and torch.equal(big[..., :4, :4], big[..., :1, :1].expand(2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        sr.downsample(torch.zeros(2, 1, 14, 14))


def test_networks_shapes_and_bad_input():
    up, d = sr.Upsampler(TINY), sr.PairDiscriminator(TINY)
    s = torch.rand(3, 1, 7, 7) * 2 - 1
    x = up(s)
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert d(x, s).shape == (3,)
    with pytest.raises(ValueError, match=r"\(B, 1, 7, 7\)"):
        up(torch.zeros(3, 1, 28, 28))


def test_both_phases_run_and_the_gan_starts_from_the_baseline():
    x = torch.rand(20, 1, 28, 28) * 2 - 1
    trainer = sr.SuperResTrainer(x, TINY, batch_size=4, seed=0)
    trainer.fit_baseline(steps=2)
    trainer.start_adversarial()
    for a, b in zip(trainer.baseline.parameters(), trainer.generator.parameters()):
        assert torch.equal(a, b)
    trainer.fit_adversarial(steps=2)
    assert trainer.baseline_steps == 2 and trainer.adversarial_steps == 2
    assert all(math.isfinite(v) for v in trainer.history["l1"] + trainer.history["d_loss"])


def test_measure_on_the_truth_itself():
    x, y = data.mnist("test", source="bundled")
    m = sr.measure(x[:100], x[:100], y[:100])
    assert m["l1_error"] == 0.0 and m["accuracy"] > 0.95 and 0.5 < m["sharpness"] < 0.9


@pytest.mark.slow
def test_train_superres_on_a_tiny_budget_writes_the_run(tmp_path, one_thread):
    grids = []
    result = sr.train_superres(tmp_path, minutes=3, seed=0, spec=TINY, steps=2, baseline_steps=2, batch_size=4,
                               write_grid=lambda path, x: grids.append((path.name, tuple(x.shape))))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("accuracy", "sharpness", "l1_error"):
        assert key in saved and key in saved["baseline"] and key in saved["nearest"]
    assert saved["steps"] == 2 == result["steps"] and saved["baseline_steps"] == 2
    for name in ("samples.npy", "baseline.npy"):
        arr = np.load(tmp_path / name)
        assert arr.dtype == np.uint8 and arr.shape == (1000, 28, 28)
    assert grids == [("grid.png", (40, 1, 28, 28))]
    x = sr.sample_superres(tmp_path / "weights.pt", 3, seed=0, digit=4)
    assert x.dtype == np.uint8 and x.shape == (3, 28, 28)
    assert sr.sample_superres(tmp_path / "weights.pt", 150, seed=0, digit=4).shape == (150, 28, 28)  # > 100 fours
    with pytest.raises(ValueError, match="superres takes no attribute"):
        sr.sample_superres(tmp_path / "weights.pt", 3, attribute=1.0)


def test_train_superres_bad_input_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="minutes must be a positive number"):
        sr.train_superres(tmp_path, minutes=-1)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        sr.train_superres(tmp_path, minutes=1, seed=-3)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        sr.train_superres(tmp_path, minutes=1, steps=0)
    assert list(tmp_path.iterdir()) == []
