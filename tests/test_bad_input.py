"""Every bad input gets a clear error: one table across the API, the widgets and the command line.

Each case calls the package the way a student or an instructor might get it wrong and checks
the error's type and that its message names the argument and the value given (``needles``:
every string must appear in the message). The cases of the issue's probe are all here:
float64/integer data, NumPy integers, strings where numbers belong, values accepted silently
before (``binarize='no'``, ``seed=1.7``, a batch larger than the data, a negative std, a
dashboard's out-of-range learning rate), and the command line's ``--minutes -3`` and ``--out ''``.
"""

import math

import numpy as np
import pytest
import torch

from gan_course import (checkpoints, cli, config, data, density, divergences, latent, likelihoods, loop, losses,
                        metrics, recipes, runs, specs, sweep, train, vae, validate)
from gan_course.samplers import DeviceSampler

pytestmark = pytest.mark.usefixtures("one_thread")

X2 = torch.randn(64, 2)
BIN = (torch.rand(40, 1, 28, 28) > 0.5).float()


def mlp_trainer(**kw):
    g, d = specs.MLPSpec(latent_dim=2, width=8, depth=1).build(2)
    return train.GANTrainer(g, d, kw.pop("data", X2), batch_size=kw.pop("batch_size", 16), device="cpu", **kw)


def toy_trainer():
    return recipes.toy_trainer("ring8", device="cpu", recipe=recipes.TOY_RECIPES["ring8"].replace(
        width=8, depth=1, batch_size=16, num_data=64))


