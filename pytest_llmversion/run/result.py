"""An item's result as it leaves the item: the typed ``ItemResult`` the report holds, and the files the
session end writes for it (``ItemArtifacts``), travelling together on the test report as one JSON string
(identical with and without pytest-xdist)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

from pytest_llmversion.judge.samples import Exchange, SampleResult
from pytest_llmversion.judge.verdicts import check_deltas, outputs_of, request_summary, several_calls, shown
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion
from pytest_llmversion.redaction import redact, safe_tree, scrub
from pytest_llmversion.report.schema import SCRUBBED, CallView, ItemResult
from pytest_llmversion.run.kinds import ItemKind, Judged
from pytest_llmversion.run.recordings import ItemRecorder
from pytest_llmversion.run.spec import ItemSpec, Mode
from pytest_llmversion.verdict import Verdict, fails

#: ``calls_detail``: a call's answer is clipped here (the first call's ``output`` keeps the larger limit), and at
#: most this many calls are kept, so a report of thousands of multi-call items stays a few megabytes.
CALL_CLIP = 4_000
CALLS_KEPT = 50


class ItemArtifacts(BaseModel):
    """What the controller writes for an item at session end; never part of the report."""

    model_config = ConfigDict(extra="forbid")

    #: The golden to write (``--llm-record``) and the candidate's answers in golden form (``llmversion promote``).
    golden_doc: dict[str, Any] | None = None
    candidate_doc: dict[str, Any] | None = None
    #: The node id ``--llm-record`` would run for this test: the header of every golden written for it.
    rerecord: str | None = None
    recording_doc: dict[str, Any] | None = None
    #: The recordings of the calls a candidate item's checks made (a judge, an embedding model), by path.
    check_recordings: dict[str, dict[str, Any]] = {}


class ItemReport(BaseModel):
    """The item's result and artifacts, as one message from the item to the session end."""

    model_config = ConfigDict(extra="forbid")

    result: ItemResult
    artifacts: ItemArtifacts = ItemArtifacts()

    def to_message(self) -> str:
        """The one JSON string that rides on the test report. A model's answer may hold a lone surrogate, which
        its golden keeps exactly: UTF-8 cannot carry one, JSON's ASCII escapes can (only then: it is rare)."""
        try:
            return self.model_dump_json()
        except PydanticSerializationError:
            return json.dumps(self.model_dump(mode="json"))

    def as_received(self) -> ItemReport:
        """This report as ``from_message(self.to_message())`` gives it, without the JSON: the result is typed
        already, and the artifacts' free-form documents (a request's parameters may be a test's own str enum or
        a tuple) take the JSON form they would have taken, that the golden and recording writers expect."""
        if not any(value for name, value in self.artifacts if name != "rerecord"):  # ``rerecord`` is a node id
            return self  # no document at all: a replayed item's report, nearly always
        artifacts = ItemArtifacts.model_validate(to_jsonable_python(self.artifacts))
        return ItemReport.model_construct(result=self.result, artifacts=artifacts)

    @classmethod
    def from_message(cls, raw: str) -> ItemReport:
        # the item scrubbed it as it was built (report/schema.py): it is not walked again
        try:
            return cls.model_validate_json(raw, context={SCRUBBED: True})
        except ValidationError:  # a lone surrogate's escape, which pydantic's parser refuses
            return cls.model_validate(json.loads(raw), context={SCRUBBED: True})


