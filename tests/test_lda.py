"""gan_course.lda: the collapsed joint against the Dirichlet-multinomial (scipy), the exact sampler's
stationary distribution against enumeration, bar recovery beside scikit-learn's LDA, bad input."""

import itertools

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from gan_course import lda
from gan_course.lda import LatentDirichletAllocation


@pytest.fixture(autouse=True)
def _small_tensors_on_one_thread(one_thread):
    """The parallel sampler loops over word positions on small tensors: one thread is faster."""


# ----------------------------------------------------------------------- corpora


def test_bars_are_the_rows_and_columns_of_a_grid():
    topics = lda.bars_topics(5)
    assert topics.shape == (10, 25)
    torch.testing.assert_close(topics.sum(1), torch.ones(10))
    images = topics.reshape(10, 5, 5) > 0
    for b in range(5):
        assert images[b, b].all() and images[b].sum() == 5  # horizontal bar b: row b
        assert images[5 + b, :, b].all() and images[5 + b].sum() == 5  # vertical bar b: column b


def test_bars_corpus_word_frequencies_follow_the_mixture():
    corpus = lda.bars_corpus(400, 200, seed=0)
    assert corpus.docs.shape == (400, 200) and corpus.vocab_size == 25
    torch.testing.assert_close(corpus.doc_topic.sum(1), torch.ones(400))
    counts = lda.word_counts(corpus.docs, 25)
    assert counts.sum(1).eq(200).all()
    expected = (corpus.doc_topic.double() @ corpus.topics.double()).sum(0) * 200  # E[count of each word]
    assert scipy.stats.chisquare(counts.sum(0).numpy(), expected.numpy() * 80000 / expected.sum().item()).pvalue > 1e-3


def test_images_to_documents_lists_the_on_pixels():
    x = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [1.0, 0.0]]])
    corpus = lda.images_to_documents(x)
    assert corpus.vocab_size == 4
    assert corpus.docs.tolist() == [[0, 3], [2, -1]]
    torch.testing.assert_close(lda.word_counts(corpus.docs, 4), x.reshape(2, 4))


def test_match_topics_is_the_best_assignment():
    gen = torch.Generator().manual_seed(0)
    est, ref = torch.rand(5, 8, generator=gen), torch.rand(4, 8, generator=gen)
    index, cosine = lda.match_topics(est, ref)
    sims = torch.nn.functional.normalize(ref.double(), dim=1) @ torch.nn.functional.normalize(est.double(), dim=1).T
    best = max(itertools.permutations(range(5), 4), key=lambda p: sum(sims[r, c].item() for r, c in enumerate(p)))
    assert tuple(index.tolist()) == best
    torch.testing.assert_close(cosine, sims[torch.arange(4), index])


# ----------------------------------------------------------------------- the collapsed model


def test_collapsed_joint_is_a_product_of_dirichlet_multinomials():
    gen = torch.Generator().manual_seed(1)
    docs = torch.randint(6, (4, 7), generator=gen)
    docs[3, 5:] = -1  # a shorter document
    z = torch.randint(3, (4, 7), generator=gen)
    alpha, beta = 0.7, 0.3
    got = lda.collapsed_log_joint(z, docs, 3, 6, alpha, beta)

    def ordered_dm(counts, prior):  # log p of one ordered sequence with these counts
        n = counts.sum()
        coefficient = scipy.special.gammaln(n + 1) - scipy.special.gammaln(counts + 1).sum()
        return scipy.stats.dirichlet_multinomial.logpmf(counts, np.full(len(counts), prior), n) - coefficient

    mask = docs >= 0
    expected = 0.0
    for k in range(3):
        expected += ordered_dm(np.bincount(docs[mask & (z == k)].numpy(), minlength=6), beta)
    for d in range(4):
        expected += ordered_dm(np.bincount(z[d][mask[d]].numpy(), minlength=3), alpha)
    assert got == pytest.approx(expected, rel=1e-10)


def test_topic_conditional_is_the_ratio_of_collapsed_joints():
    gen = torch.Generator().manual_seed(2)
    docs, z = torch.randint(5, (3, 6), generator=gen), torch.randint(4, (3, 6), generator=gen)
    alpha, beta, d, i = 0.5, 0.2, 1, 3
    joints = []
    for k in range(4):
        z_k = z.clone()
        z_k[d, i] = k
        joints.append(lda.collapsed_log_joint(z_k, docs, 4, 5, alpha, beta))
    expected = torch.softmax(torch.tensor(joints, dtype=torch.float64), 0)
    rest = torch.ones_like(docs, dtype=torch.bool)
    rest[d, i] = False  # the counts without word (d, i)
    n_dk = torch.bincount(z[d][rest[d]], minlength=4).double()
    n_kw = torch.tensor([((z == k) & (docs == docs[d, i]) & rest).sum().item() for k in range(4)], dtype=torch.float64)
    n_k = torch.bincount(z[rest], minlength=4).double()
    torch.testing.assert_close(lda.topic_conditional(n_dk, n_kw, n_k, alpha, beta, 5), expected)


