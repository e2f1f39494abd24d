"""Handover notes for the on-call engineer, written against the openai SDK directly.

This is how most code looks before a team adopts pytest-llmversion: a function that takes an
``openai.OpenAI`` client and a model id. Production passes ``openai.OpenAI()`` and the model from its
settings; the tests hand the same function the client from the ``llm_openai`` fixture, whose
transport replays the goldens, records, and sends each call to the model under test. The shift's notes
are asked for all at once, with ``openai.AsyncOpenAI`` (``llm_openai_async`` in the tests).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

import openai

Impact = Literal["none", "some", "severe"]

SYSTEM = (
    "You write the handover note for the on-call engineer about one support ticket. Answer with one JSON "
    'object: {"headline": "<at most ten words>", "customer_impact": "none" | "some" | "severe", '
    '"next_step": "<one sentence>"}'
)


@dataclass(frozen=True)
class Handover:
    headline: str
    customer_impact: Impact
    next_step: str


def summarise_ticket(ticket: str, client: openai.OpenAI, model: str) -> Handover:
    """One handover note. Raises ``json.JSONDecodeError`` or ``TypeError`` if the answer is unusable."""
    response = client.chat.completions.create(**_request(ticket, model))
    return Handover(**json.loads(response.choices[0].message.content or ""))


async def summarise_tickets(tickets: list[str], client: openai.AsyncOpenAI, model: str) -> list[Handover]:
    """The handover notes of a whole shift, asked for all at once."""
    return list(await asyncio.gather(*(summarise_ticket_async(t, client, model) for t in tickets)))


async def summarise_ticket_async(ticket: str, client: openai.AsyncOpenAI, model: str) -> Handover:
    """``summarise_ticket`` for async code: the same request."""
    response = await client.chat.completions.create(**_request(ticket, model))
    return Handover(**json.loads(response.choices[0].message.content or ""))


def _request(ticket: str, model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ticket}],
        "temperature": 0,
        "max_completion_tokens": 200,
        "response_format": {"type": "json_object"},
    }
