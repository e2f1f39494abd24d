"""Judging one answer (or a few) against a baseline by scores, and the one-screen message that says what
changed. The verdicts and which of them fail are in ``pytest_llmversion.verdict``; two or more samples
are judged on pass counts instead (``comparison.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmversion.judge.samples import Exchange, SampleResult
from pytest_llmversion.providers.base import Completion, Request, ToolCall
from pytest_llmversion.report.diff import DIFF_LINES, output_diff, text_lines, unified
from pytest_llmversion.report.format import plural
from pytest_llmversion.verdict import Verdict

EPSILON = 1e-9


@dataclass
class CheckDelta:
    name: str
    kind: str
    baseline: float | None
    subject: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "baseline": None if self.baseline is None else round(self.baseline, 4),
            "score": round(self.subject, 4),
            "detail": self.detail,
        }


@dataclass
class ItemOutcome:
    """What judging decided for an item; whether it fails follows from its verdict (``verdict.fails``)."""

    verdict: Verdict
    score: float | None = None
    baseline_score: float | None = None
    message: str = ""
    notes: list[str] = field(default_factory=list)
    moved: list[CheckDelta] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.score is None or self.baseline_score is None:
            return None
        return self.score - self.baseline_score


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def check_deltas(baseline: Sequence[SampleResult], subject: Sequence[SampleResult]) -> list[CheckDelta]:
    """Per check: mean score on the baseline and the subject, with the subject's first failure detail."""

    def by_name(samples: Sequence[SampleResult]) -> dict[str, list[Any]]:
        table: dict[str, list[Any]] = {}
        for sample in samples:
            for result in sample.checks:
                table.setdefault(result.name, []).append(result)
        return table

    base, subj = by_name(baseline), by_name(subject)
    deltas = []
    for name, results in subj.items():
        detail = next((r.detail for r in results if not r.passed), results[-1].detail)
        base_scores = [r.score for r in base.get(name, [])]
        deltas.append(
            CheckDelta(
                name,
                results[0].kind,
                mean(base_scores) if base_scores else None,
                mean([r.score for r in results]),
                detail,
            )
        )
    return deltas


def judge_scores(
    baseline: Sequence[SampleResult],
    subject: Sequence[SampleResult],
    tolerance: float,
    *,
    no_baseline_reason: str | None = None,
) -> ItemOutcome:
    """Judge the subject's samples (the candidate, or the current model called live) against the baseline's
    (the golden replayed, or the current model called live), scored by the same checks."""
    score = mean([s.score for s in subject])
    base_score = mean([s.score for s in baseline]) if baseline and no_baseline_reason is None else None
    # a baseline whose judge could not be asked again (its judge or rubric changed) cannot be compared either
    errored = [s for s in (*subject, *baseline) if s.outcome == "provider_error"]
    if errored:
        # a provider failure says nothing about the model's answers: never scored, never REGRESSED
        failed = errored[0].message
        if failed.startswith("CheckCallError: "):  # a judge or embedding model, not the model under test
            message = f"ERROR: {failed.removeprefix('CheckCallError: ')}; nothing was scored"
        else:
            message = f"ERROR: the provider failed, so nothing was scored: {failed}"
        return ItemOutcome(Verdict.ERROR, None, base_score, message)
    fallback = next((c for s in subject for c in s.completions() if c.fallback_from), None)
    if fallback is not None:
        return ItemOutcome(Verdict.ERROR, None, base_score, fallback_message(fallback, "the candidate", "scored as"))
    if no_baseline_reason is not None or not baseline:
        # nothing to compare with: the answer is judged on the test's own checks alone
        verdict = Verdict.NO_BASELINE if all(s.passed for s in subject) else Verdict.FAILED
        return ItemOutcome(verdict, score, None, no_baseline_reason or "no baseline samples")
    base_score = mean([s.score for s in baseline])
    moved = [d for d in check_deltas(baseline, subject) if d.baseline is None or abs(d.subject - d.baseline) > EPSILON]
    outcome = ItemOutcome(Verdict.UNCHANGED, score, base_score, moved=moved)
    format_broke = all(s.format_ok for s in baseline) and not all(s.format_ok for s in subject)
    if format_broke:
        outcome.verdict = Verdict.FORMAT_BREAK
    elif score < base_score - tolerance - EPSILON:
        outcome.verdict = Verdict.REGRESSED
    elif score > base_score + tolerance + EPSILON:
        outcome.verdict = Verdict.IMPROVED
    return outcome


