"""The basic workflow a user follows: missing golden, record, replay, candidate run."""

from __future__ import annotations

from conftest import ENTITY_TEST, LLMProject

FENCED = """\
# synthetic
extends: m1
transform: {fence: json}
"""


def test_missing_golden_names_the_command_that_records_it(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "MISSING: no golden at tests/__llm_goldens__/test_llm/test_extracts_city.yaml",
            '  record it: pytest --llm-record "tests/test_llm.py::test_extracts_city[current]"',
        ]
    )
    assert llm_project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "MISSING"}
    assert llm_project.report()["summary"]["gate"] == "fail"


def test_record_then_replay_then_candidate_format_break(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    assert 'output: \'{"name": "Ada Lovelace", "city": "London"}\'' in golden.read_text()

    replay = llm_project.run()
    replay.assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::test_extracts_city[current]": "MATCH"}

    llm_project.model("m2", FENCED)
    result = llm_project.run("--candidate-model=scripted/m2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "FORMAT_BREAK: a format check that passed on the golden fails on the candidate",
            "*valid_json * 1.00 -> 0.00 *wrapped in a ```json code fence*",
            "*gate: FAIL (1 candidate FORMAT_BREAK: test_extracts_city)",
        ]
    )
    report = llm_project.report()
    candidate = next(i for i in report["items"] if i["role"] == "candidate")
    assert candidate["verdict"] == "FORMAT_BREAK"
    assert candidate["baseline_score"] == 1.0
    assert candidate["score"] == 0.0
    assert report["summary"]["gate"] == "fail"
