"""langchain-openai: ``ChatOpenAI`` built at import, ``with_structured_output`` (OpenAI's json_schema, strict)."""

from __future__ import annotations

import pytest
from conftest import LLMProject
from fw_harness import Scenario, record_break_replay, require

require("langchain_openai", "langchain-openai")

APP = """\
from langchain_openai import ChatOpenAI
from pydantic import BaseModel


class Handover(BaseModel):
    customer: str
    severity: str


MODEL = "gpt-4o-2024-08-06"
llm = ChatOpenAI(model=MODEL, temperature=0)  # built at import, as the app builds it
extract = llm.with_structured_output(Handover)  # OpenAI's json_schema format, strict


def handover(ticket: str) -> Handover:
    return extract.invoke([("system", "Extract the handover note."), ("user", ticket)])
"""

TEST = """\
import pytest
from app_langchain_openai import Handover, handover

from pytest_llmversion import checks


@pytest.mark.llm_regression
def test_handover(llm_golden):
    note = handover("Acme: checkout has been down since 9am.")
    llm_golden.check(note, checks.pydantic_model(Handover), checks.json_field("severity", "high"))
"""

SCENARIO = Scenario(
    name="langchain_openai",
    provider="openai",
    current="gpt-4o-2024-08-06",
    candidate="gpt-4o-2024-11-20",
    app=APP,
    test=TEST,
    current_script='default: {respond: \'{"customer": "Acme", "severity": "high"}\'}',
    broken_script="default: {respond: 'Acme is down, this looks severe.'}",  # prose where JSON was asked for
    item="test_handover",
)


def test_record_replay_offline_and_a_candidate_format_break(
    llm_project: LLMProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = record_break_replay(llm_project, SCENARIO, monkeypatch)
    assert report["items"][0]["calls"]["replayed"] == 1
    golden = llm_project.golden("test_langchain_openai_app/test_handover.yaml").read_text()
    assert "name: Handover" in golden  # the schema's name is recorded (strict, the default, is left out)
