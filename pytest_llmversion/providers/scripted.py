"""``scripted/<name>``: a deterministic fake model configured by ``<scripted_models>/<name>.yaml``.

Rules match on the prompt and answer from a template, with text, tool calls (``tool_calls: [{name,
arguments}]``, templated like ``respond``) or both. A file can ``extends`` another model and
replace some of its rules by name, or transform every answer (wrap JSON in a code fence, drop or
rename a field, add chatty prose, truncate), which is how a version change is imitated offline.
Randomness is seeded per (seed, request fingerprint, sample index), so a replay is exact and
samples differ. Errors can be injected on a schedule to exercise retries and fallbacks.

The calls around completions are answered too: embeddings are deterministic feature-hashed unit vectors
(texts that share words point the same way), token counts are characters / ``chars_per_token``, and a
model lookup describes the model (``model_info`` adds fields).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pytest_llmversion.providers.base import (
    ERROR_KINDS,
    Completion,
    ProviderError,
    RateLimited,
    Request,
    ToolCall,
    Unavailable,
    Usage,
    float32_vector,
)
from pytest_llmversion.yamlio import YamlFileError, load_yaml_file


class ScriptError(ProviderError):
    """A scripted model file that cannot be used; names the file and the rule."""

    kind = "script_error"


class Match(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contains: str | None = None
    user_contains: str | None = None
    system_contains: str | None = None
    regex: str | None = None
    any: list[Match] | None = None
    all: list[Match] | None = None
    #: None of these match (e.g. the prompt version that fixes a behaviour).
    none: list[Match] | None = None
    param: dict[str, Any] | None = None
    #: The conversation's latest turn is a result of this tool (what a model answers after calling it).
    tool_result: str | None = None
    #: The request offers a tool of this name.
    tool_offered: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def matches(self, request: Request) -> dict[str, str] | None:
        """Captured groups (possibly empty) when the request matches, else None."""
        captured: dict[str, str] = {}
        text_all = "\n".join(m.content for m in request.messages).lower()
        if self.contains is not None and self.contains.lower() not in text_all:
            return None
        if self.user_contains is not None and self.user_contains.lower() not in request.last_user.lower():
            return None
        if self.system_contains is not None and self.system_contains.lower() not in (request.system or "").lower():
            return None
        if self.param is not None and any(request.params.get(k) != v for k, v in self.param.items()):
            return None
        if self.tool_result is not None and not any(m.name == self.tool_result for m in request.tool_results()):
            return None
        if self.tool_offered is not None and not any(t.name == self.tool_offered for t in request.tools):
            return None
        if self.none is not None and any(sub.matches(request) is not None for sub in self.none):
            return None
        if self.regex is not None:
            found = re.search(self.regex, request.last_user, re.DOTALL)
            if found is None:
                return None
            captured.update({k: v for k, v in found.groupdict().items() if v is not None})
        if self.all is not None:
            for sub in self.all:
                got = sub.matches(request)
                if got is None:
                    return None
                captured.update(got)
        if self.any is not None:
            for sub in self.any:
                got = sub.matches(request)
                if got is not None:
                    captured.update(got)
                    break
            else:
                return None
        return captured


class Transform(BaseModel):
    """Edits applied to an answer: JSON field edits, then truncation, fence, prefix and suffix."""

    model_config = ConfigDict(extra="forbid")

    drop_fields: list[str] = Field(default_factory=list)
    rename_fields: dict[str, str] = Field(default_factory=dict)
    set_fields: dict[str, Any] = Field(default_factory=dict)
    truncate: int | None = Field(None, ge=0)
    fence: bool | str = False
    prefix: str = ""
    suffix: str = ""

    def apply(self, text: str) -> tuple[str, str | None]:
        """The edited text and, when truncated, the finish reason ``length``."""
        finish: str | None = None
        if self.drop_fields or self.rename_fields or self.set_fields:
            text = self._edit_json(text)
        if self.truncate is not None and len(text) > self.truncate:
            text, finish = text[: self.truncate], "length"
        if self.fence:
            lang = self.fence if isinstance(self.fence, str) else ""
            text = f"```{lang}\n{text}\n```"
        return f"{self.prefix}{text}{self.suffix}", finish

    def _edit_json(self, text: str) -> str:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return text
        if not isinstance(data, dict):
            return text
        for name in self.drop_fields:
            data.pop(name, None)
        for old, new in self.rename_fields.items():
            if old in data:
                data[new] = data.pop(old)
        data.update(self.set_fields)
        return json.dumps(data, ensure_ascii=False)


class ErrorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["rate_limited", "unavailable", "auth", "bad_request", "model_not_found", "malformed_response"]
    message: str | None = None
    retry_after: float | None = Field(None, ge=0)
    #: Fail the first ``times`` matching calls, then answer.
    times: int | None = Field(None, ge=1)
    #: Fail every n-th matching call.
    every: int | None = Field(None, ge=1)
    #: Fail this fraction of matching calls (seeded).
    probability: float | None = Field(None, ge=0, le=1)


class ToolCallSpec(BaseModel):
    """A tool call a rule answers with; string values in ``arguments`` are templates, and ``arguments`` given as
    text is sent as it is (text that is not JSON imitates a model sending broken arguments)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)


class EmbeddingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Length of each vector, unless the request asks for another.
    dimensions: int = Field(8, ge=1, le=8192)


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(1.0, gt=0)
    respond: str
    transform: Transform | None = None


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    when: Match = Field(default_factory=Match)
    respond: str | None = None
    choices: list[Choice] | None = None
    tool_calls: list[ToolCallSpec] | None = None
    transform: Transform | None = None
    error: ErrorSpec | None = None
    usage: dict[str, int] | None = None
    latency_ms: float | None = Field(None, ge=0)
    finish_reason: str | None = None

    @model_validator(mode="after")
    def _one_answer(self) -> Rule:
        answers = sum(x is not None for x in (self.respond, self.choices))
        if answers > 1:
            raise ValueError("give either respond or choices, not both")
        if answers == 0 and self.error is None and not self.tool_calls:
            raise ValueError("a rule needs respond, choices, tool_calls or error")
        return self


class ScriptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    synthetic: bool = True
    description: str = ""
    served_as: str | None = None
    extends: str | None = None
    seed: int = 0
    latency_ms: float = Field(0.0, ge=0)
    latency_jitter_ms: float = Field(0.0, ge=0)
    sleep: bool = False
    chars_per_token: float = Field(4.0, gt=0)
    transform: Transform | None = None
    rules: list[Rule] = Field(default_factory=list)
    default: Rule | None = None
    embedding: EmbeddingSpec = Field(default_factory=EmbeddingSpec)
    #: Fields a model lookup answers with, besides the id (e.g. ``lifecycle: deprecated``).
    model_info: dict[str, Any] = Field(default_factory=dict)


Match.model_rebuild()


def _explain(exc: ValidationError) -> str:
    """The first problem as ``rules.0.when.regex: what is wrong``, with a suggestion for a misspelt key."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], known, n=1)
        return f"{where}: unknown key" + (f" (did you mean '{hint[0]}'?)" if hint else f"; allowed: {', '.join(known)}")
    return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"


def _known_keys(parents: list[str]) -> list[str]:
    """The keys allowed at ``parents`` (a location such as ``rules.0.when``) of a script file."""
    model: type[BaseModel] = ScriptFile
    for part in parents:
        if part.isdigit():
            continue
        field_info = model.model_fields.get(part)
        nested = [arg for arg in _type_args(field_info.annotation if field_info else None) if _is_model(arg)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _type_args(annotation: Any) -> list[Any]:
    args = [annotation]
    for arg in get_args(annotation):
        args += _type_args(arg)
    return args


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill ``{{name}}`` (raw) and ``{{name|json}}`` (JSON string literal) placeholders; ``{{result.field}}`` is a
    field of the latest tool result."""

    def fill(match: re.Match[str]) -> str:
        name, as_json = match.group(1), match.group(2)
        value = variables.get(name, "")
        return json.dumps(value, ensure_ascii=False) if as_json else value

    return re.sub(r"\{\{\s*([\w.]+)\s*(\|\s*json)?\s*\}\}", fill, template)


def _render_value(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, Mapping):
        return {k: _render_value(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, variables) for v in value]
    return value


def _result_variables(request: Request) -> dict[str, str]:
    """``tool_result`` (the latest result's text) and ``result.<field>`` for each field of it, when it is JSON."""
    results = request.tool_results()
    if not results:
        return {}
    text = results[-1].content
    variables = {"tool_result": text}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return variables
    if isinstance(data, dict):
        for key, value in data.items():
            variables[f"result.{key}"] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return variables


def embed(model: str, text: str, dimensions: int) -> tuple[float, ...]:
    """A unit vector for ``text``: the sum of one seeded random direction per word (feature hashing), so texts
    that share words are close. The same for every scripted model: the embedding model named decides it."""
    totals = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()) or [""]:
        rng = random.Random(hashlib.sha256(f"{model}:{word}".encode()).digest())
        for i in range(dimensions):
            totals[i] += rng.gauss(0.0, 1.0)
    norm = math.sqrt(sum(x * x for x in totals)) or 1.0
    return float32_vector(x / norm for x in totals)