CASES = [
    # --- validate: one rule, one message (NumPy numbers accepted elsewhere; bools and strings never) ---
    ("require_int bool", lambda: validate.require_int("steps", True), ValueError, ["steps", "True"]),
    ("require_int str", lambda: validate.require_int("steps", "10"), ValueError, ["steps", "'10'"]),
    ("require_int float", lambda: validate.require_int("steps", 2.5), ValueError, ["steps", "2.5"]),
    ("require_int zero", lambda: validate.require_int("steps", 0), ValueError, ["steps", "positive int", "0"]),
    ("require_int range", lambda: validate.require_int("k", 11, 1, 10), ValueError, ["k", "[1, 10]", "11"]),
    ("require_positive_number str", lambda: validate.require_positive_number("lr", "1e-3"), ValueError,
     ["lr", "'1e-3'"]),
    ("require_positive_number nan", lambda: validate.require_positive_number("lr", math.nan), ValueError,
     ["lr", "nan"]),
    ("require_positive_number inf", lambda: validate.require_positive_number("lr", math.inf), ValueError,
     ["lr", "inf"]),
    ("require_nonnegative_number", lambda: validate.require_nonnegative_number("gp_weight", -1), ValueError,
     ["gp_weight", "-1"]),
    ("require_in_range", lambda: validate.require_in_range("ema", 1.0, 0, 1, include_high=False), ValueError,
     ["ema", "[0, 1)", "1.0"]),
    ("require_choice", lambda: validate.require_choice("loss", "gan", ("minimax",)), ValueError,
     ["loss", "'minimax'", "'gan'"]),
    ("require_choice non-str", lambda: validate.require_choice("loss", 3, ("minimax",)), ValueError, ["loss", "3"]),
    ("require_bool", lambda: validate.require_bool("binarize", "no"), ValueError, ["binarize", "'no'"]),
    ("require_seed negative", lambda: validate.require_seed(-1), ValueError, ["seed", "-1"]),
    ("require_seed float", lambda: validate.require_seed(1.5), ValueError, ["seed", "1.5"]),
    ("require_tensor", lambda: validate.require_tensor([1, 2], "x"), ValueError, ["x", "list"]),
    ("float_data str", lambda: validate.float_data("abc", "x"), ValueError, ["x", "str"]),
    ("data_matrix 3-D", lambda: validate.data_matrix(torch.zeros(2, 2, 2)), ValueError, ["x", "(2, 2, 2)"]),
    ("binary_rows", lambda: validate.binary_rows(torch.full((3, 2), 0.5)), ValueError, ["x", "binary", "0.5"]),
    # --- config ---
    ("fast flag", lambda: config._env_flag("PATH"), ValueError, ["PATH"]),
    ("device unknown", lambda: config.get_device("gpu"), ValueError, ["device", "'gpu'"]),
    ("device cuda", lambda: config.get_device("cuda"), ValueError, ["device", "'cuda'", "no CUDA"]),
    ("device int", lambda: config.get_device(3), ValueError, ["device", "3"]),
    ("precision unknown", lambda: config.get_precision("cpu", "fp8"), ValueError, ["precision", "'fp8'"]),
    ("precision fp16 cpu", lambda: config.get_precision("cpu", "fp16"), ValueError, ["precision", "'fp16'"]),
    ("seed_everything str", lambda: config.seed_everything("0"), ValueError, ["seed", "'0'"]),
    # --- data ---
    ("mnist binarize str", lambda: data.mnist("test", binarize="no"), ValueError, ["binarize", "'no'"]),
    ("mnist split", lambda: data.mnist("valid"), ValueError, ["split", "'valid'"]),
    ("mnist source", lambda: data.mnist("test", source="web"), ValueError, ["source", "'web'"]),
    ("toy seed float", lambda: data.toy("ring8", 10, seed=1.7), ValueError, ["seed", "1.7"]),
    ("toy seed str", lambda: data.toy("ring8", 10, seed="1"), ValueError, ["seed", "'1'"]),
    ("toy n zero", lambda: data.toy("ring8", 0), ValueError, ["n", "0"]),
    ("toy n str", lambda: data.toy("ring8", "100"), ValueError, ["n", "'100'"]),
    ("toy name", lambda: data.toy("ring9", 10), ValueError, ["name", "'ring9'"]),
    ("toy_log_prob spiral", lambda: data.toy_log_prob("spiral", X2), ValueError, ["spiral"]),
    ("toy_log_prob shape", lambda: data.toy_log_prob("ring8", torch.zeros(3, 3)), ValueError, ["x", "(3, 3)"]),
    ("dataset_2d 1-D name", lambda: data.dataset_2d("mix1d", 10, 0), ValueError, ["data", "'mix1d'"]),
    ("sampler batch too big", lambda: DeviceSampler(X2, batch_size=65), ValueError, ["batch_size", "65"]),
    ("sampler batch np ok then str", lambda: DeviceSampler(X2, batch_size="8"), ValueError, ["batch_size", "'8'"]),
    ("sampler labels", lambda: DeviceSampler(X2, torch.zeros(3), batch_size=4), ValueError, ["y", "len(y)=3"]),
    ("sampler empty", lambda: DeviceSampler(torch.zeros(0, 2), batch_size=1), ValueError, ["x", "(0, 2)"]),
    # --- likelihoods and density estimators ---
    ("gaussian_log_prob std -1", lambda: likelihoods.gaussian_log_prob(torch.zeros(3), 0.0, -1.0), ValueError,
     ["std", "-1.0"]),
    ("gaussian_log_prob std nan", lambda: likelihoods.gaussian_log_prob(torch.zeros(3), 0.0, math.nan), ValueError,
     ["std", "nan"]),
    ("gaussian_kl shapes", lambda: likelihoods.gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError,
     ["mu", "logvar", "(2, 4)"]),
    ("reparameterize eps", lambda: likelihoods.reparameterize(torch.zeros(2, 3), torch.zeros(2, 3),
                                                              eps=torch.zeros(3)), ValueError, ["eps", "(3,)"]),
    ("bernoulli_mle non-binary", lambda: density.bernoulli_mle(torch.tensor([0.5, 1.0])), ValueError,
     ["x", "binary", "0.5"]),
    ("bernoulli_mle alpha", lambda: density.bernoulli_mle(torch.tensor([0.0, 1.0]), alpha=-1), ValueError,
     ["alpha", "-1"]),
    ("categorical_mle float", lambda: density.categorical_mle(torch.tensor([0.0, 1.0]), 2), ValueError,
     ["x", "torch.float32"]),
    ("categorical_mle range", lambda: density.categorical_mle(torch.tensor([0, 5]), 3), ValueError, ["x", "5"]),
    ("categorical_mle classes", lambda: density.categorical_mle(torch.tensor([0]), 0), ValueError,
     ["num_classes", "0"]),
    ("gaussian_mle nan", lambda: density.gaussian_mle(torch.tensor([1.0, math.nan])), ValueError, ["x", "NaN"]),
    ("gaussian_mle list", lambda: density.gaussian_mle([1.0, 2.0]), ValueError, ["x", "list"]),
    ("fit_by_gradient method", lambda: density.fit_by_gradient(lambda x, m: x, {"m": 0.0}, torch.zeros(3),
                                                               method="newton"), ValueError, ["method", "'newton'"]),
    ("fit_by_gradient lr", lambda: density.fit_by_gradient(lambda x, m: x, {"m": 0.0}, torch.zeros(3), lr=-1),
     ValueError, ["lr", "-1"]),
    ("fit_by_gradient steps", lambda: density.fit_by_gradient(lambda x, m: x, {"m": 0.0}, torch.zeros(3), steps=0),
     ValueError, ["steps", "0"]),
    ("kde bandwidth", lambda: density.kde_log_prob(torch.zeros(3), torch.zeros(2), 0), ValueError,
     ["bandwidth", "0"]),
    ("kde 2-D", lambda: density.kde_log_prob(torch.zeros(3, 2), torch.zeros(2), 1.0), ValueError,
     ["x_train", "(3, 2)"]),
    ("histogram bins", lambda: density.histogram_log_prob(torch.zeros(3), torch.zeros(2), 0, (0, 1)), ValueError,
     ["bins", "0"]),
    ("histogram range", lambda: density.histogram_log_prob(torch.zeros(3), torch.zeros(2), 4, (1, 0)), ValueError,
     ["value_range", "(1, 0)"]),
    ("logistic weight_decay", lambda: density.LogisticRegression(weight_decay=-1), ValueError,
     ["weight_decay", "-1"]),
    ("logistic steps str", lambda: density.LogisticRegression(steps="10"), ValueError, ["steps", "'10'"]),
    ("naive Bayes alpha 0", lambda: density.BernoulliNaiveBayes(alpha=0), ValueError, ["alpha", "0"]),
    ("naive Bayes alpha str", lambda: density.BernoulliNaiveBayes(alpha="1"), ValueError, ["alpha", "'1'"]),
    ("naive Bayes non-binary", lambda: density.BernoulliNaiveBayes().fit(torch.rand(5, 4) + 0.1), ValueError,
     ["x", "binary"]),
    ("naive Bayes labels", lambda: density.BernoulliNaiveBayes().fit(BIN, torch.zeros(3)), ValueError,
     ["y", "(40,)", "(3,)"]),
    ("gmm components", lambda: density.GaussianMixture(0), ValueError, ["num_components", "0"]),
    ("gmm covariance", lambda: density.GaussianMixture(2, covariance="spherical"), ValueError,
     ["covariance", "'spherical'"]),
    ("gmm reg_covar", lambda: density.GaussianMixture(2, reg_covar=-1e-6), ValueError, ["reg_covar", "-1e-06"]),
    ("gmm tol", lambda: density.GaussianMixture(2, tol=-1), ValueError, ["tol", "-1"]),
    ("gmm init", lambda: density.GaussianMixture(2, init="kmeans"), ValueError, ["init", "'kmeans'"]),
    ("gmm max_iter", lambda: density.GaussianMixture(2, max_iter=0), ValueError, ["max_iter", "0"]),
    ("gmm too many components", lambda: density.GaussianMixture(6).fit(torch.randn(5, 2)), ValueError,
     ["num_components", "6"]),
    ("gmm float64 nan data", lambda: density.GaussianMixture(2).fit(torch.tensor([[0.0, math.nan]] * 4)),
     ValueError, ["x", "NaN"]),
    ("bernoulli mixture alpha", lambda: density.BernoulliMixture(2, alpha=0), ValueError, ["alpha", "0"]),
    ("kmeans k", lambda: density.kmeans_labels(X2, 100), ValueError, ["k", "100"]),
    ("kmeans init", lambda: density.kmeans_labels(X2, 2, init="forgy"), ValueError, ["init", "'forgy'"]),
    # --- VAE ---
    ("VAE latent_dim", lambda: vae.VAE(latent_dim=0), ValueError, ["latent_dim", "0"]),
    ("VAE hidden np ok, str bad", lambda: vae.VAE(hidden="32"), ValueError, ["hidden", "'32'"]),
    ("VAE architecture", lambda: vae.VAE(architecture="resnet"), ValueError, ["architecture", "'resnet'"]),
    ("VAE likelihood", lambda: vae.VAE(likelihood="poisson"), ValueError, ["likelihood", "'poisson'"]),
    ("fit_vae batch larger than data", lambda: vae.fit_vae(vae.VAE(latent_dim=2, hidden=8), BIN, steps=1,
                                                            batch_size=1000, device="cpu", progress=False),
     ValueError, ["batch_size", "1000"]),
    ("fit_vae lr", lambda: vae.fit_vae(vae.VAE(latent_dim=2, hidden=8), BIN, steps=1, lr=-1, device="cpu"),
     ValueError, ["lr", "-1"]),
    ("fit_vae kl_warmup", lambda: vae.fit_vae(vae.VAE(latent_dim=2, hidden=8), BIN, steps=1, kl_warmup=-2,
                                              device="cpu"), ValueError, ["kl_warmup", "-2"]),
    ("fit_vae steps str", lambda: vae.fit_vae(vae.VAE(latent_dim=2, hidden=8), BIN, steps="5", batch_size=8, device="cpu",
                                              progress=False), ValueError, ["steps", "'5'"]),
    ("fit_vae non-binary", lambda: vae.fit_vae(vae.VAE(latent_dim=2, hidden=8), BIN * 0.5, steps=1, device="cpu"),
     ValueError, ["x", "binary"]),
    ("fit_vae images shape", lambda: vae.fit_vae(vae.VAE(latent_dim=2, hidden=8), torch.zeros(4, 3, 28, 28),
                                                 steps=1, device="cpu"), ValueError, ["x", "(4, 3, 28, 28)"]),
    ("VAE sample n", lambda: vae.VAE(latent_dim=2, hidden=8).sample(0), ValueError, ["n", "0"]),
    ("VAE bound k", lambda: vae.VAE(latent_dim=2, hidden=8).log_prob_bound(BIN, k=0), ValueError, ["k", "0"]),
    ("VAE decode shape", lambda: vae.VAE(latent_dim=2, hidden=8).decode(torch.zeros(3, 5)), ValueError,
     ["z", "(3, 5)"]),
    ("decode_grid latent", lambda: vae.decode_grid(vae.VAE(latent_dim=3, hidden=8)), ValueError,
     ["latent_dim", "3"]),
    ("interpolate steps", lambda: vae.interpolate(vae.VAE(latent_dim=2, hidden=8), BIN[0], BIN[1], steps=0),
     ValueError, ["steps", "0"]),
    # --- losses ---
    ("get_loss name", lambda: losses.get_loss("vanilla"), ValueError, ["loss", "'vanilla'"]),
    ("get_loss int", lambda: losses.get_loss(3), ValueError, ["loss", "3"]),
    ("smoothing 1", lambda: losses.smoothed_d_loss(torch.zeros(2), torch.zeros(2), smoothing=1.0), ValueError,
     ["smoothing", "1.0"]),
    ("smoothing str", lambda: losses.label_smoothing_loss("0.1"), ValueError, ["smoothing", "'0.1'"]),
    ("dirac loss", lambda: losses.dirac_gan_field(torch.tensor(1.0), torch.tensor(0.0), loss="hinge"), ValueError,
     ["loss", "'hinge'"]),
    ("dirac gp", lambda: losses.dirac_gan_field(torch.tensor(1.0), torch.tensor(0.0), gp_weight=-1), ValueError,
     ["gp_weight", "-1"]),
    ("dirac trajectory steps", lambda: losses.dirac_gan_trajectory(1.0, 0.0, steps=-1), ValueError,
     ["steps", "-1"]),
    ("dirac trajectory lr", lambda: losses.dirac_gan_trajectory(1.0, 0.0, lr=0), ValueError, ["lr", "0"]),
    ("dirac trajectory mode", lambda: losses.dirac_gan_trajectory(1.0, 0.0, mode="jacobi"), ValueError,
     ["mode", "'jacobi'"]),
    # --- divergences and metrics ---
    ("kde_1d bandwidth", lambda: divergences.kde_1d(torch.zeros(5), torch.zeros(3), bandwidth=-1), ValueError,
     ["bandwidth", "-1"]),
    ("kde_1d 2-D samples", lambda: divergences.kde_1d(torch.zeros(5, 2), torch.zeros(3)), ValueError,
     ["samples", "(5, 2)"]),
    ("optimal_discriminator shapes", lambda: divergences.optimal_discriminator(torch.zeros(3), torch.zeros(4)),
     ValueError, ["p_data", "p_g", "(4,)"]),
    ("mode_coverage std", lambda: divergences.mode_coverage(X2, X2[:3], -1), ValueError, ["std", "-1"]),
    ("mode_coverage std str", lambda: divergences.mode_coverage(X2, X2[:3], "0.1"), ValueError, ["std", "'0.1'"]),
    ("mode_coverage samples", lambda: divergences.mode_coverage(torch.zeros(5, 3), X2[:3], 0.1), ValueError,
     ["samples", "(5, 3)"]),
    ("mode_coverage min_fraction", lambda: divergences.mode_coverage(X2, X2[:3], 0.1, min_fraction=2), ValueError,
     ["min_fraction", "2"]),
    ("grid density bins", lambda: divergences.grid_density_2d(X2, (-1, 1, -1, 1), bins=1), ValueError,
     ["bins", "1"]),
    ("grid density bounds", lambda: divergences.grid_density_2d(X2, (1, -1, -1, 1)), ValueError, ["bounds"]),
    ("wasserstein sizes", lambda: divergences.wasserstein_1d(torch.zeros(3), torch.zeros(4)), ValueError,
     ["a", "b", "4"]),
    ("wasserstein nan", lambda: divergences.wasserstein_1d(torch.tensor([math.nan]), torch.zeros(1)), ValueError,
     ["a", "NaN"]),
    ("critic grid", lambda: divergences.optimal_critic_1d(torch.zeros(3), torch.zeros(3), torch.tensor([1.0, 0.0])),
     ValueError, ["grid", "increasing"]),
    ("bits_per_dim num_dims", lambda: metrics.bits_per_dim(torch.zeros(3), 0), ValueError, ["num_dims", "0"]),
    ("bits_per_dim shape", lambda: metrics.bits_per_dim(torch.zeros(3, 2), 4), ValueError, ["log_prob", "(3, 2)"]),
    ("kid subset", lambda: metrics.kid(torch.randn(10, 3), torch.randn(10, 3), subset_size=20), ValueError,
     ["subset_size", "20"]),
    ("kid subsets str", lambda: metrics.kid(torch.randn(10, 3), torch.randn(10, 3), num_subsets="5"), ValueError,
     ["num_subsets", "'5'"]),
    ("fid dims", lambda: metrics.fid_from_features(torch.randn(5, 3), torch.randn(5, 4)), ValueError,
     ["f1", "f2"]),
    ("precision_recall k", lambda: metrics.precision_recall_knn(torch.randn(5, 3), torch.randn(5, 3), k=0),
     ValueError, ["k", "0"]),
    ("class_histogram range", lambda: metrics.class_histogram(torch.tensor([0, 12]), 10), ValueError,
     ["labels", "12"]),
    ("class_histogram float", lambda: metrics.class_histogram(torch.tensor([0.0]), 10), ValueError,
     ["labels", "float"]),
    ("confusion shapes", lambda: metrics.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 2), ValueError,
     ["y_requested", "y_predicted"]),
    ("classifier_score splits", lambda: metrics.classifier_score(torch.full((4, 10), 0.1), splits=9), ValueError,
     ["splits", "9"]),
    ("lerp steps", lambda: latent.lerp(torch.zeros(3), torch.zeros(3), 1), ValueError, ["steps", "1"]),
    ("slerp shapes", lambda: latent.slerp(torch.zeros(3), torch.zeros(4), 5), ValueError, ["z0", "z1", "(4,)"]),
    ("checkerboard odd", lambda: latent.checkerboard_score(torch.zeros(2, 1, 5, 5)), ValueError, ["x_fake", "5"]),
    # --- specs, the trainer and the loop ---
    ("TrainerConfig d_steps np float", lambda: specs.TrainerConfig(d_steps=np.float64(2.0)), ValueError,
     ["d_steps", "2.0"]),
    ("TrainerConfig d_steps str", lambda: specs.TrainerConfig(d_steps="2"), ValueError, ["d_steps", "'2'"]),
    ("TrainerConfig lr str", lambda: specs.TrainerConfig(lr_d="1e-3"), ValueError, ["lr_d", "'1e-3'"]),
    ("TrainerConfig lr negative", lambda: specs.TrainerConfig(lr_g=-1e-3), ValueError, ["lr_g", "-0.001"]),
    ("TrainerConfig betas", lambda: specs.TrainerConfig(betas=(0.5, 1.0)), ValueError, ["betas", "1.0"]),
    ("TrainerConfig betas one", lambda: specs.TrainerConfig(betas=(0.5,)), ValueError, ["betas", "(0.5,)"]),
    ("TrainerConfig loss", lambda: specs.TrainerConfig(loss="wgan"), ValueError, ["loss", "'wgan'"]),
    ("TrainerConfig optimizer", lambda: specs.TrainerConfig(optimizer_d="adagrad"), ValueError,
     ["optimizer_d", "'adagrad'"]),
    ("TrainerConfig ema", lambda: specs.TrainerConfig(ema=1), ValueError, ["ema", "1"]),
    ("TrainerConfig lr_decay", lambda: specs.TrainerConfig(lr_decay=1.5), ValueError, ["lr_decay", "1.5"]),
    ("TrainerConfig clip", lambda: specs.TrainerConfig(clip_value=-0.01), ValueError, ["clip_value", "-0.01"]),
    ("TrainerConfig seed", lambda: specs.TrainerConfig(seed=-3), ValueError, ["seed", "-3"]),
    ("TrainerConfig batch str", lambda: specs.TrainerConfig(batch_size="64"), ValueError, ["batch_size", "'64'"]),
    ("MLPSpec noise", lambda: specs.MLPSpec(noise="laplace"), ValueError, ["noise", "'laplace'"]),
    ("MLPSpec depth", lambda: specs.MLPSpec(depth=-1), ValueError, ["depth", "-1"]),
    ("MLPSpec pack", lambda: specs.MLPSpec(pack=0), ValueError, ["pack", "0"]),
    ("DCGANSpec upsample", lambda: specs.DCGANSpec(upsample="pixelshuffle"), ValueError,
     ["upsample", "'pixelshuffle'"]),
    ("DCGANSpec conditioning", lambda: specs.DCGANSpec(conditioning="film"), ValueError, ["conditioning", "'film'"]),
    ("DCGANSpec width", lambda: specs.DCGANSpec(width_g=0), ValueError, ["width_g", "0"]),
    ("trainer float64 ok, integers refused", lambda: mlp_trainer(data=torch.ones(64, 2, dtype=torch.int64)),
     ValueError, ["data", "torch.int64"]),
    ("trainer inf data", lambda: mlp_trainer(data=torch.full((64, 2), math.inf)), ValueError, ["data", "NaN/inf"]),
    ("trainer data list", lambda: mlp_trainer(data=[[1.0, 2.0]]), ValueError, ["data", "list"]),
    ("trainer batch larger than data", lambda: mlp_trainer(batch_size=100), ValueError, ["batch_size", "100"]),
    ("trainer unknown option", lambda: mlp_trainer(lr=1e-3), ValueError, ["unknown trainer options", "lr"]),
    ("trainer update unknown", lambda: mlp_trainer().update(seed=3), ValueError, ["update() can change", "seed"]),
    ("trainer update bad lr", lambda: mlp_trainer().update(lr_d=-1), ValueError, ["lr_d", "-1"]),
    ("trainer fit nothing", lambda: mlp_trainer().fit(), ValueError, ["steps or seconds"]),
    ("trainer fit steps str", lambda: mlp_trainer().fit(steps="3", progress=False), ValueError, ["steps", "'3'"]),
    ("trainer fit seconds", lambda: mlp_trainer().fit(seconds=-1, progress=False), ValueError, ["seconds", "-1"]),
    ("trainer fit decay needs steps", lambda: mlp_trainer(lr_decay=0.5).fit(seconds=1.0, progress=False),
     ValueError, ["lr_decay=0.5", "steps"]),
    ("trainer load missing file", lambda: mlp_trainer().load("/nonexistent/checkpoint.pt"), FileNotFoundError,
     ["/nonexistent/checkpoint.pt"]),
    ("trainer loads shipped weights", lambda: toy_trainer().load(recipes.pretrained_path("dcgan")),
     checkpoints.CheckpointError, ["'gan_weights'", "'gan_trainer'"]),
    ("make_optimizer", lambda: loop.make_optimizer("adagrad", [], 1e-3, (0.5, 0.9), torch.device("cpu")),
     ValueError, ["optimizer", "'adagrad'"]),
    ("linear_decay", lambda: loop.linear_decay(-0.1), ValueError, ["lr_decay", "-0.1"]),
    ("fit_loop steps", lambda: loop.fit_loop(lambda: None, steps=0), ValueError, ["steps", "0"]),
    # --- recipes, runs, sweep, checkpoints ---
    ("recipe unknown field", lambda: recipes.TOY_RECIPES["ring8"].replace(learning_rate=1e-3), ValueError,
     ["'learning_rate'", "settings"]),
    ("recipe pack and batch", lambda: recipes.TOY_RECIPES["ring8"].replace(batch_size=63), ValueError,
     ["batch_size (63)", "pack (2)"]),
    ("recipe steps", lambda: recipes.TOY_RECIPES["ring8"].replace(steps=0), ValueError, ["steps", "0"]),
    ("toy_trainer data", lambda: recipes.toy_trainer("swissroll"), ValueError, ["data", "'swissroll'"]),
    ("image_trainer kind", lambda: recipes.image_trainer("vae"), ValueError, ["kind", "'vae'"]),
    ("sample_images n", lambda: recipes.sample_images(recipes.image_trainer(
        "cgan", device="cpu", recipe=recipes.IMAGE_RECIPES["cgan"].replace(width_g=4, width_d=4, latent_dim=4)), 15),
     ValueError, ["n", "10", "15"]),
    ("toy_mode_run name", lambda: recipes.toy_mode_run("moons"), ValueError, ["name", "'moons'"]),
    ("train_image minutes", lambda: runs.train_image("dcgan", "/tmp/never", minutes=-3), ValueError,
     ["minutes", "-3"]),
    ("train_toy steps", lambda: runs.train_toy("ring8", "/tmp/never", steps=0), ValueError, ["steps", "0"]),
    ("train_toy minutes", lambda: runs.train_toy("ring8", "/tmp/never", minutes=-3), ValueError, ["minutes", "-3"]),
    ("output folder empty", lambda: runs.check_output_folder(""), ValueError, ["out", "''"]),
    ("sweep key", lambda: sweep.grid_settings({"learning_rate": [1e-3]}), ValueError, ["'learning_rate'"]),
    ("sweep values", lambda: sweep.grid_settings({"d_steps": 5}), ValueError, ["d_steps", "5"]),
    ("sweep kind", lambda: sweep.sweep("vae", {"lr": [1e-3]}, steps=1), ValueError, ["kind", "'vae'"]),
    ("checkpoint kind name", lambda: checkpoints.save("/tmp/never.pt", "a kind", {}), ValueError, ["kind", "'a kind'"]),
    ("checkpoint payload", lambda: checkpoints.save("/tmp/never.pt", "x", [1]), ValueError, ["payload", "list"]),
    ("load_pretrained kind", lambda: recipes.load_pretrained("vae"), ValueError, ["kind", "'vae'"]),
]


