"""gan_course.hmm against hmmlearn (same parameters: log_prob, Viterbi, one Baum–Welch step),
closed forms (brute-force sums over every state path), sampling frequencies and bad-input errors."""

import itertools
import math

import numpy as np
import pytest
import scipy.stats
import torch

from gan_course.hmm import HiddenMarkovModel, backward, forward, viterbi_decode

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
threadpool_limits = pytest.importorskip("threadpoolctl").threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread_everywhere(one_thread):
    """Sequences loop over time steps on tiny tensors: one torch thread is several times faster; the references' BLAS on one thread too (on a busy 2-core machine, extra
    threads made scikit-learn's fit 20x slower)."""
    with threadpool_limits(1):
        yield

CASINO_START = [0.5, 0.5]
CASINO_TRANSITION = [[0.95, 0.05], [0.10, 0.90]]  # fair -> loaded 5 %, loaded -> fair 10 % (Durbin et al.)
CASINO_EMISSION = [[1 / 6] * 6, [0.1] * 5 + [0.5]]  # the loaded die shows a six half the time


def _rows(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    p = torch.rand(*shape, generator=gen, dtype=torch.float64) + 0.1
    return p / p.sum(-1, keepdim=True)


def _categorical_pair(k=3, m=4, seed=0):
    start, transition, emission = _rows(k, seed=seed), _rows(k, k, seed=seed + 1), _rows(k, m, seed=seed + 2)
    ours = HiddenMarkovModel.from_parameters(start, transition, emission)
    ref = hmmlearn_hmm.CategoricalHMM(k, n_features=m, init_params="", params="ste")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = start.numpy(), transition.numpy(), emission.numpy()
    return ours, ref


def _gaussian_pair(k=3, d=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    start, transition = _rows(k, seed=seed), _rows(k, k, seed=seed + 1)
    means = 2 * torch.randn(k, d, generator=gen, dtype=torch.float64)
    variances = torch.rand(k, d, generator=gen, dtype=torch.float64) + 0.3
    ours = HiddenMarkovModel.from_gaussian_parameters(start, transition, means, variances)
    ref = hmmlearn_hmm.GaussianHMM(k, covariance_type="diag", init_params="", params="stmc")
    ref.startprob_, ref.transmat_, ref.means_, ref.covars_ = (start.numpy(), transition.numpy(), means.numpy(),
                                                               variances.numpy())
    return ours, ref


def _path_log_prob(start, transition, emission, path, x):
    """log p(x, z = path), written out directly."""
    path = torch.as_tensor(path)
    return float(start.log()[path[0]] + transition.log()[path[:-1], path[1:]].sum() + emission.log()[path, x].sum())


# ----------------------------------------------------------------------- against hmmlearn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_categorical_log_prob_matches_hmmlearn(seed):
    ours, ref = _categorical_pair(seed=seed)
    x = torch.randint(4, (300,), generator=torch.Generator().manual_seed(seed))
    assert ours.log_prob(x).item() == pytest.approx(ref.score(x.numpy()[:, None]), rel=1e-6)
    batch = torch.randint(4, (5, 40), generator=torch.Generator().manual_seed(seed + 10))
    expected = [ref.score(s.numpy()[:, None]) for s in batch]
    np.testing.assert_allclose(ours.log_prob(batch).numpy(), expected, rtol=1e-6)


def test_categorical_viterbi_matches_hmmlearn_up_to_exact_ties():
    """Discrete sequences can have several most probable paths with exactly equal probability (a
    repeated symbol lets two states swap); the path must be hmmlearn's or tie with it exactly."""
    ours, ref = _categorical_pair()
    start, transition, emission = ours.start_prob, ours.transition, ours.emission.probs
    identical = 0
    for seed in range(10):
        x = torch.randint(4, (100,), generator=torch.Generator().manual_seed(seed))
        ref_log_prob, ref_path = ref.decode(x.numpy()[:, None], algorithm="viterbi")
        path = ours.viterbi(x)
        assert path.dtype == torch.int64 and path.shape == (100,)
        assert _path_log_prob(start, transition, emission, path, x) == pytest.approx(ref_log_prob, rel=1e-9)
        identical += int(np.array_equal(path.numpy(), ref_path))
    assert identical >= 3


def test_casino_viterbi_equals_hmmlearn_exactly():
    ours = HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, CASINO_EMISSION)
    ref = hmmlearn_hmm.CategoricalHMM(2, n_features=6, init_params="")
    ref.startprob_, ref.transmat_ = np.array(CASINO_START), np.array(CASINO_TRANSITION)
    ref.emissionprob_ = np.array(CASINO_EMISSION)
    rolls, states = ours.sample(1, 500, seed=3)
    ref_log_prob, ref_path = ref.decode(rolls[0].numpy()[:, None], algorithm="viterbi")
    np.testing.assert_array_equal(ours.viterbi(rolls[0]).numpy(), ref_path)
    assert ours.log_prob(rolls[0]).item() == pytest.approx(ref.score(rolls[0].numpy()[:, None]), rel=1e-6)
    # the story: Viterbi finds the loaded stretches, better than calling every roll fair (2/3 of them are)
    assert (ours.viterbi(rolls[0]) == states[0]).float().mean() > 0.75


@pytest.mark.parametrize("seed", [0, 1])
def test_gaussian_log_prob_and_viterbi_match_hmmlearn(seed):
    ours, ref = _gaussian_pair(seed=seed)
    x, _ = ours.sample(3, 80, seed=seed)
    for s in x:
        assert ours.log_prob(s).item() == pytest.approx(ref.score(s.numpy()), rel=1e-6)
        np.testing.assert_array_equal(ours.viterbi(s).numpy(), ref.decode(s.numpy(), algorithm="viterbi")[1])


def test_one_dimensional_gaussian_sequence_as_a_vector():
    ours = HiddenMarkovModel.from_gaussian_parameters([0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]], [-1.0, 2.0], [1.0, 0.5])
    x = torch.tensor([0.1, -1.2, 2.3, 1.9], dtype=torch.float64)
    assert ours.log_prob(x).item() == pytest.approx(ours.log_prob(x[:, None]).item(), rel=1e-12)


