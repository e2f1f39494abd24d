"""``llmversion deprecations`` and ``llmversion catalog import``, as a scheduled CI job would run them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_llmversion.cli import main

REPO = Path(__file__).resolve().parent.parent
SUBSET = REPO / "scripts" / "catalog_sources" / "litellm_catalog_subset.json"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLMVERSION_TODAY", "2026-11-24")
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.llmversion]
            model = "openai/gpt-4o-2024-08-06"
            fallback_models = ["gemini/gemini-2.5-flash"]
            """
        )
    )
    return tmp_path


def test_deprecations_table_and_urgent_exit_status(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deprecations"]) == 1  # gemini-2.5-flash retires in 7 days
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "llmversion deprecations on 2026-11-24 (bundled catalogue (litellm 1.110.2, as of 2026-11-24))",
        "  role      model                     kind    retires     days  state   successor",
        "  fallback  gemini/gemini-2.5-flash   pinned  2026-12-01     7  URGENT  gemini/gemini-3.5-flash-lite",
        "  current   openai/gpt-4o-2024-08-06  pinned  2027-01-14    51  warn    "
        "openai/gpt-6-luna (no pinned snapshot yet)",
        "plan the migration: current model openai/gpt-4o-2024-08-06 retires in 51 days (2027-01-14); no pinned "
        "snapshot of its successor openai/gpt-6-luna is known yet (llmversion promote takes only pinned ids): pick a "
        "pinned model to test with --candidate-model=provider/model-id (source: https://developers.openai.com/api/"
        "docs/deprecations)",
        "URGENT: fallback gemini/gemini-2.5-flash retires in 7 days (2026-12-01); test its successor: pytest "
        "--candidate-model=gemini/gemini-3.5-flash-lite (source: https://ai.google.dev/gemini-api/docs/deprecations)",
        "llmversion: 1 model(s) retired or within 30 days of retirement",
    ]


def test_deprecations_exit_zero_outside_the_urgent_window(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deprecations", "--today", "2026-06-01"]) == 0
    assert "retired or within" not in capsys.readouterr().out
    assert main(["deprecations", "openai/gpt-4o-2024-08-06"]) == 0
    assert main(["deprecations", "anthropic/claude-3-5-sonnet-20241022"]) == 1
    assert "RETIRED: model anthropic/claude-3-5-sonnet-20241022 was shut down on 2025-10-28" in capsys.readouterr().out


def test_deprecations_all_lists_the_catalogue(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deprecations", "--all", "--today", "2026-06-01"]) == 0  # exit status: configured models only
    out = capsys.readouterr().out
    assert "catalogue  anthropic/claude-3-5-sonnet-20241022" in out
    assert out.count("\n") > 150


def test_unknown_model_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deprecations", "openai/gpt-4o-2024-08-07"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "llmversion: openai/gpt-4o-2024-08-07 is not in the bundled catalogue (litellm 1.110.2, as of 2026-11-24) "
        "(did you mean openai/gpt-4o-2024-08-06, openai/ft:gpt-4o-2024-08-06, openai/gpt-5-2025-08-07?); add it "
        'under [tool.llmversion.catalog."openai/gpt-4o-2024-08-07"] with retires = YYYY-MM-DD and its source\n'
    )
    assert main(["deprecations", "--today", "soon"]) == 2
    assert capsys.readouterr().err == "llmversion: --today = 'soon' is not a date (expected YYYY-MM-DD)\n"


def test_catalog_import_writes_the_project_catalogue(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "import", str(SUBSET), "--as-of", "2027-01-05", "--litellm-version", "1.120.0"]) == 0
    written = project / ".llmversion" / "catalog.json"
    assert capsys.readouterr().out.splitlines() == [
        f"llmversion: wrote {written}: 177 models (165 from {SUBSET}), as of 2027-01-05",
        "  pytest and llmversion now read it instead of the bundled catalogue (delete it to go back)",
        "  .llmversion/ is usually git-ignored: to share the catalogue with CI, import it to a",
        '  committed path and name it in [tool.llmversion]: catalog_file = "llm/catalog.json"',
    ]
    provenance = json.loads(written.read_text())["provenance"]
    assert (provenance["generated"], provenance["litellm"]["version"]) == ("2027-01-05", "1.120.0")
    main(["deprecations"])
    assert "(.llmversion/catalog.json (litellm 1.120.0, as of 2027-01-05))" in capsys.readouterr().out


def test_catalog_import_of_a_bad_file_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "import", "missing.json"]) == 2
    assert capsys.readouterr().err == "llmversion: missing.json: cannot read it (No such file or directory)\n"
    (project / "prices.json").write_text("[1, 2]")
    assert main(["catalog", "import", "prices.json"]) == 2
    assert capsys.readouterr().err.startswith("llmversion: prices.json: not a LiteLLM price file")
    assert not (project / ".llmversion" / "catalog.json").exists()


def test_catalog_file_names_a_committed_catalogue(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('catalog_file = "llm/catalog.json"\n')
    assert main(["deprecations"]) == 2
    assert capsys.readouterr().err == (
        "llmversion: llm/catalog.json: no such catalogue (catalog_file from pyproject.toml "
        "[tool.llmversion]); write it with: llmversion catalog import FILE\n"
    )
    assert main(["catalog", "import", str(SUBSET), "--as-of", "2027-01-05"]) == 0
    assert (project / "llm" / "catalog.json").is_file()
    assert main(["deprecations"]) == 1
    assert "(llm/catalog.json (litellm 1.110.2, as of 2027-01-05))" in capsys.readouterr().out
