"""Recordings: a candidate model's live answers for one test, so the run can be re-scored without calling again.

``<report_dir>/recordings/<provider>/<model-id>/<test folder>/<test module>/<test name>[/<case>].yaml`` holds
the canonical request, sample index and completion of every call, at the adapter level: never an HTTP header,
so a key has nowhere to hide. Files are reviewable YAML (fixed key order, literal blocks, no timestamps or
latency) and are written by the controller at session end, each whole, like goldens.

``--llm-candidate-recordings`` has pytest-recording's meanings, applied to the calls of candidate items:

* ``none``: replay what is recorded; send nothing new (a call with no recording is an ERROR). Default when
  the ``CI`` environment variable is set.
* ``once``: replay an item's recording when it exists (a call it does not hold is an ERROR); otherwise call
  the provider and record. Default elsewhere.
* ``new``: replay what is recorded, call and record what is not.
* ``all``: call everything, and rewrite the recordings.

``--llm-record`` and ``--llm-live`` are requests to call the current model: the record mode does not apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_llmversion.atomic import write_atomic
from pytest_llmversion.judge.samples import CallPlace
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, Request, Usage
from pytest_llmversion.run.answers import PLAIN_SCHEMA, answer_fields, completion_fields, needs_schema_2
from pytest_llmversion.run.answers import SCHEMA as ANSWERS_SCHEMA
from pytest_llmversion.run.goldens import GoldenKey, StoredAnswer, legacy_safe_name, safe_name, same_test
from pytest_llmversion.yamlio import YamlFileError, dump_yaml, load_yaml_file

RecordMode = Literal["none", "once", "new", "all"]
RECORD_MODES: tuple[RecordMode, ...] = ("none", "once", "new", "all")
#: The newest schema this plugin reads; a recording is written as 2 only when it needs to be (``answers.py``).
SCHEMA = ANSWERS_SCHEMA
HEADER = (
    "pytest-llmversion recording: live answers of one model for one test, replayed to re-score the test\n"
    "without calling the model again. Re-record with --llm-candidate-recordings=all."
)


def default_record_mode(environ: Mapping[str, str]) -> RecordMode:
    """``none`` in CI (no surprise spending, nothing new recorded), ``once`` on a developer's machine."""
    return "none" if environ.get("CI", "").strip().lower() not in ("", "0", "false", "no") else "once"


class NotRecorded(ProviderError):
    """The record mode forbids a call that no recording answers; one line naming the file and the fix."""

    kind = "not_recorded"


class RecordedCall(StoredAnswer):
    model_config = ConfigDict(extra="ignore")

    sample: int = Field(0, ge=0)
    request: dict[str, Any]
    fingerprint: str
    model_served: str
    usage: dict[str, int] = Field(default_factory=dict)
    finish_reason: str = "stop"
    system_fingerprint: str | None = None
    output: str = ""


