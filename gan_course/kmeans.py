r"""k-means: hard clusters of the rows of a matrix, the start of EM and of self-conditioning.

.. math:: \min_{c,\,\mu} \sum_i \lVert x_i - \mu_{c_i} \rVert^2

(Lloyd, 1982; k-means++ seeding: Arthur & Vassilvitskii, 2007.)
"""

from __future__ import annotations

import torch

from gan_course.validate import data_matrix, require_choice, require_positive_int

INITS = ("kmeans++", "random")


def kmeans_labels(x: torch.Tensor, k: int, init: str = "kmeans++", iters: int = 100,
                  gen: torch.Generator | None = None) -> torch.Tensor:
    r"""Hard cluster labels (N,) of the rows of ``x`` (N, D): k-means++ (or ``"random"``) seeding,
    then up to ``iters`` Lloyd iterations (stops early when no label changes).

    .. math:: \min_{c,\,\mu} \sum_i \lVert x_i - \mu_{c_i} \rVert^2

    Used to start EM (``GaussianMixture``, ``BernoulliMixture``) and by
    ``benchmarks/bench_self_conditioned.py`` to give a GAN cluster ids instead of labels.
    """
    require_choice("init", init, INITS)
    x = data_matrix(x)  # (N, D)
    require_positive_int("k", k)
    if k > x.shape[0]:
        raise ValueError(f"k ({k}) must be at most the number of rows of x ({x.shape[0]})")
    n = x.shape[0]
    if init == "random":
        centers = x[torch.randperm(n, generator=gen, device=x.device)[:k]]  # (K, D)
    else:
        centers = x[torch.randint(n, (1,), generator=gen, device=x.device)]  # (1, D)
        for _ in range(1, k):
            dist = torch.cdist(x, centers).min(1).values ** 2  # (N,)
            probs = dist if dist.sum() > 0 else torch.ones_like(dist)
            pick = torch.multinomial(probs, 1, generator=gen)
            centers = torch.cat([centers, x[pick]])  # (k, D)
    labels = torch.cdist(x, centers).argmin(1)
    for _ in range(iters):
        onehot = torch.nn.functional.one_hot(labels, k).to(x.dtype)  # (N, K)
        counts = onehot.sum(0)[:, None]  # (K, 1)
        centers = torch.where(counts > 0, onehot.T @ x / counts.clamp_min(1), centers)
        new = torch.cdist(x, centers).argmin(1)
        if torch.equal(new, labels):
            break
        labels = new
    return labels
