"""Build the catalogue file from LiteLLM's ``model_prices_and_context_window.json`` and the reviewed extras.

Used by ``scripts/build_catalog.py`` (the bundled file) and ``llmversion catalog import`` (a project's
refresh). LiteLLM keys OpenAI and Anthropic models by their bare id and Gemini API models as
``gemini/<id>``; bare ``gemini-*`` keys are Vertex AI (other dates), so they are skipped. LiteLLM deletes
retired models, which is why ``data/catalog_extra.yaml`` keeps the older ids we still meet in goldens,
each with the page it was read from and when. The same inputs always give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_llmversion.governance.catalog import (
    CATALOG_SCHEMA,
    CatalogEntry,
    CatalogError,
    catalog_key,
    param_names,
    parse_date,
)
from pytest_llmversion.governance.pinning import KINDS, classify

LITELLM_LICENSE = "MIT (c) 2023 Berri AI"
LITELLM_NOTICE_FILE = "LICENSE-litellm.txt"
EXTRA_FILE = "catalog_extra.yaml"
#: LiteLLM provider -> ours; everything else in the file (Azure, Bedrock, Vertex, ...) is left out.
_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "gemini": "gemini"}
_SNAPSHOT_SUFFIX = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{4}|\d{8}|\d{3})$")
_VERSION = re.compile(r"litellm[ =-]+v?(\d+\.\d+\.\d+)", re.IGNORECASE)
_EXTRA_FIELDS = (
    "kind",
    "alias_of",
    "deprecated",
    "retires",
    "successor",
    "input_per_mtok",
    "output_per_mtok",
    "cached_per_mtok",
    "context_window",
    "max_output_tokens",
    "rejects_params",
    "source",
    "as_of",
    "note",
)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: An embedding model's answer is no tokens: no output price means 0, not unknown.
_NO_OUTPUT = {"embedding": 0.0}


def _per_mtok(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value) * 1_000_000, 6)


def _ref(provider: str, litellm_id: Any) -> str | None:
    """A LiteLLM model name (``gpt-6-luna``, ``gemini/gemini-3.8-flash``) as our ``provider/id``."""
    if not isinstance(litellm_id, str) or not litellm_id:
        return None
    if provider == "gemini":
        return catalog_key("gemini", litellm_id.removeprefix("gemini/"))
    return catalog_key(provider, litellm_id)


def _our_ref(key: str, data: Mapping[str, Any]) -> str | None:
    provider = _PROVIDERS.get(str(data.get("litellm_provider")))
    # chat models, and embedding models (priced per input token): checks.semantic_similarity calls them
    if provider is None or data.get("mode") not in ("chat", "embedding"):
        return None
    if provider == "gemini":
        return catalog_key("gemini", key.removeprefix("gemini/")) if key.startswith("gemini/") else None
    return None if "/" in key else catalog_key(provider, key)


def litellm_entries(doc: Mapping[str, Any], *, origin: str, as_of: date) -> dict[str, CatalogEntry]:
    """Our entries for LiteLLM's OpenAI, Anthropic and Gemini API chat models."""
    models = doc.get("models", doc)  # the shared subset nests them; LiteLLM's own file does not
    if not isinstance(models, Mapping):
        raise CatalogError("the LiteLLM file has no models mapping")
    entries: dict[str, CatalogEntry] = {}
    for key, data in sorted(models.items()):
        if not isinstance(data, Mapping):
            continue  # "sample_spec" and other documentation keys
        ref = _our_ref(key, data)
        if ref is None:
            continue
        provider, _, model_id = ref.partition("/")
        retires = data.get("deprecation_date")
        sources = [s for s in (data.get("deprecation_source"), data.get("source")) if isinstance(s, str) and s]
        alias_of = _ref(provider, data.get("alias_of"))
        entries[ref] = CatalogEntry(
            ref=ref,
            kind="alias" if alias_of else classify(provider, model_id),
            alias_of=alias_of,
            retires=parse_date(retires, f"LiteLLM {key} deprecation_date") if retires else None,
            successor=_ref(provider, data.get("successor_model")),
            input_per_mtok=_per_mtok(data.get("input_cost_per_token")),
            output_per_mtok=_per_mtok(data.get("output_cost_per_token", _NO_OUTPUT.get(str(data.get("mode"))))),
            cached_per_mtok=_per_mtok(data.get("cache_read_input_token_cost")),
            context_window=data.get("max_input_tokens") if isinstance(data.get("max_input_tokens"), int) else None,
            max_output_tokens=data.get("max_output_tokens") if isinstance(data.get("max_output_tokens"), int) else None,
            sources=tuple(dict.fromkeys([*sources, origin])),
            as_of=as_of,
            origin=origin,
        )
    return _infer_alias_targets(entries, origin)


