"""What one run of a test body produced: the calls it made, the checks it ran, how it ended."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_llmversion.checks.core import CheckResult, to_plain
from pytest_llmversion.parsing import OutputParseError
from pytest_llmversion.providers.base import Completion, ProviderError, Request, ToolCall, ToolCalls
from pytest_llmversion.redaction import scrub

#: How a sample's body ended.
Outcome = Literal["passed", "failed", "format_error", "provider_error", "no_baseline"]

_PARSE_ERRORS: tuple[type[BaseException], ...] = (OutputParseError, json.JSONDecodeError)


def call_error(exc: BaseException) -> BaseException | None:
    """The plugin's own error behind what the test body raised, if any: a provider failure or a replay problem.

    An SDK client wraps what its transport raised (anthropic: ``APIConnectionError`` from it), and application
    code may re-raise it as its own error; the chain of causes still leads to the plugin's one-line message.
    Calls made together (``asyncio.TaskGroup``, anyio's task groups) fail as an exception group: its first
    such error is the one. Classes mark themselves with ``llmversion_call_error = True`` (ProviderError is
    one by definition).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ProviderError) or getattr(type(current), "llmversion_call_error", False):
            return current
        if isinstance(current, BaseExceptionGroup):
            found = next((e for e in map(call_error, current.exceptions) if e is not None), None)
            if found is not None:
                return found
        current = current.__cause__ or current.__context__
    return None


#: (top-level package, class name): what frameworks raise when the model's answer does not parse into what the
#: code asked for (after the framework's own retries), matched by name so the judge imports none of them.
#: LangChain's output parsers; instructor once its validation retries are spent; pydantic-ai when the output
#: (its output tool or native format) failed validation past its retries. LlamaIndex raises pydantic's
#: ``ValidationError`` itself.
FRAMEWORK_PARSE_ERRORS = frozenset(
    {
        ("langchain_core", "OutputParserException"),
        ("instructor", "InstructorRetryException"),
        ("pydantic_ai", "UnexpectedModelBehavior"),
    }
)


def classify_exception(exc: BaseException) -> Outcome:
    """A provider failure is infrastructure; a parse failure is a format break (the framework's own, or one an
    error was raised ``from``); the rest is a failure."""
    if isinstance(exc, ProviderError):
        return "provider_error"
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _PARSE_ERRORS) or _is_validation_error(current) or _is_framework_parse_error(current):
            return "format_error"
        current = current.__cause__
    return "failed"


def _is_framework_parse_error(exc: BaseException) -> bool:
    if type(exc).__name__ in _NOT_FORMAT:
        return False
    return any((cls.__module__.split(".")[0], cls.__name__) in FRAMEWORK_PARSE_ERRORS for cls in type(exc).__mro__)


#: Subclasses of those that are not about the answer's shape (pydantic-ai: the provider's content filter).
_NOT_FORMAT = frozenset({"ContentFilterError"})


def _is_validation_error(exc: BaseException) -> bool:
    # pydantic and jsonschema validation errors mean the output no longer has the expected shape.
    module = type(exc).__module__
    return type(exc).__name__ == "ValidationError" and module.split(".")[0] in (
        "pydantic",
        "pydantic_core",
        "jsonschema",
    )


@dataclass
class Exchange:
    """One call of a sample: made, then answered (``completion``) or failed (``error``); neither while in flight."""

    request: Request
    completion: Completion | None = None
    error: str | None = None
    #: The plugin's error behind ``error``: what a sample that failed on it reports, even when the SDK raised its
    #: own error in its place (a client the application built gets the failure as an HTTP error).
    raised: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass
class CheckExchange:
    """One call a check made (an LLM judge, an embedding model): never one of the test's own calls, so never
    in the answers, tokens or cost of the model under test."""

    purpose: str
    check: str
    #: The model that was asked (``provider/id``).
    model: str
    request: Request
    rubric_hash: str | None = None
    completion: Completion | None = None
    #: The golden's answer was judged again: the judge or rubric changed since the golden was recorded.
    again: bool = False


