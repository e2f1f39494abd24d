"""``--llm-budget-usd`` is a cap: priced before the first call from every call a run may make, and held
while it runs by reserving each call's worst case before it is sent."""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ENTITY_TEST, LLMProject

from pytest_llmversion.governance.budget import (
    BudgetReached,
    LocalLedger,
    PlannedItem,
    RunShape,
    SharedLedger,
    SpendCap,
    estimate,
    item_calls,
    worst_case_tokens,
)
from pytest_llmversion.governance.cost import Price
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, Message, Request, Usage

# -- what a run may call ----------------------------------------------------------------------------------

SHAPE = RunShape("replay", "openai/cur", "openai/cand", max_samples=20, baseline="golden", max_tokens=1024)


def plan(role: str, samples: int = 1, golden_samples: int = 1, sends: bool = True, calls: int = 1) -> PlannedItem:
    usage = (1000.0, 200.0) if golden_samples else None
    return PlannedItem(role, "g.yaml", samples, golden_samples, calls if golden_samples else 0, usage, sends)


@pytest.mark.parametrize(
    ("shape", "item", "calls"),
    [
        pytest.param(SHAPE, plan("current"), [], id="replayed current: nothing"),
        pytest.param(replace(SHAPE, mode="record"), plan("current", 3), [("openai/cur", 3)], id="record k"),
        pytest.param(replace(SHAPE, mode="live"), plan("current", 5), [("openai/cur", 20)], id="live top-ups"),
        pytest.param(SHAPE, plan("candidate"), [("openai/cand", 1)], id="candidate k=1"),
        pytest.param(SHAPE, plan("candidate", calls=3), [("openai/cand", 3)], id="three calls a sample"),
        pytest.param(
            SHAPE,
            plan("candidate", 5, golden_samples=5),
            [("openai/cur", 15), ("openai/cand", 20)],
            id="top-ups and the baseline samples the golden lacks",
        ),
        pytest.param(
            replace(SHAPE, baseline="live"),
            plan("candidate", 5),
            [("openai/cur", 20), ("openai/cand", 20)],
            id="live baseline",
        ),
        pytest.param(SHAPE, plan("candidate", 5, golden_samples=0), [("openai/cand", 1)], id="no golden: one sample"),
        pytest.param(SHAPE, plan("candidate", 1, sends=False), [], id="recorded candidate"),
    ],
)
def test_every_call_an_item_may_make_is_counted(
    shape: RunShape, item: PlannedItem, calls: list[tuple[str, int]]
) -> None:
    assert item_calls(shape, item) == calls


def test_items_without_goldens_are_priced_at_max_tokens_not_zero() -> None:
    prices = {"openai/cand": Price(2.0, 10.0)}
    result, unpriced = estimate(SHAPE, [plan("candidate", golden_samples=0)] * 3, 5.0, prices.get)
    # the default prompt (no golden says how long prompts are) and max_tokens out, three calls
    assert unpriced == []
    assert (result.calls, result.without_golden, result.goldens) == (3, 3, 0)
    assert result.cost_usd == pytest.approx(3 * (1000 * 2 + 1024 * 10) / 1e6)


def test_unpriced_models_are_named() -> None:
    result, unpriced = estimate(SHAPE, [plan("candidate")], 5.0, {}.get)
    assert (result.cost_usd, unpriced) == (None, ["openai/cand"])


# -- the cap on each call -----------------------------------------------------------------------------------

REQUEST = Request((Message("user", "Ada Lovelace was born in London."),), {"max_tokens": 100})


def answer(input_tokens: int, output_tokens: int) -> Completion:
    return Completion("{}", "openai/cand", "cand", Usage(input_tokens, output_tokens))


def test_worst_case_is_a_token_per_byte_and_max_tokens() -> None:
    sent, out = worst_case_tokens(REQUEST, 4096)
    assert sent >= len(b"Ada Lovelace was born in London.")
    assert out == 100
    assert worst_case_tokens(Request(REQUEST.messages), 4096)[1] == 4096


