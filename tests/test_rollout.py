"""Gradual rollout: a stable share of keys goes to the candidate."""

from __future__ import annotations

import pytest

from pytest_llmversion.rollout import Rollout, RolloutError, select_model


def test_the_same_key_always_gets_the_same_model() -> None:
    rollout = Rollout(candidate_percent=10)
    picks = {select_model("a/current", "a/candidate", rollout, "user-42") for _ in range(20)}
    assert len(picks) == 1


def test_the_share_of_keys_on_the_candidate_matches_the_stage() -> None:
    keys = [f"user-{n}" for n in range(20_000)]
    for percent in (1, 10, 50):
        share = sum(Rollout(candidate_percent=percent).uses_candidate(k) for k in keys) / len(keys) * 100
        assert abs(share - percent) < max(0.6, percent * 0.06), (percent, share)


def test_stages_nest_so_raising_the_percentage_only_adds_keys() -> None:
    keys = [f"tenant-{n}" for n in range(2_000)]
    at_10 = {k for k in keys if Rollout(candidate_percent=10).uses_candidate(k)}
    at_50 = {k for k in keys if Rollout(candidate_percent=50).uses_candidate(k)}
    assert at_10 < at_50


def test_no_candidate_or_zero_percent_means_the_current_model() -> None:
    assert select_model("a/current", None, Rollout(candidate_percent=100), "k") == "a/current"
    assert select_model("a/current", "a/candidate", Rollout(), "k") == "a/current"
    assert select_model("a/current", "a/candidate", Rollout(candidate_percent=100), "k") == "a/candidate"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"candidate_percent": 150}, "candidate_percent = 150: expected a number from 0 to 100"),
        ({"candidate_percent": "ten"}, "candidate_percent = 'ten': expected a number from 0 to 100"),
        ({"percent": 10}, "unknown key 'percent' in [tool.llmversion.rollout] (allowed: candidate_percent, salt)"),
    ],
)
def test_bad_tables_are_one_line(table: dict[str, object], message: str) -> None:
    with pytest.raises(RolloutError) as caught:
        Rollout.from_table(table)
    assert message in str(caught.value)


def test_connect_serves_the_rollout_share_from_the_candidate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pytest_llmversion import connect

    (tmp_path / "models").mkdir()
    for name in ("old", "new"):
        (tmp_path / "models" / f"{name}.yaml").write_text(f"default:\n  respond: answer from {name}\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.llmversion]\nmodel = "scripted/old"\ncandidate_model = "scripted/new"\nscripted_models = "models"\n'
        "[tool.llmversion.rollout]\ncandidate_percent = 25\n"
    )
    answers = [connect(tmp_path, rollout_key=f"user-{n}", environ={}).complete("hi").text for n in range(400)]
    share = answers.count("answer from new") / len(answers)
    assert 0.18 < share < 0.32
    assert connect(tmp_path, environ={}).complete("hi").text == "answer from old"
