"""The command line never throws a run away: --out is checked before any work, a run appears
whole or not at all, Ctrl-C writes the run so far and exits 130, and stdout is one JSON object."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from gan_course import cli, runs

pytestmark = pytest.mark.usefixtures("one_thread")


def run_cli(*args, cwd, **popen):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gan_course", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, **popen)


def test_an_existing_run_is_refused_before_any_work_and_replaced_with_force(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("a run of yesterday")
    start = time.perf_counter()
    assert cli.main(["train", "toy", "--data", "ring8", "--steps", "3", "--out", str(out), "--quiet"]) == 2
    assert time.perf_counter() - start < 5  # refused at once, not after training
    assert "already holds a run (1 entries); pass --force" in capsys.readouterr().err
    assert (out / "old.txt").exists()
    assert cli.main(["train", "toy", "--data", "ring8", "--steps", "3", "--out", str(out), "--quiet", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json", "metrics.json", "samples.npy"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary folder left beside it


@pytest.mark.parametrize("out, message", [
    ("", "out must be a folder path, got ''"),
    ("afile", "is a file, not a folder"),
])
def test_a_bad_out_is_a_one_line_error(tmp_path, capsys, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    assert cli.main(["train", "toy", "--data", "ring8", "--steps", "3", "--out", out]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root can write anywhere; needs POSIX modes")
def test_an_unwritable_out_is_refused(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert cli.main(["train", "toy", "--data", "ring8", "--steps", "3", "--out", str(locked / "run")]) == 2
    assert "cannot write there" in capsys.readouterr().err


def test_a_failed_run_leaves_nothing(tmp_path, monkeypatch, capsys):
    def boom(*args, **kw):
        raise ValueError("something went wrong half-way")
    monkeypatch.setattr(runs, "write_run", boom)
    out = tmp_path / "run"
    assert cli.main(["train", "toy", "--data", "ring8", "--steps", "2", "--out", str(out), "--quiet"]) == 2
    assert "something went wrong half-way" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_stdout_is_one_json_object_and_messages_go_to_stderr(tmp_path):
    proc = run_cli("train", "dcgan", "--steps", "2", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)  # nothing else on stdout
    assert result["steps"] == 2 and result["out"] == str(tmp_path / "run")
    assert "classifier score" in proc.stderr


def test_minutes_bounds_a_toy_run_and_the_classifier_refuses_gan_options(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "toy", "--data", "ring8", "--minutes", "0.02", "--out", str(out), "--quiet"]) == 0
    steps = json.loads((out / "metrics.json").read_text())["steps"]
    assert 0 < steps < 8000  # stopped by the time budget, not by the recipe's 8,000 steps
    assert cli.main(["train", "classifier", "--minutes", "1", "--out", str(tmp_path / "c.pt")]) == 2
    assert "--minutes is for the GANs" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGINT to a child needs POSIX")
def test_ctrl_c_writes_the_run_so_far_exits_130_and_resume_goes_on(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-m", "gan_course", "train", "toy", "--data", "ring8", "--steps",
                              "1000000", "--out", str(out)], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = ""
    while "it/s" not in seen and "s/it" not in seen:  # the progress bar: training has started
        char = child.stderr.read(1)
        assert char, f"the run ended before training: {seen}"
        seen += char
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=120)
    stderr = seen + stderr
    assert child.returncode == 130, stderr
    result = json.loads(stdout)
    assert result["interrupted"] is True and result["steps"] > 0
    assert f"--resume {out}" in stderr and "Traceback" not in stderr
    steps = json.loads((out / "metrics.json").read_text())["steps"]
    proc = run_cli("train", "toy", "--data", "ring8", "--resume", str(out), "--steps", "3", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "metrics.json").read_text())["steps"] == steps + 3
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
