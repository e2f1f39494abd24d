"""The catalogue: lookups, the bundled data's promises, and the [tool.llmversion.catalog] overrides."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pytest_llmversion.governance.catalog import CatalogError, load_catalog, parse_overrides
from pytest_llmversion.governance.catalog_build import build_from_file

REPO = Path(__file__).resolve().parent.parent
SUBSET = REPO / "scripts" / "catalog_sources" / "litellm_catalog_subset.json"


def test_bundled_catalogue_covers_the_models_the_issue_names() -> None:
    catalog = load_catalog()
    claude = catalog.get("anthropic/claude-3-5-sonnet-20241022")
    assert claude is not None
    assert (claude.kind, claude.retires, claude.successor) == (
        "pinned",
        date(2025, 10, 28),
        "anthropic/claude-sonnet-4-6",
    )
    gemini = catalog.get("gemini/gemini-1.5-pro-002")
    assert gemini is not None
    assert gemini.retires == date(2025, 9, 24)
    gpt = catalog.get("openai/gpt-4o-2024-08-06")
    assert gpt is not None
    assert (gpt.retires, gpt.input_per_mtok, gpt.output_per_mtok, gpt.cached_per_mtok) == (
        date(2027, 1, 14),
        2.5,
        10.0,
        1.25,
    )
    for alias, target in [
        ("openai/gpt-4o", "openai/gpt-4o-2024-08-06"),
        ("anthropic/claude-3-5-sonnet-latest", "anthropic/claude-3-5-sonnet-20241022"),
        ("gemini/gemini-1.5-pro-latest", "gemini/gemini-1.5-pro-002"),
    ]:
        entry = catalog.get(alias)
        assert entry is not None
        assert (entry.kind, entry.alias_of) == ("alias", target)
    rolling = catalog.get("openai/chatgpt-4o-latest")
    assert rolling is not None
    assert (rolling.kind, rolling.alias_of) == ("rolling", None)


def test_every_entry_has_a_source_and_an_as_of_date() -> None:
    catalog = load_catalog()
    assert len(catalog.entries) > 150
    assert all(entry.sources and entry.as_of for entry in catalog.entries.values())
    assert sum(entry.retires is not None for entry in catalog.entries.values()) >= 85
    provenance = catalog.provenance["litellm"]
    assert provenance["version"] == "1.110.2"
    assert provenance["license"] == "MIT (c) 2023 Berri AI"
    assert "Permission is hereby granted" in provenance["notice"]
    assert (REPO / "pytest_llmversion" / "data" / "LICENSE-litellm.txt").read_text().startswith("MIT License")


def test_the_catalogue_says_which_parameters_a_model_rejects() -> None:
    catalog = load_catalog()
    assert catalog.rejected_params("openai/o3-2025-04-16") == ("temperature",)
    assert catalog.rejected_params("openai/o3") == ("temperature",)
    assert catalog.rejected_params("openai/o1-2024-12-17") == ("temperature", "top_p")
    assert catalog.rejected_params("openai/gpt-5-mini-2025-08-07") == ("temperature",)
    assert catalog.rejected_params("openai/gpt-4o-2024-08-06") == ()
    assert catalog.rejected_params("scripted/m1") == ()
    o3 = catalog.get("openai/o3-2025-04-16")
    assert o3 is not None
    assert o3.as_of is not None
    assert any("temperature-compatibility" in source for source in o3.sources)
    changed = load_catalog(
        overrides={"openai/o3-2025-04-16": {"rejects_params": []}, "scripted/m1": {"rejects_params": ["seed", "stop"]}}
    )
    assert changed.rejected_params("openai/o3-2025-04-16") == ()  # the provider may start to accept it
    assert changed.rejected_params("scripted/m1") == ("seed", "stop")


def test_lookup_normalises_provider_and_id() -> None:
    catalog = load_catalog()
    assert catalog.get("google-legacy/gemini-2.5-flash") is catalog.get("gemini/gemini-2.5-flash")
    assert catalog.get("gemini/models/gemini-2.5-flash") is catalog.get("gemini/gemini-2.5-flash")
    fine_tune = catalog.get("openai/ft:gpt-4o-2024-08-06:acme::abc123")
    assert fine_tune is not None
    assert fine_tune.ref == "openai/ft:gpt-4o-2024-08-06"
    assert catalog.get("openai/gpt-does-not-exist") is None


def test_overrides_change_fields_and_add_models() -> None:
    catalog = load_catalog(
        overrides={
            "openai/gpt-4o-2024-08-06": {"retires": date(2026, 12, 1), "source": "https://example.test/notice"},
            "scripted/m1": {"input_per_mtok": 1, "output_per_mtok": 2.5, "successor": "m2"},
        }
    )
    gpt = catalog.get("openai/gpt-4o-2024-08-06")
    assert gpt is not None
    assert (gpt.retires, gpt.input_per_mtok, gpt.source) == (date(2026, 12, 1), 2.5, "https://example.test/notice")
    assert gpt.origin.startswith("pyproject.toml [tool.llmversion.catalog] over litellm 1.110.2")
    scripted = catalog.get("scripted/m1")
    assert scripted is not None
    assert (scripted.kind, scripted.input_per_mtok, scripted.successor) == ("pinned", 1.0, "scripted/m2")
    assert scripted.source == "pyproject.toml [tool.llmversion.catalog]"
    assert catalog.overridden == ("openai/gpt-4o-2024-08-06", "scripted/m1")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            ["openai/gpt-4o"],
            'pytest-llmversion: [tool.llmversion.catalog] must be a table of models, e.g. [tool.llmversion.catalog."'
            'openai/gpt-4o-2024-08-06"] with retires = 2027-01-14; got list',
        ),
        (
            {"openai/gpt-4o": "2027-01-14"},
            'pytest-llmversion: [tool.llmversion.catalog."openai/gpt-4o"] must be a table of fields (kind, alias_of, '
            "successor, deprecated, retires, as_of, input_per_mtok, output_per_mtok, cached_per_mtok, context_window, "
            "max_output_tokens, rejects_params, source, note), got '2027-01-14'; quote the model name: "
            '[tool.llmversion.catalog."provider/id"]',
        ),
        (
            {"openai": {"retires": "2027-01-14"}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai\"]: 'openai' is not a model reference: expected "
            "'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'",
        ),
        (
            {"openai/gpt-4o": {"retire": "2027-01-14"}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai/gpt-4o\"]: unknown field 'retire' (did you mean "
            "'retires'?); allowed: kind, alias_of, successor, deprecated, retires, as_of, input_per_mtok, "
            "output_per_mtok, cached_per_mtok, context_window, max_output_tokens, rejects_params, source, note",
        ),
        (
            {"openai/gpt-4o": {"retires": "14/01/2027"}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai/gpt-4o\"] retires = '14/01/2027' is not a date "
            "(expected YYYY-MM-DD)",
        ),
        (
            {"openai/gpt-4o": {"input_per_mtok": -2.5}},
            'pytest-llmversion: [tool.llmversion.catalog."openai/gpt-4o"] input_per_mtok = -2.5 is negative; a price '
            "is USD per million tokens, 0 or more",
        ),
        (
            {"openai/gpt-4o": {"output_per_mtok": "ten"}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai/gpt-4o\"] output_per_mtok = 'ten' is not a price "
            "(USD per million tokens, e.g. 2.5)",
        ),
        (
            {"openai/gpt-4o": {"kind": "snapshot"}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai/gpt-4o\"] kind = 'snapshot' is not a kind (allowed: "
            "pinned, alias, rolling, preview, experimental)",
        ),
        (
            {"openai/o3": {"rejects_params": "temperature"}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai/o3\"] rejects_params = 'temperature' must be a list "
            'of parameter names, e.g. ["temperature", "top_p"]',
        ),
        (
            {"openai/o3": {"rejects_params": ["temprature"]}},
            "pytest-llmversion: [tool.llmversion.catalog.\"openai/o3\"] rejects_params = ['temprature']: 'temprature' "
            "is not a request parameter (did you mean 'temperature'?); allowed: temperature, max_tokens, seed, top_p, "
            "stop, response_format, parallel_tool_calls",
        ),
        (
            {"openai/gpt-4o": {"context_window": 0}},
            'pytest-llmversion: [tool.llmversion.catalog."openai/gpt-4o"] context_window = 0 must be a whole number '
            "of tokens, 1 or more",
        ),
    ],
)
def test_bad_override_is_one_line(table: Any, message: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse_overrides(table)
    assert str(info.value) == message
    assert "\n" not in message


def test_named_endpoints_may_be_described(tmp_path: Path) -> None:
    parsed = parse_overrides({"local/llama3": {"kind": "pinned", "alias_of": "llama3-8b"}}, ["openai", "local"])
    assert parsed == {"local/llama3": {"kind": "pinned", "alias_of": "local/llama3-8b"}}


def test_project_catalogue_replaces_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / ".llmversion").mkdir()
    text = build_from_file(SUBSET, as_of=date(2027, 1, 10), litellm_version="1.999.0")
    (tmp_path / ".llmversion" / "catalog.json").write_text(text)
    path = tmp_path / ".llmversion" / "catalog.json"
    catalog = load_catalog(path, shown=".llmversion/catalog.json")
    assert catalog.label == ".llmversion/catalog.json (litellm 1.999.0, as of 2027-01-10)"
    bundled = load_catalog(tmp_path / "elsewhere.json")
    assert bundled.label == "bundled catalogue (litellm 1.110.2, as of 2026-11-24)"
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "llm" / "catalog.json", shown="llm/catalog.json", required_by="catalog_file from x")
    assert str(info.value) == (
        "pytest-llmversion: llm/catalog.json: no such catalogue (catalog_file from x); write it with: "
        "llmversion catalog import FILE"
    )
    path.write_text("{not json")
    with pytest.raises(CatalogError, match=r"^\.llmversion/catalog\.json: not valid JSON at line 1: "):
        load_catalog(path, shown=".llmversion/catalog.json")


def test_the_catalogue_is_not_loaded_at_plugin_import(pytester: pytest.Pytester) -> None:
    code = (
        "import sys, pytest_llmversion.plugin, pytest_llmversion.options; "
        "print(sorted(m for m in sys.modules if m.startswith('pytest_llmversion')))"
    )
    result = pytester.run(sys.executable, "-c", code)
    assert "catalog" not in result.stdout.str()
    assert "pytest_llmversion.options" in result.stdout.str()


def test_a_suite_without_llm_tests_never_loads_the_catalogue(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import sys\n\ndef test_plain():\n    assert 'pytest_llmversion.governance.catalog' not in sys.modules\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_project_without_the_plugins_config_loads_neither_pydantic_nor_yaml(pytester: pytest.Pytester) -> None:
    """Installed but unused, the plugin costs pytest's own start-up: no pydantic, no PyYAML, no SDK."""
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\naddopts = []\n")
    pytester.makepyfile(
        "import sys\n\n"
        "def test_plain():\n"
        "    heavy = {'pydantic', 'yaml', 'openai', 'anthropic', 'google.genai', 'jsonschema', 'deepdiff'}\n"
        "    assert heavy.isdisjoint(sys.modules), sorted(heavy & set(sys.modules))\n"
        "    assert 'pytest_llmversion.plugin' in sys.modules  # the plugin is loaded, only light\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
