"""gan_course.kmeans: k-means labels against scikit-learn, Lloyd's fixed point, hand-made clusters,
repeatability with a generator, and bad input."""

import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from gan_course import kmeans

pytestmark = pytest.mark.usefixtures("one_thread")


def test_kmeans_labels_match_sklearn_and_refuse_bad_input():
    gen = torch.Generator().manual_seed(0)
    centers = 6.0 * torch.eye(5, 4, dtype=torch.float64)  # 5 centers 6 or more apart
    x = centers[torch.arange(600) % 5] + 0.5 * torch.randn(600, 4, generator=gen, dtype=torch.float64)
    labels = kmeans.kmeans_labels(x, 5, gen=torch.Generator().manual_seed(0))
    reference = KMeans(5, n_init=10, random_state=0).fit(x.numpy()).labels_
    assert labels.shape == (600,) and adjusted_rand_score(reference, labels.numpy()) == pytest.approx(1.0)
    # a Lloyd fixed point: every point sits with its nearest center
    centers = torch.stack([x[labels == j].mean(0) for j in range(5)])
    assert torch.equal(torch.cdist(x, centers).argmin(1), labels)
    with pytest.raises(ValueError, match="init must be one of"):
        kmeans.kmeans_labels(x, 5, init="forgy")
    with pytest.raises(ValueError, match=r"k \(601\) must be at most the number of rows of x \(600\)"):
        kmeans.kmeans_labels(x, 601)
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        kmeans.kmeans_labels(x, 0)


@pytest.mark.parametrize("init", kmeans.INITS)
def test_hand_made_clusters_are_found_whatever_the_seeding(init):
    x = torch.tensor([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2], [20.0], [20.3]])
    labels = kmeans.kmeans_labels(x, 3, init=init, gen=torch.Generator().manual_seed(1))
    groups = {tuple(torch.nonzero(labels == j).flatten().tolist()) for j in range(3)}
    assert groups == {(0, 1, 2), (3, 4, 5), (6, 7)}


def test_one_cluster_is_every_row_and_a_vector_is_one_column():
    assert kmeans.kmeans_labels(torch.randn(9, 2), 1).tolist() == [0] * 9
    labels = kmeans.kmeans_labels(torch.tensor([5.0, 5.1, -5.0, -5.1]), 2, gen=torch.Generator().manual_seed(0))
    assert labels.shape == (4,) and labels[0] == labels[1] != labels[2] == labels[3]


def test_the_same_generator_seed_gives_the_same_labels():
    x = torch.randn(300, 3, generator=torch.Generator().manual_seed(5))  # no clear clusters: seeding matters
    runs = [kmeans.kmeans_labels(x, 6, gen=torch.Generator().manual_seed(s)) for s in (2, 2, 3)]
    assert torch.equal(runs[0], runs[1])
    assert runs[0].dtype == torch.int64 and set(runs[0].tolist()) == set(range(6))


def test_k_means_refuses_nan_and_bad_shapes():
    x = torch.zeros(4, 2)
    x[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"x contains 1 NaN/inf value\(s\) out of 8"):
        kmeans.kmeans_labels(x, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(N,\) or \(N, D\)"):
        kmeans.kmeans_labels(torch.zeros(3, 2, 2), 2)
