"""Recordings of candidate calls and ``--llm-candidate-recordings`` (none, once, new, all), against the emulator."""

from __future__ import annotations

import pytest
import yaml
from conftest import ENTITY_TEST, M1, LLMProject

from pytest_llmversion.testing import Emulator

CANDIDATE = "tests/test_llm.py::test_extracts_city[candidate]"
RECORDING = ".llmversion/recordings/anthropic/claude-opus-4-6/tests/test_llm/test_extracts_city.yaml"
STRICTER_TEST = ENTITY_TEST.replace(
    'checks.json_field("city", "London"))', 'checks.json_field("city", "London"), checks.json_field("name", "Ada"))'
)


@pytest.fixture
def project(llm_project: LLMProject, emu: Emulator) -> LLMProject:
    """A project whose golden is recorded, with the candidate anthropic/claude-opus-4-6 on the emulator."""
    emu.add_model("claude-opus-4-6", M1)
    llm_project.write_config(extra=emu.provider_tables())
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    return llm_project


def candidate_run(project: LLMProject, *args: str) -> tuple[object, str]:
    result = project.run("--candidate-model=anthropic/claude-opus-4-6", *args)
    return result, project.verdicts()[CANDIDATE]


def test_once_records_and_a_changed_check_is_rescored_without_calling(project: LLMProject, emu: Emulator) -> None:
    _, verdict = candidate_run(project)
    assert verdict == "UNCHANGED"
    assert len(emu.requests()) == 1
    text = (project.path / RECORDING).read_text()
    assert text == (
        "# pytest-llmversion recording: live answers of one model for one test, replayed to re-score the test\n"
        "# without calling the model again. Re-record with --llm-candidate-recordings=all.\n"
        "schema: 1\n"
        "test: tests/test_llm.py::test_extracts_city\n"
        "model: anthropic/claude-opus-4-6\n"
        "calls:\n"
        "- sample: 0\n"
        "  request:\n"
        "    messages:\n"
        "    - role: user\n"
        "      content: Ada Lovelace was born in London.\n"
        "    params:\n"
        "      max_tokens: 1024\n"
        "      temperature: 0.0\n"
        "  fingerprint: sha256:2d8f91402042a9ae\n"
        "  model_served: claude-opus-4-6\n"
        "  usage:\n"
        "    input_tokens: 8\n"
        "    output_tokens: 11\n"
        """  output: '{"name": "Ada Lovelace", "city": "London"}'\n"""
    )

    project.test_file(STRICTER_TEST)  # a check changed: re-score the recorded answer, no new call
    result, verdict = candidate_run(project)
    assert verdict == "UNCHANGED"  # the golden fails the new check the same way
    assert len(emu.requests()) == 1
    result.stdout.fnmatch_lines(  # type: ignore[attr-defined]
        [
            "recordings: 1 candidate item(s) re-scored from recorded answers, no call made "
            "(--llm-candidate-recordings=all*"
        ]
    )
    item = next(i for i in project.report()["items"] if i["role"] == "candidate")
    assert item["replayed_from_recording"] == 1
    assert item["calls"]["live"] == 0
    assert [(c["name"], c["score"]) for c in item["checks"]] == [
        ("valid_json", 1.0),
        ("json_field(city)", 1.0),
        ("json_field(name)", 0.0),
    ]


