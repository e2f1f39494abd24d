"""langchain-anthropic: ``ChatAnthropic`` built at import, ``with_structured_output`` (a forced tool call)."""

from __future__ import annotations

import pytest
from conftest import LLMProject
from fw_harness import Scenario, record_break_replay, require

require("langchain_anthropic", "langchain-anthropic")

APP = """\
from langchain_anthropic import ChatAnthropic
from pydantic import BaseModel


class Handover(BaseModel):
    customer: str
    severity: str


llm = ChatAnthropic(model="claude-sonnet-4-6", temperature=0, max_tokens=512)  # built at import
extract = llm.with_structured_output(Handover)  # a tool named Handover, forced by tool_choice


def handover(ticket: str) -> Handover | None:
    return extract.invoke([("system", "Extract the handover note."), ("user", ticket)])
"""

TEST = """\
import pytest
from app_langchain_anthropic import Handover, handover

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_handover(llm_golden):
    note = handover("Acme: checkout has been down since 9am.")
    # LangChain returns None when the model answers text instead of calling the tool: a format check says so
    llm_golden.check(note, checks.pydantic_model(Handover), checks.json_field("severity", "high"))
"""

SCENARIO = Scenario(
    name="langchain_anthropic",
    provider="anthropic",
    current="claude-sonnet-4-6",
    candidate="claude-opus-4-6",
    app=APP,
    test=TEST,
    current_script="default: {tool_calls: [{name: Handover, arguments: {customer: Acme, severity: high}}]}",
    broken_script="default: {respond: 'Acme is down, this looks severe.'}",  # text where a tool call is expected
    item="test_handover",
)


def test_record_replay_offline_and_a_candidate_format_break(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_break_replay(llm_project, SCENARIO, monkeypatch)
    golden = llm_project.golden("test_langchain_anthropic_app/test_handover.yaml").read_text()
    assert "name: Handover" in golden  # the tool and its forced choice are recorded
