"""What the applications' runs share: argument checks, the weights file of each kind, the budget."""

import json
import time

import numpy as np
import pytest
import torch

from gan_course import app_runs, checkpoints


def test_checks_of_run_and_sample_arguments():
    assert app_runs.check_run(0.5, 3, False) == (30.0, 3, False)
    assert app_runs.check_sample(4, 0) == (4, 0)
    assert app_runs.check_digit(None) is None and app_runs.check_digit(np.int64(7)) == 7
    for bad, match in ((0, "minutes"), (float("nan"), "minutes")):
        with pytest.raises(ValueError, match=match):
            app_runs.check_run(bad, 0, True)
    with pytest.raises(ValueError, match="progress must be True or False"):
        app_runs.check_run(1, 0, "yes")
    for digit in (10, -1, 2.0, True):
        with pytest.raises(ValueError, match="digit must be an int from 0 to 9"):
            app_runs.check_digit(digit)
    with pytest.raises(ValueError, match="aae takes no digit, prompt"):
        app_runs.refuse("aae", digit=1, prompt="x", attribute=None)
    app_runs.refuse("aae", digit=None)


def test_weights_round_trip_in_half_precision_and_refuse_other_kinds(tmp_path):
    net = torch.nn.Linear(3, 2)
    path = app_runs.save_weights(tmp_path / "w.pt", "superres", {"model": app_runs.half(net)})
    payload = app_runs.load_weights(path, "superres")
    assert payload["kind"] == "superres" and payload["model"]["weight"].dtype == torch.float16
    other = app_runs.load_state(torch.nn.Linear(3, 2), payload["model"], "test net")
    torch.testing.assert_close(other.weight, net.weight, atol=1e-3, rtol=1e-3)
    assert other.weight.dtype == torch.float32 and not other.training
    with pytest.raises(ValueError, match="weights_path: .*'superres_weights' checkpoint, but a 'aae_weights'"):
        app_runs.load_weights(path, "aae")
    with pytest.raises(ValueError, match="different test net architecture"):
        app_runs.load_state(torch.nn.Linear(4, 2), payload["model"], "test net")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights_path: .*not a course checkpoint"):
        app_runs.load_weights(tmp_path / "junk.pt", "aae")
    assert checkpoints.kind_of(path) == "superres_weights"


def test_budget_by_time_and_by_steps():
    by_time = app_runs.Budget(10.0)
    assert by_time.baseline(0.2, 50, 600) == (50, 2.0)
    steps, seconds = by_time.gan()
    assert steps is None and 9 < seconds <= 10
    by_steps = app_runs.Budget(10.0, steps=30, baseline_steps=7)
    assert by_steps.baseline(0.2, 50, 600)[0] == 7 and by_steps.gan()[0] == 30
    assert app_runs.Budget(10.0, steps=30).baseline(0.2, None, 600)[0] == 600
    time.sleep(0.01)
    report = by_steps.report()
    assert report["seconds"] >= 0 and report["cpu_seconds"] >= 0 and "load_average" in report
    with pytest.raises(ValueError, match="steps must be a positive int"):
        app_runs.Budget(1.0, steps=0)


def test_to_uint8_and_write_npy(tmp_path):
    x = torch.tensor([0.0, 0.5, 1.0, 1.2]).view(1, 1, 2, 2)
    assert app_runs.to_uint8(x).tolist() == [[[0, 128], [255, 255]]]
    path = app_runs.write_npy(tmp_path / "a.npy", np.arange(3))
    assert np.load(path).tolist() == [0, 1, 2]


