"""Lifecycle states on an injected day: the thresholds, aliases, successor chains and the clock override."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pytest_llmversion.governance.catalog import load_catalog
from pytest_llmversion.governance.deprecation import ClockError, describe, lifecycle, table, today

RETIRES = date(2027, 1, 14)  # openai/gpt-4o-2024-08-06 in the bundled catalogue


@pytest.mark.parametrize(
    ("days_before", "state"),
    [(-5, "retired"), (0, "retired"), (1, "urgent"), (29, "urgent"), (30, "warn"), (89, "warn"), (90, "deprecated")],
)
def test_state_by_days_left(days_before: int, state: str) -> None:
    lc = lifecycle("openai/gpt-4o-2024-08-06", load_catalog(), RETIRES - timedelta(days=days_before))
    assert (lc.state, lc.days_left, lc.retires) == (state, days_before, RETIRES)


def test_thresholds_are_parameters() -> None:
    on = RETIRES - timedelta(days=100)
    catalog = load_catalog()
    assert lifecycle("openai/gpt-4o-2024-08-06", catalog, on).state == "deprecated"
    assert lifecycle("openai/gpt-4o-2024-08-06", catalog, on, warn_days=120, urgent_days=60).state == "warn"
    assert lifecycle("openai/gpt-4o-2024-08-06", catalog, on, warn_days=120, urgent_days=101).state == "urgent"


def test_unknown_and_undated_models() -> None:
    catalog = load_catalog()
    assert lifecycle("scripted/m1", catalog, date(2026, 11, 24)).state == "unknown"
    assert lifecycle("anthropic/claude-sonnet-5-5", catalog, date(2026, 11, 24)).state == "active"


def test_an_alias_lives_as_long_as_its_snapshot() -> None:
    catalog = load_catalog(
        overrides={
            "scripted/m1": {"kind": "alias", "alias_of": "m1-snap"},
            "scripted/m1-snap": {"retires": date(2026, 12, 1), "successor": "m2"},
        }
    )
    lc = lifecycle("scripted/m1", catalog, date(2026, 11, 24))
    assert (lc.state, lc.retires, lc.dates_of, lc.successor) == (
        "urgent",
        date(2026, 12, 1),
        "scripted/m1-snap",
        "scripted/m2",
    )
    assert describe(lc, "current") == (
        "URGENT: current model scripted/m1 retires in 7 days (2026-12-01) (through scripted/m1-snap); "
        "test its successor: pytest --candidate-model=scripted/m2"
    )


def test_successor_chain_skips_retired_models_and_pins_aliases() -> None:
    pinned = load_catalog(
        overrides={
            "scripted/old": {"retires": date(2026, 12, 1), "successor": "new"},
            "scripted/new": {"kind": "alias", "alias_of": "new-2026"},
        }
    )
    assert lifecycle("scripted/old", pinned, date(2026, 11, 24)).successor == "scripted/new-2026"
    # the bundled catalogue knows the snapshot behind openai/gpt-4.1
    bundled = load_catalog(overrides={"scripted/old": {"retires": date(2026, 12, 1), "successor": "openai/gpt-4.1"}})
    lc = lifecycle("scripted/old", bundled, date(2026, 11, 24))
    assert (lc.successor, lc.successor_unpinned) == ("openai/gpt-4.1-2025-04-14", None)


def test_a_successor_without_a_pinned_snapshot_is_never_offered_as_a_candidate() -> None:
    catalog = load_catalog()
    # chatgpt-4o-latest -> gpt-5.1-chat-latest (retired 2026-07-23) -> gpt-5.6-sol, an alias with no known snapshot
    late = lifecycle("openai/chatgpt-4o-latest", catalog, date(2026, 11, 24))
    assert (late.successor, late.successor_unpinned) == (None, "openai/gpt-5.6-sol")
    early = lifecycle("openai/chatgpt-4o-latest", catalog, date(2026, 3, 1))
    assert (early.successor, early.successor_unpinned) == (None, "openai/gpt-5.1-chat-latest")  # rolling
    assert table([("current", late, "rolling")])[1].endswith("openai/gpt-5.6-sol (no pinned snapshot yet)")


def test_describe_names_the_successor_or_this_runs_candidate() -> None:
    # the catalogue's successor of gpt-4o-2024-08-06 is gpt-6-luna, an alias `llmversion promote` refuses
    lc = lifecycle("openai/gpt-4o-2024-08-06", load_catalog(), date(2026, 11, 24))
    assert describe(lc, "current") == (
        "plan the migration: current model openai/gpt-4o-2024-08-06 retires in 51 days (2027-01-14); "
        "no pinned snapshot of its successor openai/gpt-6-luna is known yet (llmversion promote takes only "
        "pinned ids): pick a pinned model to test with --candidate-model=provider/model-id"
    )
    assert describe(lc, "current", candidate="openai/gpt-6-luna") == (
        "plan the migration: current model openai/gpt-4o-2024-08-06 retires in 51 days (2027-01-14); "
        "this run's candidate openai/gpt-6-luna is its successor, but no pinned snapshot of it is known yet "
        "(llmversion promote takes only pinned ids)"
    )
    snapshot = load_catalog(overrides={"openai/gpt-6-luna": {"alias_of": "gpt-6-luna-2026-11-01"}})
    lc = lifecycle("openai/gpt-4o-2024-08-06", snapshot, date(2026, 11, 24))
    assert describe(lc, "current") == (
        "plan the migration: current model openai/gpt-4o-2024-08-06 retires in 51 days (2027-01-14); "
        "test its successor: pytest --candidate-model=openai/gpt-6-luna-2026-11-01"
    )
    assert describe(lc, "current", candidate="openai/gpt-6-luna-2026-11-01") == (
        "plan the migration: current model openai/gpt-4o-2024-08-06 retires in 51 days (2027-01-14); "
        "this run's candidate openai/gpt-6-luna-2026-11-01 is its successor"
    )
    assert describe(lifecycle("openai/gpt-4o-2024-08-06", load_catalog(), date(2026, 1, 1)), "current") is None


def test_today_reads_the_override_then_the_environment() -> None:
    assert today({"LLMVERSION_TODAY": "2030-02-03"}) == date(2030, 2, 3)
    assert today({"LLMVERSION_TODAY": "2030-02-03"}, override="2031-01-01") == date(2031, 1, 1)
    assert today({}) == date.today()
    with pytest.raises(
        ClockError, match=r"^pytest-llmversion: --today = '31\.12\.2026' is not a date \(expected YYYY-MM-DD\)$"
    ):
        today({}, override="31.12.2026")
