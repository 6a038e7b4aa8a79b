"""The classifier trained on given digits learns them; bad input is refused."""

import pytest
import torch

from gan_course import classifier, synthetic


def test_a_classifier_trained_on_two_drawn_classes_tells_them_apart(one_thread):
    x = torch.zeros(40, 1, 28, 28)
    x[:20, :, 5:23, 12:15] = 1.0  # class 0: a vertical bar
    x[20:, :, 12:15, 5:23] = 1.0  # class 1: a horizontal bar
    x = (x + 0.1 * torch.rand(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    y = torch.tensor([0] * 20 + [1] * 20)
    model = synthetic.fit_digit_classifier(x, y, epochs=8, seed=0, batch_size=8)  # 40 updates
    assert classifier.accuracy(model, x, y) == 1.0
    assert not model.training


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"x must be \(N, 1, 28, 28\) and y \(N,\)"):
        synthetic.fit_digit_classifier(torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        synthetic.fit_digit_classifier(torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long), epochs=0)
