"""The generative process of appendix B1: its statistics match its parameters; the split is by time."""

import dataclasses

import pytest
import torch

from gan_course.recsys_data import (COMPANIONS, RecsysConfig, check_ids, generate, infer_language, session_counts,
                                    split_by_time)

SMALL = RecsysConfig(num_users=300, num_items=60, mean_sessions=8.0)


@pytest.fixture(scope="module")
def world():
    return generate(SMALL, seed=3)


def test_same_seed_same_world_other_seed_other_world():
    a, b, c = generate(SMALL, 1), generate(SMALL, 1), generate(SMALL, 2)
    assert torch.equal(a.sessions.items, b.sessions.items) and torch.equal(a.user_taste, b.user_taste)
    assert not torch.equal(a.user_taste, c.user_taste)


def test_shapes_and_defaults(world):
    s = world.sessions
    assert s.items.shape == (len(s), SMALL.session_length)
    assert world.item_features.shape == (SMALL.num_items, SMALL.dim)
    assert world.companion_shift.shape == (len(COMPANIONS), SMALL.dim)
    assert RecsysConfig().num_companions == len(COMPANIONS)


def test_context_frequencies_match_their_probabilities(world):
    s = world.sessions
    n = len(s)
    for values, probs in ((s.companion, SMALL.companion_probs), (s.mood, SMALL.mood_probs)):
        freq = torch.bincount(values, minlength=len(probs)).double() / n
        se = (torch.tensor(probs, dtype=torch.float64) * (1 - torch.tensor(probs)) / n).sqrt()
        assert ((freq - torch.tensor(probs, dtype=torch.float64)).abs() < 5 * se).all()


def test_sessions_per_user_is_one_plus_poisson(world):
    per_user = torch.bincount(world.sessions.user, minlength=SMALL.num_users).double()
    assert per_user.min() >= 1
    se = (SMALL.mean_sessions - 1) ** 0.5 / SMALL.num_users ** 0.5
    assert abs(per_user.mean().item() - SMALL.mean_sessions) < 5 * se


def test_items_follow_the_true_softmax(world):
    """Empirical item frequencies against the average of the true p(i | u, l, c, m) over sessions."""
    s = world.sessions
    expected = torch.softmax(world.true_logits(s.user, s.companion, s.mood), 1).mean(0)  # (I,)
    counts = torch.bincount(s.items.flatten(), minlength=SMALL.num_items).double()
    empirical = counts / counts.sum()
    assert 0.5 * (empirical - expected).abs().sum() < 0.05  # total variation
    # and per companion: the context really shifts the distribution
    by_companion = [torch.bincount(s.items[s.companion == c].flatten(), minlength=SMALL.num_items).double()
                    for c in range(SMALL.num_companions)]
    p0, p3 = (x / x.sum() for x in (by_companion[0], by_companion[3]))
    assert 0.5 * (p0 - p3).abs().sum() > 0.2


def test_language_correlates_with_country(world):
    agree = (world.user_country == world.user_language).double().mean().item()
    expected = SMALL.home_country_prob + (1 - SMALL.home_country_prob) / SMALL.num_languages
    assert abs(agree - expected) < 0.08
    assert abs(world.declared.double().mean().item() - SMALL.declared_prob) < 0.08


def test_times_are_after_sign_up_and_sorted_within_user(world):
    s = world.sessions
    assert ((s.time >= 0) & (s.time <= 1)).all()
    same_user = s.user[1:] == s.user[:-1]
    assert (s.time[1:][same_user] >= s.time[:-1][same_user]).all()


def test_split_by_time(world):
    split = split_by_time(world)
    assert (split.train.time < SMALL.split_time).all() and (split.test.time >= SMALL.split_time).all()
    assert len(split.train) + len(split.test) == len(world.sessions)
    assert torch.equal(split.revealed, split.test.items[:, :SMALL.reveal])
    for row in range(5):
        expected = set(split.test.items[row, SMALL.reveal:].tolist())
        assert set(split.targets[row].nonzero().flatten().tolist()) == expected
    assert split.targets.any(1).all()


def test_session_counts_and_bad_ids(world):
    counts = session_counts(world.sessions, SMALL.num_users, SMALL.num_items)
    assert torch.equal(counts.sum(1), torch.full((len(world.sessions),), float(SMALL.session_length)))
    bad_items = dataclasses.replace(world.sessions, items=world.sessions.items.clone())
    bad_items.items[0, 0] = SMALL.num_items
    with pytest.raises(ValueError, match=rf"item ids must lie in \[0, {SMALL.num_items - 1}\].*got {SMALL.num_items}"):
        session_counts(bad_items, SMALL.num_users, SMALL.num_items)
    bad_users = dataclasses.replace(world.sessions, user=world.sessions.user.clone())
    bad_users.user[3] = -2
    with pytest.raises(ValueError, match=r"user ids must lie in \[0, 299\].*got -2"):
        session_counts(bad_users, SMALL.num_users, SMALL.num_items)


def test_check_ids_refuses_floats():
    with pytest.raises(ValueError, match="user must be an integer tensor"):
        check_ids("user", torch.tensor([0.0, 1.0]), 3)
    assert torch.equal(check_ids("user", torch.tensor([0, 2]), 3), torch.tensor([0, 2]))


def test_infer_language_by_hand():
    country = torch.tensor([0, 0, 0, 1, 1, 1])
    language = torch.tensor([2, 2, 0, 1, 0, 0])
    declared = torch.tensor([True, True, False, True, False, False])
    got = infer_language(country, language, declared, 3)
    # country 0: two declared speakers of 2 -> 2; country 1: one of 1 -> 1; declared users keep theirs
    assert got.tolist() == [2, 2, 2, 1, 1, 1]
    # a country where nobody declared gets the most common declared language
    got = infer_language(torch.tensor([0, 0, 2]), torch.tensor([1, 1, 0]), torch.tensor([True, True, False]), 3)
    assert got.tolist() == [1, 1, 1]


def test_infer_language_accuracy_matches_the_correlate(world):
    got = infer_language(world.user_country, world.user_language, world.declared, SMALL.num_languages)
    assert torch.equal(got[world.declared], world.user_language[world.declared])
    undeclared = ~world.declared
    acc = (got[undeclared] == world.user_language[undeclared]).double().mean().item()
    rho, n_lang = SMALL.home_country_prob, SMALL.num_languages
    assert abs(acc - (rho + (1 - rho) / n_lang)) < 0.08  # the country's home language is right this often


@pytest.mark.parametrize("field, value, message", [
    ("reveal", 8, r"reveal must be an int in \[0, 7\], got 8"),
    ("companion_probs", (0.5, 0.6), "companion_probs must be non-negative and sum to 1"),
    ("num_items", 0, "num_items must be a positive int, got 0"),
    ("declared_prob", 1.5, r"declared_prob must be a number in \[0, 1\], got 1.5"),
    ("mean_sessions", 0.5, r"mean_sessions must be a number in \[1, inf\), got 0.5"),
    ("mood_scale", -1.0, "mood_scale must be a finite number >= 0, got -1.0"),
])
def test_config_errors(field, value, message):
    with pytest.raises(ValueError, match=message):
        RecsysConfig(**{field: value})


def test_generate_errors():
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        generate(SMALL, -1)
    with pytest.raises(ValueError, match="config must be a RecsysConfig"):
        generate({"num_users": 3})
