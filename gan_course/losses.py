r"""GAN objectives as pure functions of discriminator logits (the math layer).

Every loss takes the discriminator's *logits* :math:`\ell = \operatorname{logit} D(x)`, never
probabilities, so that :math:`\log D = -\operatorname{softplus}(-\ell)` and
:math:`\log(1 - D) = -\operatorname{softplus}(\ell)` are computed stably (no sigmoid followed by
a log, which gives ``-inf`` as soon as D is confident). Each player *minimises* its own loss.

- ``real``: logits on a real batch ``x``, any shape (usually (B,));
- ``fake``: logits on a generated batch ``x_fake = G(z)``.

The last section holds the Dirac-GAN (Mescheder et al., 2018), the smallest GAN there is, whose
gradient field shows why simultaneous gradient play circles instead of converging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from gan_course.validate import (require_choice, require_in_range, require_int, require_nonnegative_number,
                                 require_positive_number)

DLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (real, fake) -> scalar
GLoss = Callable[[torch.Tensor], torch.Tensor]  # fake -> scalar


# --------------------------------------------------------------------------------------------
# The original GAN (Goodfellow et al., 2014)
# --------------------------------------------------------------------------------------------


def minimax_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    r"""Discriminator loss of the minimax game: the negated value function.

    .. math::
        \mathcal{L}_D = -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))]
                      = \mathbb{E}[\operatorname{softplus}(-\ell_{real})]
                      + \mathbb{E}[\operatorname{softplus}(\ell_{fake})]

    Args:
        real: logits on real data.
        fake: logits on generated data.

    Returns:
        A scalar; ``2 log 2`` when D outputs 1/2 everywhere (the equilibrium).

    >>> round(minimax_d_loss(torch.zeros(3), torch.zeros(3)).item(), 4)  # 2 log 2
    1.3863
    """
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def saturating_g_loss(fake: torch.Tensor) -> torch.Tensor:
    r"""Generator loss of the minimax game (it *saturates* when D wins).

    .. math:: \mathcal{L}_G = \mathbb{E}_z[\log(1 - D(G(z)))] = -\mathbb{E}[\operatorname{softplus}(\ell_{fake})]

    Its gradient with respect to the logit is :math:`-\sigma(\ell)`, which vanishes when D
    confidently rejects the fakes (:math:`\ell \to -\infty`), i.e. early in training.

    >>> round(saturating_g_loss(torch.zeros(2)).item(), 4)  # log(1/2)
    -0.6931
    """
    return -F.softplus(fake).mean()


def nonsaturating_g_loss(fake: torch.Tensor) -> torch.Tensor:
    r"""Non-saturating generator loss, the one used in practice.

    .. math:: \mathcal{L}_G = -\mathbb{E}_z[\log D(G(z))] = \mathbb{E}[\operatorname{softplus}(-\ell_{fake})]

    Same fixed point as the saturating loss, but its gradient with respect to the logit is
    :math:`-(1 - \sigma(\ell))`, close to -1 exactly when D rejects the fakes.

    >>> round(nonsaturating_g_loss(torch.zeros(2)).item(), 4)  # -log(1/2)
    0.6931
    """
    return F.softplus(-fake).mean()


# --------------------------------------------------------------------------------------------
# Least squares (Mao et al., 2017), hinge (Lim & Ye, 2017), Wasserstein (Arjovsky et al., 2017)
# --------------------------------------------------------------------------------------------


def least_squares_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    r"""Least-squares GAN discriminator loss (targets 1 for real, 0 for fake) on raw outputs.

    .. math:: \mathcal{L}_D = \tfrac12\mathbb{E}[(\ell_{real} - 1)^2] + \tfrac12\mathbb{E}[\ell_{fake}^2]

    >>> least_squares_d_loss(torch.ones(2), torch.zeros(2)).item()
    0.0
    """
    return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()


def least_squares_g_loss(fake: torch.Tensor) -> torch.Tensor:
    r"""Least-squares GAN generator loss: push the fakes' output towards the real target 1.

    .. math:: \mathcal{L}_G = \tfrac12\mathbb{E}[(\ell_{fake} - 1)^2]

    >>> least_squares_g_loss(torch.zeros(2)).item()
    0.5
    """
    return 0.5 * ((fake - 1) ** 2).mean()


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    r"""Hinge discriminator loss: only samples inside the margin contribute.

    .. math:: \mathcal{L}_D = \mathbb{E}[\max(0, 1 - \ell_{real})] + \mathbb{E}[\max(0, 1 + \ell_{fake})]

    >>> hinge_d_loss(torch.tensor([2.0]), torch.tensor([-2.0])).item()
    0.0
    """
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    r"""Hinge generator loss (the same as the Wasserstein generator loss).

    .. math:: \mathcal{L}_G = -\mathbb{E}[\ell_{fake}]

    >>> hinge_g_loss(torch.tensor([1.0, 3.0])).item()
    -2.0
    """
    return -fake.mean()


def wasserstein_critic_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    r"""Wasserstein critic loss; its negation estimates the earth mover's distance.

    .. math:: \mathcal{L}_C = \mathbb{E}[f(G(z))] - \mathbb{E}[f(x)]

    The critic f must be (about) 1-Lipschitz: clip its weights or add ``gradient_penalty``.

    >>> wasserstein_critic_loss(torch.tensor([3.0]), torch.tensor([1.0])).item()
    -2.0
    """
    return fake.mean() - real.mean()


def wasserstein_g_loss(fake: torch.Tensor) -> torch.Tensor:
    r"""Wasserstein generator loss.

    .. math:: \mathcal{L}_G = -\mathbb{E}[f(G(z))]

    >>> wasserstein_g_loss(torch.tensor([1.0, 3.0])).item()
    -2.0
    """
    return -fake.mean()


def gradient_penalty(
    critic: Callable[..., torch.Tensor],
    x: torch.Tensor,
    x_fake: torch.Tensor,
    y: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""WGAN-GP gradient penalty on random interpolates (Gulrajani et al., 2017).

    .. math::
        \hat x = \epsilon x + (1 - \epsilon) \tilde x,\ \epsilon \sim U[0, 1];\qquad
        \mathrm{GP} = \mathbb{E}_{\hat x}\big[(\lVert \nabla_{\hat x} f(\hat x) \rVert_2 - 1)^2\big]

    Multiply by a weight (10 in the paper) and add it to the critic loss. The graph is kept,
    so the penalty can be back-propagated into the critic.

    Args:
        critic: the critic/discriminator, called as ``critic(x_hat)`` or ``critic(x_hat, y)``.
        x: a real batch, shape (B, ...).
        x_fake: a generated batch of the same shape (detached from the generator or not).
        y: optional condition passed to the critic.
        generator: torch generator for the interpolation weights (repeatable runs).

    Returns:
        A scalar tensor.
    """
    if x.shape != x_fake.shape:
        raise ValueError(f"x and x_fake must have the same shape, got {tuple(x.shape)} and "
                         f"{tuple(x_fake.shape)}")
    eps_shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # (B, 1, ..., 1): one weight per sample
    eps = torch.rand(eps_shape, device=x.device, dtype=x.dtype, generator=generator)
    x_hat = (eps * x.detach() + (1 - eps) * x_fake.detach()).requires_grad_(True)  # (B, ...)
    out = critic(x_hat) if y is None else critic(x_hat, y)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)  # (B, ...)
    norms = grad.flatten(1).norm(dim=1)  # (B,)
    return ((norms - 1) ** 2).mean()