class RecordingFile(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_version: int = Field(SCHEMA, alias="schema")
    test: str
    case: str | None = None
    model: str
    calls: list[RecordedCall] = Field(default_factory=list)


def recording_path(root: Path, base: Path, model: ModelRef, key: GoldenKey) -> Path:
    """Where ``model``'s recording of the test keyed by ``key`` lives, under ``root`` (the recordings folder)."""
    return _recording_path(root, base, model, key, safe_name, key.path)


def legacy_recording_path(root: Path, base: Path, model: ModelRef, key: GoldenKey) -> Path | None:
    """Where versions before one-to-one names put that recording, when it is another file (read, not written)."""
    legacy = _recording_path(root, base, model, key, legacy_safe_name, key.legacy_path or key.path)
    return None if legacy == recording_path(root, base, model, key) else legacy


def _recording_path(
    root: Path, base: Path, model: ModelRef, key: GoldenKey, name: Callable[[str], str], golden: Path
) -> Path:
    test_dir = key.folder.parent.parent  # key.folder is <test dir>/<goldens>/<module>
    try:
        rel_dir = test_dir.relative_to(base)
    except ValueError:
        rel_dir = Path(test_dir.name)
    model_dir = root / name(model.provider) / name(model.model_id)
    return model_dir / rel_dir / key.folder.name / golden.relative_to(key.folder)


def load_recording(path: Path, shown: str) -> RecordingFile | None:
    if not path.is_file():
        return None
    try:
        raw = load_yaml_file(path)
        schema = raw.get("schema") if isinstance(raw, dict) else None
        if isinstance(schema, int) and schema > SCHEMA:
            raise NotRecorded(f"{shown}: written by a newer pytest-llmversion (schema {schema}); upgrade the plugin")
        return RecordingFile.model_validate(raw)
    except YamlFileError as exc:
        raise NotRecorded(f"{exc} (delete it, or re-record with --llm-candidate-recordings=all)") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        raise NotRecorded(f"{shown}: {where}: {error['msg']} (re-record with --llm-candidate-recordings=all)") from None


class Route(Protocol):
    def complete(self, request: Request, *, sample_index: int = 0) -> Completion: ...


@dataclass
class ItemRecorder:
    """The recording seam of one candidate item: answers from its recording, or calls and records."""

    path: Path
    shown: str  # the path as people see it
    mode: RecordMode
    model: ModelRef
    test: str
    case: str | None
    mode_source: str = "--llm-candidate-recordings"
    #: (path, shown) of the recording under its legacy name, read while ``path`` does not exist
    legacy: tuple[Path, str] | None = None
    _existing: RecordingFile | None = None
    _existing_shown: str = ""
    _loaded: bool = False
    _load_error: NotRecorded | None = None
    #: Calls recorded in this run, by their place: (sample, position).
    _new: list[tuple[tuple[int, int], dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _spoiled: bool = False
    _needs_schema_2: bool = False
    replayed: int = 0

    @property
    def replay_only(self) -> bool:
        """Whether this item's calls are answered from its recording and nothing new is sent (``none``, or
        ``once`` with a recording): the item then calls no model, and sends nothing it cannot record either."""
        return self.mode == "none" or (self.mode == "once" and self.path.is_file())

    def _load(self) -> RecordingFile | None:
        if not self._loaded:
            self._loaded = True
            try:
                self._existing = self._read() if self.mode != "all" else None
            except NotRecorded as exc:
                self._load_error = exc
        if self._load_error is not None:
            raise self._load_error
        return self._existing

    def _read(self) -> RecordingFile | None:
        self._existing_shown = self.shown
        existing = load_recording(self.path, self.shown)
        if existing is not None or self.legacy is None:
            return existing
        path, shown = self.legacy
        legacy = load_recording(path, shown)
        if legacy is None or not same_test(legacy.test, legacy.case, self.test, self.case):
            return None  # legacy names collided: another test's recording
        self._existing_shown = shown
        return legacy

    def would_call(self, request: Request, sample_index: int) -> bool:
        """Whether the first call of sample ``sample_index`` with this request would go to the model (not be
        answered by the recording, nor refused by the record mode): only such a call may be sent ahead."""
        try:
            existing = self._load()
        except NotRecorded:
            return False
        if existing is not None and _find(existing, sample_index, request.fingerprint(), 0) is not None:
            return False
        return not (self.mode == "none" or (self.mode == "once" and existing is not None))

    def complete(self, route: Route, request: Request, place: CallPlace) -> Completion:
        """The recorded answer to the n-th call of a sample with this request, else a call (recorded)."""
        with self._lock:  # calls made together (async code) arrive from several threads
            existing = self._load()
        sample_index = place.sample
        if existing is not None:
            found = _find(existing, sample_index, request.fingerprint(), place.occurrence)
            if found is not None:
                with self._lock:
                    self.replayed += 1
                return _completion(found, str(self.model))
        if self.mode == "none" or (self.mode == "once" and existing is not None):
            raise NotRecorded(self._refusal(existing is not None, sample_index), model=str(self.model))
        try:
            completion = route.complete(request, sample_index=sample_index)
        except ProviderError:
            self._spoiled = True  # a recording with a hole would make the next `once` run fail
            raise
        if completion.fallback_from is not None:
            self._spoiled = True  # another model's answer is never recorded as this one's
        else:
            with self._lock:
                self._new.append(((place.sample, place.position), _call_document(sample_index, request, completion)))
                self._needs_schema_2 = self._needs_schema_2 or needs_schema_2([(request, completion)])
        return completion

    def _refusal(self, has_file: bool, sample_index: int) -> str:
        source = f"--llm-candidate-recordings={self.mode}" + (f" ({self.mode_source})" if self.mode_source else "")
        if has_file:
            return (
                f"{self._existing_shown} holds no answer of {self.model} for this call (sample {sample_index}; the "
                f"test sends a different request now) and {source} sends nothing new: re-record with "
                "--llm-candidate-recordings=all, or --llm-candidate-recordings=new to keep the recorded calls"
            )
        return (
            f"no recording of {self.model} for this test ({self.shown}) and {source} sends nothing new: "
            "pass --llm-candidate-recordings=new to call the model and record its answers"
        )

    def document(self) -> dict[str, Any] | None:
        """The recording to write at session end, or None when nothing (or nothing whole) was recorded."""
        if self.mode == "none" or self._spoiled or not self._new:
            return None
        calls = [call for _, call in sorted(self._new, key=lambda new: new[0])]  # the order the calls were made in
        newer = self._needs_schema_2
        if self.mode == "new" and self._existing is not None:
            calls = [_ordered_call(c.model_dump()) for c in self._existing.calls] + calls
            newer = newer or self._existing.schema_version > PLAIN_SCHEMA
        doc: dict[str, Any] = {"schema": ANSWERS_SCHEMA if newer else PLAIN_SCHEMA, "test": self.test}
        if self.case is not None:
            doc["case"] = self.case
        doc["model"] = str(self.model)
        doc["calls"] = calls
        return doc


def _find(recording: RecordingFile, sample: int, fingerprint: str, occurrence: int) -> RecordedCall | None:
    matches = [c for c in recording.calls if c.sample == sample and c.fingerprint == fingerprint]
    return matches[occurrence] if occurrence < len(matches) else None


def _completion(call: RecordedCall, model: str) -> Completion:
    return Completion(
        text=call.output,
        model_requested=model,
        model_served=call.model_served,
        usage=Usage.from_dict(call.usage),
        finish_reason=call.finish_reason,
        system_fingerprint=call.system_fingerprint,
        source="recording",
        **completion_fields(call.answer(), call.request),
    )


def _call_document(sample: int, request: Request, completion: Completion) -> dict[str, Any]:
    return _ordered_call(
        {
            "sample": sample,
            "request": request.canonical(),
            "fingerprint": request.fingerprint(),
            "model_served": completion.model_served,
            "usage": completion.usage.to_dict(),
            "finish_reason": completion.finish_reason,
            "system_fingerprint": completion.system_fingerprint,
            "output": completion.text,
        }
        | answer_fields(completion)
    )


def _ordered_call(call: Mapping[str, Any]) -> dict[str, Any]:
    """Fixed key order; defaults left out so a diff shows only what matters."""
    out: dict[str, Any] = {"sample": call.get("sample", 0)}
    for name in ("request", "fingerprint", "model_served", "usage"):
        out[name] = call.get(name)
    if call.get("finish_reason", "stop") != "stop":
        out["finish_reason"] = call["finish_reason"]
    if call.get("system_fingerprint"):
        out["system_fingerprint"] = call["system_fingerprint"]
    out["output"] = call.get("output", "")
    for name in ("tool_calls", "embeddings", "token_count", "model_info"):
        if call.get(name) not in (None, []):
            out[name] = call[name]
    return out


def write_recording(path: Path, doc: Mapping[str, Any]) -> bool:
    """Controller, session end: write one item's recording whole (temp file + rename); False if unchanged."""
    return write_atomic(path, dump_yaml(dict(doc), HEADER))
