"""gan_course.vae: the autoencoder and the VAE (shapes, bound ordering, training, checkpoints, and the
errors a student meets first); the densities and the KL they use are tested in test_likelihoods.py."""

import pytest
import torch

from gan_course import checkpoints, data
from gan_course.train import NonFiniteLossError
from gan_course.vae import VAE, Autoencoder, fit_vae, interpolate, load_fit, load_model

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    x, y = data.mnist("train", source="bundled", binarize=True)
    xt, _ = data.mnist("test", source="bundled", binarize=True)
    return x[:2000], y[:2000], xt[:300]


@pytest.fixture(scope="module")
def trained(digits):
    x, _, _ = digits
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before the one_thread fixture: a shared machine needs it here too
    try:
        torch.manual_seed(0)
        vae = VAE(latent_dim=8, hidden=64)
        state = fit_vae(vae, x, steps=300, lr=3e-3, batch_size=100, progress=False)
    finally:
        torch.set_num_threads(before)
    return vae, state


# ---- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_every_architecture_and_likelihood_gives_the_documented_shapes(architecture, likelihood, digits):
    x = digits[0][:6]
    vae = VAE(latent_dim=3, hidden=32, architecture=architecture, likelihood=likelihood)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (6, 3)
    assert vae(x).shape == vae.decode(mu).shape == (6, 1, 28, 28)
    assert vae.sample(5, seed=0).shape == (5, 1, 28, 28)
    terms = vae.elbo_terms(vae.check_images(x))
    assert all(t.shape == (6,) for t in terms.values())
    assert (terms["kl"] >= 0).all()
    assert vae.log_prob_bound(x, k=3).shape == (6,)
    ae = Autoencoder(latent_dim=2, hidden=32, architecture=architecture, likelihood=likelihood)
    assert ae.encode(x).shape == (6, 2) and ae(x).shape == (6, 1, 28, 28)


