"""Gradual rollout for production code: a deterministic share of traffic goes to the candidate.

``[tool.llmversion.rollout] candidate_percent = 10`` sends 10 % of keys (users, tenants, tickets) to
``candidate_model``; the same key always gets the same model, so a user does not flip between
versions. Stages usually go 1 -> 10 -> 50 -> 100 while production metrics are watched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STAGES = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0)


class RolloutError(ValueError):
    """A bad ``[tool.llmversion.rollout]`` table; one line."""


@dataclass(frozen=True)
class Rollout:
    candidate_percent: float = 0.0
    salt: str = "llmversion"

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None) -> Rollout:
        table = dict(table or {})
        unknown = sorted(set(table) - {"candidate_percent", "salt"})
        if unknown:
            raise RolloutError(
                f"unknown key {unknown[0]!r} in [tool.llmversion.rollout] (allowed: candidate_percent, salt)"
            )
        percent = table.get("candidate_percent", 0.0)
        if isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 <= percent <= 100:
            raise RolloutError(
                f"[tool.llmversion.rollout] candidate_percent = {percent!r}: expected a number from 0 to 100"
            )
        return cls(float(percent), str(table.get("salt", "llmversion")))

    def bucket(self, key: str) -> float:
        """Where ``key`` falls in [0, 100): stable across processes, machines and Python versions."""
        digest = hashlib.sha256(f"{self.salt}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 * 100

    def uses_candidate(self, key: str) -> bool:
        return self.candidate_percent > 0 and self.bucket(key) < self.candidate_percent


def select_model(current: str, candidate: str | None, rollout: Rollout, key: str) -> str:
    """The model for this key: the candidate for its share of keys, else the current model."""
    return candidate if candidate and rollout.uses_candidate(key) else current
