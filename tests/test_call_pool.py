"""The call pool (``--llm-concurrency``): live calls sent ahead of their test bodies, as a user runs them.

Real OpenAI SDK calls against the loopback emulator (which counts the calls it holds at once), and scripted
models for samples and top-ups. What must hold: nothing changes but the time (verdicts, goldens, recordings
and the report equal a serial run's), never more in flight than the limit, each process plans only its own
items, an early stop bills at most the window, and what nobody used is shown as waste.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import LLMProject

from pytest_llmversion.testing import Emulator, Fault

CASES = "".join(f"- {{id: c{i:02d}, input: 'Person {i} was born in City{i}.'}}\n" for i in range(12))

CASE_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_city(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", llm_case.input.split()[-1][:-1]))
"""

#: The current model gets every city right.
CURRENT = """\
# synthetic
rules:
  - name: city
    when: {regex: "(?P<name>Person \\\\d+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
"""

#: The candidate breaks the format on cases 3 and 7 and forgets the city on case 5.
CANDIDATE = """\
# synthetic
rules:
  - name: prose
    when: {regex: "Person [37] was born"}
    respond: 'Sure! The city is {{input}}'
  - name: wrong
    when: {regex: "Person 5 was born"}
    respond: '{"name": "Person 5", "city": "unknown"}'
  - name: city
    when: {regex: "(?P<name>Person \\\\d+) was born in (?P<city>\\\\w+)"}
    respond: '{"name": "{{name}}", "city": "{{city}}"}'
"""

CURRENT_MODEL, CANDIDATE_MODEL = "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"


def emulated_project(llm_project: LLMProject, emu: Emulator, provider_extra: str = "") -> LLMProject:
    """Twelve cases whose goldens the current model (on the emulator, 30 ms a call) has recorded."""
    emu.add_model(CURRENT_MODEL, CURRENT, latency_ms=30)
    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=30)
    tables = emu.provider_tables().replace(
        "[tool.llmversion.providers.openai]\n", "[tool.llmversion.providers.openai]\n" + provider_extra
    )
    llm_project.write_config(tables, model=f"openai/{CURRENT_MODEL}", max_retries=0)
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.test_file(CASE_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=12)
    emu.reset()
    emu.add_model(CURRENT_MODEL, CURRENT, latency_ms=30)
    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=30)
    return llm_project


