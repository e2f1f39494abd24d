"""One LLM test item while it runs: which calls are replayed or sent live, its samples, its verdict.

An item runs its test body in *phases*. A current item in replay mode has one phase that replays
its golden. A candidate item first replays the golden through the same body and checks (the
baseline, scored by today's code), then calls the candidate; the verdict compares the two. ``--llm-live``
does the same for the current model (MATCH or DRIFT) and ``--llm-record`` calls it to write goldens.

With two or more samples a candidate item is *compared* (see ``comparison.py``): baseline and candidate
samples alternate, pair by pair, in an order that varies from pair to pair, so provider hiccups and
drift hit both models alike; the baseline sample j is the golden's sample j, or a live call to the
current model for samples the golden lacks (``--llm-baseline=live``: always live).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pytest_llmversion.checks import Check
from pytest_llmversion.client import LLMClient
from pytest_llmversion.judge.comparison import CaseStats, GatePolicy, compared_message, judge_case, stage_one_differs
from pytest_llmversion.judge.samples import Exchange, SampleResult, call_error
from pytest_llmversion.judge.verdicts import (
    ItemOutcome,
    Verdict,
    check_deltas,
    comparison_message,
    fallback_message,
    judge_candidate,
    judge_live_current,
    mean,
    outputs_of,
    served_drift,
)
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, Request
from pytest_llmversion.run.cases import Case
from pytest_llmversion.run.goldens import (
    GoldenError,
    GoldenFile,
    GoldenKey,
    GoldenTooNew,
    golden_document,
    read_golden,
)
from pytest_llmversion.run.marker import MarkerSpec
from pytest_llmversion.run.recordings import ItemRecorder
from pytest_llmversion.yamlio import dump_yaml

ItemRole = Literal["current", "candidate"]
Mode = Literal["replay", "live", "record"]


@dataclass(frozen=True)
class ItemPlan:
    """What collection decided for one item; lives in ``item.stash``."""

    role: ItemRole
    case: Case | None
    spec: MarkerSpec
    key: GoldenKey


class ReplayProblem(Exception):
    """The golden cannot answer this call; carries the verdict it implies."""

    verdict = Verdict.ERROR
    llmversion_call_error = True


class GoldenMissing(ReplayProblem):
    verdict = Verdict.MISSING


class GoldenStale(ReplayProblem):
    verdict = Verdict.STALE


class GoldenUnreadable(ReplayProblem):
    verdict = Verdict.ERROR


class ItemRun:
    def __init__(
        self,
        plan: ItemPlan,
        *,
        nodeid: str,
        mode: Mode,
        model: ModelRef,
        current: ModelRef,
        samples: int,
        tolerance: float,
        candidate_prompt: Literal["current", "own"],
        route: Callable[[ModelRef], Any],
        client_factory: Callable[[ItemRun], LLMClient],
        rel: Callable[[Any], str],
        golden_cache: Path | None = None,
        recorder: ItemRecorder | None = None,
        policy: GatePolicy | None = None,
        threshold: float | None = None,
        family_size: int = 1,
    ) -> None:
        self.plan = plan
        self.nodeid = nodeid
        self.mode = mode
        self.model = model
        self.current = current
        self.samples_wanted = samples
        self.tolerance = tolerance
        self.candidate_prompt = candidate_prompt
        self._route = route
        self.golden_rel = rel(plan.key.path)
        self.golden_read_rel = self.golden_rel  # the file replayed: a golden under its legacy name, until re-recorded
        self._rel = rel
        self.golden_cache = golden_cache
        self.recorder = recorder
        self.phases: dict[str, list[SampleResult]] = {}
        self._phase = ""
        self._replaying = False
        self._sample: SampleResult | None = None
        self._problems: dict[str, ReplayProblem] = {}
        self._first_error: dict[str, BaseException] = {}
        self.golden: GoldenFile | None = None
        self.golden_error: str | None = None
        self.outcome: ItemOutcome | None = None
        self.golden_doc: dict[str, Any] | None = None
        self.policy = policy or GatePolicy()
        self.threshold = threshold
        self.family_size = family_size
        self.case_stats: CaseStats | None = None
        #: Why the current model is not called live for baseline samples the golden lacks, once it failed.
        self._baseline_live_blocked: str | None = None
        #: A candidate's answers in golden form, for ``llmversion promote``.
        self.candidate_doc: dict[str, Any] | None = None
        self.prompt_change: dict[str, str] | None = None
        #: What the SDK fixtures' transport noticed (a model written into code, a call sent unrecorded).
        self.notices: list[str] = []
        #: The first call the SDK fixtures' transport refused to send (``sdk.transport``): the item is ERROR.
        self.refused: str | None = None
        self.client = client_factory(self)

    # -- the send function the llm client uses ---------------------------------------------------

    def send(self, request: Request) -> Completion:
        sample = self._sample
        if sample is None:
            raise RuntimeError("llm.complete() was called outside the test body")
        call_index = len(sample.exchanges)
        try:
            if self._replaying:
                completion = self._replay(request, sample.index, call_index)
            else:
                completion = self._call_live(request, sample.index)
        except (ReplayProblem, ProviderError) as exc:
            sample.exchanges.append(Exchange(request, None, str(exc)))
            if isinstance(exc, ReplayProblem):
                self._problems.setdefault(self._phase, exc)
            raise
        sample.exchanges.append(Exchange(request, completion))
        return completion

    def _call_live(self, request: Request, sample_index: int) -> Completion:
        """Through the router; a candidate item's recorder may answer from its recording instead."""
        route = self._route(self.client.model)
        if self.recorder is None or self._phase != "candidate":
            completion: Completion = route.complete(request, sample_index=sample_index)
            return completion
        return self.recorder.complete(route, request, sample_index)

    def _replay(self, request: Request, sample_index: int, call_index: int) -> Completion:
        golden_path = self.golden_read_rel
        if self.golden_error is not None:
            raise GoldenUnreadable(self.golden_error)
        if self.golden is None:
            raise GoldenMissing(
                f'MISSING: no golden at {golden_path}\n  record it: pytest --llm-record "{self.current_nodeid}"'
            )
        if self.golden.model != str(self.current):
            raise GoldenStale(
                f"STALE: the golden {golden_path} was recorded by {self.golden.model}, but the current model is "
                f'{self.current}\n  re-record it (pytest --llm-record "{self.current_nodeid}") or promote a '
                "candidate run (llmversion promote)"
            )
        if call_index >= self.golden.calls_per_sample(sample_index):
            raise GoldenStale(
                f"STALE: the test now makes call {call_index + 1}, the golden {golden_path} recorded "
                f"{self.golden.calls_per_sample(sample_index)}\n"
                f'  re-record: pytest --llm-record "{self.current_nodeid}"'
            )
        fingerprint, recorded, completion = self.golden.recorded_call(sample_index, call_index)
        if self.golden.request_edited(sample_index, call_index):
            raise GoldenStale(self._stale_message(golden_path, recorded, request, edited=True))
        if fingerprint != request.fingerprint():
            raise GoldenStale(self._stale_message(golden_path, recorded, request))
        return completion

    def _stale_message(
        self, golden_path: str, recorded: dict[str, Any] | None, request: Request, edited: bool = False
    ) -> str:
        old = dump_yaml(recorded or {}).splitlines()
        new = dump_yaml(request.canonical()).splitlines()
        diff = list(difflib.unified_diff(old, new, "golden", "now", lineterm="", n=1))[2:]
        if edited:
            headline = "STALE: the golden's request was edited after recording; its answer is for another request"
            diff = diff or ["(none: the edited request is what the test sends now)"]
            fix = f're-record: pytest --llm-record "{self.current_nodeid}"'
        else:
            headline = "STALE: the golden was recorded for a different request than the test sends now"
            fix = f'if the change is intended, re-record: pytest --llm-record "{self.current_nodeid}"'
        lines = [
            headline,
            f"  golden: {golden_path}",
            "  request, golden (-) vs now (+):",
            *(f"    {line}" for line in diff[:40]),
            f"  {fix}",
        ]
        return "\n".join(lines)

    @property
    def current_nodeid(self) -> str:
        """The node id of this test's current item, the one ``--llm-record`` should run."""
        if self.plan.role == "current" or not self.nodeid.endswith("candidate]"):
            return self.nodeid
        return self.nodeid[: -len("candidate]")] + "current]"

    @property
    def calls_models(self) -> bool:
        """Whether this item calls a model in this run (``--llm-record``, ``--llm-live``, a candidate not answered
        from its recording alone): the only kind that may send a call the plugin cannot record (``sdk.transport``)."""
        if self.plan.role == "current":
            return self.mode != "replay"
        return self.recorder is None or not self.recorder.replay_only

    def refuse(self, problem: Exception) -> None:
        """A call was kept from the network; the item is ERROR with its line even if the application caught it."""
        if self.refused is None:
            self.refused = str(problem)

    # -- checks ------------------------------------------------------------------------------------

    def check(self, value: Any, checks: tuple[Check, ...]) -> list[Any]:
        if self._sample is None:
            raise RuntimeError("llm_golden.check() was called outside the test body")
        for check in checks:
            if not isinstance(check, Check):
                raise TypeError(f"llm_golden.check() takes checks from pytest_llmversion.checks, got {check!r}")
        results = [check(value) for check in checks]
        self._sample.add_checks(value, results)
        return results

    # -- running the body --------------------------------------------------------------------------

    def load_golden(self) -> None:
        folder = self.plan.key.folder
        try:
            self.golden, path = read_golden(self.plan.key, self.golden_cache)
            self.golden_read_rel = self._rel(path)
        except GoldenError as exc:
            problem = str(exc).replace(str(folder), self._rel(folder), 1)
            fix = (
                ""
                if isinstance(exc, GoldenTooNew)
                else f'; fix it, or re-record: pytest --llm-record "{self.current_nodeid}"'
            )
            self.golden_error = problem + fix

    @property
    def compared(self) -> bool:
        """Two or more samples of a candidate, or of the current model under ``--llm-live``: judged by
        exact tests on pass counts against the baseline's samples."""
        return self.samples_wanted >= 2 and (self.plan.role == "candidate" or self.mode == "live")

    @property
    def live_baseline(self) -> bool:
        return self.plan.role == "candidate" and self.policy.baseline == "live"

    def run(self, body: Callable[[], None], caught: tuple[type[BaseException], ...]) -> ItemOutcome:
        role, mode = self.plan.role, self.mode
        if not (role == "current" and mode == "record"):
            self.load_golden()
        golden_samples = len(self.golden.samples) if self.golden else 0
        if role == "current" and mode == "replay":
            self._run_phase("current", True, max(1, golden_samples), body, caught)
        elif role == "current" and mode == "record":
            self._run_phase("current", False, self.samples_wanted, body, caught)
        elif self.compared:
            self._run_compared(body, caught)
        else:
            if role == "candidate" and self.live_baseline:
                self._run_phase("baseline", False, self.samples_wanted, body, caught)
            elif golden_samples:
                self._run_phase("baseline", True, golden_samples, body, caught)
            self._run_phase(role, False, self.samples_wanted, body, caught)
        self.outcome = self._judge()
        return self.outcome

    def _run_phase(
        self, name: str, replaying: bool, count: int, body: Callable[[], None], caught: tuple[type[BaseException], ...]
    ) -> None:
        for index in range(count):
            self._run_sample(name, index, replaying, body, caught)
            if name in self._problems or self.refused is not None:
                break

    def _run_sample(
        self, name: str, index: int, replaying: bool, body: Callable[[], None], caught: tuple[type[BaseException], ...]
    ) -> SampleResult:
        self._phase, self._replaying = name, replaying
        self.client.model = self.current if name == "baseline" else self.model
        own_prompt = name == "candidate" and self.candidate_prompt == "own"
        self.client.prompt_model = self.model if own_prompt else self.current
        sample = self._sample = SampleResult(index)
        self.phases.setdefault(name, []).append(sample)
        try:
            body()
        except caught as exc:
            sample.fail(exc)
            self._first_error.setdefault(name, exc)
        self._sample = None
        return sample

    # -- compared items: interleaved samples, adaptive top-up --------------------------------------

    def _run_compared(self, body: Callable[[], None], caught: tuple[type[BaseException], ...]) -> None:
        k = self.samples_wanted
        if not self.live_baseline and self.golden is None:
            self._run_sample(self.plan.role, 0, False, body, caught)  # no baseline: one sample shows the rest
            return
        for index in range(k):
            if not self._run_pair(index, body, caught):
                return
        baseline, candidate = self.phases.get("baseline", []), self.phases.get(self.plan.role, [])
        if stage_one_differs(baseline, candidate, self.threshold, k):
            for index in range(k, max(k, self.policy.max_samples)):
                if not self._run_pair(index, body, caught):
                    return

    def _run_pair(self, index: int, body: Callable[[], None], caught: tuple[type[BaseException], ...]) -> bool:
        """Sample ``index`` of both models, in an order that varies by pair; False when sampling must stop."""
        first_baseline = hashlib.sha256(f"{self.nodeid}#{index}".encode()).digest()[0] % 2 == 0
        for name in ("baseline", self.plan.role) if first_baseline else (self.plan.role, "baseline"):
            if name == "baseline":
                sample = self._baseline_sample(index, body, caught)
                if "baseline" in self._problems:
                    return False  # the golden cannot be replayed (stale, unreadable): the verdict says so
            else:
                sample = self._run_sample(name, index, False, body, caught)
            if sample is not None and sample.outcome == "provider_error" and not sample.transient:
                return False  # auth, unknown model, bad request: more calls would fail alike
            if self.refused is not None:
                return False  # the next sample would make the same call
        return True

    def _baseline_sample(
        self, index: int, body: Callable[[], None], caught: tuple[type[BaseException], ...]
    ) -> SampleResult | None:
        golden_samples = len(self.golden.samples) if self.golden else 0
        if not self.live_baseline and index < golden_samples:
            return self._run_sample("baseline", index, True, body, caught)
        if self.plan.role == "current" or self._baseline_live_blocked is not None:
            return None  # --llm-live compares the current model with its golden: that is all the baseline there is
        sample = self._run_sample("baseline", index, False, body, caught)
        if sample.outcome == "provider_error" and not sample.transient and not self.live_baseline:
            # replay-only (no key in CI, say): compare with what the golden holds; this try was no sample
            self._baseline_live_blocked = sample.message
            self.phases["baseline"].remove(sample)
            return None
        return sample

    # -- verdicts ----------------------------------------------------------------------------------

    @property
    def reraise(self) -> BaseException | None:
        """The test's own exception, when the item failed for an ordinary reason pytest should show."""
        if self.plan.role == "current" and self.outcome is not None and self.outcome.verdict is Verdict.FAILED:
            error = self._first_error.get("current")
            if error is not None and call_error(error) is None:
                return error
        return None

    def _judge(self) -> ItemOutcome:
        if self.refused is not None:  # first: the app may have caught the exception and gone on to "pass"
            return ItemOutcome(Verdict.ERROR, False, None, None, self.refused)
        role, mode = self.plan.role, self.mode
        if role == "current" and mode == "replay":
            return self._judge_replay()
        if role == "current" and mode == "record":
            return self._judge_record()
        baseline = self.phases.get("baseline", [])
        subject = self.phases.get(role, [])
        problem = self._problems.get("baseline")
        reason = None
        if role == "candidate" and self.live_baseline:
            pass  # the current model is sampled live: the golden is not needed
        elif self.golden_error is not None:
            reason = self.golden_error
        elif self.golden is None:
            reason = f'no golden at {self.golden_rel}; record it: pytest --llm-record "{self.current_nodeid}"'
        elif problem is not None:
            reason = str(problem)
        if role == "current":
            if reason is not None:
                verdict = Verdict.MISSING if self.golden is None and self.golden_error is None else Verdict.ERROR
                return ItemOutcome(verdict, False, mean([s.score for s in subject]), None, reason)
            if self.compared:
                return self._judge_live_compared(baseline, subject)
            outcome = judge_live_current(baseline, subject, self.tolerance, self.model.model_id)
            names = ("golden", str(self.current)), ("live", str(self.model))
        elif self.compared and reason is None:
            return self._judge_compared(baseline, subject)
        else:
            outcome = judge_candidate(baseline, subject, self.tolerance, no_baseline_reason=reason)
            names = ("current", f"{self.current} ({self._baseline_label(baseline)})"), ("candidate", str(self.model))
            self._note_prompt_change(outcome, subject)
            if subject and all(s.exchanges and s.counted for s in subject):
                self.candidate_doc = golden_document(self.plan.key, str(self.model), subject)
            golden_samples = len(self.golden.samples) if self.golden else 0
            if golden_samples > 1 and self.samples_wanted == 1 and not self.live_baseline:
                outcome.notes.append(
                    f"the golden holds {golden_samples} samples; --llm-samples={golden_samples} compares the models "
                    "with exact tests instead of one answer"
                )
        if not outcome.passed and outcome.verdict is not Verdict.ERROR:
            outcome.message = comparison_message(
                outcome,
                baseline=(*names[0], baseline),
                subject=(*names[1], subject),
                tolerance=self.tolerance,
            ) + (f"\n  {outcome.message}" if outcome.message and outcome.verdict is Verdict.NO_BASELINE else "")
        return outcome

    def _baseline_label(self, baseline: list[SampleResult]) -> str:
        replayed = sum(c.source != "live" for s in baseline for c in s.completions()[:1])
        live = sum(c.source == "live" for s in baseline for c in s.completions()[:1])
        if live and replayed:
            return f"golden {replayed} + live {live}"
        return "live" if live else "golden"

    def _judge_compared(
        self, baseline: list[SampleResult], subject: list[SampleResult], live_current: bool = False
    ) -> ItemOutcome:
        golden_samples = len(self.golden.samples) if self.golden else 0
        outcome, case = judge_case(
            baseline,
            subject,
            k=self.samples_wanted,
            policy=self.policy,
            threshold=self.threshold,
            family_size=self.family_size,
            golden_samples=0 if self.live_baseline else golden_samples,
        )
        if self._baseline_live_blocked is not None:
            note = (
                f"baseline: the golden holds {golden_samples} sample(s) and the current model could not be called "
                f"for more ({self._baseline_live_blocked}); compared with what the golden has"
            )
            outcome.notes.append(note)
            case.notes.append(note)
            case.replay_only = self._baseline_live_blocked
        if not live_current:
            self._note_prompt_change(outcome, subject)
            counted = [s for s in subject if s.counted and s.exchanges]
            if counted:  # every counted sample becomes the new golden's, should the candidate be promoted
                self.candidate_doc = golden_document(self.plan.key, str(self.model), counted)
        self.case_stats = case
        if not outcome.passed and outcome.verdict is not Verdict.ERROR:
            outcome.message = compared_message(
                outcome,
                case,
                baseline=(f"{self.current} ({self._baseline_label(baseline)})", baseline),
                candidate=(str(self.model), subject),
                names=("golden", "live") if live_current else ("current", "candidate"),
                verdict="DRIFT" if live_current else None,
            )
        return outcome

    def _judge_live_compared(self, baseline: list[SampleResult], subject: list[SampleResult]) -> ItemOutcome:
        """``--llm-live`` with samples: DRIFT when the pass rate dropped significantly or another model answered."""
        compared = self._judge_compared(baseline, subject, live_current=True)
        if compared.verdict is Verdict.ERROR:
            return compared
        outcome = ItemOutcome(Verdict.MATCH, True, compared.score, compared.baseline_score, notes=compared.notes)
        drift = served_drift(baseline, subject, self.model.model_id)
        if drift:
            outcome.verdict, outcome.passed = Verdict.DRIFT, False
            outcome.notes.append(drift)
        if not compared.passed:
            outcome.verdict, outcome.passed = Verdict.DRIFT, False
            outcome.message = compared.message
        elif compared.verdict is not Verdict.UNCHANGED:
            outcome.notes.append(f"pass rate against the golden: {compared.verdict.value}")
        if not outcome.passed and not outcome.message:
            outcome.message = "DRIFT: " + "; ".join(outcome.notes)
        return outcome

    def _note_prompt_change(self, outcome: ItemOutcome, subject: list[SampleResult]) -> None:
        """One change at a time: say so when the candidate also used another prompt version."""
        before = self.golden.prompt if self.golden else None
        after = next((dict(e.request.prompt) for s in subject for e in s.exchanges if e.request.prompt), None)
        if before and after and before.get("hash") != after.get("hash"):
            self.prompt_change = {"task": after["task"], "from": before["version"], "to": after["version"]}
            outcome.notes.append(
                f"prompt changed too: {after['task']} {before['version']} -> {after['version']}; "
                "this comparison mixes a model change with a prompt change"
            )

    def _judge_replay(self) -> ItemOutcome:
        samples = self.phases["current"]
        problem = self._problems.get("current")
        if problem is not None:
            return ItemOutcome(problem.verdict, False, None, None, str(problem))
        score = mean([s.score for s in samples])
        # a multi-sample golden may hold samples the current model failed; those must fail alike on replay
        recorded_failing = {i for i, g in enumerate(self.golden.samples) if not g.passed} if self.golden else set()
        unexpected = [s for s in samples if not s.passed and s.index not in recorded_failing]
        if not unexpected:
            outcome = ItemOutcome(Verdict.MATCH, True, score, score)
            if recorded_failing:
                outcome.notes.append(
                    f"{len(recorded_failing)} of the golden's {len(samples)} samples fail the checks, as recorded"
                )
            return outcome
        return ItemOutcome(Verdict.FAILED, False, score, None, self._failure_message("golden replay", unexpected))

    def _judge_record(self) -> ItemOutcome:
        samples = self.phases["current"]
        errored = next((s for s in samples if s.outcome == "provider_error"), None)
        if errored is not None:
            return ItemOutcome(Verdict.ERROR, False, None, None, errored.message)
        fallback = next((s.fallback for s in samples if s.fallback is not None), None)
        if fallback is not None:  # the golden is the current model's answer, or nothing
            message = fallback_message(fallback, "the current model", "recorded as") + "; the golden was left as it was"
            return ItemOutcome(Verdict.ERROR, False, None, None, message)
        score = mean([s.score for s in samples])
        passing = sum(s.passed for s in samples)
        # One answer must pass to become the golden. Several samples are the current model's pass rate,
        # the baseline a candidate is compared with, failing ones included.
        if len(samples) == 1 and not passing:
            message = self._failure_message("live answer", samples) + "\n  the golden was left as it was"
            return ItemOutcome(Verdict.FAILED, False, score, None, message)
        self.golden_doc = golden_document(self.plan.key, str(self.model), samples)
        outcome = ItemOutcome(Verdict.RECORDED, True, score, None)
        if passing < len(samples):
            outcome.notes.append(f"{passing} of {len(samples)} samples pass the checks; all are recorded")
        return outcome

    def _failure_message(self, what: str, samples: list[SampleResult]) -> str:
        failing = next(s for s in samples if not s.passed)
        lines = [f"FAILED: the {what} of {self.model} does not pass this test's checks"]
        if failing.message:
            lines.append(f"  test body raised {failing.message}")
        for result in failing.checks:
            if not result.passed:
                lines.append(f"  {result.name:<32} {result.score:.2f}   {result.detail}".rstrip())
        outputs = failing.completions()
        if outputs:
            lines.append("  output:")
            lines.extend(f"    {line}" for line in outputs[0].text.splitlines()[:20])
        return "\n".join(lines)

    # -- what travels on the test report -----------------------------------------------------------

    def report_data(self) -> dict[str, Any]:
        outcome = self.outcome
        role = self.plan.role
        subject = self.phases.get("current" if role == "current" else role, [])
        baseline = self.phases.get("baseline", [])
        # A fallback's answers are counted on their own, never in either model's tokens, cost or latency.
        answered = [c for s in subject for c in s.completions()]
        completions = [c for c in answered if c.fallback_from is None]
        baseline_answers = [c for s in baseline for c in s.completions()]
        baseline_live = [c for c in baseline_answers if c.source == "live" and c.fallback_from is None]
        fallbacks = [c for c in (*answered, *baseline_answers) if c.fallback_from is not None]
        usage: dict[str, int] = {"input_tokens": 0, "output_tokens": 0, "cached_tokens": 0}
        for completion in completions:
            for key, value in completion.usage.to_dict().items():
                usage[key] += value
        prompt = next((e.request.prompt for s in subject for e in s.exchanges if e.request.prompt), None)
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "test": self.plan.key.test_nodeid,
            "case": self.plan.case.id if self.plan.case else None,
            "role": role,
            "model": str(self.model),
            "mode": self.mode,
            "models_served": sorted({c.model_served for c in completions}),
            "verdict": outcome.verdict.value if outcome else Verdict.ERROR.value,
            "passed": bool(outcome and outcome.passed),
            "score": _round(outcome.score if outcome else None),
            "baseline_score": _round(outcome.baseline_score if outcome else None),
            "delta": _round(outcome.delta if outcome else None),
            "checks": [d.to_dict() | {"passed": _passed(subject, d.name)} for d in check_deltas(baseline, subject)],
            "usage": usage,
            "latency_ms": [c.latency_ms for c in completions if c.source == "live"],
            "usage_by_model": _usage_by_model(completions),
            "baseline_usage": _usage_total([c for c in baseline_answers if c.fallback_from is None]),
            # the current model called live for samples its golden lacks: spent money, measured latency
            "baseline_live_usage_by_model": _usage_by_model(baseline_live),
            "baseline_latency_ms": [c.latency_ms for c in baseline_live],
            "calls": {
                "live": sum(c.source == "live" for c in completions),
                "replayed": sum(c.source != "live" for s in (*subject, *baseline) for c in s.completions()),
                **({"fallback": len(fallbacks)} if fallbacks else {}),
            },
            "fallback_usage_by_model": {
                model: usage | {"calls": sum(c.model_requested == model for c in fallbacks)}
                for model, usage in _usage_by_model(fallbacks).items()
            },
            "samples": len(subject),
            "baseline_samples": len(baseline),
            "stats": self.case_stats.to_dict() if self.case_stats is not None else None,
            "tags": sorted({*self.plan.spec.tags, *(self.plan.case.tags if self.plan.case else ())}),
            "golden": self.golden_rel,
            "prompt": dict(prompt) if prompt else None,
            "notes": list(outcome.notes) if outcome else [],
            "message": (outcome.message.splitlines()[0] if outcome and outcome.message else ""),
            "error": next((s.message for s in subject if s.message), None),
            "not_called": next((s.not_called for s in (*subject, *baseline) if s.not_called), None),
            "output": _clip(next(iter(outputs_of(subject)), None)),
            "baseline_output": _clip(next(iter(outputs_of(baseline)), None)),
        }
        if self.golden_doc is not None:
            data["golden_doc"] = self.golden_doc
        if self.candidate_doc is not None:
            data["candidate_doc"] = self.candidate_doc
        if self.golden_doc is not None or self.candidate_doc is not None:
            data["rerecord"] = self.current_nodeid
        if self.prompt_change is not None:
            data["prompt_change"] = self.prompt_change
        data |= self._provider_data(completions)
        return data

    def _provider_data(self, completions: list[Completion]) -> dict[str, Any]:
        """What the providers said besides the answers: SDK notices, a served model other than the one asked
        for (alias drift), and the recording to write at session end."""
        data: dict[str, Any] = {}
        notices = sorted({notice for c in completions for notice in c.notices} | set(self.notices))
        if notices:
            data["provider_notices"] = notices
        served = sorted(
            {
                c.model_served
                for c in completions
                if c.source != "golden" and c.fallback_from is None and c.model_served != self.model.model_id
            }
        )
        if served:
            data["served_instead"] = served
        if self.recorder is not None:
            data["recording"] = self.recorder.shown
            if self.recorder.replayed:
                data["replayed_from_recording"] = self.recorder.replayed
            document = self.recorder.document()
            if document is not None:
                data["recording_doc"] = document
        return data


def _usage_by_model(completions: list[Completion]) -> dict[str, dict[str, int]]:
    """Usage per model that answered (``provider/id``), so each call is priced at its own model's rate."""
    by_model: dict[str, list[Completion]] = {}
    for completion in completions:
        by_model.setdefault(completion.model_requested, []).append(completion)
    return {model: _usage_total(answers) for model, answers in by_model.items()}


def _usage_total(completions: list[Completion]) -> dict[str, int]:
    total: dict[str, int] = {}
    for completion in completions:
        for key, value in completion.usage.to_dict().items():
            total[key] = total.get(key, 0) + value
    return total


def _passed(samples: list[SampleResult], name: str) -> bool:
    return all(r.passed for s in samples for r in s.checks if r.name == name)


def _clip(text: str | None, limit: int = 20_000) -> str | None:
    """Outputs ride on reports for the Markdown and HTML views; a huge one is cut, and says so."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n... ({len(text) - limit} more characters)"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
