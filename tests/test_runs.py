"""gan_course.runs: what a training run leaves in its folder (samples, history, checkpoint, metrics,
weights), strict JSON, the toy metrics against closed forms, and the refusals before any work."""

import json
import math

import numpy as np
import pytest
import torch

from gan_course import checkpoints, data, nets, recipes, runs, train

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {kind: r.replace(width_g=4, width_d=4, latent_dim=8) for kind, r in recipes.IMAGE_RECIPES.items()}


def small_trainer():
    torch.manual_seed(0)
    return train.GANTrainer(nets.MLPGenerator(latent_dim=2, out_dim=1, width=8), nets.MLPDiscriminator(1, width=8),
                            data.toy("mix1d", 256, seed=0), device="cpu", batch_size=32)


# ---- JSON and the run folder ---------------------------------------------------------------------


def test_history_json_is_strict():
    t = small_trainer()
    t.step_d()
    text = runs.history_to_json(t.history)
    assert "NaN" not in text and "null" in text
    back = json.loads(text)
    assert back["g_loss"] == [None] and back["d_loss"] == [t.history["d_loss"][0]]  # D moved, G did not


def test_write_json_writes_indented_strict_json_with_null_for_nan_and_inf(tmp_path):
    path = runs.write_json(tmp_path / "m.json", {"a": math.nan, "b": [1.0, math.inf, -math.inf], "c": {"d": 2},
                                                 "e": (3, "x")})
    text = path.read_text()
    assert json.loads(text) == {"a": None, "b": [1.0, None, None], "c": {"d": 2}, "e": [3, "x"]}
    assert "NaN" not in text and "Infinity" not in text and text.startswith("{\n  ")
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_write_run_writes_samples_history_and_a_checkpoint_that_resumes(tmp_path):
    t = small_trainer()
    t.fit(steps=3, progress=False)
    samples = np.arange(6, dtype=np.float32).reshape(3, 2)
    out = runs.write_run(tmp_path / "a" / "run", t, samples)
    assert out == tmp_path / "a" / "run"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json", "samples.npy"]
    np.testing.assert_array_equal(np.load(out / "samples.npy"), samples)
    assert json.loads((out / "history.json").read_text())["step"] == [1.0, 2.0, 3.0]
    state = checkpoints.load(out / "checkpoint.pt", "gan_trainer")
    assert state["counters"]["global_step"] == 3


# ---- toy runs ------------------------------------------------------------------------------------


def test_toy_metrics_report_mode_coverage_for_the_2d_mixtures():
    centers, std = data.toy_modes("grid25")
    on_modes = torch.cat([centers.repeat(3, 1), torch.full((25, 2), 9.0)])  # 3 per mode, 25 far away
    m = runs.toy_metrics("grid25", on_modes)["mode_coverage"]
    assert (m["modes_covered"], m["num_modes"]) == (25, 25) and m["high_quality"] == pytest.approx(0.75)
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert runs.toy_metrics("grid25", torch.full((10, 2), 9.0))["mode_coverage"]["reverse_kl"] is None
    assert "mode_coverage" not in runs.toy_metrics("mix1d", torch.zeros(10, 1))


def test_toy_metrics_in_1d_are_js_and_kl_on_a_grid_and_the_mean_log_density():
    good = data.toy("mix1d", 4000, seed=1)
    m = runs.toy_metrics("mix1d", good)
    assert set(m) == {"mean_log_prob_data", "js_nats", "kl_nats"}
    # the mean log-density of the samples under the mixture of N(-3, 0.25), N(0, 0.25), N(3, 0.25)
    x = good.double()[:, 0]
    p = sum(torch.exp(-0.5 * ((x - c) / 0.5) ** 2) for c in (-3.0, 0.0, 3.0)) / (3 * 0.5 * math.sqrt(2 * math.pi))
    assert m["mean_log_prob_data"] == pytest.approx(float(p.log().mean()), rel=1e-4)
    assert m["js_nats"] < 0.01 and m["kl_nats"] < 0.02  # samples of the data itself
    bad = runs.toy_metrics("mix1d", torch.zeros(500, 1) + 0.5 * torch.randn(500, 1))  # one mode of three
    assert bad["js_nats"] > 0.2 and bad["kl_nats"] > 1.0 and "mode_coverage" not in bad
    assert runs.toy_metrics("spiral", torch.zeros(10, 2)) == {}  # no closed-form density: nothing to measure


