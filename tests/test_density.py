"""gan_course.density against scikit-learn, scipy and closed forms, plus its bad-input errors."""

import math
import warnings

import numpy as np
import pytest
import scipy.stats
import torch

from gan_course import density
from gan_course.density import BernoulliMixture, BernoulliNaiveBayes, GaussianMixture

sklearn_mixture = pytest.importorskip("sklearn.mixture")
sklearn_nb = pytest.importorskip("sklearn.naive_bayes")


def _blobs(n=600, d=3, k=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    centers = 4.0 * torch.randn(k, d, generator=gen, dtype=dtype)
    labels = torch.randint(k, (n,), generator=gen)
    scale = torch.randn(k, d, d, generator=gen, dtype=dtype) * 0.5 + torch.eye(d, dtype=dtype)
    z = torch.randn(n, d, generator=gen, dtype=dtype)
    return centers[labels] + torch.einsum("nde,ne->nd", scale[labels], z)  # (n, d)


def _binary(n=300, d=20, seed=0):
    gen = torch.Generator().manual_seed(seed)
    probs = torch.rand(3, d, generator=gen)
    labels = torch.randint(3, (n,), generator=gen)
    return torch.bernoulli(probs[labels], generator=gen), labels


# ---------------------------------------------------------------- closed-form and gradient MLE


def test_gaussian_mle_matches_scipy_fit():
    x = torch.from_numpy(scipy.stats.norm(1.5, 2.0).rvs(size=500, random_state=0))
    loc, scale = scipy.stats.norm.fit(x.numpy())
    mean, var = density.gaussian_mle(x)
    assert mean.item() == pytest.approx(loc, rel=1e-4)
    assert var.sqrt().item() == pytest.approx(scale, rel=1e-4)
    assert var.item() == pytest.approx(x.var(unbiased=False).item(), rel=1e-12)  # biased: divide by N


def test_fit_by_gradient_recovers_scipy_fit():
    x = torch.from_numpy(scipy.stats.norm(-0.7, 0.6).rvs(size=400, random_state=1))
    loc, scale = scipy.stats.norm.fit(x.numpy())
    fit = density.fit_by_gradient(
        lambda x, mean, log_std: density.gaussian_log_prob(x, mean, log_std.exp()),
        {"mean": 0.0, "log_std": 0.0}, x, steps=50)
    assert fit.params["mean"].item() == pytest.approx(loc, rel=1e-4)
    assert fit.params["log_std"].exp().item() == pytest.approx(scale, rel=1e-4)
    assert fit.history[-1] >= fit.history[0]


def test_fit_by_gradient_adam_increases_likelihood():
    x = torch.randn(200) * 2 + 1
    fit = density.fit_by_gradient(
        lambda x, mean, log_std: density.gaussian_log_prob(x, mean, log_std.exp()),
        {"mean": 0.0, "log_std": 0.0}, x, steps=300, lr=0.05, method="adam")
    assert fit.history[-1] > fit.history[0]
    assert fit.params["mean"].item() == pytest.approx(x.mean().item(), abs=0.05)


def test_gaussian_log_prob_matches_scipy():
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    expected = scipy.stats.norm(0.5, 1.7).logpdf(x.numpy())
    np.testing.assert_allclose(density.gaussian_log_prob(x, 0.5, 1.7).numpy(), expected, rtol=1e-10)


def test_bernoulli_and_categorical_mle():
    x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    torch.testing.assert_close(density.bernoulli_mle(x), torch.tensor([0.75, 0.25]))
    torch.testing.assert_close(density.bernoulli_mle(x, alpha=1.0), torch.tensor([4 / 6, 2 / 6]))
    torch.testing.assert_close(density.categorical_mle(torch.tensor([0, 1, 1, 3]), 4),
                               torch.tensor([0.25, 0.5, 0.0, 0.25]))


# ---------------------------------------------------------------- naive Bayes


def test_naive_bayes_matches_sklearn_bernoulli_nb():
    x, y = _binary()
    x = x.double()  # 1e-6 on log-probabilities of -20 needs float64, as sklearn uses
    ours = BernoulliNaiveBayes(alpha=1.0).fit(x, y)
    ref = sklearn_nb.BernoulliNB(alpha=1.0).fit(x.numpy(), y.numpy())
    np.testing.assert_allclose(ours.predict_log_proba(x).numpy(),
                               ref.predict_log_proba(x.numpy()), atol=1e-6, rtol=0)
    np.testing.assert_array_equal(ours.predict(x).numpy(), ref.predict(x.numpy()))


def test_naive_bayes_unsupervised_log_prob_is_sum_of_bernoullis():
    x, _ = _binary(n=50, d=6)
    nb = BernoulliNaiveBayes(alpha=1.0).fit(x)
    theta = (x.sum(0) + 1) / (x.shape[0] + 2)
    expected = torch.distributions.Bernoulli(probs=theta).log_prob(x).sum(1)
    torch.testing.assert_close(nb.log_prob(x), expected)
    assert nb.bits_per_dim(x).item() == pytest.approx(-expected.mean().item() / (6 * math.log(2)), rel=1e-5)


def test_naive_bayes_sample_shapes_and_class():
    x = torch.zeros(20, 1, 4, 4)
    x[10:] = 1.0
    y = torch.tensor([0] * 10 + [7] * 10)
    nb = BernoulliNaiveBayes(alpha=0.01).fit(x, y)
    assert nb.sample(5, seed=0).shape == (5, 1, 4, 4)
    assert nb.sample(30, y=7, seed=0).mean().item() > 0.9
    with pytest.raises(ValueError, match="fitted classes"):
        nb.sample(2, y=3)


def test_naive_bayes_log_prob_does_not_underflow_on_many_pixels():
    x = torch.bernoulli(torch.full((10, 5000), 0.5), generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(BernoulliNaiveBayes().fit(x).log_prob(x)).all()


# ---------------------------------------------------------------- Gaussian mixture vs sklearn


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_gaussian_mixture_matches_sklearn_from_same_start(covariance):
    x = _blobs()
    ours = GaussianMixture(3, covariance, max_iter=7, tol=0.0, seed=0).initialize(x)
    precisions = torch.linalg.inv(ours.covariances) if covariance == "full" else 1 / ours.covariances
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that 7 steps did not converge
        ref = sklearn_mixture.GaussianMixture(
            3, covariance_type=covariance, max_iter=7, tol=0.0,
            weights_init=ours.weights.numpy(), means_init=ours.means.numpy(),
            precisions_init=precisions.numpy()).fit(x.numpy())
    ours.fit(x, warm_start=True)
    assert ours.n_iter == ref.n_iter_ == 7
    np.testing.assert_allclose(ours.log_prob(x).numpy(), ref.score_samples(x.numpy()), rtol=1e-4)
    assert ours.bic(x) == pytest.approx(ref.bic(x.numpy()), rel=1e-4)
    np.testing.assert_allclose(ours.means.numpy(), ref.means_, rtol=1e-4, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(x).numpy(), ref.predict_proba(x.numpy()), atol=1e-6)


@pytest.mark.parametrize("covariance", ["full", "diag"])
def test_set_params_with_precisions_gives_sklearn_score(covariance):
    x = _blobs(n=100, d=2, k=2, seed=3)
    means = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=torch.float64)
    if covariance == "full":
        prec = torch.tensor([[[2.0, 0.3], [0.3, 1.0]], [[1.0, 0.0], [0.0, 0.5]]], dtype=torch.float64)
    else:
        prec = torch.tensor([[2.0, 1.0], [1.0, 0.5]], dtype=torch.float64)
    weights = torch.tensor([0.3, 0.7], dtype=torch.float64)
    ours = GaussianMixture(2, covariance).set_params(weights, means, precisions=prec)
    ref = sklearn_mixture.GaussianMixture(2, covariance_type=covariance)
    ref.weights_, ref.means_, ref.covariance_type = weights.numpy(), means.numpy(), covariance
    ref.precisions_cholesky_ = (np.linalg.cholesky(prec.numpy()) if covariance == "full"
                                else np.sqrt(prec.numpy()))
    np.testing.assert_allclose(ours.log_prob(x).numpy(), ref.score_samples(x.numpy()), rtol=1e-10)


def test_em_never_decreases_log_likelihood():
    x = _blobs(seed=1)
    gm = GaussianMixture(3, "full", max_iter=30, tol=0.0, init="random", seed=0).fit(x)
    steps = np.diff(gm.history)
    assert (steps > -1e-9).all()


def test_gaussian_mixture_sample_and_predict_proba():
    x = _blobs(seed=2)
    gm = GaussianMixture(3, seed=0).fit(x)
    resp = gm.predict_proba(x)
    torch.testing.assert_close(resp.sum(1), torch.ones(len(x), dtype=x.dtype))
    s = gm.sample(5000, seed=0)
    assert s.shape == (5000, 3)
    torch.testing.assert_close(s.mean(0), (gm.weights[:, None] * gm.means).sum(0), atol=0.2, rtol=0)
    torch.testing.assert_close(gm.sample(3, seed=1), gm.sample(3, seed=1))


def test_gaussian_mixture_complete_is_conditional_gaussian_mean():
    cov = torch.tensor([[[2.0, 0.8], [0.8, 1.0]]], dtype=torch.float64)
    gm = GaussianMixture(1, "full").set_params(torch.ones(1, dtype=torch.float64),
                                               torch.tensor([[1.0, -1.0]], dtype=torch.float64),
                                               covariances=cov)
    x = torch.tensor([[3.0, float("nan")], [float("nan"), 0.0], [0.5, 0.5]], dtype=torch.float64)
    mask = torch.tensor([[True, False], [False, True], [True, True]])
    out = gm.complete(x, mask)
    assert out[0, 1].item() == pytest.approx(-1.0 + 0.8 / 2.0 * (3.0 - 1.0))
    assert out[1, 0].item() == pytest.approx(1.0 + 0.8 / 1.0 * (0.0 + 1.0))
    torch.testing.assert_close(out[2], x[2])


def test_gaussian_mixture_complete_picks_the_right_component():
    means = torch.tensor([[-5.0, -5.0], [5.0, 5.0]], dtype=torch.float64)
    gm = GaussianMixture(2, "diag").set_params(torch.tensor([0.5, 0.5], dtype=torch.float64), means,
                                               covariances=torch.ones(2, 2, dtype=torch.float64))
    out = gm.complete(torch.tensor([[4.8, 0.0]], dtype=torch.float64), torch.tensor([[True, False]]))
    assert out[0, 1].item() == pytest.approx(5.0, abs=1e-6)


def test_empty_component_is_reseeded_not_nan():
    x = _blobs(n=200, d=2, k=2, seed=4)
    gm = GaussianMixture(3, "full", max_iter=5, tol=0.0)
    far = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1e6, 1e6]], dtype=torch.float64)  # 3rd gets no point
    gm.set_params(torch.full((3,), 1 / 3, dtype=torch.float64), far,
                  covariances=torch.eye(2, dtype=torch.float64).expand(3, 2, 2).clone())
    gm.fit(x, warm_start=True)
    assert gm.reseeded >= 1
    for t in (gm.weights, gm.means, gm.covariances, gm.log_prob(x)):
        assert torch.isfinite(t).all()
    assert (gm.weights > 0).all()


