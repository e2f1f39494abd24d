"""The JSON report (``.llmversion/report.json``): one typed schema from the item to the file, read back by
the ``llmversion`` commands. Extra fields are refused, so every field a view reads is declared here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, computed_field, model_validator

from pytest_llmversion.atomic import write_atomic
from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.redaction import safe_tree
from pytest_llmversion.report.governance import CostReport, GovernanceInfo
from pytest_llmversion.report.statistics import CaseStatistics, SuiteStatistics
from pytest_llmversion.verdict import Role, Verdict, fails

#: 2: items are typed (``stats`` a CaseStatistics), every field always present, no extra fields.
REPORT_SCHEMA = 2


class ReportError(LLMVersionError, ValueError):
    """A report.json that cannot be read back; one line naming the file."""


#: Validation context of data this plugin built and scrubbed itself (an item's message, back from a worker).
SCRUBBED = "scrubbed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _outward(cls, data: Any, info: ValidationInfo) -> Any:
        """Everything the report holds is printed or written (terminal, report.json, Markdown, HTML, the step
        summary, JUnit): no API key in any form, and no lone surrogate (a model may answer with one; UTF-8 cannot
        hold it). Nested sections built first passed through here already, and so did an item's own message read
        back at the session's end (validated with ``SCRUBBED``). docs/providers.md §7."""
        if isinstance(info.context, dict) and info.context.get(SCRUBBED):
            return data
        return safe_tree(data) if isinstance(data, dict) else data


class ReportCheck(_Strict):
    name: str
    kind: str
    passed: bool
    score: float
    baseline: float | None = None
    detail: str = ""


class CallView(_Strict):
    """One call of a test body that calls the model more than once (its first sample): the request in short,
    and each side's answer, clipped. ``run.result`` says which items carry them."""

    request: str
    output: str | None = None
    baseline_output: str | None = None
    #: Why a side has no answer for this call (a provider error, a replay problem), one line.
    error: str | None = None


class ItemResult(_Strict):
    """One item's result: built by the item when it has run, carried on its test report (identical under
    pytest-xdist), completed at session end (prices, the suite's q-values) and written as it is."""

    nodeid: str
    test: str
    case: str | None = None
    role: Role
    model: str
    mode: str = "replay"
    models_served: list[str] = Field(default_factory=list)
    verdict: Verdict
    score: float | None = None
    baseline_score: float | None = None
    delta: float | None = None
    checks: list[ReportCheck] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)
    latency_ms: list[float] = Field(default_factory=list)
    calls: dict[str, int] = Field(default_factory=dict)
    #: Usage split by the model that answered (a fallback may have), and the golden baseline's usage.
    usage_by_model: dict[str, dict[str, int]] = Field(default_factory=dict)
    baseline_usage: dict[str, int] = Field(default_factory=dict)
    baseline_live_usage_by_model: dict[str, dict[str, int]] = Field(default_factory=dict)
    baseline_latency_ms: list[float] = Field(default_factory=list)
    #: Answers a fallback model gave for this item: spent money, but in neither model's figures.
    fallback_usage_by_model: dict[str, dict[str, int]] = Field(default_factory=dict)
    #: The calls its checks made (``judge``, ``embedding``) per model: live usage, ``calls_live``, ``calls_replayed``.
    #: Spent, but in neither model's figures: the report prices them on their own line.
    check_calls: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    #: Filled in by the controller from the catalogue; None when a price is unknown (see ``unpriced``).
    cost_usd: float | None = None
    baseline_cost_usd: float | None = None
    unpriced: list[str] = Field(default_factory=list)
    samples: int = 1
    baseline_samples: int = 0
    tags: list[str] = Field(default_factory=list)
    golden: str | None = None
    prompt: dict[str, str] | None = None
    prompt_change: dict[str, str] | None = None
    candidate_golden: str | None = None
    notes: list[str] = Field(default_factory=list)
    message: str = ""
    error: str | None = None
    #: Why the item's calls were not sent (a failure every call would repeat, the budget cap).
    not_called: str | None = None
    #: The first call's answers (the item's first sample; the baseline's), clipped.
    output: str | None = None
    baseline_output: str | None = None
    #: Every call of the first sample, when the body calls the model more than once and the item failed or
    #: an answer changed (empty otherwise: a passing multi-call item would only repeat its golden).
    calls_detail: list[CallView] = Field(default_factory=list)
    #: Compared cases (samples >= 2): counts, p-values, intervals.
    stats: CaseStatistics | None = None
    #: SDK notices (a deprecated model) and the models a provider served instead of the id asked for.
    provider_notices: list[str] = Field(default_factory=list)
    served_instead: list[str] = Field(default_factory=list)
    #: The candidate's recording (``--llm-candidate-recordings``) and how many of its calls it answered.
    recording: str | None = None
    replayed_from_recording: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """Written for readers of the JSON; it follows from the verdict (``verdict.fails``), never set."""
        return not fails(self.role, self.verdict)

    @model_validator(mode="before")
    @classmethod
    def _without_derived(cls, data: Any) -> Any:
        if isinstance(data, dict) and "passed" in data:
            return {k: v for k, v in data.items() if k != "passed"}
        return data


