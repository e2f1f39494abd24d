"""Items: ``[current]`` and ``[candidate]`` beside each other, and the pytest options users combine them with."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from conftest import ENTITY_TEST, LLMProject

FENCED = """\
# synthetic: the newer "model" wraps its JSON in a code fence
extends: m1
transform: {fence: json}
"""

TWO_TESTS = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression
def test_extracts_city(llm, llm_golden):
    out = llm.complete("Ada Lovelace was born in London.")
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))

@pytest.mark.llm_regression
def test_mentions_name(llm, llm_golden):
    out = llm.complete("Alan Turing was born in Maida.")
    llm_golden.check(out, checks.contains("Turing"))

def test_unmarked():
    assert 1 + 1 == 2
"""


@pytest.fixture
def recorded(llm_project: LLMProject) -> LLMProject:
    """Two marked tests and an unmarked one, goldens recorded; m2 fences its JSON."""
    llm_project.test_file(TWO_TESTS)
    llm_project.model("m2", FENCED)
    llm_project.run("--llm-record").assert_outcomes(passed=3)
    return llm_project


def test_without_a_candidate_each_marked_test_is_one_current_item(recorded: LLMProject) -> None:
    result = recorded.run("-v")
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_extracts_city[current] MATCH",
            "tests/test_llm.py::test_mentions_name[current] MATCH",
            "tests/test_llm.py::test_unmarked PASSED",
        ]
    )
    assert "candidate" not in result.stdout.str().split("llmversion:")[1].splitlines()[0]


def test_a_candidate_adds_a_candidate_item_beside_each_current_one(recorded: LLMProject) -> None:
    result = recorded.run("--candidate-model=scripted/m2", "-v")
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_extracts_city[current] MATCH",
            "tests/test_llm.py::test_extracts_city[candidate] FORMAT_BREAK",
            "tests/test_llm.py::test_mentions_name[current] MATCH",
            "tests/test_llm.py::test_mentions_name[candidate] UNCHANGED",
            "tests/test_llm.py::test_unmarked PASSED",
        ]
    )
    assert recorded.verdicts() == {
        "tests/test_llm.py::test_extracts_city[current]": "MATCH",
        "tests/test_llm.py::test_extracts_city[candidate]": "FORMAT_BREAK",
        "tests/test_llm.py::test_mentions_name[current]": "MATCH",
        "tests/test_llm.py::test_mentions_name[candidate]": "UNCHANGED",
    }


def test_k_candidate_selects_only_the_candidate_side(recorded: LLMProject) -> None:
    result = recorded.run("--candidate-model=scripted/m2", "-k", "candidate", "-v")
    result.assert_outcomes(passed=1, failed=1, deselected=3)
    assert set(recorded.verdicts()) == {
        "tests/test_llm.py::test_extracts_city[candidate]",
        "tests/test_llm.py::test_mentions_name[candidate]",
    }
    assert "golden(s) unused" not in result.stdout.str()


