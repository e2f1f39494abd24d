"""The example project works as the README says: goldens replay offline, the demo candidate shows
each kind of verdict, and the demo script explains the failed gate and exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def verdicts(root: Path) -> dict[str, str]:
    report = json.loads((root / ".llmversion" / "report.json").read_text())
    return {item["nodeid"].split("::", 1)[1]: item["verdict"] for item in report["items"]}


def test_committed_goldens_replay_offline(pytester: pytest.Pytester, example: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=21)  # 19 LLM items, routing plain code, the SDK app against the emulator
    assert set(verdicts(example).values()) == {"MATCH"}
    assert len(verdicts(example)) == 19
    sdk_items = {
        i["nodeid"].split("::", 1)[1]: i
        for i in json.loads((example / ".llmversion" / "report.json").read_text())["items"]
        if "sdk" in i["tags"]
    }
    # the openai-SDK app, through llm_openai, answered by its goldens; the shift's three notes at once (async)
    assert len(sdk_items) == 6
    assert sdk_items.pop("test_shift_handover[current]")["calls"] == {"live": 0, "replayed": 3}
    # the status page's module-level openai.OpenAI(), tested with the marker only: the plugin answered it
    assert sdk_items.pop("test_status_update[api-down-current]")["calls"] == {"live": 0, "replayed": 1}
    assert all(i["calls"] == {"live": 0, "replayed": 1} for i in sdk_items.values())
    tool_items = [
        i for i in json.loads((example / ".llmversion" / "report.json").read_text())["items"] if "tools" in i["tags"]
    ]
    assert len(tool_items) == 2  # the order questions: a tool call, the lookup, the answer, all from the golden
    assert all(i["calls"] == {"live": 0, "replayed": 2} for i in tool_items)


def test_every_committed_golden_says_it_is_synthetic(example: Path) -> None:
    goldens = sorted((example / "tests" / "__llm_goldens__").rglob("*.yaml"))
    assert len(goldens) == 19
    for path in goldens:
        text = path.read_text()
        assert "# SYNTHETIC: answered by a scripted stand-in model, not by a real model." in text, path
        assert "\nsynthetic: true\n" in text, path


def test_demo_candidate_shows_every_kind_of_verdict(pytester: pytest.Pytester, example: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--candidate-model=scripted/triage-2024-11")
    assert result.ret == 1
    found = {k: v for k, v in verdicts(example).items() if k.endswith("candidate]")}
    assert found.pop("test_triage[export-crash-candidate]") == "FORMAT_BREAK"
    assert found.pop("test_triage[api-outage-candidate]") == "REGRESSED"
    assert found.pop("test_triage[spanish-account-candidate]") == "IMPROVED"
    assert found.pop("test_order_question[stuck-order-candidate]") == "FORMAT_BREAK"  # answered without the tool
    assert set(found.values()) == {"UNCHANGED"}
    assert len(found) == 15
    gate = (
        "gate: FAIL (2 candidate FORMAT_BREAK: test_order_question[stuck-order], test_triage[export-crash]; "
        "1 candidate REGRESSED: test_triage[api-outage])"
    )
    assert gate in result.outlines
    result.stdout.fnmatch_lines(
        [
            "    tool_called(lookup_order)        1.00 -> 0.00   lookup_order was not called (no tool call)",
            "  2 calls, current (-) vs candidate (+):",
            "  call 1: prompt orders v1 · user: Order B5521 has said *",
            '    -tool call lookup_order {"order_id": "B5521"}',
            "    +Hi there,",
        ]
    )


def test_candidate_prompt_own_fixes_the_format_break(pytester: pytest.Pytester, example: Path) -> None:
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--candidate-model=scripted/triage-2024-11", "--llm-candidate-prompt=own"
    )
    assert verdicts(example)["test_triage[export-crash-candidate]"] == "UNCHANGED"


def test_demo_script_explains_the_gate_and_exits_zero(example: Path) -> None:
    done = subprocess.run([sys.executable, "demo.py"], cwd=example, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Gate: FAIL" in done.stdout
    assert "the JSON is wrapped in a ```json code fence" in done.stdout
    assert "priority: 1.00 -> 0.50 (priority high, expected urgent)" in done.stdout
    assert "tool_called(lookup_order): 1.00 -> 0.00 (lookup_order was not called (no tool call))" in done.stdout


def test_rollout_demo_holds_then_advances_through_the_apps_production_client(example: Path) -> None:
    done = subprocess.run([sys.executable, "rollout_demo.py"], cwd=example, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "recommendation: HOLD at 50 % (the open rules above say what is missing)" in done.stdout
    assert "recommendation: ADVANCE to 100 %: llmversion rollout advance" in done.stdout
    assert "llmversion: candidate_percent: 50 -> 100 in pyproject.toml ([tool.llmversion.rollout])" in done.stdout
    assert "candidate_percent = 0\n" in (example / "pyproject.toml").read_text()  # the demo works on a copy
