"""`python -m gan_course train toy`: a tiny-budget run in a subprocess, and its outputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from gan_course import checkpoints, data, nets, recipes, runs
from gan_course import metrics as metrics_lib


def run_cli(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_course", "train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name, dim", [("mix1d", 1), ("ring8", 2)])
def test_train_toy_writes_all_outputs(tmp_path, name, dim):
    out = tmp_path / "run"
    proc = run_cli("toy", "--data", name, "--loss", "hinge", "--steps", "5", "--seed", "1",
                   "--out", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    samples = np.load(out / "samples.npy")
    assert samples.shape == (2500, dim) and samples.dtype == np.float32 and np.isfinite(samples).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == name and metrics["loss"] == "hinge" and metrics["steps"] == 5
    assert metrics["mean_log_prob_data"] is not None
    assert ("js_nats" in metrics) == (dim == 1)
    if dim == 2:  # the ring's modes, measured on the written samples
        expected = metrics_lib.mode_coverage(torch.from_numpy(samples), *data.toy_modes(name)).as_dict()
        expected = {k: None if v == float("inf") else v for k, v in expected.items() if k != "counts"}
        assert metrics["mode_coverage"] == pytest.approx(expected)  # 5 steps: no high-quality sample, KL null
    history = json.loads((out / "history.json").read_text())
    assert len(history["g_loss"]) == 5
    # the checkpoint loads into the recommended networks, weights only
    trainer = recipes.toy_trainer(name, "hinge", seed=1, device="cpu")
    trainer.load(out / "checkpoint.pt")
    assert trainer.global_step == 5
    torch.testing.assert_close(trainer.sample(2500, seed=1).numpy(), samples)


def test_unknown_names_are_refused(tmp_path):
    proc = run_cli("toy", "--data", "swissroll", "--steps", "1", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'swissroll'" in proc.stderr
    proc = run_cli("toy", "--data", "mix1d", "--loss", "vanilla", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 2 and "'nonsaturating'" in proc.stderr


def test_non_positive_steps_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        runs.train_toy("gauss1d", tmp_path / "x", steps=0, device="cpu", progress=False)


def test_recipes_cover_every_toy_and_build():
    from gan_course.data import TOY_NAMES
    assert set(recipes.TOY_RECIPES) == set(TOY_NAMES)
    t = recipes.toy_trainer("grid25", device="cpu")
    assert isinstance(t.generator, nets.MLPGenerator) and t.generator.latent_dim == 2


def test_bad_values_give_one_line_error(tmp_path):
    proc = run_cli("toy", "--data", "gauss1d", "--steps", "0", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 2 and "error: steps must be a positive int, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x").exists()


@pytest.mark.parametrize("kind", ["dcgan", "cgan"])
def test_train_image_gan_writes_samples_grid_metrics_checkpoint(tmp_path, kind):
    out = tmp_path / "run"
    proc = run_cli(kind, "--data", "mnist", "--steps", "2", "--seed", "3", "--out", str(out), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    samples = np.load(out / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = json.loads((out / "metrics.json").read_text())
    assert result["kind"] == kind and result["seed"] == 3 and result["steps"] == 2
    assert result["metrics"]["n"] == 1000 and result["metrics"]["fid"]["real"] < result["metrics"]["fid"]["value"]
    assert ("requested_accuracy" in result["metrics"]) == (kind == "cgan")
    assert "classifier score" in proc.stdout  # the report, each metric beside its real reference
    state = checkpoints.load(out / "checkpoint.pt", "gan_trainer")
    assert state["counters"]["global_step"] == 2
    assert checkpoints.load(out / "weights.pt", "gan_weights")["seed"] == 3


@pytest.mark.parametrize("args, message", [
    (["dcgan", "--minutes", "0"], "error: minutes must be a positive number, got 0.0"),
    (["wgan-gp", "--minutes", "-2"], "error: minutes must be a positive number, got -2.0"),
    (["dcgan", "--data", "ring8", "--steps", "1"], "error: train dcgan needs --data mnist; got 'ring8'"),
    (["cgan", "--loss", "hinge", "--steps", "1"], "error: --loss is for toy runs"),
])
def test_bad_image_gan_settings_are_one_line_errors(tmp_path, args, message):
    proc = run_cli(*args, "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()
