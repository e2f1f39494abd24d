"""Which kind an item is: decided once, when the item starts, by its role, the run's mode, its samples and
its golden (see the table in ``kinds.py``)."""

from __future__ import annotations

from pytest_llmversion.run.kinds import ItemKind, KindSettings, LiveCurrent, RecordedCurrent, ReplayedCurrent
from pytest_llmversion.run.kinds_candidate import Candidate, CandidateNoBaseline, SampledCandidate
from pytest_llmversion.run.paired import SampledLiveCurrent
from pytest_llmversion.run.replay import GoldenSource


def kind_for(settings: KindSettings, golden: GoldenSource) -> type[ItemKind]:
    """The one place an item's kind is decided: by its role, the run's mode, its samples and its golden."""
    sampled = settings.samples >= 2
    if settings.spec.role == "current":
        if settings.mode == "replay":
            return ReplayedCurrent
        if settings.mode == "record":
            return RecordedCurrent
        return SampledLiveCurrent if sampled else LiveCurrent
    if settings.policy.baseline == "golden" and golden.golden is None:
        return CandidateNoBaseline
    return SampledCandidate if sampled else Candidate
