"""llmversion promote / rollback on the example project: a migration is one command, and reversible."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import LLMProject

from pytest_llmversion.cli import main

CANDIDATE = "scripted/triage-2024-11"


def snapshot(root: Path) -> dict[str, str]:
    """Hash of every file the user owns (reports, caches and pytester's captures aside)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".llmversion", "__pycache__"} & set(p.parts) and p.name not in ("stdout", "stderr")
    }


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def llmversion(root: Path, *args: str) -> Done:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--root", str(root), *args])
    return Done(code, out.getvalue(), err.getvalue())


def verdicts(root: Path) -> dict[str, str]:
    report = json.loads((root / ".llmversion" / "report.json").read_text())
    return {item["nodeid"]: item["verdict"] for item in report["items"]}


def candidate_run(pytester: pytest.Pytester, *extra: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", f"--candidate-model={CANDIDATE}", *extra)


def test_promote_run_rollback_run_gives_back_the_original_files_and_verdicts(
    pytester: pytest.Pytester, example: Path
) -> None:
    before_files = snapshot(example)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=21)
    before_verdicts = verdicts(example)

    candidate_run(pytester, "--llm-candidate-prompt=own").assert_outcomes(passed=40)
    promoted = llmversion(example, "promote")
    assert promoted.returncode == 0, promoted.stderr
    assert "promoted scripted/triage-2024-11 (was scripted/triage-2024-06); 19 goldens rewritten" in promoted.stdout
    assert "[x] Evaluation run against the candidate: 19 items, gate pass" in promoted.stdout
    assert "[x] Previous version kept for instant rollback" in promoted.stdout
    assert "[x] Pin to a specific model version: scripted/triage-2024-11 (pinned, per the catalogue)" in promoted.stdout
    assert "[x] Deprecation alert possible for the new version: no retirement announced yet" in promoted.stdout
    assert "[x] Prompt registry has a version tuned for scripted/triage-2024-11" in promoted.stdout
    pyproject = (example / "pyproject.toml").read_text()
    assert 'model = "scripted/triage-2024-11"' in pyproject
    assert 'previous_model = "scripted/triage-2024-06"' in pyproject
    assert "# synthetic stand-ins (see models/)" in pyproject  # comments kept
    golden = (example / "tests/__llm_goldens__/test_triage/test_triage/api-outage.yaml").read_text()
    assert "model: scripted/triage-2024-11" in golden
    assert "version: v2" in golden

    after_promotion = pytester.runpytest("-p", "no:cacheprovider")
    after_promotion.assert_outcomes(passed=21)
    assert set(verdicts(example).values()) == {"MATCH"}

    rolled = llmversion(example, "rollback")
    assert rolled.returncode == 0, rolled.stderr
    assert snapshot(example) == before_files
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=21)
    assert verdicts(example) == before_verdicts


def test_promote_refuses_a_failed_gate_and_changes_nothing(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester)
    before = snapshot(example)
    result = llmversion(example, "promote")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "llmversion: the candidate run's gate failed (2 candidate FORMAT_BREAK: test_order_question[stuck-order], "
        "test_triage[export-crash]; 1 candidate REGRESSED: test_triage[api-outage]); fix it, or promote anyway "
        "with --force (recorded)"
    ]
    assert snapshot(example) == before


def test_forced_promotion_is_recorded(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester, "--llm-candidate-prompt=own", "-k", "not api-outage or current")
    (example / "models/triage-2024-11.yaml").write_text(
        (example / "models/triage-2024-11.yaml").read_text().replace('"priority": "urgent"', '"priority": "high"')
    )
    candidate_run(pytester, "--llm-candidate-prompt=own")
    result = llmversion(example, "promote", "--force")
    assert result.returncode == 0, result.stderr
    assert "forced: gate failed: 1 candidate REGRESSED: test_triage[api-outage]" in result.stdout
    assert "[ ] Regressions reviewed: 1 failing item(s) promoted with --force" in result.stdout
    pyproject = (example / "pyproject.toml").read_text()
    assert "with --force: gate failed" in pyproject
    manifest = next((example / ".llmversion/rollback").glob("*/manifest.json"))
    assert json.loads(manifest.read_text())["forced"][0].startswith("gate failed")


def test_promote_without_a_report(example: Path) -> None:
    result = llmversion(example, "promote")
    assert result.returncode == 1
    assert "no report at .llmversion/report.json; run pytest --candidate-model=provider/model first" in result.stderr


def test_promote_refuses_a_report_from_another_config(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester, "--llm-candidate-prompt=own")
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("tolerance = 0.1", "tolerance = 0.2"))
    before = snapshot(example)
    result = llmversion(example, "promote")
    assert result.returncode == 1
    assert "was made with a different [tool.llmversion]" in result.stderr
    assert snapshot(example) == before


def test_promote_refuses_when_candidate_recordings_are_missing(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester, "--llm-candidate-prompt=own")
    # two tests have a dark-mode case: name the one removed (rglob's order differs between Python versions)
    (example / ".llmversion/candidate/tests/__llm_goldens__/test_triage/test_triage/dark-mode.yaml").unlink()
    before = snapshot(example)
    result = llmversion(example, "promote")
    assert result.returncode == 1
    assert (
        "missing candidate recordings for 1 item(s), e.g. tests/test_triage.py::test_triage[dark-mode-candidate]"
        in (result.stderr)
    )
    assert snapshot(example) == before


