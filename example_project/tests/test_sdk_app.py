"""The handover notes call the openai SDK directly (triage/sdk_app.py). The tests hand that code, unchanged,
a real ``openai.OpenAI`` client from the ``llm_openai`` fixture: its calls replay the committed goldens, go to
the candidate with ``--candidate-model``, and are recorded with ``--llm-record``."""

from __future__ import annotations

import openai
import pytest
from triage.sdk_app import Handover, summarise_ticket

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


def test_handover_against_the_emulator(llm_emulator):
    """The same code against a real HTTP server that speaks the OpenAI API and answers from models/ (no key)."""
    client = openai.OpenAI(api_key="emulator", base_url=llm_emulator.openai_base_url, max_retries=0)
    note = summarise_ticket("Checkout is down: every API call returns 503.", client, model="triage-2024-06")
    assert note.customer_impact == "severe"
    (sent,) = llm_emulator.requests()
    assert sent.path == "/v1/chat/completions"
    assert sent.body["response_format"] == {"type": "json_object"}
