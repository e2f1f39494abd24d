"""The fixtures a test uses: ``llm``, ``llm_model``, ``llm_config``, ``llm_golden`` and the ``Completion``."""

from __future__ import annotations

import json

import pytest
from conftest import LLMProject

#: A test that writes what its fixtures gave it, once per run of its body, to seen.jsonl.
RECORDING_FIXTURES = """\
import json
from pathlib import Path

import pytest
from pytest_llmversion import LLMConfig, ModelRef

@pytest.mark.llm_regression
def test_fixtures(llm, llm_model, llm_config, llm_golden):
    out = llm.complete("Ada Lovelace was born in London.")
    assert isinstance(llm_model, ModelRef) and isinstance(llm_config, LLMConfig)
    seen = {
        "client": str(llm.model),
        "llm_model": str(llm_model),
        "config_model": llm_config.model,
        "config_temperature": llm_config.temperature,
        "answered_by": out.model_requested,
        "source": out.source,
        "golden": str(llm_golden.path.relative_to(Path(__file__).parent)),
    }
    with open(Path(__file__).parent / "seen.jsonl", "a") as handle:
        handle.write(json.dumps(seen) + "\\n")
"""


def seen(project: LLMProject) -> list[dict[str, object]]:
    path = project.path / "tests" / "seen.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.unlink()
    return lines


def test_fixtures_are_bound_to_the_role_s_model(llm_project: LLMProject) -> None:
    llm_project.write_config(temperature=0.2)
    llm_project.model("m2", "extends: m1\n")
    llm_project.test_file(RECORDING_FIXTURES)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = "__llm_goldens__/test_llm/test_fixtures.yaml"
    current = {
        "llm_model": "scripted/m1",
        "config_model": "scripted/m1",
        "config_temperature": 0.2,
        "golden": golden,
    }
    assert seen(llm_project) == [{**current, "client": "scripted/m1", "answered_by": "scripted/m1", "source": "live"}]

    llm_project.run("--candidate-model=scripted/m2").assert_outcomes(passed=2)
    candidate = {**current, "llm_model": "scripted/m2", "config_model": "scripted/m2"}
    assert seen(llm_project) == [
        # the current item replays its golden
        {**current, "client": "scripted/m1", "answered_by": "scripted/m1", "source": "golden"},
        # the candidate item runs the body twice: the golden through today's code (the baseline), then the candidate
        {**candidate, "client": "scripted/m1", "answered_by": "scripted/m1", "source": "golden"},
        {**candidate, "client": "scripted/m2", "answered_by": "scripted/m2", "source": "live"},
    ]


def test_a_completion_has_text_models_usage_latency_and_finish_reason(llm_project: LLMProject) -> None:
    llm_project.model(
        "m1",
        """\
        # synthetic
        served_as: m1-2024-08-06
        latency_ms: 250
        rules:
          - when: {contains: long}
            respond: "a rather long answer that will be cut"
            transform: {truncate: 8}
            usage: {input_tokens: 7, output_tokens: 3}
        default:
          respond: '{"ok": true}'
          usage: {input_tokens: 5, output_tokens: 4}
        """,
    )
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import Completion, Usage

        @pytest.mark.llm_regression
        def test_completion(llm):
            out = llm.complete("short")
            assert isinstance(out, Completion)
            assert out.text == '{"ok": true}' and str(out) == out.text
            assert out.json() == {"ok": True}
            assert out.model_requested == "scripted/m1"
            assert out.model_served == "m1-2024-08-06"
            assert out.usage == Usage(input_tokens=5, output_tokens=4)
            assert out.finish_reason == "stop"
            assert out.latency_ms == (250.0 if out.source == "live" else 0.0)

            cut = llm.complete("please give a long one")
            assert cut.text == "a rather"
            assert cut.finish_reason == "length"
            assert cut.usage.total_tokens == 10
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_completion.yaml").read_text()
    assert "model_served: m1-2024-08-06" in golden
    assert "finish_reason: length" in golden
    llm_project.run().assert_outcomes(passed=1)  # the replayed completion carries the same fields
    item = llm_project.report()["items"][0]
    assert item["verdict"] == "MATCH"
    assert item["usage"] == {"input_tokens": 12, "output_tokens": 7, "cached_tokens": 0}
    assert item["models_served"] == ["m1-2024-08-06"]


def test_json_raises_output_parse_error_that_says_what_the_output_looks_like(llm_project: LLMProject) -> None:
    llm_project.model(
        "m1",
        """\
        # synthetic
        rules:
          - when: {contains: fenced}
            respond: '{"ok": true}'
            transform: {fence: json}
          - when: {contains: prose}
            respond: 'Sure! Here it is: {"ok": true}'
        default:
          respond: "not json at all"
        """,
    )
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import OutputParseError

        @pytest.mark.llm_regression
        def test_parse_errors(llm):
            with pytest.raises(OutputParseError, match=r"wrapped in a ```json code fence") as fenced:
                llm.complete("fenced").json()
            assert fenced.value.text.startswith("```json")
            with pytest.raises(OutputParseError, match="the JSON is surrounded by prose"):
                llm.complete("prose").json()
            with pytest.raises(OutputParseError, match="output is not valid JSON at line 1 column 1"):
                llm.complete("plain").json()
            assert isinstance(fenced.value, ValueError)
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run().assert_outcomes(passed=1)


def test_llm_complete_takes_messages_and_parameters_and_the_golden_shows_them(llm_project: LLMProject) -> None:
    llm_project.write_config(seed=7)
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_messages(llm):
            llm.complete(
                [{"role": "system", "content": "You extract people."}, {"role": "user", "content": "Ada?"}],
                temperature=0.3,
                max_tokens=50,
            )
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_messages.yaml").read_text()
    assert (
        "request:\n"
        "  messages:\n"
        "  - role: system\n"
        "    content: You extract people.\n"
        "  - role: user\n"
        "    content: Ada?\n"
        "  params:\n"
        "    max_tokens: 50\n"
        "    seed: 7\n"
        "    temperature: 0.3\n"
    ) in golden


def test_llm_golden_check_returns_the_results_and_rejects_what_is_not_a_check(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.llm_regression
        def test_check(llm, llm_golden):
            out = llm.complete("Ada Lovelace was born in London.")
            results = llm_golden.check(out, checks.valid_json(), checks.json_field("city", "Paris"))
            assert [(r.name, r.kind, r.passed, r.score) for r in results] == [
                ("valid_json", "format", True, 1.0),
                ("json_field(city)", "content", False, 0.0),
            ]
            assert results[1].detail == "city: expected Paris, got London"
            with pytest.raises(TypeError, match="llm_golden.check.. takes checks from pytest_llmversion.checks"):
                llm_golden.check(out, lambda text: True)
        """
    )
    result = llm_project.run("--llm-record")
    # the body passed, but a failed check fails the recording: the golden of a failing test is never written
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED: the live answer of scripted/m1 does not pass this test's checks",
            "  json_field(city) * 0.00   city: expected Paris, got London",
            "  output:",
            '    {"name": "Ada Lovelace", "city": "London"}',
            "  the golden was left as it was",
        ]
    )
    assert not llm_project.golden("test_llm/test_check.yaml").exists()


@pytest.mark.parametrize("fixture", ["llm", "llm_model", "llm_config", "llm_golden"])
def test_the_fixtures_need_the_marker(llm_project: LLMProject, fixture: str) -> None:
    llm_project.test_file(f"def test_unmarked({fixture}):\n    pass\n")
    result = llm_project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*tests/test_llm.py::test_unmarked: the llm fixtures need @pytest.mark.llm_regression on the test"]
    )