def test_promote_refuses_a_partial_run(pytester: pytest.Pytester, example: Path) -> None:
    candidate_run(pytester, "--llm-candidate-prompt=own", "-k", "test_reply")
    result = llmversion(example, "promote")
    assert result.returncode == 1
    assert "17 golden(s) were not evaluated on the candidate (a partial run?)" in result.stderr


def test_promote_refuses_goldens_that_would_be_stale(pytester: pytest.Pytester, example: Path) -> None:
    """Measured with the current prompt (v1), but the registry gives the new model v2."""
    (example / "models/triage-2024-11.yaml").write_text(
        (example / "models/triage-2024-11.yaml").read_text().replace("transform: {fence: json}", "")
    )
    (example / "models/triage-2024-11.yaml").write_text(
        (example / "models/triage-2024-11.yaml").read_text().replace('"priority": "high"', '"priority": "urgent"')
    )
    (example / "models/triage-2024-11.yaml").write_text(  # and it looks every order up, with either prompt
        (example / "models/triage-2024-11.yaml").read_text().replace("{user_contains: B5521}", "{user_contains: Z}")
    )
    candidate_run(pytester).assert_outcomes(passed=40)
    result = llmversion(example, "promote")
    assert result.returncode == 1
    assert "with prompt orders v1, but for scripted/triage-2024-11 the registry resolves v2" in result.stderr
    assert "--llm-candidate-prompt=own" in result.stderr


def test_rollback_with_nothing_to_roll_back(example: Path) -> None:
    result = llmversion(example, "rollback")
    assert result.returncode == 1
    assert "no promotion to roll back in .llmversion/rollback" in result.stderr


def test_golden_of_another_model_is_stale(pytester: pytest.Pytester, example: Path) -> None:
    """Changing the model in pyproject.toml without a candidate run must not replay old answers silently."""
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('model = "scripted/triage-2024-06"', f'model = "{CANDIDATE}"'))
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "test_triage and dark-mode")
    result.assert_outcomes(failed=1, deselected=20)
    result.stdout.fnmatch_lines(
        [
            "STALE: the golden tests/__llm_goldens__/test_triage/test_triage/dark-mode.yaml was recorded by "
            "scripted/triage-2024-06, but the current model is scripted/triage-2024-11",
        ]
    )


def test_promote_refuses_an_alias_candidate(pytester: pytest.Pytester, example: Path) -> None:
    """A candidate may be an alias while it is evaluated; production must never run one."""
    pyproject = example / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[tool.llmversion.catalog."scripted/triage-latest"]\nkind = "rolling"\nsource = "synthetic"\n'
    )
    (example / "models/triage-latest.yaml").write_text("extends: triage-2024-11\n")
    pytester.runpytest(
        "-p", "no:cacheprovider", "--candidate-model=scripted/triage-latest", "--llm-candidate-prompt=own"
    )
    before = snapshot(example)
    result = llmversion(example, "promote")
    assert result.returncode == 1
    expected = (
        "the candidate scripted/triage-latest is rolling, not a pinned snapshot; evaluate and promote a pinned id"
    )
    assert expected in result.stderr
    assert snapshot(example) == before


def test_promote_renames_a_golden_still_under_its_legacy_name_and_rollback_restores_it(llm_project: LLMProject) -> None:
    llm_project.write("tests/cases/people.yaml", "- id: ada\n  input: Ada Lovelace was born in London.\n")
    llm_project.test_file(
        """\
        import pytest

        class TestPeople:
            @pytest.mark.llm_regression(cases="cases/people.yaml")
            def test_case(self, llm, llm_case):
                llm.complete(llm_case.input)
        """
    )
    llm_project.run("--llm-record").assert_outcomes(passed=1)
    folder = llm_project.golden("test_llm")
    new, legacy = folder / "TestPeople.test_case-19c21bdec0/ada.yaml", folder / "TestPeople.test_case/ada.yaml"
    legacy.parent.mkdir()
    new.rename(legacy)  # as an earlier version named it
    new.parent.rmdir()
    llm_project.model("m2", "extends: m1\n")
    llm_project.run("--candidate-model=scripted/m2").assert_outcomes(passed=2)
    before = snapshot(llm_project.path)

    promoted = llmversion(llm_project.path, "promote")
    assert promoted.returncode == 0, promoted.stderr
    assert "llmversion: promoted scripted/m2 (was scripted/m1); 1 goldens rewritten" in promoted.stdout
    assert "  1 of them renamed from legacy names (the old files are removed)" in promoted.stdout
    assert "model: scripted/m2" in new.read_text()
    assert not legacy.parent.exists()
    llm_project.run().assert_outcomes(passed=1)
    assert llm_project.verdicts() == {"tests/test_llm.py::TestPeople::test_case[ada-current]": "MATCH"}

    assert llmversion(llm_project.path, "rollback").returncode == 0
    assert snapshot(llm_project.path) == before
