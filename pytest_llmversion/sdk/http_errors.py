"""The plugin's errors as the providers' HTTP errors, for clients the application built (``sdk.intercept``)."""

from __future__ import annotations

import json
from typing import Any

from pytest_llmversion.sdk.calls import Family
from pytest_llmversion.sdk.errors import CallRefused, WrongProviderError

_STATUS_BY_KIND = {"rate_limited": 429, "unavailable": 503, "auth": 401, "bad_request": 400, "model_not_found": 404}
_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


def error_response(http: Any, exc: Exception, family: Family, request: Any) -> Any:
    """The plugin's error as the provider's HTTP error, so the SDK raises its own status error with the
    plugin's one line in it; ``x-should-retry: false`` keeps the SDK from asking again (the item has already
    recorded the failure: the verdict does not depend on what the application makes of it)."""
    if isinstance(exc, (CallRefused, WrongProviderError)):
        status = 403
    elif hasattr(exc, "verdict"):  # a replay problem: STALE, MISSING, an unreadable golden
        status = 409
    else:
        status = _STATUS_BY_KIND.get(str(getattr(exc, "kind", "")), 502)
    message = str(exc)
    if family == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": "llmversion_error", "message": message}}
    elif family == "gemini":
        body = {"error": {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "ABORTED")}}
    else:
        body = {"error": {"message": message, "type": "llmversion_error", "param": None, "code": None}}
    headers = {"content-type": "application/json", "x-should-retry": "false"}
    return http.Response(status, headers=headers, content=json.dumps(body).encode(), request=request)
