"""scripts/build_catalog.py: LiteLLM's price file plus the reviewed extras, byte for byte reproducible."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pytest_llmversion.governance.catalog import CatalogError, parse_catalog
from pytest_llmversion.governance.catalog_build import build_document, build_from_file, extra_entries, litellm_entries

REPO = Path(__file__).resolve().parent.parent
SUBSET = REPO / "scripts" / "catalog_sources" / "litellm_catalog_subset.json"
BUNDLED = REPO / "pytest_llmversion" / "data" / "catalog.json"
SHARED = Path("/work/shared/data/litellm_catalog_subset.json")


def test_build_script_reproduces_the_bundled_catalogue(tmp_path: Path) -> None:
    """If this fails, the bundled file drifted from its inputs: rerun the script with the same --as-of."""
    as_of = json.loads(BUNDLED.read_text())["provenance"]["generated"]
    out = tmp_path / "catalog.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_catalog.py"), "--as-of", as_of, "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == BUNDLED.read_bytes()


@pytest.mark.skipif(not SHARED.is_file(), reason="the shared data folder is not mounted here")
def test_vendored_subset_is_the_shared_one() -> None:
    assert SUBSET.read_bytes() == SHARED.read_bytes()


def _litellm(models: dict[str, Any]) -> dict[str, Any]:
    return {"_provenance": {"source": "litellm 9.9.9 wheel", "sha256": "abc"}, "models": models}


def test_gemini_api_keys_are_ours_and_vertex_keys_are_not() -> None:
    entries = litellm_entries(
        _litellm(
            {
                "gemini/gemini-2.5-flash": {
                    "litellm_provider": "gemini",
                    "mode": "chat",
                    "deprecation_date": "2026-12-01",
                    "successor_model": "gemini/gemini-3.5-flash-lite",
                    "input_cost_per_token": 3e-07,
                    "output_cost_per_token": 2.5e-06,
                    "cache_read_input_token_cost": 3e-08,
                },
                "gemini-2.5-flash": {
                    "litellm_provider": "vertex_ai-language-models",
                    "mode": "chat",
                    "deprecation_date": "2026-10-20",
                },
                "gemini-flash-latest": {"litellm_provider": "gemini", "mode": "chat"},
                "gpt-4o": {"litellm_provider": "openai", "mode": "chat", "successor_model": "gpt-6-luna"},
                "gpt-4o-2024-08-06": {"litellm_provider": "openai", "mode": "chat"},
                "openai/container": {"litellm_provider": "openai", "mode": "chat"},
                "text-embedding-3-large": {"litellm_provider": "openai", "mode": "embedding"},
                "claude-sonnet-4-5": {"litellm_provider": "anthropic", "mode": "chat"},
                "claude-sonnet-4-5-20250929": {"litellm_provider": "anthropic", "mode": "chat"},
            }
        ),
        origin="litellm 9.9.9",
        as_of=date(2026, 11, 24),
    )
    assert sorted(entries) == [
        "anthropic/claude-sonnet-4-5",
        "anthropic/claude-sonnet-4-5-20250929",
        "gemini/gemini-2.5-flash",
        "openai/gpt-4o",
        "openai/gpt-4o-2024-08-06",
        "openai/text-embedding-3-large",  # embedding models too, for checks.semantic_similarity's price
    ]
    embedding = entries["openai/text-embedding-3-large"]
    assert (embedding.input_per_mtok, embedding.output_per_mtok) == (None, 0.0)  # no input price given here
    flash = entries["gemini/gemini-2.5-flash"]
    assert (flash.retires, flash.successor) == (date(2026, 12, 1), "gemini/gemini-3.5-flash-lite")
    assert (flash.input_per_mtok, flash.output_per_mtok, flash.cached_per_mtok) == (0.3, 2.5, 0.03)
    assert flash.sources == ("litellm 9.9.9",)
    assert flash.as_of == date(2026, 11, 24)
    assert entries["openai/gpt-4o"].successor == "openai/gpt-6-luna"
    # the only dated sibling of an undated alias is its target; gpt-4o has one here too
    assert entries["anthropic/claude-sonnet-4-5"].alias_of == "anthropic/claude-sonnet-4-5-20250929"
    assert "inferred" in (entries["anthropic/claude-sonnet-4-5"].note or "")


def test_extras_need_a_source_and_an_as_of_date() -> None:
    with pytest.raises(CatalogError, match="every entry needs the source it was read from and as_of"):
        extra_entries({"models": {"openai/gpt-4o-2024-05-13": {"retires": "2026-10-23"}}}, "extra.yaml")
    with pytest.raises(CatalogError, match="retires = '2026-02-30' is not a date"):
        extra_entries(
            {
                "models": {
                    "openai/x": {"retires": "2026-02-30", "source": "https://example.test", "as_of": "2026-11-24"}
                }
            },
            "extra.yaml",
        )


def test_extras_name_only_parameters_a_request_can_carry() -> None:
    extra = {"source": "https://example.test", "as_of": "2026-12-01"}
    parsed = extra_entries({"models": {"openai/o3": {"rejects_params": ["temperature"], **extra}}}, "extra.yaml")
    assert parsed["openai/o3"]["rejects_params"] == ("temperature",)
    with pytest.raises(CatalogError, match=r"^extra.yaml: openai/o3: rejects_params: 'temprature' is not a request"):
        extra_entries({"models": {"openai/o3": {"rejects_params": ["temprature"], **extra}}}, "extra.yaml")


def test_extras_fill_in_and_add_retired_ids() -> None:
    litellm = _litellm({"gpt-4o": {"litellm_provider": "openai", "mode": "chat", "deprecation_date": "2027-01-14"}})
    extras = {
        "models": {
            "openai/gpt-4o": {
                "alias_of": "openai/gpt-4o-2024-08-06",
                "source": "https://a.test",
                "as_of": "2026-11-20",
            },
            "openai/chatgpt-4o-latest": {
                "kind": "rolling",
                "retires": "2026-02-17",
                "source": ["https://b.test", "https://c.test"],
                "as_of": "2026-11-21",
            },
        }
    }
    document = build_document(litellm, b"{}", extras, b"", as_of=date(2026, 11, 24))
    catalog = parse_catalog(json.dumps(document), "test")
    gpt = catalog.get("openai/gpt-4o")
    assert gpt is not None
    assert (gpt.alias_of, gpt.retires, gpt.as_of) == ("openai/gpt-4o-2024-08-06", date(2027, 1, 14), date(2026, 11, 20))
    assert gpt.sources == ("litellm 9.9.9", "https://a.test")  # the retirement date is still LiteLLM's
    rolling = catalog.get("openai/chatgpt-4o-latest")
    assert rolling is not None
    assert (rolling.kind, rolling.retires, rolling.sources) == (
        "rolling",
        date(2026, 2, 17),
        ("https://b.test", "https://c.test"),
    )
    assert document["provenance"]["litellm"] | {"file_sha256": ""} == {
        "file_sha256": "",
        "license": "MIT (c) 2023 Berri AI",
        "license_file": "LICENSE-litellm.txt",
        "models_kept": 1,
        "original_sha256": "abc",
        "source": "litellm 9.9.9 wheel",
        "version": "9.9.9",
    }


def test_a_file_that_is_not_litellm_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text('{"some-model": {"mode": "chat"}}')
    with pytest.raises(CatalogError) as info:
        build_from_file(bad, as_of=date(2026, 11, 24))
    assert str(info.value) == (
        f"{bad}: no OpenAI, Anthropic or Gemini API chat models found; is it LiteLLM's "
        "model_prices_and_context_window.json?"
    )
