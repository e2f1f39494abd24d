"""The official SDK clients the fixtures return, each built on an HTTP client with the plugin's transport:
``httpx2`` or ``httpx``, whichever the installed SDK requires (``http_stack``).

Only documented hooks are used: ``http_client=`` for openai and anthropic, ``HttpOptions(httpx_client=,
httpx_async_client=)`` for google-genai. The SDKs' own retries are off (the router retries live calls, and
a retried replay would count as another call). ``base_url`` is the provider table's, else the SDK's
default: completions never go there, only calls the plugin cannot record, and only when pass-through is
allowed (see ``transport``). The API key is the environment's when there is one, else a placeholder, so
replays need no key. The HTTP library and the transport are imported after the SDK, so a missing one is the
same one line naming the extra to install.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytest_llmversion.providers.sdk_common import import_sdk, resolve_api_key

if TYPE_CHECKING:
    from pytest_llmversion.config import LLMConfig
    from pytest_llmversion.sdk.calls import Family
    from pytest_llmversion.sdk.transport import CallSeam

#: Sent when the environment has no key: the provider never sees a completion call, only pass-through ones.
PLACEHOLDER_KEY = "llmversion-no-key"
_EXTRAS: dict[Family, tuple[str, str]] = {
    "openai": ("openai", "openai"),
    "anthropic": ("anthropic", "anthropic"),
    "gemini": ("google.genai", "gemini"),
}


Flavour = Literal["sync", "async"]


@dataclass(frozen=True)
class BuiltClient:
    """An SDK client and the HTTP client (``httpx2`` or ``httpx``) under it, which the plugin made and so must
    close: google-genai leaves an ``httpx_client`` it was given open when it is closed, with the pass-through
    connection in it."""

    sdk: Any
    http: Any

    def close(self) -> None:
        """Sync clients only: an async one's pass-through calls each open and close their own connection."""
        close = getattr(self.sdk, "close", None)
        if callable(close) and not inspect.iscoroutinefunction(close):
            close()
        if not inspect.iscoroutinefunction(getattr(self.http, "close", None)):
            self.http.close()


def build_client(family: Family, flavour: Flavour, seam: CallSeam, config: LLMConfig, fixture: str) -> BuiltClient:
    """The SDK's client object for ``family``; a missing SDK is one line naming the extra to install."""
    module, extra = _EXTRAS[family]
    sdk = import_sdk(module, extra)
    from pytest_llmversion.sdk.http_stack import http_library, transports
    from pytest_llmversion.sdk.intercept import mark_own
    from pytest_llmversion.sdk.transport import LLMExchange

    library = http_library(module)
    http = import_sdk(library, extra)
    LLMTransport, AsyncLLMTransport = transports(library)

    settings = config.providers.get(family)
    base_url = settings.base_url if settings is not None else None
    key = resolve_api_key(family, settings).value or PLACEHOLDER_KEY
    exchange = LLMExchange(seam, family, fixture, allow_passthrough=config.allow_passthrough)
    if family == "gemini":
        from google.genai import types

        http_client: Any = http.Client(transport=LLMTransport(exchange))
        async_http_client = http.AsyncClient(transport=AsyncLLMTransport(exchange))
        mark_own(http_client)
        mark_own(async_http_client)
        options = types.HttpOptions(
            base_url=base_url,
            api_version=settings.api_version if settings is not None else None,
            httpx_client=http_client,
            httpx_async_client=async_http_client,
        )
        return BuiltClient(sdk.Client(api_key=key, vertexai=False, http_options=options), http_client)
    if flavour == "async":
        cls = sdk.AsyncOpenAI if family == "openai" else sdk.AsyncAnthropic
        http_client = http.AsyncClient(transport=AsyncLLMTransport(exchange))
    else:
        cls = sdk.OpenAI if family == "openai" else sdk.Anthropic
        http_client = http.Client(transport=LLMTransport(exchange))
    mark_own(http_client)
    return BuiltClient(cls(api_key=key, base_url=base_url, max_retries=0, http_client=http_client), http_client)
