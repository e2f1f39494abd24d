"""Goldens on disk: where they live, what they hold, how they are read and written.

``<test dir>/__llm_goldens__/<test_module>/<test_name>[/<case_id>].yaml``: one file per test or
case, keyed by test and not by model, so promoting a candidate rewrites the same files and the diff
shows old and new outputs side by side. Each file holds the canonical request itself, so reviewers
see the prompt and a changed prompt is detected (STALE) instead of silently replayed; a request
edited by hand no longer matches its fingerprint and is STALE too.

Names are one-to-one (``safe_name``); goldens written under the names of earlier versions
(``legacy_safe_name``) are still read, and replaced when the test is recorded again.

Tool definitions travel in the request; tool calls, embeddings, token counts and model descriptions follow
``output:`` (``answers.py`` says how, and when a golden is schema 2).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticSerializationError

from pytest_llmversion.atomic import write_atomic
from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.judge.samples import CheckExchange, SampleResult
from pytest_llmversion.parsing import extract_json
from pytest_llmversion.providers.base import Completion, Request, Usage, fingerprint_of
from pytest_llmversion.run.answers import PLAIN_SCHEMA, answer_fields, completion_fields, decode_vector, needs_schema_2
from pytest_llmversion.run.answers import SCHEMA as ANSWERS_SCHEMA
from pytest_llmversion.yamlio import YamlFileError, decode_text, dump_yaml, load_yaml_text, not_plain

#: The newest schema this plugin reads (and writes, when a golden needs it: see ``answers.py``).
SCHEMA = ANSWERS_SCHEMA
NAME_LIMIT = 100
_HASH_LENGTH = 10
#: Lower-case ASCII that every file system keeps as written, neither starting nor ending with ``.`` or ``-``.
_KEPT = re.compile(r"[a-z0-9_()\[\],+=@]([a-z0-9_.()\[\],+=@-]*[a-z0-9_()\[\],+=@])?")
#: How a hashed name ends; a kept name never does, so the two can never meet.
_HASHED = re.compile(rf"-[0-9a-f]{{{_HASH_LENGTH}}}$")
_NOT_READABLE = re.compile(r"[^A-Za-z0-9_.()\[\],+=@-]+")
#: Windows device names, reserved with any extension (``nul.yaml`` is the device too).
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))})
_LEGACY_UNSAFE = re.compile(r'[<>:"/\\|?*\s]+')


class GoldenError(LLMVersionError, ValueError):
    """A golden that cannot be used; the message names the file and what is wrong."""


class GoldenTooNew(GoldenError):
    """A golden written by a newer plugin: upgrading fixes it, re-recording would lose it."""


class GoldenUnparsable(GoldenError):
    """A golden that is not valid YAML (or not UTF-8 text): ``--llm-record`` keeps it rather than lose the edits."""


class GoldenKept(GoldenError):
    """A file where a golden is to be written that is not valid YAML: edited by hand (or by a merge) and never
    overwritten, since the edits would be lost; the message says so and how to go on."""


def safe_name(name: str, limit: int = NAME_LIMIT) -> str:
    """The file or folder name of a test name, case id or model id: one-to-one on any file system.

    A plain lower-case name is kept as it is (the name earlier versions gave it too). Any other name gets
    a readable ASCII stand-in and ``-`` + a hash of the exact name: upper case (a case-insensitive file
    system folds ``Ada`` onto ``ada``), whitespace and characters a file system refuses or rewrites, a
    leading or trailing dot, Windows device names, names over ``limit``, and names that end like a hash.
    """
    if len(name) <= limit and _KEPT.fullmatch(name) and not _HASHED.search(name) and not _reserved(name):
        return name
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    readable = re.sub("-{2,}", "-", _NOT_READABLE.sub("-", ascii_name)).strip("-.")
    readable = readable[: limit - _HASH_LENGTH - 1].rstrip("-.") or "_"
    hashed = f"{readable}-{hashlib.sha1(name.encode()).hexdigest()[:_HASH_LENGTH]}"
    return "_" + hashed if _reserved(hashed) else hashed


def _reserved(name: str) -> bool:
    return name.split(".", 1)[0].lower() in _RESERVED


def legacy_safe_name(name: str, limit: int = NAME_LIMIT) -> str:
    """The name versions before one-to-one names gave: ``Ada Lovelace``, ``Ada-Lovelace`` and
    ``Ada/Lovelace`` all became ``Ada-Lovelace``. Only read, never written."""
    cleaned = _LEGACY_UNSAFE.sub("-", name).strip("-.") or "_"
    if len(cleaned) <= limit:
        return cleaned
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{cleaned[: limit - 11]}-{digest}"


def same_test(test: str, case: str | None, other_test: str, other_case: str | None) -> bool:
    """Whether two goldens' ``test:``/``case:`` name the same test. The path before the first ``::`` is left
    out: node ids are relative to a rootdir, and the golden's folder already names the module."""
    return case == other_case and test.partition("::")[2] == other_test.partition("::")[2]


