"""Model governance as a user meets it: pinning, deprecation alerts, cost lines and budgets in a pytest run.

The clock is pinned with LLMVERSION_TODAY in every test, so no outcome changes as the calendar moves.
"""

from __future__ import annotations

import pytest
from conftest import ENTITY_TEST, LLMProject

TODAY = "2026-11-24"

CUR = """\
# synthetic: the current model, 1000 tokens in and 200 out per call, 100 ms
rules:
  - name: city
    when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
    usage: {input_tokens: 1000, output_tokens: 200}
    latency_ms: 100
"""

CAND = """\
# synthetic: the candidate answers the same with 300 output tokens, in 150 ms
extends: cur
rules:
  - name: city
    when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
    usage: {input_tokens: 1000, output_tokens: 300}
    latency_ms: 150
"""

PRICES = """
[tool.llmversion.catalog."scripted/cur"]
input_per_mtok = 2.0
output_per_mtok = 10.0
[tool.llmversion.catalog."scripted/cand"]
input_per_mtok = {cand_in}
output_per_mtok = 8.0
"""


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMVERSION_TODAY", TODAY)


@pytest.fixture
def priced(llm_project: LLMProject) -> LLMProject:
    """cur costs $0.004 a call; cand $0.0034 (1000 in at $1/M, 300 out at $8/M): recorded goldens of cur."""
    llm_project.model("cur", CUR)
    llm_project.model("cand", CAND)
    llm_project.write_config(PRICES.format(cand_in=1.0), model="scripted/cur")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    return llm_project


def usage_error(result: pytest.RunResult) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    lines = [line for line in result.errlines if line.startswith("ERROR: ")]
    assert len(lines) == 1, result.errlines
    return lines[0]


# -- pinning -------------------------------------------------------------------------------------------