@pytest.mark.parametrize("call, error, needles", [pytest.param(c, e, n, id=i) for i, c, e, n in CASES])
def test_bad_input_gives_a_clear_error_naming_the_argument_and_the_value(call, error, needles):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    missing = [needle for needle in needles if needle not in message]
    assert not missing, f"the message does not name {missing}: {message!r}"


CLI_CASES = [
    (["train", "toy", "--data", "ring8", "--minutes", "-3", "--out", "{tmp}/r"], ["minutes", "-3"]),
    (["train", "toy", "--data", "ring8", "--out", ""], ["out", "''"]),
    (["train", "toy", "--data", "ring8", "--steps", "0", "--out", "{tmp}/r"], ["steps", "0"]),
    (["train", "toy", "--data", "mnist", "--out", "{tmp}/r"], ["--data", "'mnist'"]),
    (["train", "dcgan", "--data", "ring8", "--out", "{tmp}/r"], ["--data mnist", "'ring8'"]),
    (["train", "cgan", "--loss", "hinge", "--out", "{tmp}/r"], ["--loss"]),
    (["train", "dcgan", "--out", "{tmp}/afile"], ["afile", "is a file"]),
    (["train", "dcgan", "--resume", "{tmp}/none"], ["--resume", "none", "checkpoint.pt"]),
    (["train", "classifier", "--minutes", "2"], ["--minutes"]),
    (["train", "toy", "--data", "ring8", "--device", "gpu", "--out", "{tmp}/r"], ["device", "'gpu'"]),
]


