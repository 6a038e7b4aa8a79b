"""Generator and discriminator networks for every GAN in the course.

- ``MLPGenerator`` / ``MLPDiscriminator``: for the 1-D and 2-D toys (notebooks 05, 06, 09);
- conditional variants are the same classes with ``num_classes`` set: the label is one-hot
  encoded and concatenated to the input (notebook 08);
- ``DCGANGenerator`` / ``DCGANDiscriminator``: convolutional networks for 28x28 digits
  (notebooks 07-09), conditional through a label embedding, with a projection discriminator
  and spectral norm as options. They follow the same interface:
  ``generator(z, y=None) -> x_fake`` and ``discriminator(x, y=None) -> logits (B,)``.

The generator carries ``latent_dim`` (and ``num_classes``), which the trainer reads to draw
``z`` (and random labels).
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_course.validate import require_choice, require_int

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


@contextlib.contextmanager
def eval_mode(*modules: nn.Module):
    """Put modules in eval mode (batch norm uses running statistics, spectral norm does not
    update its power iteration) and give each back its own mode afterwards."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


def _check_labels(y: torch.Tensor | None, num_classes: int | None, batch: int, owner: str) -> torch.Tensor | None:
    """Labels (B,) of a conditional network as int64; errors when y is missing, extra or out of range."""
    if num_classes is None:
        if y is not None:
            raise ValueError(f"{owner} is unconditional (num_classes=None) but was given labels y")
        return None
    if y is None:
        raise ValueError(f"{owner} is conditional (num_classes={num_classes}) and needs labels y")
    if y.shape != (batch,):
        raise ValueError(f"{owner}: y must have shape ({batch},), got {tuple(y.shape)}")
    if y.is_floating_point() or y.is_complex():
        raise ValueError(f"{owner}: y must hold integer class labels, got dtype {y.dtype}")
    if batch and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"{owner}: labels y must lie in [0, {num_classes - 1}], got values from "
                         f"{int(y.min())} to {int(y.max())}")
    return y.long()


def make_activation(name: str) -> nn.Module:
    """A fresh activation module for a name in ``ACTIVATIONS``."""
    return ACTIVATIONS[require_choice("activation", name, tuple(ACTIVATIONS))]()


def _check_classes(num_classes: int | None) -> int | None:
    return None if num_classes is None else require_int("num_classes", num_classes, 2)


def _one_hot(y: torch.Tensor | None, num_classes: int | None, batch: int, owner: str) -> torch.Tensor | None:
    """One-hot labels (B, K) for a conditional network; errors when y is missing or extra."""
    y = _check_labels(y, num_classes, batch, owner)
    return None if y is None else F.one_hot(y, num_classes).float()  # (B, K)


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
        self.latent_dim = require_int("latent_dim", latent_dim)
        self.out_dim = require_int("out_dim", out_dim)
        require_int("width", width)
        require_int("depth", depth, 0)
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
        self.in_dim = require_int("in_dim", in_dim)
        require_int("width", width)
        require_int("depth", depth, 0)
        self.pack = require_int("pack", pack)
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


# --------------------------------------------------------------------------------------------
# DCGAN networks for 28x28 digits (Radford et al., 2016)
# --------------------------------------------------------------------------------------------

UPSAMPLING = ("transposed", "resize")
CONDITIONING = ("concat", "projection")


