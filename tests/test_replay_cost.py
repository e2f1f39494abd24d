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


#: Records, per test, the fixtures pytest set up through ``pytest_fixture_setup``.
SET_UP = """\
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    with open(request.config.rootpath / "set_up.txt", "a") as seen:
        seen.write(f"{request.node.name} {fixturedef.argname}\\n")
"""

CASES_TEST = """\
import pytest
from pytest_llmversion import checks

@pytest.mark.llm_regression(cases="cases.yaml")
def test_cases(llm, llm_case, llm_golden, llm_model, llm_role, llm_config, request):
    assert llm_model == llm.model and llm_role == "current" and str(llm_config.model) == str(llm.model)
    assert request.node.name == f"test_cases[{llm_case.id}-current]"
    out = llm.complete(llm_case.input)
    llm_golden.check(out, checks.valid_json(), checks.json_field("city", llm_case.expected["city"]))
"""

CASES = """\
- {id: ada, input: "Ada Lovelace was born in London.", expected: {city: London}}
- {id: alan, input: "Alan Turing was born in London.", expected: {city: London}}
"""


def set_up_fixtures(llm_project: LLMProject) -> set[str]:
    return {line.split(" ", 1)[1] for line in (llm_project.path / "set_up.txt").read_text().splitlines()}


def test_a_replayed_item_is_handed_its_llm_fixtures_without_pytest_setting_them_up(llm_project: LLMProject) -> None:
    llm_project.test_file(CASES_TEST)
    llm_project.write("tests/cases.yaml", CASES)
    llm_project.run("--llm-record").assert_outcomes(passed=2)
    llm_project.write("conftest.py", SET_UP + "\n@pytest.fixture\ndef other():\n    return 1\n")
    llm_project.test_file(CASES_TEST.replace("request):", "request, other):"))
    result = llm_project.run("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_cases[[]ada-current[]] MATCH", "*test_cases[[]alan-current[]] MATCH"])
    # pytest set up only the test's own fixture (and other plugins'): the request and the llm fixtures came with
    # the item
    set_up = set_up_fixtures(llm_project)
    assert "other" in set_up
    assert not set_up & {"_llm_item", "request", "llm", "llm_case", "llm_golden", "llm_model", "llm_role", "llm_config"}
    # under --setup-show pytest sets up and lists each of them, and the run is the same
    (llm_project.path / "set_up.txt").unlink()
    result = llm_project.run("--setup-show")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*SETUP    F _llm_item*", "*SETUP    F llm_golden*"])
    assert {"_llm_item", "llm", "llm_case", "llm_golden", "llm_model", "llm_role", "llm_config"} <= set_up_fixtures(
        llm_project
    )
    assert [item["verdict"] for item in llm_project.report()["items"]] == ["MATCH", "MATCH"]


def test_a_fixture_built_on_llm_and_a_project_s_own_llm_fixture_are_still_pytest_s(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    # an application built around the client gets the very client the test gets (one item, one client)
    llm_project.write(
        "tests/conftest.py",
        """\
        import pytest

        @pytest.fixture
        def app(llm):
            return {"client": llm}
        """,
    )
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.llm_regression
        def test_extracts_city(app, llm, llm_golden):
            assert app["client"] is llm
            out = app["client"].complete("Ada Lovelace was born in London.")
            llm_golden.check(out, checks.valid_json(), checks.json_field("city", "London"))
        """
    )
    llm_project.run().assert_outcomes(passed=1)
    # a project's own ``llm`` wraps the plugin's: the test gets the project's
    llm_project.write(
        "tests/conftest.py",
        """\
        import pytest

        class Wrapped:
            def __init__(self, inner):
                self.inner = inner

            def complete(self, prompt):
                return self.inner.complete(prompt)

        @pytest.fixture
        def llm(llm):
            return Wrapped(llm)
        """,
    )
    llm_project.test_file(
        ENTITY_TEST.replace("(llm, llm_golden):", "(llm, llm_golden):\n    assert type(llm).__name__ == 'Wrapped'")
    )
    llm_project.run().assert_outcomes(passed=1)
    assert [item["verdict"] for item in llm_project.report()["items"]] == ["MATCH"]


def test_the_interception_of_sdk_clients_ends_after_a_failing_fixture_teardown(llm_project: LLMProject) -> None:
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.write(
        "tests/conftest.py",
        """\
        import pytest
        from pytest_llmversion.sdk import intercept

        @pytest.fixture
        def breaks_on_teardown():
            yield
            assert intercept._ACTIVE is not None  # still intercepted while the fixtures are torn down
            raise RuntimeError("teardown broke")
        """,
    )
    llm_project.test_file(
        ENTITY_TEST.replace("(llm, llm_golden):", "(llm, llm_golden, breaks_on_teardown):")
        + "\n\ndef test_after():\n"
        + "    from pytest_llmversion.sdk import intercept\n\n"
        + "    assert intercept._ACTIVE is None\n"
    )
    result = llm_project.run("-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: teardown broke*"])