def test_one_baum_welch_step_matches_hmmlearn_categorical():
    ours, ref = _categorical_pair()
    batch = torch.randint(4, (6, 30), generator=torch.Generator().manual_seed(4))
    ref.n_iter = 1
    ref.fit(batch.reshape(-1, 1).numpy(), lengths=[30] * 6)
    ours.em_step(batch)
    np.testing.assert_allclose(ours.start_prob.numpy(), ref.startprob_, atol=1e-10)
    np.testing.assert_allclose(ours.transition.numpy(), ref.transmat_, atol=1e-10)
    np.testing.assert_allclose(ours.emission.probs.numpy(), ref.emissionprob_, atol=1e-10)


def test_one_baum_welch_step_matches_hmmlearn_gaussian_with_variable_lengths():
    ours, ref = _gaussian_pair()
    x, _ = ours.sample(3, 60, seed=5)
    sequences = [x[0], x[1, :35], x[2, :50]]
    ref.n_iter = 1
    ref.fit(torch.cat(sequences).numpy(), lengths=[60, 35, 50])
    ours.em_step(sequences)
    np.testing.assert_allclose(ours.transition.numpy(), ref.transmat_, atol=1e-10)
    np.testing.assert_allclose(ours.emission.means.numpy(), ref.means_, atol=1e-10)
    np.testing.assert_allclose(ours.emission.variances.numpy(), np.diagonal(ref.covars_, axis1=1, axis2=2), atol=1e-10)


def test_baum_welch_never_decreases_the_likelihood():
    truth = HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, CASINO_EMISSION)
    rolls, _ = truth.sample(5, 200, seed=0)
    model = HiddenMarkovModel(3, "categorical", max_iter=40, tol=0.0, seed=1).fit(rolls)
    assert len(model.history) == 40 and model.num_symbols == 6
    assert all(b >= a - 1e-8 for a, b in zip(model.history, model.history[1:]))
    assert model.history[-1] > model.history[0] + 1.0


@pytest.mark.slow
def test_baum_welch_recovers_the_casino_from_a_random_start():
    truth = HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, CASINO_EMISSION)
    rolls, _ = truth.sample(20, 300, seed=0)
    model = HiddenMarkovModel(2, "categorical", num_symbols=6, max_iter=300, seed=0).fit(rolls)
    assert model.converged
    loaded = int(model.emission.probs[:, 5].argmax())  # the state that favours sixes
    assert model.emission.probs[loaded, 5].item() == pytest.approx(0.5, abs=0.06)
    assert model.transition[loaded, loaded].item() == pytest.approx(0.9, abs=0.05)
    assert model.log_prob(rolls).sum() >= truth.log_prob(rolls).sum() - 1.0  # the MLE fits at least as well


# ----------------------------------------------------------------------- closed forms


def test_forward_equals_the_sum_over_every_path():
    start, transition, emission = _rows(3), _rows(3, 3, seed=1), _rows(3, 2, seed=2)
    x = torch.tensor([0, 1, 1, 0, 1])
    brute = [math.exp(_path_log_prob(start, transition, emission, path, x))
             for path in itertools.product(range(3), repeat=len(x))]
    log_emit = emission.log().T[x]  # (T, K)
    _, log_lik = forward(start.log(), transition.log(), log_emit)
    assert log_lik.item() == pytest.approx(math.log(sum(brute)), rel=1e-12)
    paths = list(itertools.product(range(3), repeat=len(x)))
    best = paths[int(np.argmax(brute))]
    path, log_prob = viterbi_decode(start.log(), transition.log(), log_emit)
    assert tuple(path.tolist()) == best and log_prob.item() == pytest.approx(math.log(max(brute)), rel=1e-12)


