"""``google-legacy/<id>``: the deprecated google-generativeai SDK, over REST, for teams not yet on google-genai.

**google-generativeai is end-of-life** (Google ended its support; it warns so at import): every answer
carries a notice saying so, and new code should use ``gemini/<id>``. Its default retry (503 retried for up to
ten minutes) is switched off per call with ``request_options={"retry": None}``; the router retries. The SDK
keeps its configuration in module globals, so the adapter re-applies its own before each call.

Tools, tool results, embeddings, token counts and model lookups are refused in one line: its REST types take
tools only as its own protobuf-shaped declarations, and new code should move to ``gemini/<id>`` anyway.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from pytest_llmversion.config import LLMConfig, ProviderSettings
from pytest_llmversion.providers.base import BadRequest, Completion, ProviderError, Request
from pytest_llmversion.providers.gemini_adapter import completion_from, contents
from pytest_llmversion.providers.json_mode import json_mode
from pytest_llmversion.providers.sdk_common import (
    elapsed_ms,
    error_for_status,
    google_retry_delay,
    import_sdk,
    require_api_key,
    retry_after_seconds,
    unavailable,
    unexpected,
    warnings_as_notices,
)

END_OF_LIFE = (
    "google-generativeai is end-of-life (Google no longer supports it); move to gemini/<model-id>, "
    'which uses google-genai: pip install "pytest-llmversion[gemini]"'
)

#: Where the SDK sends requests when no ``base_url`` is configured (its ``api_endpoint``), for error messages.
DEFAULT_ENDPOINT = "https://generativelanguage.googleapis.com"

_KIND_NAMES = {
    "embedding": "embeddings",
    "count_tokens": "token counts",
    "model_info": "model lookups",
    "model_list": "model listings",
}

_configure_lock = threading.Lock()
_configured: tuple[str | None, str | None] | None = None


def build(name: str, settings: ProviderSettings | None, config: LLMConfig) -> GoogleLegacyAdapter:
    sdk = import_sdk("google.generativeai", "google-legacy")
    key = require_api_key(name, settings)
    endpoint = settings.base_url if settings is not None else None
    return GoogleLegacyAdapter(name, sdk, key.value, endpoint, key_env=key.env, timeout=config.timeout)


class GoogleLegacyAdapter:
    def __init__(
        self, name: str, sdk: Any, key: str | None, endpoint: str | None, *, key_env: str, timeout: float
    ) -> None:
        from google.api_core import exceptions

        self.name = name
        self.sdk = sdk
        self._key = key
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.key_env = key_env
        self.timeout = timeout
        self.exceptions = exceptions

    def _configure(self) -> None:
        global _configured
        with _configure_lock:
            if _configured != (self._key, self.endpoint):
                options = {"api_endpoint": self.endpoint} if self.endpoint else None
                self.sdk.configure(api_key=self._key, transport="rest", client_options=options)
                _configured = (self._key, self.endpoint)

    def complete(self, request: Request, model_id: str, *, sample_index: int = 0) -> Completion:
        ref = f"{self.name}/{model_id}"
        uses_tools = request.tools or any(m.tool_calls or m.role == "tool" for m in request.messages)
        if request.kind != "completion" or uses_tools:
            what = _KIND_NAMES.get(request.kind, "tools")
            raise BadRequest(
                f"{ref}: the google-legacy provider does not send {what}; use gemini/{model_id}", model=ref
            )
        notices: list[str] = []
        started = time.perf_counter()
        try:
            self._configure()
            with warnings_as_notices(ref, notices):
                model = self.sdk.GenerativeModel(
                    model_id, system_instruction=request.system, generation_config=self.generation_config(request)
                )
                response = model.generate_content(
                    contents(request), request_options={"timeout": self.timeout, "retry": None}
                )
        except Exception as exc:
            raise self._error(ref, exc) from None
        completion = completion_from(ref, model_id, response, elapsed_ms(started), (*notices, f"{ref}: {END_OF_LIFE}"))
        return completion

    @staticmethod
    def generation_config(request: Request) -> dict[str, Any]:
        params = request.params
        config: dict[str, Any] = {}
        for ours, theirs in (("temperature", "temperature"), ("max_tokens", "max_output_tokens"), ("top_p", "top_p")):
            if params.get(ours) is not None:
                config[theirs] = params[ours]
        stop = params.get("stop")
        if stop is not None:
            config["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        mode = json_mode(params.get("response_format"))
        if mode is not None:
            config["response_mime_type"] = "application/json"
        # The legacy API has no seed, and its response_schema is a restricted OpenAPI subset: neither is sent.
        return config

    def _error(self, ref: str, exc: Exception) -> ProviderError:
        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, self.exceptions.GoogleAPICallError) and isinstance(exc.code, int):
            response = getattr(exc, "response", None)
            retry_after = retry_after_seconds(getattr(response, "headers", None))
            if retry_after is None and response is not None:
                try:
                    retry_after = google_retry_delay(response.json())
                except ValueError:
                    retry_after = None
            # api_core prefixes "POST <url>: " to the server's message; the URL adds nothing for people.
            message = re.sub(r"^[A-Z]+ \S+: ", "", str(exc.message))
            return error_for_status(ref, exc.code, message, key_env=self.key_env, retry_after=retry_after)
        if _is_transport_error(exc):
            return unavailable(ref, exc, self.timeout, self.endpoint or DEFAULT_ENDPOINT)
        return unexpected(ref, "google-generativeai", exc)


def _is_transport_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    transport = {"ConnectionError", "Timeout", "ChunkedEncodingError", "TransportError", "RetryError"}
    return bool(names & transport) or isinstance(exc, TimeoutError)
