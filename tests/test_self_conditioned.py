"""The self-conditioned DCGAN (self_conditioned): the clustering against scikit-learn's k-means,
sampling by the clusters' shares, the weights file and the run folder, bad input."""

import json

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from gan_course import checkpoints, self_conditioned as sc

pytestmark = pytest.mark.usefixtures("one_thread")


def test_clusters_agree_with_sklearn_kmeans_and_shares_count_them():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0] * 4, [5.0] * 4, [-5.0, 5.0, -5.0, 5.0]])
    which = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    x = (centres[which] + 0.3 * torch.randn(100, 4, generator=gen)).reshape(100, 1, 2, 2)
    ids, shares = sc.cluster_digits(x, k=3, seed=0)
    reference = KMeans(3, n_init=10, random_state=0).fit_predict(x.flatten(1).numpy())
    assert adjusted_rand_score(reference, ids.numpy()) == 1.0
    assert sorted(shares.tolist()) == pytest.approx([0.2, 0.3, 0.5])
    assert shares.tolist() == pytest.approx((torch.bincount(ids, minlength=3) / 100).tolist())


@pytest.fixture
def model(few_digits):
    return sc.build(seed=0, k=3, device="cpu")


def test_samples_draw_clusters_by_their_shares(model):
    model.shares = torch.tensor([0.7, 0.3, 0.0], dtype=torch.float64)
    x, clusters = model.sample(400, seed=1)
    assert x.shape == (400, 1, 28, 28) and float(x.abs().max()) <= 1
    assert 2 not in clusters.tolist()  # a cluster of share 0 is never drawn
    assert abs(float((clusters == 0).double().mean()) - 0.7) < 0.08
    x2, clusters2 = model.sample(400, seed=1)
    assert torch.equal(x, x2) and torch.equal(clusters, clusters2)


def test_weights_round_trip(model, tmp_path):
    model.trainer.fit(steps=1, progress=False)
    path = sc.save(model, tmp_path / "w.pt", command="test")
    again = sc.load(path)
    assert again.num_clusters == model.num_clusters and again.trainer.global_step == 1
    assert torch.allclose(again.shares, model.shares.float().double())
    a, _ = model.sample(8, seed=2)
    b, _ = again.sample(8, seed=2)
    assert torch.allclose(a, b, atol=0.02)  # the file keeps fp16 weights


@pytest.mark.slow  # about 10 s: 1,000 samples, the metrics, the clustering twice
def test_a_run_writes_samples_metrics_and_weights(tmp_path, few_digits):
    result = sc.train_self_conditioned(tmp_path / "run", minutes=None, steps=1, seed=0, progress=False, device="cpu")
    samples = np.load(tmp_path / "run" / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8  # as `train dcgan`
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["kind"] == "dcgan-sc" and metrics["steps"] == 1 == result["steps"]
    assert len(metrics["shares"]) == sc.NUM_CLUSTERS and sum(metrics["shares"]) == pytest.approx(1, abs=1e-3)
    assert sc.sample_dcgan_sc(tmp_path / "run" / "weights.pt", 5, seed=0).shape == (5, 28, 28)


def test_bad_input_names_the_argument(tmp_path):
    with pytest.raises(ValueError, match="k"):
        sc.cluster_digits(torch.zeros(4, 1, 2, 2), k=1)
    with pytest.raises(ValueError, match="minutes"):
        sc.train_self_conditioned(tmp_path / "a", minutes=None, steps=None)
    with pytest.raises(ValueError, match="minutes"):
        sc.train_self_conditioned(tmp_path / "b", minutes=-1)
    with pytest.raises(ValueError, match="steps must be 1 or None for dcgan-sc"):
        sc.sample_dcgan_sc(tmp_path / "w.pt", 5, steps=10)
    checkpoints.save(tmp_path / "other.pt", "something_else", {"a": 1})
    with pytest.raises(ValueError, match="does not hold dcgan-sc weights"):
        sc.load(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match="train dcgan-sc"):
        sc.load(tmp_path / "missing.pt")
