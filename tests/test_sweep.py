"""gan_course.sweep: the grid, the runs, the table, and the quick quality of a trainer's samples."""

import math

import pytest
import torch

from gan_course import data, metrics, recipes, sweep

TINY = recipes.IMAGE_RECIPES["wgan-gp"].replace(width_g=4, width_d=4, latent_dim=8, batch_size=8, d_steps=1)


# ---- the sweep --------------------------------------------------------------------------------


def test_grid_settings_order_and_errors():
    assert sweep.grid_settings({"gp_weight": [1.0, 10.0]}) == [{"gp_weight": 1.0}, {"gp_weight": 10.0}]
    assert len(sweep.grid_settings({"lr": [1, 2, 3], "d_steps": [1, 5]})) == 6
    with pytest.raises(ValueError, match="grid key 'learning_rate' is not a setting"):
        sweep.grid_settings({"learning_rate": [1e-3]})
    with pytest.raises(ValueError, match=r"grid\['d_steps'\] must be a non-empty list"):
        sweep.grid_settings({"d_steps": []})
    with pytest.raises(ValueError, match="non-empty list"):
        sweep.grid_settings({"loss": "wgan_gp"})
    with pytest.raises(ValueError, match="one or the other"):
        sweep.grid_settings({"lr": [1e-4], "lr_d": [1e-3]})
    with pytest.raises(ValueError, match="non-empty dict"):
        sweep.grid_settings({})


def test_sweep_applies_each_setting(one_thread):
    seen = []

    def evaluate(trainer):
        seen.append(trainer.config)
        return {"score": float(trainer.config.lr_d)}

    results = sweep.sweep("wgan-gp", {"lr": [1e-4, 1e-3], "d_steps": [1, 2], "optimizer": ["adam"]}, steps=2,
                          device="cpu", evaluate=evaluate, recipe=TINY, num_samples=4)
    assert [(r["lr"], r["d_steps"]) for r in results] == [(1e-4, 1), (1e-4, 2), (1e-3, 1), (1e-3, 2)]
    assert [(c.lr_d, c.lr_g, c.d_steps) for c in seen] == [(1e-4, 1e-4, 1), (1e-4, 1e-4, 2),
                                                            (1e-3, 1e-3, 1), (1e-3, 1e-3, 2)]
    assert all(c.loss == "wgan_gp" and c.seed == 0 for c in seen)
    for r in results:
        assert r["steps"] == 2 and not r["diverged"] and r["score"] == r["lr"]
        assert math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"])
        assert r["samples"].shape == (4, 1, 28, 28) and r["samples"].abs().max() <= 1


def test_sweep_same_seed_same_run_and_a_number_is_quality(one_thread):
    results = sweep.sweep("wgan-gp", {"gp_weight": [10.0, 10.0, 0.0]}, steps=2, device="cpu", recipe=TINY,
                          num_samples=4, evaluate=lambda t: 0.5)
    assert torch.equal(results[0]["samples"], results[1]["samples"])  # same seed: the very same run
    assert results[0]["d_loss"] == results[1]["d_loss"]
    assert results[0]["d_loss"] != results[2]["d_loss"]  # the penalty is in the critic's loss
    assert [r["quality"] for r in results] == [0.5, 0.5, 0.5]


def test_sweep_records_a_diverged_run(one_thread):
    results = sweep.sweep("wgan-gp", {"loss": ["wasserstein"], "lr": [1e38]}, steps=20, device="cpu",
                          recipe=TINY, num_samples=4, evaluate=lambda t: 1 / 0)
    assert results[0]["diverged"] and results[0]["steps"] < 20
    assert "quality" not in results[0]  # evaluate is not called on a diverged run


def test_sweep_bad_input():
    with pytest.raises(ValueError, match="kind must be one of"):
        sweep.sweep("wgan", {"lr": [1e-4]}, steps=1)
    with pytest.raises(ValueError, match="steps must be a positive int, got 0"):
        sweep.sweep("wgan-gp", {"lr": [1e-4]}, steps=0)
    with pytest.raises(ValueError, match="evaluate must be a function"):
        sweep.sweep("wgan-gp", {"lr": [1e-4]}, steps=1, evaluate=3.0)
    with pytest.raises(ValueError, match="multiple of 10"):
        sweep.sweep("cgan", {"lr": [1e-4]}, steps=1, num_samples=16)


def test_format_table_lines_up_the_columns_drops_samples_and_fills_missing_keys():
    rows = [{"lr": 1e-4, "d_loss": -1.23456, "diverged": False, "samples": torch.zeros(1)},
            {"lr": 1e-3, "d_loss": math.nan, "diverged": True, "samples": torch.zeros(1), "score": 9.1}]
    table = sweep.format_table(rows)
    lines = table.splitlines()
    assert lines[0].split() == ["lr", "d_loss", "diverged", "score"]
    assert lines[1].split() == ["0.0001", "-1.23", "False", "None"]
    assert lines[2].split() == ["0.001", "nan", "True", "9.1"]
    assert "samples" not in table
    assert sweep.format_table([]) == "(no runs)"


def test_quick_quality_with_a_given_classifier(one_thread):
    from gan_course.classifier import MNISTClassifier

    torch.manual_seed(0)
    model = MNISTClassifier().eval()
    trainer = recipes.image_trainer("wgan-gp", device="cpu", recipe=TINY)
    out = sweep.quick_quality(trainer, n=50, classifier_model=model)
    assert set(out) == {"score", "fid"}
    assert 1.0 <= out["score"] <= 10.0 and out["fid"] > 0
    # the same numbers by hand: 50 samples of seed 0, mapped to [0, 1], through the given classifier
    x = (recipes.sample_images(trainer, 50, seed=0)[0] + 1) / 2
    x_test, _ = data.mnist("test", source="bundled")
    with torch.no_grad():
        feats, test_feats = model.features(x), model.features(x_test)
        probs = model.head(feats).softmax(dim=1)
    assert out["score"] == pytest.approx(metrics.classifier_score(probs), rel=1e-5)
    assert out["fid"] == pytest.approx(metrics.fid_from_features(feats, test_feats), rel=1e-4)
    assert sweep.quick_quality(trainer, n=50, classifier_model=model) == out  # fixed seed: repeatable
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        sweep.quick_quality(trainer, n=0, classifier_model=model)
