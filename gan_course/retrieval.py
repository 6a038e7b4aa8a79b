r"""Image retrieval with a discriminator's features: which training digits look like this one?

Historians who search collections of merchant marks have no labels and no segmentation: a mark is
found wherever it sits in a scan. A GAN's discriminator learns features of the images without any
label (it only asks "real or fake?"), so its hidden layers can serve as a descriptor for nearest
neighbour search. We measure it on digits, where labels tell us whether a neighbour is right:

.. math:: \text{precision@}k = \frac1Q \sum_{q=1}^Q \frac1k \big|\{\,j \in \mathrm{NN}_k(q) : y_j = y_q\,\}\big|

with neighbours by cosine similarity of the features, test digits as queries and the training
digits as the gallery; then again with every query shifted by 2-3 pixels, where matching raw
pixels breaks down.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from gan_course.validate import float_data, require_int

Features = Callable[[torch.Tensor], torch.Tensor]  # images (N, 1, 28, 28) in [0, 1] -> (N, F)


def pixel_features(x: torch.Tensor) -> torch.Tensor:
    """The raw pixels as a descriptor: (N, 1, 28, 28) -> (N, 784)."""
    return float_data(x).flatten(1)


def dcgan_features(discriminator: nn.Module, pool: int | None = None) -> Features:
    """The hidden features of a DCGAN discriminator (``nets.DCGANDiscriminator``, images in [-1, 1]):
    the flattened 7x7 maps of its last convolution, or with ``pool`` those maps averaged down to
    ``pool`` x ``pool`` (coarser, and less sensitive to where the digit sits)."""
    convs = discriminator.features[:-1]  # everything before Flatten: (N, 2w, 7, 7)

    @torch.no_grad()
    def features(x: torch.Tensor) -> torch.Tensor:
        was = discriminator.training
        discriminator.eval()
        try:
            maps = torch.cat([convs(xb * 2 - 1) for xb in float_data(x).split(500)])  # (N, 2w, 7, 7)
        finally:
            discriminator.train(was)
        if pool is not None:
            maps = F.adaptive_avg_pool2d(maps, require_int("pool", pool))  # (N, 2w, pool, pool)
        return maps.flatten(1)

    return features


def module_features(model: nn.Module) -> Features:
    """``model.features(x)`` (e.g. the semi-supervised discriminator's last hidden layer), in eval mode."""

    @torch.no_grad()
    def features(x: torch.Tensor) -> torch.Tensor:
        was = model.training
        model.eval()
        try:
            return torch.cat([model.features(xb) for xb in float_data(x).split(500)])
        finally:
            model.train(was)

    return features


def nearest_neighbours(query: torch.Tensor, gallery: torch.Tensor, k: int = 10) -> torch.Tensor:
    """Indices (Q, k) of the ``k`` gallery rows most cosine-similar to each query row, best first.

    >>> nearest_neighbours(torch.tensor([[1.0, 0.1]]), torch.tensor([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]]), k=2)
    tensor([[1, 2]])
    """
    query, gallery = float_data(query, "query"), float_data(gallery, "gallery")
    if query.ndim != 2 or gallery.ndim != 2 or query.shape[1] != gallery.shape[1]:
        raise ValueError(f"query and gallery must be (Q, F) and (G, F) features of the same F, got "
                         f"{tuple(query.shape)} and {tuple(gallery.shape)}")
    k = require_int("k", k, 1, len(gallery))
    similarity = F.normalize(query, dim=1) @ F.normalize(gallery, dim=1).T  # (Q, G)
    return similarity.topk(k, dim=1).indices


def precision_at_k(neighbour_labels: torch.Tensor, query_labels: torch.Tensor) -> torch.Tensor:
    """Per query, the share of its neighbours with its own label: (Q, k) and (Q,) -> (Q,).

    >>> precision_at_k(torch.tensor([[1, 1, 2], [0, 3, 3]]), torch.tensor([1, 3]))
    tensor([0.6667, 0.6667], dtype=torch.float64)
    """
    if neighbour_labels.ndim != 2 or query_labels.shape != (len(neighbour_labels),):
        raise ValueError(f"neighbour_labels must be (Q, k) and query_labels (Q,), got "
                         f"{tuple(neighbour_labels.shape)} and {tuple(query_labels.shape)}")
    return (neighbour_labels == query_labels[:, None]).double().mean(dim=1)


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Images moved ``dy`` pixels down and ``dx`` right, background (0) filled in: same shape.

    >>> shift(torch.eye(3)[None, None], 1, 0)[0, 0]
    tensor([[0., 0., 0.],
            [1., 0., 0.],
            [0., 1., 0.]])
    """
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        raise ValueError(f"a shift must be smaller than the image ({h}x{w}), got ({dy}, {dx})")
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))  # (..., H + |dy|, W + |dx|)
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top:top + h, left:left + w]


def shifted_queries(x: torch.Tensor, seed: int = 0, sizes: tuple[int, ...] = (2, 3)) -> torch.Tensor:
    """Each image moved by its own random offset: a size in ``sizes`` along a random one of the
    eight directions (so the largest of |dy|, |dx| is that size). Same shape as ``x``."""
    gen = torch.Generator().manual_seed(seed)
    directions = torch.tensor([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])
    size = torch.tensor(sizes)[torch.randint(len(sizes), (len(x),), generator=gen)]  # (N,)
    step = directions[torch.randint(8, (len(x),), generator=gen)] * size[:, None]  # (N, 2)
    return torch.stack([shift(xi, int(dy), int(dx)) for xi, (dy, dx) in zip(x, step.tolist())])


def retrieval_table(features: dict[str, Features], x_query: torch.Tensor, y_query: torch.Tensor,
                    x_gallery: torch.Tensor, y_gallery: torch.Tensor, k: int = 10, seed: int = 0) -> dict[str, dict]:
    """precision@k of each descriptor on the queries as they are and shifted by 2-3 pixels:
    ``{name: {"clean": p, "shifted": p}}``."""
    moved = shifted_queries(x_query, seed)
    table = {}
    for name, fn in features.items():
        gallery = fn(x_gallery)
        table[name] = {case: float(precision_at_k(y_gallery[nearest_neighbours(fn(q), gallery, k)], y_query).mean())
                       for case, q in (("clean", x_query), ("shifted", moved))}
    return table
