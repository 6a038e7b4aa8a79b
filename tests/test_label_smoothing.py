"""One-sided label smoothing: against torch's BCE, the closed form of its optimum, and bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from gan_course import losses
from gan_course.nets import DCGANDiscriminator, DCGANGenerator
from gan_course.train import GANTrainer

REAL = torch.tensor([3.0, -1.0, 0.5, 40.0])
FAKE = torch.tensor([-2.0, 0.0, 1.5])


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.25, 0.9])
def test_matches_torch_bce_with_smoothed_real_targets(smoothing):
    expected = F.binary_cross_entropy_with_logits(REAL, torch.full_like(REAL, 1 - smoothing)) \
        + F.binary_cross_entropy_with_logits(FAKE, torch.zeros_like(FAKE))
    got = losses.smoothed_d_loss(REAL, FAKE, smoothing=smoothing)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)


def test_zero_smoothing_is_the_minimax_loss():
    assert torch.equal(losses.smoothed_d_loss(REAL, FAKE, 0.0), losses.minimax_d_loss(REAL, FAKE))


def test_fake_side_is_not_smoothed():
    # The fake term alone, with the real logits fixed: it must not depend on smoothing.
    a = losses.smoothed_d_loss(REAL, FAKE, 0.2) - losses.smoothed_d_loss(REAL, torch.zeros(3), 0.2)
    b = losses.smoothed_d_loss(REAL, FAKE, 0.0) - losses.smoothed_d_loss(REAL, torch.zeros(3), 0.0)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_optimal_logit_is_log_odds_of_one_minus_s(smoothing):
    # Minimising over one real logit l: (1-s) softplus(-l) + s softplus(l) is smallest at sigmoid(l) = 1 - s.
    logit = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([logit], lr=1, max_iter=100)

    def closure():
        opt.zero_grad()
        loss = losses.smoothed_d_loss(logit, torch.tensor([-30.0]), smoothing)
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.sigmoid(logit).item() == pytest.approx(1 - smoothing, abs=1e-4)
    assert logit.item() == pytest.approx(math.log((1 - smoothing) / smoothing), abs=1e-3)


def test_large_logits_stay_finite():
    big = torch.tensor([200.0, -200.0])
    value = losses.smoothed_d_loss(big, -big, 0.1)
    assert torch.isfinite(value)
    assert value.item() == pytest.approx(0.1 * 200 / 2 + 0.9 * 200 / 2 + 200 / 2, rel=1e-6)


def test_gradient_on_real_logit_is_sigmoid_minus_target():
    real = torch.tensor([2.0], requires_grad=True)
    losses.smoothed_d_loss(real, torch.tensor([0.0]), 0.1).backward()
    assert real.grad.item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item() - 0.9, abs=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), True, "0.1", None])
def test_smoothing_outside_range_is_a_value_error(bad):
    with pytest.raises(ValueError, match=r"smoothing must be a number in \[0, 1\)"):
        losses.smoothed_d_loss(REAL, FAKE, bad)
    with pytest.raises(ValueError, match="smoothing"):
        losses.label_smoothing_loss(bad)


def test_label_smoothing_loss_pairs_with_nonsaturating_generator():
    loss = losses.label_smoothing_loss(0.2)
    assert isinstance(loss, losses.GANLoss)
    assert loss.name == "nonsaturating+smoothing"
    assert loss.g_loss is losses.nonsaturating_g_loss
    assert not loss.gradient_penalty
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(losses.smoothed_d_loss(REAL, FAKE, 0.2).item())
    assert losses.get_loss(loss) is loss


def test_trainer_takes_it_as_its_loss():
    torch.manual_seed(0)
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    y = torch.arange(32) % 10
    trainer = GANTrainer(DCGANGenerator(8, 4, num_classes=10), DCGANDiscriminator(4, num_classes=10),
                         (x, y), losses.label_smoothing_loss(0.1), batch_size=8, device="cpu")
    trainer.fit(steps=2, progress=False)
    assert trainer.loss.name == "nonsaturating+smoothing"
    assert len(trainer.history["d_loss"]) == 2 and all(math.isfinite(v) for v in trainer.history["d_loss"])
