"""What a replayed run does not pay for: the models it never uses are never built, and the process that runs
the items gathers their reports as built, with no JSON made or parsed (an xdist worker sends JSON)."""

from __future__ import annotations

import shutil

import pytest
from conftest import ENTITY_TEST, LLMProject

from pytest_llmversion import lazy_model

#: Written by the run itself, at its very end: which of the plugin's models were built.
BUILT_MODELS = """\
def pytest_unconfigure(config):
    from pytest_llmversion.lazy_model import LazyModel

    found, todo = set(), [LazyModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    built = sorted(c.__name__ for c in found if c.__dict__.get("__pydantic_complete__"))
    unbuilt = sorted(c.__name__ for c in found if not c.__dict__.get("__pydantic_complete__"))
    (config.rootpath / "built.txt").write_text(" ".join(built) + "\\n" + " ".join(unbuilt))
"""

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


@pytest.mark.skipif(not lazy_model.DEFERRED, reason="pydantic < 2.14 builds every model as it is defined")
def test_a_replayed_run_builds_only_the_models_it_uses(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.write("conftest.py", BUILT_MODELS)
    llm_project.run_subprocess().assert_outcomes(passed=1)
    built, unbuilt = ((llm_project.path / "built.txt").read_text() + "\n").split("\n")[:2]
    # what a replay reads and writes: the config, the goldens, the items' results and the report
    assert {"LLMConfig", "GoldenFile", "ItemResult", "ItemReport", "Report"} <= set(built.split())
    # imported, never needed: candidate comparisons, the statistics of samples, recordings, the prompt registry's
    # files (the scripted models' files are not even imported: the goldens answer)
    assert {"Comparison", "SuiteStatistics", "RecordingFile", "_TaskFile"} <= set(unbuilt.split())
    assert "ScriptFile" not in built


@pytest.mark.parametrize(
    ("version", "deferred"),
    [("2.7.4", False), ("2.13.4", False), ("2.14.0", True), ("2.14.0b1", True), ("2.15.1", True), ("3.0.0", True)],
)
def test_models_are_deferred_only_where_pydantic_builds_them_under_a_lock(version: str, deferred: bool) -> None:
    assert lazy_model.builds_under_lock(version) is deferred


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


def test_a_folder_named_like_the_goldens_that_holds_tests_is_collected(llm_project: LLMProject) -> None:
    llm_project.write("tests/__llm_goldens__/test_inside.py", "def test_inside():\n    assert True\n")
    llm_project.run().assert_outcomes(passed=1)


def test_the_default_golden_folder_name_is_the_configs() -> None:
    from pytest_llmversion import options
    from pytest_llmversion.config import LLMConfig

    assert LLMConfig.model_fields["goldens"].default == options.DEFAULT_GOLDENS