@dataclass(frozen=True)
class CallPlace:
    """Where a call stands in its sample, fixed when the body makes it, not when it is answered: calls made
    together (``asyncio.gather``) are matched with the recorded ones by what they are, and kept in the order
    they were made, whatever order their answers come back in."""

    sample: int
    #: The sample's calls made before this one.
    position: int
    #: Of those, the ones with the same request (fingerprint): the n-th such call takes the n-th recorded answer.
    occurrence: int


@dataclass
class SampleResult:
    index: int
    exchanges: list[Exchange] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    #: The calls its checks made (``checks.judge``, ``checks.semantic_similarity``).
    check_calls: list[CheckExchange] = field(default_factory=list)
    #: The last checked value that was not a completion (already plain data), for the golden.
    value: Any = None
    has_value: bool = False
    outcome: Outcome = "passed"
    message: str = ""
    #: For a provider failure: whether retrying later could help (rate limits, outages).
    transient: bool = False
    #: Why a call was never sent: an earlier failure every call would repeat, or the budget cap.
    not_called: str | None = None

    def add_checks(self, value: Any, results: list[CheckResult]) -> None:
        names = {r.name for r in self.checks}
        for result in results:
            name, n = result.name, 2
            while name in names:  # the same check at two checkpoints stays distinguishable
                name, n = f"{result.name}#{n}", n + 1
            names.add(name)
            self.checks.append(result if name == result.name else CheckResult(name, *_rest(result)))
        if not _is_answer(value):  # an answer is in the exchanges already; the golden keeps it there
            self.value, self.has_value = to_plain(value), True

    def fail(self, exc: BaseException) -> None:
        exc = call_error(exc) or exc
        self.outcome = classify_exception(exc)
        # an SDK's error may quote the key a server repeated back; the message goes to reports and the terminal
        self.message = scrub(f"{type(exc).__name__}: {exc}".strip())
        self.transient = bool(getattr(exc, "retryable", False)) or getattr(exc, "kind", "") == "routing_failed"
        self.not_called = getattr(exc, "cause", None) if getattr(exc, "not_called", False) else None

    @property
    def format_ok(self) -> bool:
        return self.outcome != "format_error" and all(c.passed for c in self.checks if c.kind == "format")

    @property
    def passed(self) -> bool:
        return self.outcome == "passed" and all(c.passed for c in self.checks)

    @property
    def score(self) -> float:
        """Mean of the check scores; a body that failed scores 0, a body with no checks scores 1."""
        if self.outcome != "passed":
            return 0.0
        if not self.checks:
            return 1.0
        return sum(c.score for c in self.checks) / len(self.checks)

    def passes(self, threshold: float | None) -> bool:
        """Pass or fail, for counting: every check passes; or, with a threshold, every format check
        passes and the mean check score reaches it (a continuous score binarised at the threshold)."""
        if threshold is None:
            return self.passed
        return self.outcome == "passed" and self.format_ok and self.score >= threshold - 1e-9

    @property
    def fallback(self) -> Completion | None:
        """The first answer that came from a fallback model rather than the one asked for."""
        return next((c for c in self.completions() if c.fallback_from), None)

    @property
    def counted(self) -> bool:
        """Whether the sample is evidence about the model: provider failures and fallback answers are not."""
        return self.outcome != "provider_error" and self.fallback is None

    def completions(self) -> list[Completion]:
        return [e.completion for e in self.exchanges if e.completion is not None]

    def tool_calls(self) -> ToolCalls:
        """Every tool call the model made in this sample, in order, across its calls."""
        return ToolCalls(call for completion in self.completions() for call in completion.tool_calls)


def _is_answer(value: Any) -> bool:
    """A completion or tool calls (``llm_golden.tool_calls``), alone or in a list."""
    if isinstance(value, Completion | ToolCall | ToolCalls):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, Completion | ToolCall) for v in value)


def _rest(result: CheckResult) -> tuple[Any, ...]:
    return (result.kind, result.passed, result.score, result.detail)
