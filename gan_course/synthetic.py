r"""Synthetic training data: train a classifier on a conditional GAN's digits, test it on real ones.

The classification accuracy score (CAS, Ravuri & Vinyals, 2019) asks whether generated data can
*replace* real data: train a classifier only on samples :math:`(G(z, y), y)` and measure its
accuracy on real test digits, beside the same classifier trained on as many real digits,

.. math:: \mathrm{CAS} = \frac1N\sum_{i=1}^N \big[f_{G}(x_i) = y_i\big],\qquad (x_i, y_i) \text{ real test digits}.

A generator whose samples are sharp but too alike (a few prototypes per class) scores high on the
classifier score and low here: the classifier never sees the variety of real handwriting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_course.classifier import MNISTClassifier, accuracy
from gan_course.loop import check_finite, fit_loop
from gan_course.validate import float_data, require_positive_int


def fit_digit_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 5, seed: int = 0, batch_size: int = 128,
                         lr: float = 3e-3, progress: bool = False) -> MNISTClassifier:
    """The course's classifier architecture trained on ``(x, y)`` (images in [0, 1]) for ``epochs``
    passes: Adam with a one-cycle learning rate, as ``classifier.train_classifier`` (no shifts).
    Returns it in eval mode."""
    x = float_data(x)
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28) or y.shape != (len(x),):
        raise ValueError(f"x must be (N, 1, 28, 28) and y (N,), got {tuple(x.shape)} and {tuple(y.shape)}")
    epochs, batch_size = require_positive_int("epochs", epochs), require_positive_int("batch_size", batch_size)
    torch.manual_seed(seed)
    model = MNISTClassifier()
    gen = torch.Generator().manual_seed(seed)
    per_epoch = -(-len(x) // batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * per_epoch)
    state = {"step": 0, "order": torch.arange(0)}
    model.train()

    def one_step() -> None:
        batch = state["step"] % per_epoch
        if batch == 0:
            state["order"] = torch.randperm(len(x), generator=gen)
        rows = state["order"][batch * batch_size:(batch + 1) * batch_size]
        loss = F.cross_entropy(model(x[rows]), y[rows])
        check_finite({"loss": loss.item()}, state["step"] + 1, hint=f"Lower lr (now {lr}).")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        state["step"] += 1

    fit_loop(one_step, epochs * per_epoch, None, progress, desc="classifier")
    return model.eval()


def classification_accuracy_score(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                                  y_test: torch.Tensor, epochs: int = 5, seed: int = 0) -> float:
    """Train ``fit_digit_classifier`` on ``(x_train, y_train)`` and return its accuracy on the test digits."""
    return accuracy(fit_digit_classifier(x_train, y_train, epochs, seed), x_test, y_test)
