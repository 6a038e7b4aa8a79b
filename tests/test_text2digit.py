"""Text to digit: the matching-aware loss on hand-made cases, the two-caption discriminator, the
caption stream, the read-back measures, a tiny run of ``train_text2digit`` and sampling; bad input."""

import json
import math

import numpy as np
import pytest
import torch

from gan_course import attributes, captions, classifier, data, semi_supervised, text2digit as t2d
from gan_course.specs import TrainerConfig
from gan_course.train import GANTrainer

TINY = t2d.TextSpec(latent_dim=4, text_dim=4, width_g=4, width_d=4)


def test_matching_aware_loss_by_hand():
    rr, rw, fr = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0]), torch.tensor([-2.0, 0.0])
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    expected = (sp(-2) + sp(1)) / 2 + 0.5 * ((sp(0.5) + sp(3)) / 2 + (sp(-2) + sp(0)) / 2)
    assert t2d.matching_aware_d_loss(rr, rw, fr).item() == pytest.approx(expected, rel=1e-6)
    pair_real, pair_fake = torch.stack([rr, rw], 1), torch.stack([fr, torch.full((2,), 99.0)], 1)  # (B, 2)
    assert t2d.pair_d_loss(pair_real, pair_fake).item() == pytest.approx(expected, rel=1e-6)  # fake-wrong unused
    assert t2d.pair_g_loss(pair_fake).item() == pytest.approx((sp(2) + sp(0)) / 2, rel=1e-6)


def test_bag_of_words_ignores_padding_and_order():
    bow = t2d.BagOfWords(3)
    a, b = captions.tokenize("a bold seven"), captions.tokenize("seven bold a")
    torch.testing.assert_close(bow(a[None]), bow(b[None]))
    assert torch.equal(bow(torch.zeros(1, captions.MAX_WORDS, dtype=torch.long)), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="word indices"):
        bow(torch.zeros(2, 3))


def test_discriminator_gives_right_and_wrong_logits():
    torch.manual_seed(0)
    d, g = t2d.MatchingDiscriminator(TINY), t2d.TextToDigitGenerator(TINY)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    right, wrong = captions.tokenize_all(["a one", "a two", "a three"]), captions.tokenize_all(["a four"] * 3)
    pair = d(x, torch.stack([right, wrong], 1))  # (3, 2)
    torch.testing.assert_close(pair[:, 0], d(x, right))
    torch.testing.assert_close(pair[:, 1], d(x, wrong))
    assert g(torch.randn(3, 4), right).shape == (3, 1, 28, 28)
    g.eval()
    z = torch.randn(3, 4)
    torch.testing.assert_close(g(z, torch.stack([right, wrong], 1)), g(z, right))  # pairs: the first is read
    assert g(z).shape == (3, 1, 28, 28)  # no caption: the empty one


def test_caption_pairs_never_pair_a_digit_with_its_own_caption():
    x = torch.zeros(30, 1, 28, 28)
    tokens = captions.tokenize_all([captions.caption(k % 3) for k in range(30)])
    stream = t2d.CaptionPairs(x, tokens, 16, seed=0)
    for _ in range(5):
        xb, pairs = next(stream)
        assert xb.shape == (16, 1, 28, 28) and pairs.shape == (16, 2, captions.MAX_WORDS)
        assert not (pairs[:, 0] == pairs[:, 1]).all(dim=1).any()


def test_the_gan_trainer_takes_the_caption_stream_and_the_loss_pair():
    torch.manual_seed(0)
    x = torch.rand(20, 1, 28, 28) * 2 - 1
    tokens = captions.tokenize_all([captions.caption(k % 10, "bold") for k in range(20)])
    trainer = GANTrainer(t2d.TextToDigitGenerator(TINY), t2d.MatchingDiscriminator(TINY),
                         t2d.CaptionPairs(x, tokens, 8, 0), loss=(t2d.pair_d_loss, t2d.pair_g_loss),
                         config=TrainerConfig(loss="custom", batch_size=8, device="cpu", precision="fp32"))
    trainer.fit(steps=2, progress=False)
    assert trainer.global_step == 2 and all(math.isfinite(v) for v in trainer.history["d_loss"])


