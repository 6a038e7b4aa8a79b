"""Checks of notebook 11: each accepts the right answer written several ways and rejects the
common mistakes with a specific hint, never raising at the student."""

import numpy as np
import scipy.linalg
import torch

from gan_course import checks


# ---- forward noising ---------------------------------------------------------------------------

def test_forward_noising_accepts_right_answers():
    assert checks.forward_noising(lambda x0, a, e: a[:, None].sqrt() * x0 + (1 - a[:, None]).sqrt() * e)
    assert checks.forward_noising(lambda x0, a, e: (a.sqrt() * x0.T + (1 - a).sqrt() * e.T).T)
    assert checks.forward_noising(lambda x0, a, e: torch.sqrt(a).unsqueeze(1) * x0 + torch.sqrt(1 - a).unsqueeze(1) * e)


def test_forward_noising_names_the_mistake():
    variances = checks.forward_noising(lambda x0, a, e: a[:, None] * x0 + (1 - a[:, None]) * e)
    assert not variances and "variances" in variances.message
    swapped = checks.forward_noising(lambda x0, a, e: (1 - a[:, None]).sqrt() * x0 + a[:, None].sqrt() * e)
    assert not swapped and "swapped" in swapped.message
    whole = checks.forward_noising(lambda x0, a, e: a[:, None].sqrt() * x0 + e)
    assert not whole and "added whole" in whole.message
    wrong_axis = checks.forward_noising(lambda x0, a, e: a[: x0.shape[1]].sqrt() * x0 + (1 - a[: x0.shape[1]]).sqrt() * e)
    assert not wrong_axis
    assert "fill in" in checks.forward_noising(lambda x0, a, e: None).message
    assert "raised" in checks.forward_noising(lambda x0, a, e: 1 / 0).message


# ---- flow-matching target ------------------------------------------------------------------------

def test_flow_target_accepts_right_answers():
    assert checks.flow_matching_target(lambda x0, x1, t: ((1 - t)[:, None] * x0 + t[:, None] * x1, x1 - x0))
    assert checks.flow_matching_target(lambda x0, x1, t: (x0 + t[:, None] * (x1 - x0), -(x0 - x1)))


def test_flow_target_names_the_mistake():
    reversed_v = checks.flow_matching_target(lambda x0, x1, t: ((1 - t)[:, None] * x0 + t[:, None] * x1, x0 - x1))
    assert not reversed_v and "wrong way" in reversed_v.message
    reversed_t = checks.flow_matching_target(lambda x0, x1, t: (t[:, None] * x0 + (1 - t)[:, None] * x1, x1 - x0))
    assert not reversed_t and "time runs the wrong way" in reversed_t.message
    single = checks.flow_matching_target(lambda x0, x1, t: x1 - x0)
    assert not single and "pair" in single.message


# ---- FID of two Gaussians ------------------------------------------------------------------------

def _fid(m1, s1, m2, s2, factor=2.0, sqrt=scipy.linalg.sqrtm):
    a, b = s1.numpy(), s2.numpy()
    return float(((m1 - m2) ** 2).sum()) + float(np.trace(a + b - factor * np.real(sqrt(a @ b))))


def test_gaussian_fid_accepts_right_answers():
    assert checks.gaussian_fid(_fid)
    from gan_course.metrics import frechet_distance
    assert checks.gaussian_fid(frechet_distance)
    assert checks.gaussian_fid(lambda *a: torch.tensor(_fid(*a)))


def test_gaussian_fid_names_the_mistake():
    root = checks.gaussian_fid(lambda *a: _fid(*a) ** 0.5)
    assert not root and "its square" in root.message
    means = checks.gaussian_fid(lambda m1, s1, m2, s2: float(((m1 - m2) ** 2).sum()))
    assert not means and "Only the means" in means.message
    elementwise = checks.gaussian_fid(lambda *a: _fid(*a, sqrt=lambda m: None) if False else
                                      float(((a[0] - a[2]) ** 2).sum() + torch.trace(a[1] + a[3] - 2 * (a[1] * a[3]).clamp_min(0).sqrt())))
    assert not elementwise and "element-wise" in elementwise.message
    factor = checks.gaussian_fid(lambda *a: _fid(*a, factor=1.0))
    assert not factor and "factor 2" in factor.message
    assert "fill in" in checks.gaussian_fid(lambda *a: None).message
