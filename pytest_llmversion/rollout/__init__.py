"""Gradual rollout in production: a stable share of keys goes to the candidate while both arms are measured.

``[tool.llmversion.rollout] candidate_percent = 10`` sends 10 % of keys (users, tenants, tickets) to
``candidate_model``; ``connect(rollout_key=...)`` picks the arm per call at the stage read at run time,
and records each call (:mod:`.recorder`) in an embedded store (:mod:`.store`) and, if asked, as
OpenTelemetry metrics (:mod:`.otel`). ``llmversion rollout status`` compares the arms and recommends
advance, hold or roll back (:mod:`.decide`); ``advance`` and ``rollback`` edit the stage (:mod:`.stage`).

This package imports neither sqlite3 nor OpenTelemetry: its modules that do are loaded on first use.
"""

from __future__ import annotations

from pytest_llmversion.rollout.arms import Arm, arm_for, select_model
from pytest_llmversion.rollout.settings import STAGES, Rollout, RolloutError

__all__ = ["STAGES", "Arm", "Rollout", "RolloutError", "arm_for", "select_model"]
