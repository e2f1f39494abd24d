"""The verdicts an item can get, and the one rule for which of them fail (an item, and the gate).

Current items: MATCH, DRIFT, STALE, MISSING, FAILED (the golden no longer passes the test's checks),
RECORDED, ERROR. Candidate items: UNCHANGED, IMPROVED, REGRESSED, FORMAT_BREAK, FLAKY, ERROR,
NO_BASELINE when there is no usable golden to compare with, and FAILED when, without a baseline, the
candidate's own answer does not pass the test's checks.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Role = Literal["current", "candidate"]


class Verdict(StrEnum):
    MATCH = "MATCH"
    DRIFT = "DRIFT"
    STALE = "STALE"
    MISSING = "MISSING"
    FAILED = "FAILED"
    RECORDED = "RECORDED"
    UNCHANGED = "UNCHANGED"
    IMPROVED = "IMPROVED"
    REGRESSED = "REGRESSED"
    FORMAT_BREAK = "FORMAT_BREAK"
    FLAKY = "FLAKY"
    NO_BASELINE = "NO_BASELINE"
    ERROR = "ERROR"


#: The verdicts that fail an item (its pytest outcome) and the gate, per role. Nothing else decides it.
#: How reports order rows and filters: what fails first, then what changed, then the rest.
REPORT_ORDER: tuple[Verdict, ...] = (
    Verdict.REGRESSED,
    Verdict.FORMAT_BREAK,
    Verdict.FAILED,
    Verdict.ERROR,
    Verdict.DRIFT,
    Verdict.STALE,
    Verdict.MISSING,
    Verdict.FLAKY,
    Verdict.IMPROVED,
    Verdict.NO_BASELINE,
    Verdict.RECORDED,
    Verdict.UNCHANGED,
    Verdict.MATCH,
)

FAILING: dict[Role, frozenset[Verdict]] = {
    "current": frozenset({Verdict.STALE, Verdict.MISSING, Verdict.DRIFT, Verdict.FAILED, Verdict.ERROR}),
    "candidate": frozenset({Verdict.REGRESSED, Verdict.FORMAT_BREAK, Verdict.FAILED, Verdict.ERROR}),
}


def fails(role: Role, verdict: Verdict) -> bool:
    return verdict in FAILING[role]
