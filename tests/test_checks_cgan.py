"""Notebook 08's self-checks accept the reference answers and reject planted mistakes (the confusion
matrix they lean on is tested against scikit-learn in test_metrics.py)."""

import torch
import torch.nn.functional as F

from gan_course import checks, losses, metrics


# ---- exercise 1: one-sided label smoothing ----------------------------------------------------


def reference_smoothed(real, fake, smoothing):
    return F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smoothing)) \
        + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def test_smoothed_d_loss_accepts_references():
    assert checks.smoothed_d_loss(reference_smoothed)
    assert checks.smoothed_d_loss(losses.smoothed_d_loss)
    by_softplus = lambda r, f, s: ((1 - s) * F.softplus(-r) + s * F.softplus(r)).mean() + F.softplus(f).mean()  # noqa: E731
    assert checks.smoothed_d_loss(by_softplus)


def test_smoothed_d_loss_rejects_mistakes():
    two_sided = checks.smoothed_d_loss(lambda r, f, s: F.binary_cross_entropy_with_logits(r, torch.full_like(r, 1 - s))
                                       + F.binary_cross_entropy_with_logits(f, torch.full_like(f, s)))
    assert not two_sided and "one-sided" in two_sided.message
    flipped = checks.smoothed_d_loss(lambda r, f, s: reference_smoothed(r, f, 1 - s))
    assert not flipped and "1 - smoothing" in flipped.message
    unsmoothed = checks.smoothed_d_loss(lambda r, f, s: losses.minimax_d_loss(r, f))
    assert not unsmoothed and "without smoothing" in unsmoothed.message
    via_sigmoid = checks.smoothed_d_loss(lambda r, f, s: -((1 - s) * torch.log(torch.sigmoid(r))
                                                            + s * torch.log(1 - torch.sigmoid(r))).mean()
                                         - torch.log(1 - torch.sigmoid(f)).mean())
    assert not via_sigmoid and "logits" in via_sigmoid.message
    assert not checks.smoothed_d_loss(None)
    assert "still None" in checks.smoothed_d_loss(lambda r, f, s: None).message
    assert "raised" in checks.smoothed_d_loss(lambda r, f: 0.0).message  # forgot the smoothing argument


# ---- exercise 2: the label as an extra input plane ---------------------------------------------


def reference_plane(x, y, embed):
    plane = embed(y).view(-1, 1, 28, 28)  # (B, 1, 28, 28)
    return torch.cat([x, plane], dim=1)  # (B, 2, 28, 28)


def test_label_plane_accepts_reference():
    assert checks.label_plane(reference_plane)
    assert checks.label_plane(lambda x, y, e: torch.stack([x[:, 0], e.weight[y].reshape(len(y), 28, 28)], dim=1))


def test_label_plane_rejects_mistakes():
    batch = checks.label_plane(lambda x, y, e: torch.cat([x, e(y).view(-1, 1, 28, 28)], dim=0))
    assert not batch and "dim=1" in batch.message
    beside = checks.label_plane(lambda x, y, e: torch.cat([x, e(y).view(-1, 1, 28, 28)], dim=3))
    assert not beside and "channel" in beside.message
    plane_first = checks.label_plane(lambda x, y, e: torch.cat([e(y).view(-1, 1, 28, 28), x], dim=1))
    assert not plane_first and "image first" in plane_first.message
    mixed = checks.label_plane(lambda x, y, e: torch.cat([x, e(y).T.reshape(-1, 1, 28, 28)], dim=1))
    assert not mixed and "own label" in mixed.message
    assert "raised" in checks.label_plane(lambda x, y, e: torch.cat([x, e(y).view(-1, 28, 28)], dim=1)).message
    assert not checks.label_plane(None)


def test_label_plane_matches_the_concat_discriminator():
    """The reference answer is exactly how nets.DCGANDiscriminator(conditioning="concat") reads y."""
    from gan_course.nets import DCGANDiscriminator

    torch.manual_seed(0)
    d = DCGANDiscriminator(width=4, num_classes=10, conditioning="concat").eval()
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([1, 5, 9])
    by_hand = d.head(d.features(reference_plane(x, y, d.embed))).squeeze(1)
    torch.testing.assert_close(by_hand, d(x, y))


# ---- exercise 3: "asked for k, classified as k" ------------------------------------------------


def reference_per_digit(y_requested, y_predicted):
    return torch.stack([(y_predicted[y_requested == k] == k).float().mean() for k in range(10)])


def test_per_digit_accuracy_accepts_reference():
    assert checks.per_digit_accuracy(reference_per_digit)
    assert checks.per_digit_accuracy(
        lambda yr, yp: (c := metrics.confusion_matrix(yr, yp, 10).double()).diag() / c.sum(1))


def test_per_digit_accuracy_rejects_mistakes():
    column = checks.per_digit_accuracy(
        lambda yr, yp: (c := metrics.confusion_matrix(yr, yp, 10).double()).diag() / c.sum(0))
    assert not column and "precision" in column.message
    counts = checks.per_digit_accuracy(lambda yr, yp: metrics.confusion_matrix(yr, yp, 10).diag())
    assert not counts and "counts" in counts.message
    percent = checks.per_digit_accuracy(lambda yr, yp: 100 * reference_per_digit(yr, yp))
    assert not percent and "percentages" in percent.message
    overall = checks.per_digit_accuracy(lambda yr, yp: (yr == yp).float().mean())
    assert not overall and "shape (10,)" in overall.message
    assert not checks.per_digit_accuracy(None)


# ---- 08 smoothed_d_loss: one BCE over cat([real, fake]) is half the sum ---------------------------

def test_smoothed_d_loss_over_the_concatenated_batch_gets_its_hint():
    def concatenated(real, fake, s):
        target = torch.cat([torch.full_like(real, 1 - s), torch.zeros_like(fake)])
        return F.binary_cross_entropy_with_logits(torch.cat([real, fake]), target)
    result = checks.smoothed_d_loss(concatenated)
    assert not result and "half the loss" in result.message
    assert checks.smoothed_d_loss(lambda r, f, s: losses.smoothed_d_loss(r, f, s))
