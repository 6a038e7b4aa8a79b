r"""Networks that read a time as well as a sample: what diffusion and flow-matching models learn.

A diffusion model predicts the noise :math:`\epsilon_\theta(x_t, t)` and a flow-matching model
the velocity :math:`v_\theta(x_t, t)`; both are a network of the sample *and* the time. The time
enters through a sinusoidal embedding (Vaswani et al., 2017; used for diffusion by Ho et al., 2020)

.. math:: \mathrm{emb}(t)_{2i} = \sin(s\,t\,\omega_i),\quad \mathrm{emb}(t)_{2i+1} = \cos(s\,t\,\omega_i),
          \qquad \omega_i = 10000^{-i/(h-1)},\ s = 1000,

followed by a small MLP. Two networks:

- ``TimeMLP``: 2-D points (the toys of notebook 06): the embedding is concatenated to x;
- ``TinyUNet``: 28x28 digits, a CPU-sized U-Net (Ronneberger et al., 2015) with residual blocks
  at 28x28, 14x14 and 7x7, the time added inside every block (as in Ho et al., 2020), no attention.

Both map ``(x, t)`` with t of shape (B,) in [0, 1] to a tensor shaped like x.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_course.validate import require_int

TIME_SCALE = 1000.0  # t in [0, 1] is spread over the frequencies as a step index in [0, 1000]


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    r"""The transformer's position code applied to times: (B,) -> (B, dim).

    .. math:: [\sin(1000\,t\,\omega_0), \dots, \sin(1000\,t\,\omega_{h-1}),
               \cos(1000\,t\,\omega_0), \dots], \quad \omega_i = 10000^{-i/(h-1)},\ h = dim/2

    >>> sinusoidal_embedding(torch.zeros(3), 4)
    tensor([[0., 0., 1., 1.],
            [0., 0., 1., 1.],
            [0., 0., 1., 1.]])
    """
    dim = require_int("dim", dim, 2)
    if dim % 2:
        raise ValueError(f"dim must be even (sines and cosines in pairs), got {dim}")
    if t.ndim != 1:
        raise ValueError(f"t must have shape (B,), got {tuple(t.shape)}")
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32)
                      / max(half - 1, 1))  # (h,)
    angles = TIME_SCALE * t.float()[:, None] * freqs[None, :]  # (B, h)
    return torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, dim)


def _check_time(t: torch.Tensor | float, batch: int, device: torch.device) -> torch.Tensor:
    """A time per sample, (B,) float on ``device``; a number or a (1,) tensor is broadcast."""
    t = torch.as_tensor(t, dtype=torch.float32, device=device)
    if t.ndim == 0 or t.shape == (1,):
        t = t.reshape(1).expand(batch)
    if t.shape != (batch,):
        raise ValueError(f"t must be a number or have shape ({batch},) to match x, got {tuple(t.shape)}")
    return t


def fourier_features(x: torch.Tensor, octaves: int) -> torch.Tensor:
    r"""A point and its sines and cosines at octave frequencies (Tancik et al., 2020; NeRF's positional code):

    .. math:: [x,\ \sin(2^k \pi x),\ \cos(2^k \pi x)]_{k = 0}^{K-1} \in \mathbb R^{d(1 + 2K)}

    An MLP of raw 2-D coordinates learns sharp functions slowly (its spectral bias); the high
    frequencies let it place samples within a few hundredths of a mode.

    >>> fourier_features(torch.zeros(1, 2), 1)
    tensor([[0., 0., 0., 0., 1., 1.]])
    """
    if octaves == 0:
        return x
    freqs = math.pi * 2.0 ** torch.arange(octaves, device=x.device, dtype=x.dtype)  # (K,)
    angles = (x[:, :, None] * freqs).flatten(1)  # (B, d*K)
    return torch.cat([x, angles.sin(), angles.cos()], dim=1)  # (B, d(1 + 2K))


class TimeEmbedding(nn.Module):
    """Sinusoidal code of t, then a two-layer MLP: (B,) -> (B, out_dim)."""

    def __init__(self, out_dim: int, sinusoid_dim: int = 32) -> None:
        super().__init__()
        self.sinusoid_dim = sinusoid_dim
        self.mlp = nn.Sequential(nn.Linear(sinusoid_dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t, self.sinusoid_dim))  # (B, out_dim)


class TimeMLP(nn.Module):
    r"""An MLP of a point and a time, for 2-D data: :math:`f(x, t) = \mathrm{MLP}([x; \mathrm{emb}(t)])`.

    Args:
        data_dim: size of a sample (2 for the toys).
        width: units per hidden layer.
        depth: hidden layers (at least 1).
        embed_dim: size of the time embedding.
        octaves: K, Fourier features of x at frequencies :math:`2^k\pi`, k < K (0: x alone).

    >>> TimeMLP()(torch.zeros(5, 2), torch.rand(5)).shape
    torch.Size([5, 2])
    """

    def __init__(self, data_dim: int = 2, width: int = 128, depth: int = 3, embed_dim: int = 32,
                 octaves: int = 0) -> None:
        super().__init__()
        self.data_dim = require_int("data_dim", data_dim)
        self.width = require_int("width", width)
        self.depth = require_int("depth", depth)
        self.embed_dim = require_int("embed_dim", embed_dim, 2)
        self.octaves = require_int("octaves", octaves, 0)
        self.embed = TimeEmbedding(self.embed_dim, self.embed_dim if self.embed_dim % 2 == 0 else self.embed_dim + 1)
        layers: list[nn.Module] = []
        dims = [data_dim * (1 + 2 * self.octaves) + self.embed_dim] + [width] * depth
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), nn.SiLU()]
        layers.append(nn.Linear(width, data_dim))
        self.net = nn.Sequential(*layers)

    @property
    def options(self) -> dict:
        """The constructor arguments (stored in weights files)."""
        return {"data_dim": self.data_dim, "width": self.width, "depth": self.depth, "embed_dim": self.embed_dim,
                "octaves": self.octaves}

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample: (data_dim,)."""
        return (self.data_dim,)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"x must have shape (B, {self.data_dim}), got {tuple(x.shape)}")
        t = _check_time(t, x.shape[0], x.device)
        return self.net(torch.cat([fourier_features(x, self.octaves), self.embed(t)], dim=1))  # (B, d)


