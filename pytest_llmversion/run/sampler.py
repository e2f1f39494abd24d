"""The part every item kind shares: it runs the test body as one sample of a phase, and answers the calls
the body makes (through ``llm`` or an SDK client) for that phase, from the golden or live.

A *phase* is an immutable description of whose answers a run of the body collects: the current model's
golden replayed (``replay``), or a model called live; and which model's prompt versions the body renders.
The ``llm`` client and the SDK transport ask the sampler for an answer through one call, ``answer(request)``
(or ``start(request)`` where the call is made, and the answer later from another thread: async code), and
read the phase running to know the model and prompt; nothing of theirs is rewritten between phases.

Calls of one sample may be answered at once (``asyncio.gather``, threads in the application): each is given
its place in the sample when it is made (``CallPlace``), and answered by what it is, not by the order of the
answers (``run/replay.py``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pytest_llmversion.checks import Check, CheckResult
from pytest_llmversion.checks.calls import CheckCall, CheckCallError, calling_checks
from pytest_llmversion.judge.samples import CallPlace, CheckExchange, Exchange, SampleResult, call_error
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.prompts.registry import PromptError
from pytest_llmversion.providers.base import Completion, ProviderError, Request, ToolCalls
from pytest_llmversion.run.check_calls import CheckCaller, CheckModels
from pytest_llmversion.run.replay import GoldenSource, GoldenStale, ReplayProblem

PhaseName = Literal["current", "baseline", "candidate"]
#: The test body, run once per sample with the item's fixtures.
Body = Callable[[], None]
#: A live call for a phase: (phase, request, its place in the sample) -> answer (the router, or a recording).
LiveCall = Callable[["Phase", Request, CallPlace], Completion]
#: A call made and numbered, to be answered when called (from any thread).
Pending = Callable[[], Completion]
#: Send calls ahead: (model, sample indices) whose first call the golden predicts (the call pool, or nothing).
Prefetch = Callable[[ModelRef, Sequence[int]], None]
#: Send ahead the first call of samples to come, as the first sample made it (no golden predicts it).
PrefetchRequest = Callable[[ModelRef, Request, Sequence[int]], None]


def no_prefetch(model: ModelRef, indices: Sequence[int]) -> None:
    """A serial run (``--llm-concurrency=1``), or a replay: nothing is sent ahead."""


def no_prefetch_request(model: ModelRef, request: Request, indices: Sequence[int]) -> None:
    """A serial run: nothing is sent ahead."""


@dataclass(frozen=True)
class Phase:
    name: PhaseName
    #: The model whose answers this phase collects (the golden's model when it replays).
    model: ModelRef
    #: The model whose prompt versions the body renders (the current model's, unless a candidate uses its own).
    prompt_model: ModelRef
    replay: bool
    #: Models application code may name without being warned; None: not checked here (a candidate item's
    #: baseline, where the current item speaks for the code).
    expected: tuple[ModelRef, ...] | None


@dataclass
class ItemSampler:
    """One item's samples, phase by phase, and the answers to the calls its body makes."""

    nodeid: str
    golden: GoldenSource
    live: LiveCall
    #: What the item's client reports between samples (fixture set-up, teardown): its own model and prompts.
    resting: Phase
    #: Whether this item calls a model in this run: the only kind that may pass on a call the plugin
    #: cannot record (``sdk.transport``).
    calls_models: bool
    root: Path | None = None
    #: The run's current model: application code that names it is calling the model under test.
    current: ModelRef | None = None
    #: Sends the calls of samples to come ahead (a case's top-ups, once its first stage decided them).
    prefetch: Prefetch = no_prefetch
    #: Sends the first call of a live phase's later samples once its first sample has made it: what a golden
    #: would have predicted, where there is none yet (a first recording, a candidate's first samples).
    prefetch_request: PrefetchRequest = no_prefetch_request
    phases: dict[str, list[SampleResult]] = field(default_factory=dict)
    #: The phase whose sample is running (None between samples).
    phase: Phase | None = None
    #: The first replay problem per phase (stale, missing, unreadable): sampling of that phase stops.
    problems: dict[str, ReplayProblem] = field(default_factory=dict)
    #: The body's first exception per phase, re-raised for pytest when the item FAILED for an ordinary reason.
    first_error: dict[str, BaseException] = field(default_factory=dict)
    #: The first call the SDK transport kept from the network: the item is ERROR with this line.
    refused: str | None = None
    #: What the SDK transport noticed (a model written into code), once each.
    notices: list[str] = field(default_factory=list)
    #: The calls checks make (an LLM judge, an embedding model): which model, and how it is called live.
    check_models: CheckModels | None = None
    check_caller: CheckCaller | None = None
    #: Why a check's call was made again on the golden's answer (its judge or rubric changed), once each.
    judged_again: list[str] = field(default_factory=list)
    _sample: SampleResult | None = None
    #: Calls the running sample has made, per request fingerprint; and its checks' calls.
    _made: Counter[str] = field(default_factory=Counter)
    _check_made: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what the llm client and the SDK transport ask --------------------------------------------

    def answer(self, request: Request) -> Completion:
        """The answer to one call of the running sample: the golden's, or the phase's model's."""
        return self.start(request)()

    def start(self, request: Request) -> Pending:
        """Make a call of the running sample: it takes its place now (where the code made it, on the event
        loop's thread for async code), and is answered when the returned function is called, from any thread."""
        with self._lock:
            sample, phase = self._sample, self.phase
            if sample is None or phase is None:
                raise RuntimeError("llm.complete() was called outside the test body")
            fingerprint = request.fingerprint()
            place = CallPlace(sample.index, len(sample.exchanges), self._made[fingerprint])
            self._made[fingerprint] += 1
            exchange = Exchange(request)
            sample.exchanges.append(exchange)
        return partial(self._answer, phase, exchange, place)

    def _answer(self, phase: Phase, exchange: Exchange, place: CallPlace) -> Completion:
        try:
            if phase.replay:
                completion = self.golden.answer(exchange.request, place)
            else:
                completion = self.live(phase, exchange.request, place)
        except (ReplayProblem, ProviderError) as exc:
            exchange.error, exchange.raised = str(exc), exc
            if isinstance(exc, ReplayProblem):
                self.problems.setdefault(phase.name, exc)
            raise
        exchange.completion = completion
        return completion

    def model(self) -> ModelRef:
        """The model the running phase answers for (what ``llm.model`` says)."""
        return (self.phase or self.resting).model

    def prompt_model(self) -> ModelRef:
        """The model whose prompt versions ``llm.prompt(task)`` resolves for now."""
        return (self.phase or self.resting).prompt_model

    def expected(self) -> tuple[ModelRef, ...] | None:
        """Models application code may name without being warned (see ``Phase.expected``)."""
        return (self.phase or self.resting).expected

    def under_test(self) -> tuple[ModelRef, ...]:
        """Models a call may name and still be about the model under test (``sdk.intercept``): the current
        model, this item's and the running phase's; any other is a side call to the model named."""
        phase = self.phase or self.resting
        return tuple(m for m in (self.current, self.resting.model, phase.model) if m is not None)

    def in_sample(self) -> bool:
        return self._sample is not None

    def notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    def refuse(self, problem: Exception) -> None:
        """A call was kept from the network (or the prompt registry failed it); the item is ERROR with its line
        even if the application caught it."""
        if self.refused is None:
            self.refused = str(problem)

    def check(self, value: Any, checks: tuple[Check, ...]) -> list[CheckResult]:
        if self._sample is None:
            raise RuntimeError("llm_golden.check() was called outside the test body")
        for check in checks:
            if not isinstance(check, Check):
                raise TypeError(f"llm_golden.check() takes checks from pytest_llmversion.checks, got {check!r}")
        with calling_checks(self):
            results = [check(value) for check in checks]
        self._sample.add_checks(value, results)
        return results

    def check_call(self, call: CheckCall) -> Completion:
        """A check's own call (``calls.CheckCallSeam``): on replay the golden's answer; when the golden's answer
        was judged by another judge or rubric, STALE in a replay and judged again in a baseline phase (a live or
        candidate run, where both sides then meet the same judge); otherwise live, through the run's services."""
        with self._lock:
            sample, phase = self._sample, self.phase
        if sample is None or phase is None or self.check_models is None or self.check_caller is None:
            raise CheckCallError(f"{call.check}: llm_golden.check() was called outside the test body")
        model = self.check_models.model_for(call)
        warning = self.check_models.notice_for(call.purpose, model)
        if warning is not None:
            self.notice(warning)
        request = self.check_caller.prepare(call, model)
        with self._lock:
            fingerprint = request.fingerprint()
            occurrence = self._check_made[fingerprint]
            self._check_made[fingerprint] += 1
            exchange = CheckExchange(call.purpose, call.check, str(model), request, call.rubric_hash)
            sample.check_calls.append(exchange)
            place = CallPlace(sample.index, len(sample.check_calls) - 1, occurrence)
        if phase.replay:
            try:
                exchange.completion = self.golden.check_answer(exchange, sample.index, occurrence)
                return exchange.completion
            except ReplayProblem as problem:
                if phase.name != "baseline" or not isinstance(problem, GoldenStale):
                    self.problems.setdefault(phase.name, problem)
                    raise
                exchange.again = True
                why = str(problem).splitlines()[0].removeprefix("STALE: ")
                note = (
                    f"{why}: the golden's answer was judged again by {model} in this run "
                    "(the judge changed, not the model)"
                )
                if note not in self.judged_again:
                    self.judged_again.append(note)
        exchange.completion = self.check_caller.call(call.purpose, model, request, place)
        return exchange.completion

    def tool_calls(self) -> ToolCalls:
        """The tool calls of the sample running now (``llm_golden.tool_calls``)."""
        return self._sample.tool_calls() if self._sample is not None else ToolCalls()

    # -- what the item kinds do --------------------------------------------------------------------

    def sample(self, phase: Phase, index: int, body: Body, caught: tuple[type[BaseException], ...]) -> SampleResult:
        """Run the body once as sample ``index`` of ``phase``."""
        sample = SampleResult(index)
        with self._lock:
            self.phase, self._sample = phase, sample
            self._made.clear()
            self._check_made.clear()
        self.phases.setdefault(phase.name, []).append(sample)
        try:
            body()
        except caught as exc:
            sample.fail(exc if call_error(exc) is not None else self._raised_in(sample, exc))
            self.first_error.setdefault(phase.name, exc)
            problem = call_error(exc)
            if isinstance(problem, PromptError):  # the registry, not the model: every sample would fail alike
                self.refuse(problem)
        finally:
            with self._lock:
                self._sample = self.phase = None
                # a call still unanswered when the body ended (a task it never awaited) is no part of the sample
                sample.exchanges[:] = [e for e in sample.exchanges if e.completion is not None or e.error is not None]
        return sample

    @staticmethod
    def _raised_in(sample: SampleResult, exc: BaseException) -> BaseException:
        """The plugin's error behind what the body raised: a call's, when the SDK raised its own error for it."""
        return next((e.raised for e in sample.exchanges if e.raised is not None), exc)

    def samples(self, phase: Phase, count: int, body: Body, caught: tuple[type[BaseException], ...]) -> None:
        """``count`` samples of ``phase``; stops at a replay problem or a refused call (the next would repeat it)."""
        for index in range(count):
            sample = self.sample(phase, index, body, caught)
            if phase.name in self.problems or self.refused is not None:
                break
            if index == 0 and count > 1 and not phase.replay:
                first = next(iter(sample.exchanges), None)
                if first is not None and first.completion is not None and first.completion.fallback_from is None:
                    # the later samples send the same first request (the same code with the same case): their
                    # answers go out together now, as a golden's would have; one nobody takes is counted as waste
                    self.prefetch_request(phase.model, first.request, range(1, count))

    def drop(self, phase: PhaseName, sample: SampleResult) -> None:
        """Forget a sample that turned out to be no sample (a live baseline call that could not be made)."""
        self.phases[phase].remove(sample)

    def of(self, phase: PhaseName) -> list[SampleResult]:
        return self.phases.get(phase, [])


class GoldenChecker:
    """``llm_golden``: ``check(output, *checks)`` scores an output; the verdict is decided after the body."""

    def __init__(self, sampler: ItemSampler) -> None:
        self._sampler = sampler

    @property
    def path(self) -> Path:
        return self._sampler.golden.key.path

    def check(self, output: Any, *checks: Check) -> list[CheckResult]:
        return self._sampler.check(output, checks)

    @property
    def tool_calls(self) -> ToolCalls:
        """Every tool call the model made in this test so far (this sample), across calls and SDK clients."""
        return self._sampler.tool_calls()
