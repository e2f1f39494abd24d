"""What an item is, decided once when it starts: each kind owns its sampling plan and its judging.

=====================  ==============================================  =====================================
kind                   samples                                          verdicts
=====================  ==============================================  =====================================
ReplayedCurrent        the golden's samples, replayed                  MATCH, FAILED, STALE, MISSING, ERROR
RecordedCurrent        k live samples of the current model              RECORDED, FAILED, ERROR
LiveCurrent            the golden replayed, then one live sample        MATCH, DRIFT, MISSING, STALE, ERROR
SampledLiveCurrent     golden and live samples in pairs, top-ups        MATCH, DRIFT, MISSING, STALE, ERROR
Candidate              the baseline (golden or live), then k samples    UNCHANGED, IMPROVED, REGRESSED, ...
SampledCandidate       baseline and candidate samples in pairs, top-up  exact test per case (``comparison``)
CandidateNoBaseline    no golden to compare with: the candidate alone   NO_BASELINE, FAILED, ERROR
=====================  ==============================================  =====================================

``choice.kind_for`` is the one place the choice is made. The candidate kinds live in ``kinds_candidate.py``;
the paired sampling both sampled kinds share in ``paired.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pytest_llmversion.judge.comparison import CaseStats, GatePolicy
from pytest_llmversion.judge.samples import SampleResult, call_error
from pytest_llmversion.judge.verdicts import (
    ItemOutcome,
    fallback_message,
    judge_drift,
    mean,
    score_change_message,
    shown,
)
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.run.goldens import golden_document
from pytest_llmversion.run.replay import GoldenSource
from pytest_llmversion.run.sampler import Body, ItemSampler, Phase
from pytest_llmversion.run.spec import ItemSpec, Mode
from pytest_llmversion.verdict import Verdict

Caught = tuple[type[BaseException], ...]
#: Calls a kind will make: to this model, for these sample indices.
Planned = tuple[ModelRef, Sequence[int]]


@dataclass(frozen=True)
class KindSettings:
    """What judging one item needs to know about the run."""

    spec: ItemSpec
    nodeid: str
    mode: Mode
    current: ModelRef
    #: The role's model: the current model, or the candidate.
    model: ModelRef
    samples: int
    tolerance: float
    threshold: float | None
    policy: GatePolicy
    #: Compared items of this role collected: the m of the per-case q / m.
    family_size: int
    candidate_prompt: Literal["current", "own"]


@dataclass
class Judged:
    """An item's verdict with what it leaves for the session end."""

    outcome: ItemOutcome
    #: The golden to write (``--llm-record``), and the candidate's answers in golden form (``llmversion promote``).
    golden_doc: dict[str, Any] | None = None
    candidate_doc: dict[str, Any] | None = None
    case: CaseStats | None = None
    prompt_change: dict[str, str] | None = None
    #: The body's own exception, re-raised for pytest when the item FAILED for an ordinary reason.
    reraise: BaseException | None = None
    extra_notes: list[str] = field(default_factory=list)