def item_report(
    kind: ItemKind, judged: Judged, *, golden_shown: str, rerecord: str, recorder: ItemRecorder | None
) -> ItemReport:
    """The message an item sends once it has run."""
    settings, sampler, outcome = kind.settings, kind.sampler, judged.outcome
    spec = settings.spec
    subject, baseline = sampler.of(kind.subject), sampler.of("baseline")
    # A fallback's answers are counted on their own, never in either model's tokens, cost or latency.
    answered = [c for s in subject for c in s.completions()]
    completions = [c for c in answered if c.fallback_from is None]
    baseline_answers = [c for s in baseline for c in s.completions()]
    baseline_live = [c for c in baseline_answers if c.source == "live" and c.fallback_from is None]
    fallbacks = [c for c in (*answered, *baseline_answers) if c.fallback_from is not None]
    prompt = next((e.request.prompt for s in subject for e in s.exchanges if e.request.prompt), None)
    notices = sorted({notice for c in completions for notice in c.notices} | set(sampler.notices))
    fields = dict(
        nodeid=settings.nodeid,
        test=spec.golden_key.test_nodeid,
        case=spec.case.id if spec.case else None,
        role=spec.role,
        model=str(settings.model),
        mode=settings.mode,
        models_served=sorted({c.model_served for c in _under_test(subject) if c.fallback_from is None}),
        verdict=outcome.verdict,
        score=_round(outcome.score),
        baseline_score=_round(outcome.baseline_score),
        delta=_round(outcome.delta),
        checks=[{"passed": _passed(subject, d.name), **d.to_dict()} for d in check_deltas(baseline, subject)],
        usage=_usage_total(completions, zeros=True),
        latency_ms=[c.latency_ms for c in completions if c.source == "live"],
        calls={
            "live": sum(c.source == "live" for c in completions),
            "replayed": sum(c.source != "live" for s in (*subject, *baseline) for c in s.completions()),
            **({"fallback": len(fallbacks)} if fallbacks else {}),
        },
        usage_by_model=_usage_by_model(completions),
        baseline_usage=_usage_total([c for c in baseline_answers if c.fallback_from is None]),
        # the current model called live for samples its golden lacks: spent money, measured latency
        baseline_live_usage_by_model=_usage_by_model(baseline_live),
        baseline_latency_ms=[c.latency_ms for c in baseline_live],
        check_calls=_check_calls(sampler.phases.values()),
        fallback_usage_by_model={
            model: usage | {"calls": sum(c.model_requested == model for c in fallbacks)}
            for model, usage in _usage_by_model(fallbacks).items()
        },
        samples=len(subject),
        baseline_samples=len(baseline),
        tags=spec.tags,
        golden=golden_shown,
        prompt=dict(prompt) if prompt else None,
        prompt_change=judged.prompt_change,
        notes=list(outcome.notes),
        message=outcome.message.splitlines()[0] if outcome.message else "",
        error=next((s.message for s in subject if s.message), None),
        not_called=next((s.not_called for s in (*subject, *baseline) if s.not_called), None),
        output=_clip(next(iter(outputs_of(subject)), None)),
        baseline_output=_clip(next(iter(outputs_of(baseline)), None)),
        calls_detail=_calls_detail(subject, baseline, fails(spec.role, outcome.verdict)),
        stats=judged.case.statistics() if judged.case is not None else None,
        provider_notices=notices,
        served_instead=_served_instead([c for c in _under_test(subject) if c.fallback_from is None], settings.model),
        recording=recorder.shown if recorder is not None else None,
        replayed_from_recording=recorder.replayed if recorder is not None else 0,
    )
    # walked for secrets once, its checks with it (report/schema.py), not once per section
    result = ItemResult.model_validate(safe_tree(fields), context={SCRUBBED: True})
    writes = judged.golden_doc is not None or judged.candidate_doc is not None
    artifacts = ItemArtifacts(
        golden_doc=judged.golden_doc,
        candidate_doc=judged.candidate_doc,
        rerecord=rerecord if writes else None,
        recording_doc=recorder.document() if recorder is not None else None,
        check_recordings=_check_recordings(kind),
    )
    return ItemReport(result=result, artifacts=artifacts)


def setup_error_report(
    spec: ItemSpec, nodeid: str, model: ModelRef | None, mode: Mode, golden_shown: str, why: str
) -> ItemReport:
    """An item whose fixtures failed still appears in the report, as ERROR with the first line why."""
    result = ItemResult(
        nodeid=nodeid,
        test=spec.golden_key.test_nodeid,
        case=spec.case.id if spec.case else None,
        role=spec.role,
        model=str(model),
        mode=mode,
        verdict=Verdict.ERROR,
        golden=golden_shown,
        tags=spec.tags,
        message=f"setup failed: {why}".splitlines()[0],
    )
    return ItemReport(result=result)


