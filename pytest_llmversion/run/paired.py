"""Sampled items (two or more samples): baseline and subject samples in pairs, topped up where they disagree.

Pairs alternate which model goes first, in an order fixed by the item and the pair, so provider hiccups
and drift hit both models alike. The baseline's sample j is the golden's sample j; for samples the golden
lacks, the current model is called live (a candidate item's top-ups; ``--llm-baseline=live`` always). A
case whose first ``k`` samples differ between the models is topped up to ``--llm-max-samples`` before it
is tested (``judge/comparison.py``).
"""

from __future__ import annotations

import hashlib

from pytest_llmversion.judge.comparison import CaseStats, judge_case, pass_rate_message, stage_one_differs
from pytest_llmversion.judge.samples import SampleResult
from pytest_llmversion.judge.verdicts import ItemOutcome, served_drift
from pytest_llmversion.run.kinds import Caught, ItemKind, Judged, LiveCurrent, Planned
from pytest_llmversion.run.sampler import Body, Phase
from pytest_llmversion.verdict import Verdict


class PairedSampling(ItemKind):
    """The sampling plan of both sampled kinds, and their judging on pass counts."""

    #: Why the current model is not called for baseline samples the golden lacks, once it failed for good.
    baseline_blocked: str | None = None

    def subject_phase(self) -> Phase:
        raise NotImplementedError

    def baseline_phase(self, replay: bool) -> Phase:
        raise NotImplementedError

    def sample(self, body: Body, caught: Caught) -> None:
        k = self.settings.samples
        if not self.live_baseline and self.golden.golden is None:
            self.sampler.sample(self.subject_phase(), 0, body, caught)  # no baseline: one sample shows the rest
            return
        for index in range(k):
            if not self.pair(index, body, caught):
                return
        baseline, subject = self.sampler.of("baseline"), self.sampler.of(self.subject)
        if stage_one_differs(baseline, subject, self.settings.threshold, k):
            top_ups = range(k, max(k, self.settings.policy.max_samples))
            self.prefetch_pairs(top_ups)  # the whole top-up goes out together, then pairs take their answers
            for index in top_ups:
                if not self.pair(index, body, caught):
                    return

    def prefetch_pairs(self, indices: range) -> None:
        """Send ahead the live calls of these pairs: the subject's, and the baseline's the golden lacks."""
        subject = self.subject_phase()
        if not subject.replay:
            self.sampler.prefetch(subject.model, indices)
        if self.settings.spec.role == "candidate" and self.baseline_blocked is None:
            live = [j for j in indices if self.live_baseline or j >= self.golden.samples]
            self.sampler.prefetch(self.settings.current, live)

    def pair(self, index: int, body: Body, caught: Caught) -> bool:
        """Sample ``index`` of both models, in an order that varies by pair; False when sampling must stop."""
        first_baseline = hashlib.sha256(f"{self.settings.nodeid}#{index}".encode()).digest()[0] % 2 == 0
        for which in ("baseline", "subject") if first_baseline else ("subject", "baseline"):
            if which == "baseline":
                sample = self.baseline_sample(index, body, caught)
                if "baseline" in self.sampler.problems:
                    return False  # the golden cannot be replayed (stale, unreadable): the verdict says so
            else:
                sample = self.sampler.sample(self.subject_phase(), index, body, caught)
            if sample is not None and sample.outcome == "provider_error" and not sample.transient:
                return False  # auth, unknown model, bad request: more calls would fail alike
            if self.sampler.refused is not None:
                return False  # the next sample would make the same call
        return True

    def baseline_sample(self, index: int, body: Body, caught: Caught) -> SampleResult | None:
        if not self.live_baseline and index < self.golden.samples:
            return self.sampler.sample(self.baseline_phase(replay=True), index, body, caught)
        if self.settings.spec.role == "current" or self.baseline_blocked is not None:
            return None  # --llm-live compares the current model with its golden: that is all the baseline there is
        sample = self.sampler.sample(self.baseline_phase(replay=False), index, body, caught)
        if sample.outcome == "provider_error" and not sample.transient and not self.live_baseline:
            # replay-only (no key in CI, say): compare with what the golden holds; this try was no sample
            # the same cause whichever call met it first: the one that failed, or one the pool then did not send
            self.baseline_blocked = sample.message.replace("not called: ", "", 1)
            self.sampler.drop("baseline", sample)
            return None
        return sample

    def judge_pass_counts(self, live_current: bool = False) -> tuple[ItemOutcome, CaseStats]:
        """The per-case exact test on both models' samples, with the one-screen message when it fails."""
        settings = self.settings
        baseline, subject = self.sampler.of("baseline"), self.sampler.of(self.subject)
        outcome, case = judge_case(
            baseline,
            subject,
            k=settings.samples,
            policy=settings.policy,
            threshold=settings.threshold,
            family_size=settings.family_size,
            golden_samples=0 if self.live_baseline else self.golden.samples,
        )
        if self.baseline_blocked is not None:
            note = (
                f"baseline: the golden holds {self.golden.samples} sample(s) and the current model could not be "
                f"called for more ({self.baseline_blocked}); compared with what the golden has"
            )
            outcome.notes.append(note)
            case.notes.append(note)
            case.replay_only = self.baseline_blocked
        if outcome.verdict in (Verdict.REGRESSED, Verdict.FORMAT_BREAK):
            outcome.message = pass_rate_message(
                outcome,
                case,
                baseline=(f"{settings.current} ({self.baseline_label(baseline)})", baseline),
                candidate=(str(settings.model), subject),
                names=("golden", "live") if live_current else ("current", "candidate"),
                verdict="DRIFT" if live_current else None,
            )
        return outcome, case


class SampledLiveCurrent(PairedSampling, LiveCurrent):
    """``--llm-live`` with samples: DRIFT when the pass rate dropped significantly or another model answered."""

    name = "sampled live current"

    def subject_phase(self) -> Phase:
        return self.current_phase(replay=False)

    def baseline_phase(self, replay: bool) -> Phase:
        return self.golden_phase()

    def planned(self) -> list[Planned]:
        return [(self.settings.current, range(self.settings.samples))]  # stage one; top-ups when decided

    def judge(self) -> Judged:
        missing = self.missing()
        if missing is not None:
            return missing
        compared, case = self.judge_pass_counts(live_current=True)
        if compared.verdict is Verdict.ERROR:
            return Judged(compared, case=case)
        outcome = ItemOutcome(Verdict.MATCH, compared.score, compared.baseline_score, notes=compared.notes)
        drift = served_drift(self.sampler.of("baseline"), self.sampler.of("current"), self.settings.model.model_id)
        if drift:
            outcome.verdict = Verdict.DRIFT
            outcome.notes.append(drift)
        if compared.verdict in (Verdict.REGRESSED, Verdict.FORMAT_BREAK):
            outcome.verdict = Verdict.DRIFT
            outcome.message = compared.message
        elif compared.verdict is not Verdict.UNCHANGED:
            outcome.notes.append(f"pass rate against the golden: {compared.verdict.value}")
        if outcome.verdict is Verdict.DRIFT and not outcome.message:
            outcome.message = "DRIFT: " + "; ".join(outcome.notes)
        return Judged(outcome, case=case)
