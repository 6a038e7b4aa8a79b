"""The MNIST classifier behind the image metrics: shipped weights, evaluation, errors.

The shipped weights are loaded, never retrained, except one tiny smoke run of train_classifier.
"""

import json
import warnings

import pytest
import torch

from gan_course import classifier, data, metrics
from gan_course.classifier import REBUILD, ClassifierWeightsError


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Small convolutions on a shared machine run fastest (and steadiest) on one thread."""


@pytest.fixture(scope="module")
def model():
    return classifier.load_classifier()


@pytest.fixture(scope="module")
def test_split():
    return data.mnist("test", source="bundled")


@pytest.fixture(scope="module")
def train_split():
    return data.mnist("train", source="bundled")


def evaluate_quietly(x, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # N != 1000 is warned about; intended here
        return classifier.evaluate_images(x, **kwargs)


# --- the shipped weights ---


def test_shipped_weights_are_small_and_carry_how_they_were_made():
    path = classifier.default_path()
    assert path.stat().st_size < 1_000_000
    meta = classifier.classifier_meta()
    assert meta["command"].startswith(REBUILD) and meta["seed"] == 0
    assert meta["test_accuracy"] >= 0.97
    assert isinstance(meta["torch_version"], str)


def test_held_out_accuracy_is_at_least_97_percent(model, test_split):
    x, y = test_split
    acc = classifier.accuracy(model, x, y)
    assert acc >= 0.97
    assert acc == pytest.approx(classifier.classifier_meta()["test_accuracy"], abs=0.002)


def test_shapes_and_feature_layer(model, test_split):
    x = test_split[0][:7]
    with torch.no_grad():
        assert model(x).shape == (7, 10)
        feats = model.features(x)
    assert feats.shape == (7, classifier.FEATURE_DIM) and (feats >= 0).all()
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 28, 28\), got \(7, 3, 28, 28\)"):
        model.features(torch.zeros(7, 3, 28, 28))


def test_loading_is_cached_per_device(model):
    assert classifier.load_classifier() is model
    assert not model.training


# --- scores of real digits ---


def test_real_test_digits_score_near_the_ceiling(model, test_split):
    probs, _ = classifier.predict(model, test_split[0])
    assert metrics.classifier_score(probs) > 9.5


def test_real_train_digits_are_the_reference(train_split):
    x, y = train_split
    rows = torch.randperm(len(x), generator=torch.Generator().manual_seed(classifier.REFERENCE_SEED))[:1000]
    result = classifier.evaluate_images(x[rows], value_range=(0, 1), y_requested=y[rows])
    for name in ("classifier_score", "fid", "kid", "precision", "recall", "class_tv"):
        assert result[name]["value"] == pytest.approx(result[name]["real"], rel=1e-9, abs=1e-12), name
    assert result["n"] == 1000
    assert result["classifier_score"]["value"] > 9.5
    assert result["requested_accuracy"]["value"] > 0.97
    assert result["precision"]["value"] > 0.8 and result["recall"]["value"] > 0.8
    assert result["fid"]["value"] < 20 and result["class_tv"]["value"] < 0.1
    assert sum(result["class_histogram"]["value"]) == pytest.approx(1.0)
    assert result["class_histogram"]["real"] == pytest.approx([0.1] * 10)


def test_only_ones_score_worse_than_a_balanced_set_on_every_metric(train_split):
    x, y = train_split
    ones = x[y == 1]  # (400, 1, 28, 28)
    balanced = x[:len(ones)]
    r_ones = evaluate_quietly(ones, value_range=(0, 1))
    r_bal = evaluate_quietly(balanced, value_range=(0, 1))
    assert r_ones["classifier_score"]["value"] < 1.5 < 9 < r_bal["classifier_score"]["value"]
    assert r_ones["fid"]["value"] > 10 * r_bal["fid"]["value"]
    assert r_ones["kid"]["value"] > r_bal["kid"]["value"] + 3 * (r_ones["kid"]["std"] + r_bal["kid"]["std"])
    assert r_ones["recall"]["value"] < 0.3 < 0.8 < r_bal["recall"]["value"]
    assert r_ones["class_tv"]["value"] > 0.8 > 0.1 > r_bal["class_tv"]["value"]
    assert max(r_ones["class_histogram"]["value"]) > 0.9 > 0.2 > max(r_bal["class_histogram"]["value"])


def test_value_range_minus_one_to_one_gives_the_same_result(test_split, train_split):
    x = train_split[0][:400]  # N=400 throughout: one real reference computed for all these tests
    a = evaluate_quietly(x, value_range=(0, 1))
    b = evaluate_quietly(x * 2 - 1, value_range=(-1, 1))
    assert a["fid"]["value"] == pytest.approx(b["fid"]["value"], rel=1e-4)
    assert a["classifier_score"]["value"] == pytest.approx(b["classifier_score"]["value"], rel=1e-5)


def test_requested_digit_accuracy(train_split):
    x, y = train_split
    result = evaluate_quietly(x[:400], value_range=(0, 1), y_requested=(y[:400] + 1) % 10)  # all wrong
    assert result["requested_accuracy"]["value"] < 0.05
    assert result["requested_accuracy"]["real"] >= 0.97


def test_format_report_has_one_line_per_metric_with_its_reference(train_split):
    x, y = train_split
    result = evaluate_quietly(x[:400], value_range=(0, 1), y_requested=y[:400])
    report = classifier.format_report(result)
    for label in ("classifier score", "FID", "KID", "precision", "recall", "histogram", "requested digit"):
        assert label in report
    assert f"{result['fid']['real']:.2f}" in report and "N=400" in report
    json.dumps(result)  # plain numbers and lists: can go straight into metrics.json


# --- bad input ---


def test_evaluate_images_rejects_bad_input(train_split):
    x = train_split[0][:400]
    with pytest.raises(ValueError, match=r"x_fake must have shape \(N, 1, 28, 28\), got \(400, 28, 28\)"):
        classifier.evaluate_images(x[:, 0], value_range=(0, 1))
    with pytest.raises(ValueError, match=r"outside value_range=\(0, 1\).*\(-1, 1\) for generator output"):
        evaluate_quietly(x * 2 - 1, value_range=(0, 1))
    with pytest.raises(ValueError, match="value_range must be"):
        evaluate_quietly(x, value_range=(1, 0))
    with pytest.raises(ValueError, match="between 10 and 4000 images"):
        classifier.evaluate_images(x[:5], value_range=(0, 1))
    with pytest.raises(ValueError, match=r"y_requested must have shape \(400,\)"):
        evaluate_quietly(x, value_range=(0, 1), y_requested=torch.zeros(49, dtype=torch.long))
    with pytest.raises(ValueError, match="y_requested must hold integer digits 0..9"):
        evaluate_quietly(x, value_range=(0, 1), y_requested=torch.full((400,), 10))
    with pytest.raises(TypeError):
        classifier.evaluate_images(x)  # value_range is required: no silent guess


def test_missing_weights_say_how_to_rebuild(tmp_path):
    with pytest.raises(ClassifierWeightsError, match=f"missing; rebuild them with `{REBUILD}`"):
        classifier.load_classifier(tmp_path / "nope.pt")


def test_corrupt_weights_say_how_to_rebuild(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ClassifierWeightsError, match=f"corrupt.*`{REBUILD}`"):
        classifier.load_classifier(bad)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(classifier.default_path().read_bytes()[:5000])
    with pytest.raises(ClassifierWeightsError, match=REBUILD):
        classifier.load_classifier(truncated)


def test_weights_of_another_architecture_say_how_to_rebuild(tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"state_dict": torch.nn.Linear(784, 10).state_dict(), "meta": {}}, other)
    with pytest.raises(ClassifierWeightsError, match=f"do not fit MNISTClassifier; rebuild them with `{REBUILD}`"):
        classifier.load_classifier(other)


# --- training ---


def test_random_shift_moves_whole_images_within_the_limit():
    x = torch.zeros(40, 1, 28, 28)
    x[:, :, 13, 13] = 1.0  # one lit pixel in the middle
    shifted = classifier.random_shift(x, 2, torch.Generator().manual_seed(0))
    where = shifted[:, 0].flatten(1).argmax(dim=1)  # (40,)
    rows, cols = where // 28, where % 28
    assert shifted.sum() == 40  # nothing lost or smeared
    assert rows.min() >= 11 and rows.max() <= 15 and cols.min() >= 11 and cols.max() <= 15
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # shifts differ per image
    again = classifier.random_shift(x, 2, torch.Generator().manual_seed(0))
    assert torch.equal(shifted, again)


def test_train_classifier_smoke_writes_loadable_weights(tmp_path):
    out = tmp_path / "clf.pt"
    result = classifier.train_classifier(seed=3, epochs=2, out=out, num_train=512, batch_size=32)
    assert out.is_file() and result["path"] == str(out)
    assert 0.3 < result["test_accuracy"] <= 1.0  # 2 x 512 digits: well above chance (0.1), far from done
    meta = classifier.classifier_meta(out)
    assert meta["seed"] == 3 and meta["epochs"] == 2 and meta["num_train"] == 512
    assert meta["command"].startswith("gan_course.classifier.train_classifier(seed=3, epochs=2, batch_size=32")
    assert classifier.load_classifier(out) is not classifier.load_classifier()
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        classifier.train_classifier(epochs=0, out=out)


def test_quick_quality_agrees_with_the_full_report():
    x, _ = data.mnist("train", source="bundled")
    x = x[:1000]
    quick = classifier.quick_quality(x, value_range=(0, 1))
    full = classifier.evaluate_images(x, value_range=(0, 1))
    assert quick["score"] == pytest.approx(full["classifier_score"]["value"], rel=1e-9)
    assert quick["fid"] == pytest.approx(full["fid"]["value"], rel=1e-9)
    with pytest.raises(ValueError, match=r"x_fake must have shape \(N, 1, 28, 28\), got \(3, 28, 28\)"):
        classifier.quick_quality(x[:3, 0], value_range=(0, 1))