@dataclass(frozen=True)
class GoldenKey:
    """Which golden a test item reads: by test (and case), never by model."""

    folder: Path  # <test dir>/<goldens>/<test module stem>
    test: str  # test name with any user parametrisation, e.g. TestX.test_y[en]
    case: str | None
    test_nodeid: str  # tests/test_x.py::TestX::test_y[en], for people

    @functools.cached_property
    def path(self) -> Path:
        return self.folder.joinpath(*self._relative(safe_name))

    @functools.cached_property
    def legacy_path(self) -> Path | None:
        """Where versions before one-to-one names put this golden, when that is another file: read while
        ``path`` does not exist, removed when the golden is written under ``path``."""
        names = (self.test,) if self.case is None else (self.test, self.case)
        if all(legacy_safe_name(name) == safe_name(name) for name in names):
            return None  # the common case, decided without building a path (asked of every collected item)
        return self.folder.joinpath(*self._relative(legacy_safe_name))

    def _relative(self, name: Callable[[str], str]) -> tuple[str, ...]:
        if self.case is None:
            return (f"{name(self.test)}.yaml",)
        return name(self.test), f"{name(self.case)}.yaml"

    def owns(self, golden: GoldenFile) -> bool:
        return same_test(golden.test, golden.case, self.test_nodeid, self.case)


