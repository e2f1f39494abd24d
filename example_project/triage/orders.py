"""Order questions: the model looks the order up with a tool before it answers.

The model gets one tool, ``lookup_order``, and the registry's ``orders`` prompt. When it calls the tool, the
app runs the lookup (here a stand-in for the order database) and sends the result back; the model's next
answer is the reply to the customer. The tests check which tool was called with which arguments, and what
the final reply says.
"""

from __future__ import annotations

from typing import Any

from triage.app import LLM

LOOKUP_ORDER = {
    "name": "lookup_order",
    "description": "Look up an Acme order by its number, e.g. A1234.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^[A-Z][0-9]{4}$"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
}
#: A stand-in for the order database the real tool would query.
ORDERS: dict[str, dict[str, str]] = {
    "A1234": {
        "order_id": "A1234",
        "status": "shipped",
        "detail": "it left our warehouse on 18 November and should arrive by 27 November.",
    },
    "B5521": {"order_id": "B5521", "status": "on hold", "detail": "your bank has not confirmed the payment yet."},
}


def lookup_order(order_id: str) -> dict[str, str]:
    return ORDERS.get(order_id, {"order_id": order_id, "status": "unknown", "detail": "no such order."})


def answer_order_question(ticket: str, llm: LLM) -> str:
    """The reply to a customer's question about an order, after the lookups the model asks for."""
    prompt = llm.prompt("orders")  # prompts/orders.yaml, the version tuned for the model in use
    reply = llm.complete(prompt, ticket=ticket, tools=[LOOKUP_ORDER])
    messages: list[Any] = list(prompt.render({"ticket": ticket}))
    for _ in range(3):  # a model that keeps calling tools gets three rounds, then its last answer stands
        if not reply.tool_calls:
            break
        # the model's turn (its calls included), then one result per call
        messages += [reply, *(call.result(lookup_order(**call.arguments)) for call in reply.tool_calls)]
        reply = llm.complete(messages, tools=[LOOKUP_ORDER])
    return str(reply.text).strip()
