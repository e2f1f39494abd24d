"""Application code tested unchanged: official SDK clients whose HTTP transport is the plugin.

The ``llm_openai``, ``llm_anthropic`` and ``llm_gemini`` fixtures (and their async twins) hand a test the
SDK's own client, built with an ``httpx2`` client through the SDK's documented ``http_client`` hook. Its
transport reads each completion call (``calls``), sends it through the item's runner, like ``llm.complete``
(golden replay, recording, the candidate model), and writes the answer back as that provider's HTTP
response or event stream (``transport``); a call it cannot record fails closed (see ``transport``).
``clients`` builds the SDK clients; ``callsite`` finds the line of application code that made a call.
Importing this package loads neither an SDK nor ``httpx2``.
"""

from __future__ import annotations

from pytest_llmversion.sdk.errors import CallRefused, HardCodedModelWarning, UnrecordedCallWarning, WrongProviderError

__all__ = ["CallRefused", "HardCodedModelWarning", "UnrecordedCallWarning", "WrongProviderError"]
