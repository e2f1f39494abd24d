"""``@pytest.mark.llm_regression(...)``: registered, validated at collection, tags and tolerance honoured."""

from __future__ import annotations

import pytest
from conftest import LLMProject

HALF_RIGHT = """\
# synthetic: answers the name but forgets the city
extends: m1
transform: {drop_fields: [city]}
"""


def marked_test(arguments: str) -> str:
    return f"""\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression({arguments})
def test_extracts_city(llm, llm_golden):
    out = llm.complete("Ada Lovelace was born in London.")
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))
"""


def test_the_marker_is_registered_and_works_under_strict_markers(llm_project: LLMProject) -> None:
    llm_project.test_file(marked_test('tags=["happy-path"], tolerance=0.1'))
    result = llm_project.run("--strict-markers", "--llm-record")
    result.assert_outcomes(passed=1)
    assert "not found in `markers` configuration option" not in result.stdout.str()

    markers = llm_project.run("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.llm_regression(tags=(), cases=None, tolerance=None, *"])


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        pytest.param(
            'tag=["edge"]',
            "argument 'tag': unknown argument (did you mean 'tags'?); allowed: tags, cases, tolerance, samples, "
            "threshold",
            id="unknown-keyword",
        ),
        pytest.param(
            'tolerance="0.1"', "argument 'tolerance': expected a number from 0 to 1, got '0.1'", id="tolerance-type"
        ),
        pytest.param(
            "tolerance=1.5", "argument 'tolerance': expected a number from 0 to 1, got 1.5", id="tolerance-range"
        ),
        pytest.param("tags=[1, 2]", "argument 'tags': expected a list of strings, got [1, 2]", id="tags-type"),
        pytest.param("cases=3", "argument 'cases': expected a path to a YAML or JSON file, got 3", id="cases-type"),
        pytest.param("samples=0", "argument 'samples': expected a whole number >= 1, got 0", id="samples-range"),
        pytest.param(
            '"edge"',
            "argument 'edge': positional arguments are not accepted; use keywords (tags, cases, tolerance, samples, "
            "threshold)",
            id="positional",
        ),
    ],
)
def test_a_bad_marker_argument_is_a_collection_error_naming_the_test_and_the_argument(
    llm_project: LLMProject, arguments: str, problem: str
) -> None:
    llm_project.test_file(marked_test(arguments))
    llm_project.test_file("def test_plain():\n    pass\n", name="test_plain.py")
    result = llm_project.run("--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR collecting tests/test_llm.py _*",
            f"tests/test_llm.py::test_extracts_city: @pytest.mark.llm_regression {problem}",
            "*= short test summary info =*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_tags_become_keywords_and_are_reported(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression(tags=["edge", "billing"])
        def test_refund(llm):
            llm.complete("Ada Lovelace was born in London.")

        @pytest.mark.llm_regression(tags="happy-path")
        def test_greeting(llm):
            llm.complete("hello")
        """
    )
    result = llm_project.run("--llm-record", "-k", "billing", "-v")
    result.stdout.fnmatch_lines(["tests/test_llm.py::test_refund[current] RECORDED"])
    result.assert_outcomes(passed=1, deselected=1)

    llm_project.run("--llm-record").assert_outcomes(passed=2)
    tags = {item["test"]: item["tags"] for item in llm_project.report()["items"]}
    assert tags == {
        "tests/test_llm.py::test_refund": ["billing", "edge"],
        "tests/test_llm.py::test_greeting": ["happy-path"],
    }


@pytest.mark.parametrize(
    ("tolerance", "verdict", "outcome"),
    [
        pytest.param("", "REGRESSED", "failed", id="none"),
        pytest.param("tolerance=0.5", "UNCHANGED", "passed", id="covers-the-drop"),
        pytest.param("tolerance=0.4", "REGRESSED", "failed", id="short-of-the-drop"),
    ],
)
def test_marker_tolerance_is_the_score_drop_a_candidate_may_show(
    llm_project: LLMProject, tolerance: str, verdict: str, outcome: str
) -> None:
    llm_project.test_file(marked_test(tolerance))
    llm_project.model("m2", HALF_RIGHT)
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    result = llm_project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(**({"passed": 2} if outcome == "passed" else {"passed": 1, "failed": 1}))
    candidate = llm_project.verdicts()["tests/test_llm.py::test_extracts_city[candidate]"]
    assert candidate == verdict
    result.stdout.fnmatch_lines([f"  test_extracts_city * 1.00 * 0.50 * -0.50  {verdict}*"])


def test_marker_tolerance_overrides_the_project_tolerance(llm_project: LLMProject) -> None:
    llm_project.write_config(tolerance=0.5)
    llm_project.test_file(marked_test("tolerance=0.0"))
    llm_project.model("m2", HALF_RIGHT)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run("--candidate-model=scripted/m2").assert_outcomes(passed=1, failed=1)
    assert llm_project.verdicts()["tests/test_llm.py::test_extracts_city[candidate]"] == "REGRESSED"


def test_a_marker_on_a_class_applies_to_its_methods(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression(tags=["suite"])
        class TestTriage:
            def test_first(self, llm):
                llm.complete("one")

            def test_second(self, llm):
                llm.complete("two")
        """
    )
    result = llm_project.run("--llm-record", "-v")
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::TestTriage::test_first[current] RECORDED",
            "tests/test_llm.py::TestTriage::test_second[current] RECORDED",
        ]
    )
    assert llm_project.golden("test_llm/TestTriage.test_first-f91c874a13.yaml").is_file()  # upper case: hashed
