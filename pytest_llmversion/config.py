"""``LLMConfig`` and where each value comes from: pyproject.toml < ini options < environment < command line.

Errors are one line naming the key, the place it came from and what is allowed, never a pydantic
traceback. Application code can load the same config with :func:`load_config` in production.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.modelref import BUILTIN_PROVIDERS, ModelRef, ModelRefError

ENV_PREFIX = "LLMVERSION_"
PYPROJECT_SOURCE = "pyproject.toml [tool.llmversion]"
DEFAULT_SOURCE = "default"


class ConfigError(LLMVersionError):
    """A configuration problem, phrased as one line that names the culprit."""


class ProviderSettings(BaseModel):
    """``[tool.llmversion.providers.<name>]``: a named OpenAI-compatible endpoint, or a base_url override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["openai", "anthropic", "gemini", "google-legacy"] | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    #: For ``kind = "openai"``: Chat Completions (default) or the Responses API.
    api: Literal["chat", "responses"] | None = None
    api_version: str | None = None
    #: The client-side limiter of this provider: calls in flight at most (default: ``concurrency``),
    #: requests and tokens per minute (default: no limit).
    concurrency: int | None = Field(None, ge=1, le=1024)
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)


class LLMConfig(BaseModel):
    """The project's LLM settings, as in ``[tool.llmversion]``."""

    # TOML and the environment can spell nan and inf; no setting here means anything by them
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str | None = Field(None, description="the current model, a pinned 'provider/model-id'")
    candidate_model: str | None = None
    #: Set by ``llmversion promote``: the model before the last promotion, for an instant rollback.
    previous_model: str | None = None
    fallback_models: list[str] = Field(default_factory=list)
    #: ``checks.judge``'s model when a test names none; pinned like the current model.
    judge_model: str | None = Field(None, description="the LLM judge of checks.judge, a pinned 'provider/model-id'")
    #: ``checks.semantic_similarity``'s embedding model when a test names none.
    embedding_model: str | None = Field(None, description="embedding model of checks.semantic_similarity")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(1024, ge=1)
    seed: int | None = None
    tolerance: float = Field(0.0, ge=0.0, le=1.0, description="score drop allowed before REGRESSED")
    samples: int = Field(1, ge=1, le=1000, description="samples per model and case; 2 or more gives statistics")
    max_samples: int = Field(20, ge=1, le=1000, description="samples per model for cases the models disagree on")
    baseline: Literal["golden", "live"] = "golden"
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="mean check score a sample needs to pass")
    alpha: float = Field(0.05, gt=0.0, lt=0.5, description="the gate's false-alarm budget, half suite, half per case")
    margin: float = Field(0.05, ge=0.0, le=1.0, description="non-inferiority margin on the mean pass-rate difference")
    noninferiority: bool = False
    goldens: str = Field("__llm_goldens__", min_length=1, description="golden folder name beside test files")
    prompts: str = Field("prompts", description="prompt registry folder")
    scripted_models: str = Field("scripted_models", description="folder of scripted/<name>.yaml files")
    report_dir: str = ".llmversion"
    openai_api: Literal["chat", "responses"] = "chat"
    candidate_recordings: Literal["none", "once", "new", "all"] | None = Field(
        None, description="recordings of the candidate's answers; default none when CI is set, else once"
    )
    timeout: float = Field(60.0, gt=0)
    concurrency: int = Field(8, ge=1, le=1024, description="live calls in flight at once, per provider")
    call_process: Literal["auto", "on", "off"] = Field(
        "auto", description="make the SDK calls in a child process; auto: long runs with a core to spare"
    )
    max_retries: int = Field(2, ge=0, le=10)
    retry_base_delay: float = Field(0.5, ge=0)
    retry_max_delay: float = Field(8.0, ge=0)
    retry_after_cap: float = Field(30.0, ge=0)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    # model governance (catalogue, pinning, deprecations, cost and latency budgets)
    allow_unpinned: bool = Field(False, description="run even when the current model or a fallback is an alias")
    allow_passthrough: bool = Field(
        False, description="let SDK calls the plugin cannot record reach the network, in runs that call models"
    )
    deprecation_warn_days: int = Field(90, ge=0, description="plan-migration warning this many days before retirement")
    deprecation_urgent_days: int = Field(30, ge=0, description="URGENT this many days before retirement")
    max_cost_increase: float | None = Field(None, gt=-100, description="percent the candidate may cost more")
    max_latency_increase: float | None = Field(None, gt=-100, description="percent the candidate p50 may be slower")
    max_token_increase: float | None = Field(None, gt=-100, description="percent more tokens the candidate may use")
    budget_usd: float | None = Field(None, gt=0, description="refuse to start when the estimated live cost is higher")
    catalog_file: str | None = Field(None, description="the project's catalogue; default <report_dir>/catalog.json")

    @field_validator("goldens", "report_dir", "catalog_file")
    @classmethod
    def _relative_folder(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a relative folder name inside the project")
        return value

    def known_providers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*BUILTIN_PROVIDERS, *self.providers)))

    def ref(self, text: str) -> ModelRef:
        return ModelRef.parse(text, self.known_providers())


