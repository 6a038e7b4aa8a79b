"""Autoregressive models: masks checked by gradients, normalisation over all 2^D vectors, the
chain rule against per-pixel logistic regressions (scikit-learn), sampling against exact
probabilities, the bundled test split, checkpoints, the command-line run, and bad input."""

import itertools
import json
import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from gan_course import autoregressive as ar
from gan_course import checkpoints
from gan_course.data import mnist

pytestmark = pytest.mark.usefixtures("one_thread")  # small models: one thread is fastest on a shared CPU


def randomised(model, seed=0, std=1.0):
    """The model in float64 with every parameter drawn at random (a fresh model ignores its inputs)."""
    model = model.double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(std * torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return model


def small_models(d=8):
    return {"FVSBN": ar.FVSBN(d), "MADE": ar.MADE(d, num_hidden=12),
            "MADE, no direct": ar.MADE(d, num_hidden=12, direct=False)}


def all_binary_vectors(d):
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=d)), dtype=torch.float64)  # (2^d, d)


@pytest.mark.parametrize("name", ["FVSBN", "MADE", "MADE, no direct"])
def test_output_j_does_not_depend_on_inputs_j_and_after(name):
    model = randomised(small_models()[name])
    # a fixed batch, both values of every pixel: with ReLU units, whether output j reads the past at
    # these points depends on the batch (a unit can be off), so it must not come from the global RNG
    x = torch.bernoulli(torch.full((32, 8), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: model.logits(v[None])[0], row) for row in x])
    influence = jac.abs().sum(0)  # (D out, D in)
    assert torch.all(influence.triu() == 0)  # output j, input i >= j: no gradient at all
    assert torch.all(influence.tril(-1)[1:].sum(1) > 0)  # but every output after the first reads the past


@pytest.mark.parametrize("name", ["FVSBN", "MADE", "MADE, no direct"])
def test_probabilities_of_all_binary_vectors_sum_to_one(name):
    model = randomised(small_models(10)[name])
    log_p = model.log_prob(all_binary_vectors(10))  # (1024,)
    assert torch.logsumexp(log_p, 0).item() == pytest.approx(0.0, abs=1e-10)
    assert log_p.std() > 1  # a real distribution, far from uniform


def test_fvsbn_log_prob_is_the_chain_rule_pixel_by_pixel():
    model = randomised(ar.FVSBN(6), seed=1)
    x = torch.bernoulli(torch.full((20, 6), 0.5, dtype=torch.float64))
    w, b = model.linear.weight.detach(), model.linear.bias.detach()
    expected = sum(torch.distributions.Bernoulli(logits=b[j] + x[:, :j] @ w[j, :j]).log_prob(x[:, j])
                   for j in range(6))
    torch.testing.assert_close(model.log_prob(x), expected)


