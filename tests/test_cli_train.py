"""`python -m gan_course train toy`: a tiny-budget run in a subprocess, and its outputs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from gan_course import nets, train


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
    history = json.loads((out / "history.json").read_text())
    assert len(history["g_loss"]) == 5
    # the checkpoint loads into the recommended networks, weights only
    trainer = train.toy_trainer(name, "hinge", seed=1, device="cpu")
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
        train.train_toy("gauss1d", tmp_path / "x", steps=0, device="cpu", progress=False)


def test_recipes_cover_every_toy_and_build():
    from gan_course.data import TOY_NAMES
    assert set(train.TOY_RECIPES) == set(TOY_NAMES)
    t = train.toy_trainer("grid25", device="cpu")
    assert isinstance(t.generator, nets.MLPGenerator) and t.generator.latent_dim == 2


def test_bad_values_give_one_line_error(tmp_path):
    proc = run_cli("toy", "--data", "gauss1d", "--steps", "0", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 2 and "error: steps must be a positive int, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x").exists()
