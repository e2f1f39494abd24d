"""pydantic-ai: an ``Agent`` built at import with a structured ``output_type`` (its output tool, tool choice
``required``) and a tool of its own, on OpenAI's Chat Completions."""

from __future__ import annotations

import pytest
from conftest import LLMProject
from fw_harness import Scenario, record_break_replay, require

require("pydantic_ai", "pydantic-ai")

APP = """\
from pydantic import BaseModel
from pydantic_ai import Agent


class Handover(BaseModel):
    customer: str
    severity: str


agent = Agent(
    "openai-chat:gpt-4o-2024-08-06",
    output_type=Handover,
    instructions="Extract the handover note; look the customer's plan up first.",
    retries=1,
)


@agent.tool_plain
def customer_plan(customer: str) -> str:
    \"\"\"The support plan of a customer.\"\"\"
    return "enterprise"


def handover(ticket: str) -> Handover:
    return agent.run_sync(ticket).output
"""

TEST = """\
import pytest
from app_pydantic_ai import Handover, handover

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_handover(llm_golden):
    note = handover("Acme: checkout has been down since 9am.")
    llm_golden.check(note, checks.pydantic_model(Handover), checks.json_field("severity", "high"))
"""

#: A tool call, then the output tool once the tool's result is in.
CURRENT = """\
rules:
  - when: {tool_result: customer_plan}
    tool_calls: [{name: final_result, arguments: {customer: Acme, severity: high}}]
default:
  tool_calls: [{name: customer_plan, arguments: {customer: Acme}}]
"""
#: The output tool called with arguments that do not validate, every time (pydantic-ai retries once).
BROKEN = """\
rules:
  - when: {tool_result: customer_plan}
    tool_calls: [{name: final_result, arguments: {customer: Acme}}]
default:
  tool_calls: [{name: customer_plan, arguments: {customer: Acme}}]
"""

SCENARIO = Scenario(
    name="pydantic_ai",
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
    assert report["items"][0]["calls"]["replayed"] == 2  # the tool call, then the output tool
