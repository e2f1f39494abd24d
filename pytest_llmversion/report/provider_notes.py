"""What providers said besides their answers, gathered for the summary: served-model drift and SDK notices."""

from __future__ import annotations

from collections.abc import Iterable

from pytest_llmversion.report.schema import ReportItem


def served_model_warnings(items: Iterable[ReportItem]) -> list[str]:
    """One line per model that answered under another name than the id asked for (an alias moved, or a
    provider swapped the snapshot behind a pinned id)."""
    served: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for item in items:
        names = getattr(item, "served_instead", None) or []
        if names:
            served.setdefault(item.model, set()).update(names)
            counts[item.model] = counts.get(item.model, 0) + 1
    return [
        f"{model} was answered by {', '.join(sorted(names))} ({counts[model]} item{'s' if counts[model] > 1 else ''}): "
        "the provider served another model than the id requested"
        for model, names in sorted(served.items())
    ]


def provider_notices(items: Iterable[ReportItem]) -> list[str]:
    """SDK warnings (a deprecated model, an end-of-life SDK), each once."""
    return sorted({notice for item in items for notice in getattr(item, "provider_notices", None) or []})
