"""A project that installs and configures the plugin pays nothing in a run that collects no LLM test: no
pydantic, no YAML, no SDK imported, no header; a bad ``[tool.llmversion]`` is still found, as a warning
then, and as the run's one error line as soon as an LLM test is collected."""

from __future__ import annotations

import json

import pytest
from conftest import ENTITY_TEST, LLMProject

PLAIN_TESTS = """\
import json

def test_parses():
    assert json.loads('{"a": 1}') == {"a": 1}

def test_adds():
    assert 1 + 1 == 2
"""

#: Written by the run itself, at its very end: which heavy modules it imported.
CONFTEST = """\
import sys

def pytest_unconfigure(config):
    heavy = ("pydantic", "yaml", "openai", "anthropic", "google.", "httpx", "multiprocessing")
    heavy += ("pytest_llmversion.config",)
    loaded = sorted(name for name in sys.modules if name.startswith(heavy))
    (config.rootpath / "loaded.txt").write_text("\\n".join(loaded))
"""


def plain_project(llm_project: LLMProject) -> LLMProject:
    llm_project.test_file(PLAIN_TESTS, name="test_plain.py")
    llm_project.write("conftest.py", CONFTEST)
    return llm_project


def test_a_run_without_llm_tests_imports_neither_pydantic_nor_yaml(llm_project: LLMProject) -> None:
    project = plain_project(llm_project)
    result = project.run_subprocess()
    result.assert_outcomes(passed=2)
    assert (project.path / "loaded.txt").read_text() == ""
    assert "llmversion" not in "".join(line for line in result.outlines if not line.startswith("plugins:"))
    assert not (project.path / ".llmversion").exists()  # no report: the last one stays as it was


@pytest.mark.parametrize("llm_test", [False, True], ids=["unmarked", "with-an-llm-test"])
def test_a_run_without_llm_tests_calls_none_of_the_plugin_s_per_test_hooks(
    llm_project: LLMProject, llm_test: bool
) -> None:
    """Each hook pytest calls per test costs every test of a suite a little: they are registered only while an
    LLM item is to run."""
    plain_project(llm_project)
    llm_project.write(
        "conftest.py",
        """\
        import json

        HOOKS = ("pytest_runtest_protocol", "pytest_runtest_setup", "pytest_runtest_call",
                 "pytest_runtest_teardown", "pytest_runtest_makereport", "pytest_pyfunc_call",
                 "pytest_report_teststatus")

        def pytest_runtestloop(session):
            hook = session.config.hook
            ours = {name: [impl.plugin_name for impl in getattr(hook, name).get_hookimpls()
                           if "llmversion" in impl.plugin_name] for name in HOOKS}
            (session.config.rootpath / "hooks.json").write_text(json.dumps(ours))
        """,
    )
    if llm_test:
        llm_project.test_file(ENTITY_TEST)
        llm_project.run("--llm-record").assert_outcomes(passed=3)
    result = llm_project.run("-v")
    result.assert_outcomes(passed=3 if llm_test else 2)
    ours = json.loads((llm_project.path / "hooks.json").read_text())
    if llm_test:
        assert all(ours[name] for name in ours), ours  # each one there, and doing its work:
        result.stdout.fnmatch_lines(["*test_extracts_city[[]current[]] MATCH"])
    else:
        assert ours == {name: [] for name in ours}


def test_an_llm_test_in_the_run_shows_the_header_once_collected(llm_project: LLMProject) -> None:
    project = plain_project(llm_project)
    project.test_file(ENTITY_TEST)
    project.run("--llm-record").assert_outcomes(passed=3)
    result = project.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["collected 3 items", "llmversion: current scripted/m1 (pyproject.toml *), mode replay*"]
    )


