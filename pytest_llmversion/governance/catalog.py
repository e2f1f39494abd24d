"""The model catalogue: kind, alias target, lifecycle dates, successor, prices and the request parameters each
model rejects, with sources.

Three layers, the later winning: the bundled ``pytest_llmversion/data/catalog.json`` (built by
``scripts/build_catalog.py`` from LiteLLM's price file plus ``data/catalog_extra.yaml``), or instead a
project's own file written by ``llmversion catalog import`` (``catalog_file``, by default
``<report_dir>/catalog.json``); then the entries in
``[tool.llmversion.catalog."provider/id"]``, which change single fields or add models (scripted test
doubles included). Loaded only when a run or a command needs it, never at plugin import.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.governance.pinning import KINDS, Kind, classify
from pytest_llmversion.modelref import BUILTIN_PROVIDERS, ModelRef, ModelRefError
from pytest_llmversion.providers.base import PARAM_NAMES
from pytest_llmversion.yamlio import YamlFileError, read_text

CATALOG_SCHEMA = 1
OVERRIDE_TABLE = "[tool.llmversion.catalog]"
OVERRIDE_SOURCE = "pyproject.toml [tool.llmversion.catalog]"
#: Providers that share one catalogue namespace.
_PROVIDER_ALIASES = {"google-legacy": "gemini"}


class CatalogError(LLMVersionError, ValueError):
    """A catalogue file or override that cannot be used; one line naming it."""


#: Entry fields that hold a list (a tuple in memory).
_LISTS = ("sources", "rejects_params")


@dataclass(frozen=True)
class CatalogEntry:
    """One model. Prices are USD per million tokens; ``retires`` is the shutdown date."""

    ref: str
    kind: str
    alias_of: str | None = None
    deprecated: date | None = None
    retires: date | None = None
    successor: str | None = None
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None
    cached_per_mtok: float | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    #: Request parameters the model refuses (reasoning models: ``temperature``); never sent to it.
    rejects_params: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    as_of: date | None = None
    origin: str = ""
    note: str | None = None

    @property
    def source(self) -> str | None:
        return self.sources[0] if self.sources else None

    @property
    def priced(self) -> bool:
        return self.input_per_mtok is not None and self.output_per_mtok is not None

    def to_dict(self) -> dict[str, Any]:
        """The on-disk form: ISO dates, no empty fields, sorted keys (by the writer)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "ref" or value is None or value == () or value == "":
                continue
            out[f.name] = value.isoformat() if isinstance(value, date) else list(value) if f.name in _LISTS else value
        return out

    @classmethod
    def from_dict(cls, ref: str, data: Any, where: str) -> CatalogEntry:
        """An entry of a catalogue file; a value of the wrong type is one line naming the entry and the field."""
        if not isinstance(data, Mapping):
            raise CatalogError(f"{where}: {ref}: an entry must be an object of fields, got {shown_value(data)}")
        values: dict[str, Any] = {}
        known = {f.name for f in fields(cls)} - {"ref"}
        for key, value in data.items():
            if key not in known:
                raise CatalogError(f"{where}: {ref}: unknown field {key!r}")
            values[key] = _file_field(key, value, f"{where}: {ref}: {key}")
        values.setdefault("kind", "unknown")
        return cls(ref=ref, **values)


def _file_field(key: str, value: Any, what: str) -> Any:
    """One field of a catalogue file's entry, checked as the overrides are: a file is edited by hand too."""
    shown = f"{what} = {shown_value(value)}"
    if key in _DATE_FIELDS:
        return parse_date(value, what)
    if key in _PRICE_FIELDS:
        return price(value, shown)
    if key in _INT_FIELDS:
        return token_count(value, shown)
    if key == "rejects_params":
        return param_names(value, shown)
    if key in _LISTS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CatalogError(f"{shown} must be a list of strings")
        return tuple(value)
    if key == "kind" and value not in (*KINDS, "unknown"):
        raise CatalogError(f"{shown} is not a kind (allowed: {', '.join(KINDS)})")
    if key in _REF_FIELDS and (not isinstance(value, str) or "/" not in value):
        raise CatalogError(f"{shown} must be a model id, 'provider/<model-id>'")
    if not isinstance(value, str):
        raise CatalogError(f"{shown} must be a string")
    return value