def without_timing(report: dict[str, Any]) -> dict[str, Any]:
    """The report minus what only the clock decides: times, latencies and the pool's own counts."""
    run = {k: v for k, v in report["run"].items() if k not in ("started_at", "finished_at", "sent_ahead", "governance")}
    items = [
        {k: v for k, v in item.items() if "latency" not in k and k != "duration_s"}
        for item in sorted(report["items"], key=lambda i: i["nodeid"])
    ]
    summary = {k: v for k, v in report["summary"].items() if k != "cost"}
    return {"run": run, "items": items, "summary": summary}


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with latency lines left out."""
    return {
        str(path.relative_to(folder)): "".join(
            line for line in path.read_text().splitlines(keepends=True) if "latency" not in line
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_concurrent_run_equals_a_serial_run_but_for_the_time(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu)
    goldens = tree(project.path / "tests" / "__llm_goldens__")
    args = (f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-candidate-recordings=all")

    serial = project.run("--llm-concurrency=1", *args)
    serial.assert_outcomes(passed=21, failed=3)
    assert emu.peak_in_flight == 1
    serial_report = project.report()
    serial_recordings = tree(project.path / ".llmversion" / "recordings")
    assert serial_report["run"].get("sent_ahead") is None
    serial_calls = sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests())

    shutil.rmtree(project.path / ".llmversion")
    emu.reset()
    emu.add_model(CANDIDATE_MODEL, CANDIDATE, latency_ms=30)
    concurrent = project.run("--llm-concurrency=6", *args)
    concurrent.assert_outcomes(passed=21, failed=3)
    assert 1 < emu.peak_in_flight <= 6
    report = project.report()
    assert without_timing(report) == without_timing(serial_report)
    assert tree(project.path / ".llmversion" / "recordings") == serial_recordings
    assert tree(project.path / "tests" / "__llm_goldens__") == goldens
    assert sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests()) == serial_calls
    assert report["run"]["sent_ahead"] == {
        "concurrency": 6,
        "planned": 12,
        "used": 12,
        "wasted": 0,
        "dropped": 0,
        "errors": 0,
    }
    concurrent.stdout.fnmatch_lines(["sent ahead: 12 live calls, 6 at a time: 12 used, 0 wasted"])


def test_a_providers_own_concurrency_caps_the_calls_in_flight(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu, provider_extra="concurrency = 3\n")
    result = project.run(f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-concurrency=16")
    result.assert_outcomes(passed=21, failed=3)
    assert emu.peak_in_flight == 3
    assert project.report()["run"]["sent_ahead"]["concurrency"] == 3


def test_a_rate_limited_provider_slows_down_and_every_answer_still_arrives(
    llm_project: LLMProject, emu: Emulator
) -> None:
    project = emulated_project(llm_project, emu)
    project.write_config(emu.provider_tables(), max_retries=3, retry_base_delay=0.01)
    emu.add_fault(Fault.http(429, retry_after=0.05, first=4))
    result = project.run(f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-concurrency=8")
    result.assert_outcomes(passed=21, failed=3)
    statuses = [r.status for r in emu.requests()]
    assert statuses.count(429) == 4
    assert statuses.count(200) == 12


def test_xdist_workers_make_exactly_the_calls_of_a_plain_run(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu)
    args = (f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-candidate-recordings=all")
    project.run(*args).assert_outcomes(passed=21, failed=3)
    plain = sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests())
    plain_verdicts = project.verdicts()

    emu.clear_requests()
    result = project.run_subprocess("-n", "2", *args)
    result.assert_outcomes(passed=21, failed=3)
    assert sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests()) == plain
    assert project.verdicts() == plain_verdicts
    sent = project.report()["run"]["sent_ahead"]
    assert (sent["used"], sent["wasted"]) == (12, 0)  # both workers' counts, added up


def test_an_early_stop_bills_at_most_the_window(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu)
    # candidate items only (-k candidate), so the first failure (case 3) stops the run after four items;
    # with 2 calls at a time the window is 4 calls planned and not yet taken
    result = project.run(f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-concurrency=2", "-x", "-k", "candidate")
    result.assert_outcomes(passed=3, failed=1)
    sent = project.report()["run"]["sent_ahead"]
    assert sent["used"] == 4
    assert len(emu.requests()) <= sent["used"] + 4
    assert sent["planned"] >= len(emu.requests())  # a call not yet started when the run stopped is not sent
    assert sent["wasted"] == len(emu.requests()) - 4
    result.stdout.fnmatch_lines([f"sent ahead: * live calls, 2 at a time: 4 used, {sent['wasted']} wasted*"])


def test_a_request_the_golden_does_not_hold_calls_live_and_its_planned_answer_is_waste(
    llm_project: LLMProject, emu: Emulator
) -> None:
    project = emulated_project(llm_project, emu)
    changed = 'llm.complete(llm_case.input + " Reply in JSON.")'
    project.test_file(CASE_TEST.replace("llm.complete(llm_case.input)", changed))
    result = project.run(f"--candidate-model=openai/{CANDIDATE_MODEL}", "-k", "c00 or c01")
    sent = project.report()["run"]["sent_ahead"]
    assert sent == {"concurrency": 8, "planned": 2, "used": 0, "wasted": 2, "dropped": 0, "errors": 0}
    # the bodies' own requests went out as well: the two planned ones, then the two the tests really send
    assert len(emu.requests(CANDIDATE_MODEL)) == 4
    result.stdout.fnmatch_lines(["sent ahead: 2 live calls, 8 at a time: 0 used, 2 wasted*"])


def test_a_replayed_run_sends_nothing_ahead(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu)
    result = project.run()
    result.assert_outcomes(passed=12)
    assert emu.requests() == []
    assert "sent_ahead" not in project.report()["run"] or project.report()["run"]["sent_ahead"] is None
    assert "sent ahead" not in result.stdout.str()


def test_a_first_recording_sends_its_later_samples_ahead_and_writes_a_serial_runs_goldens(
    llm_project: LLMProject, emu: Emulator
) -> None:
    """No golden predicts a first recording's calls; its first sample does: the other samples of the same
    request go out together as soon as it has been answered, and the goldens are those of a serial run."""
    emu.add_model(CURRENT_MODEL, CURRENT, latency_ms=30)
    llm_project.write_config(emu.provider_tables(), model=f"openai/{CURRENT_MODEL}", max_retries=0)
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.test_file(CASE_TEST)
    goldens = llm_project.path / "tests" / "__llm_goldens__"

    llm_project.run("--llm-record", "--llm-samples=4", "--llm-concurrency=1", "-k", "c00 or c01 or c02")
    assert emu.peak_in_flight == 1
    serial = tree(goldens)
    serial_calls = sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests())
    assert len(serial) == 3
    assert len(serial_calls) == 12

    shutil.rmtree(goldens)
    emu.reset()
    emu.add_model(CURRENT_MODEL, CURRENT, latency_ms=30)
    result = llm_project.run("--llm-record", "--llm-samples=4", "--llm-concurrency=8", "-k", "c00 or c01 or c02")
    result.assert_outcomes(passed=3)
    assert emu.peak_in_flight == 3  # each case's samples 1 to 3 at once, after its first
    assert tree(goldens) == serial
    assert sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests()) == serial_calls
    assert llm_project.report()["run"]["sent_ahead"] == {
        "concurrency": 8,
        "planned": 9,
        "used": 9,
        "wasted": 0,
        "dropped": 0,
        "errors": 0,
    }


def test_a_later_sample_that_sends_another_request_calls_live_and_the_answer_sent_ahead_is_waste(
    llm_project: LLMProject, emu: Emulator
) -> None:
    emu.add_model(CURRENT_MODEL, CURRENT, latency_ms=30)
    llm_project.write_config(emu.provider_tables(), model=f"openai/{CURRENT_MODEL}", max_retries=0)
    llm_project.write("tests/cases.yaml", CASES)
    counting = CASE_TEST.replace(
        "def test_city(llm, llm_case, llm_golden):\n    out = llm.complete(llm_case.input)",
        "SENT = []\n\n"
        "@pytest.mark.llm_regression(cases='cases.yaml')\n"
        "def test_city(llm, llm_case, llm_golden):\n"
        "    SENT.append(1)\n"
        "    out = llm.complete(llm_case.input + ' ' * (len(SENT) % 2))",
    ).replace('@pytest.mark.llm_regression(cases="cases.yaml")\nSENT', "SENT")
    llm_project.test_file(counting)
    result = llm_project.run("--llm-record", "--llm-samples=3", "--llm-concurrency=8", "-k", "c00")
    result.assert_outcomes(passed=1)
    sent = llm_project.report()["run"]["sent_ahead"]
    # sample 0 sent "input ", samples 1 and 2 were sent ahead with it; sample 1 sent "input" live instead
    assert sent == {"concurrency": 8, "planned": 2, "used": 1, "wasted": 1, "dropped": 0, "errors": 0}
    assert len(emu.requests(CURRENT_MODEL)) == 4


# -- samples and top-ups (scripted models: the sample index decides each answer) --------------------------

SAMPLED_CURRENT = """\
# synthetic
rules:
  - name: coin
    when: {user_contains: coin}
    choices: [{weight: 1, respond: PASS}, {weight: 1, respond: FAIL}]
