"""Retrieval: neighbours against scikit-learn, precision@k by hand, shifts against numpy, and the
discriminator features on tiny networks."""

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from gan_course import nets, retrieval


def test_nearest_neighbours_match_scikit_learn_cosine():
    gen = torch.Generator().manual_seed(0)
    gallery, query = torch.randn(60, 7, generator=gen), torch.randn(9, 7, generator=gen)
    got = retrieval.nearest_neighbours(query, gallery, k=5)
    nn = NearestNeighbors(n_neighbors=5, metric="cosine").fit(gallery.numpy())
    expected = nn.kneighbors(query.numpy(), return_distance=False)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_precision_at_k_by_hand():
    labels = torch.tensor([[2, 2, 2, 1], [0, 1, 1, 1]])
    assert retrieval.precision_at_k(labels, torch.tensor([2, 1])).tolist() == [0.75, 0.75]
    with pytest.raises(ValueError, match="query_labels"):
        retrieval.precision_at_k(labels, torch.tensor([1]))


@pytest.mark.parametrize("dy,dx", [(2, 0), (-3, 1), (0, -2), (3, 3)])
def test_shift_moves_and_fills_with_background(dy, dx):
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    got = retrieval.shift(x, dy, dx).numpy()
    expected = np.zeros_like(x.numpy())
    src = x.numpy()
    for r in range(28):
        for c in range(28):
            if 0 <= r - dy < 28 and 0 <= c - dx < 28:
                expected[..., r, c] = src[..., r - dy, c - dx]
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="smaller than the image"):
        retrieval.shift(x, 28, 0)


def test_shifted_queries_move_every_image_by_two_or_three_pixels():
    x = torch.zeros(50, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0  # one dot in the middle
    moved = retrieval.shifted_queries(x, seed=0)
    rows, cols = torch.nonzero(moved[:, 0], as_tuple=True)[1:]
    steps = torch.maximum((rows - 14).abs(), (cols - 14).abs())
    assert len(rows) == 50 and set(steps.tolist()) == {2, 3}


def test_retrieval_table_pixels_find_a_copy_of_the_query():
    gen = torch.Generator().manual_seed(2)
    gallery = torch.rand(20, 1, 28, 28, generator=gen)
    labels = torch.arange(20) % 4
    table = retrieval.retrieval_table({"pixels": retrieval.pixel_features}, gallery[:8], labels[:8], gallery, labels, k=1)
    assert table["pixels"]["clean"] == 1.0  # each query is in the gallery
    assert 0.0 <= table["pixels"]["shifted"] <= 1.0


def test_discriminator_features_have_the_expected_sizes_and_keep_the_mode():
    torch.manual_seed(0)
    d = nets.DCGANDiscriminator(width=4).train()
    x = torch.rand(3, 1, 28, 28)
    assert retrieval.dcgan_features(d)(x).shape == (3, 8 * 7 * 7)
    assert retrieval.dcgan_features(d, pool=3)(x).shape == (3, 8 * 3 * 3)
    assert d.training

    class WithFeatures(torch.nn.Module):
        def features(self, x):
            return x.flatten(1)[:, :5]

    assert retrieval.module_features(WithFeatures())(x).shape == (3, 5)


def test_nearest_neighbours_bad_input():
    with pytest.raises(ValueError, match="same F"):
        retrieval.nearest_neighbours(torch.zeros(2, 3), torch.zeros(4, 5))
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 4\]"):
        retrieval.nearest_neighbours(torch.zeros(2, 3), torch.zeros(4, 3), k=5)
