"""The prompt registry: resolution per model, safe templates, and what `llmversion check` reports."""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import pytest
from conftest import LLMProject

from pytest_llmversion.cli import main
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import PromptError, PromptRegistry

OLD = ModelRef("openai", "gpt-4o-2024-08-06")
NEW = ModelRef("openai", "gpt-4o-2024-11-20")
OTHER = ModelRef("anthropic", "claude-3-5-sonnet-20241022")

TASK = """\
versions:
  v1:
    default: true
    tuned_for: [openai/gpt-4o-2024-08-06]
    system: Extract named entities.
    user: "{{text}}"
  v2:
    tuned_for: [gpt-4o-2024-11-20]
    system: Extract named entities as JSON.
    user: "Text: {{text}}"
    params: {temperature: 0.2}
  v3:
    system: A later experiment, tuned for nothing.
    user: "{{text}}"
"""


def registry_in(tmp_path: Path, **files: str) -> PromptRegistry:
    folder = tmp_path / "prompts"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    return PromptRegistry.load("prompts", tmp_path)


def test_resolves_the_version_tuned_for_the_model_else_the_default_never_the_last(tmp_path: Path) -> None:
    registry = registry_in(tmp_path, extract_entities=TASK)
    assert registry.resolve("extract_entities", OLD).version == "v1"
    assert registry.resolve("extract_entities", NEW).version == "v2"  # bare model id matches too
    assert registry.resolve("extract_entities", OTHER).version == "v1"  # the default, not v3


def test_render_is_safe_substitution(tmp_path: Path) -> None:
    prompt = registry_in(tmp_path, extract_entities=TASK).resolve("extract_entities", NEW)
    messages = prompt.render({"text": "Ada {{name}} was born in {0.__class__}"})
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[1].content == "Text: Ada {{name}} was born in {0.__class__}"
    assert prompt.params == {"temperature": 0.2}
    with pytest.raises(PromptError, match=r"prompt extract_entities@v2 needs text"):
        prompt.render({})
    with pytest.raises(PromptError, match=r"has no placeholder for language \(placeholders: text\)"):
        prompt.render({"text": "x", "language": "en"})


def test_python_dict_registry_as_teams_write_it() -> None:
    registry = PromptRegistry.from_mapping(
        {
            "extract_entities": {
                "gpt-4o-2024-08-06": {"system": "Extract named entities...", "version": "v2"},
                "gpt-4o-2024-11-20": {"system": "Extract named entities (new model)...", "version": "v3"},
                "default": {"system": "Extract named entities...", "version": "v2"},
            }
        }
    )
    assert registry.resolve("extract_entities", NEW).version == "v3"
    assert registry.resolve("extract_entities", OTHER).version == "v2"
    assert registry.problems() == []


def test_unknown_task_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"no prompt task 'summarise' in the registry \(tasks: extract_entities\)"):
        registry_in(tmp_path, extract_entities=TASK).resolve("summarise", OLD)


def check(root: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(root), "check"])
    return code, out.getvalue(), err.getvalue()