def test_unmarked_tests_are_untouched_and_a_project_without_the_plugin_pays_nothing(llm_project: LLMProject) -> None:
    llm_project.pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_plain(n):
            assert n > 0
        """
    )
    result = llm_project.run("-v")
    result.stdout.fnmatch_lines(["tests/test_llm.py::test_plain[1] PASSED", "tests/test_llm.py::test_plain[2] PASSED"])
    assert "llmversion" not in result.stdout.str().replace("llmversion-0", "")
    assert not (llm_project.path / ".llmversion").exists()
    assert "pytest_llmversion.config" not in result.stdout.str()


def test_unmarked_tests_keep_their_ids_in_a_project_that_uses_the_plugin(recorded: LLMProject) -> None:
    result = recorded.run("--candidate-model=scripted/m2", "tests/test_llm.py::test_unmarked", "-v")
    result.stdout.fnmatch_lines(["tests/test_llm.py::test_unmarked PASSED"])
    result.assert_outcomes(passed=1)


def test_user_parametrize_combines_with_roles_and_keys_the_golden(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.parametrize("city", ["London", "Paris"])
        @pytest.mark.llm_regression
        def test_city(llm, llm_golden, city):
            out = llm.complete(f"Ada Lovelace was born in {city}.")
            llm_golden.check(out, checks.json_field("city", city))
        """
    )
    llm_project.model("m2", "extends: m1\n")
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    # upper case gets a hash of the exact id: a case-insensitive file system would fold London onto london
    assert sorted(p.name for p in llm_project.golden("test_llm").iterdir()) == [
        "test_city[London]-ed717a4eb0.yaml",
        "test_city[Paris]-b5ed00abc5.yaml",
    ]
    result = llm_project.run("--candidate-model=scripted/m2", "-v")
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_city[London-current] MATCH",
            "tests/test_llm.py::test_city[London-candidate] UNCHANGED",
            "tests/test_llm.py::test_city[Paris-current] MATCH",
            "tests/test_llm.py::test_city[Paris-candidate] UNCHANGED",
        ]
    )
    goldens = {item["nodeid"]: item["golden"] for item in llm_project.report()["items"]}
    assert (
        goldens["tests/test_llm.py::test_city[Paris-candidate]"]
        == "tests/__llm_goldens__/test_llm/test_city[Paris]-b5ed00abc5.yaml"
    )


def test_the_current_model_as_candidate_adds_no_duplicate_items(recorded: LLMProject) -> None:
    result = recorded.run("--candidate-model=scripted/m1", "--strict", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "llmversion: current scripted/m1 (*), candidate scripted/m1 is the current model, so no [[]candidate] "
            "items, mode replay",
        ]
    )
    assert "[candidate]" not in result.stdout.str().split("collected")[1]
    assert {item["role"] for item in recorded.report()["items"]} == {"current"}


def test_p_no_llmversion_disables_the_plugin(recorded: LLMProject) -> None:
    result = recorded.run("-p", "no:llmversion")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*fixture 'llm' not found*"])
    assert "= llmversion =" not in result.stdout.str()
    assert "[current]" not in result.stdout.str()


def test_x_stops_at_the_first_failing_item_and_still_reports(recorded: LLMProject) -> None:
    result = recorded.run("--candidate-model=scripted/m2", "-x")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["gate: FAIL (1 candidate FORMAT_BREAK: test_extracts_city)"])
    assert recorded.verdicts() == {
        "tests/test_llm.py::test_extracts_city[current]": "MATCH",
        "tests/test_llm.py::test_extracts_city[candidate]": "FORMAT_BREAK",
    }
    assert recorded.report()["summary"]["unused_goldens"] == []


def test_lf_reruns_only_the_failed_items_and_never_takes_the_others_goldens_for_unused(recorded: LLMProject) -> None:
    recorded.test_file(TWO_TESTS.replace("Maida", "Paddington"))  # test_mentions_name's golden is now STALE
    pytester = recorded.pytester
    first = pytester.runpytest("--candidate-model=scripted/m2")
    first.assert_outcomes(passed=3, failed=2)

    again = pytester.runpytest("--candidate-model=scripted/m2", "--lf", "--llm-prune-unused", "-v")
    again.assert_outcomes(failed=2)
    again.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_extracts_city[[]candidate] FORMAT_BREAK*",
            "tests/test_llm.py::test_mentions_name[[]current] STALE*",
        ]
    )
    assert recorded.verdicts() == {
        "tests/test_llm.py::test_extracts_city[candidate]": "FORMAT_BREAK",
        "tests/test_llm.py::test_mentions_name[current]": "STALE",
    }
    assert recorded.report()["summary"]["unused_goldens"] == []
    assert "no collected test uses them" not in again.stdout.str()
    assert recorded.golden("test_llm/test_extracts_city.yaml").is_file()


