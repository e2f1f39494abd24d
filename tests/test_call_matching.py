"""A test's calls are answered by what they are (request fingerprint, then how many times the sample sent it
before), not by the order they come in: calls made together replay the same answers in any order."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import LLMProject

BORN = {
    "london": "Ada Lovelace was born in London.",
    "paris": "Marie Curie was born in Warsaw.",
    "rome": "Maria Montessori was born in Chiaravalle.",
}

ORDERED_TEST = """\
import json
import os
import pytest

BORN = {born!r}

@pytest.mark.llm_regression
def test_people(llm):
    for name in os.environ["ORDER"].split(","):
        answer = json.loads(llm.complete(BORN[name]).text)
        assert answer["city"] in BORN[name], (name, answer)
"""


def people_project(llm_project: LLMProject) -> LLMProject:
    llm_project.test_file(ORDERED_TEST.format(born=BORN))
    return llm_project


def test_calls_replay_by_what_they_are_in_any_order(llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch) -> None:
    people_project(llm_project)
    monkeypatch.setenv("ORDER", "london,paris,rome")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    for order in ("rome,paris,london", "paris,london,rome"):
        monkeypatch.setenv("ORDER", order)
        llm_project.run().assert_outcomes(passed=1)
        assert llm_project.verdicts() == {"tests/test_llm.py::test_people[current]": "MATCH"}


def test_a_request_no_recorded_call_has_is_stale_against_the_nearest_recorded_one(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    people_project(llm_project)
    monkeypatch.setenv("ORDER", "london,paris,rome")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    changed = {**BORN, "rome": "Maria Montessori was born in Chiaravalle, Italy."}
    llm_project.test_file(ORDERED_TEST.format(born=changed))
    monkeypatch.setenv("ORDER", "rome,london,paris")  # the changed call comes first now
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the golden was recorded for a different request than the test sends now",
            "  golden: tests/__llm_goldens__/test_llm/test_people.yaml",
            "  request, golden (-) vs now (+):",
            "    @@ -2,3 +2,3 @@",
            "     - role: user",
            "    -  content: Maria Montessori was born in Chiaravalle.",
            "    +  content: Maria Montessori was born in Chiaravalle, Italy.",
        ]
    )
    assert llm_project.verdicts() == {"tests/test_llm.py::test_people[current]": "STALE"}


REPEATED_TEST = """\
import os
import pytest

@pytest.mark.llm_regression
def test_repeats(llm):
    answers = [llm.complete(prompt).text for prompt in os.environ["PROMPTS"].split(",")]
    if "ANSWERS" in os.environ:
        with open(os.environ["ANSWERS"], "w") as out:
            out.write("|".join(answers))
"""


def test_the_same_request_sent_again_takes_the_next_answer_recorded_for_it(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    llm_project.test_file(REPEATED_TEST)
    monkeypatch.setenv("PROMPTS", "again,other,again")
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_repeats.yaml")
    doc = yaml.safe_load(golden.read_text())
    sample = doc["samples"][0]
    sample["output"], sample["calls"][0]["output"], sample["calls"][1]["output"] = "again 1", "other", "again 2"
    golden.write_text(yaml.safe_dump(doc, sort_keys=False))

    answers = tmp_path / "answers.txt"
    monkeypatch.setenv("ANSWERS", str(answers))
    monkeypatch.setenv("PROMPTS", "other,again,again")
    llm_project.run().assert_outcomes(passed=1)
    assert answers.read_text() == "other|again 1|again 2"

    monkeypatch.setenv("PROMPTS", "again,again,again")
    result = llm_project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "STALE: the test now sends one request 3 times, the golden "
            "tests/__llm_goldens__/test_llm/test_repeats.yaml recorded it twice",
            '  re-record: pytest --llm-record "tests/test_llm.py::test_repeats[current]"',
        ]
    )