def test_an_unknown_key_warns_when_no_llm_test_is_collected(llm_project: LLMProject) -> None:
    project = plain_project(llm_project)
    project.write_config(modle="openai/gpt-4o-2024-08-06")
    result = project.run()
    result.assert_outcomes(passed=2, warnings=1)
    assert (
        "/pyproject.toml:1: PytestConfigWarning: pytest-llmversion: unknown key in [tool.llmversion]: modle (this "
        "run collected no llm_regression test, so its values were not checked)"
    ) in result.stdout.str()


def test_a_bad_config_stops_the_run_with_one_line_once_an_llm_test_is_collected(llm_project: LLMProject) -> None:
    project = plain_project(llm_project)
    project.test_file(ENTITY_TEST)
    project.write_config(samples=0)
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1
    assert "samples" in errors[0]
    assert "passed" not in result.stdout.str()


def test_the_config_keys_known_without_pydantic_are_the_configs_own() -> None:
    from pytest_llmversion.config import RENAMED_KEYS, LLMConfig
    from pytest_llmversion.options import CONFIG_KEYS

    assert set(LLMConfig.model_fields) | {"catalog", "rollout"} | set(RENAMED_KEYS) == CONFIG_KEYS


#: Registered after the plugin's thaw (which pytest_cmdline_main registers before any plugin configures), so
#: it runs before it: pytest's own final garbage collections, made in cleanups too, still find the heap frozen.
FREEZE_CONFTEST = """\
import gc
import json

def pytest_configure(config):
    def seen():
        (config.rootpath / "frozen.json").write_text(json.dumps(gc.get_freeze_count()))
    config.add_cleanup(seen)
"""