class ScriptedProvider:
    """All scripted models of one project; answers ``scripted/<name>`` from ``<folder>/<name>.yaml``."""

    def __init__(self, folder: Path, root: Path | None = None) -> None:
        self.folder = folder
        #: Paths in messages are shown relative to this (the project folder).
        self.root = root
        self._scripts: dict[str, tuple[ScriptFile, list[Rule]]] = {}
        self._defined: dict[str, Mapping[str, Any]] = {}
        self._counters: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def define(self, name: str, script: Mapping[str, Any]) -> None:
        """Add (or replace) a model from a mapping shaped like a scripted YAML file, e.g. for the emulator."""
        with self._lock:
            self._defined[name] = dict(script)
            self._scripts.clear()  # a model that extends this one must see the new rules
        try:
            self.script(name)  # validate now, so a bad rule fails where it was given
        except ScriptError:
            with self._lock:
                del self._defined[name]
            raise

    def has(self, name: str) -> bool:
        return name in self._defined or (self.folder / f"{name}.yaml").is_file()

    def script(self, name: str) -> tuple[ScriptFile, list[Rule]]:
        if name not in self._scripts:
            self._scripts[name] = self._load(name, ())
        return self._scripts[name]

    def _shown(self, path: Path) -> str:
        if self.root is not None and path.is_relative_to(self.root):
            return str(path.relative_to(self.root))
        return str(path)

    def _load(self, name: str, chain: tuple[str, ...]) -> tuple[ScriptFile, list[Rule]]:
        path = self.folder / f"{name}.yaml"
        shown = self._shown(path)
        if name in chain:
            raise ScriptError(f"{shown}: 'extends' loops back to {name!r} ({' -> '.join((*chain, name))})")
        if name in self._defined:
            raw: Any = self._defined[name]
            shown = f"<scripted model {name!r} given in code>"
        elif not path.is_file():
            known = sorted(p.stem for p in self.folder.glob("*.yaml")) if self.folder.is_dir() else []
            raise ScriptError(
                f"scripted model {name!r} has no file {shown}"
                + (f" (scripted models here: {', '.join(known)})" if known else "")
            )
        else:
            try:
                raw = load_yaml_file(path)
            except YamlFileError as exc:
                raise ScriptError(str(exc).replace(str(path), shown, 1)) from None
        try:
            script = ScriptFile.model_validate(raw if raw is not None else {})
        except ValidationError as exc:
            raise ScriptError(f"{shown}: {_explain(exc)}") from None
        rules = list(script.rules)
        if script.extends:
            parent, parent_rules = self._load(script.extends, (*chain, name))
            own = {rule.name: rule for rule in rules if rule.name}
            inherited = [own.pop(rule.name, rule) if rule.name else rule for rule in parent_rules]
            fresh = [rule for rule in rules if not rule.name or rule.name in own]
            rules = fresh + inherited
            if script.default is None:
                script = script.model_copy(update={"default": parent.default})
            if script.transform is None and parent.transform is not None and "transform" not in (raw or {}):
                script = script.model_copy(update={"transform": parent.transform})
        return script, rules

    def models(self) -> list[str]:
        """Every model this provider can answer as: those given in code and the folder's files."""
        files = {p.stem for p in self.folder.glob("*.yaml")} if self.folder.is_dir() else set()
        return sorted(files | set(self._defined))

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
        if request.kind == "model_list":
            infos = [{"id": name} for name in self.models()]
            return Completion("", model_id, model_id, kind="model_list", model_info=infos)
        script, rules = self.script(model_id)
        if request.kind != "completion":
            return self._around(script, request, model_id)
        rng = random.Random(f"{script.seed}:{request.fingerprint()}:{sample_index}")
        variables = {"input": request.last_user} | _result_variables(request)
        chosen: Rule | None = None
        chosen_index = -1
        for index, rule in enumerate(rules):
            captured = rule.when.matches(request)
            if captured is not None:
                chosen, chosen_index = rule, index
                variables.update(captured)
                break
        if chosen is None:
            chosen = script.default
        if chosen is None:
            raise ProviderError(
                f"scripted/{model_id}: no rule matches and there is no default "
                f"(last user message: {request.last_user[:80]!r})",
                model=f"scripted/{model_id}",
            )
        if chosen.error is not None:
            self._maybe_fail(model_id, chosen_index, chosen.error, rng)
            if chosen.respond is None and chosen.choices is None:
                raise self._error(model_id, chosen.error)
        text, transform = self._answer(chosen, rng)
        text = render(text, variables)
        calls = self._tool_calls(chosen, variables, request, sample_index)
        finish_reason = chosen.finish_reason or ("tool_calls" if calls else "stop")
        for step in (transform, chosen.transform, script.transform):
            if step is not None and (text or not calls):  # a transform edits text; a call alone has none
                text, finish = step.apply(text)
                finish_reason = finish or finish_reason
        latency = chosen.latency_ms if chosen.latency_ms is not None else script.latency_ms
        latency += rng.uniform(0, script.latency_jitter_ms) if script.latency_jitter_ms else 0.0
        if script.sleep and latency:
            time.sleep(latency / 1000)
        return Completion(
            text=text,
            model_requested=model_id,
            model_served=script.served_as or model_id,
            usage=self._usage(script, chosen, request, text + "".join(c.arguments_json for c in calls)),
            latency_ms=round(latency, 1),
            finish_reason=finish_reason,
            tool_calls=calls,
        )

    @staticmethod
    def _tool_calls(
        rule: Rule, variables: Mapping[str, str], request: Request, sample_index: int
    ) -> tuple[ToolCall, ...]:
        calls = []
        for index, spec in enumerate(rule.tool_calls or ()):
            # an id like a provider's, and the same on every replay of this request and sample
            seed = f"{request.fingerprint()}:{sample_index}:{index}"
            call_id = "call_" + hashlib.sha256(seed.encode()).hexdigest()[:16]
            if isinstance(spec.arguments, str):
                calls.append(ToolCall.from_text(call_id, spec.name, render(spec.arguments, variables)))
            else:
                calls.append(ToolCall(call_id, spec.name, _render_value(spec.arguments, variables)))
        return tuple(calls)

    def _around(self, script: ScriptFile, request: Request, model_id: str) -> Completion:
        """Embeddings, token counts and model lookups: no rules, the same answer every time."""
        served = script.served_as or model_id
        answer = Completion("", model_id, served, kind=request.kind)
        chars = sum(
            len(m.content) + sum(len(c.name) + len(c.arguments_json) for c in m.tool_calls) for m in request.messages
        )
        chars += sum(len(text) for text in request.inputs)
        chars += len(json.dumps([t.to_dict() for t in request.tools])) if request.tools else 0
        tokens = max(1, int(chars // script.chars_per_token))
        if request.kind == "embedding":
            dimensions = int(request.params.get("dimensions") or script.embedding.dimensions)
            named = (request.model or "").partition("/")[2] or model_id  # the model's id, whichever API asked
            vectors = tuple(embed(named, text, dimensions) for text in request.inputs)
            return replace(answer, embeddings=vectors, usage=Usage(input_tokens=tokens))
        if request.kind == "count_tokens":
            return replace(answer, token_count=tokens)
        return replace(answer, model_info={"id": served} | script.model_info)

    @staticmethod
    def _answer(rule: Rule, rng: random.Random) -> tuple[str, Transform | None]:
        if rule.choices:
            pick = rng.choices(rule.choices, weights=[c.weight for c in rule.choices])[0]
            return pick.respond, pick.transform
        return rule.respond or "", None

    def _maybe_fail(self, model_id: str, index: int, spec: ErrorSpec, rng: random.Random) -> None:
        with self._lock:
            count = self._counters.get((model_id, index), 0) + 1
            self._counters[(model_id, index)] = count
        fail = spec.times is None and spec.every is None and spec.probability is None
        fail = fail or (spec.times is not None and count <= spec.times)
        fail = fail or (spec.every is not None and count % spec.every == 0)
        fail = fail or (spec.probability is not None and rng.random() < spec.probability)
        if fail:
            raise self._error(model_id, spec)

    @staticmethod
    def _error(model_id: str, spec: ErrorSpec) -> ProviderError:
        ref = f"scripted/{model_id}"
        message = spec.message or f"{ref}: injected {spec.kind.replace('_', ' ')}"
        cls = ERROR_KINDS[spec.kind]
        if cls in (RateLimited, Unavailable):
            return cls(message, model=ref, retry_after=spec.retry_after)
        return cls(message, model=ref)

    @staticmethod
    def _usage(script: ScriptFile, rule: Rule, request: Request, text: str) -> Usage:
        def estimate(chars: int) -> int:
            return max(1, math.ceil(chars / script.chars_per_token))

        given = rule.usage or {}
        prompt_chars = sum(len(m.content) for m in request.messages)
        return Usage(
            input_tokens=given.get("input_tokens", estimate(prompt_chars)),
            output_tokens=given.get("output_tokens", estimate(len(text))),
            cached_tokens=given.get("cached_tokens", 0),
        )