def test_alias_current_model_stops_the_run_naming_the_pinned_snapshot(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    line = usage_error(llm_project.run("--current-model=openai/gpt-4o"))
    assert line == (
        "ERROR: pytest-llmversion: current model openai/gpt-4o (--current-model) is an alias (today it resolves to "
        "openai/gpt-4o-2024-08-06), not a pinned snapshot: goldens recorded from it would not reproduce; pin it: "
        'model = "openai/gpt-4o-2024-08-06" (or run with --llm-allow-unpinned)'
    )
    assert not (llm_project.path / ".llmversion" / "report.json").exists()


@pytest.mark.parametrize(
    ("fallback", "shown", "fix"),
    [
        (
            "anthropic/claude-3-5-sonnet-latest",
            "an alias (today it resolves to anthropic/claude-3-5-sonnet-20241022)",
            'list "anthropic/claude-3-5-sonnet-20241022" instead',
        ),
        (
            "gemini/gemini-1.5-pro-latest",
            "an alias (today it resolves to gemini/gemini-1.5-pro-002)",
            'list "gemini/gemini-1.5-pro-002" instead',
        ),
        ("openai/chatgpt-4o-latest", "a rolling id, updated continuously", "pin it to a dated snapshot"),
    ],
)
def test_unpinned_fallback_stops_the_run(llm_project: LLMProject, fallback: str, shown: str, fix: str) -> None:
    llm_project.write_config(fallback_models=[fallback])
    llm_project.test_file(ENTITY_TEST)
    assert usage_error(llm_project.run()) == (
        f"ERROR: pytest-llmversion: fallback model {fallback} (pyproject.toml [tool.llmversion]) is {shown}, not a "
        f"pinned snapshot: goldens recorded from it would not reproduce; {fix} (or run with --llm-allow-unpinned)"
    )


def test_an_id_the_catalogue_does_not_know_is_judged_by_the_naming_rules(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    started = llm_project.run("--current-model=anthropic/claude-sonnet-9-1")  # from 4.6 on, dateless ids are pinned
    assert started.ret == pytest.ExitCode.TESTS_FAILED  # MISSING golden: the run started
    status = llm_project.report()["run"]["governance"]["models"][0]
    assert (status["kind"], status["basis"], status["state"]) == ("pinned", "naming rules", "unknown")
    assert "cost and latency" not in started.stdout.str()  # nothing was answered, nothing to price
    line = usage_error(llm_project.run("--current-model=openai/gpt-7-mini"))
    assert line == (
        "ERROR: pytest-llmversion: current model openai/gpt-7-mini (--current-model) is an alias, not a pinned "
        "snapshot: goldens recorded from it would not reproduce; pin it to a dated snapshot (or run with "
        "--llm-allow-unpinned)"
    )


def test_allow_unpinned_runs_with_a_warning(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--current-model=openai/gpt-4o", "--llm-allow-unpinned")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # no golden yet: MISSING, but the run started
    result.stdout.fnmatch_lines(
        [
            "llmversion: WARNING: current model openai/gpt-4o is an alias (today it resolves to "
            "openai/gpt-4o-2024-08-06), allowed by --llm-allow-unpinned; its goldens will not reproduce",
        ]
    )
    status = llm_project.report()["run"]["governance"]["models"][0]
    assert (status["kind"], status["pinned"], status["resolves_to"]) == ("alias", False, "openai/gpt-4o-2024-08-06")


def test_candidate_alias_is_judged_with_a_warning(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.model("m2", "# synthetic\nextends: m1\n")
    llm_project.write_config('[tool.llmversion.catalog."scripted/m2"]\nkind = "alias"\nalias_of = "m2-2026-11-01"\n')
    result = llm_project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(passed=2)
    warning = (
        "WARNING: candidate scripted/m2 is an alias (today it resolves to scripted/m2-2026-11-01): its result will "
        "not reproduce; judge the pinned snapshot instead: --candidate-model=scripted/m2-2026-11-01"
    )
    result.stdout.fnmatch_lines([f"llmversion: {warning}", "*", f"models: {warning}"], consecutive=False)
    governance = llm_project.report()["run"]["governance"]
    assert governance["notices"] == [warning]
    assert [(m["role"], m["kind"]) for m in governance["models"]] == [("current", "pinned"), ("candidate", "alias")]


def test_scripted_models_are_pinned_test_doubles(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    status = llm_project.report()["run"]["governance"]["models"][0]
    assert (status["model"], status["kind"], status["basis"], status["state"]) == (
        "scripted/m1",
        "pinned",
        "naming rules",
        "unknown",
    )


# -- deprecation ---------------------------------------------------------------------------------------

RETIRES = '[tool.llmversion.catalog."scripted/m1"]\nretires = {date}\nsuccessor = "scripted/m2"\n'


@pytest.mark.parametrize(
    ("retires", "line"),
    [
        (
            "2026-12-04",
            "URGENT: current model scripted/m1 retires in 10 days (2026-12-04); test its successor: "
            "pytest --candidate-model=scripted/m2",
        ),
        (
            "2027-01-23",
            "plan the migration: current model scripted/m1 retires in 60 days (2027-01-23); test its successor: "
            "pytest --candidate-model=scripted/m2",
        ),
    ],
)
def test_deprecation_alert_in_header_and_summary(llm_project: LLMProject, retires: str, line: str) -> None:
    llm_project.write_config(RETIRES.format(date=retires))
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"llmversion: {line}", "*", f"models: {line}"], consecutive=False)
    status = llm_project.report()["run"]["governance"]["models"][0]
    assert status["retires"] == retires
    assert status["successor"] == "scripted/m2"


def test_thresholds_come_from_config(llm_project: LLMProject) -> None:
    llm_project.write_config(RETIRES.format(date="2027-03-04"), deprecation_warn_days=120, deprecation_urgent_days=101)
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--llm-record")
    result.stdout.fnmatch_lines(["llmversion: URGENT: current model scripted/m1 retires in 100 days (2027-03-04)*"])
    llm_project.write_config(RETIRES.format(date="2027-03-04"), deprecation_warn_days=90, deprecation_urgent_days=30)
    result = llm_project.run()
    assert "retires in 100 days" not in result.stdout.str()
    assert llm_project.report()["run"]["governance"]["models"][0]["state"] == "deprecated"


def test_retired_current_model_warns_on_replay_and_stops_a_live_run(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.write_config(RETIRES.format(date="2026-11-20") + 'source = "https://example.test/retired"\n')
    replay = llm_project.run()
    replay.assert_outcomes(passed=1)
    replay.stdout.fnmatch_lines(
        [
            "llmversion: RETIRED: current model scripted/m1 was shut down on 2026-11-20; its goldens still replay; "
            "test its successor: pytest --candidate-model=scripted/m2"
        ]
    )
    assert llm_project.report()["run"]["governance"]["models"][0]["state"] == "retired"
    line = usage_error(llm_project.run("--llm-live"))
    assert line == (
        "ERROR: pytest-llmversion: RETIRED: current model scripted/m1 was shut down on 2026-11-20; test its "
        "successor: pytest --candidate-model=scripted/m2; --llm-live calls it and every call would fail "
        "(source: https://example.test/retired)"
    )


def test_retired_candidate_stops_the_run(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    line = usage_error(llm_project.run("--candidate-model=anthropic/claude-3-5-sonnet-20241022"))
    assert line.startswith(
        "ERROR: pytest-llmversion: RETIRED: candidate anthropic/claude-3-5-sonnet-20241022 was shut down on "
        "2025-10-28; test its successor: pytest --candidate-model=anthropic/claude-sonnet-4-6; this run would call it"
    )


def test_bad_catalogue_override_is_one_line(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.write_config('[tool.llmversion.catalog."scripted/m1"]\nretires = "2026-13-01"\n')
    assert usage_error(llm_project.run()) == (
        "ERROR: pytest-llmversion: [tool.llmversion.catalog.\"scripted/m1\"] retires = '2026-13-01' is not a date "
        "(expected YYYY-MM-DD)"
    )


def test_bad_clock_override_is_one_line(llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMVERSION_TODAY", "tomorrow")
    llm_project.test_file(ENTITY_TEST)
    assert usage_error(llm_project.run()) == (
        "ERROR: pytest-llmversion: environment LLMVERSION_TODAY = 'tomorrow' is not a date (expected YYYY-MM-DD)"
    )


# -- cost and latency ----------------------------------------------------------------------------------


def test_cost_lines_per_role_and_ratio(priced: LLMProject) -> None:
    result = priced.run("--candidate-model=scripted/cand", "--llm-report-md=summary.md")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "cost and latency (latency from live calls only):",
            "  current    scripted/cur  tokens 1,000 in / 200 out from goldens  cost $0.004000  latency: no live calls",
            "  candidate  scripted/cand  tokens 1,000 in / 300 out live  cost $0.003400  "
            "latency p50 150 ms, p95 150 ms (1 live call)",
            "  this run: 1 live call, $0.003400 spent (replayed goldens are free)",
            "  candidate/current per case (1 case): tokens x1.08 (+8.3%), cost x0.85 (-15.0%), latency: no live "
            "current latency (its answers were replayed from goldens; add --llm-live to call it too)",
            "gate: pass",
        ]
    )
    cost = priced.report()["summary"]["cost"]
    assert (cost["live_calls"], cost["spent_usd"]) == (1, pytest.approx(0.0034))
    assert cost["roles"]["current"]["cost_usd"] == pytest.approx(0.004)
    assert cost["roles"]["current"]["token_source"] == "golden"
    assert cost["roles"]["candidate"]["cost_usd"] == pytest.approx(0.0034)
    assert cost["roles"]["candidate"]["latency_p95_ms"] == 150.0
    assert cost["comparison"]["cost_ratio"] == pytest.approx(0.85)
    assert cost["comparison"]["token_ratio"] == pytest.approx(1300 / 1200, abs=1e-4)
    assert cost["comparison"]["latency_p50_ratio"] is None
    candidate = next(i for i in priced.report()["items"] if i["role"] == "candidate")
    assert (candidate["cost_usd"], candidate["baseline_cost_usd"]) == (pytest.approx(0.0034), pytest.approx(0.004))
    markdown = (priced.path / "summary.md").read_text()
    assert "| current | scripted/cur | 1,000 / 200 (goldens) | $0.004000 | – |" in markdown
    assert "| candidate | scripted/cand | 1,000 / 300 | $0.003400 | 150 ms / 150 ms |" in markdown


def test_unknown_price_is_unknown_with_a_hint_never_zero(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--llm-record")
    result.stdout.fnmatch_lines(
        [
            "  current    scripted/m1  tokens 8 in / 11 out live  cost unknown  latency *",
            '  price of scripted/m1 unknown: add [tool.llmversion.catalog."scripted/m1"] input_per_mtok = ..., '
            "output_per_mtok = ...",
        ]
    )
    assert "$0.0" not in result.stdout.str()
    cost = llm_project.report()["summary"]["cost"]
    assert (cost["roles"]["current"]["cost_usd"], cost["roles"]["current"]["unpriced"]) == (None, ["scripted/m1"])
    assert (cost["live_calls"], cost["spent_usd"]) == (1, None)
    result.stdout.fnmatch_lines(["  this run: 1 live call, unknown spent (replayed goldens are free)"])


def test_latency_compares_live_calls_only(priced: LLMProject) -> None:
    priced.run("--llm-live", "--candidate-model=scripted/cand").assert_outcomes(passed=2)
    cost = priced.report()["summary"]["cost"]
    assert cost["roles"]["current"]["latency_p50_ms"] == 100.0
    assert cost["roles"]["current"]["token_source"] == "live"
    assert cost["comparison"]["latency_p50_ratio"] == pytest.approx(1.5)


# -- budgets -------------------------------------------------------------------------------------------


def test_cost_budget_fails_the_gate_with_the_numbers(priced: LLMProject) -> None:
    priced.write_config(PRICES.format(cand_in=4.0))  # cand: 1000 x $4/M + 300 x $8/M = $0.0064
    result = priced.run("--candidate-model=scripted/cand", "--llm-max-cost-increase=20")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    reason = (
        "cost budget --llm-max-cost-increase=20: +60.0% over the allowed +20% ($0.006400 per run of 1 cases vs "
        "$0.004000 for current)"
    )
    result.stdout.fnmatch_lines([f"gate: FAIL ({reason})"])
    summary = priced.report()["summary"]
    assert summary["gate"] == "fail"
    assert summary["gate_reasons"] == [reason]
    assert summary["cost"]["budgets"][0] | {"detail": ""} == {
        "name": "cost",
        "option": "--llm-max-cost-increase",
        "limit_pct": 20.0,
        "actual_pct": 60.0,
        "passed": False,
        "detail": "",
    }


def test_token_and_latency_budgets(priced: LLMProject) -> None:
    ok = priced.run("--candidate-model=scripted/cand", "--llm-max-token-increase=10")
    assert ok.ret == pytest.ExitCode.OK
    ok.stdout.fnmatch_lines(["  budget --llm-max-token-increase=10: ok, +8.3% within the allowed +10% *"])
    tight = priced.run("--candidate-model=scripted/cand", "--llm-max-token-increase=5")
    tight.stdout.fnmatch_lines(["gate: FAIL (tokens budget --llm-max-token-increase=5: +8.3% over the allowed +5% *"])
    replayed = priced.run("--candidate-model=scripted/cand", "--llm-max-latency-increase=25")
    replayed.stdout.fnmatch_lines(
        ["gate: FAIL (latency budget --llm-max-latency-increase=25: cannot compare: no live*"]
    )
    live = priced.run("--llm-live", "--candidate-model=scripted/cand", "--llm-max-latency-increase=25")
    live.stdout.fnmatch_lines(
        [
            "gate: FAIL (latency budget --llm-max-latency-increase=25: +50.0% over the allowed +25% "
            "(p50 150 ms vs 100 ms for current))"
        ]
    )
    assert live.ret == pytest.ExitCode.TESTS_FAILED


def test_budget_usd_refuses_to_start_above_the_worst_case(priced: LLMProject) -> None:
    # --llm-samples=4 may top up to --llm-max-samples=20 where the models disagree: 20 candidate samples at
    # the golden's 1000 + 200 tokens ($0.0026 each) and 19 live baseline samples the golden lacks ($0.004 each)
    line = usage_error(priced.run("--candidate-model=scripted/cand", "--llm-samples=4", "--llm-budget-usd=0.1"))
    assert line == (
        "ERROR: pytest-llmversion: this run may spend up to $0.1280 on 39 live calls, above --llm-budget-usd=0.1 "
        "(scripted/cur $0.0760, scripted/cand $0.0520; from the token counts of 1 golden); raise the budget, lower "
        "--llm-samples or --llm-max-samples, or select fewer tests"
    )
    assert not (priced.path / ".llmversion" / "report.json").exists() or priced.report()["run"]["mode"] == "record"
    result = priced.run("--candidate-model=scripted/cand", "--llm-budget-usd=0.01")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "llmversion: budget: this run may spend up to $0.002600 on 1 live call (from the token counts of 1 "
            "golden), within --llm-budget-usd=0.01; each call reserves its worst case before it is sent",
            "budget: $0.003400 spent of --llm-budget-usd=0.01 (this run's worst case was $0.002600 for 1 call)",
        ]
    )
    estimate = priced.report()["run"]["governance"]["estimate"]
    assert (estimate["cost_usd"], estimate["spent_usd"], estimate["refused"]) == (
        pytest.approx(0.0026),
        pytest.approx(0.0034),
        0,
    )


def test_budget_usd_needs_prices(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    line = usage_error(llm_project.run("--llm-record", "--llm-budget-usd=1"))
    assert line.startswith("ERROR: pytest-llmversion: --llm-budget-usd=1 cannot be checked: no price for scripted/m1")


def test_replay_run_spends_nothing_and_passes_any_budget(priced: LLMProject) -> None:
    priced.run("--llm-budget-usd=0.000001").assert_outcomes(passed=1)
    assert priced.report()["run"]["governance"]["estimate"]["calls"] == 0


def test_governance_under_xdist(priced: LLMProject) -> None:
    result = priced.run_subprocess("-n", "2", "--candidate-model=scripted/cand", "--llm-max-cost-increase=0")
    result.stdout.fnmatch_lines(["  candidate/current per case (1 case): tokens x1.08 (+8.3%), cost x0.85 (-15.0%)*"])
    assert priced.report()["summary"]["gate"] == "pass"
