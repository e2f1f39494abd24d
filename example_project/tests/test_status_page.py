"""The status page code builds its own ``openai.OpenAI`` client at import (triage/status_page.py). These tests
only carry the marker: the plugin takes that client over for each marked test, so its calls replay the
committed goldens, are recorded with ``--llm-record`` and go to the candidate with ``--candidate-model``."""

from __future__ import annotations

import pytest
from triage.status_page import status_update

INCIDENTS = {
    "api-down": "The public API returns 503 for every request since 09:00 UTC; engineers found a bad config push.",
    "slow-exports": "PDF exports take up to ten minutes; a fix was deployed at 14:10 UTC and we are watching it.",
}


@pytest.mark.llm_regression(tags=["sdk"])
@pytest.mark.parametrize("incident", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_status_update(incident):
    update = status_update(incident)  # application code, unchanged: its module-level client is the plugin's
    assert update.status in ("investigating", "identified", "monitoring", "resolved")
    assert len(update.message) <= 280