def test_elbo_terms_add_up(digits):
    vae = VAE(latent_dim=4, hidden=32)
    x = vae.check_images(digits[0][:5])
    terms = vae.elbo_terms(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(terms["elbo"], terms["reconstruction"] - terms["kl"])


def test_iw_bound_at_least_elbo_and_tightens(trained, digits):
    vae, _ = trained
    xt = digits[2]
    elbo = vae.log_prob_bound(xt).mean()
    bounds = [vae.log_prob_bound(xt, k=k).mean() for k in (1, 10, 100)]
    assert abs(bounds[0] - elbo) < 1.0  # L_1 is the ELBO (a different estimator of it)
    assert bounds[0] < bounds[1] < bounds[2]
    assert vae.bits_per_dim(xt, k=100) < vae.bits_per_dim(xt)


def test_iw_bound_does_not_depend_on_batching(trained, digits):
    vae, _ = trained
    xt = digits[2][:20]
    a = vae.log_prob_bound(xt, k=16, seed=3, max_rows=10_000)
    b = vae.log_prob_bound(xt, k=16, seed=3, max_rows=16)  # one image, 16 draws per pass
    assert torch.isfinite(a).all() and torch.isfinite(b).all()
    # different batching changes which noise goes where, but not the bound's size
    assert abs(a.mean() - b.mean()) < 2.0


def test_trained_beats_untrained(trained, digits):
    vae, state = trained
    torch.manual_seed(0)
    untrained = VAE(latent_dim=8, hidden=64)
    xt = digits[2]
    assert vae.bits_per_dim(xt) < untrained.bits_per_dim(xt) - 0.1
    assert vae.bits_per_dim(xt) < 0.35  # better than 1 bit/pixel by far, near naive Bayes already
    assert state.step == 300 and len(state.history["loss"]) == 300
    assert state.history["loss"][-1] < state.history["loss"][0]


def test_fit_continues_from_state(digits):
    x = digits[0][:500]
    torch.manual_seed(0)
    a = VAE(latent_dim=2, hidden=16)
    b = VAE(latent_dim=2, hidden=16)
    b.load_state_dict(a.state_dict())
    fit_vae(a, x, steps=20, progress=False, seed=1)
    state = fit_vae(b, x, steps=8, progress=False, seed=1)
    state = fit_vae(b, x, steps=12, progress=False, state=state)
    assert state.step == 20
    with pytest.raises(ValueError, match="state was made for data of shape"):
        fit_vae(b, x[:100], steps=1, progress=False, state=state)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_autoencoder_trains(digits):
    x = digits[0][:1000]
    torch.manual_seed(0)
    ae = Autoencoder(latent_dim=2, hidden=32)
    state = fit_vae(ae, x, steps=100, lr=3e-3, progress=False)
    assert set(state.history) == {"loss", "reconstruction"}
    assert sum(state.history["loss"][-10:]) < sum(state.history["loss"][:10])


def test_nan_loss_stops_and_keeps_weights(digits, monkeypatch):
    vae = VAE(latent_dim=2, hidden=16)
    before = {k: v.clone() for k, v in vae.state_dict().items()}

    def bad_loss(x, generator=None, kl_weight=1.0):
        loss = torch.tensor(float("nan"), requires_grad=True)
        return loss, {"loss": float("nan"), "reconstruction": float("nan"), "kl": 0.0}

    monkeypatch.setattr(vae, "loss", bad_loss)
    with pytest.raises(NonFiniteLossError, match="loss became nan at step 1"):
        fit_vae(vae, digits[0][:200], steps=5, progress=False)
    for k, v in vae.state_dict().items():
        assert torch.equal(v, before[k])


def test_interpolate_endpoints(trained, digits):
    vae, _ = trained
    x = digits[0][:2]
    path = interpolate(vae, x[0], x[1], steps=5)
    assert path.shape == (5, 1, 28, 28)
    torch.testing.assert_close(path[0], vae(x[:1])[0])
    torch.testing.assert_close(path[-1], vae(x[1:2])[0])


# ---- checkpoints -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [VAE, Autoencoder])
def test_save_load_round_trip(cls, tmp_path, digits):
    torch.manual_seed(0)
    model = cls(latent_dim=3, hidden=16, architecture="conv")
    path = model.save(tmp_path / "m.pt", history={"loss": [1.0, 0.5]})
    loaded = load_model(path)
    assert type(loaded) is cls and loaded.options == model.options
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    x = digits[0][:4]
    torch.testing.assert_close(loaded(x), model(x))


def test_save_load_fit_resumes_exactly(tmp_path, digits):
    x = digits[0][:500]
    torch.manual_seed(0)
    a = VAE(latent_dim=2, hidden=16)
    b = VAE(latent_dim=2, hidden=16)
    b.load_state_dict(a.state_dict())
    fit_vae(a, x, steps=20, progress=False, seed=1, kl_warmup=10)
    state = fit_vae(b, x, steps=8, progress=False, seed=1, kl_warmup=10)
    b.save(tmp_path / "run.pt", fit=state)
    c, resumed = load_fit(tmp_path / "run.pt", x)
    assert resumed.step == 8 and len(resumed.history["loss"]) == 8
    fit_vae(c, x, steps=12, progress=False, state=resumed, kl_warmup=10)
    for p, q in zip(a.parameters(), c.parameters()):
        torch.testing.assert_close(p, q)
    b.save(tmp_path / "weights.pt")
    with pytest.raises(ValueError, match="holds weights only"):
        load_fit(tmp_path / "weights.pt", x)


def test_load_rejects_other_files(tmp_path):
    checkpoints.save(tmp_path / "x.pt", "gan_trainer", {"config": {}})
    with pytest.raises(ValueError, match="holds a 'gan_trainer' checkpoint, but a 'vae' checkpoint is expected"):
        load_model(tmp_path / "x.pt")
    torch.save({"format": 1, "kind": "vae"}, tmp_path / "old.pt")  # the layout of gan_course 0.1
    with pytest.raises(ValueError, match="written by gan_course 0.1"):
        load_model(tmp_path / "old.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")


def test_load_rejects_mismatched_weights(tmp_path):
    model = VAE(latent_dim=3, hidden=16)
    model.save(tmp_path / "m.pt")
    state = checkpoints.load(tmp_path / "m.pt", "vae")
    state["options"]["hidden"] = 32
    checkpoints.save(tmp_path / "m.pt", "vae", state)
    with pytest.raises(ValueError, match="different VAE architecture"):
        load_model(tmp_path / "m.pt")


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"latent_dim": 0}, "latent_dim must be a positive int, got 0"),
    ({"latent_dim": -3}, "latent_dim must be a positive int, got -3"),
    ({"latent_dim": 2.5}, "latent_dim must be a positive int"),
    ({"hidden": 0}, "hidden must be a positive int"),
    ({"architecture": "resnet"}, "architecture must be one of 'mlp', 'conv'; got 'resnet'"),
    ({"likelihood": "poisson"}, "likelihood must be one of 'bernoulli', 'gaussian'"),
])
def test_vae_refuses_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VAE(**kwargs)