def _infer_alias_targets(entries: dict[str, CatalogEntry], origin: str) -> dict[str, CatalogEntry]:
    """An alias whose only dated sibling is one snapshot points at that snapshot."""
    out = dict(entries)
    for ref, entry in entries.items():
        if entry.kind != "alias" or entry.alias_of:
            continue
        siblings = [
            other
            for other, candidate in entries.items()
            if other.startswith(ref + "-")
            and _SNAPSHOT_SUFFIX.match(other[len(ref) + 1 :])
            and candidate.kind == "pinned"
        ]
        if len(siblings) == 1:
            note = f"alias target inferred: the only dated snapshot of this id in {origin}"
            out[ref] = CatalogEntry(**{**_fields(entry), "alias_of": siblings[0], "note": note})
    return out


def _fields(entry: CatalogEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}


def extra_entries(doc: Any, where: str) -> dict[str, dict[str, Any]]:
    """The reviewed extras: each needs a source and an as-of date; dates and kinds are checked."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("models"), Mapping):
        raise CatalogError(f"{where}: expected 'models:' mapping provider/id to fields")
    out: dict[str, dict[str, Any]] = {}
    for ref, values in doc["models"].items():
        if not isinstance(values, Mapping):
            raise CatalogError(f"{where}: {ref}: expected a mapping of fields")
        unknown = sorted(set(values) - set(_EXTRA_FIELDS))
        if unknown:
            raise CatalogError(f"{where}: {ref}: unknown field {unknown[0]!r}")
        if not values.get("source") or not values.get("as_of"):
            raise CatalogError(f"{where}: {ref}: every entry needs the source it was read from and as_of")
        if "kind" in values and values["kind"] not in KINDS:
            raise CatalogError(f"{where}: {ref}: kind {values['kind']!r} is not one of {', '.join(KINDS)}")
        fields = dict(values)
        source = fields["source"]
        if isinstance(source, str):
            source = [source]
        if not isinstance(source, list) or not all(isinstance(s, str) and s for s in source):
            raise CatalogError(f"{where}: {ref}: source must be a URL or a list of URLs")
        fields["source"] = tuple(source)
        for key in ("deprecated", "retires", "as_of"):
            if key in fields:
                fields[key] = parse_date(fields[key], f"{where}: {ref}: {key}")
        if "rejects_params" in fields:
            fields["rejects_params"] = param_names(fields["rejects_params"], f"{where}: {ref}: rejects_params")
        out[str(ref)] = fields
    return out


def merge(
    base: dict[str, CatalogEntry], extras: Mapping[str, Mapping[str, Any]], origin: str
) -> dict[str, CatalogEntry]:
    """Extras fill in or correct LiteLLM's entries field by field, and add the ids LiteLLM dropped."""
    out = dict(base)
    for ref, values in sorted(extras.items()):
        fields = dict(values)
        source: tuple[str, ...] = tuple(fields.pop("source"))
        entry = out.get(ref)
        if entry is None:
            provider, _, model_id = ref.partition("/")
            entry = CatalogEntry(ref=ref, kind=classify(provider, model_id), origin=origin)
            fields.setdefault("kind", entry.kind)
            merged_origin = origin
        else:
            merged_origin = f"{entry.origin} + {origin}"
        # the page a retirement date was read from comes first: the extras' when they set or add it
        first, then = (source, entry.sources) if "retires" in fields or not entry.sources else (entry.sources, source)
        sources = tuple(dict.fromkeys((*first, *then)))
        out[ref] = CatalogEntry(**{**_fields(entry), **fields, "sources": sources, "origin": merged_origin})
    return out


