"""checks.gan_training_step accepts the GAN training step written several right ways and gives each
planted mistake its own hint (notebook 05's "write the training step yourself")."""

import torch
import torch.nn.functional as F

from gan_course import checks
from gan_course.checks.gan1d import reference_training_step


# ---- right answers, written differently ------------------------------------------------------

def step_bce_with_logits(generator, discriminator, opt_g, opt_d, x_real, z):
    real, fake = discriminator(x_real), discriminator(generator(z).detach())
    d_loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
              + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    logits = discriminator(generator(z))
    g_loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss, g_loss  # tensors, not floats


def step_logsigmoid_averaged(generator, discriminator, opt_g, opt_d, x_real, z):
    """The average of the two cross-entropies, written with logsigmoid; D left trainable in G's step."""
    x_fake = generator(z)
    d_loss = -0.5 * (F.logsigmoid(discriminator(x_real)).mean() + F.logsigmoid(-discriminator(x_fake.detach())).mean())
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    g_loss = -F.logsigmoid(discriminator(x_fake)).mean()
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return float(d_loss.detach()), float(g_loss.detach())


def step_sigmoid_bce_one_batch(generator, discriminator, opt_g, opt_d, x_real, z):
    """Sigmoid then BCE (finite here), both batches through D at once; no detach but zero_grad before G."""
    x_fake = generator(z)
    p = torch.sigmoid(discriminator(torch.cat([x_real, x_fake])))
    target = torch.cat([torch.ones(len(x_real)), torch.zeros(len(x_fake))])
    d_loss = F.binary_cross_entropy(p, target)  # the mean over both halves: the averaged loss
    opt_d.zero_grad()
    d_loss.backward(retain_graph=True)
    opt_d.step()
    p_fake = torch.sigmoid(discriminator(generator(z)))
    g_loss = F.binary_cross_entropy(p_fake, torch.ones_like(p_fake))
    opt_g.zero_grad()
    discriminator.requires_grad_(False)
    g_loss.backward()
    discriminator.requires_grad_(True)
    opt_g.step()
    return d_loss.item(), g_loss.item()


def test_accepts_right_answers():
    for step in (reference_training_step, step_bce_with_logits, step_logsigmoid_averaged,
                 step_sigmoid_bce_one_batch):
        result = checks.gan_training_step(step)
        assert result, (step.__name__, result.message)


# ---- planted mistakes, each with its own hint ------------------------------------------------

def _d_step(generator, discriminator, opt_d, x_real, z, swapped=False):
    sign = -1.0 if swapped else 1.0
    d_loss = F.softplus(-sign * discriminator(x_real)).mean() + F.softplus(sign * discriminator(generator(z).detach())).mean()
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return d_loss


def _g_step(generator, discriminator, opt_g, z, loss):
    g_loss = loss(discriminator(generator(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return g_loss


def saturating(generator, discriminator, opt_g, opt_d, x_real, z):
    d_loss = _d_step(generator, discriminator, opt_d, x_real, z)
    g_loss = _g_step(generator, discriminator, opt_g, z, lambda l: -F.softplus(l).mean())  # log(1 - D)
    return d_loss.item(), g_loss.item()


def swapped_labels(generator, discriminator, opt_g, opt_d, x_real, z):
    d_loss = _d_step(generator, discriminator, opt_d, x_real, z, swapped=True)
    g_loss = _g_step(generator, discriminator, opt_g, z, lambda l: F.softplus(-l).mean())
    return d_loss.item(), g_loss.item()


def d_moves_in_g_step(generator, discriminator, opt_g, opt_d, x_real, z):
    d_loss = _d_step(generator, discriminator, opt_d, x_real, z)
    g_loss = F.softplus(-discriminator(generator(z))).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    opt_d.step()  # D steps again, on its leftover gradient plus G's
    return d_loss.item(), g_loss.item()


def leftover_gradient(generator, discriminator, opt_g, opt_d, x_real, z):
    opt_g.zero_grad()
    opt_d.zero_grad()
    d_loss = F.softplus(-discriminator(x_real)).mean() + F.softplus(discriminator(generator(z))).mean()  # no detach
    d_loss.backward()
    opt_d.step()
    g_loss = F.softplus(-discriminator(generator(z))).mean()
    g_loss.backward()  # no zero_grad: G's .grad still holds d_loss's gradient
    opt_g.step()
    return d_loss.item(), g_loss.item()


def no_zero_grad(generator, discriminator, opt_g, opt_d, x_real, z):
    x_fake = generator(z)
    d_loss = F.softplus(-discriminator(x_real)).mean() + F.softplus(discriminator(x_fake.detach())).mean()
    d_loss.backward()
    opt_d.step()
    g_loss = F.softplus(-discriminator(x_fake)).mean()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def g_with_d_loss(generator, discriminator, opt_g, opt_d, x_real, z):
    opt_g.zero_grad()
    opt_d.zero_grad()
    d_loss = F.softplus(-discriminator(x_real)).mean() + F.softplus(discriminator(generator(z))).mean()
    d_loss.backward()  # fills D's and G's gradients with D's loss
    opt_d.step()
    opt_g.step()  # G descends D's loss
    return d_loss.item(), d_loss.item()


def test_each_planted_mistake_gets_its_hint():
    cases = {saturating: "saturating loss", swapped_labels: "labels are swapped",
             d_moves_in_g_step: "moved during the generator's update", leftover_gradient: "left over",
             no_zero_grad: "accumulate", g_with_d_loss: "discriminator's loss"}
    messages = set()
    for step, words in cases.items():
        result = checks.gan_training_step(step)
        assert not result, step.__name__
        assert words in result.message, (step.__name__, result.message)
        messages.add(result.message)
    assert len(messages) == len(cases)  # one distinct hint per mistake


def test_no_zero_grad_passes_the_first_call_only():
    assert "second call" in checks.gan_training_step(no_zero_grad).message


def test_wrong_returned_losses_and_other_answers():
    def after_update(generator, discriminator, opt_g, opt_d, x_real, z):
        reference_training_step(generator, discriminator, opt_g, opt_d, x_real, z)
        with torch.no_grad():  # losses measured after the updates
            return (F.softplus(-discriminator(x_real)).mean().item(),
                    F.softplus(-discriminator(generator(z))).mean().item())

    assert "returned d_loss" in checks.gan_training_step(after_update).message
    assert "fill in your answer" in checks.gan_training_step(lambda *a: (None, None)).message
    assert "fill in your answer" in checks.gan_training_step(lambda *a: None).message
    assert "expected a function" in checks.gan_training_step(None).message


def test_frozen_discriminator_and_errors_become_hints():
    def stays_frozen(generator, discriminator, opt_g, opt_d, x_real, z):
        d_loss = _d_step(generator, discriminator, opt_d, x_real, z)
        discriminator.requires_grad_(False)
        g_loss = _g_step(generator, discriminator, opt_g, z, lambda l: F.softplus(-l).mean())
        return d_loss.item(), g_loss.item()

    assert "requires_grad_(True)" in checks.gan_training_step(stays_frozen).message
    raised = checks.gan_training_step(lambda *a: 1 / 0)
    assert not raised and "raised ZeroDivisionError" in raised.message


def test_the_check_leaves_the_global_random_stream_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    checks.gan_training_step(reference_training_step)
    assert torch.equal(torch.rand(3), expected)
