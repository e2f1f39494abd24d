"""The JSON report (``.llmversion/report.json``): one schema, read back by ``llmversion`` commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_llmversion.judge.verdicts import Verdict
from pytest_llmversion.report.governance import CostReport, GovernanceInfo
from pytest_llmversion.report.statistics import SuiteStatistics
from pytest_llmversion.yamlio import write_atomic

REPORT_SCHEMA = 1
FAILING_CURRENT = {Verdict.STALE, Verdict.MISSING, Verdict.DRIFT, Verdict.FAILED, Verdict.ERROR}
FAILING_CANDIDATE = {Verdict.REGRESSED, Verdict.FORMAT_BREAK, Verdict.ERROR}


class ReportCheck(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    kind: str
    passed: bool
    score: float
    baseline: float | None = None
    detail: str = ""


class ReportItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodeid: str
    test: str
    case: str | None = None
    role: Literal["current", "candidate"]
    model: str
    mode: str = "replay"
    models_served: list[str] = Field(default_factory=list)
    verdict: Verdict
    passed: bool
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
    output: str | None = None
    baseline_output: str | None = None
    #: Compared candidate cases (samples >= 2): counts, p-values, intervals (comparison.CaseStats).
    stats: dict[str, Any] | None = None


class ModelInfo(BaseModel):
    model: str
    source: str


class RunInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

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
    #: Only some of the suite's LLM items ran (``selection``): the gate speaks for those alone.
    partial: bool = False
    partial_reasons: list[str] = Field(default_factory=list)


class Summary(BaseModel):
    model_config = ConfigDict(extra="allow")

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


class Report(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_version: int = Field(REPORT_SCHEMA, alias="schema")
    run: RunInfo
    items: list[ReportItem]
    summary: Summary

    def role_items(self, role: str) -> list[ReportItem]:
        return [item for item in self.items if item.role == role]

    def dump(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"

    def write(self, path: Path) -> None:
        write_atomic(path, self.dump())

    @classmethod
    def read(cls, path: Path) -> Report:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def build_summary(
    items: Iterable[ReportItem],
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


def gate_reasons(items: Iterable[ReportItem]) -> list[str]:
    """Why the gate fails, one line per verdict that fails it, naming the items."""
    failing: dict[tuple[str, str], list[str]] = {}
    for item in items:
        bad = FAILING_CANDIDATE if item.role == "candidate" else FAILING_CURRENT
        if item.verdict in bad and not item.passed:
            failing.setdefault((item.role, item.verdict.value), []).append(short_name(item))
    reasons = []
    for (role, verdict), names in sorted(failing.items()):
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        reasons.append(f"{len(names)} {role} {verdict}: {shown}")
    return reasons


def short_name(item: ReportItem | Mapping[str, Any]) -> str:
    """``test_name[case]`` without the module path and the role."""
    test = item["test"] if isinstance(item, Mapping) else item.test
    case = item.get("case") if isinstance(item, Mapping) else item.case
    name = test.rsplit("::", 1)[-1]
    if case:
        name = f"{name[:-1]}-{case}]" if name.endswith("]") else f"{name}[{case}]"
    return name
