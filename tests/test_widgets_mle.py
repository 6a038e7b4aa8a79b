"""The maximum-likelihood dashboard (widgets.mle), driven programmatically as a student would."""

import math

import numpy as np
import pytest
import scipy.stats
import torch

from gan_course.widgets.mle import MLEDashboard

pytestmark = pytest.mark.usefixtures("one_thread")


def data():
    return torch.from_numpy(scipy.stats.norm(2.0, 0.5).rvs(size=300, random_state=0))


@pytest.mark.slow
def test_mle_dashboard_steps_climb_to_the_mle():
    x = torch.from_numpy(scipy.stats.norm(2.0, 0.5).rvs(size=300, random_state=0))
    dash = MLEDashboard(x, mean=0.0, std=1.5)
    start = dash.log_likelihood()
    dash.buttons["step"].click()
    assert dash.log_likelihood() > start and dash.steps_done == 1
    dash.run(200)
    assert dash.frames and dash.frames[-1].startswith(b"\x89PNG")
    assert dash.mean == pytest.approx(dash.mle[0], abs=0.02)
    assert dash.std == pytest.approx(dash.mle[1], rel=0.02)
    assert "MLE" in dash.status()
    dash.set(mean=1.0)  # a slider move redraws and restarts the path
    assert dash.path == [(dash.mean, dash.std)]
    dash.reset_button.click()
    assert (dash.mean, dash.std) == pytest.approx((0.0, 1.5))


def test_mle_dashboard_reads_out_the_log_likelihood_and_the_mle_of_scipy():
    x = data()
    dash = MLEDashboard(x, mean=0.0, std=1.5, grid=10)
    loc, scale = scipy.stats.norm.fit(x.numpy())
    assert dash.mle == pytest.approx((loc, scale), rel=1e-10)
    assert dash.log_likelihood() == pytest.approx(scipy.stats.norm(0.0, 1.5).logpdf(x.numpy()).mean(), rel=1e-12)
    assert dash.log_likelihood(1.0, 2.0) == pytest.approx(scipy.stats.norm(1.0, 2.0).logpdf(x.numpy()).mean())
    assert f"reaches {scipy.stats.norm(loc, scale).logpdf(x.numpy()).mean():.4f}" in dash.status()


def test_mle_dashboard_step_is_one_gradient_ascent_step_on_mean_and_log_std():
    x = data()
    dash = MLEDashboard(x, mean=1.0, std=0.8, lr=0.3, grid=10)
    # d/dmu mean log N = mean(x - mu) / s^2 ;  d/dlog s = mean((x - mu)^2) / s^2 - 1
    grad_mean = float((x - 1.0).mean()) / 0.8**2
    grad_log_std = float(((x - 1.0) ** 2).mean()) / 0.8**2 - 1
    dash.buttons["step"].click()
    assert dash.mean == pytest.approx(1.0 + 0.3 * grad_mean, rel=1e-9)
    assert dash.std == pytest.approx(math.exp(math.log(0.8) + 0.3 * grad_log_std), rel=1e-9)
    assert dash.steps_done == 1 and dash.path == [(1.0, 0.8), (dash.mean, dash.std)]


def test_mle_dashboard_rejects_bad_data():
    with pytest.raises(ValueError, match="1-D tensor"):
        MLEDashboard(torch.randn(10, 2))
    with pytest.raises(ValueError, match="at least 2 samples"):
        MLEDashboard(torch.ones(1))
    with pytest.raises(ValueError, match="^std must be a positive number, got 0$"):
        MLEDashboard(torch.randn(10), std=0)
    with pytest.raises(ValueError, match="x must be a 1-D tensor"):
        MLEDashboard(np.zeros(10))
