"""The candidate kinds: the candidate model judged against the current model's baseline.

The baseline is the golden replayed through the same body and checks (so today's code scores both
sides alike), or the current model called live (``--llm-baseline=live``, and the samples a golden lacks).
"""

from __future__ import annotations

from typing import Any

from pytest_llmversion.judge.samples import SampleResult
from pytest_llmversion.judge.verdicts import ItemOutcome, judge_scores, score_change_message
from pytest_llmversion.run.goldens import golden_document
from pytest_llmversion.run.kinds import Caught, ItemKind, Judged, Planned
from pytest_llmversion.run.paired import PairedSampling
from pytest_llmversion.run.sampler import Body, Phase
from pytest_llmversion.verdict import Verdict


class CandidateKind(ItemKind):
    """What every candidate kind shares: its phases and its judging by scores."""

    subject = "candidate"

    @property
    def live_baseline(self) -> bool:
        return self.settings.policy.baseline == "live"

    def candidate_phase(self) -> Phase:
        settings = self.settings
        own = settings.candidate_prompt == "own"
        return Phase("candidate", settings.model, settings.model if own else settings.current, False, (settings.model,))

    def baseline_phase(self, replay: bool) -> Phase:
        current = self.settings.current
        # the code under test names models once, in the current item: its candidate twin is not warned again
        return Phase("baseline", current, current, replay, None)

    def subject_phase(self) -> Phase:
        return self.candidate_phase()

    def planned(self) -> list[Planned]:
        settings, k = self.settings, self.settings.samples  # a sampled kind's first stage; top-ups come later
        calls: list[Planned] = []
        if settings.candidate_prompt == "current":  # its own prompt version renders another request
            calls.append((settings.model, range(k)))
        if self.live_baseline:
            calls.append((settings.current, range(k)))
        elif self.golden.samples < k:
            calls.append((settings.current, range(self.golden.samples, k)))
        return calls

    def baseline_reason(self) -> str | None:
        """Why there is no baseline to compare with (None when there is one)."""
        if self.live_baseline:
            return None  # the current model is sampled live: the golden is not needed
        if self.golden.problem is not None:
            return self.golden.problem
        if self.golden.golden is None:
            return self.golden.missing_reason()
        problem = self.sampler.problems.get("baseline")
        return str(problem) if problem is not None else None

    def prompt_change(self, outcome: ItemOutcome) -> dict[str, str] | None:
        """One change at a time: say so when the candidate also used another prompt version."""
        before = self.golden.prompt
        subject = self.sampler.of("candidate")
        after = next((dict(e.request.prompt) for s in subject for e in s.exchanges if e.request.prompt), None)
        if not (before and after and before.get("hash") != after.get("hash")):
            return None
        outcome.notes.append(
            f"prompt changed too: {after['task']} {before['version']} -> {after['version']}; "
            "this comparison mixes a model change with a prompt change"
        )
        return {"task": after["task"], "from": before["version"], "to": after["version"]}

    def candidate_doc(self, samples: list[SampleResult]) -> dict[str, Any] | None:
        """The candidate's answers in golden form, should it be promoted (``llmversion promote``)."""
        if not samples:
            return None
        return golden_document(self.settings.spec.golden_key, str(self.settings.model), samples)

    def judge_by_scores(self) -> Judged:
        settings = self.settings
        baseline, subject = self.sampler.of("baseline"), self.sampler.of("candidate")
        reason = self.baseline_reason()
        outcome = judge_scores(baseline, subject, settings.tolerance, no_baseline_reason=reason)
        change = self.prompt_change(outcome)
        whole = bool(subject) and all(s.exchanges and s.counted for s in subject)
        doc = self.candidate_doc(subject) if whole else None
        if self.golden.samples > 1 and settings.samples == 1 and not self.live_baseline:
            outcome.notes.append(
                f"the golden holds {self.golden.samples} samples; --llm-samples={self.golden.samples} compares the "
                "models with exact tests instead of one answer"
            )
        if outcome.verdict in (Verdict.REGRESSED, Verdict.FORMAT_BREAK, Verdict.FAILED):
            message = score_change_message(
                outcome,
                baseline=("current", f"{settings.current} ({self.baseline_label(baseline)})", baseline),
                subject=("candidate", str(settings.model), subject),
                tolerance=settings.tolerance,
            )
            if outcome.verdict is Verdict.FAILED and outcome.message:
                message += f"\n  {outcome.message}"
            outcome.message = message
        return Judged(outcome, candidate_doc=doc, prompt_change=change)


class Candidate(CandidateKind):
    """One candidate answer per case (or k, judged by mean score) against the golden or a live baseline."""

    name = "candidate"

    def sample(self, body: Body, caught: Caught) -> None:
        if self.live_baseline:
            self.sampler.samples(self.baseline_phase(replay=False), self.settings.samples, body, caught)
        elif self.golden.samples:
            self.sampler.samples(self.baseline_phase(replay=True), self.golden.samples, body, caught)
        self.sampler.samples(self.candidate_phase(), self.settings.samples, body, caught)

    def judge(self) -> Judged:
        return self.judge_by_scores()


class CandidateNoBaseline(Candidate):
    """No golden to compare with: the candidate is judged on the test's own checks alone (one sample
    when several were asked for: without a baseline, more samples would decide nothing)."""

    name = "candidate without a baseline"

    def planned(self) -> list[Planned]:
        return []  # no golden: its request is not known before the body sends it

    def sample(self, body: Body, caught: Caught) -> None:
        count = 1 if self.settings.samples >= 2 else self.settings.samples
        self.sampler.samples(self.candidate_phase(), count, body, caught)


class SampledCandidate(CandidateKind, PairedSampling):
    """Two or more samples per model: the case is judged by an exact test on pass counts."""

    name = "sampled candidate"

    def judge(self) -> Judged:
        if self.baseline_reason() is not None:
            return self.judge_by_scores()  # the golden could not be replayed: nothing to count against
        outcome, case = self.judge_pass_counts()
        change = self.prompt_change(outcome)
        counted = [s for s in self.sampler.of("candidate") if s.counted and s.exchanges]
        # every counted sample becomes the new golden's, should the candidate be promoted
        return Judged(outcome, candidate_doc=self.candidate_doc(counted), case=case, prompt_change=change)