def test_junitxml_carries_each_items_result_as_properties(recorded: LLMProject) -> None:
    recorded.write_config('[tool.llmversion.catalog."scripted/m2"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n')
    recorded.run("--candidate-model=scripted/m2", "--junitxml=junit.xml")
    tree = ET.parse(recorded.path / "junit.xml")
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in tree.iter("testcase")
    }
    assert properties["test_unmarked"] == {}
    assert properties["test_extracts_city[candidate]"] == {
        "llm_verdict": "FORMAT_BREAK",
        "llm_role": "candidate",
        "llm_model": "scripted/m2",
        "llm_baseline_score": "1.0",
        "llm_score": "0.0",
        "llm_delta": "-1.0",
        "llm_input_tokens": "8",
        "llm_output_tokens": "14",
        "llm_cost_usd": "0.000036",  # 8 in at $1 and 14 out at $2 per million: priced as report.json prices it
        "llm_latency_ms": properties["test_extracts_city[candidate]"]["llm_latency_ms"],
        "llm_golden": "tests/__llm_goldens__/test_llm/test_extracts_city.yaml",
    }
    costs = {i["nodeid"]: i["cost_usd"] for i in recorded.report()["items"]}
    assert costs["tests/test_llm.py::test_extracts_city[candidate]"] == 0.000036
    current = properties["test_mentions_name[current]"]
    assert (current["llm_verdict"], current["llm_role"], current["llm_model"]) == ("MATCH", "current", "scripted/m1")
    assert "llm_latency_ms" not in current  # replayed from its golden: no call was timed


def test_a_run_without_junitxml_works_out_no_properties(recorded: LLMProject) -> None:
    recorded.write(
        "conftest.py",
        """\
import json
from pathlib import Path

SEEN = []

def pytest_runtest_logreport(report):
    if report.when == "teardown":
        SEEN.extend(name for name, _ in report.user_properties)

def pytest_sessionfinish(session):
    Path("properties.json").write_text(json.dumps(SEEN))
""",
    )
    recorded.run("--candidate-model=scripted/m2")
    assert json.loads((recorded.path / "properties.json").read_text()) == []
    recorded.run("--candidate-model=scripted/m2", "--junitxml=junit.xml")
    assert "llm_verdict" in json.loads((recorded.path / "properties.json").read_text())


def test_a_marked_test_is_judged_even_if_it_never_calls_the_model(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_no_call(llm):
            assert llm.model.provider == "scripted"

        @pytest.mark.llm_regression
        def test_no_llm_fixture():
            pass  # a marked test that asks for no llm fixture still runs as an LLM item
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    assert llm_project.verdicts() == {
        "tests/test_llm.py::test_no_call[current]": "RECORDED",
        "tests/test_llm.py::test_no_llm_fixture[current]": "RECORDED",
    }
    assert llm_project.golden("test_llm/test_no_llm_fixture.yaml").is_file()
    llm_project.run().assert_outcomes(passed=2)
    assert set(llm_project.verdicts().values()) == {"MATCH"}


def test_the_entity_example_runs_under_strict_mode(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.model("m2", FENCED)
    llm_project.run("--llm-record", "--strict").assert_outcomes(passed=1)
    llm_project.run("--candidate-model=scripted/m2", "--strict").assert_outcomes(passed=1, failed=1)


def test_recording_with_a_candidate_on_the_command_line_is_refused_with_the_next_step(recorded: LLMProject) -> None:
    result = recorded.run("--llm-record", "--candidate-model=scripted/m2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-llmversion: --llm-record writes the current model's goldens at the end of the run, so a "
            "candidate has nothing to be judged against yet; record first, then run: pytest --candidate-model="
            "scripted/m2"
        ]
    )


def test_recording_leaves_out_a_configured_candidate_and_says_so(recorded: LLMProject) -> None:
    recorded.write_config(candidate_model="scripted/m2")
    result = recorded.run("--llm-record", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["llmversion: current scripted/m1 (*), candidate scripted/m2 not run while recording, mode record"]
    )
    assert {item["role"] for item in recorded.report()["items"]} == {"current"}
