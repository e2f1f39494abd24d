"""The prompt registry: prompts per task, versioned, each version naming the models it was tuned for.

``prompts/<task>.yaml``::

    versions:
      v1:
        default: true
        tuned_for: [openai/gpt-4o-2024-08-06]
        system: You triage support tickets.
        user: "Ticket: {{ticket}}"
        params: {temperature: 0}

Resolution for a model: the version tuned for exactly that model, else the one default; never "the
last one in the file". Templates use ``{{name}}`` placeholders filled by safe substitution: no code
runs, a missing or an unused variable is an error. A Python dict of task -> model -> prompt (the
shape teams write by hand) is accepted too.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import PARAM_NAMES, Message
from pytest_llmversion.yamlio import YamlFileError, duplicate_keys, load_yaml_text, read_text

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class PromptError(LLMVersionError, ValueError):
    """A registry problem; the message names the file (and version) at fault."""

    #: raised in a test body, it is the item's one line (ERROR), not a traceback through the plugin
    llmversion_call_error = True


@dataclass(frozen=True)
class Prompt:
    task: str
    version: str
    user: str
    system: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tuned_for: tuple[str, ...] = ()
    default: bool = False
    source: str = ""

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.user)) | frozenset(_PLACEHOLDER.findall(self.system or ""))

    @property
    def content_hash(self) -> str:
        body = json.dumps({"system": self.system, "user": self.user, "params": dict(self.params)}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:12]

    @property
    def identity(self) -> dict[str, str]:
        return {"task": self.task, "version": self.version, "hash": self.content_hash}

    def render(self, values: Mapping[str, Any]) -> tuple[Message, ...]:
        missing = sorted(self.variables - set(values))
        unused = sorted(set(values) - self.variables)
        where = f"prompt {self.task}@{self.version}"
        if missing:
            raise PromptError(f"{where} needs {', '.join(missing)}; pass them as keywords to llm.complete()")
        if unused:
            raise PromptError(
                f"{where} has no placeholder for {', '.join(unused)} "
                f"(placeholders: {', '.join(sorted(self.variables)) or 'none'})"
            )

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: _as_text(values[m.group(1)]), text)

        messages = [Message("system", fill(self.system))] if self.system else []
        messages.append(Message("user", fill(self.user)))
        return tuple(messages)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


class _VersionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: bool = False
    tuned_for: list[str] = Field(default_factory=list)
    system: str | None = None
    user: str
    params: dict[str, Any] = Field(default_factory=dict)
    notes: str = ""


class _TaskFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str | None = None
    description: str = ""
    versions: dict[str, _VersionFile] = Field(min_length=1)


@dataclass
class Task:
    name: str
    versions: dict[str, Prompt]
    source: str

    @property
    def defaults(self) -> list[Prompt]:
        return [p for p in self.versions.values() if p.default]


def _matches(tuned: str, model: ModelRef) -> bool:
    return tuned == str(model) or tuned == model.model_id


class PromptRegistry:
    def __init__(self, tasks: Mapping[str, Task]) -> None:
        self.tasks = dict(tasks)

    def resolve(self, task: str, model: ModelRef) -> Prompt:
        if task not in self.tasks:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise PromptError(f"no prompt task {task!r} in the registry (tasks: {known})")
        entry = self.tasks[task]
        for prompt in entry.versions.values():
            if any(_matches(t, model) for t in prompt.tuned_for):
                return prompt
        defaults = entry.defaults
        if len(defaults) != 1:
            raise PromptError(f"{entry.source}: task {task!r} needs exactly one default version, has {len(defaults)}")
        return defaults[0]

    def problems(self, known_model: Callable[[str], str | None] | None = None) -> list[str]:
        """Everything ``llmversion check`` reports about the registry, one line each."""
        found: list[str] = []
        for name, entry in sorted(self.tasks.items()):
            defaults = entry.defaults
            if len(defaults) != 1:
                names = ", ".join(p.version for p in defaults) or "none"
                found.append(f"{entry.source}: task {name!r} needs exactly one default version (has: {names})")
            claimed: dict[str, str] = {}
            for prompt in entry.versions.values():
                for tuned in prompt.tuned_for:
                    if tuned in claimed:
                        found.append(
                            f"{entry.source}: {tuned} is claimed by both {claimed[tuned]} and {prompt.version}"
                        )
                    claimed[tuned] = prompt.version
                    if known_model is not None:
                        problem = known_model(tuned)
                        if problem:
                            found.append(f"{entry.source}: version {prompt.version} is tuned for {tuned}: {problem}")
                bad = sorted(set(prompt.params) - set(PARAM_NAMES))
                if bad:
                    found.append(f"{entry.source}: version {prompt.version}: unknown params {', '.join(bad)}")
        return found

    @classmethod
    def load(cls, location: str, root: Path) -> PromptRegistry:
        """A folder of ``<task>.yaml`` files, or ``module:ATTRIBUTE`` naming a Python dict."""
        if ":" in location and not (root / location).exists():
            return cls.from_python(location)
        folder = root / location
        if not folder.is_dir():
            return cls({})
        tasks: dict[str, Task] = {}
        for path in sorted(folder.glob("*.y*ml")):
            task = _load_task_file(path, root)
            if task.name in tasks:
                raise PromptError(f"{path}: task {task.name!r} is also defined in {tasks[task.name].source}")
            tasks[task.name] = task
        return cls(tasks)

    @classmethod
    def from_python(cls, target: str) -> PromptRegistry:
        module_name, _, attribute = target.partition(":")
        if not module_name or not attribute.isidentifier():
            raise PromptError(
                f"prompts = {target!r}: expected a folder, or module:ATTRIBUTE naming a dict "
                "(e.g. 'myapp.prompts:PROMPTS')"
            )
        try:
            value = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise PromptError(f"prompts = {target!r}: cannot import it ({exc})") from None
        except Exception as exc:  # the module's own code failed while importing: name it, in one line
            raise PromptError(
                f"prompts = {target!r}: importing {module_name} raised {type(exc).__name__}: {exc}"
            ) from None
        return cls.from_value(value, target)

    @classmethod
    def from_value(cls, value: object, source: str) -> PromptRegistry:
        """A registry from whatever ``module:ATTRIBUTE`` named: it must be a dict of task -> model -> prompt."""
        if not isinstance(value, Mapping):
            raise PromptError(
                f"prompts = {source!r} is {_kind(value)}, not a dict of task -> model -> prompt "
                '(e.g. {"triage": {"default": {"system": "...", "user": "{{input}}"}}})'
            )
        return cls.from_mapping(value, source=source)

    @classmethod
    def from_mapping(
        cls, registry: Mapping[str, Mapping[str, Mapping[str, Any]]], source: str = "<dict>"
    ) -> PromptRegistry:
        """``{task: {model or "default": {"system", "user"?, "version"?, "params"?}}}``."""
        tasks: dict[str, Task] = {}
        for task, by_model in registry.items():
            where = f"{source}[{task!r}]"
            if not isinstance(task, str) or not isinstance(by_model, Mapping):
                raise PromptError(f"{where} must map model names (or 'default') to prompts, got {_kind(by_model)}")
            versions: dict[str, Prompt] = {}
            for model, spec in by_model.items():
                fields = _mapping_prompt(spec, f"{where}[{model!r}]")
                version = str(fields.get("version") or model)
                existing = versions.get(version)
                tuned = () if model == "default" else (str(model),)
                if existing is not None:
                    versions[version] = Prompt(
                        task,
                        version,
                        existing.user,
                        existing.system,
                        existing.params,
                        existing.tuned_for + tuned,
                        existing.default or model == "default",
                        source,
                    )
                    continue
                versions[version] = Prompt(
                    task,
                    version,
                    fields.get("user", "{{input}}"),
                    fields.get("system"),
                    dict(fields.get("params", {})),
                    tuned,
                    model == "default" or bool(fields.get("default")),
                    source,
                )
            tasks[task] = Task(task, versions, where)
        return cls(tasks)

    def unprovided_variables(self, usage: Mapping[str, Any]) -> list[str]:
        """Template variables no caller passes (``usage`` from ``prompt_usage.scan_project``)."""
        found = []
        for name, entry in sorted(self.tasks.items()):
            callers = usage.get(name)
            if callers is None or callers.open_ended:
                continue  # no caller found in the code, or one passes **kwargs: nothing to compare
            for prompt in entry.versions.values():
                missing = sorted(prompt.variables - callers.variables)
                if missing:
                    found.append(
                        f"{entry.source}: version {prompt.version} uses {', '.join('{{' + m + '}}' for m in missing)}, "
                        f"which no caller passes (callers: {', '.join(callers.places[:3])})"
                    )
        return found

    def all_prompts(self) -> Iterable[Prompt]:
        for entry in self.tasks.values():
            yield from entry.versions.values()


def _load_task_file(path: Path, root: Path) -> Task:
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        text = read_text(path)
        raw = load_yaml_text(text, path)
    except YamlFileError as exc:
        raise PromptError(str(exc).replace(str(path), shown, 1)) from None
    duplicate = duplicate_keys(text)
    if duplicate:
        key, line = duplicate[0]
        raise PromptError(f"{shown}:{line}: {key!r} appears twice in the same mapping (a duplicate version?)")
    try:
        parsed = _TaskFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        raise PromptError(f"{shown}: {where}: {error['msg']}") from None
    name = parsed.task or path.stem
    versions = {
        version: Prompt(name, version, spec.user, spec.system, spec.params, tuple(spec.tuned_for), spec.default, shown)
        for version, spec in parsed.versions.items()
    }
    return Task(name, versions, shown)


def _kind(value: Any) -> str:
    """What a value is, for a message: ``a function``, ``a list``, ``None``."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _mapping_prompt(spec: Any, where: str) -> Mapping[str, Any]:
    """One prompt of a Python registry, its fields checked as a YAML version's are."""
    if not isinstance(spec, Mapping):
        raise PromptError(f"{where} must be a dict with system, user, version or params, got {_kind(spec)}")
    for key in ("system", "user"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise PromptError(f"{where}: {key} must be a string, got {_kind(spec[key])}")
    if not isinstance(spec.get("params", {}), Mapping):
        raise PromptError(f"{where}: params must be a dict of request parameters, got {_kind(spec['params'])}")
    return spec