def test_cap_reserves_the_worst_case_and_settles_the_real_price() -> None:
    ledger = LocalLedger()
    price = Price(1.0, 10.0)
    sent, _ = worst_case_tokens(REQUEST, None)
    worst = price.cost({"input_tokens": sent, "output_tokens": 100})
    cap = SpendCap(worst * 2.5, ledger, lambda _: price, lambda _: None)
    ref = ModelRef("openai", "cand")

    cap.admit(ref, REQUEST)(answer(10, 10), None)  # settles at its real price
    assert ledger.spent() == pytest.approx(price.cost({"input_tokens": 10, "output_tokens": 10}))
    settle_failed = cap.admit(ref, REQUEST)
    settle_failed(None, None)  # a failed call is released, not billed
    assert ledger.spent() == pytest.approx(price.cost({"input_tokens": 10, "output_tokens": 10}))
    held = cap.admit(ref, REQUEST)  # in flight: its worst case is held
    cap.admit(ref, REQUEST)
    with pytest.raises(BudgetReached, match=r"budget reached: not called; \$0\.000110 of --llm-budget-usd="):
        cap.admit(ref, REQUEST)  # a third in flight would not fit
    held(answer(0, 0), None)  # no usage reported: charged its worst case, never less
    assert ledger.spent() == pytest.approx(price.cost({"input_tokens": 10, "output_tokens": 10}) + worst)


def _spend(path: str, rounds: int) -> None:
    ledger = SharedLedger(Path(path))
    for _ in range(rounds):
        if ledger.reserve(0.01, 1.0):
            ledger.settle(0.01, 0.01)
    ledger.close()


def test_shared_ledger_holds_the_cap_across_threads_and_processes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    SharedLedger.create(path)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_spend, args=(str(path), 40)) for _ in range(2)]
    threads = [threading.Thread(target=_spend, args=(str(path), 40)) for _ in range(2)]
    for worker in (*processes, *threads):
        worker.start()
    for worker in (*processes, *threads):
        worker.join()
    # 160 attempts of $0.01 against $1: exactly 100 fit, whoever made them
    assert SharedLedger(path).spent() == pytest.approx(1.0)


# -- in a run ----------------------------------------------------------------------------------------------