def test_read_back_on_real_digits_with_their_own_captions():
    x, y = data.mnist("test", source="bundled")
    x, y = x[:200], y[:200]
    th = attributes.fit_thresholds(x)
    t, s = attributes.thickness(x), attributes.slant(x)
    asked = [captions.Request(int(k), "bold" if a > th.thickness_median else "thin",
                              "right" if b > th.slant_median else "left") for k, a, b in zip(y, t, s)]
    r = t2d.read_back(x, asked, th, classifier.load_classifier())
    assert r["thickness_readback"] == 1.0 and r["slant_readback"] == 1.0 and r["digit_accuracy"] > 0.95
    flipped = [captions.Request(a.digit, "thin" if a.thickness == "bold" else "bold", a.slant) for a in asked]
    assert t2d.read_back(x, flipped, th, classifier.load_classifier())["thickness_readback"] == 0.0


def test_evaluation_prompts_and_spread():
    texts, asked = t2d.evaluation_prompts(per_prompt=2)
    assert len(texts) == 80 and texts[0] == texts[1] == "a thin zero slanted left" and asked[-1].digit == 9
    same = torch.rand(1, 1, 28, 28).repeat(6, 1, 1, 1)
    assert t2d.within_prompt_spread(same, 3) == 0.0
    assert t2d.within_prompt_spread(torch.rand(6, 1, 28, 28), 3) > 0.1


@pytest.mark.slow
def test_train_text2digit_on_a_tiny_budget_and_sample(tmp_path, one_thread):
    grids = []
    result = t2d.train_text2digit(tmp_path, minutes=2, seed=0, spec=TINY, steps=2, regression_steps=2,
                                  batch_size=8, write_grid=lambda path, x: grids.append((path.name, tuple(x.shape))))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("digit_accuracy", "thickness_readback", "slant_readback", "sharpness", "within_prompt_spread"):
        assert 0 <= saved[key] <= 1 and key in saved["baseline"]
    assert saved["steps"] == 2 and saved["regression_steps"] == 2 and result["steps"] == 2
    assert grids == [("grid.png", (100, 1, 28, 28))]
    weights = tmp_path / "weights.pt"
    x = t2d.sample_text2digit(weights, 4, seed=0, prompt="a bold seven slanted right")
    assert x.dtype == np.uint8 and x.shape == (4, 28, 28)
    assert t2d.sample_text2digit(weights, 3, digit=2).shape == (3, 28, 28)
    assert t2d.sample_text2digit(weights, 3).shape == (3, 28, 28)
    with pytest.raises(ValueError, match=r"unknown word\(s\) 'purple'.*vocabulary is"):
        t2d.sample_text2digit(weights, 2, prompt="a purple seven")
    with pytest.raises(ValueError, match="digit or prompt, not both"):
        t2d.sample_text2digit(weights, 2, digit=1, prompt="a one")
    with pytest.raises(ValueError, match="text2digit takes no attribute"):
        t2d.sample_text2digit(weights, 2, attribute=1.0)
    with pytest.raises(ValueError, match="'text2digit_weights' checkpoint, but a 'semi_weights'"):
        semi_supervised.sample_semi(weights, 2)


def test_sample_text2digit_refuses_a_bad_prompt_before_loading(tmp_path):
    with pytest.raises(ValueError, match="unknown word"):
        t2d.sample_text2digit(tmp_path / "nothing.pt", 2, prompt="a seven slanted up")
    with pytest.raises(ValueError, match="n must be a positive int"):
        t2d.sample_text2digit(tmp_path / "nothing.pt", 0)
