"""What the SDK fixtures' transport answers, and what it lets leave the machine (the transport classes
themselves, for ``httpx2`` or ``httpx``, whichever the installed SDK is built on, are in ``http_stack``).

Each request an SDK client sends is read as a call (``calls.read_call``) and handed to the item's runner as a
:class:`Request`, exactly like ``llm.complete``: the runner replays the golden (STALE when the request
changed), calls the item's model through the router, or answers from a recording. Completions (tool calls
included), token counts and model lookups are about the model under test, whatever model the code names;
an embedding goes to the embedding model the code names, at the fixture's provider (``openai/<model>``), the
same in every phase. The :class:`Completion` goes back to the SDK as that provider's response body, or as
its server-sent events when the call streamed. A recorded call never goes to the client's ``base_url``.

**Fail closed.** A request the plugin cannot record (``calls.NotACompletion``: images, hosted tools, several
answers, server-side state, other endpoints, ...) is sent to the client's ``base_url`` as it is only
when both hold:

1. pass-through is allowed: ``--llm-allow-passthrough``, ``LLMVERSION_ALLOW_PASSTHROUGH``, the ini option
   ``llm_allow_passthrough`` or ``allow_passthrough`` in ``[tool.llmversion]`` (that precedence);
2. the item calls models anyway (``CallSeam.calls_models``): a current item under ``--llm-record`` or
   ``--llm-live``, or a candidate item whose model is called, not answered from its recording alone
   (then from any of its phases, the replay of its golden included).

It then goes out with an ``UnrecordedCallWarning`` and a ``notice:`` line; its answer is read whole, and a
key the server repeats back is replaced by ``***``. Anywhere else, a replay above all (with or without the
option), it is refused before a connection is opened: the call raises :class:`CallRefused` (anthropic wraps
it in its connection error), and the refusal is recorded on the item (``CallSeam.refuse``), so the item is ERROR
with one line naming the call, why it cannot be recorded and the option, even when the application
catches the exception. A refused call is never MATCH.

The model the application names is not obeyed: the call goes to the model under test. A name that is
neither the item's model nor the phase's is written in code somewhere; that gets a warning naming the line.
Provider and replay errors propagate as they are: the runner has already recorded them, and the verdict
(ERROR, STALE, MISSING) does not depend on what the SDK makes of them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from pytest_llmversion.governance.pinning import classify
from pytest_llmversion.modelref import ModelRef
from pytest_llmversion.providers.base import Completion, Request
from pytest_llmversion.providers.wire import Answer
from pytest_llmversion.redaction import redact
from pytest_llmversion.sdk.calls import FAMILY, PROTOCOL_NAMES, Family, LLMCall, NotACompletion, protocol_of, read_call
from pytest_llmversion.sdk.callsite import CallSite, application_frame, line_with_literal, literal_site
from pytest_llmversion.sdk.errors import CallRefused, HardCodedModelWarning, UnrecordedCallWarning, WrongProviderError

#: What a replayed answer says about when it was made: a fixed time, so replays give the app the same object.
REPLAY_CREATED = 1_700_000_000
FIXTURES: dict[Family, str] = {"openai": "llm_openai", "anthropic": "llm_anthropic", "gemini": "llm_gemini"}


class URL(Protocol):
    """What the exchange reads of a request's URL; ``httpx2.URL`` and ``httpx.URL`` both are one."""

    @property
    def scheme(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def netloc(self) -> bytes: ...


class CallSeam(Protocol):
    """What the transport needs from the item that runs (``run.sampler.ItemSampler``)."""

    root: Path | None
    #: Whether the item calls models in this run: the only items that may pass a call on.
    calls_models: bool

    def start(self, request: Request) -> Callable[[], Completion]:
        """Make one call now (it takes its place in the sample); the returned function answers it: the
        golden's answer, or the phase's model's."""
        ...

    def model(self) -> ModelRef:
        """The model this call goes to (the phase's model)."""
        ...

    def expected(self) -> Collection[ModelRef] | None:
        """Models the code may name without having written one in (the item's and the phase's); None while
        a candidate item replays the current model's golden (its current item speaks for that)."""
        ...

    def under_test(self) -> Collection[ModelRef]:
        """Models whose calls are about the model under test (the current model, the item's, the phase's)."""
        ...

    def in_sample(self) -> bool:
        """Whether a sample of the test body is running (calls outside one cannot be recorded)."""
        ...

    def notice(self, text: str) -> None: ...

    def refuse(self, problem: CallRefused) -> None:
        """Record a refused call on the item: it is ERROR with this line, whatever the application does."""
        ...


#: The option named in every refusal (its ini, environment and pyproject twins are in the README).
ALLOW_OPTION = "--llm-allow-passthrough"


@dataclass
class Rendered:
    """The HTTP answer to an SDK's completion call: a JSON body, or server-sent events."""

    headers: dict[str, str]
    body: bytes = b""
    events: Iterator[bytes] | None = None


@dataclass
class LLMExchange:
    """Sync and async transports share this: one HTTP request in, a rendered answer (or None: pass it on) out."""

    seam: CallSeam
    family: Family
    fixture: str
    allow_passthrough: bool = False
    #: A client the application built (``sdk.intercept``): a completion that names another model than the one
    #: under test is a side call to that model, never swapped; a fixture's client calls the model under test.
    side_calls: bool = False
    _warned: set[tuple[object, ...]] = field(default_factory=set)

    def answer(self, method: str, url: URL, content: bytes) -> Rendered | None:
        pending = self.start(method, url, content)
        return pending() if pending is not None else None

    def start(self, method: str, url: URL, content: bytes) -> Callable[[], Rendered] | None:
        """Read the call where the application makes it (warnings name its line; the item numbers it), and
        return what answers it, from any thread: the async transport answers in a worker thread, so calls
        made together are in flight together. None: pass the call on."""
        found = protocol_of(method, url.path)
        if found is not None and FAMILY[found.codec] != self.family:
            raise WrongProviderError(
                f"{self.fixture}: {method} {url.path} is {PROTOCOL_NAMES[found.codec]}, but this client was built "
                f"for the {self.family} API: use the {FIXTURES[FAMILY[found.codec]]} fixture for that SDK"
            )
        try:
            call = read_call(method, url.path, content, self.family)
        except NotACompletion as exc:
            self._pass_on_or_refuse(method, url, str(exc))
            return None
        request = call.request
        if self.side_calls:
            if not self.seam.in_sample():
                self._refuse(method, url, "it was made outside the test body (a fixture's set-up or teardown)", "")
            request = self._side_call(call, url)
        elif call.kind != "embedding":  # an embedding model is the code's to name: it is not the model under test
            self._check_model(call)
        pending = self.seam.start(request)
        return lambda: render(call, pending())

    def _tell(self, message: str, category: type[Warning], site: CallSite | None) -> None:
        """A ``notice:`` line in the summary and a warning naming the application's line."""
        self.seam.notice(message)
        _warn(message, category, site)

    def _side_call(self, call: LLMCall, url: URL) -> Request:
        """The call's request: about the model under test, or (a completion naming another model) a side call to
        that model at this provider. An Azure deployment is the deployment's name for the model under test."""
        named = call.model
        if call.kind != "completion" or named is None or "/openai/deployments/" in url.path:
            return call.request
        if any(named in (ref.model_id, str(ref)) for ref in self.seam.under_test()):
            self._written_in_code(named)
            return call.request
        kind = classify(self.family, named)
        if kind in ("alias", "rolling") and ("side", named) not in self._warned:
            self._warned.add(("side", named))
            site = line_with_literal(named)
            where = site.shown(self.seam.root) if site is not None else "the application"
            message = (
                f"{where} calls model {named!r} beside the model under test, an unpinned "
                f"{'alias' if kind == 'alias' else 'rolling id'} the provider can move to another snapshot: "
                "its recorded answers will not reproduce; pin a dated snapshot"
            )
            self._tell(message, HardCodedModelWarning, site)
        return replace(call.request, model=f"{self.family}/{named}")

    def _written_in_code(self, named: str) -> None:
        """The model under test named by a string written in the application's code: swapped in this test, but
        production keeps calling it."""
        site = literal_site(named)
        if site is None or (site, named) in self._warned:
            return
        self._warned.add((site, named))
        message = (
            f"{site.shown(self.seam.root)} names model {named!r} in code: tests send its calls to the model under "
            f"test (the candidate on a candidate run), but production keeps calling {named!r} after a migration. "
            "Take the model id from configuration: a model written into code is how a migration misses a call"
        )
        self._tell(message, HardCodedModelWarning, site)

    def _pass_on_or_refuse(self, method: str, url: URL, reason: str) -> None:
        """Return when the call may go out (see the module docstring); raise ``CallRefused`` otherwise."""
        calls_models = self.seam.calls_models
        if self.allow_passthrough and calls_models:
            self._unrecorded(method, url, reason)
            return
        if calls_models:
            why = f"; pass {ALLOW_OPTION} to send calls the plugin cannot record"
        else:
            why = (
                ", and a replay sends nothing (only --llm-record, --llm-live or a candidate called live send such "
                f"calls, with {ALLOW_OPTION})"
            )
        self._refuse(method, url, reason, why)

    def _refuse(self, method: str, url: URL, reason: str, why: str) -> None:
        call = f"{method} {url.scheme}://{url.netloc.decode()}{url.path}"  # never the query: it may hold a key
        problem = CallRefused(redact(f"{self.fixture}: {call} was not sent: {reason}{why}"))
        self.seam.refuse(problem)
        raise problem from None

    def _unrecorded(self, method: str, url: URL, reason: str) -> None:
        key = (method, url.path, reason)
        if key in self._warned:
            return
        self._warned.add(key)
        where = f"{url.scheme}://{url.netloc.decode()}"
        message = redact(
            f"{self.fixture}: {method} {url.path} went to {where} unrecorded ({reason}); "
            "the golden cannot answer it, so an offline replay fails at this call"
        )
        self._tell(message, UnrecordedCallWarning, application_frame())

    def _check_model(self, call: LLMCall) -> None:
        named = call.model
        expected = self.seam.expected()
        if named is None or expected is None or any(named in (ref.model_id, str(ref)) for ref in expected):
            return
        site = line_with_literal(named)
        key = (site, named)
        if key in self._warned:
            return
        self._warned.add(key)
        kind = classify(call.family, named)
        what = {"alias": " (an alias the provider can move to another snapshot)", "rolling": " (a rolling id)"}
        what_kind = what.get(kind, "")
        where = site.shown(self.seam.root) if site is not None else "the application"
        message = (
            f"{where} asks for model {named!r}{what_kind}, not the model under test; the call went to "
            f"{self.seam.model()}. Take the model id from configuration (llm_config or llm_model in tests): "
            "a model written into code is how an unpinned alias reaches production"
        )
        self._tell(message, HardCodedModelWarning, site)


def _warn(message: str, category: type[Warning], site: CallSite | None) -> None:
    if site is None:
        warnings.warn(message, category, stacklevel=3)
    else:
        warnings.warn_explicit(message, category, site.filename, site.lineno, module=site.module)


def render(call: LLMCall, completion: Completion) -> Rendered:
    """The completion as the provider would have sent it, to the same call."""
    response_id = f"llmv-{call.request.fingerprint().removeprefix('sha256:')}"
    created = REPLAY_CREATED if completion.source != "live" else None
    answer = Answer(completion, completion.model_served, response_id, completion.system_fingerprint, created)
    headers = {call.codec.request_id_header: response_id}
    if call.stream:
        headers |= {"content-type": "text/event-stream", "cache-control": "no-cache"}
        return Rendered(headers, events=call.codec.events(answer, call.body))
    headers["content-type"] = "application/json"
    return Rendered(headers, json.dumps(call.codec.body(answer, call.body)).encode())