def test_fvsbn_maximum_likelihood_is_one_logistic_regression_per_pixel():
    """Fitted by L-BFGS on FVSBN's own log_prob, the weights match scikit-learn's logistic regressions."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(600, 1, generator=gen, dtype=torch.float64)
    x = (z + 0.8 * torch.randn(600, 4, generator=gen, dtype=torch.float64) > 0).double()  # correlated pixels
    model, lam = ar.FVSBN(4).double(), 1.0
    opt = torch.optim.LBFGS(model.parameters(), max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -model.log_prob(x).sum() + 0.5 * lam * (model.linear.weight * model.linear_weight_mask).pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    bias0 = math.log(x[:, 0].mean() / (1 - x[:, 0].mean()))  # pixel 0 has no inputs: the logit of its mean
    assert model.linear.bias[0].item() == pytest.approx(bias0, abs=1e-5)
    for j in range(1, 4):
        ref = LogisticRegression(C=1 / lam, tol=1e-10, max_iter=10_000).fit(x[:, :j].numpy(), x[:, j].numpy())
        np.testing.assert_allclose(model.linear.weight[j, :j].detach().numpy(), ref.coef_[0], atol=1e-4)
        assert model.linear.bias[j].item() == pytest.approx(ref.intercept_[0], abs=1e-4)


@pytest.mark.parametrize("name", ["FVSBN", "MADE"])
def test_samples_follow_the_exact_probabilities(name):
    model = randomised(small_models(4)[name], seed=2, std=0.8)
    samples = model.sample(20_000, seed=0)  # (n, 4)
    codes = (samples * torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=torch.float64)).sum(1).long()
    freq = torch.bincount(codes, minlength=16).double() / len(codes)
    exact = model.log_prob(all_binary_vectors(4)).exp().detach()
    assert (freq - exact).abs().max() < 0.015  # 4 standard errors of a frequency near 0.25
    assert torch.equal(samples, model.sample(20_000, seed=0, cache=False))  # the cache changes nothing


def test_complete_keeps_the_prefix_and_draws_the_rest():
    model = randomised(ar.MADE(8, num_hidden=12), seed=3)
    x = torch.bernoulli(torch.full((200, 8), 0.5, dtype=torch.float64))
    out = model.complete(x, num_given=5, seed=0)
    assert torch.equal(out[:, :5], x[:, :5])
    assert set(out.unique().tolist()) <= {0.0, 1.0} and not torch.equal(out[:, 5:], x[:, 5:])
    assert torch.equal(model.complete(x, num_given=8), x)


def test_a_fresh_model_is_a_fair_coin_and_training_beats_it():
    x_train, _ = mnist("train", source="bundled", binarize=True)
    model = ar.FVSBN(784, event_shape=(1, 28, 28))
    assert model.bits_per_dim(x_train[:100]).item() == pytest.approx(1.0)  # all logits 0: p = 1/2 per pixel
    torch.manual_seed(0)
    ar.fit_autoregressive(model, x_train[:256], steps=25, lr=1e-2, progress=False)
    assert model.bits_per_dim(x_train[:256]).item() < 0.5
    assert model.sample(2, seed=0).shape == (2, 1, 28, 28)


def test_shipped_model_beats_the_mixture_and_the_vae_bound_on_the_bundled_test_split():
    x_test, _ = mnist("test", source="bundled", binarize=True)
    model = ar.pretrained()
    bpd = model.bits_per_dim(x_test).item()
    assert bpd == pytest.approx(model.info["test_bits_per_dim"], abs=1e-5)  # as recorded when it was made
    assert bpd < 0.258 and bpd < 0.18  # the best Bernoulli mixture; notebook 04's VAE IW bound (about 0.181)


def test_save_and_load_give_the_same_model(tmp_path):
    model = randomised(ar.MADE(8, num_hidden=12), seed=4).float()
    ar.save_model(model, tmp_path / "m.pt", info={"note": "test"})
    loaded = ar.load_model(tmp_path / "m.pt")
    x = torch.bernoulli(torch.full((10, 8), 0.5))
    assert not torch.equal(loaded.log_prob(x), model.log_prob(x))  # float16 on disk ...
    ar.round_to_stored_precision(model)
    torch.testing.assert_close(loaded.log_prob(x), model.log_prob(x), rtol=0, atol=0)  # ... and nothing else lost
    for name, mask in loaded.masks().items():  # the entries the masks block are not stored: zero
        assert torch.all(loaded.get_parameter(name)[mask == 0] == 0)
    assert loaded.info == {"note": "test"} and isinstance(loaded, ar.MADE) and loaded.direct
    checkpoints.save(tmp_path / "other.pt", kind="vae", payload={})
    with pytest.raises(checkpoints.CheckpointError, match="autoregressive"):
        ar.load_model(tmp_path / "other.pt")


def test_train_autoregressive_writes_metrics_weights_and_samples(tmp_path):
    result = ar.train_autoregressive(tmp_path, minutes=0.02, seed=3, progress=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == result and metrics["seed"] == 3 and metrics["steps"] > 0 and metrics["model"] == "MADE"
    assert 0 < metrics["test_bits_per_dim"] < 1.0
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (100, 28, 28) and samples.dtype == np.uint8 and set(np.unique(samples)) <= {0, 255}
    model = ar.load_model(tmp_path / "weights.pt")
    x_test, _ = mnist("test", source="bundled", binarize=True)
    assert model.bits_per_dim(x_test).item() == pytest.approx(metrics["test_bits_per_dim"], abs=1e-5)


def test_bad_input_names_the_argument_the_value_and_what_is_allowed():
    model = ar.FVSBN(4)
    with pytest.raises(ValueError, match=r"x must be binary .* such as 0\.5"):
        model.log_prob(torch.tensor([[0.0, 1.0, 0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"x must have 4 values per sample.*got shape \(2, 5\)"):
        model.log_prob(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(torch.tensor([[0.0, float("nan"), 0.0, 1.0]]))
    with pytest.raises(ValueError, match="num_hidden must be a positive int, got 0"):
        ar.MADE(4, num_hidden=0)
    with pytest.raises(ValueError, match="num_dims must be an int >= 2, got 1"):
        ar.FVSBN(1)
    with pytest.raises(ValueError, match="num_given must be an int in \\[0, 4\\], got 9"):
        model.complete(torch.zeros(1, 4), num_given=9)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0, got -1"):
        ar.fit_autoregressive(model, torch.zeros(8, 4), steps=1, weight_decay=-1, progress=False)
    with pytest.raises(ValueError, match="minutes must be a number in"):
        ar.train_autoregressive("unused", minutes=0)
