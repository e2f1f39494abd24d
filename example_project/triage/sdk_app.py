"""Handover notes for the on-call engineer, written against the openai SDK directly.

This is how most code looks before a team adopts pytest-llmversion: a function that takes an
``openai.OpenAI`` client and a model id. Production passes ``openai.OpenAI()`` and the model from its
settings; the tests hand the same function the client from the ``llm_openai`` fixture, whose
transport replays the goldens, records, and sends each call to the model under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

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
    response = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": ticket}],
        temperature=0,
        max_completion_tokens=200,
        response_format={"type": "json_object"},
    )
    return Handover(**json.loads(response.choices[0].message.content or ""))