@pytest.mark.parametrize("argv, needles", CLI_CASES, ids=[" ".join(a[:4]) for a, _ in CLI_CASES])
def test_bad_command_lines_are_one_line_errors_and_write_nothing(tmp_path, capsys, argv, needles):
    (tmp_path / "afile").write_text("x")
    code = cli.main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    missing = [needle for needle in needles if needle not in err]
    assert not missing, f"the error does not name {missing}: {err!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_the_table_is_as_large_as_the_issue_asks():
    assert len(CASES) + len(CLI_CASES) >= 150


def test_numpy_numbers_are_accepted_where_python_ones_are():
    config = specs.TrainerConfig(d_steps=np.int64(2), batch_size=np.int64(32), lr_d=np.float32(1e-3),
                                 seed=np.int64(3))
    assert (type(config.d_steps), type(config.batch_size), type(config.seed)) == (int, int, int)
    assert config.d_steps == 2 and config.lr_d == pytest.approx(1e-3)
    assert len(next(DeviceSampler(X2, batch_size=np.int64(8)))) == 8
    assert torch.equal(data.toy("ring8", np.int64(10), seed=np.int64(1)), data.toy("ring8", 10, seed=1))
    t = mlp_trainer(d_steps=np.int64(2))
    t.step()
    assert t.d_updates == 2
