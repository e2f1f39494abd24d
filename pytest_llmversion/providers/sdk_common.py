"""What every SDK adapter shares: the lazy SDK import, the API key, HTTP status -> error, retry-after, SDK
warnings, and keeping secrets out of every message.

Adapters import their SDK only when a test first uses the provider, so ``pytest --help`` and a suite without
LLM tests never pay for one. Every message an adapter raises goes through :func:`redact`: an API key must
never reach a golden, a recording, a report or a failure line, even when a server echoes it back.
Statuses, retry-after and keys as the adapters use them: docs/providers.md §3, §4, §7.
"""

from __future__ import annotations

import email.utils
import importlib
import json
import os
import re
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pytest_llmversion.config import ProviderSettings
from pytest_llmversion.providers.base import (
    AuthError,
    BadRequest,
    MalformedResponse,
    ModelNotFound,
    ProviderError,
    RateLimited,
    SetupError,
    Unavailable,
)
from pytest_llmversion.redaction import KEY_ENVS, redact, remember_secret


def import_sdk(module: str, extra: str) -> Any:
    """Import a provider SDK, or fail with the one line that installs it."""
    try:
        with warnings.catch_warnings():
            # google-generativeai warns at import that it is end-of-life; the adapter says so itself.
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name if exc.name and exc.name.split(".")[0] != module.split(".")[0] else None
        needs = f", which needs {missing}" if missing else ""
        raise SetupError(
            f'the {extra} provider needs its SDK ({module}{needs}): pip install "pytest-llmversion[{extra}]"'
        ) from None


# -- API keys and secrets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    value: str | None
    #: The variable(s) to name in a message, e.g. ``OPENAI_API_KEY`` or ``GEMINI_API_KEY or GOOGLE_API_KEY``.
    env: str
    #: True when no key is needed unless the server asks (named endpoints without ``api_key_env``).
    optional: bool = False


def key_env_names(name: str, settings: ProviderSettings | None) -> tuple[tuple[str, ...], bool]:
    """(variables to read, whether the key is optional) for provider ``name``."""
    if settings is not None and settings.api_key_env:
        return (settings.api_key_env,), False
    if name in KEY_ENVS:
        return KEY_ENVS[name], False
    # A named OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp) often needs no key at all.
    return (f"{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}_API_KEY",), True


def resolve_api_key(name: str, settings: ProviderSettings | None, environ: Mapping[str, str] | None = None) -> ApiKey:
    environ = os.environ if environ is None else environ
    names, optional = key_env_names(name, settings)
    for variable in names:
        value = environ.get(variable, "").strip()
        if value:
            remember_secret(value)
            return ApiKey(value, variable, optional)
    return ApiKey(None, " or ".join(names), optional)


def require_api_key(name: str, settings: ProviderSettings | None) -> ApiKey:
    """The key for ``name``; a missing one is an AuthError naming the variable to set."""
    key = resolve_api_key(name, settings)
    if key.value is None and not key.optional:
        where = f"[tool.llmversion.providers.{name}] api_key_env"
        raise AuthError(f"{name}: no API key: set {key.env} (or name another variable in {where})", model=name)
    return key


# -- HTTP status -> the error vocabulary -------------------------------------------------------------------


def error_for_status(
    ref: str, status: int, message: str, *, key_env: str, retry_after: float | None = None
) -> ProviderError:
    """Map an HTTP status from any provider to the plugin's error vocabulary, one line naming ``ref``."""
    detail = redact(message) or "no message"
    if status == 429:
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        return RateLimited(f"{ref}: rate limited (429){wait}: {detail}", model=ref, retry_after=retry_after)
    if status in (408, 409) or status >= 500:
        what = "overloaded" if status == 529 else "unavailable"
        return Unavailable(f"{ref}: {what} ({status}): {detail}", model=ref, retry_after=retry_after)
    if status in (401, 403):
        verb = "was refused" if status == 401 else "is not allowed to use this model"
        return AuthError(f"{ref}: the API key in {key_env} {verb} ({status}): {detail}", model=ref)
    if status == 404:
        return ModelNotFound(
            f"{ref}: model not found (404): {detail}; it may be retired or misspelled (or base_url is wrong)",
            model=ref,
        )
    return BadRequest(f"{ref}: bad request ({status}): {detail}", model=ref)


def unavailable(ref: str, exc: BaseException, timeout: float | None = None, base_url: str | None = None) -> Unavailable:
    """A timeout or a failed connection: the provider could not be reached, so another try may help.

    The message names the endpoint tried (scheme, host and port: never a path, query string or key), so a
    wrong ``base_url`` shows at a glance: the request's URL when the error carries it, else ``base_url``.
    """
    name = type(exc).__name__
    endpoint = endpoint_of(exc) or (endpoint_from(base_url) if base_url else None)
    to = f" to {endpoint}" if endpoint else ""
    if "Timeout" in name or isinstance(exc, TimeoutError):
        after = f" after {timeout:g}s" if timeout is not None else ""
        if "Connect" in name:
            return Unavailable(f"{ref}: cannot connect{to} (timed out{after})", model=ref)
        at = f" waiting for {endpoint}" if endpoint else ""
        return Unavailable(f"{ref}: timed out{after}{at} ({name})", model=ref)
    cause = _connect_cause(exc)
    text = str(exc)
    if cause is not None or name == "ConnectError" or "NewConnectionError" in text:
        return Unavailable(f"{ref}: cannot connect{to} ({cause or name})", model=ref)
    at = f" at {endpoint}" if endpoint else ""
    detail = redact(_QUERY.sub("", text)) or name
    return Unavailable(f"{ref}: connection failed{at}: {detail} ({name})", model=ref)