class StoredAnswer(BaseModel):
    """What an answer holds besides its text (``answers.py``); checked when the file is read."""

    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    embeddings: list[dict[str, Any]] = Field(default_factory=list)
    token_count: int | None = None
    model_info: Any = None

    @field_validator("tool_calls")
    @classmethod
    def _named(cls, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for call in calls:
            if not isinstance(call.get("name"), str) or not isinstance(call.get("arguments", {}), dict):
                raise ValueError("a tool call needs a name and an arguments mapping")
        return calls

    @field_validator("embeddings")
    @classmethod
    def _vectors(cls, vectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for vector in vectors:
            decode_vector(vector)
        return vectors

    def answer(self) -> dict[str, Any]:
        return self.model_dump(include={"tool_calls", "embeddings", "token_count", "model_info"})


#: The parse cache is JSON: nan and inf (YAML .nan, a model's NaN) stay themselves there, not null.
_CACHED = ConfigDict(extra="ignore", ser_json_inf_nan="constants")


class GoldenCall(StoredAnswer):
    model_config = _CACHED

    request: dict[str, Any] | None = None
    fingerprint: str
    usage: dict[str, int] = Field(default_factory=dict)
    finish_reason: str = "stop"
    model_served: str | None = None
    output: str = ""


class GoldenCheckCall(StoredAnswer):
    """A call a check made for a sample (an LLM judge's verdict, an embedding), replayed so CI re-scores offline."""

    model_config = _CACHED

    purpose: Literal["judge", "embedding"]
    check: str
    #: The model asked (the judge, the embedding model) and, for a judge, the hash of its rubric.
    model: str
    rubric: str | None = None
    fingerprint: str
    usage: dict[str, int] = Field(default_factory=dict)
    output: str = ""

    def completion(self) -> Completion:
        kind = {"kind": "embedding"} if self.purpose == "embedding" else None
        return _completion(self.model, self.output, self.usage, "stop", None, completion_fields(self.answer(), kind))


class GoldenSample(StoredAnswer):
    """One sample: its checks and value, and its first call's answer (``output`` and what follows it)."""

    model_config = _CACHED

    score: float = 1.0
    #: False for a sample the current model failed (kept in multi-sample goldens: it is the baseline).
    passed: bool = True
    failure: str | None = None
    checks: list[dict[str, Any]] = Field(default_factory=list)
    check_calls: list[GoldenCheckCall] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)
    finish_reason: str = "stop"
    model_served: str | None = None
    #: The sample's first request, when it differs from the golden's ``request`` (older goldens: fingerprint only).
    request: dict[str, Any] | None = None
    fingerprint: str | None = None
    calls: list[GoldenCall] = Field(default_factory=list)
    value: Any = None
    parsed: Any = None
    output: str | None = None

    @model_validator(mode="after")
    def _first_call_answered(self) -> GoldenSample:
        if self.calls and self.output is None:
            # the first call's answer is the sample's output: without it, call 2 would answer call 1
            raise ValueError("lists calls: but has no output: (the answer to the sample's first call)")
        return self


class GoldenFile(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, ser_json_inf_nan="constants")

    schema_version: int = Field(alias="schema")
    test: str
    case: str | None = None
    model: str
    synthetic: bool = False
    prompt: dict[str, str] | None = None
    request: dict[str, Any] | None = None
    fingerprint: str | None = None
    samples: list[GoldenSample] = Field(min_length=1)

    @field_validator("prompt")
    @classmethod
    def _prompt_identity(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        missing = [key for key in ("task", "version", "hash") if value is not None and key not in value]
        if missing:
            raise ValueError(f"the prompt's task, version and hash are needed; {', '.join(missing)} missing")
        return value

    @model_validator(mode="after")
    def _answers_have_requests(self) -> GoldenFile:
        for index, sample in enumerate(self.samples):
            if sample.calls and self.fingerprint is None:
                raise ValueError(
                    f"samples.{index} lists calls: but the golden has no fingerprint: of its first request"
                )
        return self

    def recorded_call(self, sample_index: int, call_index: int) -> tuple[str, dict[str, Any] | None, Completion]:
        """(fingerprint, canonical request, completion) of one recorded call of one recorded sample.

        Never wraps around: sample j is the golden's sample j, so no answer is ever served twice.
        """
        sample = self.samples[sample_index]
        if call_index == 0:
            if self.fingerprint is None or sample.output is None:
                raise IndexError(call_index)
            usage = _first_call_usage(sample)
            fingerprint, request = self._first_request(sample)
            request = request if request is not None else self.request
            extras = completion_fields(sample.answer(), request)
            completion = _completion(
                self.model, sample.output, usage, sample.finish_reason, sample.model_served, extras
            )
            return fingerprint or self.fingerprint, request, completion
        call = sample.calls[call_index - 1]
        extras = completion_fields(call.answer(), call.request)
        completion = _completion(self.model, call.output, call.usage, call.finish_reason, call.model_served, extras)
        return call.fingerprint, call.request, completion

    def request_edited(self, sample_index: int, call_index: int) -> bool:
        """Whether the request this file shows for a call is not the one its fingerprint, and so its answer,
        was recorded for: edited by hand after recording. A reviewer must read what is compared."""
        if call_index == 0:
            fingerprint, request = self._first_request(self.samples[sample_index])
        else:
            call = self.samples[sample_index].calls[call_index - 1]
            fingerprint, request = call.fingerprint, call.request
        return request is not None and fingerprint is not None and fingerprint_of(request) != fingerprint

    def _first_request(self, sample: GoldenSample) -> tuple[str | None, dict[str, Any] | None]:
        """A sample whose first request differs from the golden's keeps its own fingerprint (and request;
        goldens of earlier versions kept the fingerprint only, so there is no request to compare)."""
        if sample.fingerprint is not None:
            return sample.fingerprint, sample.request
        return self.fingerprint, self.request

    def first_request(self, sample_index: int) -> tuple[str | None, dict[str, Any] | None]:
        """(fingerprint, canonical request) of a sample's first call, as recorded: what the test sent then,
        and (for the call pool) what it will most likely send again. Samples past the golden's use its last."""
        return self._first_request(self.samples[min(sample_index, len(self.samples) - 1)])

    def calls_per_sample(self, sample_index: int) -> int:
        if sample_index >= len(self.samples):
            return 0
        sample = self.samples[sample_index]
        return (1 if sample.output is not None and self.fingerprint else 0) + len(sample.calls)

    def fingerprints(self, sample_index: int) -> list[str]:
        """The request fingerprints of a sample's recorded calls, by ``recorded_call``'s index: the order the
        test made them in when it was recorded."""
        sample = self.samples[sample_index] if sample_index < len(self.samples) else None
        if sample is None or sample.output is None or self.fingerprint is None:
            return []  # a sample without an answer (no call was made when it was recorded)
        first = self._first_request(sample)[0] or self.fingerprint
        return [first, *(call.fingerprint for call in sample.calls)]


def _first_call_usage(sample: GoldenSample) -> dict[str, int]:
    """A sample's ``usage`` is the total of all its calls (what reviewers want to see); the first call's
    own usage is that total minus the calls listed after it."""
    usage = dict(sample.usage)
    for call in sample.calls:
        for key, value in call.usage.items():
            usage[key] = max(0, usage.get(key, 0) - value)
    return usage


def _completion(
    model: str, text: str, usage: Mapping[str, int], finish: str, served: str | None, extras: Mapping[str, Any]
) -> Completion:
    model_id = model.partition("/")[2] or model
    return Completion(
        text=text,
        model_requested=model,
        model_served=served or model_id,
        usage=Usage.from_dict(usage),
        finish_reason=finish,
        source="golden",
        **extras,
    )


def load_golden(path: Path, cache: Path | None = None) -> GoldenFile | None:
    """The golden at ``path``, None when there is none; a broken file raises ``GoldenError``.

    ``cache`` is a folder of parsed goldens keyed by the hash of the file's bytes: YAML parsing is
    the slowest step of a replayed item, and a content-addressed entry can never be stale.
    """
    try:
        data = _read(path)
    except (FileNotFoundError, IsADirectoryError):
        return None
    entry = os.path.join(cache, hashlib.sha1(data).hexdigest() + ".json") if cache is not None else None
    if entry is not None:
        try:
            return GoldenFile.model_validate_json(_read(entry))
        except (OSError, ValidationError):
            pass
    try:
        raw = load_yaml_text(decode_text(data, path), path)
    except YamlFileError as exc:
        raise GoldenUnparsable(str(exc)) from None
    golden = _validate_golden(raw, path)
    if entry is not None:
        # a read-only checkout still replays, without the cache; so does an answer JSON cannot hold as UTF-8
        # (a lone surrogate), which the YAML keeps escaped
        with contextlib.suppress(OSError, PydanticSerializationError):
            write_atomic(Path(entry), golden.model_dump_json(by_alias=True), durable=False)  # made again when lost
    return golden


def _read(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes through the os module: half the time of ``open().read()`` (no buffered reader, no
    ``isatty`` and ``fstat`` calls), and every replayed item reads two files."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_golden(key: GoldenKey, cache: Path | None = None) -> tuple[GoldenFile | None, Path]:
    """The golden of ``key`` and the file it came from: ``key.path``, else the file under its legacy name
    when that file says it is this test's (legacy names collided: it may be another test's golden)."""
    golden = load_golden(key.path, cache)
    if golden is not None or key.legacy_path is None:
        return golden, key.path
    legacy = load_golden(key.legacy_path, cache)
    if legacy is None or not key.owns(legacy):
        return None, key.path
    return legacy, key.legacy_path


def belongs_to(path: Path, test: str, case: str | None) -> bool:
    """Whether ``path`` is a readable golden of ours written for this test and case (safe to replace)."""
    if not is_golden_file(path):
        return False
    try:
        golden = load_golden(path)
    except GoldenError:
        return False  # a broken file is the user's to look at, never ours to delete
    return golden is not None and same_test(golden.test, golden.case, test, case)


def _validate_golden(raw: Any, path: Path) -> GoldenFile:
    if not isinstance(raw, dict):
        raise GoldenError(f"{path}: not a pytest-llmversion golden (expected a mapping with schema, test, samples)")
    schema = raw.get("schema")
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA:
        raise GoldenTooNew(f"{path}: written by a newer pytest-llmversion (schema {schema}); upgrade the plugin")
    found = not_plain(raw)
    if found is not None:
        where, what = found
        raise GoldenError(
            f"{path}: {where or '(top level)'}: {what}; a golden holds text, numbers, true/false, null, lists "
            "and mappings (quote the value to keep it as text)"
        )
    try:
        return GoldenFile.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        raise GoldenError(f"{path}: {where}: {str(error['msg']).removeprefix('Value error, ')}") from None


#: What YAML tags give that JSON has no word for; a request holding one could not even be fingerprinted.
# -- writing ---------------------------------------------------------------------------------------


def golden_document(key: GoldenKey, model: str, samples: list[SampleResult]) -> dict[str, Any]:
    """The golden for ``samples`` of the current model, in the fixed, reviewable key order."""
    first = next((s.exchanges[0] for s in samples if s.exchanges), None)
    exchanges = [(e.request, e.completion) for s in samples for e in s.exchanges]
    newer = needs_schema_2(exchanges) or any(s.check_calls for s in samples)  # schema 1 readers would call out
    doc: dict[str, Any] = {"schema": SCHEMA if newer else PLAIN_SCHEMA, "test": key.test_nodeid}
    if key.case is not None:
        doc["case"] = key.case
    doc["model"] = model
    if model.startswith("scripted/"):
        doc["synthetic"] = True  # answered by a scripted stand-in, not a real model
    if first is not None and first.request.prompt:
        doc["prompt"] = dict(first.request.prompt)
    top_fingerprint = first.request.fingerprint() if first is not None else None
    if first is not None:
        doc["request"] = first.request.canonical()
        doc["fingerprint"] = top_fingerprint
    doc["samples"] = [_sample_document(sample, model, top_fingerprint) for sample in samples]
    return doc


def _sample_document(sample: SampleResult, model: str, top_fingerprint: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"score": round(sample.score, 4)}
    if not sample.passed:
        out["passed"] = False
        if sample.message:
            out["failure"] = sample.message.splitlines()[0][:200]
    if sample.checks:
        out["checks"] = [c.to_dict() for c in sample.checks]
    check_calls = [_check_call_document(c) for c in sample.check_calls if c.completion is not None]
    if check_calls:
        out["check_calls"] = check_calls
    completions = sample.completions()
    served_default = model.partition("/")[2]
    if completions:
        usage = Usage()
        for completion in completions:
            usage = usage + completion.usage
        out["usage"] = usage.to_dict()
        head = completions[0]
        if head.finish_reason != "stop":
            out["finish_reason"] = head.finish_reason
        if head.model_served != served_default:
            out["model_served"] = head.model_served
        first = sample.exchanges[0].request
        if first.fingerprint() != top_fingerprint:
            out["request"] = first.canonical()  # what the fingerprint stands for, for the reviewer
            out["fingerprint"] = first.fingerprint()
        if len(sample.exchanges) > 1:
            out["calls"] = [_call_document(e.request, e.completion, served_default) for e in sample.exchanges[1:]]
    if sample.has_value:
        out["value"] = _sorted(sample.value)
    if completions:
        parsed = extract_json(completions[0].text)
        if parsed is not None:
            out["parsed"] = _sorted(parsed)
        out["output"] = completions[0].text
        out |= answer_fields(completions[0])
    return out


def _call_document(request: Request, completion: Completion | None, served_default: str) -> dict[str, Any]:
    assert completion is not None  # only passing samples are recorded
    call: dict[str, Any] = {"request": request.canonical(), "fingerprint": request.fingerprint()}
    call["usage"] = completion.usage.to_dict()
    if completion.finish_reason != "stop":
        call["finish_reason"] = completion.finish_reason
    if completion.model_served != served_default:
        call["model_served"] = completion.model_served
    call["output"] = completion.text
    call |= answer_fields(completion)
    return call


def _check_call_document(call: CheckExchange) -> dict[str, Any]:
    """A check's call as the golden keeps it: what asked which model, the rubric's hash, the answer (the request
    is left out: it is the rubric and the sample's own output, both shown elsewhere)."""
    assert call.completion is not None
    doc: dict[str, Any] = {"purpose": call.purpose, "check": call.check, "model": call.model}
    if call.rubric_hash is not None:
        doc["rubric"] = call.rubric_hash
    doc["fingerprint"] = call.request.fingerprint()
    doc["usage"] = call.completion.usage.to_dict()
    doc["output"] = call.completion.text
    return doc | answer_fields(call.completion)


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def golden_header(rerecord_nodeid: str, synthetic: bool = False) -> str:
    header = (
        "pytest-llmversion golden: the blessed output of the current model for one test.\n"
        "Review changes like code. Re-record: pytest --llm-record "
        f'"{rerecord_nodeid}"'
    )
    if synthetic:
        header += "\nSYNTHETIC: answered by a scripted stand-in model, not by a real model."
    return header


def render_golden(doc: Mapping[str, Any], rerecord_nodeid: str) -> str:
    return dump_yaml(dict(doc), golden_header(rerecord_nodeid, bool(doc.get("synthetic"))))


def write_golden(path: Path, doc: Mapping[str, Any], rerecord_nodeid: str) -> bool:
    """Write atomically; False when the file already holds exactly this content (no churn). A file there that is
    not valid YAML is kept, and ``GoldenKept`` says so."""
    check_overwritable(path, rerecord_nodeid)
    return write_atomic(path, render_golden(doc, rerecord_nodeid))


def fix_hint(error: GoldenError, rerecord_nodeid: str) -> str:
    """What to do about a golden that cannot be used, as the end of its one line."""
    if isinstance(error, GoldenTooNew):
        return ""  # upgrading fixes it; re-recording would lose it
    if isinstance(error, GoldenUnparsable):
        return f'; fix it, or delete it and re-record: pytest --llm-record "{rerecord_nodeid}"'
    return f'; fix it, or re-record: pytest --llm-record "{rerecord_nodeid}"'


def check_overwritable(path: Path, rerecord_nodeid: str, shown: str | None = None) -> None:
    """Raise ``GoldenKept`` when ``path`` holds a file that is not valid YAML (or not UTF-8 text). A golden that
    parses but does not validate is the recorder's to replace: re-recording is how it gets fixed."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return
    try:
        load_yaml_text(decode_text(data, path), path)
    except YamlFileError as exc:
        problem = str(exc).replace(str(path), shown or str(path), 1)
        raise GoldenKept(
            f"{problem}; kept as it is, not overwritten (hand edits?): fix it, or delete it, then record again: "
            f'pytest --llm-record "{rerecord_nodeid}"'
        ) from None


def is_golden_file(path: Path) -> bool:
    """Only files that say they are ours may ever be pruned."""
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().startswith("# pytest-llmversion golden")
    except (OSError, UnicodeDecodeError):
        return False


def golden_files(folder: Path) -> Iterable[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.rglob("*.yaml") if not p.name.startswith("."))