def test_empty_bernoulli_component_stays_finite():
    x, _ = _binary(n=100, d=10)
    bm = BernoulliMixture(2, max_iter=3, tol=0.0, seed=0).initialize(x)
    log_resp = torch.full((100, 2), -math.inf)
    log_resp[:, 0] = 0.0  # every sample to component 0: component 1 is empty
    bm.m_step(x, log_resp)
    assert bm.reseeded == 1 and torch.isfinite(bm.theta).all() and torch.isfinite(bm.log_prob(x)).all()


# ---------------------------------------------------------------- Bernoulli mixture


def test_bernoulli_mixture_log_prob_matches_torch_distributions():
    x, _ = _binary(n=80, d=12)
    bm = BernoulliMixture(3, max_iter=20, seed=0).fit(x)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=bm.weights),
        torch.distributions.Independent(torch.distributions.Bernoulli(probs=bm.theta), 1))
    torch.testing.assert_close(bm.log_prob(x), mix.log_prob(x))
    assert (np.diff(bm.history) > -1e-4).all()


def test_bernoulli_mixture_beats_naive_bayes_on_clustered_data():
    x, _ = _binary(n=600, d=30, seed=5)
    train, test = x[:400], x[400:]
    nb = BernoulliNaiveBayes().fit(train)
    bm = BernoulliMixture(3, seed=0).fit(train)
    assert bm.bits_per_dim(test) < nb.bits_per_dim(test)


