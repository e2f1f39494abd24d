"""Reports of any size, built from typed ``ItemResult``s without running pytest (the views' size budgets)."""

from __future__ import annotations

import json

from pytest_llmversion.report.governance import CostReport, RoleCost
from pytest_llmversion.report.schema import ItemResult, ModelInfo, Report, RunInfo, Summary, TagResult
from pytest_llmversion.verdict import Verdict, fails

TAGS = ("happy-path", "edge", "format", "regression")


def answer(n: int, priority: str = "high", words: int = 12) -> str:
    summary = " ".join(f"word{k}" for k in range(words))
    return json.dumps({"category": "bug", "priority": priority, "summary": f"case {n}: {summary}", "order_id": None})


def candidate_item(n: int, verdict: Verdict, *, words: int = 12) -> ItemResult:
    changed = verdict is not Verdict.UNCHANGED
    return ItemResult(
        nodeid=f"tests/test_big.py::test_case[case-{n:05d}-candidate]",
        test="tests/test_big.py::test_case",
        case=f"case-{n:05d}",
        role="candidate",
        model="openai/gpt-new-2026-01-01",
        verdict=verdict,
        score=0.5 if verdict is Verdict.REGRESSED else 1.0,
        baseline_score=1.0,
        delta=-0.5 if verdict is Verdict.REGRESSED else 0.0,
        usage={"input_tokens": 120, "output_tokens": 40, "cached_tokens": 0},
        latency_ms=[300.0 + n % 50],
        cost_usd=0.0004,
        tags=[TAGS[n % len(TAGS)]],
        golden=f"tests/__llm_goldens__/test_big/test_case/case-{n:05d}.yaml",
        message="REGRESSED: the candidate scores lower than the golden" if changed else "",
        output=answer(n, "medium" if changed else "high", words),
        baseline_output=answer(n, "high", words),
    )


def big_report(cases: int, regressed: int, *, words: int = 12) -> Report:
    """``cases`` candidate items, the first ``regressed`` of them REGRESSED (the rest UNCHANGED)."""
    items = [
        candidate_item(n, Verdict.REGRESSED if n < regressed else Verdict.UNCHANGED, words=words) for n in range(cases)
    ]
    passed = sum(not fails(i.role, i.verdict) for i in items)
    tags: dict[str, dict[str, TagResult]] = {}
    for tag in TAGS:
        tagged = [i for i in items if tag in i.tags]
        ok = sum(not fails(i.role, i.verdict) for i in tagged)
        tags[tag] = {"candidate": TagResult(items=len(tagged), passed=ok, pass_rate=round(ok / len(tagged), 4))}
    role = RoleCost(model="openai/gpt-new-2026-01-01", items=cases, input_tokens=120 * cases, output_tokens=40 * cases)
    return Report(
        run=RunInfo(
            plugin_version="0.2.0",
            pytest_version="9.2.0",
            started_at="2026-11-24T10:00:00+00:00",
            finished_at="2026-11-24T10:05:00+00:00",
            mode="replay",
            current=ModelInfo(model="openai/gpt-old-2025-01-01", source="pyproject.toml"),
            candidate=ModelInfo(model="openai/gpt-new-2026-01-01", source="--candidate-model"),
            tolerance=0.0,
            samples=1,
        ),
        items=items,
        summary=Summary(
            counts={"candidate": {"REGRESSED": regressed, "UNCHANGED": cases - regressed}},
            pass_rate=round(passed / cases, 4),
            passed=passed,
            total=cases,
            gate="fail" if regressed else "pass",
            gate_reasons=[f"{regressed} candidate REGRESSED"] if regressed else [],
            tags=tags,
            cost=CostReport(roles={"current": role, "candidate": role}),
        ),
    )
