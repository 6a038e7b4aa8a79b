"""FAST mode, device and precision choice, seeding, asset lookup."""

import random

import numpy as np
import pytest
import torch

from gan_course import config


@pytest.mark.parametrize("fast_env, ci_env, expected", [
    (None, None, False),
    ("1", None, True),
    ("true", None, True),
    (None, "true", True),
    (None, "1", True),
    ("0", "true", False),  # an explicit GAN_COURSE_FAST wins over CI
    (None, "", False),
    (None, "false", False),
])
def test_fast_mode_from_environment(monkeypatch, fast_env, ci_env, expected):
    for name, value in (("GAN_COURSE_FAST", fast_env), ("CI", ci_env)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert config.is_fast() is expected
    assert config.fast("small", "full") == ("small" if expected else "full")


def test_bad_fast_value_is_named(monkeypatch):
    monkeypatch.setenv("GAN_COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="GAN_COURSE_FAST must be one of .* got 'maybe'"):
        config.is_fast()


def test_auto_device_on_this_machine_and_env_override(monkeypatch):
    expected = "cuda" if torch.cuda.is_available() else "mps" if config._mps_available() else "cpu"
    assert config.get_device("auto").type == expected
    assert config.get_device(None).type == expected
    monkeypatch.setenv("GAN_COURSE_DEVICE", "cpu")
    assert config.get_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("choice", ["tpu", "gpu", "cpu:1", 3])
def test_unknown_device_lists_choices(choice):
    with pytest.raises(ValueError, match="device must be one of"):
        config.get_device(choice)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        config.get_device("cuda")


def test_cpu_precision_is_fp32_and_other_choices_are_refused_with_their_reason():
    p = config.get_precision("cpu")
    assert (p.name, p.dtype, p.use_scaler, p.autocast) == ("fp32", torch.float32, False, False)
    with pytest.raises(ValueError, match="precision 'fp16' needs a CUDA device"):
        config.get_precision("cpu", "fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        config.get_precision("cpu", "fp8")


@pytest.mark.parametrize("native", [True, False])
def test_cpu_bf16_only_where_the_cpu_has_it(monkeypatch, native):
    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: native)
    assert config.get_precision("cpu").name == "fp32"  # auto stays fp32 on every CPU
    if native:
        p = config.get_precision("cpu", "bf16")
        assert (p.name, p.dtype, p.use_scaler, p.autocast) == ("bf16", torch.bfloat16, False, True)
    else:
        with pytest.raises(ValueError, match="'bf16' on the CPU needs native bf16 instructions"):
            config.get_precision("cpu", "bf16")


def test_cpu_has_native_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert config.cpu_has_native_bf16() is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert config.cpu_has_native_bf16() is True


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_precision_on_cuda():
    p = config.get_precision("cuda")
    assert p.name == ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    assert p.use_scaler == (p.name == "fp16")


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    config.seed_everything(7)
    first = draw()
    config.seed_everything(7)
    assert draw() == first
    config.seed_everything(8)
    assert draw() != first


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        config.seed_everything(seed)


def test_assets_and_cache_dirs(monkeypatch, tmp_path):
    assert (config.assets_dir() / "data" / "mnist_5k.npz").is_file()
    monkeypatch.setenv("GAN_COURSE_DATA", str(tmp_path))
    assert config.cache_dir() == tmp_path
    monkeypatch.delenv("GAN_COURSE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if config.os.name == "posix" and config.os.uname().sysname == "Linux":
        assert config.cache_dir() == tmp_path / "xdg" / "gan_course"
