r"""EM for a Gaussian mixture, one half-step at a time, on 2-D data.

.. math::
    \text{E step: } r_{ik} = \frac{\pi_k\mathcal N(x_i;\mu_k,\Sigma_k)}{\sum_{k'}\pi_{k'}\mathcal N(x_i;\mu_{k'},\Sigma_{k'})}
    \qquad
    \text{M step: } N_k = \sum_i r_{ik},\ \pi_k = \frac{N_k}{N},\ \mu_k = \frac{1}{N_k}\sum_i r_{ik}x_i,\
    \Sigma_k = \frac{1}{N_k}\sum_i r_{ik}(x_i-\mu_k)(x_i-\mu_k)^\top

Points are coloured by their responsibilities (a mix of the component colours), each component is
drawn as its 1- and 2-sigma ellipses, and the mean log-likelihood is plotted after every M step:
it never goes down.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from gan_course.density import GaussianMixture
from gan_course.plots import plot_gmm_2d
from gan_course.validate import require_positive_int
from gan_course.widgets.base import Dashboard, int_slider


class EMDashboard(Dashboard):
    """Step EM on 2-D data: E-step, M-step, or Step (both); Play runs full steps.

    Args:
        x: data (N, 2).
        num_components: K at the start (a slider changes it and resets).
        covariance: ``"full"`` or ``"diag"``.
        init: ``"random"`` (K random points: EM has work to show) or ``"kmeans++"``.
        seed: initialisation seed; Reset goes back to the same start.
        **kw: passed to :class:`~gan_course.widgets.base.Dashboard`.
    """

    actions = ("step", "e_step", "m_step")

    def __init__(self, x: torch.Tensor, num_components: int = 3, covariance: str = "full",
                 init: str = "random", seed: int = 0, **kw) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"x must be a tensor of shape (N, 2), got {getattr(x, 'shape', type(x).__name__)}")
        self.x = x.detach().double().cpu()
        self.covariance, self.init, self.seed = covariance, init, seed
        num_components = require_positive_int("num_components", num_components)  # before a slider could clamp it
        self.k_slider = int_slider(num_components, 1, 10, description="components", continuous_update=False)
        self.k_slider.observe(lambda _change: self._guarded(self.reset), names="value")
        self._new_model()
        super().__init__(title="EM for a Gaussian mixture", figsize=(10, 4.2), controls=[self.k_slider], **kw)

    def _new_model(self) -> None:
        self.model = GaussianMixture(self.k_slider.value, self.covariance, init=self.init,
                                     seed=self.seed).initialize(self.x)
        self.log_resp: torch.Tensor | None = None  # set by an E step, used by the next M step
        self.phase = "start"  # "start", "after E" or "after M"
        self.curve = [self.log_likelihood()]  # mean log-likelihood after each M step
        self.m_steps = 0

    # ---------------------------------------------------------------- state
    def log_likelihood(self) -> float:
        """Mean log-likelihood of the data under the current parameters."""
        return self.model.score(self.x)

    def advance(self, action: str) -> None:
        if action in ("e_step", "step"):
            self.log_resp, _ = self.model.e_step(self.x)
            self.phase = "after E"
        if action in ("m_step", "step"):
            if self.log_resp is None:  # an M step needs responsibilities: take them from now
                self.log_resp, _ = self.model.e_step(self.x)
            self.model.m_step(self.x, self.log_resp)
            self.m_steps += 1
            self.phase = "after M"
            self.curve.append(self.log_likelihood())

    def reset_state(self) -> None:
        self._new_model()

    # ---------------------------------------------------------------- drawing
    def draw(self, fig: Figure) -> None:
        ax_data, ax_curve = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        resp = self.log_resp.exp() if self.log_resp is not None else None
        what = {"start": "initial parameters (grey: no E step yet)",
                "after E": "after an E step: colours = responsibilities",
                "after M": "after an M step: ellipses moved to their points"}[self.phase]
        plot_gmm_2d(ax_data, self.x, self.model, resp, title=what)
        ax_curve.plot(range(len(self.curve)), self.curve, "o-", color="C0", ms=3)
        ax_curve.set_xlabel("M steps")
        ax_curve.set_ylabel("mean log-likelihood (nats)")
        ax_curve.set_title("log-likelihood after each M step")
        ax_curve.grid(alpha=0.3)
        fig.tight_layout()

    def status(self) -> str:
        weights = ", ".join(f"{w:.2f}" for w in self.model.weights.tolist())
        return (f"{self.m_steps} M steps, {self.phase}: mean log-likelihood {self.curve[-1]:.4f}; "
                f"weights π = [{weights}]")
