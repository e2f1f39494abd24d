"""What ``pytest -v`` shows for an LLM item: its verdict where pytest says PASSED or FAILED.

The category stays pytest's ("passed", "failed"), so the closing counts and ``-x`` are unchanged; only the
word changes, coloured as the verdict reads (a FLAKY or NO_BASELINE that passes is worth a second look).
"""

from __future__ import annotations

from typing import Protocol

from pytest_llmversion.verdict import Verdict

#: Verdicts that pass but deserve a look, shown in yellow rather than green.
_NOTICE = frozenset({Verdict.FLAKY, Verdict.NO_BASELINE, Verdict.DRIFT})


class _Report(Protocol):
    @property
    def when(self) -> str: ...
    @property
    def passed(self) -> bool: ...
    @property
    def failed(self) -> bool: ...


def verdict_status(report: _Report, verdict: str) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """(category, short letter, verbose word with its markup), or None to let pytest decide (set-up and
    teardown reports, xfail and skips)."""
    if report.when != "call" or hasattr(report, "wasxfail") or not (report.passed or report.failed):
        return None
    if report.failed:
        return "failed", "F", (verdict, {"red": True})
    colour = "yellow" if verdict in _NOTICE else "green"
    return "passed", ".", (verdict, {colour: True})
