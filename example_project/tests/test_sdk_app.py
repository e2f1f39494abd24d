"""The handover notes call the openai SDK directly (triage/sdk_app.py). The tests hand that code, unchanged,
a real ``openai.OpenAI`` client from the ``llm_openai`` fixture: its calls replay the committed goldens, go to
the candidate with ``--candidate-model``, and are recorded with ``--llm-record``. The shift's notes, asked for
all at once, are an async test (pytest-asyncio) on ``openai.AsyncOpenAI`` from ``llm_openai_async``."""

from __future__ import annotations

import openai
import pytest
from triage.sdk_app import Handover, summarise_ticket, summarise_tickets

from pytest_llmversion import checks


def headline_is_short(note: Handover) -> tuple[float, str]:
    words = len(note.headline.split())
    return (1.0 if words <= 10 else 10 / words), f"{words} words in the headline"


@pytest.mark.llm_regression(cases="cases/handovers.yaml", tags=["sdk"])
def test_handover(llm_openai, llm_model, llm_case, llm_golden):
    note = summarise_ticket(llm_case.input, llm_openai, model=llm_model.model_id)  # application code, unchanged
    llm_golden.check(
        note,  # a dataclass: the golden keeps it, readable, beside the recorded exchange
        checks.json_field("customer_impact", llm_case.expected["customer_impact"]),
        checks.custom(headline_is_short, name="short headline"),
    )


SHIFT = [
    "Your API returns 503 for ALL our requests since 09:00 UTC. Our checkout is down, we are losing sales!",
    "Would love a dark mode in the mobile app! My eyes at night would thank you.",
    "Hi, how do I change the email address on my account?",
]


@pytest.mark.asyncio
@pytest.mark.llm_regression(tags=["sdk", "async"])
async def test_shift_handover(llm_openai_async, llm_model, llm_golden):
    """Three notes asked for at once: the calls replay by what they are, whatever order they come back in."""
    notes = await summarise_tickets(SHIFT, llm_openai_async, model=llm_model.model_id)
    assert [note.customer_impact for note in notes[1:]] == ["none", "none"]
    llm_golden.check(notes[0], checks.json_field("customer_impact", "severe"))


def test_handover_against_the_emulator(llm_emulator):
    """The same code against a real HTTP server that speaks the OpenAI API and answers from models/ (no key)."""
    client = openai.OpenAI(api_key="emulator", base_url=llm_emulator.openai_base_url, max_retries=0)
    note = summarise_ticket("Checkout is down: every API call returns 503.", client, model="triage-2024-06")
    assert note.customer_impact == "severe"
    (sent,) = llm_emulator.requests()
    assert sent.path == "/v1/chat/completions"
    assert sent.body["response_format"] == {"type": "json_object"}
