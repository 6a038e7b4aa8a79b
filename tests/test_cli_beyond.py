"""Notebook 11's command line (issue 16): `train diffusion|flow` on a 2-D toy, `sample` from diffusion,
flow and dcgan-sc weights with `--steps`, `scoreboard [--json]`, the shipped-weights paths that honour
GAN_COURSE_WEIGHTS, and the one-line errors (exit code 2, nothing written)."""

import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gan_course import checkpoints, cli, config, data, divergences, recipes, scoreboard
from gan_course import denoising_runs as dr
from gan_course import self_conditioned as sc

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = dr.TOY_RECIPE.replace(width=16, depth=1, octaves=1, batch_size=64, num_data=500, steps=3, sample_steps=4)
CHECKPOINT_KIND = {"diffusion": "diffusion", "flow": "flow_matching"}


def run_main(capsys, *argv):
    """``cli.main(argv)`` in this process: (return code, stdout, stderr); argparse's refusals exit
    with 2, as the command does."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=captured.out, stderr=captured.err)


@pytest.fixture
def tiny(monkeypatch):
    """The toy recipe at a size that trains in a blink (the run's plumbing is what is tested)."""
    monkeypatch.setattr(dr, "TOY_RECIPE", TINY)


def toy_weights(tmp_path, kind, name="ring8"):
    """weights.pt of a 3-step toy run of ``kind`` (the tiny recipe must be in place)."""
    train = dr.train_diffusion if kind == "diffusion" else dr.train_flow
    train(name, tmp_path / f"{kind}_{name}", steps=3, seed=1, progress=False)
    return tmp_path / f"{kind}_{name}" / "weights.pt"


@pytest.fixture
def dcgan_sc_weights(tmp_path, few_digits):
    model = sc.build(seed=0, k=3, device="cpu")
    model.trainer.fit(steps=1, progress=False)
    return sc.save(model, tmp_path / "sc" / "weights.pt", command="test")


# ---- train diffusion|flow --data <2-D toy> ----------------------------------------------------


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_train_on_a_toy_writes_samples_metrics_and_weights(tmp_path, capsys, tiny, kind):
    out = tmp_path / "run"
    proc = run_main(capsys, "train", kind, "--data", "ring8", "--steps", "3", "--seed", "1", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "samples.npy", "weights.pt"]
    samples = np.load(out / "samples.npy")
    assert samples.shape == (2500, 2) and samples.dtype == np.float32 and np.isfinite(samples).all()  # as `train toy`
    metrics = json.loads((out / "metrics.json").read_text())
    printed = json.loads(proc.stdout)  # stdout is one strict JSON object: the metrics and where they are
    assert printed == {**metrics, "out": str(out)}
    assert (metrics["kind"], metrics["data"], metrics["seed"], metrics["steps"]) == (kind, "ring8", 1, 3)
    assert metrics["seconds"] >= 0 and metrics["interrupted"] is False
    assert metrics["sampler"]["steps"] == 4 and metrics["sampler"]["evaluations_per_sample"] == 4  # one call a step
    # the modes of the ring, measured on the written samples, as `train toy` reports them
    expected = divergences.mode_coverage(torch.from_numpy(samples).double(), *data.toy_modes("ring8")).as_dict()
    expected = {k: None if v == float("inf") else v for k, v in expected.items() if k != "counts"}
    assert metrics["metrics"]["mode_coverage"] == pytest.approx(expected)
    assert {"modes_covered", "high_quality", "num_modes"} <= set(metrics["metrics"]["mode_coverage"])
    assert checkpoints.kind_of(out / "weights.pt") == CHECKPOINT_KIND[kind]
    info = checkpoints.load(out / "weights.pt", CHECKPOINT_KIND[kind])["info"]
    assert info["command"] == f"python -m gan_course train {kind} --data ring8 --steps 3 --seed 1 --out {out} --quiet"


def test_train_on_a_toy_without_modes_and_with_a_time_budget(tmp_path, capsys, tiny):
    out = tmp_path / "spiral"
    proc = run_main(capsys, "train", "flow", "--data", "spiral", "--minutes", "0.002", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "spiral" and metrics["steps"] >= 1
    assert "mode_coverage" not in metrics["metrics"] and metrics["metrics"]["kl_nats"] >= 0  # a spiral has no modes
    assert np.load(out / "samples.npy").shape == (2500, 2)


def test_the_toy_default_is_the_recipes_steps(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dr, "TOY_RECIPE", TINY.replace(steps=2))
    out = tmp_path / "run"
    assert run_main(capsys, "train", "diffusion", "--data", "grid25", "--out", str(out), "--quiet").returncode == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 2


def test_a_run_whose_samples_all_miss_the_data_still_writes_its_metrics():
    """A run of a few steps can put every sample far from the data: the grid's KL and JS are then
    undefined (null), and the run is written all the same (it used to fail after training)."""
    x_data = data.toy("grid25", 500, seed=0)  # (500, 2)
    far = torch.full((50, 2), 1e3)  # (50, 2) nowhere near the grid
    assert all(np.isnan(v) for v in dr._kl_js(x_data, far))
    kl, js = dr._kl_js(x_data, x_data.flip(0))
    assert abs(kl) < 1e-9 and abs(js) < 1e-9  # the same points: no divergence


@pytest.mark.parametrize("argv, needles", [
    (["diffusion", "--data", "mix1d"], ["--data", "'mix1d'", "ring8, grid25, spiral", "mnist"]),
    (["flow", "--data", "gauss1d", "--steps", "3"], ["--data", "'gauss1d'"]),
    (["flow", "--data", "swissroll"], ["--data", "invalid choice: 'swissroll'", "ring8"]),
    (["flow", "--data", "ring8", "--steps", "0"], ["--steps must be a positive int, got 0"]),
    (["diffusion", "--data", "ring8", "--steps", "-4"], ["--steps must be a positive int, got -4"]),
    (["diffusion", "--data", "ring8", "--minutes", "-1"], ["--minutes must be a positive number, got -1.0"]),
    (["flow", "--minutes", "0"], ["--minutes must be a positive number, got 0.0"]),
    (["flow", "--steps", "5"], ["--steps is for the 2-D toys", "--steps 5"]),
    (["flow", "--data", "mnist", "--steps", "5"], ["--steps is for the 2-D toys"]),
    (["diffusion", "--data", "ring8", "--loss", "hinge"], ["--loss is for the GANs"]),
    (["diffusion", "--data", "ring8", "--seed", "-1"], ["--seed must be", "-1"]),
])
def test_bad_train_settings_are_one_line_errors_and_write_nothing(tmp_path, capsys, argv, needles):
    proc = run_main(capsys, "train", *argv, "--out", str(tmp_path / "run"), "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
    missing = [needle for needle in needles if needle not in proc.stderr]
    assert not missing, f"the error does not name {missing}: {proc.stderr!r}"
    assert list(tmp_path.iterdir()) == []


def test_train_on_a_toy_needs_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = run_main(capsys, "train", "flow", "--data", "ring8", "--steps", "1")
    assert proc.returncode == 2 and "train flow needs --out DIR" in proc.stderr and list(tmp_path.iterdir()) == []


# ---- sample --weights <diffusion | flow | dcgan-sc> [--steps K] -----------------------------


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_sample_from_toy_weights_follows_steps_and_seed(tmp_path, capsys, tiny, kind):
    weights = toy_weights(tmp_path, kind)

    def draw(*options):
        out = tmp_path / f"x{len(list(tmp_path.glob('x*.npy')))}.npy"
        proc = run_main(capsys, "sample", "--weights", str(weights), "--n", "7", *options, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["kind"] == kind
        return np.load(out)

    two = draw("--steps", "2", "--seed", "3")
    assert two.shape == (7, 2) and two.dtype == np.float32  # the format of `train toy`'s samples
    model = dr.load_model(weights, kind)  # the weights' own sampler, two steps, seed 3
    np.testing.assert_array_equal(two, model.sample(7, steps=2, seed=3).numpy())
    assert np.array_equal(draw("--steps", "2", "--seed", "3"), two)  # same seed, same samples
    assert not np.allclose(draw("--steps", "1", "--seed", "3"), two)  # the steps change the samples
    assert not np.allclose(draw("--steps", "2", "--seed", "4"), two)  # so does the seed
    np.testing.assert_array_equal(draw("--seed", "3"), draw("--steps", "4", "--seed", "3"))  # default: the run's 4


@pytest.mark.parametrize("kind", ["diffusion", "flow"])
def test_sample_from_shipped_digit_weights_writes_uint8_digits_and_a_grid(tmp_path, capsys, monkeypatch, kind):
    monkeypatch.delenv("GAN_COURSE_WEIGHTS", raising=False)
    weights = scoreboard.shipped_path(kind)
    outs = []
    for steps in ("2", "3"):
        outs.append(tmp_path / f"digits{steps}.npy")
        proc = run_main(capsys, "sample", "--weights", str(weights), "--n", "3", "--steps", steps, "--seed", "1",
                        "--out", str(outs[-1]))
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == {"out": str(outs[-1]), "n": 3, "kind": kind, "steps": int(steps)}
    two, three = np.load(outs[0]), np.load(outs[1])
    assert two.shape == (3, 28, 28) and two.dtype == np.uint8  # the format of `train dcgan`'s samples
    assert not np.array_equal(two, three)
    png = tmp_path / "digits.png"
    assert run_main(capsys, "sample", "--weights", str(weights), "--n", "4", "--steps", "2", "--out",
                    str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_from_dcgan_sc_weights(tmp_path, capsys, dcgan_sc_weights):
    out = tmp_path / "sc.npy"
    proc = run_main(capsys, "sample", "--weights", str(dcgan_sc_weights), "--n", "6", "--seed", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"out": str(out), "n": 6, "kind": "dcgan-sc"}
    x = np.load(out)
    assert x.shape == (6, 28, 28) and x.dtype == np.uint8
    expected, _ = sc.load(dcgan_sc_weights).sample(6, seed=2)  # (6, 1, 28, 28) in [-1, 1]
    np.testing.assert_array_equal(x, recipes.to_uint8(expected))
    proc = run_main(capsys, "sample", "--weights", str(dcgan_sc_weights), "--steps", "1", "--out", str(tmp_path / "y.npy"))
    assert proc.returncode == 2 and "--steps" in proc.stderr and "dcgan-sc" in proc.stderr
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("which, options, needles", [
    ("flow", ["--steps", "0"], ["--steps must be a positive int, got 0"]),
    ("diffusion", ["--steps", "-2"], ["--steps must be a positive int, got -2"]),
    ("flow", ["--n", "0"], ["n must be a positive int, got 0"]),
    ("flow", ["--seed", "-1"], ["--seed", "-1"]),
    ("flow", ["--digit", "3"], ["flow takes no digit"]),
    ("flow", ["--png"], ["--out", "points (N, 2)", ".npy"]),
    ("aae", ["--steps", "10"], ["--steps", "aae", "one network call", "--steps 10"]),
    ("dcgan", [], ["'gan_weights'", "diffusion, flow, dcgan-sc"]),
    ("classifier", ["--steps", "3"], ["holds a 'classifier' checkpoint", "diffusion, flow, dcgan-sc"]),
    ("missing", [], ["--weights", "missing.pt", "no such file"]),
])
def test_bad_sample_settings_are_one_line_errors_and_write_nothing(tmp_path, capsys, tiny, which, options, needles):
    if which in ("flow", "diffusion"):
        weights = toy_weights(tmp_path, which)
    elif which == "classifier":
        weights = config.assets_dir() / "models" / "mnist_classifier.pt"
    else:
        weights = tmp_path / "missing.pt" if which == "missing" else config.assets_dir() / "models" / f"{which}_mnist.pt"
    suffix = ".png" if "--png" in options else ".npy"
    out = tmp_path / f"out{suffix}"
    options = [o for o in options if o != "--png"]
    proc = run_main(capsys, "sample", "--weights", str(weights), *options, "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stdout == ""
    missing = [needle for needle in needles if needle not in proc.stderr]
    assert not missing, f"the error does not name {missing}: {proc.stderr!r}"
    assert not out.exists()


# ---- scoreboard [--json] ----------------------------------------------------------------------


def fake_rows(calls):
    def rows(**kwargs):
        calls.append(kwargs)
        return [{"model": "real digits", "bits_per_dim": None, "classifier_score": 9.5, "fid": 0.0, "precision": 0.8,
                 "recall": 0.8, "network_evaluations_per_sample": None},
                {"model": "Bernoulli mixture K=50 (EM)", "bits_per_dim": 0.2, "classifier_score": float("nan"),
                 "fid": float("inf"), "precision": 0.5, "recall": 0.25, "network_evaluations_per_sample": 1}]
    return rows


def test_scoreboard_json_is_one_strict_json_list_and_progress_goes_to_stderr(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(scoreboard, "rows", fake_rows(calls))
    proc = run_main(capsys, "scoreboard", "--json", "--train", "--minutes", "2", "--seed", "3", "--iw-samples", "7",
                    "--components", "5")
    assert proc.returncode == 0, proc.stderr
    assert calls == [{"train": True, "minutes": 2.0, "seed": 3, "progress": True, "mixture_components": 5,
                      "iw_samples": 7}]
    assert "NaN" not in proc.stdout and "Infinity" not in proc.stdout and proc.stdout.count("\n") == 1
    table = json.loads(proc.stdout)
    assert [r["model"] for r in table] == ["real digits", "Bernoulli mixture K=50 (EM)"]
    assert table[1]["classifier_score"] is None and table[1]["fid"] is None and table[1]["bits_per_dim"] == 0.2
    assert "scoreboard" in proc.stderr  # progress, for a person
    proc = run_main(capsys, "scoreboard", "--quiet")  # the table, for a person; defaults passed on
    assert proc.returncode == 0 and proc.stderr == ""
    assert calls[-1] == {"train": False, "minutes": 10.0, "seed": 0, "progress": False, "mixture_components": 50,
                         "iw_samples": None}
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("model") and lines[2].startswith("Bernoulli mixture K=50") and "—" in lines[1]


@pytest.mark.parametrize("argv, needles", [
    (["--minutes", "3"], ["--minutes", "--train", "3"]),
    (["--train", "--minutes", "0"], ["--minutes must be a positive number, got 0.0"]),
    (["--seed", "-1"], ["--seed", "-1"]),
    (["--components", "1"], ["--components", "1"]),
    (["--iw-samples", "0"], ["--iw-samples must be a positive int, got 0"]),
])
def test_bad_scoreboard_settings_are_refused_before_any_work(capsys, monkeypatch, argv, needles):
    calls = []
    monkeypatch.setattr(scoreboard, "rows", fake_rows(calls))
    proc = run_main(capsys, "scoreboard", "--json", *argv)
    assert proc.returncode == 2 and calls == [] and proc.stdout == "" and "Traceback" not in proc.stderr
    assert all(needle in proc.stderr for needle in needles), proc.stderr


def test_scoreboard_reports_a_weights_folder_without_the_models(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_WEIGHTS", str(tmp_path))  # an empty folder: nothing to measure
    monkeypatch.setattr(scoreboard, "reference_row", lambda: {"model": "real digits"})
    monkeypatch.setattr(scoreboard, "density_rows", lambda seed, k: [])
    proc = run_main(capsys, "scoreboard", "--json", "--quiet")
    assert proc.returncode == 2 and "GAN_COURSE_WEIGHTS" in proc.stderr and "holds no" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.slow  # about 25 s on one thread: the real digits, two density fits, every shipped model's 1,000 samples
def test_scoreboard_json_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GAN_COURSE_WEIGHTS"}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([sys.executable, "-m", "gan_course", "scoreboard", "--json", "--iw-samples", "20"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(proc.stdout)  # stdout: exactly one JSON list
    assert isinstance(table, list) and all(isinstance(row, dict) for row in table)
    by_name = {row["model"]: row for row in table}
    assert table[0]["model"].startswith("real digits") and table[0]["bits_per_dim"] is None
    for name in ("naive Bayes (independent pixels)", "Bernoulli mixture K=50 (EM)",
                 "VAE (importance-weighted bound, k=20)"):
        assert isinstance(by_name[name]["bits_per_dim"], float) and 0 < by_name[name]["bits_per_dim"] < 1
    assert by_name["Bernoulli mixture K=50 (EM)"]["bits_per_dim"] < by_name["naive Bayes (independent pixels)"]["bits_per_dim"]
    for name in ("DCGAN", "WGAN-GP", "flow matching on the VAE's codes", "diffusion (DDPM) on the VAE's codes"):
        assert by_name[name]["bits_per_dim"] is None  # no likelihood: null, not a number
    for row in table:
        assert isinstance(row["classifier_score"], float) and isinstance(row["fid"], float) and row["fid"] >= 0
    assert table[0]["fid"] == min(row["fid"] for row in table)  # real against real: the floor of FID
    assert by_name["DCGAN"]["network_evaluations_per_sample"] == 1 and table[0]["network_evaluations_per_sample"] is None
    assert "scoreboard" in proc.stderr


# ---- the shipped weights honour GAN_COURSE_WEIGHTS -------------------------------------------


def test_scoreboard_shipped_path_reads_the_weights_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("GAN_COURSE_WEIGHTS", raising=False)
    assert scoreboard.shipped_path("flow") == config.assets_dir() / "models" / "flow_mnist.pt"
    shutil.copyfile(scoreboard.shipped_path("flow"), tmp_path / "flow_mnist.pt")
    monkeypatch.setenv("GAN_COURSE_WEIGHTS", str(tmp_path))
    assert scoreboard.shipped_path("flow") == tmp_path / "flow_mnist.pt"
    with pytest.raises(FileNotFoundError, match="GAN_COURSE_WEIGHTS=.* holds no diffusion_mnist.pt"):
        scoreboard.shipped_path("diffusion")  # never a silent fall-back to the shipped file
    with pytest.raises(ValueError, match="kind must be one of 'flow', 'diffusion'; got 'gan'"):
        scoreboard.shipped_path("gan")


def test_self_conditioned_pretrained_path_reads_the_weights_folder(tmp_path, monkeypatch, dcgan_sc_weights):
    monkeypatch.delenv("GAN_COURSE_WEIGHTS", raising=False)
    assert sc.pretrained_path() == config.assets_dir() / "models" / "dcgan-sc_mnist.pt"
    folder = tmp_path / "term1"
    folder.mkdir()
    monkeypatch.setenv("GAN_COURSE_WEIGHTS", str(folder))
    with pytest.raises(FileNotFoundError, match="GAN_COURSE_WEIGHTS=.* holds no dcgan-sc_mnist.pt"):
        sc.pretrained_path()
    shutil.copyfile(dcgan_sc_weights, folder / "dcgan-sc_mnist.pt")
    assert sc.pretrained_path() == folder / "dcgan-sc_mnist.pt"
    model = sc.load()  # no path: the folder's weights
    assert model.trainer.global_step == 1 and model.num_clusters == 3


def test_sample_from_the_shipped_stylegan_weights(tmp_path, capsys, monkeypatch):
    from gan_course import stylegan

    monkeypatch.delenv("GAN_COURSE_WEIGHTS", raising=False)
    weights, out = stylegan.pretrained_path(), tmp_path / "style.npy"
    proc = run_main(capsys, "sample", "--weights", str(weights), "--n", "5", "--seed", "3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kind"] == "stylegan"
    x = np.load(out)
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8
    expected, _ = stylegan.load(weights).sample(5, seed=3)
    np.testing.assert_array_equal(x, recipes.to_uint8(expected))
    proc = run_main(capsys, "sample", "--weights", str(weights), "--steps", "2", "--out", str(tmp_path / "y.npy"))
    assert proc.returncode == 2 and "--steps" in proc.stderr and "stylegan" in proc.stderr
