"""The command line (gan_course.cli, ``python -m gan_course``): runs in a subprocess and in-process,
what they write, and the one-line errors (exit code 2, no traceback, nothing written)."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gan_course import checkpoints, cli, data, divergences, recipes

pytestmark = pytest.mark.usefixtures("one_thread")


def run_cli(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_course", "train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def run_main(capsys, *args):
    """``train ARGS`` in this process: what ``run_cli`` gives (return code, stdout, stderr), without
    starting Python again. argparse's refusals exit with 2, as the command does."""
    try:
        code = cli.main(["train", *args])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


# ---- in a subprocess: the command as a user runs it ----------------------------------------------


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
        expected = divergences.mode_coverage(torch.from_numpy(samples), *data.toy_modes(name)).as_dict()
        expected = {k: None if v == float("inf") else v for k, v in expected.items() if k != "counts"}
        assert metrics["mode_coverage"] == pytest.approx(expected)  # 5 steps: no high-quality sample, KL null
    history = json.loads((out / "history.json").read_text())
    assert len(history["g_loss"]) == 5
    # the checkpoint loads into the recommended networks, weights only
    trainer = recipes.toy_trainer(name, "hinge", seed=1, device="cpu")
    trainer.load(out / "checkpoint.pt")
    assert trainer.global_step == 5
    torch.testing.assert_close(trainer.sample(2500, seed=1).numpy(), samples)


def test_bad_values_give_one_line_error(tmp_path):
    proc = run_cli("toy", "--data", "gauss1d", "--steps", "0", "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert proc.returncode == 2 and "error: steps must be a positive int, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x").exists()


@pytest.mark.slow
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
    assert "classifier score" in proc.stderr  # the report, each metric beside its real reference (for a person)
    assert json.loads(proc.stdout)["out"] == str(out)  # stdout is one JSON object, for a program
    state = checkpoints.load(out / "checkpoint.pt", "gan_trainer")
    assert state["counters"]["global_step"] == 2
    assert checkpoints.load(out / "weights.pt", "gan_weights")["seed"] == 3
    weights = checkpoints.load(out / "weights.pt", "gan_weights")  # the command is recorded as its provenance
    assert weights["command"] == (f"python -m gan_course train {kind} --data mnist --steps 2 --seed 3 --out {out} "
                                  "--quiet")


# ---- in-process: the same code paths, without starting Python for each -------------------------


def test_unknown_names_are_refused(tmp_path, capsys):
    proc = run_main(capsys, "toy", "--data", "swissroll", "--steps", "1", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "invalid choice: 'swissroll'" in proc.stderr
    proc = run_main(capsys, "toy", "--data", "mix1d", "--loss", "vanilla", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "'nonsaturating'" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["dcgan", "--minutes", "0"], "error: minutes must be a positive number, got 0.0"),
    (["wgan-gp", "--minutes", "-2"], "error: minutes must be a positive number, got -2.0"),
    (["dcgan", "--data", "ring8", "--steps", "1"], "error: train dcgan needs --data mnist; got 'ring8'"),
    (["cgan", "--loss", "hinge", "--steps", "1"], "error: --loss is for toy runs"),
])
def test_bad_image_gan_settings_are_one_line_errors(tmp_path, capsys, args, message):
    proc = run_main(capsys, *args, "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


def test_train_toy_in_process_prints_one_json_object_that_is_its_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    proc = run_main(capsys, "toy", "--data", "gauss1d", "--steps", "2", "--seed", "4", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)  # stdout is one JSON object, nothing else
    written = json.loads((out / "metrics.json").read_text())
    assert printed["out"] == str(out) and {k: v for k, v in printed.items() if k != "out"} == written
    assert (written["data"], written["steps"], written["seed"]) == ("gauss1d", 2, 4)


@pytest.mark.parametrize("args, message", [
    (["toy", "--data", "gauss1d", "--steps", "1"], "error: train toy needs --out DIR"),
    (["toy", "--data", "mnist", "--steps", "1", "--out", "x"], "error: train toy needs --data in gauss1d, mix1d"),
    (["dcgan", "--steps", "1"], "error: train dcgan needs --out DIR"),
])
def test_missing_or_mismatched_settings_are_one_line_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    proc = run_main(capsys, *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


def test_train_classifier_command_reports_bad_settings(capsys, tmp_path):
    assert cli.main(["train", "classifier", "--seed", "-1", "--out", str(tmp_path / "x.pt")]) == 2
    assert "seed must be a non-negative int" in capsys.readouterr().err


def test_parser_lists_the_commands_and_the_kinds():
    parser = cli.build_parser()
    args = parser.parse_args(["train", "wgan-gp", "--minutes", "1.5", "--quiet"])
    assert (args.kind, args.minutes, args.quiet, args.seed) == ("wgan-gp", 1.5, True, 0)
    assert parser.parse_args(["doctor", "--json"]).json
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "vae"])
