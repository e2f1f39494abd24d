"""Public status-page updates during an incident, written the way most LLM code is: an ``openai.OpenAI``
client built when the module is imported, the model from the application's settings, and no trace of
pytest-llmversion. ``tests/test_status_page.py`` tests it with the ``llm_regression`` marker only: during a
marked test the plugin takes over every official SDK client, so this client's calls are replayed from the
goldens, recorded with ``--llm-record`` and sent to the candidate with ``--candidate-model``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import openai

from triage.settings import MODEL

Status = Literal["investigating", "identified", "monitoring", "resolved"]

client = openai.OpenAI()  # built at import, from the environment: OPENAI_API_KEY, OPENAI_BASE_URL

SYSTEM = (
    "You write the public status page update for an incident. Customers read it: no internal names, no blame. "
    'Answer with one JSON object: {"status": "investigating" | "identified" | "monitoring" | "resolved", '
    '"message": "<at most 280 characters>"}'
)


@dataclass(frozen=True)
class StatusUpdate:
    status: Status
    message: str


def status_update(incident: str) -> StatusUpdate:
    """The update to publish. Raises ``json.JSONDecodeError`` or ``TypeError`` if the answer is unusable."""
    response = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": incident}],
        temperature=0,
        max_tokens=200,
    )
    return StatusUpdate(**json.loads(response.choices[0].message.content or ""))
