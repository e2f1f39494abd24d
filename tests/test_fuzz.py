"""Fuzzing: whatever a user writes, only the plugin's own errors (``LLMVersionError``, one line each) come out.

Generated ``[tool.llmversion]`` tables, cases files, goldens, prompt registries, catalogue entries and marker
arguments go through the public loaders, then through what a run does with what they loaded; a sample of
them goes through a real pytest run, which must never end in INTERNALERROR or a traceback of the plugin's.
``make test`` runs the ``ci`` profile (a few dozen examples each); ``make fuzz`` the ``fuzz`` profile
(thousands). Profiles: tests/conftest.py.
"""

from __future__ import annotations

import json
import math
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import tomlkit
import yaml
from conftest import LLMProject
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_llmversion.config import LLMConfig, load_config
from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.governance.catalog import OVERRIDE_FIELDS, load_catalog, parse_catalog, pin_status
from pytest_llmversion.governance.cost import price_of
from pytest_llmversion.governance.deprecation import lifecycle
from pytest_llmversion.governance.startup import load as load_project_catalog
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import PromptRegistry
from pytest_llmversion.rollout import Rollout
from pytest_llmversion.run.cases import load_cases
from pytest_llmversion.run.goldens import load_golden
from pytest_llmversion.run.marker import parse_marker

pytestmark = pytest.mark.fuzz

#: Runs of pytest are slower than loader calls: a tenth of the profile's examples, at least ten.
PYTEST_RUNS = max(10, settings.default.max_examples // 10)

# -- values as TOML, YAML and JSON can spell them ------------------------------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24)
odd_floats = st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324])
numbers = st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=True, allow_infinity=True) | odd_floats
scalars = st.booleans() | numbers | text | st.dates() | st.datetimes() | st.times()
toml_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8
)
#: Model references, well-formed and not.
refs = st.sampled_from(
    ["scripted/m1", "openai/gpt-4o-2024-08-06", "openai/gpt-4o", "gemini/gemini-2.5-flash", "x", "", "/", "a/", "ft:x"]
) | st.builds(lambda p, m: f"{p}/{m}", st.sampled_from(["openai", "anthropic", "scripted", "corp"]), text)
config_keys = st.sampled_from([*LLMConfig.model_fields, "catalog", "rollout", "providers"]) | text


def toml_document(table: dict[str, Any]) -> str | None:
    try:
        return tomlkit.dumps({"tool": {"llmversion": table}})
    except Exception:  # a value TOML has no spelling for (tomlkit's own errors vary by version)
        return None


@st.composite
def llmversion_tables(draw: st.DrawFn) -> dict[str, Any]:
    table: dict[str, Any] = {"model": draw(refs)} if draw(st.booleans()) else {}
    for key in draw(st.lists(config_keys, max_size=4, unique=True)):
        table[key] = draw(refs if key in ("model", "candidate_model") else toml_values)
    if draw(st.booleans()):
        table["catalog"] = draw(st.dictionaries(refs, catalog_entries(), max_size=2) | toml_values)
    if draw(st.booleans()):
        table["rollout"] = draw(st.dictionaries(st.sampled_from(ROLLOUT_KEYS) | text, toml_values, max_size=3))
    return table


ROLLOUT_KEYS = ["candidate_percent", "stages", "metrics", "store", "salt", "alpha", "min_calls", "store_text"]


def catalog_entries() -> st.SearchStrategy[dict[str, Any]]:
    fields = st.sampled_from([*OVERRIDE_FIELDS, "sources", "as_of", "origin"]) | text
    dated = st.dates().map(date.isoformat)
    values = toml_values | dated | refs | st.lists(st.sampled_from(["temperature", "seed", "top_p", "x"]), max_size=2)
    return st.dictionaries(fields, values, max_size=4)