def test_train_toy_refuses_non_positive_steps(tmp_path):
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        runs.train_toy("gauss1d", tmp_path / "x", steps=0, device="cpu", progress=False)


def test_train_toy_writes_a_run_whose_metrics_are_what_it_returns(tmp_path):
    result = runs.train_toy("gauss1d", tmp_path / "run", steps=3, seed=2, device="cpu", progress=False)
    out = tmp_path / "run"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json", "metrics.json", "samples.npy"]
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(result))
    assert (result["data"], result["steps"], result["seed"], result["loss"]) == ("gauss1d", 3, 2, "nonsaturating")
    samples = np.load(out / "samples.npy")
    assert samples.shape == (runs.NUM_TOY_SAMPLES, 1) and samples.dtype == np.float32
    assert len(json.loads((out / "history.json").read_text())["g_loss"]) == 3
    assert set(result["final"]) == {"d_loss", "g_loss", "d_real", "d_fake"}
    trainer = recipes.toy_trainer("gauss1d", seed=2, device="cpu").load(out / "checkpoint.pt")
    np.testing.assert_array_equal(trainer.sample(runs.NUM_TOY_SAMPLES, seed=2).numpy(), samples)


# ---- image runs ----------------------------------------------------------------------------------


def test_train_image_refuses_bad_minutes_and_unknown_kinds_before_writing_anything(tmp_path):
    for minutes in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="minutes must be a positive number"):
            runs.train_image("dcgan", tmp_path / "x", minutes=minutes, device="cpu")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="kind must be one of 'dcgan', 'cgan', 'wgan-gp'; got 'vae'"):
        runs.train_image("vae", tmp_path / "x", steps=1)


def test_train_image_writes_the_run_folder_and_its_checkpoint_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setitem(recipes.IMAGE_RECIPES, "dcgan", TINY["dcgan"])
    summary, trainer, x_fake, y = runs.train_image("dcgan", tmp_path, steps=2, device="cpu", progress=False)
    assert summary["steps"] == 2 and y is None
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (1000, 28, 28) and samples.dtype == np.uint8
    assert len(json.loads((tmp_path / "history.json").read_text())["g_loss"]) == 2
    resumed = recipes.image_trainer("dcgan", device="cpu").load(tmp_path / "checkpoint.pt")
    trainer.step()
    resumed.step()
    assert resumed.history["g_loss"][-1] == trainer.history["g_loss"][-1]


# ---- the output folder -----------------------------------------------------------------------------


def test_check_output_folder_refuses_files_runs_and_empty_names_before_any_work(tmp_path):
    assert runs.check_output_folder(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert runs.check_output_folder(tmp_path / "empty") == tmp_path / "empty"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        runs.check_output_folder(tmp_path / "file")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "samples.npy").write_text("x")
    with pytest.raises(ValueError, match=r"already holds a run \(1 entries\); pass --force"):
        runs.check_output_folder(tmp_path / "run")
    assert runs.check_output_folder(tmp_path / "run", force=True) == tmp_path / "run"
    for bad in ("", "  ", None):
        with pytest.raises(ValueError, match="out must be a folder path"):
            runs.check_output_folder(bad)


def test_output_folder_puts_a_finished_run_in_place_and_a_failed_one_nowhere(tmp_path):
    out = tmp_path / "run"
    with runs.output_folder(out) as folder:
        assert folder != out and folder.parent == tmp_path and not out.exists()  # written aside first
        (folder / "a.txt").write_text("first")
    assert (out / "a.txt").read_text() == "first" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with pytest.raises(RuntimeError, match="boom"):
        with runs.output_folder(out, force=True) as folder:
            (folder / "a.txt").write_text("second")
            raise RuntimeError("boom")
    assert (out / "a.txt").read_text() == "first" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with runs.output_folder(out, force=True) as folder:
        (folder / "b.txt").write_text("third")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]  # the old run is replaced, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
