"""The EM dashboard (widgets.em), driven programmatically as a student would."""

import numpy as np
import pytest
import torch

from gan_course.widgets.em import EMDashboard

pytestmark = pytest.mark.usefixtures("one_thread")


def _blobs(n=600, d=3, k=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    centers = 4.0 * torch.randn(k, d, generator=gen, dtype=dtype)
    labels = torch.randint(k, (n,), generator=gen)
    scale = torch.randn(k, d, d, generator=gen, dtype=dtype) * 0.5 + torch.eye(d, dtype=dtype)
    z = torch.randn(n, d, generator=gen, dtype=dtype)
    return centers[labels] + torch.einsum("nde,ne->nd", scale[labels], z)  # (n, d)


def test_em_dashboard_e_then_m_increases_log_likelihood():
    x = _blobs(n=300, d=2, k=3, seed=7)
    dash = EMDashboard(x, num_components=3, seed=0)
    before = dash.log_likelihood()
    dash.buttons["e_step"].click()
    assert dash.phase == "after E" and dash.log_resp is not None
    torch.testing.assert_close(dash.log_resp.exp().sum(1), torch.ones(300, dtype=torch.float64))
    dash.buttons["m_step"].click()
    assert dash.log_likelihood() > before
    dash.run(15)
    assert dash.steps_done == 17 and len(dash.curve) == 1 + 16
    assert (np.diff(dash.curve) > -1e-9).all()
    assert dash.frames[-1].startswith(b"\x89PNG")
    dash.k_slider.value = 4  # changing K resets to a fresh model
    assert dash.model.num_components == 4 and dash.steps_done == 0 and len(dash.curve) == 1


def test_em_dashboard_refuses_data_that_is_not_2d():
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(N, 2\), got torch.Size\(\[10, 3\]\)"):
        EMDashboard(torch.zeros(10, 3))
