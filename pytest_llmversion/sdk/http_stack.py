"""The HTTP library an installed SDK is built on, and the plugin's transport for that library.

Today's majors (openai 3, anthropic 1 and 2, google-genai 3) are built on ``httpx2``; the majors teams and
frameworks still pin (openai 2, anthropic 0.9x, google-genai 2) on ``httpx``. The two libraries share their
transport API (``BaseTransport.handle_request``, ``AsyncBaseTransport.handle_async_request``, ``Request``,
``Response``), so one pair of transport classes is made for whichever one the installed SDK requires: its
client accepts it through the same documented hook, and a user's environment needs nothing the SDK did not
already bring. The choice is read from the SDK's own requirements (``importlib.metadata``), never guessed
from what else happens to be installed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement

from pytest_llmversion.errors import LLMVersionError
from pytest_llmversion.redaction import redact_bytes

if TYPE_CHECKING:
    from pytest_llmversion.sdk.transport import LLMExchange

#: The HTTP libraries the transport speaks, newest first.
LIBRARIES = ("httpx2", "httpx")
#: Import name -> distribution name.
DISTRIBUTIONS = {"openai": "openai", "anthropic": "anthropic", "google.genai": "google-genai"}


@functools.cache
def http_library(module: str) -> str:
    """``"httpx2"`` or ``"httpx"``: the one the installed SDK (an import name, e.g. ``google.genai``) requires.

    An SDK that requires neither (a build without metadata, a vendored copy) gets ``httpx2`` when it is
    installed, else ``httpx``: the newest stack the SDK can be given.
    """
    try:
        requires = importlib.metadata.requires(DISTRIBUTIONS.get(module, module)) or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.name in LIBRARIES and requirement.marker is None:
            return requirement.name
    try:
        importlib.import_module("httpx2")
    except ImportError:
        return "httpx"
    return "httpx2"


@functools.cache
def transports(library: str) -> tuple[type[Any], type[Any]]:
    """(sync, async) transport classes of ``library`` (``httpx2`` or ``httpx``) around an :class:`LLMExchange`.

    Made once per library; importing the library is the caller's job (so a missing one is the caller's one
    line naming the extra to install).
    """
    http: Any = importlib.import_module(library)
    from anyio import to_thread  # every SDK and both HTTP libraries require anyio

    #: Headers that described the body as it travelled; the body handed on is decoded and whole.
    travel_headers = frozenset({"content-encoding", "content-length", "transfer-encoding"})

    def handed_on(upstream: Any, body: bytes, request: Any) -> Any:
        """A passed-through answer, read whole, with any key a server repeated back replaced by ``***`` (it
        would otherwise reach an exception message, the report and the terminal)."""
        headers = [(k, v) for k, v in upstream.headers.multi_items() if k.lower() not in travel_headers]
        return http.Response(upstream.status_code, headers=headers, content=redact_bytes(body), request=request)

    def failed(exchange: LLMExchange, exc: LLMVersionError, request: Any) -> Any:
        from pytest_llmversion.sdk.http_errors import error_response

        return error_response(http, exc, exchange.family, request)

    class LLMTransport(http.BaseTransport):  # type: ignore[misc]
        """For the SDKs' sync clients. ``errors_as_responses``: the plugin's errors reach the SDK as HTTP errors
        it does not retry (clients the application built keep their retries: ``sdk.intercept``)."""

        def __init__(self, exchange: LLMExchange, *, errors_as_responses: bool = False) -> None:
            self.exchange = exchange
            self.errors_as_responses = errors_as_responses
            self._passthrough: Any = None

        def handle_request(self, request: Any) -> Any:
            try:
                rendered = self.exchange.answer(request.method, request.url, request.read())
            except LLMVersionError as exc:
                if not self.errors_as_responses:
                    raise
                return failed(self.exchange, exc, request)
            if rendered is None:
                if self._passthrough is None:
                    self._passthrough = http.HTTPTransport()
                upstream = self._passthrough.handle_request(request)
                try:
                    return handed_on(upstream, upstream.read(), request)
                finally:
                    upstream.close()
            content = rendered.events if rendered.events is not None else rendered.body
            return http.Response(200, headers=rendered.headers, content=content, request=request)

        def close(self) -> None:
            if self._passthrough is not None:
                self._passthrough.close()

    class AsyncLLMTransport(http.AsyncBaseTransport):  # type: ignore[misc]
        """For the SDKs' async clients. A call is read and takes its place in the sample on the loop's thread,
        then is answered in a worker thread (anyio's: asyncio and trio alike), so the loop goes on with the
        application's other calls meanwhile and calls made together are in flight together; replay matches
        them by what they are, whatever order they finish in."""

        def __init__(self, exchange: LLMExchange, *, errors_as_responses: bool = False) -> None:
            self.exchange = exchange
            self.errors_as_responses = errors_as_responses

        async def handle_async_request(self, request: Any) -> Any:
            try:
                return await self._answer(request)
            except LLMVersionError as exc:
                if not self.errors_as_responses:
                    raise
                return failed(self.exchange, exc, request)

        async def _answer(self, request: Any) -> Any:
            pending = self.exchange.start(request.method, request.url, await request.aread())
            if pending is None:
                # a fresh connection per call: a test may run each sample in its own event loop
                async with http.AsyncHTTPTransport() as transport:
                    upstream = await transport.handle_async_request(request)
                    try:
                        return handed_on(upstream, await upstream.aread(), request)
                    finally:
                        await upstream.aclose()
            rendered = await to_thread.run_sync(pending)
            if rendered.events is not None:
                return http.Response(200, headers=rendered.headers, content=_aiter(rendered.events), request=request)
            return http.Response(200, headers=rendered.headers, content=rendered.body, request=request)

    for cls in (LLMTransport, AsyncLLMTransport):
        cls.__qualname__ = f"{cls.__name__}[{library}]"
    return LLMTransport, AsyncLLMTransport


async def _aiter(events: Iterator[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event
