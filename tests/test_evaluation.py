"""The classification accuracy score and the spread over seeds (evaluation): scikit-learn and
closed-form oracles, the cases CAS exists to tell apart, bad input."""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from gan_course import evaluation


def blobs(n, seed, num_classes=4, dim=6, spread=1.0):
    """Gaussian classes around fixed centres: (n, dim) float64 and labels (n,)."""
    gen = torch.Generator().manual_seed(seed)
    centres = 3 * torch.eye(num_classes, dim, dtype=torch.float64)
    y = torch.arange(n) % num_classes
    return centres[y] + spread * torch.randn(n, dim, generator=gen, dtype=torch.float64), y


def test_logistic_regression_matches_scikit_learn():
    x, y = blobs(400, seed=0, spread=2.0)  # overlapping classes: the penalty matters
    l2 = 0.05
    weight, bias = evaluation.fit_logistic_regression(x, y, num_classes=4, l2=l2)
    reference = LogisticRegression(C=1 / (l2 * len(x)), tol=1e-10, max_iter=10_000).fit(x.numpy(), y.numpy())
    np.testing.assert_allclose(weight.numpy(), reference.coef_, atol=1e-4)
    np.testing.assert_allclose(bias.numpy(), reference.intercept_, atol=1e-4)
    x_new, _ = blobs(300, seed=1, spread=2.0)
    ours = (x_new @ weight.T + bias).argmax(1).numpy()
    assert (ours == reference.predict(x_new.numpy())).all()


def test_cas_of_real_training_data_is_the_real_classifiers_accuracy():
    x, y = blobs(400, seed=0, spread=1.5)
    x_test, y_test = blobs(400, seed=1, spread=1.5)
    cas = evaluation.classification_accuracy_score(x, y, x_test, y_test, l2=0.01)
    reference = LogisticRegression(C=1 / (0.01 * len(x)), tol=1e-10, max_iter=10_000).fit(x.numpy(), y.numpy())
    assert cas == pytest.approx(reference.score(x_test.numpy(), y_test.numpy()), abs=1e-9)
    assert cas > 0.8


def test_cas_punishes_wrong_labels_and_prototypes_that_the_classifier_score_would_reward():
    x, y = blobs(400, seed=0, spread=1.5)
    x_test, y_test = blobs(400, seed=1, spread=1.5)
    real = evaluation.classification_accuracy_score(x, y, x_test, y_test)
    swapped = evaluation.classification_accuracy_score(x, (y + 1) % 4, x_test, y_test)  # every label wrong
    assert swapped < 0.15 < 0.8 < real  # a test digit is called its class only where the model errs
    # a generator that draws each class's mean, shifted towards another class: every sample
    # is still nearest its own centre, but the decision boundary learned from it is wrong
    centres = 3 * torch.eye(4, 6, dtype=torch.float64)
    prototypes = centres[y] + 1.4 * (centres[(y + 1) % 4] - centres[y]) / 3
    assert (torch.cdist(prototypes, centres).argmin(1) == y).all()
    assert evaluation.classification_accuracy_score(prototypes, y, x_test, y_test) < real - 0.1


def test_seed_spread_matches_numpy_and_scipy():
    values = [0.91, 0.87, 0.95, 0.90, 0.78]
    s = evaluation.seed_spread(values)
    assert s["mean"] == pytest.approx(np.mean(values))
    assert s["std"] == pytest.approx(np.std(values, ddof=1))
    from scipy.stats import sem

    assert s["sem"] == pytest.approx(sem(values))
    assert (s["min"], s["max"], s["n"]) == (0.78, 0.95, 5)
    one = evaluation.seed_spread([0.5])
    assert one["mean"] == 0.5 and math.isnan(one["std"]) and math.isnan(one["sem"])


def test_bad_input_names_the_argument():
    x, y = blobs(20, seed=0)
    with pytest.raises(ValueError, match="values must hold at least one"):
        evaluation.seed_spread([])
    with pytest.raises(ValueError, match=r"y must have shape \(20,\)"):
        evaluation.fit_logistic_regression(x, y[:10], num_classes=4)
    with pytest.raises(ValueError, match=r"y must hold class ids 0..3"):
        evaluation.fit_logistic_regression(x, y + 1, num_classes=4)
    with pytest.raises(ValueError, match="l2 must be a positive number"):
        evaluation.fit_logistic_regression(x, y, num_classes=4, l2=0)