class ModelInfo(_Strict):
    model: str
    source: str


class SentAhead(_Strict):
    """The call pool's work (``--llm-concurrency``): live calls sent ahead of their test bodies."""

    concurrency: int
    planned: int = 0
    #: Answers a test body took.
    used: int = 0
    #: Answers no body took: the test sent another request, or the run stopped first.
    wasted: int = 0
    #: Sent ahead but refused for now by the budget cap (the body made the call itself).
    dropped: int = 0
    errors: int = 0

    def merge(self, other: SentAhead) -> SentAhead:
        """Two processes' counts (pytest-xdist workers) as one."""
        return SentAhead(
            concurrency=max(self.concurrency, other.concurrency),
            planned=self.planned + other.planned,
            used=self.used + other.used,
            wasted=self.wasted + other.wasted,
            dropped=self.dropped + other.dropped,
            errors=self.errors + other.errors,
        )


class RunInfo(_Strict):
    plugin_version: str
    pytest_version: str
    started_at: str
    finished_at: str
    mode: str
    current: ModelInfo | None = None
    candidate: ModelInfo | None = None
    tolerance: float
    samples: int
    max_samples: int | None = None
    baseline: str | None = None
    threshold: float | None = None
    alpha: float | None = None
    margin: float | None = None
    noninferiority: bool | None = None
    config_file: str | None = None
    config_hash: str | None = None
    rootdir: str | None = None
    exit_status: int | None = None
    governance: GovernanceInfo | None = None
    #: Live calls sent ahead of their test bodies (absent when the run sent none ahead).
    sent_ahead: SentAhead | None = None
    #: Only some of the suite's LLM items ran (``selection``): the gate speaks for those alone.
    partial: bool = False
    partial_reasons: list[str] = Field(default_factory=list)


class TagResult(_Strict):
    """One tag's items of one role (``summary.tags``): counts per verdict and the pass rate; for candidates the
    mean score change (candidate minus baseline, over the items that have both scores)."""

    items: int
    verdicts: dict[str, int] = Field(default_factory=dict)
    passed: int = 0
    pass_rate: float | None = None
    mean_delta: float | None = None