#: Keys whose environment value is a comma-separated list.
_LIST_KEYS = {"fallback_models"}
#: Keys that cannot come from the environment (tables).
_TABLE_KEYS = {"providers", "catalog"}
#: ``LLMVERSION_*`` variables that are not config keys (LLMVERSION_TODAY pins the governance clock).
_NOT_CONFIG = {"today"}
#: Earlier names of keys, still read (with a deprecation warning) wherever the key may be set.
RENAMED_KEYS = {"record_mode": "candidate_recordings"}


@dataclass
class ResolvedConfig:
    """The validated config plus, for every key set anywhere, where its value came from."""

    config: LLMConfig
    sources: dict[str, str] = field(default_factory=dict)
    pyproject: Path | None = None
    #: Tables other modules own (``catalog``, ``rollout``), kept raw and validated by those modules.
    extra_tables: dict[str, Any] = field(default_factory=dict)
    #: The raw ``[tool.llmversion]`` table as read from pyproject.toml.
    table: dict[str, Any] = field(default_factory=dict)
    #: Old spellings this config used, one line each saying what to write instead.
    deprecations: list[str] = field(default_factory=list)

    def source(self, key: str) -> str:
        return self.sources.get(key, DEFAULT_SOURCE)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject_table(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tool = document.get("tool", {})
    table = tool.get("llmversion", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.llmversion] must be a table")
    return table


def env_values(environ: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    values: dict[str, tuple[Any, str]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or raw == "":
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in _TABLE_KEYS or key in _NOT_CONFIG:
            continue
        value: Any = [part.strip() for part in raw.split(",") if part.strip()] if key in _LIST_KEYS else raw
        values[key] = (value, f"environment {name}")
    return values


def load_config(
    root: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    cli: Mapping[str, tuple[Any, str]] | None = None,
    pyproject: Path | None = None,
    ini: Mapping[str, tuple[Any, str]] | None = None,
) -> ResolvedConfig:
    """Merge pyproject.toml, pytest ini options, ``LLMVERSION_*`` variables and command-line values, then validate.

    ``root`` is where to look for pyproject.toml (a str or a Path); ``cli`` maps a config key to (value, the
    option it came from), e.g. ``{"model": ("x/y", "--current-model")}``; ``ini`` likewise for the keys
    pytest's configuration file may set (``llm_allow_passthrough``).
    """
    environ = os.environ if environ is None else environ
    path = pyproject or find_pyproject(Path(root).absolute())  # "." has no parents to search until made absolute
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    extra_tables: dict[str, Any] = {}
    table: dict[str, Any] = {}
    if path is not None:
        table = read_pyproject_table(path)
        for key, value in table.items():
            if key in ("catalog", "rollout"):
                if key == "rollout" and not isinstance(value, dict):
                    raise ConfigError(
                        f"pytest-llmversion: rollout = {json.dumps(value, default=str)} in {PYPROJECT_SOURCE}: the "
                        "rollout settings are a table, "
                        "[tool.llmversion.rollout] with candidate_percent = 0, stages = [1, 10, 50, 100], ..."
                    )
                extra_tables[key] = value
                continue
            merged[key], sources[key] = value, PYPROJECT_SOURCE
    for key, (value, source) in (ini or {}).items():
        if value is not None:
            merged[key], sources[key] = value, source
    for key, (value, source) in env_values(environ).items():
        merged[key], sources[key] = value, source
    for key, (value, option) in (cli or {}).items():
        if value is not None:
            merged[key], sources[key] = value, option
    deprecations = _renamed(merged, sources)
    config = _validate(merged, sources)
    resolved = ResolvedConfig(config, sources, path, extra_tables, table, deprecations)
    _validate_models(resolved)
    return resolved


def _renamed(merged: dict[str, Any], sources: dict[str, str]) -> list[str]:
    """Read a key set under its old name as the new one (the new name wins when both are set)."""
    notes = []
    for old, new in RENAMED_KEYS.items():
        if old not in merged:
            continue
        value, source = merged.pop(old), sources.pop(old)
        if new not in merged:
            merged[new], sources[new] = value, source
        notes.append(f"{old} ({source}) is now {new}; the old name will go in a later release")
    return notes


def _validate(merged: dict[str, Any], sources: dict[str, str]) -> LLMConfig:
    try:
        return LLMConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, merged, sources)) from None


def _explain(exc: ValidationError, merged: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    key = loc[0] if loc else "?"
    source = sources.get(key, DEFAULT_SOURCE)
    dotted = ".".join(loc)
    scope: type[BaseModel] = LLMConfig if len(loc) == 1 else ProviderSettings
    if error["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(loc[-1], list(scope.model_fields), n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"pytest-llmversion: unknown key '{dotted}' in {source}{suggestion}"
    value = merged.get(key)
    for part in loc[1:]:
        value = value.get(part) if isinstance(value, Mapping) else value
    problem = str(error["msg"]).removeprefix("Value error, ")
    # literal and validator messages already say what is allowed
    says_allowed = error["type"] in ("literal_error", "value_error")
    allowed = allowed_values(scope, loc[-1]) if len(loc) in (1, 3) and not says_allowed else None
    return f"pytest-llmversion: {dotted} = {value!r} from {source} is invalid: {problem}" + (
        f"; allowed: {allowed}" if allowed else ""
    )


#: What a key accepts, where its type alone would not say it well.
_ALLOWED_TEXT = {
    "model": "'provider/model-id', e.g. 'openai/gpt-4o-2024-08-06'",
    "candidate_model": "'provider/model-id', e.g. 'openai/gpt-4o-2024-11-20'",
    "judge_model": "'provider/model-id', e.g. 'openai/gpt-4o-mini-2024-07-18'",
    "embedding_model": "'provider/model-id', e.g. 'openai/text-embedding-3-small'",
    "fallback_models": "a list of 'provider/model-id' strings",
    "goldens": "a relative folder name inside the project",
    "report_dir": "a relative folder name inside the project",
}


def allowed_values(model: type[BaseModel], name: str) -> str | None:
    """A short description of what ``name`` accepts, from its type and bounds: 'a number from 0 to 2'."""
    if model is LLMConfig and name in _ALLOWED_TEXT:
        return _ALLOWED_TEXT[name]
    field_info = model.model_fields.get(name)
    if field_info is None:
        return None
    annotation: Any = field_info.annotation
    if get_origin(annotation) in (Union, UnionType):
        annotation = next((arg for arg in get_args(annotation) if arg is not type(None)), annotation)
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(arg) for arg in get_args(annotation))
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        bounds = {type(m).__name__.lower(): getattr(m, type(m).__name__.lower()) for m in field_info.metadata}
        noun = "a whole number" if annotation is int else "a number"
        if "ge" in bounds and "le" in bounds:
            return f"{noun} from {bounds['ge']:g} to {bounds['le']:g}"
        limits = [f"{word} {bounds[key]:g}" for key, word in (("ge", ">="), ("gt", ">"), ("le", "<=")) if key in bounds]
        return f"{noun} {' and '.join(limits)}" if limits else noun
    if annotation is str:
        return "a string"
    if get_origin(annotation) is list:
        return "a list of strings"
    return None


def _validate_models(resolved: ResolvedConfig) -> None:
    config = resolved.config
    keys: list[tuple[str, str | None]] = [("model", config.model), ("candidate_model", config.candidate_model)]
    keys += [("judge_model", config.judge_model), ("embedding_model", config.embedding_model)]
    keys += [("fallback_models", ref) for ref in config.fallback_models]
    for key, text in keys:
        if text is None:
            continue
        try:
            config.ref(text)
        except ModelRefError as exc:
            raise ConfigError(f"pytest-llmversion: {key} from {resolved.source(key)}: {exc}") from None
    for name, settings in config.providers.items():
        if name in BUILTIN_PROVIDERS and settings.kind not in (None, name):
            raise ConfigError(
                f"pytest-llmversion: providers.{name} from {PYPROJECT_SOURCE}: a built-in provider keeps its own "
                f"kind; name the endpoint differently to use kind = {settings.kind!r}"
            )
        if name not in BUILTIN_PROVIDERS and settings.kind is None:
            raise ConfigError(
                f'pytest-llmversion: providers.{name} from {PYPROJECT_SOURCE} needs kind = "openai" '
                f"(or anthropic, gemini) to say which wire protocol the endpoint speaks"
            )


def config_hash(table: Mapping[str, Any]) -> str:
    """Identifies the ``[tool.llmversion]`` a report was made with (the candidate aside)."""
    kept = {k: v for k, v in table.items() if k not in ("candidate_model", "previous_model")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]
