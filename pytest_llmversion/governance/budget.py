"""``--llm-budget-usd``: a cap on what a run spends, not a hint.

Two guarantees. Before the first call, the run is priced from the items collected: every call each item
may make (its samples, top-ups to ``--llm-max-samples`` where the models may disagree, the current model
called live for baseline samples its golden lacks, ``--llm-baseline=live``), priced from the golden's token
counts, or, for an item without a golden, from ``max_tokens`` out and the largest prompt of the run's
goldens in; a run estimated above the budget does not start. While it runs, every attempt the router
makes (retries and fallbacks included) first reserves its worst case: a token per byte of the request
(no tokenizer makes fewer bytes than tokens) and the request's ``max_tokens`` out, at the catalogue's
price. The reservation becomes the call's real price when it answers (its reported usage) and is released
when it fails. A call whose worst case does not fit what is left is not sent: the item is ERROR "budget
reached", and so is every item after it. Under pytest-xdist the workers share one ledger (a SQLite file
the controller creates), so the cap holds for the whole run.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.governance.cost import Price
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, ProviderError, Request
from pytest_llmversion.providers.router import SPECULATIVE
from pytest_llmversion.report.format import amount, plural, usd
from pytest_llmversion.report.governance import Estimate

#: Output tokens assumed for a request that sets no ``max_tokens``, when the catalogue knows no limit either.
UNBOUNDED_OUTPUT = 16_384
#: Input tokens a call is estimated at when no golden of the run says how long its prompts are.
DEFAULT_PROMPT_TOKENS = 1_000
#: How long a call the body makes waits for calls in flight to settle before the cap refuses it.
SETTLE_WAIT = 600.0


class BudgetReached(ProviderError):
    """The call was not sent: its worst case does not fit in what is left of ``--llm-budget-usd``."""

    kind = "budget"
    #: Not a failure of the model: the item says it was not called, and why in a few stable words.
    not_called = True

    def __init__(self, message: str, *, model: str, cause: str, speculative: bool = False) -> None:
        super().__init__(message, model=model)
        self.cause = cause
        #: Refused only because it was sent ahead of its test body (see ``providers.router.SPECULATIVE``).
        self.speculative = speculative


class BudgetError(LLMVersionError):
    """The run must not start; one line naming the option and the fix."""


# -- the ledger -----------------------------------------------------------------------------------------


class Ledger(Protocol):
    def reserve(self, amount: float, budget: float, *, ahead: bool = False) -> bool:
        """Hold ``amount`` if spent + held + amount stays within ``budget``; ``ahead`` marks a call sent ahead
        of its test body by the call pool."""
        ...

    def settle(self, held: float, spent: float, *, ahead: bool = False) -> None:
        """Release ``held`` and count ``spent``."""
        ...

    def spent(self) -> float: ...

    def held_ahead(self) -> float:
        """What calls sent ahead (by any process) hold now."""
        ...


class LocalLedger:
    """One process (threads share it)."""

    def __init__(self) -> None:
        self._spent = 0.0
        self._held = 0.0
        self._ahead = 0.0
        self._lock = threading.Lock()

    def reserve(self, amount: float, budget: float, *, ahead: bool = False) -> bool:
        with self._lock:
            if self._spent + self._held + amount > budget + 1e-12:
                return False
            self._held += amount
            self._ahead += amount if ahead else 0.0
            return True

    def settle(self, held: float, spent: float, *, ahead: bool = False) -> None:
        with self._lock:
            self._held = max(0.0, self._held - held)
            self._ahead = max(0.0, self._ahead - held) if ahead else self._ahead
            self._spent += spent

    def spent(self) -> float:
        with self._lock:
            return self._spent

    def held_ahead(self) -> float:
        with self._lock:
            return self._ahead


class SharedLedger:
    """Several processes (pytest-xdist workers): one SQLite row, changed in IMMEDIATE transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @classmethod
    def create(cls, path: Path) -> SharedLedger:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        db = sqlite3.connect(path)
        try:
            with db:
                db.execute("CREATE TABLE ledger (spent REAL NOT NULL, held REAL NOT NULL, ahead REAL NOT NULL)")
                db.execute("INSERT INTO ledger VALUES (0, 0, 0)")
        finally:
            db.close()
        return cls(path)

    def _db(self) -> sqlite3.Connection:
        """One connection per thread (the call pool's threads reserve too)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._opened.append(db)
        return db

    def reserve(self, amount: float, budget: float, *, ahead: bool = False) -> bool:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            spent, held = db.execute("SELECT spent, held FROM ledger").fetchone()
            fits = bool(spent + held + amount <= budget + 1e-12)
            if fits:
                db.execute("UPDATE ledger SET held = held + ?, ahead = ahead + ?", (amount, amount if ahead else 0))
        finally:
            db.execute("COMMIT")
        return fits

    def settle(self, held: float, spent: float, *, ahead: bool = False) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "UPDATE ledger SET held = MAX(0, held - ?), ahead = MAX(0, ahead - ?), spent = spent + ?",
            (held, held if ahead else 0, spent),
        )
        db.execute("COMMIT")

    def spent(self) -> float:
        value = self._db().execute("SELECT spent FROM ledger").fetchone()[0]
        return float(value)

    def held_ahead(self) -> float:
        value = self._db().execute("SELECT ahead FROM ledger").fetchone()[0]
        return float(value)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()
        self._local = threading.local()


# -- the cap on each call ---------------------------------------------------------------------------------


def worst_case_tokens(request: Request, default_max_tokens: int | None) -> tuple[int, int]:
    """(input, output) tokens a request can cost at most: a token per byte of everything sent, and its
    ``max_tokens`` (else the given default). Only a completion writes output."""
    sent = len(json.dumps(request.canonical(), ensure_ascii=False).encode())
    if request.kind != "completion":
        return sent, 0
    limit = request.params.get("max_tokens")
    output = limit if isinstance(limit, int) and limit > 0 else (default_max_tokens or UNBOUNDED_OUTPUT)
    return sent, output


@dataclass
class SpendCap:
    """The router's guard for ``--llm-budget-usd``: each attempt reserves its worst case before it is sent."""

    budget: float
    ledger: Ledger
    price_of: Callable[[str], Price | None]
    max_output: Callable[[str], int | None]

    #: Once a call did not fit, the budget is reached for the rest of the run (this process): a smaller call
    #: that would still fit is not sent either, so "budget reached" means the same for every item after it.
    reached: str | None = None

    def admit(self, ref: ModelRef, request: Request) -> Callable[[Completion | None, ProviderError | None], None]:
        model = str(ref)
        if request.kind in ("count_tokens", "model_info", "model_list"):
            return lambda completion, error: None  # providers do not bill these: nothing to cap
        if self.reached is not None:
            raise BudgetReached(self.reached, model=model, cause=f"--llm-budget-usd={amount(self.budget)} reached")
        price = self.price_of(model)
        if price is None:
            raise BudgetReached(
                f"not called: --llm-budget-usd={amount(self.budget)} cannot cap {model}: the catalogue has no price "
                f'for it (add input_per_mtok and output_per_mtok under [tool.llmversion.catalog."{model}"])',
                model=model,
                cause=f"--llm-budget-usd cannot cap {model}: no price",
            )
        tokens_in, tokens_out = worst_case_tokens(request, self.max_output(model))
        worst = price.cost({"input_tokens": tokens_in, "output_tokens": tokens_out})
        ahead = SPECULATIVE.get()
        if not self._reserve(worst, ahead):
            if ahead:
                # sent ahead by the pool: dropped, not failed; the body makes the call when it gets there
                raise BudgetReached(
                    "not sent ahead: the budget has no room for it now", model=model, cause="ahead", speculative=True
                )
            self.reached = (
                f"budget reached: not called; {usd(self.ledger.spent())} of --llm-budget-usd={amount(self.budget)} "
                f"spent, and this call may cost up to {usd(worst)}"
            )
            raise BudgetReached(self.reached, model=model, cause=f"--llm-budget-usd={amount(self.budget)} reached")

        def settle(completion: Completion | None, error: ProviderError | None) -> None:
            if completion is None:
                self.ledger.settle(worst, 0.0, ahead=ahead)  # a failed call is not billed
                return
            usage = completion.usage.to_dict()
            reported = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
            # a provider that reports no usage is charged the worst case: the cap must not undercount
            self.ledger.settle(worst, price.cost(usage) if reported else worst, ahead=ahead)

        return settle

    def _reserve(self, worst: float, ahead: bool) -> bool:
        """Hold ``worst``. A call its body makes that does not fit first waits for the calls sent ahead to
        settle (they usually cost less than their worst case), so that sending ahead does not make a run
        refuse a call a serial run would have sent for what is merely held."""
        if self.ledger.reserve(worst, self.budget, ahead=ahead):
            return True
        if ahead:
            return False
        deadline = time.monotonic() + SETTLE_WAIT
        while self.ledger.held_ahead() > 1e-12 and time.monotonic() < deadline:
            time.sleep(0.02)
            if self.ledger.reserve(worst, self.budget):
                return True
        return False