class ResBlock(nn.Module):
    r"""Two 3x3 convolutions with group norm and SiLU, the time added between them, and a skip.

    .. math:: h = W_2 * \sigma(\mathrm{GN}(W_1 * \sigma(\mathrm{GN}(x)) + A\,e_t)) + S x
    """

    def __init__(self, in_channels: int, out_channels: int, embed_dim: int, groups: int = 8) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(math.gcd(groups, in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(embed_dim, out_channels)
        self.norm2 = nn.GroupNorm(math.gcd(groups, out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(emb)[:, :, None, None]  # (B, C, 1, 1): one shift per channel and sample
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class TinyUNet(nn.Module):
    r"""A U-Net for 28x28 images and a time, small enough to train on a laptop CPU in minutes.

    .. math:: 28^2 \times w \xrightarrow{/2} 14^2 \times 2w \xrightarrow{/2} 7^2 \times 4w
              \xrightarrow{\uparrow 2} 14^2 \times 2w \xrightarrow{\uparrow 2} 28^2 \times w

    with one residual block per level on the way down, two at the bottom, one per level on the
    way up after concatenating the skip connection; the last convolution starts at zero, so the
    untrained network outputs 0.

    Args:
        width: w, channels at 28x28.
        channels: image channels (1 for MNIST).
        embed_dim: size of the time embedding.

    >>> TinyUNet(width=8)(torch.zeros(2, 1, 28, 28), torch.rand(2)).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, width: int = 16, channels: int = 1, embed_dim: int = 64) -> None:
        super().__init__()
        self.width = require_int("width", width)
        self.channels = require_int("channels", channels)
        self.embed_dim = require_int("embed_dim", embed_dim, 2)
        w, e = self.width, self.embed_dim
        self.embed = TimeEmbedding(e, 32)
        self.stem = nn.Conv2d(channels, w, 3, padding=1)
        self.down0 = ResBlock(w, w, e)  # 28x28
        self.pool0 = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)  # -> 14x14
        self.down1 = ResBlock(2 * w, 2 * w, e)
        self.pool1 = nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1)  # -> 7x7
        self.mid1 = ResBlock(4 * w, 4 * w, e)
        self.mid2 = ResBlock(4 * w, 4 * w, e)
        self.up1 = nn.Conv2d(4 * w, 2 * w, 3, padding=1)  # after nearest upsampling to 14x14
        self.dec1 = ResBlock(4 * w, 2 * w, e)
        self.up0 = nn.Conv2d(2 * w, w, 3, padding=1)  # after upsampling to 28x28
        self.dec0 = ResBlock(2 * w, w, e)
        self.head = nn.Sequential(nn.GroupNorm(math.gcd(8, w), w), nn.SiLU(), nn.Conv2d(w, channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    @property
    def options(self) -> dict:
        """The constructor arguments (stored in weights files)."""
        return {"width": self.width, "channels": self.channels, "embed_dim": self.embed_dim}

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample: (channels, 28, 28)."""
        return (self.channels, 28, 28)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.channels, 28, 28):
            raise ValueError(f"x must have shape (B, {self.channels}, 28, 28), got {tuple(x.shape)}")
        emb = self.embed(_check_time(t, x.shape[0], x.device))  # (B, e)
        h0 = self.down0(self.stem(x), emb)  # (B, w, 28, 28)
        h1 = self.down1(self.pool0(h0), emb)  # (B, 2w, 14, 14)
        h = self.mid2(self.mid1(self.pool1(h1), emb), emb)  # (B, 4w, 7, 7)
        h = self.up1(F.interpolate(h, scale_factor=2, mode="nearest"))  # (B, 2w, 14, 14)
        h = self.dec1(torch.cat([h, h1], dim=1), emb)  # (B, 2w, 14, 14)
        h = self.up0(F.interpolate(h, scale_factor=2, mode="nearest"))  # (B, w, 28, 28)
        h = self.dec0(torch.cat([h, h0], dim=1), emb)  # (B, w, 28, 28)
        return self.head(h)  # (B, c, 28, 28)


NETWORKS = {"TimeMLP": TimeMLP, "TinyUNet": TinyUNet}


def build_network(name: str, options: dict) -> nn.Module:
    """A network of this module by class name and constructor arguments (how weights files rebuild it)."""
    if name not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {name!r}")
    return NETWORKS[name](**options)
