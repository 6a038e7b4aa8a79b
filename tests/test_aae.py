"""The adversarial autoencoder: the code discriminator's loss by hand, the networks, a few steps, the
measures, a tiny run of ``train_aae`` and sampling with the dial; bad input."""

import json
import math

import numpy as np
import pytest
import torch

from gan_course import aae

TINY = aae.AAESpec(hidden=16, width_d=8)


def test_code_discriminator_loss_by_hand():
    prior, code = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0, 3.0])
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    expected = (sp(-1) + sp(2)) / 2 + (sp(0.5) + sp(0) + sp(3)) / 3
    assert aae.code_discriminator_loss(prior, code).item() == pytest.approx(expected, rel=1e-6)


def test_networks_shapes_and_the_standardised_property():
    model = aae.AdversarialAutoencoder(TINY)
    x = (torch.rand(5, 1, 28, 28) > 0.8).float()
    assert model.encode(x).shape == (5, 5)
    assert model.decode(torch.zeros(5, 5)).shape == (5, 1, 28, 28)
    model.mean.fill_(0.1)
    model.std.fill_(0.05)
    expected = ((x.flatten(1) > 0.5).float().mean(1) - 0.1) / 0.05
    torch.testing.assert_close(model.standardised_property(x), expected)
    parts = model.losses(x)
    assert set(parts) == {"reconstruction", "regression", "adversarial", "z"}


def test_trainer_sets_the_property_scale_and_steps():
    x = (torch.rand(50, 1, 28, 28) > 0.8).float()
    model = aae.AdversarialAutoencoder(TINY)
    trainer = aae.AAETrainer(model, x, batch_size=10, seed=0)
    ink = (x.flatten(1) > 0.5).float().mean(1)
    assert model.mean.item() == pytest.approx(ink.mean().item()) and model.std.item() == pytest.approx(ink.std().item())
    trainer.fit(steps=3)
    assert trainer.steps == 3 and len(trainer.history["d_loss"]) == 3 and not model.training


def test_dial_samples_use_the_same_free_units_for_every_value():
    model = aae.AdversarialAutoencoder(TINY)
    dials, x = aae.dial_samples(model, per_value=4, seed=0, values=(-1.0, 1.0))
    assert dials.tolist() == [-1.0] * 4 + [1.0] * 4 and x.shape == (8, 1, 28, 28)
    assert aae.dial_grid(model, rows=3).shape == (30, 1, 28, 28)


@pytest.mark.slow
def test_train_aae_on_a_tiny_budget_and_sample(tmp_path, one_thread):
    grids = []
    result = aae.train_aae(tmp_path, minutes=2, seed=0, spec=TINY, steps=5,
                           write_grid=lambda path, x: grids.append((path.name, tuple(x.shape))))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert -1 <= saved["rank_correlation"] <= 1 and len(saved["ks_free_units"]) == 4
    assert saved["ks_max"] == max(saved["ks_free_units"]) and saved["steps"] == 5 == result["steps"]
    assert grids == [("grid.png", (100, 1, 28, 28))]
    x = aae.sample_aae(tmp_path / "weights.pt", 3, seed=0, attribute=1.5)
    assert x.dtype == np.uint8 and x.shape == (3, 28, 28)
    assert aae.sample_aae(tmp_path / "weights.pt", 3).shape == (3, 28, 28)


def test_the_ks_statistic_against_scipy_on_normal_codes():
    """measure() reads the free units with scipy's KS test: normal codes give a small statistic."""
    from scipy import stats

    z = torch.randn(1000, generator=torch.Generator().manual_seed(0)).double().numpy()
    assert stats.kstest(z, "norm").statistic < 0.05
    assert stats.kstest(z * 2, "norm").statistic > 0.1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "high", True])
def test_sample_aae_refuses_a_non_finite_attribute(tmp_path, bad):
    with pytest.raises(ValueError, match="attribute must be a finite number"):
        aae.sample_aae(tmp_path / "w.pt", 2, attribute=bad)


def test_sample_aae_refuses_digits_and_prompts(tmp_path):
    with pytest.raises(ValueError, match="aae takes no digit"):
        aae.sample_aae(tmp_path / "w.pt", 2, digit=3)
    with pytest.raises(ValueError, match="aae takes no prompt"):
        aae.sample_aae(tmp_path / "w.pt", 2, prompt="a three")
