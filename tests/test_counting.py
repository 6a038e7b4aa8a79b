"""Counting blobs (counting): the blob data, the counter against scipy.ndimage.label, the
histogram, the two models' files, bad input."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from gan_course import counting

pytestmark = pytest.mark.usefixtures("one_thread")


def scipy_counts(x: torch.Tensor, threshold: float = 0.5) -> list[int]:
    structure = np.ones((3, 3), dtype=int)  # 8-connectivity
    return [ndimage.label(img[0].numpy() > threshold, structure=structure)[1] for img in x]


@pytest.mark.parametrize("density", [0.1, 0.3, 0.5, 0.7])
def test_count_blobs_matches_scipy_label_on_random_images(density):
    gen = torch.Generator().manual_seed(int(density * 10))
    x = (torch.rand(20, 1, 28, 28, generator=gen) < density).float()
    assert counting.count_blobs(x).tolist() == scipy_counts(x)


def test_count_blobs_on_hand_made_shapes():
    x = torch.zeros(4, 1, 10, 10)
    x[1, 0, 2, 2] = 1  # one pixel
    x[2, 0, 1:9, 5] = 1  # a bar, and a U-shape around it that touches nowhere
    x[2, 0, 1:9, 1] = x[2, 0, 1:9, 3] = 1
    x[2, 0, 8, 1:4] = 1
    x[3, 0, 0, 0] = x[3, 0, 1, 1] = x[3, 0, 9, 9] = x[3, 0, 0, 9] = 1  # a diagonal pair and two corners
    assert counting.count_blobs(x).tolist() == [0, 1, 2, 3]


def test_count_blobs_uses_the_threshold():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 1, 1], x[0, 0, 5, 5] = 0.9, 0.4
    assert counting.count_blobs(x).tolist() == [1]
    assert counting.count_blobs(x, threshold=0.3).tolist() == [2]


def test_blob_images_hold_the_count_they_say_and_are_seeded():
    x, counts = counting.blob_images(200, seed=3)
    assert x.shape == (200, 1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert set(counts.tolist()) == {1, 2, 3, 4}
    assert counting.count_blobs(x).tolist() == counts.tolist() == scipy_counts(x)  # blobs never merge
    x2, counts2 = counting.blob_images(200, seed=3)
    assert torch.equal(x, x2) and torch.equal(counts, counts2)
    assert not torch.equal(counting.blob_images(200, seed=4)[0], x)


def test_histogram_and_total_variation_on_hand_made_counts():
    p = counting.count_histogram(torch.tensor([0, 1, 1, 2, 9, 6]))
    assert p.tolist() == pytest.approx([1 / 6, 2 / 6, 1 / 6, 0, 0, 0, 2 / 6])  # 6 and 9 share the last bin
    q = counting.count_histogram(torch.tensor([1, 1, 1]))
    assert counting.total_variation(p, q) == pytest.approx(0.5 * (1 / 6 + 4 / 6 + 1 / 6 + 2 / 6))
    assert counting.total_variation(p, p) == 0.0


def test_blob_quality_on_hand_made_images():
    x = torch.zeros(2, 1, 4, 4)
    x[0, 0, 0, :2] = 1.0  # 2 of 16 pixels on, peak 1; the second image is empty
    q = counting.blob_quality(x)
    assert q == pytest.approx({"foreground": 2 / 32, "peak": 0.5, "empty": 0.5})


def test_both_models_train_and_round_trip_through_one_file(tmp_path):
    x, _ = counting.blob_images(64, seed=0)
    gan = counting.gan_trainer(x, seed=0)
    gan.fit(steps=1, progress=False)
    diffusion = counting.diffusion_trainer(x, seed=0, width=4, batch_size=16)
    diffusion.fit(steps=2, progress=False)
    path = counting.save_models(tmp_path / "pair.pt", gan, diffusion, {"steps": 2})
    generator, model, info = counting.load_models(path)
    assert info == {"steps": 2}
    a = counting.gan_samples(generator, 3, seed=1)
    assert a.shape == (3, 1, 28, 28) and torch.equal(a, counting.gan_samples(generator, 3, seed=1))
    expected = counting.gan_samples(gan.sampling_generator.half().float(), 3, seed=1)  # the file keeps fp16
    assert torch.allclose(a, expected, atol=1e-5)
    b = counting.diffusion_samples(model, 3, seed=1, steps=2)
    assert b.shape == (3, 1, 28, 28) and 0 <= float(b.min()) and float(b.max()) <= 1


def test_bad_input_names_the_argument(tmp_path):
    with pytest.raises(ValueError, match="n"):
        counting.blob_images(0)
    with pytest.raises(ValueError, match="max_count"):
        counting.blob_images(3, max_count=12)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(N, 1, H, W\), got \(28, 28\)"):
        counting.count_blobs(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="threshold"):
        counting.blob_quality(torch.zeros(1, 1, 4, 4), threshold=2)
    from gan_course import checkpoints
    checkpoints.save(tmp_path / "other.pt", "something_else", {"a": 1})
    with pytest.raises(ValueError, match="does not hold the counting models"):
        counting.load_models(tmp_path / "other.pt")