def test_images_of_the_wrong_shape_range_or_type_are_refused(digits):
    vae = VAE(latent_dim=2, hidden=16)
    with pytest.raises(ValueError, match=r"shape \(N, 1, 28, 28\) or \(N, 784\).*\(3, 28, 28\)"):
        vae.encode(torch.zeros(3, 28, 28))
    with pytest.raises(ValueError, match="must be binary"):
        vae.bits_per_dim(torch.full((2, 1, 28, 28), 0.5))
    with pytest.raises(ValueError, match="NaN"):
        vae.encode(torch.full((2, 784), float("nan")))
    with pytest.raises(ValueError, match="torch.Tensor"):
        vae.encode([[0.0]])
    grey = VAE(latent_dim=2, hidden=16, likelihood="gaussian")
    assert grey.encode(torch.full((2, 784), 0.5))[0].shape == (2, 2)  # grey is fine for Gaussian
    assert vae.encode(torch.zeros(2, 784))[0].shape == (2, 2)


def test_bad_k_codes_and_fit_arguments_are_refused(digits):
    vae = VAE(latent_dim=2, hidden=16)
    x = digits[0][:10]
    for k in (0, -1, 2.0):
        with pytest.raises(ValueError, match="k must be a positive int"):
            vae.bits_per_dim(x, k=k)
    with pytest.raises(ValueError, match=r"z must be a tensor of shape \(N, 2\)"):
        vae.decode(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="n must be a positive int"):
        vae.sample(0)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        fit_vae(vae, x, steps=1, lr=-1.0)
    with pytest.raises(ValueError, match="model must be an Autoencoder or a VAE"):
        fit_vae(torch.nn.Linear(2, 2), x, steps=1)
    with pytest.raises(ValueError, match="binary=True needs likelihood='bernoulli'"):
        VAE(latent_dim=2, hidden=16, likelihood="gaussian").sample(2, binary=True)


def test_fit_vae_without_steps_or_seconds_says_so_on_a_small_dataset(digits):
    vae = VAE(latent_dim=2, hidden=16)
    x = digits[0][:10]
    with pytest.raises(ValueError, match="give steps or seconds"):
        fit_vae(vae, x, progress=False)


def test_decode_grid_lays_codes_on_a_square_grid_centred_at_zero():
    from gan_course.vae import decode_grid

    ae = Autoencoder(latent_dim=2, hidden=16)
    out = decode_grid(ae, n=3, limit=1.0)
    assert out.shape == (9, 1, 28, 28)
    torch.testing.assert_close(out[4], ae.decode(torch.zeros(1, 2))[0])  # the centre is z = 0
    torch.testing.assert_close(out[0], ae.decode(torch.tensor([[-1.0, 1.0]]))[0])  # top left
    with pytest.raises(ValueError, match="latent_dim=2, got latent_dim=16"):
        decode_grid(VAE(latent_dim=16, hidden=16))


def test_gaussian_and_conv_vaes_train():
    x_grey, _ = data.mnist("train", source="bundled")
    torch.manual_seed(0)
    grey = VAE(latent_dim=4, hidden=32, likelihood="gaussian")
    state = fit_vae(grey, x_grey[:500], steps=60, lr=3e-3, batch_size=50, progress=False)
    assert sum(state.history["loss"][-5:]) < sum(state.history["loss"][:5])
    assert grey.log_std.item() < 0  # the learned noise level shrinks below sigma = 1
    assert torch.isfinite(grey.bits_per_dim(x_grey[:50], k=4))
    conv = VAE(latent_dim=4, hidden=32, architecture="conv")
    x_bin = (x_grey[:500] > 0.5).float()
    state = fit_vae(conv, x_bin, steps=40, lr=3e-3, batch_size=50, progress=False)
    assert sum(state.history["loss"][-5:]) < sum(state.history["loss"][:5])


def test_the_default_batch_fits_a_small_dataset_and_an_asked_size_is_never_shrunk(digits):
    state = fit_vae(VAE(latent_dim=2, hidden=16), digits[0][:10], steps=1, progress=False, device="cpu")
    assert state.sampler.batch_size == 10  # the default: 128, or the whole data when it is smaller
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[1, 10\], got 128"):
        fit_vae(VAE(latent_dim=2, hidden=16), digits[0][:10], steps=1, batch_size=128, progress=False, device="cpu")