def test_the_heap_frozen_for_the_run_stays_frozen_through_pytests_cleanups_then_thaws(
    llm_project: LLMProject,
) -> None:
    import gc

    llm_project.test_file(ENTITY_TEST)
    llm_project.write("conftest.py", FREEZE_CONFTEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    before = gc.get_freeze_count()
    llm_project.run().assert_outcomes(passed=1)
    assert int((llm_project.path / "frozen.json").read_text()) > before  # frozen while pytest's cleanups ran
    assert gc.get_freeze_count() == before  # and thawed by the end of the run


EXIT_CONFTEST = """\
import atexit
import gc
import json
from pathlib import Path

OUT = Path(__file__).parent / "exit.json"


class Cycle:
    def __init__(self):
        self.me = self

    def __del__(self):
        OUT.with_name("finalized").write_text("yes")


def at_exit():  # registered before the plugin's own handler, so it runs after it
    OUT.write_text(json.dumps({"frozen": gc.get_freeze_count()}))


atexit.register(at_exit)


def pytest_sessionfinish(session):
    gc.disable()  # only the exit's collections may find it
    Cycle()
"""


@pytest.mark.parametrize("llm_items", [True, False])
def test_after_an_llm_run_the_exit_collects_once_then_skips_the_collectors_passes(
    llm_project: LLMProject, llm_items: bool
) -> None:
    llm_project.test_file(ENTITY_TEST if llm_items else "def test_plain():\n    assert True\n")
    llm_project.write("conftest.py", EXIT_CONFTEST)
    if llm_items:
        llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run_subprocess().assert_outcomes(passed=1)
    frozen = json.loads((llm_project.path / "exit.json").read_text())["frozen"]
    # garbage left at the session's end is still finalized (here by pytest's own last collection)
    assert (llm_project.path / "finalized").read_text() == "yes"
    if llm_items:
        assert frozen > 0  # what is left is frozen: the interpreter's teardown skips it
    else:
        assert frozen == 0  # a run without LLM items is left alone


def test_the_exits_collection_finalizes_the_garbage_it_finds_before_freezing() -> None:
    import gc

    from pytest_llmversion import state

    finalized: list[str] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            finalized.append("yes")

    enabled = gc.isenabled()
    gc.disable()
    before = gc.get_freeze_count()
    try:
        Cycle()
        state._collect_and_freeze()
        assert finalized == ["yes"]
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


RUN_FROZEN_CONFTEST = """\
import gc
import json
from pathlib import Path

from pytest_llmversion.state import exits_after_run

SEEN = {}

def pytest_configure(config):
    SEEN["exits"] = exits_after_run()

def pytest_runtest_logfinish(nodeid, location):
    SEEN["during"] = gc.get_freeze_count()

def pytest_unconfigure(config):
    SEEN["unconfigure"] = gc.get_freeze_count()
    (config.rootpath / "run_frozen.json").write_text(json.dumps(SEEN))
"""


@pytest.mark.parametrize("how", ["command", "in-process"])
def test_what_an_llm_run_made_is_frozen_before_pytests_final_collections(llm_project: LLMProject, how: str) -> None:
    """pytest's own final collections (at unconfigure, in a cleanup) skip the run's reports once the session's
    end has collected and frozen them; pytest's command, which exits next, keeps them frozen to the end, and
    an in-process run (pytester here, an IDE) is thawed as before."""
    import gc

    llm_project.test_file(ENTITY_TEST)
    llm_project.write("conftest.py", RUN_FROZEN_CONFTEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    before = gc.get_freeze_count()
    if how == "command":
        llm_project.run_subprocess().assert_outcomes(passed=1)
    else:
        llm_project.run().assert_outcomes(passed=1)
        assert gc.get_freeze_count() == before  # thawed: this process goes on
    seen = json.loads((llm_project.path / "run_frozen.json").read_text())
    assert seen["exits"] is (how == "command")
    assert seen["unconfigure"] > seen["during"] > 0  # frozen at collection, and again with what the run made


SETTLE_CONFTEST = """\
import gc
import json
import weakref

import pytest
from pytest_llmversion import state

state.SETTLE_EVERY = 2
SEEN = {"frozen": [], "garbage": []}


class Cycle:
    def __init__(self):
        self.me = self


@pytest.fixture(autouse=True)
def _leave_garbage():
    yield
    # a cycle only the collector can free, made while the item ran: it must never be frozen
    SEEN.setdefault("refs", []).append(weakref.ref(Cycle()))


def pytest_runtest_logfinish(nodeid, location):
    SEEN["frozen"].append(gc.get_freeze_count())
    SEEN["garbage"].append(sum(ref() is not None for ref in SEEN["refs"]))


def pytest_unconfigure(config):
    del SEEN["refs"]
    (config.rootpath / "settled.json").write_text(json.dumps(SEEN))
"""


def test_every_so_many_llm_items_what_they_left_alive_is_frozen_and_their_garbage_collected(
    llm_project: LLMProject,
) -> None:
    """A long run's reports stay out of the collector's full passes: every ``SETTLE_EVERY`` LLM items, one
    collection of what is not frozen yet (only what those items made), then the survivors are frozen."""
    llm_project.write(
        "tests/cases.yaml", "\n".join(f"- {{id: c{i}, input: Ada{i} Lovelace was born in London.}}" for i in range(6))
    )
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.llm_regression(cases="cases.yaml")
        def test_cases(llm, llm_case, llm_golden):
            llm_golden.check(llm.complete(llm_case.input), checks.valid_json())
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=6)
    llm_project.write("conftest.py", SETTLE_CONFTEST)
    llm_project.run("-p", "no:randomly").assert_outcomes(passed=6)
    seen = json.loads((llm_project.path / "settled.json").read_text())
    frozen = seen["frozen"]
    # frozen more after the 2nd, 4th and 6th item than before them; in between nothing is frozen (what was may
    # be freed)
    assert [frozen[i] > frozen[i - 1] for i in (1, 3, 5)] == [True, True, True]
    assert [frozen[i] <= frozen[i - 1] for i in (2, 4)] == [True, True]
    # the garbage the items left was collected by those collections, not frozen with the survivors
    assert [seen["garbage"][i] for i in (1, 3, 5)] == [0, 0, 0]