# --------------------------------------------------------------------------------------------
# `python -m gan_course train semi|text2digit|aae|superres`
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind, extra, files", [
    ("semi", ["--labels", "20"], {"metrics.json", "weights.pt", "grid.png", "test_predictions.npy"}),
    ("text2digit", [], {"metrics.json", "weights.pt", "grid.png"}),
    ("aae", [], {"metrics.json", "weights.pt", "grid.png"}),
    ("superres", [], {"metrics.json", "weights.pt", "grid.png", "samples.npy", "baseline.npy"}),
])
def test_cli_trains_each_application_on_a_tiny_budget(tmp_path, capsys, one_thread, kind, extra, files):
    from gan_course import cli

    out = tmp_path / kind
    assert cli.main(["train", kind, "--minutes", "0.02", "--seed", "1", *extra, "--out", str(out), "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["out"] == str(out) and result["seed"] == 1
    assert {p.name for p in out.iterdir()} == files
    assert json.loads((out / "metrics.json").read_text())["kind"] == kind
    payload = app_runs.load_weights(out / "weights.pt", kind)
    command = " ".join(["python -m gan_course train", kind, "--minutes 0.02 --seed 1", *extra,
                        "--out", str(out), "--quiet"])
    assert payload["command"] == command
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if kind == "semi":
        predictions = np.load(out / "test_predictions.npy")
        assert predictions.shape == (1000,) and predictions.dtype == np.int64
        assert set(predictions.tolist()) <= set(range(10))
        assert payload["labels"] == 20
    if kind == "superres":
        for name in ("samples.npy", "baseline.npy"):
            x = np.load(out / name)
            assert x.shape == (1000, 28, 28) and x.dtype == np.uint8


@pytest.mark.parametrize("argv, message", [
    (["semi", "--labels", "15"], "labels must be a positive multiple of 10 (the same number per digit), got 15"),
    (["semi", "--labels", "0"], "labels must be a positive multiple of 10"),
    (["semi", "--labels", "5000"], "labels must be at most"),
    (["dcgan", "--labels", "100"], "--labels is for train semi (how many digits keep their label), not dcgan; "
                                   "got --labels 100"),
    (["aae", "--labels", "100"], "--labels is for train semi (how many digits keep their label), not aae; "
                                 "got --labels 100"),
    (["text2digit", "--steps", "5"], "--steps is for the GANs"),
    (["superres", "--minutes", "0"], "minutes must be a positive number, got 0.0"),
    (["superres", "--data", "ring8"], "trains on mnist; got --data 'ring8'"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    from gan_course import cli

    out = tmp_path / "runs" / "run"
    assert cli.main(["train", *argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_cli_refuses_an_unknown_kind(tmp_path, capsys):
    from gan_course import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "text2img", "--out", str(tmp_path / "run")])
    assert stop.value.code == 2 and "invalid choice: 'text2img'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    for kind in app_runs.KINDS:  # every application is a train kind
        assert cli.build_parser().parse_args(["train", kind, "--out", "x"]).kind == kind


# --------------------------------------------------------------------------------------------
# `python -m gan_course sample --weights PATH ...` on the shipped weights
# --------------------------------------------------------------------------------------------


def test_weights_kind_names_each_application_and_refuses_other_files(tmp_path):
    for kind in app_runs.KINDS:
        assert app_runs.weights_kind(app_runs.shipped_path(kind)) == kind
    gan = app_runs.shipped_path("dcgan")  # notebook 07's weights: a 'gan_weights' file
    with pytest.raises(ValueError, match="holds a 'gan_weights' checkpoint; the applications' samplers read"):
        app_runs.weights_kind(gan)
    with pytest.raises(ValueError, match="weights_path .*missing.pt': no such file"):
        app_runs.weights_kind(tmp_path / "missing.pt")


def test_cli_sample_writes_npy_and_png(tmp_path, capsys, one_thread):
    from gan_course import cli

    out = tmp_path / "sevens.npy"
    argv = ["sample", "--weights", str(app_runs.shipped_path("text2digit")), "--prompt", "a bold seven slanted right",
            "--n", "4", "--seed", "3", "--out", str(out)]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "n": 4, "kind": "text2digit"}
    x = np.load(out)
    assert x.shape == (4, 28, 28) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, app_runs.sample(app_runs.shipped_path("text2digit"), 4, seed=3,
                                                     prompt="a bold seven slanted right"))
    png = tmp_path / "ink.png"
    assert cli.main(["sample", "--weights", str(app_runs.shipped_path("aae")), "--attribute", "1.5", "--n", "20",
                     "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind, options, message", [
    ("aae", ["--prompt", "a seven"], "aae takes no prompt (given prompt='a seven')"),
    ("semi", ["--prompt", "a seven"], "semi takes no prompt"),
    ("aae", ["--attribute", "nan"], "attribute must be a finite number"),
    ("text2digit", ["--prompt", "a purple seven"],
     "prompt 'a purple seven': unknown word(s) 'purple'; the vocabulary is: a an zero one"),
    ("superres", ["--digit", "12"], "digit must be an int from 0 to 9"),
    ("superres", ["--n", "0"], "n must be a positive int"),
    ("dcgan", [], "holds a 'gan_weights' checkpoint"),
])
def test_cli_sample_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, kind, options, message):
    from gan_course import cli

    out = tmp_path / "x.npy"
    assert cli.main(["sample", "--weights", str(app_runs.shipped_path(kind)), *options, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_cli_sample_refuses_an_unknown_output_format(tmp_path, capsys):
    from gan_course import cli

    assert cli.main(["sample", "--weights", str(app_runs.shipped_path("aae")), "--out", str(tmp_path / "x.txt")]) == 2
    assert "--out must end in .npy" in capsys.readouterr().err and not (tmp_path / "x.txt").exists()