def fallback_message(answer: Completion, whose: str, used: str) -> str:
    """One line: which fallback answered instead of ``whose`` model, and why its answer is not used."""
    return (
        f"ERROR: answered by fallback {answer.model_requested}, not {whose} {answer.fallback_from} "
        f"({answer.fallback_reason}); a fallback's answer is never {used} {whose}'s"
    )


def judge_drift(
    baseline: Sequence[SampleResult], subject: Sequence[SampleResult], tolerance: float, requested_id: str
) -> ItemOutcome:
    """``--llm-live``: the pinned current model called again, compared with its golden (MATCH or DRIFT)."""
    fallback = next((c for s in subject for c in s.completions() if c.fallback_from), None)
    if fallback is not None:  # another model's answer says nothing about whether this one drifted
        return ItemOutcome(Verdict.ERROR, None, None, fallback_message(fallback, "the current model", "judged as"))
    compared = judge_scores(baseline, subject, tolerance)
    if compared.verdict is Verdict.ERROR:
        return compared
    outcome = ItemOutcome(Verdict.MATCH, compared.score, compared.baseline_score, moved=compared.moved)
    drift = served_drift(baseline, subject, requested_id)
    if drift:
        outcome.verdict = Verdict.DRIFT
        outcome.notes.append(drift)
    if compared.verdict in (Verdict.FORMAT_BREAK, Verdict.REGRESSED):
        outcome.verdict = Verdict.DRIFT
        outcome.notes.append("format break" if compared.verdict is Verdict.FORMAT_BREAK else "scores dropped")
    elif outputs_of(baseline) != outputs_of(subject):
        # the answer reads differently but scores as well: worth a note, not a failure (DRIFT always fails)
        outcome.notes.append("output text changed; scores held")
    return outcome


def served_drift(golden: Sequence[SampleResult], live: Sequence[SampleResult], requested_id: str) -> str | None:
    """The note when the provider now serves another model than the one that answered the golden, else None.

    Compared with what the golden recorded, not with the id requested: an allowed alias serves its snapshot,
    and a provider may name the model its own way (``gemini-2.5-flash-001``, an Azure deployment); neither
    is drift while it stays what it was when the golden was recorded.
    """
    recorded = {c.model_served for s in golden for c in s.completions() if c.kind != "embedding"} or {requested_id}
    # a fallback's answer is another model's by design, an embedding the embedding model's: neither is drift
    now = {c.model_served for s in live if s.counted for c in s.completions() if c.kind != "embedding"} - recorded
    if not now:
        return None
    served = ", ".join(sorted(now))
    if recorded == {requested_id}:
        return f"the provider served {served} for pinned {requested_id}"
    before = ", ".join(sorted(recorded))
    return f"the provider served {served} for {requested_id}, not {before} as when its golden was recorded"


def outputs_of(samples: Sequence[SampleResult]) -> list[str]:
    """Each answer as people read it (``shown``), in order: what the report shows and ``--llm-live`` compares."""
    return [shown(c) for s in samples for c in s.completions()]


def shown(answer: Completion) -> str:
    """An answer as text: its text, then a line per tool call; the other kinds by what they hold (an embedding's
    numbers are left out: providers vary them in the last bits from call to call)."""
    if answer.kind == "embedding":
        dimensions = len(answer.embeddings[0]) if answer.embeddings else 0
        return f"({len(answer.embeddings)} embedding(s) of {dimensions} dimensions)"
    if answer.kind == "count_tokens":
        return f"(token count: {answer.token_count})"
    if answer.kind in ("model_info", "model_list"):
        return f"(model info: {json.dumps(answer.model_info, sort_keys=True, ensure_ascii=False)})"
    lines = [answer.text] if answer.text or not answer.tool_calls else []
    return "\n".join(lines + call_lines(answer))


def call_lines(answer: Completion) -> list[str]:
    """One line per tool call: ``tool call lookup_order {"order_id": "A1"}`` (the raw text when it is not JSON)."""
    return _call_lines(answer.tool_calls)


def _call_lines(calls: Sequence[ToolCall]) -> list[str]:
    lines = []
    for call in calls:
        if call.raw_arguments is not None:
            lines.append(f"tool call {call.name} {call.raw_arguments}   (arguments are not a JSON object)")
        else:
            lines.append(f"tool call {call.name} {json.dumps(call.arguments, sort_keys=True, ensure_ascii=False)}")
    return lines


