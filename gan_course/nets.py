"""Generator and discriminator networks for every GAN in the course.

- ``MLPGenerator`` / ``MLPDiscriminator``: for the 1-D and 2-D toys (notebooks 05, 06, 09);
- conditional variants are the same classes with ``num_classes`` set: the label is one-hot
  encoded and concatenated to the input (notebook 08);
- DCGAN convolutional networks are added below the MLPs (notebook 07) and follow the same
  interface: ``generator(z, y=None) -> x_fake`` and ``discriminator(x, y=None) -> logits (B,)``.

The generator carries ``latent_dim`` (and ``num_classes``), which the trainer reads to draw
``z`` (and random labels).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def make_activation(name: str) -> nn.Module:
    """A fresh activation module for a name in ``ACTIVATIONS``."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; got {name!r}")
    return ACTIVATIONS[name]()


def _check_classes(num_classes: int | None) -> int | None:
    return None if num_classes is None else _positive_int("num_classes", num_classes, 2)


def _one_hot(y: torch.Tensor | None, num_classes: int | None, batch: int, owner: str) -> torch.Tensor | None:
    """One-hot labels (B, K) for a conditional network; errors when y is missing or extra."""
    if num_classes is None:
        if y is not None:
            raise ValueError(f"{owner} is unconditional (num_classes=None) but was given labels y")
        return None
    if y is None:
        raise ValueError(f"{owner} is conditional (num_classes={num_classes}) and needs labels y")
    if y.shape != (batch,):
        raise ValueError(f"{owner}: y must have shape ({batch},), got {tuple(y.shape)}")
    return F.one_hot(y.long(), num_classes).float()  # (B, K)


def mlp(in_dim: int, out_dim: int, width: int, depth: int, activation: str,
        spectral_norm: bool = False) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, then a linear output; depth 0 is one Linear."""
    dims = [in_dim] + [width] * depth + [out_dim]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        linear = nn.Linear(a, b)
        layers.append(nn.utils.parametrizations.spectral_norm(linear) if spectral_norm else linear)
        if i < len(dims) - 2:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    r"""A multilayer perceptron :math:`G: z \mapsto x`, optionally conditioned on a label.

    .. math:: x = G([z; \mathrm{onehot}(y)])

    Args:
        latent_dim: size of z.
        out_dim: size of a sample (1 or 2 for the toys).
        width: units per hidden layer.
        depth: number of hidden layers (0 gives an affine map, so p_g is Gaussian).
        activation: a name in ``ACTIVATIONS``.
        num_classes: set it to make the generator conditional.
        out_activation: ``None`` (real line) or ``"tanh"`` (outputs in [-1, 1]).

    >>> MLPGenerator(latent_dim=2, out_dim=1)(torch.zeros(5, 2)).shape
    torch.Size([5, 1])
    """

    def __init__(self, latent_dim: int = 1, out_dim: int = 1, width: int = 64, depth: int = 2,
                 activation: str = "relu", num_classes: int | None = None,
                 out_activation: str | None = None) -> None:
        super().__init__()
        self.latent_dim = _positive_int("latent_dim", latent_dim)
        self.out_dim = _positive_int("out_dim", out_dim)
        _positive_int("width", width)
        _positive_int("depth", depth, 0)
        self.num_classes = _check_classes(num_classes)
        if out_activation not in (None, "tanh"):
            raise ValueError(f"out_activation must be None or 'tanh', got {out_activation!r}")
        in_dim = latent_dim + (num_classes or 0)
        self.net = mlp(in_dim, out_dim, width, depth, activation)
        self.out_activation = out_activation

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        onehot = _one_hot(y, self.num_classes, z.shape[0], "MLPGenerator")
        h = z if onehot is None else torch.cat([z, onehot.to(z.dtype)], dim=1)  # (B, latent_dim + K)
        x = self.net(h)  # (B, out_dim)
        return torch.tanh(x) if self.out_activation == "tanh" else x


class MLPDiscriminator(nn.Module):
    r"""A multilayer perceptron that returns one logit per sample (or per pack of m samples).

    .. math:: \ell = D_{\text{logit}}([x_1; \dots; x_m; \mathrm{onehot}(y_1); \dots]),\qquad D = \sigma(\ell)

    Packing (PacGAN, Lin et al., 2018) shows the discriminator m samples at once, so it can see
    a lack of diversity (mode collapse) that one sample at a time cannot reveal.

    Args:
        in_dim: size of a sample.
        width, depth, activation: as for ``MLPGenerator`` (LeakyReLU is the usual choice).
        spectral_norm: divide every weight by its largest singular value (Miyato et al., 2018).
        pack: m, the samples per pack; the batch size must be a multiple of it.
        num_classes: set it to make the discriminator conditional.

    Returns (forward):
        Logits of shape (B // pack,).

    >>> MLPDiscriminator(in_dim=2, pack=2)(torch.zeros(6, 2)).shape
    torch.Size([3])
    """

    def __init__(self, in_dim: int = 1, width: int = 64, depth: int = 2, activation: str = "leaky_relu",
                 spectral_norm: bool = False, pack: int = 1, num_classes: int | None = None) -> None:
        super().__init__()
        self.in_dim = _positive_int("in_dim", in_dim)
        _positive_int("width", width)
        _positive_int("depth", depth, 0)
        self.pack = _positive_int("pack", pack)
        self.num_classes = _check_classes(num_classes)
        self.net = mlp((in_dim + (num_classes or 0)) * pack, 1, width, depth, activation, spectral_norm)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (B, {self.in_dim}), got {tuple(x.shape)}")
        batch = x.shape[0]
        if batch % self.pack:
            raise ValueError(f"the batch size ({batch}) must be a multiple of pack={self.pack}")
        onehot = _one_hot(y, self.num_classes, batch, "MLPDiscriminator")
        h = x if onehot is None else torch.cat([x, onehot.to(x.dtype)], dim=1)  # (B, in_dim + K)
        h = h.reshape(batch // self.pack, -1)  # (B / m, m * (in_dim + K)): consecutive samples packed
        return self.net(h).squeeze(1)  # (B / m,)
