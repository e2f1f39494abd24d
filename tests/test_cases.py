"""``cases="file.yaml"``: one item per case per role, ids from the case ids, the ``llm_case`` fixture,
and a collection error naming the file and the line for every bad cases file."""

from __future__ import annotations

import pytest
from conftest import LLMProject

CASES_YAML = """\
- id: ada
  input: Ada Lovelace was born in London.
  expected: {city: London}
  tags: [edge]
- id: alan
  input: Alan Turing was born in Maida.
  expected: {city: Maida}
  note: born in Maida Vale, London
"""

CASES_JSON = """\
[
  {"id": "ada", "input": "Ada Lovelace was born in London.", "expected": {"city": "London"}, "tags": ["edge"]},
  {"id": "alan", "input": "Alan Turing was born in Maida.", "expected": {"city": "Maida"}}
]
"""


def cases_test(cases_file: str) -> str:
    return f"""\
import os

import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases/{cases_file}")
def test_entities(llm, llm_case, llm_golden):
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", llm_case.expected["city"]))
"""


@pytest.mark.parametrize(("name", "text"), [("entities.yaml", CASES_YAML), ("entities.json", CASES_JSON)])
def test_a_cases_file_expands_one_item_per_case_per_role(llm_project: LLMProject, name: str, text: str) -> None:
    llm_project.write(f"tests/cases/{name}", text)
    llm_project.test_file(cases_test(name))
    llm_project.model("m2", "extends: m1\n")
    record = llm_project.run("--llm-record", "-v")
    record.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_entities[ada-current] RECORDED",
            "tests/test_llm.py::test_entities[alan-current] RECORDED",
        ]
    )
    assert llm_project.golden("test_llm/test_entities/ada.yaml").is_file()
    assert llm_project.golden("test_llm/test_entities/alan.yaml").is_file()

    result = llm_project.run("--candidate-model=scripted/m2", "-v")
    result.stdout.fnmatch_lines(
        [
            "tests/test_llm.py::test_entities[ada-current] MATCH",
            "tests/test_llm.py::test_entities[ada-candidate] UNCHANGED",
            "tests/test_llm.py::test_entities[alan-current] MATCH",
            "tests/test_llm.py::test_entities[alan-candidate] UNCHANGED",
        ]
    )
    result.stdout.fnmatch_lines(["  test_entities[[]ada] * UNCHANGED *", "  test_entities[[]alan] * UNCHANGED *"])
    cases = {(item["case"], item["role"]): item["verdict"] for item in llm_project.report()["items"]}
    assert cases == {
        ("ada", "current"): "MATCH",
        ("ada", "candidate"): "UNCHANGED",
        ("alan", "current"): "MATCH",
        ("alan", "candidate"): "UNCHANGED",
    }


def test_llm_case_gives_input_expected_tags_and_extra_keys(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/entities.yaml", CASES_YAML)
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression(cases="cases/entities.yaml")
        def test_entities(llm, llm_case):
            if llm_case.id == "ada":
                assert llm_case.input == "Ada Lovelace was born in London."
                assert llm_case.expected == {"city": "London"}
                assert llm_case.tags == ("edge",)
            else:
                assert llm_case["note"] == "born in Maida Vale, London"
                assert llm_case.tags == ()
            llm.complete(llm_case.input)
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=2)


