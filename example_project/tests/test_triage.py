"""Acme's LLM tests: each runs against the current model (replaying its golden) and, with
``--candidate-model``, against the candidate, which is judged against that golden."""

from __future__ import annotations

import pytest
from triage import Triage, draft_reply, route, triage_ticket
from triage.app import PRIORITIES

from pytest_llmversion import checks

TRIAGE_SCHEMA = {
    "title": "triage",
    "type": "object",
    "required": ["category", "priority", "summary", "order_id"],
    "properties": {
        "category": {"enum": ["billing", "bug", "account", "feature_request", "other"]},
        "priority": {"enum": list(PRIORITIES)},
        "summary": {"type": "string", "minLength": 10},
        "order_id": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


def priority_close(expected: str) -> checks.Check:
    """Full credit for the right priority, half for one level off, none beyond."""

    def score(result: Triage) -> tuple[float, str]:
        distance = abs(PRIORITIES.index(result.priority) - PRIORITIES.index(expected))
        return max(0.0, 1 - distance / 2), f"priority {result.priority}, expected {expected}"

    return checks.custom(score, name="priority", threshold=0.5)


@pytest.mark.llm_regression(cases="cases/tickets.yaml", tags=["triage"], threshold=1.0)
def test_triage(llm, llm_case, llm_golden):
    result = triage_ticket(llm_case.input, llm)  # application code, strict parsing
    expected = llm_case.expected
    found = [checks.json_field("category", expected["category"]), priority_close(expected["priority"])]
    if "order_id" in expected:
        found.append(checks.json_field("order_id", expected["order_id"]))
    llm_golden.check(result, *found)


@pytest.mark.llm_regression(tags=["format"])
def test_triage_answer_is_the_json_contract(llm, llm_golden):
    ticket = "Our invoice INV-2291 is missing the VAT number. Can you reissue it? Order B5521."
    answer = llm.complete(llm.prompt("triage"), ticket=ticket)
    llm_golden.check(answer, checks.valid_json(), checks.json_schema(TRIAGE_SCHEMA))


#: What a good first reply does; the judge (judge_model in pyproject.toml) grades each reply against it.
#: Its verdicts are recorded in the goldens and replayed; edit it and the goldens go STALE until re-recorded.
REPLY_RUBRIC = (
    "The reply acknowledges the customer's problem, says what happens next, does not promise refunds or dates, "
    "and is signed by Acme Support."
)


@pytest.mark.llm_regression(cases="cases/replies.yaml", tags=["reply"])
def test_reply(llm, llm_case, llm_golden):
    """A free-text answer: no exact output to compare, so an LLM judge grades it against a rubric."""
    triage = triage_ticket(llm_case.input, llm)
    reply = draft_reply(llm_case.input, triage, llm)
    llm_golden.check(
        reply,
        checks.contains("Acme Support"),
        checks.not_contains("refund will"),
        checks.max_words(80),
        checks.judge(REPLY_RUBRIC, threshold=0.7),
    )


def test_routing_is_plain_code():
    """Unmarked tests are untouched by the plugin."""
    urgent = Triage(category="bug", priority="urgent", summary="down")
    assert route(urgent) == "on-call"
    assert route(urgent.model_copy(update={"priority": "low"})) == "engineering"
