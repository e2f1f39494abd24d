"""instructor: a client patched at import (``instructor.from_openai(openai.OpenAI())``), its default TOOLS mode
(a forced function call) and its JSON_SCHEMA mode (OpenAI's json_schema format, not strict)."""

from __future__ import annotations

import pytest
from conftest import LLMProject
from fw_harness import Scenario, record_break_replay, require

require("instructor", "instructor")

APP = """\
import instructor
import openai
from pydantic import BaseModel


class Handover(BaseModel):
    customer: str
    severity: str


MODEL = "gpt-4o-2024-08-06"
client = instructor.from_openai(openai.OpenAI())  # built at import
schema_client = instructor.from_openai(openai.OpenAI(), mode=instructor.Mode.JSON_SCHEMA)


def handover(ticket: str) -> Handover:
    messages = [{"role": "system", "content": "Extract the handover note."}, {"role": "user", "content": ticket}]
    return client.chat.completions.create(model=MODEL, response_model=Handover, messages=messages, max_retries=1)


def severity(ticket: str) -> Handover:
    messages = [{"role": "user", "content": f"Rate this ticket: {ticket}"}]
    return schema_client.chat.completions.create(model=MODEL, response_model=Handover, messages=messages, max_retries=1)
"""

TEST = """\
import pytest
from app_instructor import Handover, handover, severity

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_handover(llm_golden):
    note = handover("Acme: checkout has been down since 9am.")
    rated = severity("Acme: checkout has been down since 9am.")
    assert rated.customer == note.customer
    llm_golden.check(note, checks.pydantic_model(Handover), checks.json_field("severity", "high"))
"""

CURRENT = """\
rules:
  - when: {contains: Rate this ticket}
    respond: '{"customer": "Acme", "severity": "high"}'
default:
  tool_calls: [{name: Handover, arguments: {customer: Acme, severity: high}}]
"""
BROKEN = """\
rules:
  - when: {contains: Rate this ticket}
    respond: '{"customer": "Acme", "severity": '
default:
  respond: "Acme is down, this looks severe."
"""

SCENARIO = Scenario(
    name="instructor",
    provider="openai",
    current="gpt-4o-2024-08-06",
    candidate="gpt-4o-2024-11-20",
    app=APP,
    test=TEST,
    current_script=CURRENT,
    broken_script=BROKEN,
    item="test_handover",
)


def test_record_replay_offline_and_a_candidate_format_break(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = record_break_replay(llm_project, SCENARIO, monkeypatch)
    assert report["items"][0]["calls"]["replayed"] == 2
    golden = llm_project.golden("test_instructor_app/test_handover.yaml").read_text()
    assert "strict: false" in golden  # instructor's JSON_SCHEMA format is not strict, and is recorded so
