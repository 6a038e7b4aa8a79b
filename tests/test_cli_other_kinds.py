"""`python -m gan_course train KIND` for kinds trained by their own module (appendix A1's MADE ...)."""

import json

import numpy as np
import pytest

from gan_course import checkpoints, cli

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
def test_train_autoregressive_writes_metrics_weights_and_samples(tmp_path, capsys):
    out = tmp_path / "made"
    assert cli.main(["train", "autoregressive", "--minutes", "0.02", "--seed", "1", "--out", str(out), "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert result["out"] == str(out) and metrics["seed"] == 1 and 0 < metrics["test_bits_per_dim"] < 1
    assert metrics["command"].startswith("python -m gan_course train autoregressive --minutes 0.02")
    assert checkpoints.kind_of(out / "weights.pt") == "autoregressive"
    samples = np.load(out / "samples.npy")
    assert samples.shape == (100, 28, 28) and samples.dtype == np.uint8 and set(np.unique(samples)) <= {0, 255}


@pytest.mark.parametrize("argv, message", [
    (["--steps", "5"], "--steps is for the GANs"),
    (["--resume", "x"], "--resume is for the GANs"),
    (["--data", "ring8"], "trains on mnist; got --data 'ring8'"),
    (["--minutes", "-1"], "minutes must be a positive number, got -1.0"),
    ([], "needs --out DIR"),
])
def test_bad_options_are_refused_before_any_work(tmp_path, capsys, argv, message):
    out = [] if argv == [] else ["--out", str(tmp_path / "run")]
    assert cli.main(["train", "autoregressive", *argv, *out]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "run").exists()