def test_check_reports_registry_problems_one_line_each(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.write(
        "prompts/no_default.yaml",
        """\
        versions:
          v1: {user: "{{text}}"}
        """,
    )
    llm_project.write(
        "prompts/two_defaults.yaml",
        """\
        versions:
          v1: {default: true, user: "{{text}}", tuned_for: [scripted/m1]}
          v2: {default: true, user: "{{text}}", tuned_for: [scripted/m1]}
        """,
    )
    llm_project.write(
        "prompts/summary.yaml",
        """\
        versions:
          v1: {default: true, user: "Summarise {{text}} in {{language}}"}
        """,
    )
    llm_project.write(
        "app.py",
        """\
        def summarise(llm, text):
            return llm.complete(llm.prompt("summary"), text=text)
        """,
    )
    code, _, err = check(llm_project.path)
    assert code == 1
    assert err.splitlines() == [
        "llmversion: prompts/no_default.yaml: task 'no_default' needs exactly one default version (has: none)",
        "llmversion: prompts/two_defaults.yaml: task 'two_defaults' needs exactly one default version (has: v1, v2)",
        "llmversion: prompts/two_defaults.yaml: scripted/m1 is claimed by both v1 and v2",
        "llmversion: prompts/summary.yaml: version v1 uses {{language}}, which no caller passes (callers: app.py:2)",
    ]


def test_check_names_a_duplicate_version_and_its_line(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.write(
        "prompts/extract.yaml",
        """\
        versions:
          v1:
            default: true
            user: "{{text}}"
          v1:
            user: "again {{text}}"
        """,
    )
    code, _, err = check(llm_project.path)
    assert code == 1
    assert (
        err.strip()
        == "llmversion: prompts/extract.yaml:5: 'v1' appears twice in the same mapping (a duplicate version?)"
    )


def test_check_names_the_line_of_a_yaml_syntax_error(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.write("prompts/broken.yaml", "versions:\n  v1: {default: true, user: [unclosed\n")
    code, _, err = check(llm_project.path)
    assert code == 1
    assert err.startswith("llmversion: prompts/broken.yaml: not valid YAML at line 3")


def test_check_passes_a_good_project(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.write("prompts/extract_entities.yaml", TASK.replace("openai/gpt-4o-2024-08-06", "scripted/m1"))
    code, out, err = check(llm_project.path)
    assert (code, err) == (0, "")
    assert "prompts   1 task(s) in prompts/" in out


def test_llm_prompt_in_a_test_records_the_prompt_version(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.write("prompts/extract_entities.yaml", TASK.replace("openai/gpt-4o-2024-08-06", "scripted/m1"))
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_entities(llm, llm_golden):
            out = llm.complete(llm.prompt("extract_entities"), text="Ada Lovelace was born in London.")
            assert out.json()["city"] == "London"
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden = llm_project.golden("test_llm/test_entities.yaml").read_text()
    assert "prompt:\n  task: extract_entities\n  version: v1\n  hash: " in golden
    report_item = llm_project.report()["items"][0]
    assert report_item["prompt"]["version"] == "v1"


def test_candidate_prompt_current_measures_the_model_alone(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.model("m2", "extends: m1\n")
    task = TASK.replace("openai/gpt-4o-2024-08-06", "scripted/m1").replace("gpt-4o-2024-11-20", "scripted/m2")
    llm_project.write("prompts/extract_entities.yaml", task)
    llm_project.test_file(
        """\
        import pytest

        @pytest.mark.llm_regression
        def test_entities(llm, llm_golden):
            out = llm.complete(llm.prompt("extract_entities"), text="Ada Lovelace was born in London.")
            assert out.json()["city"] == "London"
        """
    )
    llm_project.run("--llm-record")
    llm_project.run("--candidate-model=scripted/m2")
    candidate = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert candidate["prompt"]["version"] == "v1"
    assert candidate["prompt_change"] is None

    result = llm_project.run("--candidate-model=scripted/m2", "--llm-candidate-prompt=own")
    candidate = next(i for i in llm_project.report()["items"] if i["role"] == "candidate")
    assert candidate["prompt"]["version"] == "v2"
    assert candidate["prompt_change"] == {"task": "extract_entities", "from": "v1", "to": "v2"}
    result.stdout.fnmatch_lines(
        [
            "*test_entities * UNCHANGED * prompt changed too (v1 -> v2)",
            "warning: 1 of 1 candidate items also used another prompt version, so their comparison mixes a model "
            "change with a prompt change; --llm-candidate-prompt=current measures the model change alone",
        ]
    )


def test_check_flags_a_version_tuned_for_a_model_the_catalogue_does_not_know(llm_project: LLMProject) -> None:
    llm_project.write_config(prompts="prompts")
    llm_project.write(
        "prompts/extract.yaml",
        """\
        versions:
          v1: {default: true, user: "{{text}}", tuned_for: [openai/gpt-4o-2024-11-20, openai/gpt-4o-2042-01-01]}
        """,
    )
    code, _, err = check(llm_project.path)
    assert code == 1
    assert err.strip() == (
        "llmversion: prompts/extract.yaml: version v1 is tuned for openai/gpt-4o-2042-01-01: the catalogue does not "
        "know this model (a typo, or add it under [tool.llmversion.catalog])"
    )
