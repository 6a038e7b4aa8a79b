"""Instructor checkpoints: `python -m gan_course pretrain` remakes the shipped files into a folder,
and GAN_COURSE_WEIGHTS makes the notebooks load from it — or says clearly why it cannot."""

import json

import pytest
import torch

from gan_course import checkpoints, cli, config, recipes
from gan_course.widgets.gan2d import GAN2DDashboard

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
def test_pretrain_writes_checkpoints_the_notebooks_then_load(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "PRETRAINED_2D_STEPS", 3)  # a few dashboard steps: this checks the plumbing
    out = tmp_path / "weights"
    monkeypatch.setattr(recipes, "IMAGE_RECIPES", {**recipes.IMAGE_RECIPES, "dcgan": recipes.IMAGE_RECIPES["dcgan"]
                                                   .replace(width_g=4, width_d=4, latent_dim=8)})
    assert cli.main(["pretrain", "--kinds", "dcgan", "gan2d", "--minutes", "0.01", "--out", str(out), "--quiet"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert written == ["dcgan_mnist.pt"] + [f"gan2d_{n}.pt" for n in ("ring8", "grid25", "spiral", "moons",
                                                                     "two_gaussians")]
    assert checkpoints.kind_of(out / "dcgan_mnist.pt") == "gan_weights"
    monkeypatch.setenv("GAN_COURSE_WEIGHTS", str(out))
    assert recipes.pretrained_path("dcgan") == out / "dcgan_mnist.pt"
    trainer = recipes.load_pretrained("dcgan", device="cpu")
    assert trainer.generator.latent_dim == 8  # the instructor's network, not the shipped one
    dash = GAN2DDashboard.pretrained("ring8", num_samples=100, grid_size=16, num_arrows=10)
    assert dash.trainer.global_step == 3


def test_gan_course_weights_that_is_not_a_folder_or_lacks_a_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_COURSE_WEIGHTS", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"GAN_COURSE_WEIGHTS=.*missing' is not a folder"):
        recipes.load_pretrained("dcgan", device="cpu")
    monkeypatch.setenv("GAN_COURSE_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"holds no gan2d_ring8.pt; make it with 'python -m gan_course pretrain"):
        GAN2DDashboard.pretrained("ring8")
    checkpoints.save(tmp_path / "dcgan_mnist.pt", "gan2d_state", {"x": torch.zeros(1)})  # a file of another kind
    with pytest.raises(ValueError, match="'gan2d_state' checkpoint, but a 'gan_weights'"):
        recipes.load_pretrained("dcgan", device="cpu")


def test_without_the_variable_the_shipped_files_are_used(monkeypatch):
    monkeypatch.delenv("GAN_COURSE_WEIGHTS", raising=False)
    assert config.weights_path("dcgan_mnist.pt") == config.assets_dir() / "models" / "dcgan_mnist.pt"


@pytest.mark.parametrize("argv, message", [
    (["--out", "x"], "name the checkpoints to make"),
    (["--all", "--minutes", "0", "--out", "x"], "minutes must be a positive number, got 0.0"),
])
def test_bad_pretrain_commands_are_one_line_errors(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["pretrain", *argv]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "x").exists()
