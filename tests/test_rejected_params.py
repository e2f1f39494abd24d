"""Parameters a model rejects (the catalogue's ``rejects_params``): never sent, never recorded, said once.

Real SDKs against the emulator: what reaches the (emulated) provider, what the golden and the candidate's
recording hold, and the lines a user reads.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import ENTITY_TEST, M1, LLMProject

from pytest_llmversion.testing import Emulator

CURRENT = "tests/test_llm.py::test_extracts_city[current]"
CANDIDATE = "tests/test_llm.py::test_extracts_city[candidate]"
GOLDEN = "test_llm/test_extracts_city.yaml"
RECORDING = ".llmversion/recordings/openai/o3-2025-04-16/tests/test_llm/test_extracts_city.yaml"
O3_NOTICE = "rejects temperature: not sent (rejects_params in the catalogue)"


def use_emulator(project: LLMProject, emu: Emulator, model: str) -> None:
    emu.add_model(model.split("/", 1)[1], M1)
    project.write_config(extra=emu.provider_tables(), model=model, max_retries=0)
    project.test_file(ENTITY_TEST)


def sent_temperatures(emu: Emulator) -> list[object]:
    return [r.body.get("temperature", "not sent") for r in emu.requests()]


def test_a_current_model_that_rejects_temperature_never_gets_it(llm_project: LLMProject, emu: Emulator) -> None:
    use_emulator(llm_project, emu, "openai/o3-2025-04-16")
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=1)
    header = [line for line in result.outlines if line.startswith("llmversion:") and "rejects" in line]
    assert header == [f"llmversion: current model openai/o3-2025-04-16 {O3_NOTICE}"]
    assert sent_temperatures(emu) == ["not sent"]
    golden = yaml.safe_load(llm_project.golden(GOLDEN).read_text())
    assert golden["request"]["params"] == {"max_tokens": 1024}  # what was really sent

    llm_project.run().assert_outcomes(passed=1)  # the replayed request is the one the golden holds
    assert llm_project.verdicts() == {CURRENT: "MATCH"}


def test_a_candidate_that_rejects_what_the_current_model_takes(llm_project: LLMProject, emu: Emulator) -> None:
    use_emulator(llm_project, emu, "openai/gpt-4o-2024-08-06")
    emu.add_model("o3-2025-04-16", M1)
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    golden_before = llm_project.golden(GOLDEN).read_text()
    assert "temperature: 0.0" in golden_before

    result = llm_project.run("--candidate-model=openai/o3-2025-04-16")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"llmversion: candidate openai/o3-2025-04-16 {O3_NOTICE}"])
    # the baseline replays the golden with the current model's request; only the candidate's differs
    assert llm_project.verdicts() == {CANDIDATE: "UNCHANGED", CURRENT: "MATCH"}
    assert sent_temperatures(emu) == [0.0, "not sent"]
    recorded = yaml.safe_load((llm_project.path / RECORDING).read_text())
    assert recorded["calls"][0]["request"]["params"] == {"max_tokens": 1024}
    assert llm_project.golden(GOLDEN).read_text() == golden_before


def test_a_value_set_in_the_call_is_an_error_naming_it(llm_project: LLMProject, emu: Emulator) -> None:
    use_emulator(llm_project, emu, "openai/gpt-4o-2024-08-06")
    emu.add_model("o3-2025-04-16", M1)
    llm_project.test_file(ENTITY_TEST.replace('London.")', 'London.", temperature=0.7)'))
    llm_project.run("--llm-record").assert_outcomes(passed=1)

    result = llm_project.run("--candidate-model=openai/o3-2025-04-16")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*BadRequest: openai/o3-2025-04-16 rejects temperature (rejects_params in the model catalogue), but this "
            "call sets temperature=0.7: leave it out of the call (a prompt version can set it for the models that "
            "take it)*"
        ]
    )
    assert llm_project.verdicts() == {CANDIDATE: "ERROR", CURRENT: "MATCH"}
    assert sent_temperatures(emu) == [0.7]  # recording the current model; the candidate was never called


@pytest.mark.parametrize("params", ["{temperature: 0.2, top_p: 0.9}", "{top_p: 0.9}"])
def test_a_prompt_versions_values_and_a_project_override(llm_project: LLMProject, params: str) -> None:
    llm_project.write_config(
        prompts="prompts", extra='[tool.llmversion.catalog."scripted/m1"]\nrejects_params = ["temperature", "top_p"]\n'
    )
    version = f"{{default: true, user: '{{{{text}}}}', params: {params}}}"
    llm_project.write("prompts/city.yaml", f"versions:\n  v1: {version}\n")
    llm_project.test_file(ENTITY_TEST.replace('llm.complete("', 'llm.complete(llm.prompt("city"), text="'))
    result = llm_project.run("--llm-record")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["llmversion: current model scripted/m1 rejects temperature, top_p: not sent (rejects_params in the catalogue)"]
    )
    golden = yaml.safe_load(llm_project.golden(GOLDEN).read_text())
    assert (golden["prompt"]["task"], golden["request"]["params"]) == ("city", {"max_tokens": 1024})


def test_xdist_workers_leave_it_out_too(llm_project: LLMProject) -> None:
    llm_project.write_config(extra='[tool.llmversion.catalog."scripted/m1"]\nrejects_params = ["temperature"]\n')
    llm_project.test_file(ENTITY_TEST)
    llm_project.run("--llm-record", "-n", "2").assert_outcomes(passed=1)
    golden = yaml.safe_load(llm_project.golden(GOLDEN).read_text())
    assert golden["request"]["params"] == {"max_tokens": 1024}