def test_forward_backward_posteriors_sum_to_one_and_agree_at_every_step():
    model, _ = _categorical_pair()
    x = torch.randint(4, (50,), generator=torch.Generator().manual_seed(1))
    log_emit = model.emission.log_prob(x[None])[0]
    log_alpha, log_lik = forward(model.start_prob.log(), model.transition.log(), log_emit)
    log_beta = backward(model.transition.log(), log_emit)
    per_step = torch.logsumexp(log_alpha + log_beta, dim=1)  # log p(x) from every t
    torch.testing.assert_close(per_step, log_lik.expand(50), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(model.posterior(x).sum(1), torch.ones(50, dtype=torch.float64))


def test_forward_does_not_underflow_on_long_sequences():
    model = HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, CASINO_EMISSION)
    rolls, _ = model.sample(1, 5000, seed=1)
    value = model.log_prob(rolls[0]).item()
    assert math.isfinite(value) and value < -5000  # about -1.7 nats per roll


def test_all_sequences_sum_to_one_and_samples_follow_them():
    model, _ = _categorical_pair(k=2, m=2)
    seqs = torch.tensor(list(itertools.product(range(2), repeat=3)))  # all 8 sequences of length 3
    probs = model.log_prob(seqs).exp()
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-12)
    x, _ = model.sample(4000, 3, seed=0)
    codes = x[:, 0] * 4 + x[:, 1] * 2 + x[:, 2]
    observed = torch.bincount(codes, minlength=8).numpy()
    assert scipy.stats.chisquare(observed, probs.numpy() * 4000).pvalue > 0.001


def test_bernoulli_rows_hmm_fits_and_scores_bits_per_dim():
    gen = torch.Generator().manual_seed(0)
    images = torch.zeros(60, 6, 5)
    images[:30, :3] = 1.0  # top half on
    images[30:, 3:] = 1.0  # bottom half on
    images = torch.where(torch.rand(images.shape, generator=gen) < 0.05, 1 - images, images)
    model = HiddenMarkovModel(2, "bernoulli", alpha=0.01, max_iter=50, seed=0).fit(images)
    bpd = model.bits_per_dim(images).item()
    assert 0 < bpd < 0.5  # far below 1 bit per pixel: the two halves are found
    assert bpd == pytest.approx(-model.log_prob(images).mean().item() / (30 * math.log(2)), rel=1e-9)
    sample, states = model.sample(4, 6, seed=0)
    assert sample.shape == (4, 6, 5) and states.shape == (4, 6) and set(sample.unique().tolist()) <= {0.0, 1.0}


# ----------------------------------------------------------------------- bad input


def test_symbols_outside_the_alphabet_are_refused():
    model = HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, CASINO_EMISSION)
    with pytest.raises(ValueError, match=r"symbol 6 at index \(2,\), outside the emission alphabet \{0, \.\.\., 5\}"):
        model.log_prob(torch.tensor([0, 5, 6, 1]))
    with pytest.raises(ValueError, match="symbol -1"):
        model.viterbi(torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="integer symbols"):
        model.log_prob(torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("transition, message", [
    ([[0.9, 0.2], [0.5, 0.5]], r"transition: each row must sum to 1 .* row 0 sums to 1\.1"),
    ([[1.2, -0.2], [0.5, 0.5]], r"transition must be non-negative probabilities, but row 0 is \[1\.2, -0\.2"),
    ([[1.0, 0.0]], r"transition must have shape \(2, 2\), got \(1, 2\)"),
])
def test_bad_transition_matrices_are_refused(transition, message):
    with pytest.raises(ValueError, match=message):
        HiddenMarkovModel.from_parameters(CASINO_START, transition, CASINO_EMISSION)


def test_bad_start_and_emission_are_refused():
    with pytest.raises(ValueError, match="start_prob: it must sum to 1"):
        HiddenMarkovModel.from_parameters([0.5, 0.6], CASINO_TRANSITION, CASINO_EMISSION)
    with pytest.raises(ValueError, match=r"emission: each row must sum to 1 .* row 1"):
        HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, [[1 / 6] * 6, [0.2] * 6])
    with pytest.raises(ValueError, match=r"emission must have shape \(2, M\)"):
        HiddenMarkovModel.from_parameters(CASINO_START, CASINO_TRANSITION, [[1 / 6] * 6])
    with pytest.raises(ValueError, match="variances must be positive"):
        HiddenMarkovModel.from_gaussian_parameters(CASINO_START, CASINO_TRANSITION, [0.0, 1.0], [1.0, -1.0])


def test_constructor_arguments_are_checked():
    with pytest.raises(ValueError, match="emission must be one of"):
        HiddenMarkovModel(2, "poisson")
    with pytest.raises(ValueError, match="num_states must be a positive int, got 0"):
        HiddenMarkovModel(0)
    with pytest.raises(RuntimeError, match="call fit"):
        HiddenMarkovModel(2).log_prob(torch.tensor([0, 1]))
    gaussian = HiddenMarkovModel.from_gaussian_parameters(CASINO_START, CASINO_TRANSITION, [[0.0, 0.0], [1.0, 1.0]],
                                                          [[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="2 features per step"):
        gaussian.log_prob(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="NaN"):
        gaussian.log_prob(torch.full((5, 2), float("nan")))


def test_the_hmm_is_importable_from_density_as_the_issue_asks():
    from gan_course import density, hmm
    assert density.HiddenMarkovModel is hmm.HiddenMarkovModel
