"""``checks.judge``: an LLM judge through the item's router, recorded in the golden, replayed offline, STALE when
its rubric or model changed, judged again in a candidate run, ERROR (never a low score) when it fails, on its
own cost line. The models answer from the loopback emulator through the real OpenAI SDK."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import LLMProject

from pytest_llmversion.checks.judge import parse_verdict
from pytest_llmversion.providers.base import ProviderError
from pytest_llmversion.testing import Emulator, Fault
from pytest_llmversion.yamlio import load_yaml_file

CURRENT, CANDIDATE, JUDGE = "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-mini-2024-07-18"
REPLY = "We are sorry your parcel is late. A replacement ships today and you will get a refund of the postage."
VERDICT = '{"score": 0.9, "reason": "apologises and offers a concrete remedy"}'

JUDGED_TEST = """\
import pytest
from pytest_llmversion import checks

RUBRIC = "RUBRIC_TEXT"

@pytest.mark.llm_regression
def test_reply(llm, llm_golden):
    out = llm.complete("Write a reply to: my parcel is late")
    llm_golden.check(out, checks.judge(RUBRIC, threshold=0.6))
"""
RUBRIC = "The reply apologises and offers a concrete remedy."


def judged_project(llm_project: LLMProject, emu: Emulator, rubric: str = RUBRIC, **config: object) -> LLMProject:
    emu.add_model(CURRENT, respond=REPLY)
    emu.add_model(CANDIDATE, respond=REPLY + " Thank you for your patience.")
    emu.add_model(JUDGE, respond=VERDICT)
    values = {"model": f"openai/{CURRENT}", "judge_model": f"openai/{JUDGE}", "max_retries": 0} | config
    llm_project.write_config(emu.provider_tables(), **values)
    write_test(llm_project, rubric)
    return llm_project


def write_test(llm_project: LLMProject, rubric: str) -> None:
    llm_project.test_file(JUDGED_TEST.replace("RUBRIC_TEXT", rubric))


def judge_requests(emu: Emulator) -> int:
    return len(emu.requests(JUDGE))


def test_the_judge_is_recorded_in_the_golden_and_replayed_offline(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert judge_requests(emu) == 1
    request = emu.requests(JUDGE)[0].body
    assert request["temperature"] == 0.0
    assert RUBRIC in request["messages"][1]["content"]
    golden = load_yaml_file(llm_project.golden("test_llm/test_reply.yaml"))
    (call,) = golden["samples"][0]["check_calls"]
    assert call["purpose"] == "judge"
    assert call["model"] == f"openai/{JUDGE}"
    assert len(call["rubric"]) == 12
    assert call["output"] == VERDICT
    assert golden["samples"][0]["checks"][0]["score"] == 0.9

    emu.reset()  # the judge would now answer nothing: a replay must not ask it
    result = llm_project.run()
    result.assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_reply[current]": "MATCH"}
    assert emu.requests() == []


def test_a_changed_rubric_is_stale_on_replay_and_never_calls_out(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    write_test(llm_project, "The reply is under twenty words.")
    emu.clear_requests()
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_reply[current]": "STALE"}
    message = llm_project.report()["items"][0]["message"]
    assert message.startswith(
        "STALE: since the golden was recorded, the rubric of judge(The reply is under twenty wor…) changed (rubric "
    )
    assert emu.requests() == []


def test_a_changed_judge_model_is_stale_on_replay(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.write_config(judge_model="openai/gpt-4o-2024-05-13")
    llm_project.run().assert_outcomes(failed=1)
    assert llm_project.report()["items"][0]["message"].startswith(
        "STALE: since the golden was recorded, the judge of judge(The reply apologises and offe…) changed"
        f": the golden's was openai/{JUDGE}, "
        "this run's is openai/gpt-4o-2024-05-13"
    )


def test_a_candidate_run_judges_the_golden_again_and_says_the_judge_changed(
    llm_project: LLMProject, emu: Emulator
) -> None:
    judged_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    write_test(llm_project, "The reply is polite.")
    emu.clear_requests()
    result = llm_project.run(f"--candidate-model=openai/{CANDIDATE}", "-k", "candidate")
    result.assert_outcomes(passed=1, deselected=1)
    # the golden's answer and the candidate's, each judged once by this run's judge and rubric
    assert judge_requests(emu) == 2
    (item,) = llm_project.report()["items"]
    assert item["verdict"] == "UNCHANGED"
    assert any("the judge changed, not the model" in note and "rubric" in note for note in item["notes"])
    recordings = sorted(p.relative_to(llm_project.path).as_posix() for p in llm_project.path.rglob("*.yaml"))
    judge_recording = f".llmversion/recordings/checks/openai/{JUDGE}/tests/test_llm/test_reply.yaml"
    assert judge_recording in recordings
    calls = load_yaml_file(llm_project.path / judge_recording)["calls"]
    assert [c["output"] for c in calls] == [VERDICT, VERDICT]

    # CI re-scores the candidate offline: its answers and its judge's verdicts come from the recordings
    emu.reset()
    result = llm_project.run(
        f"--candidate-model=openai/{CANDIDATE}", "-k", "candidate", "--llm-candidate-recordings=none"
    )
    result.assert_outcomes(passed=1, deselected=1)
    assert emu.requests() == []
    assert llm_project.verdicts() == {"tests/test_llm.py::test_reply[candidate]": "UNCHANGED"}


def test_the_judge_has_its_own_cost_line(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    result = llm_project.run(f"--candidate-model=openai/{CANDIDATE}", "--llm-report-html=report.html")
    result.assert_outcomes(passed=2)
    cost = llm_project.report()["summary"]["cost"]
    (judge,) = cost["check_calls"]
    assert (judge["purpose"], judge["model"], judge["calls_live"], judge["calls_replayed"]) == (
        "judge",
        f"openai/{JUDGE}",
        1,
        2,
    )
    assert judge["cost_usd"] > 0
    assert cost["roles"]["candidate"]["model"] == f"openai/{CANDIDATE}"
    result.stdout.re_match_lines([rf"  judge +openai/{JUDGE}  1 live verdict, 2 replayed  tokens \d+ in / \d+ out  .*"])
    html = (llm_project.path / "report.html").read_text()
    assert f"<tr><td>judge</td><td>openai/{JUDGE}</td><td class=num>1 live, 2 replayed</td>" in html


def test_a_judge_that_fails_is_an_error_not_a_low_score(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    emu.add_fault(Fault.http(503, model=JUDGE))
    result = llm_project.run("--llm-record")
    result.assert_outcomes(errors=0, failed=1)
    (item,) = llm_project.report()["items"]
    assert item["verdict"] == "ERROR"
    assert item["message"].startswith(f"CheckCallError: judge openai/{JUDGE}")
    assert "\n" not in item["message"]
    assert not llm_project.golden("test_llm/test_reply.yaml").exists()


def test_a_judge_that_answers_no_verdict_is_an_error_naming_it(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    emu.add_model(JUDGE, respond="I would say the reply is rather good, all things considered.")
    llm_project.run("--llm-record").assert_outcomes(failed=1)
    (item,) = llm_project.report()["items"]
    assert item["verdict"] == "ERROR"
    assert f"judge openai/{JUDGE} gave no verdict" in item["message"]
    assert "'I would say the reply is rather good" in item["message"]


def test_an_alias_judge_is_refused_in_one_line(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu, judge_model="openai/gpt-4o")
    result = llm_project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-llmversion: judge model openai/gpt-4o (pyproject.toml [[]tool.llmversion]) is an alias "
            '(today it resolves to *), not a pinned snapshot: *; pin it: judge_model = "*" (or run with '
            "--llm-allow-unpinned)"
        ]
    )


def test_an_alias_judge_named_in_the_test_is_an_error_in_one_line(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu)
    llm_project.test_file(JUDGED_TEST.replace("RUBRIC_TEXT", RUBRIC).replace("threshold=0.6", "model='openai/gpt-4o'"))
    llm_project.run("--llm-record").assert_outcomes(failed=1)
    message = llm_project.report()["items"][0]["message"]
    assert message.startswith("CheckCallError: judge model openai/gpt-4o (checks.judge(model=...)) is an alias")
    assert judge_requests(emu) == 0


def test_a_judge_that_is_the_candidate_is_warned_about(llm_project: LLMProject, emu: Emulator) -> None:
    judged_project(llm_project, emu, judge_model=f"openai/{CANDIDATE}")
    emu.add_model(CANDIDATE, respond=VERDICT)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    result = llm_project.run(f"--candidate-model=openai/{CANDIDATE}")
    result.stdout.fnmatch_lines([f"*WARNING: the judge openai/{CANDIDATE} is also the candidate model*"])


def test_judge_calls_count_in_the_budget_cap(llm_project: LLMProject, emu: Emulator) -> None:
    extra = emu.provider_tables() + textwrap.dedent(
        """
        [tool.llmversion.catalog."openai/judge-2024-07-18"]
        kind = "pinned"
        input_per_mtok = 100000.0
        output_per_mtok = 100000.0
        """
    )
    judged_project(llm_project, emu)
    emu.add_model("judge-2024-07-18", respond=VERDICT)
    llm_project.write_config(extra, judge_model="openai/judge-2024-07-18")
    llm_project.run("--llm-record", "--llm-budget-usd=1").assert_outcomes(failed=1)
    (item,) = llm_project.report()["items"]
    assert item["verdict"] == "ERROR"
    assert "judge openai/judge-2024-07-18" in item["message"]
    assert "--llm-budget-usd" in item["message"]
    assert emu.requests("judge-2024-07-18") == []


def test_the_judge_model_has_ini_cli_and_environment_twins(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    judged_project(llm_project, emu, judge_model=None)
    monkeypatch.setenv("LLMVERSION_JUDGE_MODEL", "openai/gpt-4o")  # an alias: refused, so it was read
    assert llm_project.run().ret == pytest.ExitCode.USAGE_ERROR
    monkeypatch.delenv("LLMVERSION_JUDGE_MODEL")
    result = llm_project.run("-o", "llm_judge_model=openai/gpt-4o")
    result.stderr.fnmatch_lines(["*judge model openai/gpt-4o (ini option llm_judge_model*) is an alias*"])
    result = llm_project.run("--llm-judge-model=openai/gpt-4o")
    result.stderr.fnmatch_lines(["*judge model openai/gpt-4o (--llm-judge-model) is an alias*"])
    result = llm_project.run("--llm-record")
    result.assert_outcomes(failed=1)
    assert "has no judge: set judge_model in [tool.llmversion]" in llm_project.report()["items"][0]["message"]


# -- reading a verdict -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "score", "reason"),
    [
        pytest.param('{"score": 0.75, "reason": "good"}', 0.75, "good", id="plain JSON"),
        pytest.param('```json\n{"score": 1, "reason": "ok"}\n```', 1.0, "ok", id="fenced"),
        pytest.param('Here is my verdict: {"Score": "0.4", "Reasoning": "vague"} Thanks.', 0.4, "vague", id="prose"),
        pytest.param("Score: 0.6\nReason: partly right", 0.6, "partly right", id="no JSON at all"),
        pytest.param('[{"score": 0.2}]', 0.2, "", id="a list, no reason"),
    ],
)
def test_a_verdict_is_read_from_what_judges_write(answer: str, score: float, reason: str) -> None:
    verdict = parse_verdict(answer, "openai/j")
    assert (verdict.score, verdict.reason) == (score, reason)


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        pytest.param('{"score": 8, "reason": "x"}', "judge openai/j scored '8', outside [0, 1]; scores on", id="0-10"),
        pytest.param('{"score": "80%"}', "judge openai/j scored '80%', outside [0, 1]", id="percent"),
        pytest.param("Score: 7/10", "judge openai/j scored 'Score: 7/10', outside [0, 1]", id="out of ten"),
        pytest.param('{"score": "high"}', "judge openai/j gave a score that is not a number", id="words"),
        pytest.param("", "judge openai/j gave no verdict (a JSON object with a score from 0 to 1", id="empty"),
        pytest.param('{"verdict": "pass"}', "judge openai/j gave no verdict", id="no score"),
    ],
)
def test_a_verdict_on_another_scale_or_none_is_an_error_never_rescaled(answer: str, line: str) -> None:
    with pytest.raises(ProviderError) as caught:
        parse_verdict(answer, "openai/j")
    assert str(caught.value).startswith(line)
    assert "\n" not in str(caught.value)


def test_a_judge_check_outside_llm_golden_says_why() -> None:
    from pytest_llmversion import checks

    with pytest.raises(ProviderError, match="runs inside a test marked llm_regression"):
        checks.judge("polite")("hello")
    assert json.dumps(checks.judge("polite").name) == '"judge(polite)"'