default: {respond: PASS}
"""

SAMPLED_CANDIDATE = """\
# synthetic
extends: cur
seed: 7
rules:
  - name: breaks
    when: {user_contains: breaks}
    respond: FAIL
"""

SAMPLED_CASES = "".join(
    f"- {{id: {kind}{i}, input: {kind} {i}}}\n" for i in range(3) for kind in ("steady", "coin", "breaks")
)

ANSWER_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_answer(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.equals("PASS"))
"""


def sampled_project(llm_project: LLMProject) -> LLMProject:
    llm_project.write_config(model="scripted/cur")
    llm_project.model("cur", SAMPLED_CURRENT)
    llm_project.model("cand", SAMPLED_CANDIDATE)
    llm_project.write("tests/cases.yaml", SAMPLED_CASES)
    llm_project.test_file(ANSWER_TEST)
    llm_project.run("--llm-record", "--llm-samples=3").assert_outcomes(passed=9)
    return llm_project


@pytest.mark.parametrize("baseline", ["golden", "live"])
def test_samples_and_top_ups_go_out_together_and_decide_as_a_serial_run(llm_project: LLMProject, baseline: str) -> None:
    project = sampled_project(llm_project)
    args = ("--candidate-model=scripted/cand", "--llm-samples=3", "--llm-max-samples=9", f"--llm-baseline={baseline}")
    project.run("--llm-concurrency=1", *args)
    serial = project.report()

    project.run("--llm-concurrency=8", *args)
    report = project.report()
    assert without_timing(report) == without_timing(serial)
    topped_up = [i for i in report["items"] if i["role"] == "candidate" and i["samples"] > 3]
    assert topped_up  # the coin and breaks cases needed more samples, and got them from the pool
    sent = report["run"]["sent_ahead"]
    assert sent["wasted"] == 0
    # every sample the candidates drew was sent ahead: the first three with the item, the top-ups together
    assert sent["used"] >= sum(i["samples"] for i in report["items"] if i["role"] == "candidate")


# -- progress -------------------------------------------------------------------------------------------

PROGRESS = re.compile(r"llmversion: \d+/\d+ LLM items")