def test_case_tags_select_with_k(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/entities.yaml", CASES_YAML)
    llm_project.test_file(cases_test("entities.yaml"))
    result = llm_project.run("--llm-record", "-k", "edge", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["tests/test_llm.py::test_entities[ada-current] RECORDED"])
    assert llm_project.report()["items"][0]["tags"] == ["edge"]


def test_llm_case_without_a_cases_file_says_what_is_missing(llm_project: LLMProject) -> None:
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_entities(llm, llm_case):
            pass
        """
    )
    result = llm_project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ['*tests/test_llm.py::test_entities[[]current]: llm_case needs @pytest.mark.llm_regression(cases="file.yaml")']
    )


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        pytest.param("entities.yaml", None, "tests/cases/entities.yaml: cases file not found", id="missing"),
        pytest.param(
            "entities.yaml",
            "- id: ada\n  input: x\n- id: alan\n   input: y\n",
            "tests/cases/entities.yaml: not valid YAML at line 4: mapping values are not allowed in this context",
            id="yaml-syntax",
        ),
        pytest.param(
            "entities.json",
            '[{"id": "ada", "input": 1},\n {"id": "alan" "input": 2}]\n',
            "tests/cases/entities.json: not valid JSON at line 2: Expecting ',' delimiter",
            id="json-syntax",
        ),
        pytest.param(
            "entities.yaml",
            "- id: ada\n  input: x\n- id: alan\n  expected: y\n",
            "tests/cases/entities.yaml:3: case 'alan' has no 'input'",
            id="yaml-no-input",
        ),
        pytest.param(
            "entities.json",
            '[\n  {"id": "ada", "input": 1},\n  {"id": "alan"}\n]\n',
            "tests/cases/entities.json:3: case 'alan' has no 'input'",
            id="json-no-input",
        ),
        pytest.param(
            "entities.yaml",
            "- id: ada\n  input: x\n- id: ada\n  input: y\n",
            "tests/cases/entities.yaml:3: duplicate case id 'ada' (first at tests/cases/entities.yaml:1)",
            id="yaml-duplicate-id",
        ),
        pytest.param(
            "entities.json",
            '[\n  {"id": "ada", "input": 1},\n\n  {"id": "ada", "input": 2}\n]\n',
            "tests/cases/entities.json:4: duplicate case id 'ada' (first at tests/cases/entities.json:2)",
            id="json-duplicate-id",
        ),
        pytest.param(
            "entities.yaml",
            "- id: ada lovelace\n  input: x\n",
            "tests/cases/entities.yaml:1: case id 'ada lovelace' must be letters, digits and . _ - (up to 80), "
            "because it names a golden file",
            id="unsafe-id",
        ),
        pytest.param(
            "entities.yaml",
            "- id: ada\n  input: x\n- just a string\n",
            "tests/cases/entities.yaml:3: case 2 must be a mapping with 'id' and 'input'",
            id="not-a-mapping",
        ),
        pytest.param(
            "entities.yaml",
            "- input: x\n",
            "tests/cases/entities.yaml:1: case 1 needs an 'id' (a short name such as refund-request)",
            id="no-id",
        ),
        pytest.param(
            "entities.yaml",
            "ada: {input: x}\n",
            "tests/cases/entities.yaml: expected a non-empty list of cases, each with 'id' and 'input'",
            id="not-a-list",
        ),
        pytest.param(
            "entities.yaml",
            "",
            "tests/cases/entities.yaml: expected a non-empty list of cases, each with 'id' and 'input'",
            id="empty",
        ),
    ],
)
def test_a_bad_cases_file_is_a_collection_error_naming_the_file_and_line(
    llm_project: LLMProject, name: str, text: str | None, problem: str
) -> None:
    if text is not None:
        llm_project.write(f"tests/cases/{name}", text)
    llm_project.test_file(cases_test(name))
    llm_project.test_file("def test_plain():\n    pass\n", name="test_plain.py")
    result = llm_project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR collecting tests/test_llm.py _*",
            f"tests/test_llm.py::test_entities: {problem}",
            "*= short test summary info =*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


#: Writes, at the session's end, whether PyYAML was imported and the cases each item was given.
YAML_SEEN = """\
import json, sys

import os

import pytest

SEEN = {}

@pytest.fixture(autouse=True)
def _note_case(request):
    if "llm_case" in request.fixturenames:
        case = request.getfixturevalue("llm_case")
        SEEN[case.id] = {
            "input": repr(case.input),
            "expected": repr(case.expected),
            "data": repr(case.data),
            "alias": case.input is case.expected,
        }

def pytest_sessionfinish(session):
    (session.config.rootpath / "seen.json").write_text(json.dumps({"yaml": "yaml" in sys.modules, "cases": SEEN}))
"""


def yaml_seen(llm_project: LLMProject) -> dict:
    import json

    result: dict = json.loads((llm_project.path / "seen.json").read_text())
    return result


def test_a_yaml_cases_file_is_parsed_once_and_a_replay_never_imports_pyyaml(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/entities.yaml", CASES_YAML)
    llm_project.test_file(cases_test("entities.yaml"))
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    llm_project.run().assert_outcomes(passed=2)  # the goldens' parse cache is filled by a first replay
    llm_project.write("tests/conftest.py", YAML_SEEN)
    # a subprocess: the in-process runs of this suite share its modules, PyYAML among them
    first = llm_project.run_subprocess("-p", "no:randomly")
    first.assert_outcomes(passed=2)
    assert yaml_seen(llm_project)["yaml"] is False  # goldens and cases came from their parse caches
    assert yaml_seen(llm_project)["cases"]["alan"] == {
        "input": repr("Alan Turing was born in Maida."),
        "expected": repr({"city": "Maida"}),
        "data": repr({"note": "born in Maida Vale, London"}),
        "alias": False,
    }
    assert len(list((llm_project.path / ".llmversion" / "cache" / "cases").glob("*.json"))) == 1
    # an edit is a new text, parsed again: an entry can never be stale
    llm_project.write("tests/cases/entities.yaml", CASES_YAML.replace("Maida.", "Maida Vale."))
    llm_project.run_subprocess("-p", "no:randomly").assert_outcomes(failed=1, passed=1)  # alan's golden is stale
    assert yaml_seen(llm_project)["yaml"] is True
    assert yaml_seen(llm_project)["cases"]["alan"]["input"] == repr("Alan Turing was born in Maida Vale.")


@pytest.mark.parametrize(
    ("text", "data", "alias"),
    [
        pytest.param(
            "- id: ada\n  input: Ada Lovelace was born in London.\n  expected: {city: London}\n  when: 2024-01-02\n",
            "{'when': datetime.date(2024, 1, 2)}",
            False,
            id="a-date",
        ),
        pytest.param("- id: ada\n  input: &both {city: London}\n  expected: *both\n", "{}", True, id="an-alias"),
    ],
)
def test_a_cases_file_json_cannot_give_back_is_parsed_each_time(
    llm_project: LLMProject, text: str, data: str, alias: bool
) -> None:
    """A value JSON would change (a YAML date) or a value shared by an alias (JSON would copy it) is never
    cached: each run gets what the YAML says."""
    llm_project.write("tests/cases/entities.yaml", text)
    llm_project.test_file(
        cases_test("entities.yaml").replace(
            "llm.complete(llm_case.input)", 'llm.complete("Ada Lovelace was born in London.")'
        )
    )
    llm_project.write("tests/conftest.py", YAML_SEEN)
    for _ in range(2):
        llm_project.run("--llm-record", "-p", "no:randomly").assert_outcomes(passed=1)
        seen = yaml_seen(llm_project)["cases"]["ada"]
        assert (seen["expected"], seen["data"], seen["alias"]) == ("{'city': 'London'}", data, alias)
    assert not list((llm_project.path / ".llmversion" / "cache" / "cases").glob("*.json"))


def test_a_damaged_parse_cache_entry_is_parsed_again_and_mended(llm_project: LLMProject) -> None:
    """A cache entry cut short (a full disk, a killed run) is never taken for the cases: the file is parsed
    again and the entry rewritten."""
    llm_project.write("tests/cases/entities.yaml", CASES_YAML)
    llm_project.test_file(cases_test("entities.yaml"))
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    (entry,) = (llm_project.path / ".llmversion" / "cache" / "cases").glob("*.json")
    whole = entry.read_text()
    entry.write_text(whole[: len(whole) // 2])
    result = llm_project.run("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_entities[[]ada-current[]] MATCH", "*test_entities[[]alan-current[]] MATCH"])
    assert entry.read_text() == whole