# -- the estimate before the first call -------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedItem:
    """What the estimate needs to know of one collected item."""

    role: str
    #: The golden file the item reads (several items may share one).
    golden: str
    samples: int
    #: Samples in the item's golden (0: none) and its calls per sample.
    golden_samples: int
    calls_per_sample: int
    #: Mean tokens of one recorded call (None without a golden).
    usage: tuple[float, float] | None
    #: Whether a candidate call may be sent (the record mode and the item's recording decide).
    candidate_sends: bool


@dataclass(frozen=True)
class RunShape:
    mode: str
    current: str
    candidate: str | None
    max_samples: int
    baseline: str
    max_tokens: int | None


def item_calls(shape: RunShape, item: PlannedItem) -> list[tuple[str, int]]:
    """(model, calls) this item may make at most, following how the item kinds sample (run/kinds.py)."""
    k = item.samples
    compared = k >= 2 and (item.role == "candidate" or shape.mode == "live")
    most = max(k, shape.max_samples) if compared else k
    per = max(1, item.calls_per_sample)
    if item.role == "current":
        return [] if shape.mode == "replay" else [(shape.current, most * per)]
    assert shape.candidate is not None
    out: list[tuple[str, int]] = []
    if shape.baseline == "live":
        out.append((shape.current, most * per))
    elif compared and item.golden_samples:
        out.append((shape.current, max(0, most - item.golden_samples) * per))
    if item.candidate_sends:
        has_baseline = item.golden_samples > 0 or shape.baseline == "live"
        samples = most if has_baseline else (1 if compared else k)
        out.append((shape.candidate, samples * per))
    return [(model, n) for model, n in out if n]