def as_yaml(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return "[]"


#: YAML that plain data never gives: tags, aliases, odd scalars, broken syntax, conflict markers.
yaml_oddities = st.sampled_from(
    [
        "!!binary aGVsbG8=",
        "!!binary /w==",
        "!!set {a, b}",
        "2024-01-01",
        "2024-01-01T10:00:00Z",
        ".nan",
        "-.inf",
        "~",
        "&a [*a]",
        "[unclosed",
        "{a: 1, a: 2}",
        '"\\uD800"',
        "? [complex, key]\n: value",
        "<<<<<<< HEAD",
        "\t- tab",
    ]
)


def with_oddity(draw: st.DrawFn, body: str) -> str:
    """``body`` with one line's value replaced by an oddity, sometimes."""
    lines = body.splitlines()
    if not lines or not draw(st.booleans()):
        return body
    index = draw(st.integers(0, len(lines) - 1))
    head, sep, _ = lines[index].partition(": ")
    lines[index] = f"{head}{sep or ': '}{draw(yaml_oddities)}"
    return "\n".join(lines) + "\n"


def file_bytes(draw: st.DrawFn, body: str) -> bytes:
    """``body`` encoded as UTF-8 (usually), Latin-1, UTF-16, or as random bytes."""
    how = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "utf-16", "random"]))
    if how == "random":
        return draw(st.binary(max_size=64))
    return body.encode(how, "replace")


# -- [tool.llmversion] -----------------------------------------------------------------------------------


@given(table=llmversion_tables(), raw=st.none() | text)
def test_any_llmversion_table_loads_or_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, table: Any, raw: Any
) -> None:
    root = tmp_path_factory.mktemp("config")
    document = raw if raw is not None else toml_document(table)
    assume(document is not None)
    (root / "pyproject.toml").write_text(document, encoding="utf-8")
    try:
        resolved = load_config(root, environ={})
        load_project_catalog(resolved, root)
        Rollout.from_table(resolved.extra_tables.get("rollout"))
    except LLMVersionError as exc:
        assert_one_line(exc)


@given(values=st.dictionaries(st.sampled_from(["model", "samples", "timeout", "budget_usd", "margin"]), text))
def test_any_environment_value_loads_or_is_one_line(values: dict[str, str]) -> None:
    environ = {f"LLMVERSION_{key.upper()}": value for key, value in values.items()}
    try:
        load_config(Path("/nonexistent-llmversion-root"), environ=environ)
    except LLMVersionError as exc:
        assert_one_line(exc)


# -- cases files -----------------------------------------------------------------------------------------

case_values = st.recursive(scalars | st.none(), lambda inner: st.lists(inner, max_size=3), max_leaves=4)


@st.composite
def cases_files(draw: st.DrawFn) -> tuple[str, bytes]:
    keys = st.sampled_from(["id", "input", "expected", "tags", "notes"]) | text
    cases = draw(st.lists(st.dictionaries(keys, case_values, max_size=4) | case_values, max_size=4))
    suffix = draw(st.sampled_from([".yaml", ".json"]))
    body = json.dumps(cases, default=str) if suffix == ".json" else with_oddity(draw, as_yaml(cases))
    return suffix, file_bytes(draw, body)


@given(case=cases_files())
def test_any_cases_file_loads_or_is_one_line(tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bytes]) -> None:
    path = tmp_path_factory.mktemp("cases") / f"cases{case[0]}"
    path.write_bytes(case[1])
    try:
        loaded = load_cases(path)
    except LLMVersionError as exc:
        assert_one_line(exc)
    else:
        for item in loaded:  # what a test reads from llm_case
            assert (item.id, item["input"], item.tags) is not None


# -- goldens ---------------------------------------------------------------------------------------------

GOLDEN = """\
schema: 1
test: tests/test_llm.py::test_extracts_city
model: scripted/m1
prompt: {task: t, version: v1, hash: abc}
request:
  messages:
  - role: user
    content: Ada Lovelace was born in London.
  params:
    max_tokens: 1024
    temperature: 0.0
fingerprint: sha256:2d8f91402042a9ae
samples:
- score: 1.0
  passed: true
  checks:
  - {name: valid_json, kind: format, passed: true, score: 1.0}
  usage: {input_tokens: 8, output_tokens: 11}
  parsed: {city: London}
  output: '{"name": "Ada Lovelace", "city": "London"}'
  calls:
  - fingerprint: sha256:0000000000000000
    request: {messages: [{role: user, content: again}]}
    usage: {input_tokens: 1}
    output: again
"""


@st.composite
def golden_files(draw: st.DrawFn) -> bytes:
    data = yaml.safe_load(GOLDEN)
    for _ in range(draw(st.integers(0, 3))):
        node, key = _random_place(draw, data)
        if draw(st.booleans()):
            node[key] = draw(case_values | st.dictionaries(text, case_values, max_size=2))
        elif isinstance(node, dict):
            del node[key]
    body = with_oddity(draw, as_yaml(data))
    return file_bytes(draw, body)