# -- messages --------------------------------------------------------------------------------------


def answer_diff(old: Completion, new: Completion, old_name: str, new_name: str) -> list[str]:
    """``output_diff`` of the texts, then the tool calls line by line: a call that became text, another tool or
    other arguments shows as such."""
    if not old.tool_calls and not new.tool_calls:
        return output_diff(shown(old), shown(new), old_name, new_name)
    old_text, new_text = text_lines(old.text, new.text) if old.text or new.text else ([], [])
    old_lines = [line for line in old_text if old.text] + call_lines(old)
    new_lines = [line for line in new_text if new.text] + call_lines(new)
    return unified(old_lines, new_lines, old_name, new_name)[2:]


def fmt_score(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.2f}"


def score_change_message(
    outcome: ItemOutcome,
    *,
    baseline: tuple[str, str, Sequence[SampleResult]],
    subject: tuple[str, str, Sequence[SampleResult]],
    tolerance: float,
) -> str:
    """Baseline vs subject in one screen: scores, checks that moved, the output diff.

    ``baseline`` and ``subject`` are (name, label, samples), e.g. ("golden", "openai/gpt-4o-...", [...]).
    """
    (base_name, base_label, base_samples), (subj_name, subj_label, subj_samples) = baseline, subject
    head = {
        Verdict.REGRESSED: "the candidate scores lower than the golden",
        Verdict.FORMAT_BREAK: "a format check that passed on the golden fails on the candidate",
        Verdict.DRIFT: "the pinned current model no longer answers as its golden",
        Verdict.NO_BASELINE: "no usable golden to compare with",
        Verdict.FAILED: "no usable golden to compare with, and the answer fails the test's own checks",
    }.get(outcome.verdict, outcome.verdict.value.lower())
    lines = [f"{outcome.verdict.value}: {head}"]
    delta = outcome.delta
    change = f"  ({delta:+.2f}, tolerance {tolerance:.2f})" if delta is not None else ""
    lines.append(f"  {base_name:<10} {base_label:<44} score {fmt_score(outcome.baseline_score)}")
    lines.append(f"  {subj_name:<10} {subj_label:<44} score {fmt_score(outcome.score)}{change}")
    lines.extend(f"  note: {note}" for note in outcome.notes)
    failures = [s.message for s in subj_samples if s.outcome != "passed" and s.message]
    if failures:
        lines.append(f"  test body raised {failures[0]}")
    if outcome.moved:
        lines.append("  checks that moved:")
        for d in outcome.moved:
            lines.append(f"    {d.name:<32} {fmt_score(d.baseline)} -> {fmt_score(d.subject)}   {d.detail}".rstrip())
    first_base = next((s for s in base_samples if s.exchanges), None)
    first_subj = next((s for s in subj_samples if s.exchanges), None)
    if several_calls(first_base, first_subj):
        lines += call_diff_lines(first_base, first_subj, base_name, subj_name)
        return "\n".join(lines)
    base_out = [c for s in base_samples for c in s.completions()]
    subj_out = [c for s in subj_samples for c in s.completions()]
    if base_out and subj_out and shown(base_out[0]) != shown(subj_out[0]):
        lines.append(f"  output, {base_name} (-) vs {subj_name} (+):")
        lines.extend(f"    {line}" for line in answer_diff(base_out[0], subj_out[0], base_name, subj_name))
    elif subj_out and not base_out:
        lines.append(f"  {subj_name} output:")
        lines.extend(f"    {line}" for line in shown(subj_out[0]).splitlines()[:DIFF_LINES])
    return "\n".join(lines)


# -- tests that call the model several times -------------------------------------------------------------

#: Calls of one sample shown on the failure screen; the rest are counted.
CALLS_SHOWN = 8
#: One line of a request, as the failure screen names a call.
HEADLINE = 110