def test_none_in_ci_sends_nothing_new(project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result, verdict = candidate_run(project)
    assert verdict == "ERROR"
    assert emu.requests() == []
    result.stdout.fnmatch_lines(  # type: ignore[attr-defined]
        [
            "ERROR: the provider failed, so nothing was scored: "
            "NotRecorded: no recording of anthropic/claude-opus-4-6 for this test "
            f"({RECORDING}) and --llm-candidate-recordings=none (the default when CI is set) sends nothing new: "
            "pass --llm-candidate-recordings=new to call the model and record its answers"
        ]
    )

    monkeypatch.setenv("LLMVERSION_RECORD_MODE", "once")
    assert candidate_run(project)[1] == "UNCHANGED"
    monkeypatch.delenv("LLMVERSION_RECORD_MODE")
    assert candidate_run(project)[1] == "UNCHANGED"  # CI replays what was recorded
    assert len(emu.requests()) == 1


def test_new_adds_missing_samples_all_calls_again_once_refuses(project: LLMProject, emu: Emulator) -> None:
    candidate_run(project)
    result, verdict = candidate_run(project, "--llm-samples=2")
    assert verdict == "ERROR"
    result.stdout.fnmatch_lines(  # type: ignore[attr-defined]
        [
            f"*{RECORDING} holds no answer of anthropic/claude-opus-4-6 for this call (sample 1; *"
            "re-record with --llm-candidate-recordings=all, or --llm-candidate-recordings=new to keep the "
            "recorded calls"
        ]
    )
    assert len(emu.requests()) == 1

    assert candidate_run(project, "--llm-samples=2", "--llm-candidate-recordings=new")[1] == "UNCHANGED"
    assert len(emu.requests()) == 2  # only sample 1 was called
    calls = yaml.safe_load((project.path / RECORDING).read_text())["calls"]
    assert [c["sample"] for c in calls] == [0, 1]
    assert all(c["usage"]["input_tokens"] > 0 for c in calls)  # the kept call is whole

    assert candidate_run(project, "--llm-samples=2", "--llm-candidate-recordings=all")[1] == "UNCHANGED"
    assert len(emu.requests()) == 4
    assert candidate_run(project, "--llm-samples=2")[1] == "UNCHANGED"
    assert len(emu.requests()) == 4


def test_a_broken_recording_is_one_line(project: LLMProject) -> None:
    candidate_run(project)
    (project.path / RECORDING).write_text("schema: 1\ncalls: [\n")
    result, verdict = candidate_run(project)
    assert verdict == "ERROR"
    result.stdout.fnmatch_lines(["*test_extracts_city.yaml: not valid YAML at line 3*--llm-candidate-recordings=all)"])  # type: ignore[attr-defined]


def test_under_xdist_the_controller_writes_the_recordings(project: LLMProject, emu: Emulator) -> None:
    emu.add_model("gpt-4o-2024-11-20", M1)
    project.test_file(ENTITY_TEST.replace("def test_extracts_city", "def test_other"), "test_other.py")
    project.run("--llm-record").assert_outcomes(passed=2)
    result = project.run_subprocess("-n", "2", "--candidate-model=openai/gpt-4o-2024-11-20")
    result.assert_outcomes(passed=4)
    folder = project.path / ".llmversion" / "recordings" / "openai" / "gpt-4o-2024-11-20" / "tests"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.yaml")) == [
        "test_llm/test_extracts_city.yaml",
        "test_other/test_other.yaml",
    ]
    assert len(emu.requests()) == 2


def test_scripted_candidates_are_not_recorded(llm_project: LLMProject) -> None:
    llm_project.model("m2", "extends: m1\n")
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run("--candidate-model=scripted/m2").assert_outcomes(passed=2)
    assert not (llm_project.path / ".llmversion" / "recordings").exists()


def test_a_recording_under_its_legacy_name_is_still_replayed(
    llm_project: LLMProject, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.add_model("claude-opus-4-6", M1)
    llm_project.write_config(extra=emu.provider_tables())
    llm_project.test_file(
        """\
        import pytest
        from pytest_llmversion import checks

        @pytest.mark.parametrize("city", ["London"])
        @pytest.mark.llm_regression
        def test_city(llm, llm_golden, city):
            llm_golden.check(llm.complete(f"Ada Lovelace was born in {city}."), checks.json_field("city", city))
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    llm_project.run("--candidate-model=anthropic/claude-opus-4-6").assert_outcomes(passed=2)
    folder = llm_project.path / ".llmversion/recordings/anthropic/claude-opus-4-6/tests/test_llm"
    assert [p.name for p in folder.iterdir()] == ["test_city[London]-ed717a4eb0.yaml"]
    (folder / "test_city[London]-ed717a4eb0.yaml").rename(folder / "test_city[London].yaml")  # an earlier version's
    assert len(emu.requests()) == 1

    monkeypatch.setenv("CI", "true")  # --llm-candidate-recordings=none: a call no recording answers is an error
    llm_project.run("--candidate-model=anthropic/claude-opus-4-6").assert_outcomes(passed=2)
    item = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert (item["verdict"], item["replayed_from_recording"]) == ("UNCHANGED", 1)
    assert len(emu.requests()) == 1