def test_bernoulli_mixture_images_sample_and_complete():
    x = torch.zeros(40, 1, 4, 4)
    x[20:, :, :2] = 1.0  # two kinds of image: blank, and top half on
    x[20:, :, 2:] = 1.0
    bm = BernoulliMixture(2, alpha=0.01, seed=0).fit(x)
    assert bm.sample(6, seed=0).shape == (6, 1, 4, 4)
    mask = torch.zeros_like(x, dtype=torch.bool)
    mask[:, :, :2] = True  # top half observed
    out = bm.complete(x, mask)
    assert out.shape == x.shape
    assert out[25, 0, 3].min().item() > 0.9 and out[5, 0, 3].max().item() < 0.1
    torch.testing.assert_close(out[mask], x[mask])
    assert bm.num_parameters == 1 + 2 * 16
    assert bm.bic(x) == pytest.approx(-2 * bm.log_prob(x).sum().item() + 33 * math.log(40), rel=1e-6)


def test_scoreboard_rows():
    x, y = _binary(n=200, d=16, seed=6)
    models = density.fit_digit_baselines(x.reshape(200, 1, 4, 4), y, num_components=(2, 3), max_iter=10)
    board = density.scoreboard(models, x.reshape(200, 1, 4, 4))
    assert list(board) == ["naive Bayes", "naive Bayes | class", "Bernoulli mixture K=2",
                           "Bernoulli mixture K=3"]
    assert all(0 < v < 1.01 for v in board.values())