def shown_value(value: Any) -> str:
    """A value as the user wrote it, kept short: a date as its ISO text, anything else as Python shows it."""
    text = value.isoformat() if isinstance(value, date | time) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_date(value: Any, what: str) -> date:
    """A ``date``, or an ISO ``YYYY-MM-DD`` string; anything else is one clear error."""
    if isinstance(value, datetime):  # TOML reads 2027-01-14T00:00:00 as a datetime, which is a date too
        field_name = what.rsplit(" ", 1)[-1]
        raise CatalogError(
            f"{what} = {shown_value(value)} is a date and time, not a date: write the day alone "
            f"({field_name} = {value.date().isoformat()})"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CatalogError(f"{what} = {shown_value(value)} is not a date (expected YYYY-MM-DD)")


def price(value: Any, shown: str) -> float:
    """USD per million tokens: a finite number, 0 or more (one ``nan`` would turn every total into ``nan``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CatalogError(f"{shown} is not a price (USD per million tokens, e.g. 2.5)")
    if value < 0:
        raise CatalogError(f"{shown} is negative; a price is USD per million tokens, 0 or more")
    return float(value)


def token_count(value: Any, shown: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CatalogError(f"{shown} must be a whole number of tokens, 1 or more")
    return value


def catalog_key(provider: str, model_id: str) -> str:
    return f"{_PROVIDER_ALIASES.get(provider, provider)}/{model_id.removeprefix('models/')}"


@dataclass
class Catalog:
    entries: dict[str, CatalogEntry]
    #: Where the entries came from, for people: "bundled catalogue (litellm 1.110.2, as of 2026-11-24)".
    label: str
    path: Path | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    overridden: tuple[str, ...] = ()

    def get(self, ref: ModelRef | str) -> CatalogEntry | None:
        provider, _, model_id = str(ref).partition("/")
        key = catalog_key(provider, model_id)
        entry = self.entries.get(key)
        if entry is None and model_id.startswith("ft:") and model_id.count(":") >= 2:
            # ft:<base>:<org>::<id> is priced and retired like its base model's fine-tunes
            entry = self.entries.get(catalog_key(provider, ":".join(model_id.split(":")[:2])))
        return entry

    def rejected_params(self, ref: ModelRef | str) -> tuple[str, ...]:
        """The request parameters ``ref`` rejects, per its entry's ``rejects_params`` (none when unknown)."""
        entry = self.get(ref)
        return entry.rejects_params if entry is not None else ()

    def close_matches(self, ref: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(ref, list(self.entries), n=n, cutoff=0.75)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> Catalog:
        entries = dict(self.entries)
        for ref, values in overrides.items():
            base = entries.get(ref)
            if base is None:
                provider, _, model_id = ref.partition("/")
                base = CatalogEntry(ref=ref, kind=classify(provider, model_id), origin="")
            changed = dict(values)
            sources = (changed.pop("source"),) if "source" in changed else (OVERRIDE_SOURCE,)
            origin = f"{OVERRIDE_SOURCE} over {base.origin}" if base.origin else OVERRIDE_SOURCE
            entries[ref] = replace(base, **changed, sources=sources + base.sources, origin=origin)
        return Catalog(entries, self.label, self.path, self.provenance, tuple(sorted(overrides)))


# -- loading -----------------------------------------------------------------------------------------


def bundled_text() -> str:
    return resources.files("pytest_llmversion").joinpath("data", "catalog.json").read_text(encoding="utf-8")


@functools.cache
def bundled_catalog() -> Catalog:
    """Parsed once per process: ``connect()`` may run per request, and the file only changes with the package.
    Shared, so never changed in place (overrides make a new catalogue)."""
    return parse_catalog(bundled_text(), "bundled catalogue")


def parse_catalog(text: str, where: str, path: Path | None = None) -> Catalog:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(f"{where}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict):
        raise CatalogError(
            f"{where}: not a pytest-llmversion catalogue (expected schema, provenance, models); "
            "write one with: llmversion catalog import FILE"
        )
    schema = doc.get("schema")
    if isinstance(schema, int) and schema > CATALOG_SCHEMA:
        raise CatalogError(f"{where}: written by a newer pytest-llmversion (schema {schema}); upgrade the plugin")
    entries = {ref: CatalogEntry.from_dict(ref, data, where) for ref, data in doc["models"].items()}
    provenance = doc.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise CatalogError(
            f"{where}: provenance must be an object (litellm, generated, ...), got {shown_value(provenance)}"
        )
    litellm = provenance.get("litellm") or {}
    if not isinstance(litellm, dict):
        raise CatalogError(f"{where}: provenance.litellm must be an object (version, source, ...)")
    version = litellm.get("version") or "unknown version"
    label = f"{where} (litellm {version}, as of {provenance.get('generated', '?')})"
    return Catalog(entries, label, path, provenance)


def load_catalog(
    path: Path | None = None,
    overrides: Any = None,
    known_providers: Iterable[str] = BUILTIN_PROVIDERS,
    *,
    shown: str | None = None,
    required_by: str | None = None,
) -> Catalog:
    """The project's catalogue file when there is one (it must, when ``required_by`` a setting), else the
    bundled one; then the pyproject overrides. ``shown`` is how the file is named in messages."""
    shown = shown or str(path)
    if path is not None and path.is_file():
        try:
            text = read_text(path)
        except YamlFileError as exc:
            raise CatalogError(str(exc).replace(str(path), shown, 1)) from None
        catalog = parse_catalog(text, shown, path)
    elif path is not None and required_by:
        raise CatalogError(
            f"pytest-llmversion: {shown}: no such catalogue ({required_by}); write it with: "
            f"llmversion catalog import FILE"
        )
    else:
        catalog = bundled_catalog()
    if overrides:
        catalog = catalog.with_overrides(parse_overrides(overrides, known_providers))
    return catalog


# -- [tool.llmversion.catalog."provider/id"] ---------------------------------------------------------

_PRICE_FIELDS = ("input_per_mtok", "output_per_mtok", "cached_per_mtok")
_INT_FIELDS = ("context_window", "max_output_tokens")
_DATE_FIELDS = ("deprecated", "retires", "as_of")
_REF_FIELDS = ("alias_of", "successor")
_TEXT_FIELDS = ("source", "note")
OVERRIDE_FIELDS = (
    "kind",
    *_REF_FIELDS,
    *_DATE_FIELDS,
    *_PRICE_FIELDS,
    *_INT_FIELDS,
    "rejects_params",
    *_TEXT_FIELDS,
)


def parse_overrides(table: Any, known_providers: Iterable[str] = BUILTIN_PROVIDERS) -> dict[str, dict[str, Any]]:
    """Validate the ``catalog`` table: every problem is one line naming the entry, the key and the fix."""
    providers = tuple(known_providers)
    if not isinstance(table, Mapping):
        raise CatalogError(
            f'pytest-llmversion: {OVERRIDE_TABLE} must be a table of models, e.g. [tool.llmversion.catalog."openai/'
            f'gpt-4o-2024-08-06"] with retires = 2027-01-14; got {type(table).__name__}'
        )
    parsed: dict[str, dict[str, Any]] = {}
    for name, values in table.items():
        where = f'pytest-llmversion: [tool.llmversion.catalog."{name}"]'
        try:
            ref = ModelRef.parse(str(name), providers)
        except ModelRefError as exc:
            raise CatalogError(f"{where}: {exc}") from None
        if not isinstance(values, Mapping):
            raise CatalogError(
                f"{where} must be a table of fields ({', '.join(OVERRIDE_FIELDS)}), got {values!r}; quote the "
                'model name: [tool.llmversion.catalog."provider/id"]'
            )
        parsed[catalog_key(ref.provider, ref.model_id)] = _override(ref, values, where, providers)
    return parsed


def _override(ref: ModelRef, values: Mapping[str, Any], where: str, providers: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        shown = f"{where} {key} = {shown_value(value)}"
        if key not in OVERRIDE_FIELDS:
            hint = difflib.get_close_matches(key, OVERRIDE_FIELDS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise CatalogError(f"{where}: unknown field '{key}'{suggestion}; allowed: {', '.join(OVERRIDE_FIELDS)}")
        if key == "kind":
            if value not in KINDS:
                raise CatalogError(f"{shown} is not a kind (allowed: {', '.join(KINDS)})")
        elif key in _DATE_FIELDS:
            value = parse_date(value, f"{where} {key}")
        elif key in _PRICE_FIELDS:
            value = price(value, shown)
        elif key in _INT_FIELDS:
            value = token_count(value, shown)
        elif key in _REF_FIELDS:
            value = _ref_field(ref, value, shown, providers)
        elif key == "rejects_params":
            value = param_names(value, shown)
        elif not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{shown} must be a non-empty string")
        out[key] = value
    return out


def _ref_field(ref: ModelRef, value: Any, shown: str, providers: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{shown} must be a model id, e.g. '{ref.provider}/<model-id>'")
    text = value.strip()
    if text.partition("/")[0] not in providers:
        text = f"{ref.provider}/{text}"  # a bare id names a model of the same provider
    try:
        target = ModelRef.parse(text, providers)
    except ModelRefError as exc:
        raise CatalogError(f"{shown}: {exc}") from None
    return catalog_key(target.provider, target.model_id)


def param_names(value: Any, shown: str) -> tuple[str, ...]:
    """``rejects_params``: a list of the request parameters the plugin sends (``[]`` says the model takes all)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise CatalogError(f'{shown} must be a list of parameter names, e.g. ["temperature", "top_p"]')
    for name in value:
        if name not in PARAM_NAMES:
            hint = difflib.get_close_matches(str(name), PARAM_NAMES, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            allowed = ", ".join(PARAM_NAMES)
            raise CatalogError(f"{shown}: {name!r} is not a request parameter{suggestion}; allowed: {allowed}")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class PinStatus:
    """What is known about whether ``ref`` is pinned, and how it is known."""

    ref: str
    kind: Kind
    #: The pinned snapshot an alias points at today, where the catalogue knows it.
    resolves_to: str | None
    #: "catalogue", "naming rules" or "not checked".
    basis: str

    @property
    def pinned(self) -> bool:
        return self.kind == "pinned"

    @property
    def checked(self) -> bool:
        return self.kind != "unknown"


def pin_status(ref: ModelRef, catalog: Catalog | None) -> PinStatus:
    entry = catalog.get(ref) if catalog is not None else None
    if entry is not None and entry.kind:
        return PinStatus(str(ref), entry.kind, entry.alias_of, "catalogue")  # type: ignore[arg-type]
    kind = classify(ref.provider, ref.model_id)
    return PinStatus(str(ref), kind, None, "naming rules" if kind != "unknown" else "not checked")