class Summary(_Strict):
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    pass_rate: float | None = None
    passed: int = 0
    total: int = 0
    gate: Literal["pass", "fail"] = "pass"
    gate_reasons: list[str] = Field(default_factory=list)
    goldens_written: list[str] = Field(default_factory=list)
    goldens_unchanged: int = 0
    #: legacy-named goldens removed because the same test's golden was written under its one-to-one name
    goldens_renamed: list[str] = Field(default_factory=list)
    unused_goldens: list[str] = Field(default_factory=list)
    pruned_goldens: list[str] = Field(default_factory=list)
    statistics: SuiteStatistics | None = None
    cost: CostReport | None = None
    recordings_written: list[str] = Field(default_factory=list)
    served_model_warnings: list[str] = Field(default_factory=list)
    provider_notices: list[str] = Field(default_factory=list)
    #: Causes that stopped calls, each with the number of items not called because of it.
    not_called: dict[str, int] = Field(default_factory=dict)
    #: Results per tag (the marker's ``tags=`` and the case's ``tags``), then per role; built once at session end.
    tags: dict[str, dict[str, TagResult]] = Field(default_factory=dict)


class Report(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: int = Field(REPORT_SCHEMA, alias="schema")
    run: RunInfo
    items: list[ItemResult]
    summary: Summary

    def role_items(self, role: str) -> list[ItemResult]:
        return [item for item in self.items if item.role == role]

    def dump(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

    def write(self, path: Path) -> None:
        write_atomic(path, self.dump())

    @classmethod
    def read(cls, path: Path) -> Report:
        """The report at ``path``; one-line ``ReportError`` for a file another version (or nothing of ours) wrote."""
        import json

        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ReportError(f"{path}: not a pytest-llmversion report ({type(exc).__name__})") from None
        schema = raw.get("schema") if isinstance(raw, dict) else None
        if isinstance(schema, int) and schema != REPORT_SCHEMA:
            newer = "a newer pytest-llmversion (upgrade it)" if schema > REPORT_SCHEMA else "an older pytest-llmversion"
            raise ReportError(f"{path}: written by {newer} (report schema {schema}); run pytest again to rewrite it")
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            raise ReportError(f"{path}: not a pytest-llmversion report ({where}: {error['msg']})") from None


def build_summary(
    items: Iterable[ItemResult],
    *,
    statistics: SuiteStatistics | None = None,
    extra_reasons: Iterable[str] = (),
    **extra: Any,
) -> Summary:
    """Counts and the gate; the statistical gate's reasons and ``extra_reasons`` (cost, latency and token
    budgets) fail it too."""
    items = list(items)
    counts: dict[str, Counter[str]] = {"current": Counter(), "candidate": Counter()}
    for item in items:
        counts[item.role][item.verdict.value] += 1
    judged = [i for i in items if i.role == "candidate"] or [i for i in items if i.role == "current"]
    passed = sum(i.passed for i in judged)
    reasons = gate_reasons(items) + (statistics.gate_reasons if statistics else []) + list(extra_reasons)
    return Summary(
        counts={role: dict(sorted(c.items())) for role, c in counts.items() if c},
        pass_rate=round(passed / len(judged), 4) if judged else None,
        passed=passed,
        total=len(judged),
        gate="fail" if reasons else "pass",
        gate_reasons=reasons,
        statistics=statistics,
        **extra,
    )


def gate_reasons(items: Iterable[ItemResult]) -> list[str]:
    """Why the gate fails, one line per verdict that fails it (``verdict.FAILING``), naming the items."""
    failing: dict[tuple[str, str], list[str]] = {}
    for item in items:
        if fails(item.role, item.verdict):
            failing.setdefault((item.role, item.verdict.value), []).append(short_name(item))
    reasons = []
    for (role, verdict), names in sorted(failing.items()):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        reasons.append(f"{len(names)} {role} {verdict}: {shown}")
    return reasons


def short_name(item: ItemResult | Mapping[str, Any]) -> str:
    """``test_name[case]`` without the module path and the role."""
    test = item["test"] if isinstance(item, Mapping) else item.test
    case = item.get("case") if isinstance(item, Mapping) else item.case
    name = test.rsplit("::", 1)[-1]
    if case:
        name = f"{name[:-1]}-{case}]" if name.endswith("]") else f"{name}[{case}]"
    return name