def estimate(
    shape: RunShape,
    items: Sequence[PlannedItem],
    budget: float,
    price_of: Callable[[str], Price | None],
) -> tuple[Estimate, list[str]]:
    """The run's worst-case spend from its items; also the models that were called but have no price."""
    with_golden = [i.usage for i in items if i.usage is not None]
    prompt = max((u[0] for u in with_golden), default=DEFAULT_PROMPT_TOKENS)
    output = shape.max_tokens or UNBOUNDED_OUTPUT
    by_model: dict[str, float] = {}
    calls = 0
    unpriced: list[str] = []
    for item in items:
        tokens_in, tokens_out = item.usage if item.usage is not None else (prompt, output)
        for model, n in item_calls(shape, item):
            calls += n
            price = price_of(model)
            if price is None:
                if model not in unpriced:
                    unpriced.append(model)
                continue
            usage = {"input_tokens": round(tokens_in * n), "output_tokens": round(tokens_out * n)}
            by_model[model] = by_model.get(model, 0.0) + price.cost(usage)
    total = None if unpriced else round(sum(by_model.values()), 8)
    result = Estimate(
        budget_usd=budget,
        cost_usd=total,
        calls=calls,
        goldens=len({i.golden for i in items if i.usage is not None and item_calls(shape, i)}),
        without_golden=sum(i.usage is None and bool(item_calls(shape, i)) for i in items),
        prompt_tokens=round(prompt),
        output_tokens=output,
        by_model={model: round(cost, 8) for model, cost in by_model.items()},
    )
    return result, unpriced


def check_estimate(result: Estimate, unpriced: Iterable[str]) -> None:
    """Raise :class:`BudgetError` when the run may spend more than the budget, or cannot be priced."""
    missing = list(unpriced)
    budget = amount(result.budget_usd)
    if missing:
        raise BudgetError(
            f"pytest-llmversion: --llm-budget-usd={budget} cannot be checked: no price for {', '.join(missing)}; add "
            f'input_per_mtok and output_per_mtok under [tool.llmversion.catalog."{missing[0]}"]'
        )
    assert result.cost_usd is not None
    if result.cost_usd > result.budget_usd:
        parts = ", ".join(f"{model} {usd(cost)}" for model, cost in result.by_model.items())
        raise BudgetError(
            f"pytest-llmversion: this run may spend up to {usd(result.cost_usd)} on "
            f"{plural(result.calls, 'live call')}, above --llm-budget-usd={budget} ({parts}; {basis(result)}); "
            "raise the budget, lower --llm-samples or "
            "--llm-max-samples, or select fewer tests"
        )


def basis(result: Estimate) -> str:
    """What the estimate was priced from, in a few words."""
    parts = []
    if result.goldens:
        parts.append(f"the token counts of {plural(result.goldens, 'golden')}")
    if result.without_golden:
        parts.append(
            f"{plural(result.without_golden, 'item')} without a golden at "
            f"{result.prompt_tokens:,} tokens in and max_tokens {result.output_tokens:,} out a call"
        )
    return "from " + " and ".join(parts) if parts else "no live calls"


def estimate_line(result: Estimate) -> str:
    return (
        f"budget: this run may spend up to {usd(result.cost_usd)} on {plural(result.calls, 'live call')} "
        f"({basis(result)}), within --llm-budget-usd={amount(result.budget_usd)}; each call reserves its worst "
        "case before it is sent"
    )
