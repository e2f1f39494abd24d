"""What a replayed run does not pay for: the process that runs the items gathers their reports as built, with no
JSON made or parsed (an xdist worker sends JSON), and pytest's collection does not walk the golden folders."""

from __future__ import annotations

import shutil

import pytest
from conftest import ENTITY_TEST, LLMProject

#: Fails any item whose report is made into JSON or parsed back from it.
NO_JSON = """\
import pytest
from pytest_llmversion.run.result import ItemReport

@pytest.fixture(autouse=True, scope="session")
def _no_json():
    def refuse(*args, **kwargs):
        raise AssertionError("an item's report went through JSON")

    to_message, from_message = ItemReport.to_message, ItemReport.from_message
    ItemReport.to_message, ItemReport.from_message = refuse, classmethod(refuse)
    yield
    ItemReport.to_message, ItemReport.from_message = to_message, from_message
"""


def test_a_run_without_xdist_gathers_its_items_reports_with_no_json(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.write("conftest.py", NO_JSON)
    llm_project.run("--llm-record").assert_outcomes(passed=1)  # the golden written from the report as built
    assert len(list((llm_project.path / "tests" / "__llm_goldens__").rglob("*.yaml"))) == 1
    result = llm_project.run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_extracts_city[[]current[]] MATCH"])
    assert [item["verdict"] for item in llm_project.report()["items"]] == ["MATCH"]


#: Records every file pytest's collection offers to plugins.
SEEN_FILES = """\
def pytest_collect_file(file_path, parent):
    with open(parent.config.rootpath / "seen.txt", "a") as seen:
        seen.write(str(file_path.relative_to(parent.config.rootpath)) + "\\n")
"""


def seen_files(llm_project: LLMProject) -> list[str]:
    return (llm_project.path / "seen.txt").read_text().splitlines()


@pytest.mark.parametrize("unmarked", [False, True], ids=["llm-run", "unmarked-run"])
def test_collection_does_not_walk_the_golden_folders(llm_project: LLMProject, unmarked: bool) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert list((llm_project.path / "tests" / "__llm_goldens__").rglob("*.yaml"))
    llm_project.write("conftest.py", SEEN_FILES)
    if unmarked:  # a folder of plain tests beside its goldens (kept from an LLM test since moved away)
        llm_project.write("other/test_plain.py", "def test_plain():\n    assert True\n")
        shutil.copytree(llm_project.path / "tests" / "__llm_goldens__", llm_project.path / "other" / "__llm_goldens__")
        llm_project.run("other").assert_outcomes(passed=1)
        assert "other/test_plain.py" in seen_files(llm_project)
    else:
        llm_project.run().assert_outcomes(passed=1)
        assert "tests/test_llm.py" in seen_files(llm_project)
    assert not [path for path in seen_files(llm_project) if "__llm_goldens__" in path]


def test_a_golden_folder_named_in_the_config_or_the_environment_is_not_walked(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_project.write_config(goldens="recorded")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    assert list((llm_project.path / "tests" / "recorded").rglob("*.yaml"))
    llm_project.write("conftest.py", SEEN_FILES)
    llm_project.run().assert_outcomes(passed=1)
    assert not [path for path in seen_files(llm_project) if "/recorded/" in path]
    # named by the environment only (the config as it was): its goldens are not walked either
    (llm_project.path / "seen.txt").unlink()
    llm_project.write_config(goldens="__llm_goldens__")
    monkeypatch.setenv("LLMVERSION_GOLDENS", "recorded")
    llm_project.run().assert_outcomes(passed=1)
    assert not [path for path in seen_files(llm_project) if "/recorded/" in path]


@pytest.mark.parametrize("where", ["test_inside.py", "deeper/test_inside.py"])
def test_a_folder_named_like_the_goldens_that_holds_tests_is_collected(llm_project: LLMProject, where: str) -> None:
    llm_project.write(f"tests/__llm_goldens__/{where}", "def test_inside():\n    assert True\n")
    llm_project.run().assert_outcomes(passed=1)


def test_the_default_golden_folder_name_is_the_configs() -> None:
    from pytest_llmversion import options
    from pytest_llmversion.config import LLMConfig

    assert LLMConfig.model_fields["goldens"].default == options.DEFAULT_GOLDENS