#: A query string in an exception's text (requests quotes the URL it tried): it may carry a key.
_QUERY = re.compile(r"\?[^\s'\")]*")
#: Why a connection could not be made, by the OS error behind it.
_CONNECT_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (socket.gaierror, "host name not found"),
    (ssl.SSLError, "TLS handshake failed"),
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _connect_cause(exc: BaseException) -> str | None:
    for link in _chain(exc):
        for kind, cause in _CONNECT_CAUSES:
            if isinstance(link, kind):
                return cause
        # urllib3 (google-legacy's REST transport) keeps the OS error in a reason, not in the chain
        reason = getattr(link, "reason", None)
        if isinstance(reason, BaseException) and reason is not link:
            found = _connect_cause(reason)
            if found is not None:
                return found
    return None


def endpoint_of(exc: BaseException) -> str | None:
    """``scheme://host:port`` of the request an SDK's connection error carries (httpx2 and requests both keep
    it on ``.request``), or None."""
    for link in _chain(exc):
        try:
            request = getattr(link, "request", None)
        except RuntimeError:  # httpx2 raises when the error was made outside a request
            continue
        url = getattr(request, "url", None)
        endpoint = endpoint_from(str(url)) if url is not None else None
        if endpoint is not None:
            return endpoint
    return None


def endpoint_from(url: str) -> str | None:
    """``scheme://host:port`` of a URL, the port spelled out; None when it names no host."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port that is not a number: name the host alone
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def unexpected(ref: str, sdk: str, exc: BaseException) -> ProviderError:
    """Anything else the SDK raised: a body it could not parse is malformed, the rest is named as it is.

    Either way it is a provider error (the item is ERROR), never a test failure scored against the model.
    """
    name = type(exc).__name__
    if _is_parse_error(exc):
        return MalformedResponse(f"{ref}: the response body could not be read ({name}: {redact(str(exc))})", model=ref)
    return ProviderError(f"{ref}: the {sdk} SDK raised {name}: {redact(str(exc))}", model=ref)


def _is_parse_error(exc: BaseException) -> bool:
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"APIResponseValidationError", "ValidationError", "ParseError", "JSONDecodeError"})


def retry_after_seconds(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds a server asked to wait: ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def google_retry_delay(details: Any) -> float | None:
    """``RetryInfo.retryDelay`` ("30s", "0.5s") from a Google error body, if any."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else ():
        delay = item.get("retryDelay") if isinstance(item, Mapping) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                continue
    return None


# -- SDK warnings become notices ------------------------------------------------------------------------


#: The notices list of the SDK call running on this thread, if any (see ``warnings_as_notices``).
_calling = threading.local()
_install_lock = threading.Lock()
_original_warn: Callable[..., None] | None = None


def _warn_per_thread(
    message: str | Warning, category: type[Warning] | None = None, stacklevel: int = 1, source: Any = None, **kw: Any
) -> None:
    """``warnings.warn`` while the plugin runs SDK calls: inside one, on this thread, the warning becomes a notice;
    anywhere else it is warned as it would have been (one frame up, so it points where it did)."""
    notices: tuple[str, list[str]] | None = getattr(_calling, "notices", None)
    if notices is None:
        assert _original_warn is not None
        _original_warn(message, category, stacklevel + 1, source, **kw)
        return
    ref, found = notices
    name = (category or (type(message) if isinstance(message, Warning) else UserWarning)).__name__
    found.append(f"{ref}: {redact(str(message))} ({name} from the SDK)")


@contextmanager
def warnings_as_notices(ref: str, notices: list[str]) -> Iterator[None]:
    """Collect what an SDK warns during a call (e.g. anthropic's DeprecationWarning for a retiring model).

    Under ``pytest -W error`` such a warning would otherwise become an exception inside the SDK call; the
    plugin reports it as its own notice in the summary instead.

    Per thread: calls run in the call pool's threads while the test body runs on the main thread, and
    ``catch_warnings`` swaps process-wide state (a call's capture would swallow what the body warns meanwhile,
    a ``HardCodedModelWarning`` among them, and restore the filters under the body's feet). So ``warnings.warn``
    is wrapped once, for the process, by a function that turns a warning into a notice only on a thread inside
    an SDK call and passes every other one on unchanged. (Python 3.14's context-aware warnings make this
    unnecessary; 3.11 has none.) A warning an SDK raises from C code, not through ``warnings.warn``, is not
    caught.
    """
    global _original_warn
    with _install_lock:
        if _original_warn is None:
            _original_warn = warnings.warn
            warnings.warn = _warn_per_thread
    outer = getattr(_calling, "notices", None)
    _calling.notices = (ref, notices)
    try:
        yield
    finally:
        _calling.notices = outer


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
