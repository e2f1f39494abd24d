"""Order questions call a tool (triage/orders.py). The checks read the calls the model made, across both
turns: a candidate that answers in text instead of looking the order up is a FORMAT_BREAK, whatever it says."""

from __future__ import annotations

import pytest
from triage.orders import LOOKUP_ORDER, answer_order_question

from pytest_llmversion import checks


@pytest.mark.llm_regression(cases="cases/orders.yaml", tags=["tools"])
def test_order_question(llm, llm_case, llm_golden):
    reply = answer_order_question(llm_case.input, llm)  # application code: tool call, lookup, final answer
    expected = llm_case.expected
    llm_golden.check(
        llm_golden.tool_calls,  # every call the model made in this test
        checks.tool_called("lookup_order", times=1),
        checks.tool_args("lookup_order", schema=LOOKUP_ORDER["parameters"], equals={"order_id": expected["order_id"]}),
    )
    llm_golden.check(reply, checks.contains(expected["status"]), checks.contains("Acme Support"))
