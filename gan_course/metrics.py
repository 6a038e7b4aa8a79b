"""Measures of generative models: pure functions on tensors (the math layer).

Nothing here holds state or touches files; each function names the quantity it computes and,
where there is one, its equation.
"""

from __future__ import annotations

import math

import torch


def bits_per_dim(log_prob: torch.Tensor, num_dims: int) -> torch.Tensor:
    r"""Average negative log-likelihood in bits per dimension.

    .. math:: \mathrm{bpd} = -\frac{1}{N D \ln 2} \sum_{i=1}^N \log p(x_i)

    Args:
        log_prob: per-sample log-likelihoods in nats, shape (N,).
        num_dims: D, the number of dimensions of one sample (784 for MNIST).

    Returns:
        A scalar tensor. For binary data 1.0 is a fair coin per pixel; lower is better.

    >>> bits_per_dim(torch.full((4,), -784 * math.log(2)), 784)
    tensor(1.)
    """
    if log_prob.ndim != 1:
        raise ValueError(f"log_prob must have shape (N,), got {tuple(log_prob.shape)}")
    if isinstance(num_dims, bool) or not isinstance(num_dims, int) or num_dims <= 0:
        raise ValueError(f"num_dims must be a positive int, got {num_dims!r}")
    return -log_prob.mean() / (num_dims * math.log(2))
