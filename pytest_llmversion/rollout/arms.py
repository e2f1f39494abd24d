"""Which arm serves a key: the candidate for its share of keys at the current stage, else the current model.

The split hashes the key with the rollout's salt (:meth:`Rollout.bucket`), so a user keeps one model
across calls, processes and hosts, and raising the stage only adds keys to the candidate. What the store
keeps of a key is a different digest, keyed with a secret of the store (:func:`key_digest`): the
public salt in pyproject.toml must not be enough to recognise a customer id in the records.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pytest_llmversion.rollout.settings import Rollout

Arm = Literal["current", "candidate"]
ARMS: tuple[Arm, Arm] = ("current", "candidate")


def arm_for(rollout: Rollout, key: str, *, has_candidate: bool = True) -> Arm:
    return "candidate" if has_candidate and rollout.uses_candidate(key) else "current"


def select_model(current: str, candidate: str | None, rollout: Rollout, key: str) -> str:
    """The model for this key: the candidate for its share of keys, else the current model."""
    return candidate if candidate and arm_for(rollout, key) == "candidate" else current


def key_digest(key: str, secret: bytes) -> str:
    """What a record keeps of the rollout key: enough to count distinct keys, not to read them back."""
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:24]
