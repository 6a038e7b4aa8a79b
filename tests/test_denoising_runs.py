"""Diffusion and flow runs (denoising_runs): the files `train diffusion|flow` writes, sampling
from them, the digit pipeline on a tiny budget, mode runs, bad input."""

import json

import numpy as np
import pytest

from gan_course import denoising_runs as dr

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dr.TOY_RECIPE.replace(width=16, depth=1, octaves=1, batch_size=64, num_data=500, steps=3, sample_steps=4)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(dr, "TOY_RECIPE", TINY)
    monkeypatch.setattr(dr, "DIGIT_RECIPE", dr.LatentRecipe(latent_dim=4, vae_steps=3, model=TINY.replace(octaves=0)))


@pytest.mark.parametrize("train, sample, kind", [(dr.train_flow, dr.sample_flow, "flow"),
                                                 (dr.train_diffusion, dr.sample_diffusion, "diffusion")])
def test_a_toy_run_writes_samples_metrics_and_weights(tmp_path, tiny, train, sample, kind):
    result = train("ring8", tmp_path / "run", steps=3, seed=1, progress=False)
    samples = np.load(tmp_path / "run" / "samples.npy")
    assert samples.shape == (2500, 2) and samples.dtype == np.float32  # as `train toy`
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["kind"] == kind and metrics["steps"] == 3 and result["steps"] == 3
    assert metrics["metrics"]["mode_coverage"]["num_modes"] == 8
    assert metrics["sampler"]["evaluations_per_sample"] == (4 if kind == "diffusion" else 4)
    again = sample(tmp_path / "run" / "weights.pt", n=2500, seed=1)
    assert np.array_equal(again, samples)  # the run's samples are the weights' samples at its seed
    fewer = sample(tmp_path / "run" / "weights.pt", n=7, seed=1, steps=1)
    assert fewer.shape == (7, 2)


def test_a_digit_run_writes_uint8_digits_and_their_quality(tmp_path, tiny):
    result = dr.train_flow("mnist", tmp_path / "digits", seed=0, progress=False)
    samples = np.load(tmp_path / "digits" / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8  # as `train dcgan`
    assert "classifier_score" in result["metrics"]["quality"] and result["vae_steps"] == 3
    x = dr.sample_flow(tmp_path / "digits" / "weights.pt", n=5, seed=0, steps=2)
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8
    model = dr.load_model(tmp_path / "digits" / "weights.pt")
    assert isinstance(model, dr.LatentImageModel) and model.evaluations(2) == 3  # two steps and the decoder


def test_mode_run_reports_coverage_time_and_cost():
    result = dr.toy_mode_run("flow", "grid25", seed=0, recipe=TINY, sample_steps=3)
    assert result["num_modes"] == 25 and result["steps"] == 3 and result["evaluations"] == 3
    assert 0 <= result["high_quality"] <= 1 and result["seconds"] > 0


def test_bad_input_names_the_argument(tmp_path, tiny):
    with pytest.raises(ValueError, match="data must be one of"):
        dr.train_flow("cifar", tmp_path / "a")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        dr.train_diffusion("ring8", tmp_path / "a", steps=0)
    with pytest.raises(ValueError, match="minutes must be a positive number"):
        dr.train_flow("ring8", tmp_path / "a", minutes=-1)
    with pytest.raises(ValueError, match="steps is for the 2-D toys"):
        dr.train_flow("mnist", tmp_path / "a", steps=10)
    dr.train_flow("ring8", tmp_path / "f", steps=1, progress=False)
    with pytest.raises(ValueError, match="steps must be a positive int"):
        dr.sample_flow(tmp_path / "f" / "weights.pt", n=3, steps=0)
    with pytest.raises(ValueError, match="does not hold diffusion weights"):
        dr.sample_diffusion(tmp_path / "f" / "weights.pt", n=3)
    with pytest.raises(ValueError, match="kind must be one of"):
        dr.build_model("gan", 2, TINY)


def test_the_command_line_routes_digit_runs_to_functions_of_its_signature():
    import importlib
    import inspect

    from gan_course import cli

    for kind in ("diffusion", "flow", "dcgan-sc"):
        module, name = cli.OTHER_KINDS[kind]
        parameters = inspect.signature(getattr(importlib.import_module(module), name)).parameters
        assert {"minutes", "seed", "progress", "command"} <= set(parameters)


@pytest.mark.slow  # a few seconds: the evaluation of 1,000 digits
def test_a_digit_run_with_the_command_line_signature_writes_uint8_digits(tmp_path, tiny):
    result = dr.train_flow_digits(tmp_path / "run", minutes=0.02, seed=0, progress=False)
    samples = np.load(tmp_path / "run" / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8  # as `train dcgan`
    assert result["kind"] == "flow" and result["data"] == "mnist"