class ItemKind:
    """One item while it runs: ``run(body)`` samples as the kind plans and judges what it sampled."""

    name: ClassVar[str]
    #: The phase whose samples are the item's own (its answers, tokens, latency).
    subject: ClassVar[Literal["current", "candidate"]] = "current"

    def __init__(self, settings: KindSettings, sampler: ItemSampler) -> None:
        self.settings = settings
        self.sampler = sampler

    @property
    def golden(self) -> GoldenSource:
        return self.sampler.golden

    @property
    def live_baseline(self) -> bool:
        """Whether the current model is sampled live for the baseline (a candidate's ``--llm-baseline=live``)."""
        return False

    def baseline_label(self, baseline: list[SampleResult]) -> str:
        """Where the baseline's answers came from, for the failure screen."""
        replayed = sum(c.source != "live" for s in baseline for c in s.completions()[:1])
        live = sum(c.source == "live" for s in baseline for c in s.completions()[:1])
        if live and replayed:
            return f"golden {replayed} + live {live}"
        return "live" if live else "golden"

    def run(self, body: Body, caught: Caught) -> Judged:
        self.sample(body, caught)
        if self.sampler.refused is not None:  # first: the app may have caught the exception and gone on to "pass"
            return Judged(ItemOutcome(Verdict.ERROR, None, None, self.sampler.refused))
        judged = self.judge()
        # a score that moved because the judge or rubric changed is the judge's doing: the report says so
        judged.outcome.notes.extend(n for n in self.sampler.judged_again if n not in judged.outcome.notes)
        return judged

    def sample(self, body: Body, caught: Caught) -> None:
        raise NotImplementedError

    def judge(self) -> Judged:
        raise NotImplementedError

    def planned(self) -> list[Planned]:
        """The live calls this kind will make whatever its answers (model, sample indices), before its body
        runs: the first call of each sample, whose request the golden holds (``run/pool.py``)."""
        return []

    # -- the phases ----------------------------------------------------------------------------------

    def current_phase(self, replay: bool) -> Phase:
        current = self.settings.current
        return Phase("current", current, current, replay, (current,))

    def failure_message(self, what: str, samples: list[SampleResult]) -> str:
        failing = next(s for s in samples if not s.passed)
        lines = [f"FAILED: the {what} of {self.settings.model} does not pass this test's checks"]
        if failing.message:
            lines.append(f"  test body raised {failing.message}")
        for result in failing.checks:
            if not result.passed:
                lines.append(f"  {result.name:<32} {result.score:.2f}   {result.detail}".rstrip())
        outputs = failing.completions()
        if outputs:
            lines.append("  output:")
            lines.extend(f"    {line}" for line in shown(outputs[0]).splitlines()[:20])
        return "\n".join(lines)

    def ordinary_error(self, outcome: ItemOutcome) -> BaseException | None:
        """The test's own exception when a current item FAILED for an ordinary reason pytest should show."""
        if outcome.verdict is not Verdict.FAILED:
            return None
        error = self.sampler.first_error.get("current")
        return error if error is not None and call_error(error) is None else None


class ReplayedCurrent(ItemKind):
    """A plain ``pytest``: the golden answers every call; the code around the model is what is tested."""

    name = "replayed current"

    def sample(self, body: Body, caught: Caught) -> None:
        self.sampler.samples(self.current_phase(replay=True), max(1, self.golden.samples), body, caught)

    def judge(self) -> Judged:
        samples = self.sampler.of("current")
        problem = self.sampler.problems.get("current")
        if problem is not None:
            return Judged(ItemOutcome(problem.verdict, None, None, str(problem)))
        errored = next((s for s in samples if s.outcome == "provider_error"), None)
        if errored is not None:  # a check's own call could not be made (no judge configured, a judge not pinned)
            return Judged(ItemOutcome(Verdict.ERROR, None, None, errored.message))
        score = mean([s.score for s in samples])
        # a multi-sample golden may hold samples the current model failed; those must fail alike on replay
        golden = self.golden.golden
        recorded_failing = {i for i, g in enumerate(golden.samples) if not g.passed} if golden else set()
        unexpected = [s for s in samples if not s.passed and s.index not in recorded_failing]
        if not unexpected:
            outcome = ItemOutcome(Verdict.MATCH, score, score)
            if recorded_failing:
                outcome.notes.append(
                    f"{len(recorded_failing)} of the golden's {len(samples)} samples fail the checks, as recorded"
                )
            return Judged(outcome)
        outcome = ItemOutcome(Verdict.FAILED, score, None, self.failure_message("golden replay", unexpected))
        return Judged(outcome, reraise=self.ordinary_error(outcome))