def r1_penalty(
    discriminator: Callable[..., torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""R1 penalty: the squared gradient norm of D's logit at real data (Mescheder et al., 2018).

    .. math:: R_1 = \mathbb{E}_{x \sim p_{\text{data}}}\big[\lVert \nabla_x D(x) \rVert_2^2\big]

    Add :math:`\tfrac{\gamma}{2} R_1` to the discriminator loss. Where the generator matches the
    data, the penalty makes the equilibrium attractive: gradient play then converges instead of
    circling it (the Dirac GAN of notebook 05), and D stops growing cliffs at the real points
    that fling the generator's samples between modes. The graph is kept for the backward pass.

    Args:
        discriminator: called as ``discriminator(x)`` or ``discriminator(x, y)``; returns logits.
        x: a real batch, shape (B, ...).
        y: optional condition passed to the discriminator.

    Returns:
        A scalar tensor.
    """
    x = x.detach().requires_grad_(True)  # (B, ...)
    out = discriminator(x) if y is None else discriminator(x, y)  # (B,)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)  # (B, ...)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


# --------------------------------------------------------------------------------------------
# Choosing a loss by name
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GANLoss:
    """A pair of player losses, and whether the critic gets a gradient penalty."""

    name: str  # how the course calls it
    d_loss: DLoss  # (real logits, fake logits) -> scalar, minimised by the discriminator
    g_loss: GLoss  # fake logits -> scalar, minimised by the generator
    gradient_penalty: bool = False  # add weight * gradient_penalty to d_loss


LOSSES = {
    "minimax": GANLoss("minimax", minimax_d_loss, saturating_g_loss),
    "nonsaturating": GANLoss("nonsaturating", minimax_d_loss, nonsaturating_g_loss),
    "least_squares": GANLoss("least_squares", least_squares_d_loss, least_squares_g_loss),
    "hinge": GANLoss("hinge", hinge_d_loss, hinge_g_loss),
    "wasserstein": GANLoss("wasserstein", wasserstein_critic_loss, wasserstein_g_loss),
    "wgan_gp": GANLoss("wgan_gp", wasserstein_critic_loss, wasserstein_g_loss, gradient_penalty=True),
}
LOSS_NAMES = tuple(LOSSES)


def get_loss(loss: str | GANLoss | tuple[DLoss, GLoss]) -> GANLoss:
    """The ``GANLoss`` for a name in ``LOSS_NAMES``, a ``GANLoss``, or a ``(d_loss, g_loss)`` pair.

    >>> get_loss("nonsaturating").g_loss is nonsaturating_g_loss
    True
    """
    if isinstance(loss, GANLoss):
        return loss
    if isinstance(loss, tuple) and len(loss) == 2 and all(callable(f) for f in loss):
        return GANLoss("custom", loss[0], loss[1])
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"loss must be one of {', '.join(map(repr, LOSS_NAMES))} or a pair of "
                     f"functions (d_loss, g_loss); got {loss!r}")


def generator_gradient_norm(generator: torch.nn.Module, discriminator: torch.nn.Module,
                            g_loss: Callable[[torch.Tensor], torch.Tensor],
                            n: int = 512, seed: int = 0) -> float:
    r"""The norm of the generator's gradient :math:`\lVert \nabla_\theta \mathcal L_G \rVert_2` against a fixed D.

    Shows the saturating loss's vanishing gradient: when D confidently rejects the fakes,
    :math:`\log(1 - D(G(z)))` is flat and this norm goes to 0, while :math:`-\log D(G(z))` is not.
    Nothing is updated and no ``.grad`` is written.
    """
    device = next(generator.parameters()).device
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)  # (n, latent_dim)
    params = [p for p in generator.parameters() if p.requires_grad]
    grads = torch.autograd.grad(g_loss(discriminator(generator(z))), params)
    return float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])))


# --------------------------------------------------------------------------------------------
# Dirac-GAN: data at 0, generator theta (a point mass), discriminator D(x) = psi * x
# --------------------------------------------------------------------------------------------


def dirac_gan_field(theta: torch.Tensor, psi: torch.Tensor, loss: str = "minimax",
                    gp_weight: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The gradient-play vector field of the Dirac-GAN (Mescheder, Geiger & Nowozin, 2018).

    Real data is a point mass at 0, the generator a point mass at :math:`\theta`, and the
    discriminator has the linear logit :math:`\ell(x) = \psi x`. The value function is

    .. math:: V(\theta, \psi) = \log\sigma(\ell(0)) + \log(1 - \sigma(\ell(\theta)))
              = -\log 2 - \operatorname{softplus}(\psi\theta).

    D ascends V (minus a gradient penalty), G descends its loss:

    .. math::
        \dot\psi = -\theta\,\sigma(\psi\theta) - \gamma\psi, \qquad
        \dot\theta = \begin{cases} \psi\,\sigma(\psi\theta) & \text{minimax} \\
                                     \psi\,\sigma(-\psi\theta) & \text{non-saturating} \end{cases}

    where :math:`\gamma` is the weight of the R1 penalty
    :math:`\tfrac{\gamma}{2}\lVert\nabla_x \ell\rVert^2 = \tfrac{\gamma}{2}\psi^2` on real data.
    Without the penalty the Jacobian at the equilibrium :math:`(0, 0)` has eigenvalues
    :math:`\pm i/2`: a pure rotation, so gradient play circles around the equilibrium
    (simultaneous steps spiral outwards). The non-saturating field is not a pure rotation away
    from the origin: :math:`\tfrac{d}{dt}\tfrac12(\theta^2+\psi^2) = \psi\theta(\sigma(-\psi\theta)
    - \sigma(\psi\theta)) \le 0`, a weak damping that vanishes at the equilibrium.

    Args:
        theta: generator positions, any shape.
        psi: discriminator slopes, broadcastable with ``theta``.
        loss: the generator's loss, ``"minimax"`` or ``"nonsaturating"``.
        gp_weight: :math:`\gamma \ge 0`.

    Returns:
        ``(d_theta, d_psi)``: the direction each player moves per unit learning rate.

    >>> [round(v.item(), 3) for v in dirac_gan_field(torch.tensor(1.0), torch.tensor(0.0))]
    [0.0, -0.5]
    """
    require_choice("loss", loss, ("minimax", "nonsaturating"))
    require_nonnegative_number("gp_weight", gp_weight)
    t = psi * theta  # the logit of the fake point
    d_psi = -theta * torch.sigmoid(t) - gp_weight * psi
    d_theta = psi * torch.sigmoid(t if loss == "minimax" else -t)
    return d_theta, d_psi


def dirac_gan_trajectory(theta0: float, psi0: float, lr: float = 0.1, steps: int = 200,
                         mode: str = "simultaneous", loss: str = "minimax",
                         gp_weight: float = 0.0) -> torch.Tensor:
    r"""Iterate gradient play on the Dirac-GAN from :math:`(\theta_0, \psi_0)`.

    - ``"simultaneous"``: both players step from the same point,
      :math:`(\theta, \psi) \leftarrow (\theta, \psi) + \eta\, v(\theta, \psi)`;
    - ``"alternating"``: D steps first, then G steps against the *updated* D.

    Returns:
        The path, shape (steps + 1, 2), columns ``(theta, psi)``.

    >>> dirac_gan_trajectory(1.0, 0.0, steps=3).shape
    torch.Size([4, 2])
    """
    require_choice("mode", mode, ("simultaneous", "alternating"))
    steps = require_int("steps", steps, 0)
    require_positive_number("lr", lr)
    theta, psi = torch.tensor(float(theta0), dtype=torch.float64), torch.tensor(float(psi0), dtype=torch.float64)
    path = [torch.stack([theta, psi])]
    for _ in range(steps):
        d_theta, d_psi = dirac_gan_field(theta, psi, loss, gp_weight)
        if mode == "simultaneous":
            theta, psi = theta + lr * d_theta, psi + lr * d_psi
        else:
            psi = psi + lr * d_psi
            theta = theta + lr * dirac_gan_field(theta, psi, loss, gp_weight)[0]
        path.append(torch.stack([theta, psi]))
    return torch.stack(path)  # (steps + 1, 2)


def equilibrium_value() -> float:
    r"""The value of the game at the global optimum: :math:`V(D^*, G^*) = -\log 4`.

    >>> round(equilibrium_value(), 4)
    -1.3863
    """
    return -math.log(4.0)


# --------------------------------------------------------------------------------------------
# Label smoothing (notebook 08)
# --------------------------------------------------------------------------------------------


def _check_smoothing(smoothing: object) -> float:
    return require_in_range("smoothing", smoothing, 0, 1, include_high=False)  # the real target is 1 - smoothing


def smoothed_d_loss(real: torch.Tensor, fake: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
    r"""Discriminator loss with one-sided label smoothing (Salimans et al., 2016).

    The real target is :math:`1 - s` instead of 1; the fake target stays 0 (one-sided):

    .. math::
        \mathcal{L}_D = -\mathbb{E}_x\big[(1 - s)\log D(x) + s\log(1 - D(x))\big]
                        - \mathbb{E}_z[\log(1 - D(G(z)))]
                      = \mathbb{E}\big[(1 - s)\operatorname{softplus}(-\ell_{real})
                        + s\operatorname{softplus}(\ell_{real})\big]
                      + \mathbb{E}[\operatorname{softplus}(\ell_{fake})]

    Its minimiser is :math:`D^*(x) = (1 - s)\,p_{data}(x) / (p_{data}(x) + p_g(x))`: D can no
    longer be sure a digit is real, so its logits on real data stay bounded. Smoothing the
    *fake* target too would reward :math:`D = s` where only fakes live, and the generator
    would have no reason to move those samples; hence one-sided. ``smoothing=0`` gives
    ``minimax_d_loss``.

    Args:
        real: logits on real data.
        fake: logits on generated data.
        smoothing: :math:`s \in [0, 1)`.

    Returns:
        A scalar. An over-confident D pays about :math:`s\,\ell_{real}` for it.

    >>> round(smoothed_d_loss(torch.tensor([10.0]), torch.tensor([-10.0]), smoothing=0.0).item(), 4)
    0.0001
    >>> round(smoothed_d_loss(torch.tensor([10.0]), torch.tensor([-10.0]), smoothing=0.1).item(), 4)
    1.0001
    """
    s = _check_smoothing(smoothing)
    return ((1 - s) * F.softplus(-real) + s * F.softplus(real)).mean() + F.softplus(fake).mean()


def label_smoothing_loss(smoothing: float = 0.1) -> GANLoss:
    """The non-saturating GAN with one-sided label smoothing on D, as a ``GANLoss`` for the trainer.

    >>> loss = label_smoothing_loss(0.1)
    >>> loss.name, loss.g_loss is nonsaturating_g_loss
    ('nonsaturating+smoothing', True)
    """
    s = _check_smoothing(smoothing)

    def d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return smoothed_d_loss(real, fake, smoothing=s)

    return GANLoss("nonsaturating+smoothing", d_loss, nonsaturating_g_loss)
