"""Normalizing flows: log-determinants against autograd Jacobians, exact inverses, a standard
normal at initialisation (scipy), densities that integrate to 1 on a grid, training, bad masks."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from gan_course import data, flows

pytestmark = pytest.mark.usefixtures("one_thread")


def randomised(module, seed=0, std=0.3):
    """In float64, every parameter random: a fresh coupling is the identity, which tests nothing."""
    module = module.double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return module


def jacobian_log_dets(fn, x):
    """log|det J| of ``fn`` at each row of x, from torch.autograd.functional.jacobian."""
    jac = [torch.autograd.functional.jacobian(lambda v: fn(v[None])[0][0], row) for row in x]  # B of (D, D)
    return torch.stack([torch.linalg.slogdet(j)[1] for j in jac])


@pytest.mark.parametrize("mask", [[1, 0], [0, 1], [1, 0, 0, 1, 1], [0, 1, 0, 1, 0]])
def test_coupling_log_det_matches_the_jacobian(mask):
    layer = randomised(flows.AffineCoupling(torch.tensor(mask), hidden=16), seed=len(mask))
    x = torch.randn(6, len(mask), dtype=torch.float64)
    y, log_det = layer(x)
    torch.testing.assert_close(log_det, jacobian_log_dets(layer, x))
    kept = torch.tensor(mask, dtype=torch.bool)
    assert torch.equal(y[:, kept], x[:, kept]) and not torch.allclose(y[:, ~kept], x[:, ~kept])


def test_flow_log_det_matches_the_jacobian_both_ways():
    flow = randomised(flows.RealNVP(dim=3, num_layers=4, hidden=16), seed=1)
    x = torch.randn(5, 3, dtype=torch.float64)
    z, log_det = flow(x)
    torch.testing.assert_close(log_det, jacobian_log_dets(flow, x))
    torch.testing.assert_close(flow.inverse(z)[1], jacobian_log_dets(flow.inverse, z))


def test_inverse_undoes_forward():
    flow = randomised(flows.RealNVP(dim=2, num_layers=6, hidden=32), seed=2)
    x = 3 * torch.randn(100, 2, dtype=torch.float64)
    z, log_det = flow(x)
    x_back, log_det_back = flow.inverse(z)
    torch.testing.assert_close(x_back, x, rtol=0, atol=1e-10)
    torch.testing.assert_close(log_det_back, -log_det)
    torch.testing.assert_close(flow(flow.inverse(x)[0])[0], x, rtol=0, atol=1e-10)


def test_a_fresh_flow_is_the_standard_normal():
    flow = flows.RealNVP(dim=2).double()
    x = torch.randn(20, 2, dtype=torch.float64)
    expected = multivariate_normal(mean=np.zeros(2), cov=np.eye(2)).logpdf(x.numpy())
    np.testing.assert_allclose(flow.log_prob(x).detach().numpy(), expected, rtol=1e-12)
    torch.testing.assert_close(flow.sample(5, seed=3), torch.randn(5, 2, generator=torch.Generator().manual_seed(3),
                                                                   dtype=torch.float64))


def test_the_density_integrates_to_one_on_a_fine_grid():
    flow = randomised(flows.RealNVP(dim=2, num_layers=4, hidden=16), seed=4, std=0.2)
    bounds = (-10.0, 10.0, -10.0, 10.0)
    xs, ys, density = flows.density_on_grid(flow, bounds, resolution=500)
    assert density.shape == (500, 500) and xs[0] == pytest.approx(-9.98) and ys[-1] == pytest.approx(9.98)
    assert flows.grid_integral(density, bounds) == pytest.approx(1.0, abs=0.01)
    # row i is y = ys[i], column j is x = xs[j]
    point = torch.tensor([[xs[123].item(), ys[45].item()]], dtype=torch.float64)
    assert density[45, 123].item() == pytest.approx(flow.log_prob(point).exp().item(), rel=1e-9)


def test_grid_integral_of_a_known_density():
    xs = (torch.arange(400, dtype=torch.float64) + 0.5) / 400 * 12 - 6
    gy, gx = torch.meshgrid(xs, xs, indexing="ij")
    gauss = torch.exp(-0.5 * (gx**2 + gy**2)) / (2 * math.pi)
    assert flows.grid_integral(gauss, (-6, 6, -6, 6)) == pytest.approx(1.0, abs=1e-6)
    assert flows.grid_integral(gauss, (-6, 6, 0, 6)) == pytest.approx(0.5, abs=1e-6)  # a box half as tall


def test_training_fits_two_gaussians():
    x = data.toy("two_gaussians", 1000, seed=0)
    flow = flows.RealNVP(dim=2, num_layers=4, hidden=32)
    before = -flow.log_prob(x).mean().item()
    torch.manual_seed(0)
    state = flows.fit_flow(flow, x, steps=200, lr=3e-3, progress=False)
    after = -flow.log_prob(x).mean().item()
    assert after < before - 1.0 and len(state.history["nll"]) == 200
    samples = flow.sample(2000, seed=0)
    assert (samples[:, 0] > 0).float().mean().item() == pytest.approx(0.5, abs=0.08)  # both modes
    assert samples[:, 0].abs().median().item() == pytest.approx(1.0, abs=0.25)


def test_masks():
    assert [m.tolist() for m in flows.alternating_masks(3, 2)] == [[1, 0, 1], [0, 1, 0]]
    board = flows.checkerboard_mask(3, 4, parity=1).reshape(3, 4)
    assert board[0].tolist() == [0, 1, 0, 1] and board[1].tolist() == [1, 0, 1, 0]


def test_bad_masks_and_input_name_the_argument_and_what_is_allowed():
    with pytest.raises(ValueError, match=r"mask must contain both 0s .* got all 0s: \[0\.0, 0\.0\]"):
        flows.AffineCoupling(torch.zeros(2))
    with pytest.raises(ValueError, match=r"mask must contain both 0s .* got all 1s: \[1\.0, 1\.0, 1\.0\]"):
        flows.AffineCoupling(torch.ones(3))
    with pytest.raises(ValueError, match=r"mask must hold only 0s and 1s, got \[1\.0, 0\.5\]"):
        flows.AffineCoupling(torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError, match=r"masks\[1\] must contain both"):
        flows.RealNVP(dim=2, masks=[torch.tensor([1, 0]), torch.tensor([1, 1])])
    with pytest.raises(ValueError, match=r"masks\[0\] must have dim=2 entries, got 3"):
        flows.RealNVP(dim=2, masks=[torch.tensor([1, 0, 1])])
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\), got \(4, 3\)"):
        flows.RealNVP(dim=2).log_prob(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="bounds must be"):
        flows.density_on_grid(flows.RealNVP(dim=2), (1, -1, 0, 1))
    with pytest.raises(ValueError, match="flow must be a RealNVP"):
        flows.fit_flow(torch.nn.Linear(2, 2), torch.zeros(4, 2), steps=1)