def _calls_detail(subject: list[SampleResult], baseline: list[SampleResult], failed: bool) -> list[CallView]:
    """Each call of the first sample, when the body calls the model more than once and the item failed or
    one of the answers changed; empty otherwise (a passing item's calls are its golden's, already on disk)."""
    first_subject = next((s for s in subject if s.exchanges), None)
    first_baseline = next((s for s in baseline if s.exchanges), None)
    if not several_calls(first_subject, first_baseline):
        return []
    mine = first_subject.exchanges if first_subject is not None else []
    theirs = first_baseline.exchanges if first_baseline is not None else []
    views = []
    for index in range(min(max(len(mine), len(theirs)), CALLS_KEPT)):
        ours = mine[index] if index < len(mine) else None
        golden = theirs[index] if index < len(theirs) else None
        request = (ours or golden).request  # type: ignore[union-attr]
        errors = [e.error for e in (ours, golden) if e is not None and e.error]
        views.append(
            CallView(
                # a prompt may quote a key a test put there; these lines go to reports and CI summaries
                request=scrub(request_summary(request)),
                output=_clip(_text(ours), CALL_CLIP),
                baseline_output=_clip(_text(golden), CALL_CLIP),
                error=redact(errors[0]) if errors else None,
            )
        )
    changed = any(
        v.output != v.baseline_output for v in views if v.output is not None and v.baseline_output is not None
    )
    return views if failed or changed else []


def _text(exchange: Exchange | None) -> str | None:
    """A call's answer as people read it: its text, then a line per tool call (``verdicts.shown``)."""
    return shown(exchange.completion) if exchange is not None and exchange.completion is not None else None


def _under_test(samples: list[SampleResult]) -> list[Completion]:
    """Answers about the model under test: not embeddings or side calls, whose model the code names."""
    return [
        e.completion
        for s in samples
        for e in s.exchanges
        if e.completion is not None and e.request.model is None and e.request.kind != "embedding"
    ]


def _served_instead(completions: list[Completion], model: ModelRef) -> list[str]:
    """Models a provider served instead of the id asked for (alias drift), never a fallback's, nor the embedding
    model that answered an embedding (the code names it, by design)."""
    return sorted(
        {
            c.model_served
            for c in completions
            if c.source != "golden"
            and c.fallback_from is None
            and c.model_served != model.model_id
            and c.kind != "embedding"
        }
    )


def _check_calls(phases: Iterable[list[SampleResult]]) -> dict[str, dict[str, dict[str, int]]]:
    """Per purpose and model, the calls checks made: live ones with their usage (what they cost), replayed ones
    counted (goldens and recordings are free)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for sample in (s for samples in phases for s in samples):
        for call in sample.check_calls:
            if call.completion is None:
                continue
            entry = out.setdefault(call.purpose, {}).setdefault(call.model, {"calls_live": 0, "calls_replayed": 0})
            if call.completion.source == "live":
                entry["calls_live"] += 1
                for key, value in call.completion.usage.to_dict().items():
                    entry[key] = entry.get(key, 0) + value
            else:
                entry["calls_replayed"] += 1
    return out


def _check_recordings(kind: ItemKind) -> dict[str, dict[str, Any]]:
    caller = kind.sampler.check_caller
    recorders = caller.recorders() if caller is not None else []
    return {r.shown: doc for r in recorders if (doc := r.document()) is not None}


def _usage_by_model(completions: list[Completion]) -> dict[str, dict[str, int]]:
    """Usage per model that answered (``provider/id``), so each call is priced at its own model's rate."""
    by_model: dict[str, list[Completion]] = {}
    for completion in completions:
        by_model.setdefault(completion.model_requested, []).append(completion)
    return {model: _usage_total(answers) for model, answers in by_model.items()}


def _usage_total(completions: list[Completion], zeros: bool = False) -> dict[str, int]:
    total: dict[str, int] = dict.fromkeys(("input_tokens", "output_tokens", "cached_tokens"), 0) if zeros else {}
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
