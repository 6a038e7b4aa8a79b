"""The semi-supervised GAN: its two losses on hand-made cases, the labelled digits, a tiny run of
``train_semi`` with the files it writes, sampling, and bad input."""

import json
import math

import numpy as np
import pytest
import torch

from gan_course import aae, semi_supervised as semi

TINY = semi.SemiSpec(widths=(16,), latent_dim=4, width_g=16)


def test_d_loss_on_zero_logits_by_hand():
    k = 10
    z = torch.zeros(3, k)
    # labelled: -log(1/K); unlabelled: -log(K/(K+1)); fake: -log(1/(K+1))
    expected = math.log(k) + math.log((k + 1) / k) + math.log(k + 1)
    assert semi.semi_supervised_d_loss(z, torch.tensor([0, 4, 9]), z, z).item() == pytest.approx(expected, rel=1e-6)
    assert semi.semi_supervised_d_loss(z, torch.tensor([0, 4, 9]), z, z, 0.5).item() == \
        pytest.approx(math.log(k) + 0.5 * (math.log((k + 1) / k) + math.log(k + 1)), rel=1e-6)


def test_d_loss_matches_the_k_plus_one_softmax_written_out():
    gen = torch.Generator().manual_seed(0)
    ll, lu, lf = (torch.randn(5, 10, generator=gen, dtype=torch.float64) * 3 for _ in range(3))
    y = torch.tensor([1, 2, 3, 4, 5])
    p = lambda l: np.exp(l.numpy()) / (np.exp(l.numpy()).sum(1, keepdims=True) + 1)  # noqa: E731  p(y=k|x), K+1 classes
    sup = -np.mean(np.log(np.exp(ll.numpy())[np.arange(5), y] / np.exp(ll.numpy()).sum(1)))
    unl = -np.mean(np.log(p(lu).sum(1)))  # D(x) = 1 - p(fake | x)
    fake = -np.mean(np.log(1 - p(lf).sum(1)))
    assert semi.semi_supervised_d_loss(ll, y, lu, lf).item() == pytest.approx(sup + unl + fake, rel=1e-9)


def test_d_loss_stays_finite_for_huge_logits():
    big = torch.full((2, 10), 500.0)
    assert math.isfinite(semi.semi_supervised_d_loss(big, torch.tensor([0, 1]), big, -big).item())


def test_feature_matching_by_hand():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0], [1.0, 4.0]])  # mean (1, 2)
    assert semi.feature_matching_loss(real, fake).item() == pytest.approx(2.0)
    assert semi.feature_matching_loss(real, real).item() == 0.0


def test_choose_labelled_takes_the_same_number_per_class_by_seed():
    y = torch.arange(10).repeat(40)  # (400,)
    rows = semi.choose_labelled(y, 30, seed=1)
    assert torch.bincount(y[rows], minlength=10).tolist() == [3] * 10
    assert torch.equal(rows, semi.choose_labelled(y, 30, seed=1))
    assert not torch.equal(rows, semi.choose_labelled(y, 30, seed=2))
    assert len(set(rows.tolist())) == 30


@pytest.mark.parametrize("labels", [0, -10, 15, 410, True, 10.0])
def test_choose_labelled_refuses_bad_counts(labels):
    with pytest.raises(ValueError, match="labels must be"):
        semi.choose_labelled(torch.arange(10).repeat(40), labels, seed=0)


def test_networks_shapes_and_noise_only_in_training():
    d, g = semi.SemiDiscriminator(TINY), semi.SemiGenerator(TINY)
    x = torch.rand(3, 1, 28, 28)
    assert d(x).shape == (3, 10) and d.features(x).shape == (3, 16)
    assert g(torch.randn(3, 4)).shape == (3, 1, 28, 28)
    d.eval()
    assert torch.equal(d(x), d(x))
    d.train()
    assert not torch.equal(d(x), d(x))


def test_a_few_steps_run_and_record_finite_losses():
    x = torch.rand(40, 1, 28, 28)
    y = torch.arange(10).repeat(4)
    model = semi.SemiSupervisedGAN(x[:20], y[:20], x, TINY, semi.SemiConfig(batch_size=8), seed=0)
    model.fit(steps=3)
    assert model.steps == 3 and all(math.isfinite(v) for v in model.history["d_loss"] + model.history["g_loss"])
    assert semi.predict(model.classifier, x).shape == (40,)


@pytest.mark.slow
def test_train_semi_on_a_tiny_budget_writes_the_run(tmp_path, one_thread):
    grids = []
    result = semi.train_semi(tmp_path, minutes=2, seed=0, labels=20, spec=TINY, steps=3,
                             config=semi.SemiConfig(baseline_steps=2, batch_size=8),
                             write_grid=lambda path, x: grids.append((path.name, tuple(x.shape))))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert {"test_accuracy", "baseline_accuracy", "labels"} <= set(saved) and saved["labels"] == 20
    assert saved["steps"] == 3 and result["test_accuracy"] == saved["test_accuracy"]
    predictions = np.load(tmp_path / "test_predictions.npy")
    assert predictions.dtype == np.int64 and predictions.shape == (1000,) and 0 <= predictions.min() <= predictions.max() <= 9
    assert grids == [("grid.png", (100, 1, 28, 28))]
    x = semi.sample_semi(tmp_path / "weights.pt", 5, seed=1)
    assert x.dtype == np.uint8 and x.shape == (5, 28, 28)
    np.testing.assert_array_equal(x, semi.sample_semi(tmp_path / "weights.pt", 5, seed=1))


def test_train_semi_refuses_bad_labels_before_writing(tmp_path):
    with pytest.raises(ValueError, match="labels must be a positive multiple of 10"):
        semi.train_semi(tmp_path, minutes=0.01, labels=25)
    with pytest.raises(ValueError, match="labels must be at most 4000"):
        semi.train_semi(tmp_path, minutes=0.01, labels=4010)
    with pytest.raises(ValueError, match="minutes must be a positive number"):
        semi.train_semi(tmp_path, minutes=0)
    assert list(tmp_path.iterdir()) == []


def test_sample_semi_refuses_other_kinds_and_options(tmp_path):
    path = tmp_path / "aae.pt"
    aae.app_runs.save_weights(path, "aae", {"spec": {}})
    with pytest.raises(ValueError, match="'aae_weights' checkpoint, but a 'semi_weights'"):
        semi.sample_semi(path, 2)
    with pytest.raises(ValueError, match="semi takes no prompt"):
        semi.sample_semi(path, 2, prompt="a seven")
    with pytest.raises(ValueError, match="digit must be an int from 0 to 9"):
        semi.sample_semi(path, 2, digit=12)
    with pytest.raises(ValueError, match="no such file"):
        semi.sample_semi(tmp_path / "missing.pt", 2)