def _random_place(draw: st.DrawFn, data: Any) -> tuple[Any, Any]:
    node, key = data, draw(st.sampled_from(sorted(data)))
    while isinstance(node[key], dict | list) and node[key] and draw(st.booleans()):
        node = node[key]
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
    return node, key


@given(content=golden_files())
def test_any_golden_loads_and_replays_or_is_one_line(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    folder = tmp_path_factory.mktemp("golden")
    path = folder / "test_extracts_city.yaml"
    path.write_bytes(content)
    try:
        golden = load_golden(path, cache=folder / "cache")
        golden_again = load_golden(path, cache=folder / "cache")  # the second read comes from the cache
    except LLMVersionError as exc:
        assert_one_line(exc)
        return
    assert golden is not None
    assert repr(golden_again) == repr(golden)  # repr: a nan (YAML .nan) is never equal to itself
    for sample in range(len(golden.samples) + 1):  # what a replay asks of it, one past the end included
        for call in range(golden.calls_per_sample(sample)):
            golden.recorded_call(sample, call)
            golden.request_edited(sample, call)


# -- prompt registries -----------------------------------------------------------------------------------


@st.composite
def registries(draw: st.DrawFn) -> dict[str, bytes]:
    version = st.dictionaries(
        st.sampled_from(["default", "tuned_for", "system", "user", "params", "notes"]) | text,
        case_values | st.dictionaries(text, case_values, max_size=2),
        max_size=4,
    )
    files = {}
    for name in draw(st.lists(st.sampled_from(["triage", "reply", "Triage", "x y"]), max_size=2, unique=True)):
        body: Any = {"versions": draw(st.dictionaries(text, version, max_size=2))}
        if draw(st.booleans()):
            body["task"] = draw(case_values)
        files[f"{name}.yaml"] = file_bytes(draw, with_oddity(draw, as_yaml(body)))
    return files


@given(files=registries(), variables=st.dictionaries(text, case_values, max_size=2))
def test_any_prompt_registry_loads_and_renders_or_is_one_line(
    tmp_path_factory: pytest.TempPathFactory, files: dict[str, bytes], variables: dict[str, Any]
) -> None:
    root = tmp_path_factory.mktemp("registry")
    (root / "prompts").mkdir()
    for name, content in files.items():
        (root / "prompts" / name).write_bytes(content)
    try:
        registry = PromptRegistry.load("prompts", root)
        registry.problems(known_model=lambda ref: None)
        for task in registry.tasks:
            registry.resolve(task, ModelRef("openai", "gpt-4o-2024-08-06")).render(variables)
    except LLMVersionError as exc:
        assert_one_line(exc)


python_registries = st.recursive(
    case_values, lambda inner: st.dictionaries(text | st.integers(), inner, max_size=3), max_leaves=8
)


@given(registry=python_registries | st.sampled_from(["json:dumps", ":", "os:sep", "..x:y", "no.such.module:X"]))
def test_any_python_registry_loads_or_is_one_line(registry: Any) -> None:
    try:
        if isinstance(registry, str):
            PromptRegistry.load(registry, Path("/nonexistent-llmversion-root"))
        else:
            PromptRegistry.from_value(registry, "app.prompts:PROMPTS")
    except LLMVersionError as exc:
        assert_one_line(exc)


# -- catalogue entries -------------------------------------------------------------------------------------


@given(
    models=st.dictionaries(refs, catalog_entries() | case_values, max_size=3),
    provenance=st.none() | case_values | st.dictionaries(st.sampled_from(["litellm", "generated"]), case_values),
    raw=st.none() | text,
)
def test_any_catalogue_file_loads_and_prices_or_is_one_line(models: Any, provenance: Any, raw: Any) -> None:
    document = {"schema": 1, "models": models, **({"provenance": provenance} if provenance is not None else {})}
    try:
        catalog = parse_catalog(raw if raw is not None else json.dumps(document, default=str), "catalog.json")
    except LLMVersionError as exc:
        assert_one_line(exc)
        return
    use_catalog(catalog, list(models))


@given(overrides=st.dictionaries(refs, catalog_entries(), max_size=3) | toml_values)
def test_any_catalogue_override_loads_and_prices_or_is_one_line(overrides: Any) -> None:
    try:
        catalog = load_catalog(None, overrides)
    except LLMVersionError as exc:
        assert_one_line(exc)
        return
    use_catalog(catalog, list(overrides) if isinstance(overrides, dict) else [])


def use_catalog(catalog: Any, refs: list[str]) -> None:
    """What a run does with each entry: pinning, lifecycle (successors, aliases), prices."""
    for ref in refs:
        if not isinstance(ref, str) or "/" not in ref.strip("/"):
            continue
        provider, _, model_id = ref.partition("/")
        pin_status(ModelRef(provider, model_id), catalog)
        lifecycle(ref, catalog, date(2026, 11, 24))
        price = price_of(catalog, ref)
        if price is not None:
            assert math.isfinite(price.cost({"input_tokens": 1000, "output_tokens": 1000}))


# -- marker arguments --------------------------------------------------------------------------------------

marker_values = case_values | st.dictionaries(text, case_values, max_size=2) | odd_floats
MARKER_KEYS = ["tags", "cases", "tolerance", "samples", "threshold"]


@given(
    args=st.lists(marker_values, max_size=1),
    kwargs=st.dictionaries(
        st.sampled_from(["tags", "cases", "tolerance", "samples", "threshold"]) | text, marker_values
    ),
)
def test_any_marker_arguments_parse_or_are_one_line(args: list[Any], kwargs: dict[str, Any]) -> None:
    try:
        parse_marker("tests/test_x.py::test_y", args, kwargs)
    except LLMVersionError as exc:
        assert_one_line(exc)


# -- through a real pytest run -----------------------------------------------------------------------------

CASES_TEST = """\
import pytest

@pytest.mark.llm_regression({marker})
def test_extracts_city(llm, llm_golden):
    llm_golden.check(llm.complete("Ada Lovelace was born in London."))
"""


def py_literal(value: Any) -> str:
    """``value`` as Python source (``repr`` writes nan and inf as bare names)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, date):
        return f"{value!r}".replace("datetime.", "__import__('datetime').")
    return repr(value)


@st.composite
def projects(draw: st.DrawFn) -> dict[str, Any]:
    table = {"model": "scripted/m1", "scripted_models": "models"}
    if draw(st.booleans()):
        table |= draw(llmversion_tables())
    marker = draw(
        st.dictionaries(
            st.sampled_from(["tags", "cases", "tolerance", "samples", "threshold"]), marker_values, max_size=2
        )
    )
    if draw(st.booleans()):
        marker["cases"] = "cases.yaml"
    return {
        "pyproject": toml_document(table),
        "marker": ", ".join(f"{key}={py_literal(value)}" for key, value in marker.items()),
        "cases": draw(cases_files())[1],
        "golden": draw(golden_files()),
        "args": draw(st.sampled_from([[], ["--llm-record"], ["--candidate-model=scripted/m1b"], ["--llm-live"]])),
    }


# one project folder for all examples: each example writes every file the run reads
@settings(max_examples=PYTEST_RUNS, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(project=projects())
def test_any_project_runs_to_a_verdict_or_stops_with_one_line(llm_project: LLMProject, project: dict[str, Any]) -> None:
    assume(project["pyproject"] is not None)
    root = llm_project.path
    (root / "pyproject.toml").write_text(project["pyproject"], encoding="utf-8")
    llm_project.model("m1b", "extends: m1\n")
    llm_project.test_file(CASES_TEST.format(marker=project["marker"]))
    (root / "tests" / "cases.yaml").write_bytes(project["cases"])
    golden = llm_project.golden("test_llm/test_extracts_city.yaml")
    golden.parent.mkdir(parents=True, exist_ok=True)
    golden.write_bytes(project["golden"])
    result = llm_project.run(*project["args"])
    shown = "\n".join(result.outlines + result.errlines)
    assert result.ret != pytest.ExitCode.INTERNAL_ERROR, shown
    assert "INTERNALERROR" not in shown
    assert "Traceback (most recent call last)" not in shown, shown
    assert "pytest_llmversion/" not in shown.replace("pytest_llmversion/testing", ""), shown  # no frame of ours


def assert_one_line(error: BaseException) -> None:
    message = str(error)
    assert message.strip(), f"{type(error).__name__} with no message"
    assert "\n" not in message.strip(), textwrap.shorten(message, 400)
