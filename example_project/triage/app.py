"""Triage a support ticket with an LLM, route it to a queue, and draft a first reply.

The application talks to any client with ``prompt(task)`` and ``complete(prompt, **variables)``:
``pytest_llmversion.connect()`` in production, the ``llm`` fixture in tests. Its parsing is strict,
as production code should be: ``json.loads`` semantics, then pydantic validation.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel

Category = Literal["billing", "bug", "account", "feature_request", "other"]
Priority = Literal["low", "medium", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high", "urgent")


class Triage(BaseModel):
    category: Category
    priority: Priority
    summary: str
    order_id: str | None = None


class LLM(Protocol):
    def prompt(self, task: str) -> Any: ...

    def complete(self, prompt: Any, /, **kwargs: Any) -> Any: ...


def triage_ticket(ticket: str, llm: LLM) -> Triage:
    """Classify a ticket. Raises OutputParseError or ValidationError if the model's answer is unusable."""
    completion = llm.complete(llm.prompt("triage"), ticket=ticket)
    return Triage.model_validate(completion.json())


def route(triage: Triage) -> str:
    """The queue a ticket goes to: plain code around the model, tested offline by the goldens."""
    if triage.priority == "urgent":
        return "on-call"
    return {"billing": "finance", "bug": "engineering", "account": "identity"}.get(triage.category, "frontline")


def draft_reply(ticket: str, triage: Triage, llm: LLM) -> str:
    """A first reply for a human agent to review."""
    completion = llm.complete(llm.prompt("reply"), ticket=ticket, category=triage.category)
    return str(completion.text).strip()


def production_client(customer_id: str, root: str = ".") -> LLM:
    """The client production uses for one customer's ticket.

    The customer id is the rollout key: during a rollout the same customer always gets the same model,
    every call is recorded for ``llmversion rollout status``, and 5 % of triage answers are checked
    with the JSON contract the tests check (a fenced answer would break ``triage_ticket``).
    """
    from pytest_llmversion import checks, connect

    return connect(root, rollout_key=customer_id, quality_checks={"triage": [checks.valid_json()]})


def main() -> None:  # pragma: no cover - the production entry point
    import sys

    customer_id, ticket = sys.argv[1], sys.stdin.read()
    result = triage_ticket(ticket, production_client(customer_id))
    print(result.model_dump_json(indent=2), "->", route(result))


if __name__ == "__main__":  # pragma: no cover
    main()