def test_sequential_sampler_samples_the_exact_posterior():
    """Two documents of three words, K = 2: all 64 topic assignments enumerated."""
    docs = torch.tensor([[0, 0, 1], [2, 1, 2]])
    alpha, beta = 0.5, 0.5
    configs = torch.tensor(list(itertools.product(range(2), repeat=6)))  # (64, 6)
    log_p = torch.tensor([lda.collapsed_log_joint(c.reshape(2, 3), docs, 2, 3, alpha, beta) for c in configs])
    exact = torch.softmax(log_p, 0)
    model = LatentDirichletAllocation(2, alpha=alpha, beta=beta, sweeps=1, sampler="sequential", seed=0).fit(docs, 3)
    codes = torch.zeros(64)
    powers = 2 ** torch.arange(5, -1, -1)
    for _ in range(6000):
        model.sweep()
        codes[int((model.z.reshape(-1) * powers).sum())] += 1
    total_variation = 0.5 * (codes / codes.sum() - exact.float()).abs().sum().item()
    # measured: 0.036-0.041 over seeds 0-4; a sampler that leaves word i in its own counts gives 0.093
    assert total_variation < 0.06


# ----------------------------------------------------------------------- recovering the bars


def test_parallel_sampler_recovers_all_ten_bars():
    corpus = lda.bars_corpus(200, 100, seed=0)
    model = LatentDirichletAllocation(10, alpha=1.0, beta=0.1, sweeps=100, seed=0).fit(corpus)
    _, cosine = lda.match_topics(model.topic_word, corpus.topics)
    assert cosine.min() >= 0.9
    assert model.history[-1] > model.history[0]
    torch.testing.assert_close(model.topic_word.sum(1), torch.ones(10))
    torch.testing.assert_close(model.doc_topic.sum(1), torch.ones(200))
    # fold-in: the topic proportions of new documents, with the topics fixed
    fresh = lda.bars_corpus(50, 100, seed=1)
    index, _ = lda.match_topics(model.topic_word, fresh.topics)
    theta = model.transform(fresh, sweeps=30)[:, index]  # (50, 10) in the true topics' order
    r = np.corrcoef(theta.flatten().numpy(), fresh.doc_topic.flatten().numpy())[0, 1]
    assert r > 0.8  # 100 words per document leave the proportions noisy; unrelated ones give r near 0
    docs = model.sample(3, 40, seed=0)
    assert docs.shape == (3, 40) and 0 <= docs.min() and docs.max() < 25


@pytest.mark.slow
def test_gibbs_and_sklearn_find_the_same_bars():
    sklearn_decomposition = pytest.importorskip("sklearn.decomposition")
    corpus = lda.bars_corpus(300, 100, seed=0)
    ours = LatentDirichletAllocation(10, alpha=1.0, beta=0.1, sweeps=150, seed=0).fit(corpus)
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ref = sklearn_decomposition.LatentDirichletAllocation(10, doc_topic_prior=1.0, topic_word_prior=0.1,
                                                          learning_method="batch", max_iter=100, random_state=0)
    with threadpoolctl.threadpool_limits(1):  # small matrices: extra BLAS threads only slow it down
        ref.fit(lda.word_counts(corpus.docs, 25).numpy())
    _, ours_to_bars = lda.match_topics(ours.topic_word, corpus.topics)
    _, ref_to_bars = lda.match_topics(torch.from_numpy(ref.components_), corpus.topics)
    assert ours_to_bars.min() >= 0.9 and ref_to_bars.min() >= 0.9
    _, ours_to_ref = lda.match_topics(ours.topic_word, torch.from_numpy(ref.components_))
    assert ours_to_ref.min() >= 0.9


# ----------------------------------------------------------------------- bad input


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"word 30 at index \(1, 2\), outside the vocabulary \{0, \.\.\., 24\}"):
        LatentDirichletAllocation(3).fit(torch.tensor([[0, 1, 2], [3, 4, 30]]), vocab_size=25)
    with pytest.raises(ValueError, match=r"docs must be a \(D, L\) integer tensor"):
        LatentDirichletAllocation(3).fit(torch.rand(4, 5))
    with pytest.raises(ValueError, match="num_topics must be a positive int, got 0"):
        LatentDirichletAllocation(0)
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        LatentDirichletAllocation(3, alpha=0.0)
    with pytest.raises(ValueError, match="sampler must be one of"):
        LatentDirichletAllocation(3, sampler="fast")
    with pytest.raises(RuntimeError, match="call fit"):
        LatentDirichletAllocation(3).topic_word
    with pytest.raises(ValueError, match="binary"):
        lda.images_to_documents(torch.full((2, 3), 0.5))