def several_calls(*samples: SampleResult | None) -> bool:
    """Whether a body called the model more than once in one of these samples (each call is then shown)."""
    return any(sample is not None and len(sample.exchanges) > 1 for sample in samples)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def request_headline(request: Request, limit: int = HEADLINE) -> str:
    """A call named in one line: its registry prompt, else its system message's first line; then the last
    user message's first line (``prompt triage v1 · user: Ticket: ...``). The turn after a tool ran says so
    instead of repeating the system message (``tool results of lookup_order · user: ...``); the calls around
    completions by their kind (``embedding of 2 inputs by openai/text-embedding-3-small``)."""
    if request.kind == "embedding":
        text = f"embedding of {plural(len(request.inputs), 'input')} by {request.model}"
        return text if len(text) <= limit else text[: limit - 1] + "…"
    if request.kind in ("model_info", "model_list"):
        return "model lookup" if request.kind == "model_info" else "model list"
    parts = ["token count"] if request.kind == "count_tokens" else []
    prompt = request.prompt
    results = request.tool_results()
    if prompt and prompt.get("task"):
        parts.append(f"prompt {prompt['task']} {prompt.get('version', '')}".rstrip())
    elif request.system and not results:
        parts.append(f"system: {_first_line(request.system)}")
    if results:
        names = ", ".join(dict.fromkeys(str(m.name or "a tool") for m in results))
        parts.append(f"tool results of {names}")
    user = [line.strip() for line in request.last_user.splitlines() if line.strip()]
    if user:
        # "Ticket:" alone says little: show the user message's first two lines
        parts.append("user: " + " ".join(user[:2]))
    text = " · ".join(parts) or "(no messages)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def request_summary(request: Request, per_message: int = 300) -> str:
    """A request in short, for the reports: the tools it offers, then one ``role: content`` block per message,
    each clipped; an assistant turn's tool calls one line each, a tool result with its tool's name."""
    if request.kind == "embedding":
        inputs = [f"input: {_clip(text, per_message)}" for text in request.inputs]
        return "\n".join([f"embedding by {request.model}", *inputs])
    if request.kind in ("model_info", "model_list"):
        return request_headline(request)
    blocks = [f"{request.kind.replace('_', ' ')} of:"] if request.kind != "completion" else []
    if request.tools:
        choice = f" (tool_choice {json.dumps(request.tool_choice)})" if request.tool_choice is not None else ""
        blocks.append(f"tools: {', '.join(tool.name for tool in request.tools)}{choice}")
    names = {c.id: c.name for m in request.messages for c in m.tool_calls if c.id}
    for message in request.messages:
        content = _clip(message.content.strip(), per_message)
        if message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "")
            blocks.append(f"tool {name}: {content}" if name else f"tool: {content}")
            continue
        if not message.tool_calls or content:
            blocks.append(f"{message.role}: {content}")
        blocks.extend(f"{message.role}: {line}" for line in _call_lines(message.tool_calls))
    return "\n".join(blocks)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


def _answer(exchanges: Sequence[Exchange], index: int) -> tuple[Completion | None, str | None]:
    """(answer, why there is none) of call ``index``."""
    if index >= len(exchanges):
        return None, "no such call"
    exchange = exchanges[index]
    if exchange.completion is not None:
        return exchange.completion, None
    return None, exchange.error or "no answer"


def call_diff_lines(
    base: SampleResult | None, subject: SampleResult | None, base_name: str, subj_name: str
) -> list[str]:
    """Each call of a multi-call body: which request it was, and its answers' diff (or that they agree)."""
    base_calls = base.exchanges if base is not None else []
    subj_calls = subject.exchanges if subject is not None else []
    count = max(len(base_calls), len(subj_calls))
    lines = [f"  {count} calls, {base_name} (-) vs {subj_name} (+):"]
    for index in range(min(count, CALLS_SHOWN)):
        request = (subj_calls[index] if index < len(subj_calls) else base_calls[index]).request
        lines.append(f"  call {index + 1}: {request_headline(request)}")
        old, old_why = _answer(base_calls, index)
        new, new_why = _answer(subj_calls, index)
        if old is not None and new is not None:
            if shown(old) == shown(new):
                lines.append("    same answer")
            else:
                lines.extend(f"    {line}" for line in answer_diff(old, new, base_name, subj_name))
        elif new is not None:
            lines.append(f"    {subj_name} answered ({base_name}: {old_why}):")
            lines.extend(f"    + {line}" for line in shown(new).splitlines()[:DIFF_LINES])
        else:
            lines.append(f"    no {subj_name} answer: {new_why}")
    if count > CALLS_SHOWN:
        lines.append(f"  ... {count - CALLS_SHOWN} more calls (every call is in the golden and the candidate's copy)")
    return lines