# ---------------------------------------------------------------- bad input


def test_nan_and_inf_are_counted_and_located():
    x = torch.randn(10, 2)
    x[3, 1] = float("nan")
    x[7, 0] = float("inf")
    with pytest.raises(ValueError, match=r"2 NaN/inf.*\(3, 1\)"):
        GaussianMixture(2).fit(x)
    with pytest.raises(ValueError, match="1 NaN/inf"):
        density.gaussian_mle(torch.tensor([1.0, float("nan")]))


def test_non_binary_input_names_the_range():
    with pytest.raises(ValueError, match=r"binary.*\[0, 1\] with 1 non-binary value\(s\) such as 0\.7"):
        BernoulliNaiveBayes().fit(torch.tensor([[0.0, 0.7], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"\[-1, 2\]"):
        BernoulliMixture(1).fit(torch.tensor([[-1.0, 2.0]]))


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"num_components must be at most the number of samples \(5\), got 6"):
        GaussianMixture(6).fit(torch.randn(5, 2))
    with pytest.raises(ValueError, match="num_components must be at most"):
        BernoulliMixture(4).fit(torch.ones(3, 2))
    for alpha in (0, -1.0):
        with pytest.raises(ValueError, match=f"alpha must be a positive number.*{alpha}"):
            BernoulliNaiveBayes(alpha=alpha)
        with pytest.raises(ValueError, match="alpha must be a positive"):
            BernoulliMixture(2, alpha=alpha)
    with pytest.raises(ValueError, match=r"covariance must be one of 'full', 'diag'; got 'spherical'"):
        GaussianMixture(2, covariance="spherical")
    with pytest.raises(ValueError, match="init must be one of"):
        GaussianMixture(2, init="kmeans")
    with pytest.raises(ValueError, match="num_components must be a positive int"):
        GaussianMixture(0)


def test_runs_on_input_device_and_dtype():
    x = _blobs(n=100, d=2, k=2, dtype=torch.float32)
    gm = GaussianMixture(2, seed=0).fit(x)
    assert gm.means.dtype == torch.float32 and gm.means.device == x.device
    assert gm.log_prob(x).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_matches_cpu():
    x = _blobs(n=500, d=3, k=3)
    cpu = GaussianMixture(3, max_iter=5, tol=0.0, seed=0).initialize(x)
    gpu = GaussianMixture(3, max_iter=5, tol=0.0).set_params(
        cpu.weights.cuda(), cpu.means.cuda(), covariances=cpu.covariances.cuda())
    cpu.fit(x, warm_start=True)
    gpu.fit(x.cuda(), warm_start=True)
    torch.testing.assert_close(gpu.log_prob(x.cuda()).cpu(), cpu.log_prob(x))


# ---------------------------------------------------------------- widgets, driven as a student would


def test_mle_dashboard_steps_climb_to_the_mle():
    from gan_course.widgets.mle import MLEDashboard

    x = torch.from_numpy(scipy.stats.norm(2.0, 0.5).rvs(size=300, random_state=0))
    dash = MLEDashboard(x, mean=0.0, std=1.5)
    start = dash.log_likelihood()
    dash.buttons["step"].click()
    assert dash.log_likelihood() > start and dash.steps_done == 1
    dash.run(200)
    assert dash.frames and dash.frames[-1].startswith(b"\x89PNG")
    assert dash.mean == pytest.approx(dash.mle[0], abs=0.02)
    assert dash.std == pytest.approx(dash.mle[1], rel=0.02)
    assert "MLE" in dash.status()
    dash.set(mean=1.0)  # a slider move redraws and restarts the path
    assert dash.path == [(dash.mean, dash.std)]
    dash.reset_button.click()
    assert (dash.mean, dash.std) == pytest.approx((0.0, 1.5))


def test_mle_dashboard_rejects_bad_data():
    from gan_course.widgets.mle import MLEDashboard

    with pytest.raises(ValueError, match="1-D tensor"):
        MLEDashboard(torch.randn(10, 2))


def test_em_dashboard_e_then_m_increases_log_likelihood():
    from gan_course.widgets.em import EMDashboard

    x = _blobs(n=300, d=2, k=3, seed=7)
    dash = EMDashboard(x, num_components=3, seed=0)
    before = dash.log_likelihood()
    dash.buttons["e_step"].click()
    assert dash.phase == "after E" and dash.log_resp is not None
    torch.testing.assert_close(dash.log_resp.exp().sum(1), torch.ones(300, dtype=torch.float64))
    dash.buttons["m_step"].click()
    assert dash.log_likelihood() > before
    dash.run(15)
    assert dash.steps_done == 17 and len(dash.curve) == 1 + 16
    assert (np.diff(dash.curve) > -1e-9).all()
    assert dash.frames[-1].startswith(b"\x89PNG")
    dash.k_slider.value = 4  # changing K resets to a fresh model
    assert dash.model.num_components == 4 and dash.steps_done == 0 and len(dash.curve) == 1


# ---------------------------------------------------------------- KDE, histogram, logistic regression


def test_kde_matches_scipy_gaussian_kde():
    data = torch.from_numpy(scipy.stats.norm(0, 1).rvs(size=50, random_state=2))
    query = torch.linspace(-3, 3, 11, dtype=torch.float64)
    h = 0.4
    ref = scipy.stats.gaussian_kde(data.numpy(), bw_method=h / data.numpy().std(ddof=1))
    np.testing.assert_allclose(density.kde_log_prob(data, query, h).numpy(), ref.logpdf(query.numpy()),
                               rtol=1e-8)
    with pytest.raises(ValueError, match="bandwidth must be a positive number, got 0"):
        density.kde_log_prob(data, query, 0)


def test_histogram_log_prob_integrates_to_one_and_overfits():
    data = torch.tensor([0.1, 0.2, 0.6, 0.65, 0.7])
    grid = torch.linspace(0.0005, 0.9995, 1000)
    p = density.histogram_log_prob(data, grid, bins=4, value_range=(0.0, 1.0)).exp()
    assert p.mean().item() == pytest.approx(1.0, rel=1e-3)  # integral over [0, 1]
    assert density.histogram_log_prob(data, torch.tensor([0.3]), 4, (0, 1)).item() == -math.inf
    assert math.isfinite(density.histogram_log_prob(data, torch.tensor([0.3]), 4, (0, 1), alpha=1).item())


def test_logistic_regression_separates_and_agrees_with_naive_bayes_on_easy_data():
    x, y = _binary(n=300, d=20, seed=8)
    lr = density.LogisticRegression(weight_decay=1e-3).fit(x, y)
    acc_lr = (lr.predict(x) == y).float().mean().item()
    acc_nb = (BernoulliNaiveBayes().fit(x, y).predict(x) == y).float().mean().item()
    assert acc_lr > 0.9 and acc_nb > 0.9 and lr.weight.shape == (3, 20)


def test_baseline_scoreboard_on_bundled_digits_mixture_beats_naive_bayes():
    board = density.baseline_scoreboard(num_components=(10,), max_iter=10)
    assert set(board) == {"naive Bayes", "naive Bayes | class", "Bernoulli mixture K=10"}
    assert board["Bernoulli mixture K=10"] < board["naive Bayes"] < 1.0
    assert board["naive Bayes | class"] < board["naive Bayes"]


def test_density_plot_helpers_draw():
    from gan_course.plots import new_figure, plot_gmm_2d, responsibility_colors, scoreboard_bars

    x = _blobs(n=200, d=2, k=2, seed=9)
    gm = GaussianMixture(2, "diag", seed=0).fit(x)
    fig = new_figure()
    ax1, ax2 = fig.subplots(1, 2)
    plot_gmm_2d(ax1, x, gm, gm.predict_proba(x), title="fit")
    assert len(ax1.patches) == 2 * 2  # a 1- and a 2-sigma ellipse per component
    colors = responsibility_colors(torch.tensor([[1.0, 0.0], [0.5, 0.5]]))
    assert colors.shape == (2, 3) and (colors >= 0).all() and (colors <= 1).all()
    scoreboard_bars(ax2, {"a": 0.4, "b": 0.3})
    assert len(ax2.patches) == 2


def test_set_params_validates_shapes():
    gm = GaussianMixture(2, "full")
    means = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="weights must be 2 non-negative"):
        gm.set_params(torch.tensor([1.0, -1.0]), means, covariances=torch.eye(3).expand(2, 3, 3))
    with pytest.raises(ValueError, match=r"full covariances/precisions must have shape \(2, 3, 3\)"):
        gm.set_params(torch.tensor([0.5, 0.5]), means, covariances=torch.ones(2, 3))
    with pytest.raises(ValueError, match="exactly one of covariances and precisions"):
        gm.set_params(torch.tensor([0.5, 0.5]), means)


def test_kmeans_labels_match_sklearn_and_refuse_bad_input():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    gen = torch.Generator().manual_seed(0)
    centers = 6.0 * torch.eye(5, 4, dtype=torch.float64)  # 5 centers 6 or more apart
    x = centers[torch.arange(600) % 5] + 0.5 * torch.randn(600, 4, generator=gen, dtype=torch.float64)
    labels = density.kmeans_labels(x, 5, gen=torch.Generator().manual_seed(0))
    reference = KMeans(5, n_init=10, random_state=0).fit(x.numpy()).labels_
    assert labels.shape == (600,) and adjusted_rand_score(reference, labels.numpy()) == pytest.approx(1.0)
    # a Lloyd fixed point: every point sits with its nearest center
    centers = torch.stack([x[labels == j].mean(0) for j in range(5)])
    assert torch.equal(torch.cdist(x, centers).argmin(1), labels)
    with pytest.raises(ValueError, match="init must be one of"):
        density.kmeans_labels(x, 5, init="forgy")
    with pytest.raises(ValueError, match=r"k \(601\) must be at most the number of rows of x \(600\)"):
        density.kmeans_labels(x, 601)
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        density.kmeans_labels(x, 0)
