"""`python -m gan_course recsys`: the table or one JSON object from recsys.run_all, and bad seeds."""

import json

import pytest

from gan_course import cli, recsys

STRATEGIES = ("popularity", "no_context", "pre_filter", "post_filter", "contextual_model", "latent_context",
              "oracle_context")


@pytest.fixture
def fake_run(monkeypatch):
    calls = []

    def run_all(seed=0, progress=False):
        calls.append(seed)
        return {name: {"recall_at_10": 0.1 * i, "ndcg_at_10": 0.05 * i, "coverage": 0.5, "seconds": 1.0}
                for i, name in enumerate(STRATEGIES)}
    monkeypatch.setattr(recsys, "run_all", run_all)
    return calls


def test_json_is_one_object_with_every_strategy(fake_run, capsys):
    assert cli.main(["recsys", "--seed", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert tuple(result) == STRATEGIES and fake_run == [3]
    assert set(result["oracle_context"]) >= {"recall_at_10", "ndcg_at_10", "coverage", "seconds"}


def test_the_table_names_every_strategy(fake_run, capsys):
    assert cli.main(["recsys", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in STRATEGIES) and "recall@10" in out and fake_run == [0]


def test_a_bad_seed_is_a_one_line_error(capsys):
    assert cli.main(["recsys", "--seed", "-1"]) == 2
    assert "seed must be a non-negative int, got -1" in capsys.readouterr().err
