"""gan_course.samplers: the device sampler's epochs, exact resumption and errors, and the checks
make_sampler runs on training data (finite floating-point samples, integer labels)."""

import math

import pytest
import torch

from gan_course import data, samplers

pytestmark = pytest.mark.usefixtures("one_thread")


def test_sampler_visits_every_sample_once_per_epoch():
    x = torch.arange(20.0)[:, None]
    y = torch.arange(20)
    sampler = samplers.DeviceSampler(x, y, batch_size=5, seed=0)
    assert len(sampler) == 4
    seen = torch.cat([next(sampler)[1] for _ in range(4)])
    assert sorted(seen.tolist()) == list(range(20))
    xb, yb = next(sampler)
    assert torch.equal(xb[:, 0].long(), yb)  # x and y stay aligned


def test_sampler_resumes_exactly():
    x = torch.randn(50, 3)
    a = samplers.DeviceSampler(x, batch_size=8, seed=1)
    for _ in range(3):
        next(a)
    state = a.state_dict()
    expected = [next(a) for _ in range(10)]
    b = samplers.DeviceSampler(x, batch_size=8, seed=99)
    b.load_state_dict(state)
    assert all(torch.equal(e, next(b)) for e in expected)


def test_sampler_bad_input():
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[1, 10\].*got 11"):
        samplers.DeviceSampler(torch.zeros(10, 2), batch_size=11)
    with pytest.raises(ValueError, match="one label per sample"):
        samplers.DeviceSampler(torch.zeros(10, 2), torch.zeros(9), batch_size=2)
    with pytest.raises(ValueError, match="x must be a non-empty tensor"):
        samplers.DeviceSampler(torch.zeros(0, 2), batch_size=1)


def test_sampler_repeats_its_order_for_a_seed_and_skips_a_last_partial_batch():
    x = torch.arange(10.0)[:, None]
    a, b = samplers.DeviceSampler(x, batch_size=3, seed=5), samplers.DeviceSampler(x, batch_size=3, seed=5)
    assert all(torch.equal(next(a), next(b)) for _ in range(7))
    sampler = samplers.DeviceSampler(x, batch_size=3, seed=0)
    epoch = torch.cat([next(sampler) for _ in range(3)])[:, 0]  # 3 full batches, the 10th sample skipped
    assert len(set(epoch.tolist())) == 9
    assert len(sampler) == 3


def test_make_sampler_wraps_tensors_and_pairs_and_passes_iterators_through():
    x, y = torch.rand(12, 2), torch.arange(12)
    s = samplers.make_sampler(x, 4, torch.device("cpu"), seed=0)
    assert isinstance(s, samplers.DeviceSampler) and next(s).shape == (4, 2)
    xb, yb = next(samplers.make_sampler((x, y), 4, torch.device("cpu"), seed=0))
    assert xb.shape == (4, 2) and yb.dtype == torch.int64
    batches = iter([torch.zeros(2, 2)])
    assert samplers.make_sampler(batches, 4, torch.device("cpu"), seed=0) is batches
    with pytest.raises(ValueError, match="data must be a tensor, a pair \\(x, y\\) of tensors or a sampler.*got list"):
        samplers.make_sampler([1, 2, 3], 4, torch.device("cpu"), seed=0)


def test_make_sampler_checks_the_samples_and_the_labels():
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match="data holds torch.int64 values; a GAN trains on floating-point samples"):
        samplers.make_sampler(torch.arange(8).view(4, 2), 2, cpu, seed=0)
    bad = torch.rand(4, 2)
    bad[1, 0] = math.nan
    with pytest.raises(ValueError, match=r"data contains 1 NaN/inf value\(s\) out of 8"):
        samplers.make_sampler(bad, 2, cpu, seed=0)
    with pytest.raises(ValueError, match=r"labels y must be a 1-D integer tensor, got dtype torch.float32"):
        samplers.make_sampler((torch.rand(4, 2), torch.zeros(4)), 2, cpu, seed=0)
    with pytest.raises(ValueError, match=r"data must hold at least one sample, got shape \(0, 2\)"):
        samplers.make_sampler(torch.zeros(0, 2), 2, cpu, seed=0)
    with pytest.warns(UserWarning, match="data is float64; it is converted to float32"):
        s = samplers.make_sampler(torch.rand(4, 2, dtype=torch.float64), 2, cpu, seed=0)
    assert next(s).dtype == torch.float32


def test_data_still_exports_the_device_sampler():
    assert data.DeviceSampler is samplers.DeviceSampler
