"""Fault schedules for the emulator: what goes wrong, on which calls, for which model.

A :class:`Fault` fails the first *n* calls (``first``), every *n*-th call (``every``), a seeded fraction of
calls (``probability``), or every call when no schedule is given. Kinds: an HTTP error status with the
provider's own error body and retry-after headers, a reset connection, a truncated body, a slow answer, and
a 200 whose body is not what the SDK expects.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["http", "reset", "truncate", "slow", "malformed"]

#: What each scripted error kind looks like on the wire.
STATUS_FOR_KIND = {
    "rate_limited": 429,
    "unavailable": 503,
    "auth": 401,
    "bad_request": 400,
    "model_not_found": 404,
}


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 500
    #: Seconds the server asks the client to wait (sent as ``retry-after-ms`` and ``retry-after``).
    retry_after: float | None = None
    message: str | None = None
    delay_ms: float = 0.0
    #: A 200 body for ``malformed`` (default: JSON cut off half way).
    body: str | None = None
    first: int | None = None
    every: int | None = None
    probability: float | None = None
    #: Only calls to this model (None: every model).
    model: str | None = None

    @classmethod
    def http(
        cls,
        status: int,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        first: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        model: str | None = None,
    ) -> Fault:
        """The provider's error body for ``status`` (400, 401, 404, 429, 500, 503, 529, ...)."""
        return cls("http", status, retry_after, message, first=first, every=every, probability=probability, model=model)

    @classmethod
    def reset(
        cls,
        *,
        first: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        model: str | None = None,
    ) -> Fault:
        """The connection is reset before any response is sent."""
        return cls("reset", first=first, every=every, probability=probability, model=model)

    @classmethod
    def truncated(
        cls,
        *,
        first: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        model: str | None = None,
    ) -> Fault:
        """Headers announce the whole body, half of it is sent, then the connection closes."""
        return cls("truncate", first=first, every=every, probability=probability, model=model)

    @classmethod
    def slow(
        cls,
        delay_ms: float,
        *,
        first: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        model: str | None = None,
    ) -> Fault:
        """The answer comes after ``delay_ms`` more (a client timeout below that turns it into a timeout)."""
        return cls("slow", delay_ms=delay_ms, first=first, every=every, probability=probability, model=model)

    @classmethod
    def malformed(
        cls,
        body: str | None = None,
        *,
        first: int | None = None,
        every: int | None = None,
        probability: float | None = None,
        model: str | None = None,
    ) -> Fault:
        """A 200 whose body the SDK cannot read."""
        return cls("malformed", body=body, first=first, every=every, probability=probability, model=model)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """``kind=http,status=429,every=3,retry_after=0.05,model=gpt-4o`` (the emulator's ``--fault``)."""
        values: dict[str, str] = {}
        for part in spec.split(","):
            name, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"--fault {spec!r}: {part!r} is not name=value")
            values[name.strip()] = value.strip()
        kind = values.pop("kind", "http" if "status" in values else "")
        if kind not in ("http", "reset", "truncate", "slow", "malformed"):
            raise ValueError(f"--fault {spec!r}: kind must be http, reset, truncate, slow or malformed")
        numbers = {"status": int, "first": int, "every": int, "retry_after": float, "delay_ms": float}
        numbers |= {"probability": float}
        kwargs: dict[str, object] = {}
        for name, value in values.items():
            if name in numbers:
                kwargs[name] = numbers[name](value)
            elif name in ("model", "message", "body"):
                kwargs[name] = value
            else:
                raise ValueError(f"--fault {spec!r}: unknown field {name!r}")
        return cls(kind, **kwargs)  # type: ignore[arg-type]


@dataclass
class FaultSchedule:
    """Counts calls per fault and decides, thread-safely, which fault (if any) hits this call."""

    faults: list[Fault] = field(default_factory=list)
    seed: int = 0
    _counts: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear(self) -> None:
        """No faults, counts from zero, and the seeded draws from their start: a test's faults repeat."""
        with self._lock:
            self.faults.clear()
            self._counts.clear()
            self._rng.seed(self.seed)

    def pick(self, model: str | None) -> Fault | None:
        with self._lock:
            hit: Fault | None = None
            for index, fault in enumerate(self.faults):
                if fault.model is not None and fault.model != model:
                    continue
                count = self._counts.get(index, 0) + 1
                self._counts[index] = count
                if hit is None and self._fires(fault, count):
                    hit = fault
            return hit

    def _fires(self, fault: Fault, count: int) -> bool:
        if fault.first is None and fault.every is None and fault.probability is None:
            return True
        if fault.first is not None and count <= fault.first:
            return True
        if fault.every is not None and count % fault.every == 0:
            return True
        return fault.probability is not None and self._rng.random() < fault.probability