def build_document(
    litellm_doc: Mapping[str, Any],
    litellm_bytes: bytes,
    extras_doc: Any,
    extras_bytes: bytes,
    *,
    as_of: date,
    litellm_version: str | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """The whole catalogue file: schema, provenance (versions, hashes, licence) and the models."""
    provenance_in = litellm_doc.get("_provenance") if isinstance(litellm_doc.get("_provenance"), Mapping) else {}
    assert isinstance(provenance_in, Mapping)
    label = str(provenance_in.get("source") or "model_prices_and_context_window.json")
    version = litellm_version or _version_of(label)
    origin = f"litellm {version}" if version else "litellm"
    models = litellm_entries(litellm_doc, origin=origin, as_of=as_of)
    extras = extra_entries(extras_doc, EXTRA_FILE)
    merged = merge(models, extras, "pytest-llmversion catalog_extra.yaml")
    litellm_info: dict[str, Any] = {
        "file_sha256": sha256_of(litellm_bytes),
        "license": LITELLM_LICENSE,
        "license_file": LITELLM_NOTICE_FILE,
        "models_kept": len(models),
        "source": label,
        "version": version,
    }
    if provenance_in.get("sha256"):
        litellm_info["original_sha256"] = provenance_in["sha256"]
    if notice:
        litellm_info["notice"] = notice
    return {
        "schema": CATALOG_SCHEMA,
        "provenance": {
            "generated": as_of.isoformat(),
            "generator": "pytest_llmversion.governance.catalog_build (scripts/build_catalog.py, catalog import)",
            "litellm": litellm_info,
            "extra": {"file": EXTRA_FILE, "models": len(extras), "sha256": sha256_of(extras_bytes)},
            "notes": (
                "retires is the shutdown date (LiteLLM's deprecation_date); prices are USD per million tokens; "
                "every entry lists its sources, first the one its dates were read from"
            ),
        },
        "models": {ref: entry.to_dict() for ref, entry in sorted(merged.items())},
    }


def _version_of(label: str) -> str | None:
    found = _VERSION.search(label)
    return found.group(1) if found else None


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def bundled_extras() -> tuple[Any, bytes]:
    import yaml

    data = resources.files("pytest_llmversion").joinpath("data", EXTRA_FILE).read_bytes()
    return yaml.safe_load(data), data


def bundled_notice() -> str:
    return resources.files("pytest_llmversion").joinpath("data", LITELLM_NOTICE_FILE).read_text(encoding="utf-8")


def build_from_file(
    litellm_path: Path,
    *,
    as_of: date,
    litellm_version: str | None = None,
    extras_path: Path | None = None,
) -> str:
    """Read a LiteLLM file (the full one or the shared subset) and return the catalogue text."""
    import yaml

    try:
        raw = litellm_path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{litellm_path}: cannot read it ({exc.strerror})") from None
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{litellm_path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{litellm_path}: not a LiteLLM price file (expected a JSON object of models)")
    if extras_path is not None:
        extras_bytes = extras_path.read_bytes()
        extras_doc = yaml.safe_load(extras_bytes)
    else:
        extras_doc, extras_bytes = bundled_extras()
    document = build_document(
        doc, raw, extras_doc, extras_bytes, as_of=as_of, litellm_version=litellm_version, notice=bundled_notice()
    )
    if not document["provenance"]["litellm"]["models_kept"]:
        raise CatalogError(
            f"{litellm_path}: no OpenAI, Anthropic or Gemini API chat models found; is it LiteLLM's "
            "model_prices_and_context_window.json?"
        )
    return render(document)
