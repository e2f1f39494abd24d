"""The migration checklist of the article this project grew from, each line ticked from facts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from pytest_llmversion.governance.catalog import Catalog, pin_status
from pytest_llmversion.governance.deprecation import lifecycle
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.report.schema import Report
from pytest_llmversion.verdict import Verdict

#: Tags that say which kind of case a test covers (marker ``tags=`` or a case's ``tags``).
COVERAGE_TAGS = {
    "happy path": "happy-path",
    "edge cases": "edge",
    "output format": "format",
    "regression cases": "regression",
}


@dataclass
class Line:
    done: bool | None  # None: cannot be known from here
    text: str

    def render(self) -> str:
        box = {True: "[x]", False: "[ ]", None: "[?]"}[self.done]
        return f"  {box} {self.text}"


@dataclass
class Facts:
    report: Report
    new_model: str
    forced: list[str] = field(default_factory=list)
    rollout_percent: float = 0.0
    registry_tuned: bool = False
    backup_kept: bool = False
    #: Filled by the governance module when it knows the model: (pinned?, why)
    pinned: tuple[bool | None, str] = (None, "pinning not checked")
    #: (retirement date known?, what)
    deprecation: tuple[bool | None, str] = (None, "deprecation date not checked")
    #: (watched long enough at each stage, without a roll-back signal?, what), from the rollout store
    monitoring: tuple[bool | None, str] = (None, "not visible from here")
    extra: list[Callable[[], Line]] = field(default_factory=list)


def catalogue_facts(
    catalog: Catalog, model: ModelRef, on: date
) -> tuple[tuple[bool | None, str], tuple[bool | None, str]]:
    """(pinned?, why) and (can deprecation alerts fire?, what) for ``model``, from the catalogue."""
    pin = pin_status(model, catalog)
    pinned = (pin.pinned if pin.checked else None, f"{pin.kind}, per the {pin.basis}" if pin.checked else pin.basis)
    entry = catalog.get(model)
    if entry is None:
        alert = (False, f'not in the catalogue; add [tool.llmversion.catalog."{model}"] so alerts can fire')
    else:
        life = lifecycle(str(model), catalog, on)
        when = f"retires {life.retires}" if life.retires else "no retirement announced yet"
        alert = (True, f"{when}; `llmversion deprecations` watches it")
    return pinned, alert


def _tags(report: Report) -> set[str]:
    return {tag for item in report.items for tag in item.tags}


def checklist(facts: Facts) -> list[Line]:
    report = facts.report
    tags = _tags(report)
    missing = [name for name, tag in COVERAGE_TAGS.items() if tag not in tags]
    candidates = report.role_items("candidate")
    regressed = [i for i in candidates if i.verdict in (Verdict.REGRESSED, Verdict.FORMAT_BREAK, Verdict.ERROR)]
    lines = [
        Line(facts.pinned[0], f"Pin to a specific model version: {facts.new_model} ({facts.pinned[1]})"),
        Line(
            not missing,
            "Evaluation suite covers happy path, edge cases, output format and regression cases"
            + (f" (no tests tagged for: {', '.join(missing)})" if missing else ""),
        ),
        Line(
            bool(candidates),
            f"Evaluation run against the candidate: {len(candidates)} items, gate {report.summary.gate}",
        ),
        Line(
            not regressed and not facts.forced,
            "Regressions reviewed"
            + (f": {len(regressed)} failing item(s) promoted with --force" if regressed else ": none left"),
        ),
        Line(
            facts.rollout_percent > 0,
            f"Gradual rollout stage set ([tool.llmversion.rollout] candidate_percent = {facts.rollout_percent:g})",
        ),
        Line(facts.monitoring[0], f"Production metrics monitored at each stage: {facts.monitoring[1]}"),
        Line(facts.registry_tuned, f"Prompt registry has a version tuned for {facts.new_model}"),
        Line(facts.deprecation[0], f"Deprecation alert possible for the new version: {facts.deprecation[1]}"),
        Line(facts.backup_kept, "Previous version kept for instant rollback (previous_model, llmversion rollback)"),
    ]
    lines += [make() for make in facts.extra]
    return lines


def render(lines: Iterable[Line]) -> str:
    return "\n".join(line.render() for line in lines)