class RecordedCurrent(ItemKind):
    """``--llm-record``: the current model's answers become the golden, when they can."""

    name = "recorded current"

    def __init__(self, settings: KindSettings, sampler: ItemSampler) -> None:
        super().__init__(settings, sampler)
        #: A golden broken by hand edits is kept: no call is worth an answer that cannot be written.
        self.kept = self.golden.kept()

    def run(self, body: Body, caught: Caught) -> Judged:
        if self.kept is not None:
            note = f"golden not written: {self.golden.shown} is not valid YAML and was kept as it is"
            return Judged(ItemOutcome(Verdict.ERROR, None, None, self.kept, [note]))
        return super().run(body, caught)

    def sample(self, body: Body, caught: Caught) -> None:
        self.sampler.samples(self.current_phase(replay=False), self.settings.samples, body, caught)

    def planned(self) -> list[Planned]:
        return [] if self.kept is not None else [(self.settings.current, range(self.settings.samples))]

    def judge(self) -> Judged:
        samples = self.sampler.of("current")
        errored = next((s for s in samples if s.outcome == "provider_error"), None)
        if errored is not None:
            return Judged(ItemOutcome(Verdict.ERROR, None, None, errored.message))
        fallback = next((s.fallback for s in samples if s.fallback is not None), None)
        if fallback is not None:  # the golden is the current model's answer, or nothing
            message = fallback_message(fallback, "the current model", "recorded as") + "; the golden was left as it was"
            return Judged(ItemOutcome(Verdict.ERROR, None, None, message))
        score = mean([s.score for s in samples])
        passing = sum(s.passed for s in samples)
        # One answer must pass to become the golden. Several samples are the current model's pass rate,
        # the baseline a candidate is compared with, failing ones included.
        if len(samples) == 1 and not passing:
            message = self.failure_message("live answer", samples) + "\n  the golden was left as it was"
            outcome = ItemOutcome(Verdict.FAILED, score, None, message)
            return Judged(outcome, reraise=self.ordinary_error(outcome))
        outcome = ItemOutcome(Verdict.RECORDED, score, None)
        if passing < len(samples):
            outcome.notes.append(f"{passing} of {len(samples)} samples pass the checks; all are recorded")
        doc = golden_document(self.settings.spec.golden_key, str(self.settings.model), samples)
        return Judged(outcome, golden_doc=doc)


class LiveCurrent(ItemKind):
    """``--llm-live`` with one sample: the current model called again, compared with its golden."""

    name = "live current"

    def sample(self, body: Body, caught: Caught) -> None:
        if self.golden.samples:
            self.sampler.samples(self.golden_phase(), self.golden.samples, body, caught)
        self.sampler.samples(self.current_phase(replay=False), self.settings.samples, body, caught)

    def golden_phase(self) -> Phase:
        current = self.settings.current
        return Phase("baseline", current, current, True, (current,))

    def planned(self) -> list[Planned]:
        return [(self.settings.current, range(self.settings.samples))]

    def missing(self) -> Judged | None:
        """MISSING or ERROR when the golden cannot be the baseline; None when it can."""
        subject = self.sampler.of("current")
        reason = self.golden.problem
        if reason is None and self.golden.golden is None:
            reason = self.golden.missing_reason()
        problem = self.sampler.problems.get("baseline")
        if reason is None and problem is not None:
            reason = str(problem)
        if reason is None:
            return None
        verdict = Verdict.MISSING if self.golden.golden is None and self.golden.problem is None else Verdict.ERROR
        return Judged(ItemOutcome(verdict, mean([s.score for s in subject]), None, reason))

    def judge(self) -> Judged:
        missing = self.missing()
        if missing is not None:
            return missing
        baseline, subject = self.sampler.of("baseline"), self.sampler.of("current")
        model = self.settings.model
        outcome = judge_drift(baseline, subject, self.settings.tolerance, model.model_id)
        if outcome.verdict not in (Verdict.MATCH, Verdict.ERROR):
            outcome.message = score_change_message(
                outcome,
                baseline=("golden", str(self.settings.current), baseline),
                subject=("live", str(model), subject),
                tolerance=self.settings.tolerance,
            )
        return Judged(outcome)
