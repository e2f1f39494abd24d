"""LlamaIndex's OpenAI LLM (llama-index-llms-openai): ``OpenAI(model=...)`` built at import and
``structured_predict`` with a pydantic model (OpenAI's json_schema format)."""

from __future__ import annotations

import pytest
from conftest import LLMProject
from fw_harness import Scenario, record_break_replay, require

require("llama_index.llms.openai", "llama-index-llms-openai")

APP = """\
from llama_index.core.prompts import PromptTemplate
from llama_index.llms.openai import OpenAI
from pydantic import BaseModel


class Handover(BaseModel):
    customer: str
    severity: str


llm = OpenAI(model="gpt-4o-2024-08-06", temperature=0, max_retries=0)  # built at import
PROMPT = PromptTemplate("Extract the handover note from this ticket: {ticket}")


def handover(ticket: str) -> Handover:
    return llm.structured_predict(Handover, PROMPT, ticket=ticket)
"""

TEST = """\
import pytest
from app_llama_index import Handover, handover

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_handover(llm_golden):
    note = handover("Acme: checkout has been down since 9am.")
    llm_golden.check(note, checks.pydantic_model(Handover), checks.json_field("severity", "high"))
"""

SCENARIO = Scenario(
    name="llama_index",
    provider="openai",
    current="gpt-4o-2024-08-06",
    candidate="gpt-4o-2024-11-20",
    app=APP,
    test=TEST,
    current_script='default: {respond: \'{"customer": "Acme", "severity": "high"}\'}',
    broken_script='default: {respond: \'{"customer": "Acme", "severity": \'}',  # JSON cut short
    item="test_handover",
)


def test_record_replay_offline_and_a_candidate_format_break(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_break_replay(llm_project, SCENARIO, monkeypatch)