def dcgan_init(module: nn.Module) -> nn.Module:
    """The DCGAN paper's initialisation, in place: convolution and linear weights from N(0, 0.02),
    batch-norm scales from N(1, 0.02), biases 0 (Radford et al., 2016). With PyTorch's default
    (larger) weights the discriminator tends to win in the first hundred steps and the generator
    is stuck drawing a checkerboard. Returns the module."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def _up_block(c_in: int, c_out: int, upsample: str) -> nn.Module:
    """Double the height and width: a 4x4 stride-2 transposed convolution, or nearest-neighbour
    resizing then a 3x3 convolution (no checkerboard artifacts, Odena et al., 2016)."""
    if upsample == "transposed":
        return nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=False)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False))


class DCGANGenerator(nn.Module):
    r"""A DCGAN generator for 28x28 images: project, then two upsampling steps.

    .. math:: z \xrightarrow{\text{linear}} 2w \times 7 \times 7 \xrightarrow{\uparrow 2} w \times 14 \times 14
              \xrightarrow{\uparrow 2} c \times 28 \times 28 \xrightarrow{\tanh} x \in [-1, 1]

    The DCGAN guidelines: no pooling (learned upsampling), batch norm after every hidden layer,
    ReLU inside and tanh at the output, so samples live in [-1, 1] like the scaled data; weights
    start as in the paper (``dcgan_init``).

    Args:
        latent_dim: size of z.
        width: w, channels of the last hidden layer (the first has 2w).
        num_classes: set it to make the generator conditional: a learned label embedding is
            concatenated to z.
        channels: image channels (1 for MNIST).
        upsample: ``"transposed"`` (DCGAN) or ``"resize"`` (nearest neighbour + convolution).

    >>> DCGANGenerator(latent_dim=8, width=4)(torch.zeros(3, 8)).shape
    torch.Size([3, 1, 28, 28])
    """

    def __init__(self, latent_dim: int = 64, width: int = 64, num_classes: int | None = None,
                 channels: int = 1, upsample: str = "transposed") -> None:
        super().__init__()
        self.latent_dim = require_int("latent_dim", latent_dim)
        self.width = require_int("width", width)
        self.channels = require_int("channels", channels)
        self.num_classes = _check_classes(num_classes)
        self.upsample = require_choice("upsample", upsample, UPSAMPLING)
        embed_dim = 0
        if num_classes is not None:
            embed_dim = min(latent_dim, 32)
            self.embed = nn.Embedding(num_classes, embed_dim)
        self.project = nn.Sequential(nn.Linear(latent_dim + embed_dim, 2 * width * 7 * 7, bias=False),
                                     nn.BatchNorm1d(2 * width * 7 * 7), nn.ReLU())
        self.body = nn.Sequential(
            _up_block(2 * width, width, upsample), nn.BatchNorm2d(width), nn.ReLU(),  # (B, w, 14, 14)
            _up_block(width, channels, upsample), nn.Tanh())  # (B, c, 28, 28)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}")
        y = _check_labels(y, self.num_classes, z.shape[0], "DCGANGenerator")
        h = z if y is None else torch.cat([z, self.embed(y).to(z.dtype)], dim=1)  # (B, latent_dim + E)
        h = self.project(h).view(z.shape[0], 2 * self.width, 7, 7)  # (B, 2w, 7, 7)
        return self.body(h)  # (B, c, 28, 28)


class DCGANDiscriminator(nn.Module):
    r"""A DCGAN discriminator (or Wasserstein critic) for 28x28 images; returns logits.

    .. math:: x \xrightarrow{\text{conv}/2} w \times 14 \times 14 \xrightarrow{\text{conv}/2}
              2w \times 7 \times 7 \xrightarrow{\text{flatten}} h \in \mathbb R^{F}, \qquad
              \ell = v^\top h + b \;\big[+\ e_y^\top h\ \text{(projection)}\big]

    Strided convolutions instead of pooling, LeakyReLU(0.2), no sigmoid: the losses take logits.
    A conditional discriminator either reads the label as an extra input plane
    (``"concat"``: a learned 28x28 embedding of y stacked on the image) or through the
    projection of Miyato & Koyama (2018) (``"projection"``: the inner product of a label
    embedding with the features h).

    Args:
        width: w, channels of the first convolution (the second has 2w).
        num_classes: set it to make the discriminator conditional.
        conditioning: ``"concat"`` or ``"projection"``.
        spectral_norm: divide every weight by its largest singular value (Miyato et al., 2018).
        batch_norm: batch norm after the second convolution, as in the DCGAN paper. Off by
            default: it couples the samples of a batch, and a Wasserstein critic with a gradient
            penalty must not use it.
        channels: image channels (1 for MNIST).

    Returns (forward):
        Logits of shape (B,).

    >>> DCGANDiscriminator(width=4)(torch.zeros(3, 1, 28, 28)).shape
    torch.Size([3])
    """

    def __init__(self, width: int = 64, num_classes: int | None = None, conditioning: str = "concat",
                 spectral_norm: bool = False, batch_norm: bool = False, channels: int = 1) -> None:
        super().__init__()
        self.width = require_int("width", width)
        self.channels = require_int("channels", channels)
        self.num_classes = _check_classes(num_classes)
        self.conditioning = require_choice("conditioning", conditioning, CONDITIONING)
        init = dcgan_init  # before spectral norm, which then normalises the initial weights
        sn = (lambda m: nn.utils.parametrizations.spectral_norm(init(m))) if spectral_norm else init
        label_plane = num_classes is not None and conditioning == "concat"
        self.features = nn.Sequential(
            sn(nn.Conv2d(channels + label_plane, width, kernel_size=4, stride=2, padding=1)),  # (B, w, 14, 14)
            nn.LeakyReLU(0.2),
            sn(nn.Conv2d(width, 2 * width, kernel_size=4, stride=2, padding=1)),  # (B, 2w, 7, 7)
            init(nn.BatchNorm2d(2 * width)) if batch_norm else nn.Identity(),
            nn.LeakyReLU(0.2),
            nn.Flatten())  # (B, 2w * 49)
        num_features = 2 * width * 7 * 7
        self.head = sn(nn.Linear(num_features, 1))
        if num_classes is not None:
            size = 28 * 28 if conditioning == "concat" else num_features
            self.embed = nn.Embedding(num_classes, size)
            if conditioning == "projection":
                nn.init.normal_(self.embed.weight, std=0.01)  # start close to the unconditional critic

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        expected = (self.channels, 28, 28)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"DCGANDiscriminator expects images of shape (B, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")
        y = _check_labels(y, self.num_classes, x.shape[0], "DCGANDiscriminator")
        if y is not None and self.conditioning == "concat":
            plane = self.embed(y).view(-1, 1, 28, 28).to(x.dtype)  # (B, 1, 28, 28)
            x = torch.cat([x, plane], dim=1)  # (B, c + 1, 28, 28)
        h = self.features(x)  # (B, F)
        logits = self.head(h).squeeze(1)  # (B,)
        if y is not None and self.conditioning == "projection":
            logits = logits + (self.embed(y).to(h.dtype) * h).sum(dim=1)  # (B,)
        return logits