def test_a_live_run_shows_its_progress_every_few_seconds(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = emulated_project(llm_project, emu)
    project.write_config(
        '\n[tool.llmversion.catalog."openai/gpt-4o-2024-11-20"]\ninput_per_mtok = 2.5\noutput_per_mtok = 10.0\n'
        + emu.provider_tables()
    )
    monkeypatch.setattr("pytest_llmversion.run.progress.INTERVAL", 0.0)  # a line after every item
    result = project.run(f"--candidate-model=openai/{CANDIDATE_MODEL}", "-k", "candidate and (c00 or c01 or c03)")
    result.stdout.fnmatch_lines(
        [
            "llmversion: 1/3 LLM items, 1 live call (* sent ahead waiting), 0 errors, $0.000* spent, about * s left",
            "llmversion: 2/3 LLM items, 2 live calls*, 0 errors, $0.000* spent, about * s left",
        ]
    )
    assert "llmversion: 3/3" not in result.stdout.str()  # the summary says the rest

    quiet = project.run(f"--candidate-model=openai/{CANDIDATE_MODEL}", "-k", "candidate and c00 or c01", "-q")
    assert not PROGRESS.search(quiet.stdout.str())

    replay = project.run("-k", "c00 or c01")
    assert not PROGRESS.search(replay.stdout.str())  # nothing to wait for


# -- tool calls ------------------------------------------------------------------------------------------

ORDER_CASES = "".join(f"- {{id: o{i}, input: 'Where is my order A{1000 + i}?'}}\n" for i in range(6))

ORDER_TEST = """\
import pytest
from pytest_llmversion import checks

SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]+$"}},
    "required": ["order_id"],
}
LOOKUP = {"name": "lookup_order", "description": "Find an order by its number", "parameters": SCHEMA}


def answer(llm, question):
    messages = [{"role": "system", "content": "Look orders up."}, {"role": "user", "content": question}]
    first = llm.complete(messages, tools=[LOOKUP], tool_choice="auto")
    if not first.tool_calls:
        return first
    results = [c.result({"order_id": c.arguments.get("order_id"), "status": "shipped"}) for c in first.tool_calls]
    return llm.complete([*messages, first, *results], tools=[LOOKUP])


@pytest.mark.llm_regression(cases="cases.yaml")
def test_order(llm, llm_case, llm_golden):
    final = answer(llm, llm_case.input)
    calls = llm_golden.tool_calls
    llm_golden.check(calls, checks.tool_called("lookup_order"), checks.tool_args("lookup_order", schema=SCHEMA))
    llm_golden.check(final, checks.contains("shipped"))
"""

ORDER_CURRENT = """\
# synthetic
rules:
  - name: answer
    when: {tool_result: lookup_order}
    respond: "Your order {{result.order_id}} has {{result.status}}."
  - name: lookup
    when: {regex: "order (?P<order>A\\\\d+)"}
    tool_calls: [{name: lookup_order, arguments: {order_id: "{{order}}"}}]
"""

#: Answers order A1001 in text, looks A1003 up under another name, and breaks the schema for A1005.
ORDER_CANDIDATE = """\
# synthetic
rules:
  - name: answer
    when: {tool_result: lookup_order}
    respond: "Your order {{result.order_id}} has {{result.status}}."
  - name: text
    when: {user_contains: A1001}
    respond: I cannot look orders up.
  - name: other
    when: {user_contains: A1003}
    tool_calls: [{name: find_order, arguments: {id: A1003}}]
  - name: schema
    when: {user_contains: A1005}
    tool_calls: [{name: lookup_order, arguments: {order_id: a-1005}}]
  - name: lookup
    when: {regex: "order (?P<order>A\\\\d+)"}
    tool_calls: [{name: lookup_order, arguments: {order_id: "{{order}}"}}]
"""


def test_tool_calls_are_sent_ahead_from_their_goldens_and_judged_as_in_a_serial_run(
    llm_project: LLMProject, emu: Emulator
) -> None:
    emu.add_model(CURRENT_MODEL, ORDER_CURRENT, latency_ms=30)
    llm_project.write_config(emu.provider_tables(), model=f"openai/{CURRENT_MODEL}", max_retries=0)
    llm_project.write("tests/cases.yaml", ORDER_CASES)
    llm_project.test_file(ORDER_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=6)
    args = (f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-candidate-recordings=all")

    def candidate_run(concurrency: int) -> tuple[dict[str, Any], list[str]]:
        shutil.rmtree(llm_project.path / ".llmversion", ignore_errors=True)
        emu.reset()
        emu.add_model(CANDIDATE_MODEL, ORDER_CANDIDATE, latency_ms=30)
        llm_project.run(f"--llm-concurrency={concurrency}", *args).assert_outcomes(passed=9, failed=3)
        return llm_project.report(), sorted(json.dumps(r.body, sort_keys=True) for r in emu.requests())

    serial, serial_calls = candidate_run(1)
    concurrent, calls = candidate_run(6)
    assert without_timing(concurrent) == without_timing(serial)
    assert calls == serial_calls  # the same requests, tools and tool results included: none twice
    verdicts = {i["case"]: i["verdict"] for i in concurrent["items"] if i["role"] == "candidate"}
    assert verdicts == dict.fromkeys(("o1", "o3", "o5"), "FORMAT_BREAK") | dict.fromkeys(
        ("o0", "o2", "o4"), "UNCHANGED"
    )
    # each case's first call (the one with the tools, from its golden) went ahead; the turn after the tool ran
    # depends on the answer, so the body sends it itself
    assert concurrent["run"]["sent_ahead"] == {
        "concurrency": 6,
        "planned": 6,
        "used": 6,
        "wasted": 0,
        "dropped": 0,
        "errors": 0,
    }


def test_the_candidates_answers_are_rewritten_only_where_they_changed(llm_project: LLMProject, emu: Emulator) -> None:
    project = emulated_project(llm_project, emu)
    args = (f"--candidate-model=openai/{CANDIDATE_MODEL}",)
    project.run(*args).assert_outcomes(passed=21, failed=3)
    folder = project.path / ".llmversion" / "candidate"
    first = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*.yaml")}
    assert len(first) == 12
    (folder / "left-by-hand.txt").write_text("not this run's")

    project.run(*args).assert_outcomes(passed=21, failed=3)  # the same answers: no file is touched
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*.yaml")} == first
    assert not (folder / "left-by-hand.txt").exists()  # the folder holds only this run's files

    project.write("tests/cases.yaml", "".join(CASES.splitlines(keepends=True)[1:]))  # case c00 is gone
    project.run(*args).assert_outcomes(passed=19, failed=3)
    left = set(folder.rglob("*.yaml"))
    assert len(left) == 11
    assert not any("c00" in p.name for p in left)
    assert all(first[p] == (p.stat().st_ino, p.stat().st_mtime_ns) for p in left)


def test_a_golden_outside_the_rootdir_keeps_the_candidates_answers_under_their_folder(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from pytest_llmversion.run.artifacts import write_candidate_goldens

    real = tmp_path / "elsewhere" / "__llm_goldens__" / "test_x" / "c0.yaml"  # shown by its absolute path
    real.parent.mkdir(parents=True)
    real.write_text("the real golden\n")
    doc = {"schema": 1, "test": "test_x.py::test_x", "case": "c0", "output": "Paris"}
    report = SimpleNamespace(
        result=SimpleNamespace(role="candidate", golden=str(real), nodeid="test_x.py::test_x[c0-candidate]"),
        artifacts=SimpleNamespace(candidate_doc=doc, rerecord=None),
    )
    folder = tmp_path / "project" / ".llmversion" / "candidate"
    written = write_candidate_goldens([report], folder, str)  # type: ignore[list-item]
    assert real.read_text() == "the real golden\n"  # never written over
    path = Path(written["test_x.py::test_x[c0-candidate]"])
    assert path.is_relative_to(folder)
    assert "Paris" in path.read_text()


#: A conftest that pauses the cyclic garbage collector for the run and, after the last test, counts the plugin's
#: objects only it could have freed.
CYCLIC_GARBAGE = """\
import gc, json
from pathlib import Path

def pytest_sessionstart(session):
    gc.collect()
    gc.disable()

def pytest_sessionfinish(session):
    gc.enable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = [type(o).__module__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    Path("garbage.json").write_text(json.dumps(sum(m.startswith("pytest_llmversion") for m in found)))
"""


def test_a_finished_item_is_freed_at_once_not_left_to_the_cyclic_collector(
    llm_project: LLMProject, emu: Emulator
) -> None:
    """An item the pool sent ahead for (its sampler holds what sends its later samples and top-ups) is freed as
    soon as its report is made: a cycle through it would leave a long run's items for full collections, which
    then scan all of them (a seventh of a second at 400 items)."""
    project = emulated_project(llm_project, emu)
    project.write("conftest.py", CYCLIC_GARBAGE)
    args = (f"--candidate-model=openai/{CANDIDATE_MODEL}", "--llm-samples=3", "--llm-baseline=live")
    project.run(*args, "--llm-concurrency=8", "-p", "no:randomly").assert_outcomes(passed=21, failed=3)
    assert json.loads((project.path / "garbage.json").read_text()) == 0