CASES = "\n".join(f"- id: person-{n}\n  input: Person{n} Name{n} was born in City{n}." for n in range(5))
CASE_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_city(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json())
"""
CUR = """\
# synthetic: 1000 tokens in and 200 out a call
rules:
  - name: city
    when: {regex: "(?P<name>[A-Z]\\\\w+ \\\\w+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
    usage: {input_tokens: 1000, output_tokens: 200}
"""
PRICES = """
[tool.llmversion.catalog."scripted/cur"]
input_per_mtok = 2.0
output_per_mtok = 10.0
[tool.llmversion.catalog."scripted/cand"]
input_per_mtok = 1.0
output_per_mtok = 8.0
"""


@pytest.fixture
def five_cases(llm_project: LLMProject) -> LLMProject:
    """Five cases with goldens of scripted/cur; scripted/cand answers the same for $0.0026 a call."""
    llm_project.model("cur", CUR)
    llm_project.model("cand", "extends: cur\n")
    llm_project.write_config(PRICES, model="scripted/cur")
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.test_file(CASE_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=5)
    return llm_project


def test_a_run_without_goldens_is_priced_at_max_tokens(llm_project: LLMProject) -> None:
    llm_project.model("cur", CUR)
    llm_project.write_config(PRICES, model="scripted/cur")
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run("--llm-record", "--llm-budget-usd=0.01")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # 1,000 prompt tokens (no golden says more) and max_tokens = 1024 out, at $2 and $10 a million
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-llmversion: this run may spend up to $0.0122 on 1 live call, above --llm-budget-usd=0.01 "
            "(scripted/cur $0.0122; from 1 item without a golden at 1,000 tokens in and max_tokens 1,024 out a "
            "call); raise the budget*"
        ]
    )
    assert not (llm_project.path / ".llmversion" / "report.json").exists()
    assert not llm_project.golden("test_llm/test_extracts_city.yaml").exists()


def test_the_run_stops_sending_when_the_budget_is_reached(five_cases: LLMProject) -> None:
    # estimated at 5 x $0.0026 = $0.013 (the goldens' tokens), within $0.018; but each call reserves its worst
    # case (a token per byte sent + max_tokens 1024 out: about $0.0083), so the fifth no longer fits
    # ($0.0104 spent + $0.0083 > $0.018)
    # one call at a time: which item the cap stops is then the last one (with the pool, whichever call asks last)
    result = five_cases.run("--candidate-model=scripted/cand", "--llm-budget-usd=0.018", "--llm-concurrency=1")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = five_cases.report()
    candidates = sorted((i for i in report["items"] if i["role"] == "candidate"), key=lambda i: i["case"])
    assert [i["verdict"] for i in candidates] == ["UNCHANGED"] * 4 + ["ERROR"]
    assert candidates[4]["not_called"] == "--llm-budget-usd=0.018 reached"
    assert candidates[4]["calls"]["live"] == 0
    estimate = report["run"]["governance"]["estimate"]
    assert estimate["spent_usd"] == pytest.approx(4 * 0.0026)
    assert estimate["spent_usd"] <= 0.02
    assert estimate["refused"] == 1
    result.stdout.fnmatch_lines(
        [
            "*budget reached: not called; $0.0104 of --llm-budget-usd=0.018 spent, and this call may cost up to *",
            "not called: 1 item, because of --llm-budget-usd=0.018 reached",
            "budget: $0.0104 spent of --llm-budget-usd=0.018 (this run's worst case was $0.0130 for 5 calls); 1 item "
            "not run: the budget was reached",
            "gate: FAIL (1 candidate ERROR: test_city[person-4])",
        ]
    )


def test_the_cap_holds_with_calls_in_flight_together(five_cases: LLMProject) -> None:
    result = five_cases.run("--candidate-model=scripted/cand", "--llm-budget-usd=0.018", "--llm-concurrency=8")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = five_cases.report()
    verdicts = sorted(i["verdict"] for i in report["items"] if i["role"] == "candidate")
    assert verdicts == ["ERROR"] + ["UNCHANGED"] * 4  # each in-flight call reserved its worst case first
    assert report["run"]["governance"]["estimate"]["spent_usd"] == pytest.approx(4 * 0.0026)


def test_the_cap_holds_across_xdist_workers(five_cases: LLMProject) -> None:
    result = five_cases.run_subprocess("-n", "2", "--candidate-model=scripted/cand", "--llm-budget-usd=0.018")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = five_cases.report()
    verdicts = [i["verdict"] for i in report["items"] if i["role"] == "candidate"]
    assert sorted(verdicts) == ["ERROR"] + ["UNCHANGED"] * 4
    assert report["run"]["governance"]["estimate"]["spent_usd"] == pytest.approx(4 * 0.0026)
    assert not list((five_cases.path / ".llmversion").glob("ledger-*.sqlite"))  # the shared ledger is gone


def test_xdist_run_above_the_estimate_does_not_start(five_cases: LLMProject) -> None:
    result = five_cases.run_subprocess("-n", "2", "--candidate-model=scripted/cand", "--llm-budget-usd=0.01")
    result.stdout.fnmatch_lines(["*Interrupted: pytest-llmversion: this run may spend up to $0.0130 on 5 live calls*"])
    assert "passed" not in result.stdout.str()
    assert five_cases.report()["run"]["mode"] == "record"  # the last report stays as it was
