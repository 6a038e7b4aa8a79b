"""The course scoreboard (scoreboard): the rows' fields, naive Bayes' bits/dim against a closed
form, the real reference, the latent rows on a tiny model, the text table, bad input."""

import json
import math

import numpy as np
import pytest
from gan_course import data, denoising_runs as dr, scoreboard

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.filterwarnings("ignore:evaluating")]

FIELDS = {"model", "family", "bits_per_dim", *scoreboard.METRICS, "network_evaluations_per_sample", "samples",
          "source", "seconds"}


def test_a_row_without_samples_has_every_field_and_is_json():
    row = scoreboard._row("m", "likelihood", 1.25, None, (0, 1), "here", None, 0.04, "none")
    assert set(row) == FIELDS and row["bits_per_dim"] == 1.25 and row["seconds"] == 0.0
    assert all(row[name] is None for name in scoreboard.METRICS)
    assert json.loads(json.dumps(row)) == row


@pytest.mark.slow  # about 10 s: the classifier's features of 2,000 digits
def test_the_reference_row_is_real_digits_near_the_metrics_ceiling():
    row = scoreboard.reference_row()
    assert set(row) == FIELDS and row["family"] == "data" and row["bits_per_dim"] is None
    assert row["classifier_score"] > 9 and row["precision"] > 0.7 and row["recall"] > 0.7
    assert row["fid"] >= 0


def test_naive_bayes_bits_per_dim_matches_the_closed_form(monkeypatch):
    monkeypatch.setattr(scoreboard, "NUM_SAMPLES", 50)
    nb, mixture = scoreboard.density_rows(seed=0, mixture_components=2)
    x, _ = data.mnist("train", source="bundled", binarize=True)
    x_test, _ = data.mnist("test", source="bundled", binarize=True)
    flat, flat_test = x.flatten(1).double().numpy(), x_test.flatten(1).double().numpy()
    theta = (flat.sum(0) + 1) / (len(flat) + 2)  # Laplace smoothing, alpha = 1
    log_p = flat_test @ np.log(theta) + (1 - flat_test) @ np.log1p(-theta)
    assert nb["bits_per_dim"] == pytest.approx(-log_p.mean() / (784 * math.log(2)), rel=1e-6)
    assert mixture["model"] == "Bernoulli mixture K=2 (EM)"
    assert mixture["bits_per_dim"] < nb["bits_per_dim"]  # two components fit better than one
    for row in (nb, mixture):
        assert set(row) == FIELDS and row["family"] == "likelihood" and row["network_evaluations_per_sample"] == 1


@pytest.mark.slow  # about 10 s: a VAE's bound on the 1,000 test digits
def test_latent_rows_report_the_bound_and_the_sampler_cost(monkeypatch, tmp_path):
    monkeypatch.setattr(scoreboard, "NUM_SAMPLES", 20)
    recipe = dr.LatentRecipe(latent_dim=4, vae_steps=3, model=dr.TOY_RECIPE.replace(
        width=16, depth=1, octaves=0, batch_size=64, steps=3, sample_steps=4))
    latent, _ = dr.train_latent("flow", seed=0, recipe=recipe, progress=False)
    vae_row, flow_row = scoreboard.latent_rows({"flow": latent}, iw_samples=2)
    assert vae_row["model"] == "VAE (importance-weighted bound, k=2)" and vae_row["bits_per_dim"] > 0
    assert flow_row["bits_per_dim"] is None and flow_row["network_evaluations_per_sample"] == 4 + 1
    assert all(isinstance(flow_row[name], float) for name in ("classifier_score", "fid", "precision", "recall"))


def test_the_text_table_shows_missing_numbers_as_dashes():
    rows = [scoreboard._row("a model", "GAN", None, None, (0, 1), "here", 1, 0.0, "x"),
            {**scoreboard._row("another", "likelihood", 0.1234, None, (0, 1), "here", 1, 0.0, "x"),
             "classifier_score": 8.5, "fid": 12.34, "precision": 0.5, "recall": 0.25}]
    lines = scoreboard.format_table(rows).splitlines()
    assert len(lines) == 3 and lines[0].startswith("model")
    assert lines[1].split()[-6:] == ["—", "—", "—", "—", "—", "1"]
    assert lines[2].split()[-6:] == ["0.1234", "8.50", "12.3", "0.500", "0.250", "1"]


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="train"):
        scoreboard.rows(train="yes")
    with pytest.raises(ValueError, match="minutes"):
        scoreboard.rows(minutes=0)
    with pytest.raises(ValueError, match="seed"):
        scoreboard.rows(seed=-1)
    with pytest.raises(ValueError, match="mixture_components"):
        scoreboard.rows(mixture_components=1)
    with pytest.raises(ValueError, match="iw_samples"):
        scoreboard.latent_rows({"flow": None}, iw_samples=0)


def test_shipped_paths_name_the_kind():
    assert scoreboard.shipped_path("flow").name == "flow_mnist.pt"
    assert scoreboard.shipped_path("diffusion").name == "diffusion_mnist.pt"
