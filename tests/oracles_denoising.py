"""Exact networks for Gaussian data, to test the samplers without training (shared by the
diffusion and flow-matching tests)."""

import torch
import torch.nn as nn


class GaussianEpsilon(nn.Module):
    r"""The optimal noise predictor for data :math:`x_0 \sim \mathcal N(m, s^2 I)` under DDPM noising:

    .. math:: \mathbb E[\epsilon \mid x_t] = \frac{\sqrt{1-\bar\alpha}\,(x_t - \sqrt{\bar\alpha}\,m)}{\bar\alpha s^2 + 1 - \bar\alpha}
    """

    def __init__(self, alpha_bars: torch.Tensor, mean: float, std: float) -> None:
        super().__init__()
        self.alpha_bars, self.mean, self.std = alpha_bars.double(), mean, std
        self.dummy = nn.Parameter(torch.zeros(()))  # a parameter, so the model has a device
        self.options = {}

    def forward(self, x, t):
        index = torch.round(t * len(self.alpha_bars) - 1).long()  # t = (i + 1) / T
        a = self.alpha_bars[index].to(x.dtype)[:, None]
        return (1 - a).sqrt() * (x - a.sqrt() * self.mean) / (a * self.std**2 + 1 - a)


class GaussianVelocity(nn.Module):
    r"""The marginal velocity of the straight path to data :math:`x_1 \sim \mathcal N(m, s^2 I)`:

    .. math:: v(x, t) = m + \frac{t s^2 - (1 - t)}{(1 - t)^2 + t^2 s^2}\,(x - t m)
    """

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean, self.std = mean, std
        self.dummy = nn.Parameter(torch.zeros(()))
        self.options = {}

    def forward(self, x, t):
        t = t[:, None].to(x.dtype)
        s2 = self.std**2
        return self.mean + (t * s2 - (1 - t)) / ((1 - t) ** 2 + t**2 * s2) * (x - t * self.mean)
