"""A loopback server that speaks the OpenAI, Anthropic and Gemini APIs, answering from scripted rules.

Point the official SDKs (or the plugin's ``[tool.llmversion.providers.*] base_url``) at it and test LLM code
offline, with real HTTP: Chat Completions (+ SSE streaming), the Responses API, embeddings and models at
``/v1``, Anthropic Messages and its token count at ``/v1/messages``, Gemini ``generateContent`` /
``streamGenerateContent?alt=sse`` / ``countTokens`` / ``embedContent`` / ``batchEmbedContents`` under ``/v1``
and ``/v1beta``. Tool calls, streamed or not, are answered in each API's own shape. Each model answers from
scripted rules (a folder of ``<model>.yaml`` files in the scripted provider's format, or rules given in
code: which tool to call with which arguments, what to say after its result); latency, fault schedules and
the served model name are set per model. A random delay (``jitter_ms``, seeded) makes concurrent answers
finish in a shuffled order. Every request received is kept, for assertions.

From code::

    with Emulator(models="scripted_models", latency_ms=5) as emu:
        emu.add_model("gpt-4o-2024-11-20", respond='{"city": "London"}', served_as="gpt-4o-2024-11-20")
        emu.add_fault(Fault.http(429, first=1, retry_after=0.01))
        client = openai.OpenAI(api_key="test", base_url=emu.openai_base_url)

From a shell: ``python -m pytest_llmversion.testing.emulator --port 8765 --models scripted_models``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from pytest_llmversion.providers.base import BadRequest, ProviderError, RateLimited, Unavailable
from pytest_llmversion.providers.scripted import ScriptedProvider
from pytest_llmversion.providers.wire import CODECS, Answer, Codec
from pytest_llmversion.testing.faults import STATUS_FOR_KIND, Fault, FaultSchedule
from pytest_llmversion.testing.loopback import HOST, Handler, LoopbackServer, reset_connection, send_body, send_events
from pytest_llmversion.yamlio import load_yaml_text

_GEMINI = re.compile(r"/(?:v1|v1beta|v1alpha)/models/(?P<model>[^/:]+):(?P<method>\w+)$")
#: Gemini methods -> what the emulator does.
_GEMINI_ACTIONS = {
    "generateContent": "generate",
    "streamGenerateContent": "generate",
    "countTokens": "count",
    "embedContent": "embed",
    "batchEmbedContents": "embed",
}
_MALFORMED_BODY = '{"id": "cut-off", "choices": [{"index": 0, "message": {"role": "assis'


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the emulator saw it (headers lower-cased), and the status it answered."""

    protocol: str
    method: str
    path: str
    model: str | None
    headers: Mapping[str, str]
    body: Any
    status: int
    fault: str | None = None
    stream: bool = False
    #: ``time.monotonic()`` when the request arrived, and when its answer (or error) started going out.
    received_at: float = 0.0
    answered_at: float = 0.0

    @property
    def api_key(self) -> str | None:
        auth = self.headers.get("authorization", "")
        bearer = auth[7:] if auth.lower().startswith("bearer ") else None
        return self.headers.get("x-api-key") or self.headers.get("x-goog-api-key") or bearer


@dataclass
class ModelSettings:
    """Per-model presentation: the name it answers as (alias drift), extra latency, fingerprint."""

    served_as: str | None = None
    latency_ms: float | None = None
    system_fingerprint: str | None = None


@dataclass
class _Call:
    """The parts of one request the handler works with."""

    handler: Handler
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    codec: Codec | None = None
    action: str = "generate"
    model: str | None = None
    body: Any = None
    status: int = 0
    fault: str | None = None
    stream: bool = False
    logged: bool = False
    received_at: float = field(default_factory=time.monotonic)
    generation: int = 0


class Emulator:
    """The loopback provider emulator; start it (or use it as a context manager), point SDKs at :attr:`url`."""

    def __init__(
        self,
        models: str | Path | None = None,
        *,
        port: int = 0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        api_key: str | None = None,
        seed: int = 0,
    ) -> None:
        self.scripts = ScriptedProvider(Path(models) if models is not None else Path("<no models folder>"))
        self.latency_ms = latency_ms
        #: Up to this much more delay for each answer, drawn at random (from ``seed``): concurrent calls then
        #: finish in an order that changes from call to call, as a real provider's do.
        self.jitter_ms = jitter_ms
        self._seed = seed
        self._jitter = random.Random(seed)
        #: When set, any other key gets a 401 whose message repeats the key it got (as careless servers do).
        self.api_key = api_key
        self.faults = FaultSchedule(seed=seed)
        self._settings: dict[str, ModelSettings] = {}
        self._received: list[ReceivedRequest] = []
        self._samples: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        #: Requests being served now, and the most at once since the last reset: what a test of a client's
        #: concurrency (or of its limiter) reads, instead of timing the calls.
        self._in_flight = 0
        self.peak_in_flight = 0
        #: Bumped by each reset: a request that arrived before it (a slow answer the client gave up on) is not
        #: logged after it, into the next test's requests.
        self._generation = 0
        self._ids = itertools.count(1)
        self._port = port
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is None:
            self._server = LoopbackServer(self._port, self._handle)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """For ``openai.OpenAI(base_url=...)``: the OpenAI SDK expects the ``/v1`` prefix in the base URL."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def gemini_base_url(self) -> str:
        return self.url

    def env(self) -> dict[str, str]:
        """Environment variables that point the official SDKs here (keys not included)."""
        return {
            "OPENAI_BASE_URL": self.openai_base_url,
            "ANTHROPIC_BASE_URL": self.anthropic_base_url,
            "GOOGLE_GEMINI_BASE_URL": self.gemini_base_url,
            "NO_PROXY": f"{HOST},localhost",
        }

    def provider_tables(self) -> str:
        """``[tool.llmversion.providers.*]`` tables that send every built-in provider here."""
        bases = {
            "openai": self.openai_base_url,
            "anthropic": self.anthropic_base_url,
            "gemini": self.gemini_base_url,
            "google-legacy": self.gemini_base_url,
        }
        return "".join(f'\n[tool.llmversion.providers.{name}]\nbase_url = "{url}"\n' for name, url in bases.items())

    # -- scripting -----------------------------------------------------------------------------------------

    def add_model(
        self,
        name: str,
        script: Mapping[str, Any] | str | None = None,
        *,
        respond: str | None = None,
        served_as: str | None = None,
        latency_ms: float | None = None,
        system_fingerprint: str | None = None,
    ) -> None:
        """Define how model ``name`` answers: a scripted-model mapping or YAML text, or one fixed ``respond``.

        Without either, the model answers from ``<models>/<name>.yaml``; the keywords still apply.
        """
        if isinstance(script, str):
            script = load_yaml_text(script, f"<script of {name}>") or {}
        if respond is not None:
            script = dict(script or {}) | {"default": {"respond": respond}}
        if script is not None:
            self.scripts.define(name, script)
        with self._lock:
            self._settings[name] = ModelSettings(served_as, latency_ms, system_fingerprint)

    def reset(self) -> None:
        """Back to a fresh start: no faults, no received requests, no models given in code, the random delays
        drawn from their seed again."""
        self.faults.clear()
        self.clear_requests()
        with self._lock:
            self._jitter.seed(self._seed)
            self._samples.clear()
            self._settings.clear()
            self.scripts = ScriptedProvider(self.scripts.folder)
            self.peak_in_flight = 0
            self._generation += 1

    def add_fault(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- what was received --------------------------------------------------------------------------------

    def requests(self, model: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self._received if model is None or r.model == model]

    def clear_requests(self) -> None:
        with self._lock:
            self._received.clear()
            self._generation += 1

    def open_connections(self, settle: float = 2.0) -> int:
        """Client connections held open now: what a test reads to see that a client closed its own. A closed
        connection is gone once the server has read its end, so this waits up to ``settle`` seconds for 0."""
        deadline = time.monotonic() + settle
        while True:
            server = self._server
            if server is None:
                return 0
            with server.connections_lock:
                count = len(server.connections)
            if count == 0 or time.monotonic() >= deadline:
                return count
            time.sleep(0.01)

    # -- serving ------------------------------------------------------------------------------------------

    def _handle(self, handler: Handler, method: str) -> None:
        path, _, query = handler.path.partition("?")
        length = int(handler.headers.get("content-length") or 0)
        call = _Call(
            handler,
            method,
            unquote(path),
            parse_qs(unquote(query)),
            {k.lower(): v for k, v in handler.headers.items()},
            handler.rfile.read(length) if length else b"",
        )
        with self._lock:
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            call.generation = self._generation
        try:
            self._serve(call)
        finally:
            self._log(call)
            with self._lock:
                self._in_flight -= 1

    def _log(self, call: _Call) -> None:
        """Keep the request, once, before its answer leaves (a client may look as soon as it has the answer)."""
        if call.logged:
            return
        call.logged = True
        received = ReceivedRequest(
            call.codec.name if call.codec else "unknown",
            call.method,
            call.handler.path,
            call.model,
            call.headers,
            call.body,
            call.status,
            call.fault,
            call.stream,
            call.received_at,
            time.monotonic(),
        )
        with self._lock:
            if call.generation == self._generation:
                self._received.append(received)

    def _serve(self, call: _Call) -> None:
        if not self._route(call):
            self._send_json(
                call, 404, {"error": {"message": f"the emulator has no endpoint {call.method} {call.path}"}}
            )
            return
        codec = call.codec
        assert codec is not None
        try:
            call.body = json.loads(call.raw) if call.raw else {}
        except json.JSONDecodeError:
            self._send_error(call, 400, "the request body is not JSON")
            return
        if call.model is None and isinstance(call.body, Mapping):
            call.model = call.body.get("model")
        call.stream = codec.wants_stream(call.body, call.path) if call.action == "generate" else False
        if not self._authorised(call):
            return
        fault = self.faults.pick(call.model)
        if fault is not None:
            call.fault = fault.kind
            if fault.kind == "slow":
                time.sleep(fault.delay_ms / 1000)
            elif self._inject(call, fault):
                return
        if call.action == "model":
            self._send_json(call, 200, self._model_info(call))
            return
        if call.action == "models":
            listed = [codec.model_body({"id": name}, name) for name in self.scripts.models()]
            self._send_json(call, 200, codec.models_body(listed))
            return
        if call.model is None or not self.scripts.has(call.model):
            message = f"The model `{call.model}` does not exist or you do not have access to it."
            self._send_error(call, 404, message)
            return
        try:
            if call.action == "embed":
                request = codec.embedding_request(call.body, call.model)
            elif call.action == "count":
                request = codec.count_request(call.body)
            else:
                request = codec.request_from(call.body)
        except BadRequest as error:
            self._send_error(call, 400, str(error))
            return
        self._generate(call, request)

    def _route(self, call: _Call) -> bool:
        path, method = call.path, call.method
        gemini = _GEMINI.search(path)
        if gemini is not None:
            call.codec, call.model = CODECS["gemini"], gemini["model"]
            call.action = _GEMINI_ACTIONS.get(gemini["method"], "generate")
            return method == "POST" and gemini["method"] in _GEMINI_ACTIONS
        routes = (
            ("/chat/completions", "openai-chat", "generate"),
            ("/embeddings", "openai-chat", "embed"),
            ("/responses/input_tokens", "openai-responses", "count"),
            ("/responses", "openai-responses", "generate"),
            ("/messages/count_tokens", "anthropic", "count"),
            ("/messages", "anthropic", "generate"),
        )
        for suffix, codec, action in routes:
            if path.endswith(suffix) and method == "POST":
                call.codec, call.action = CODECS[codec], action
                return True
        found = re.search(r"/models(?:/(?P<model>[^/]+))?$", path)
        if method == "GET" and found is not None:
            # the three APIs share the path: the headers each SDK sends tell them apart
            google = "x-goog-api-key" in call.headers or "key" in call.query or "/v1beta/" in path
            name = "anthropic" if "anthropic-version" in call.headers else "gemini" if google else "openai-chat"
            call.codec, call.model = CODECS[name], found["model"]
            call.action = "model" if found["model"] else "models"
            return True
        return False

    def _authorised(self, call: _Call) -> bool:
        auth = call.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        given = call.headers.get("x-api-key") or call.headers.get("x-goog-api-key") or bearer
        given = given or (call.query.get("key") or [""])[0]
        if not given:
            self._send_error(call, 401, "Missing API key: no Authorization, x-api-key or x-goog-api-key header.")
            return False
        if self.api_key is not None and given != self.api_key:
            self._send_error(call, 401, f"Incorrect API key provided: {given}.")
            return False
        return True

    def _inject(self, call: _Call, fault: Fault) -> bool:
        """Apply a fault; False when the call should still be answered (nothing was sent)."""
        if fault.kind == "http":
            self._send_error(call, fault.status, fault.message or f"injected {fault.status}", fault.retry_after)
        elif fault.kind == "malformed":
            self._send_raw(call, 200, (fault.body or _MALFORMED_BODY).encode(), "application/json")
        elif fault.kind == "truncate":
            body = json.dumps({"error": "this body is cut short by the emulator", "padding": "x" * 64}).encode()
            self._send_raw(call, 200, body, "application/json", cut=len(body) // 2)
        elif fault.kind == "reset":
            call.status = 0
            self._log(call)
            reset_connection(call.handler)
        else:
            return False
        return True

    def _generate(self, call: _Call, request: Any) -> None:
        model = str(call.model)
        codec = call.codec
        assert codec is not None
        with self._lock:
            key = (model, request.fingerprint())
            sample = self._samples.get(key, 0)
            self._samples[key] = sample + 1
            settings = self._settings.get(model, ModelSettings())
        try:
            completion = self.scripts.complete(request, model, sample_index=sample)
        except ProviderError as error:
            self._scripted_error(call, error)
            return
        script = self.scripts.script(model)[0]
        latency = settings.latency_ms if settings.latency_ms is not None else self.latency_ms
        if self.jitter_ms:
            with self._lock:
                latency += self._jitter.uniform(0, self.jitter_ms)
        if latency:
            time.sleep(latency / 1000)
        served = settings.served_as or script.served_as or model
        fingerprint = settings.system_fingerprint or "fp_emulator"
        answer = Answer(completion, served, f"emu-{next(self._ids)}", fingerprint)
        if call.stream:
            self._send_events(call, codec.events(answer, call.body))
        else:
            self._send_json(call, 200, codec.body(answer, call.body))

    def _scripted_error(self, call: _Call, error: ProviderError) -> None:
        if error.kind == "malformed_response":
            self._send_raw(call, 200, _MALFORMED_BODY.encode(), "application/json")
            return
        retry_after = error.retry_after if isinstance(error, RateLimited | Unavailable) else None
        self._send_error(call, STATUS_FOR_KIND.get(error.kind, 400), str(error), retry_after)

    def _model_info(self, call: _Call) -> dict[str, Any]:
        model = str(call.model)
        served = self._settings.get(model, ModelSettings()).served_as or model
        codec = call.codec or CODECS["openai-chat"]
        info: dict[str, Any] = {"id": served, "owned_by": "llm-emulator"}
        if codec is CODECS["anthropic"]:
            info = {"id": served, "display_name": model}
        elif codec is CODECS["gemini"]:
            info = {"id": model}  # Gemini describes the model asked for, by name
        if self.scripts.has(model):
            with contextlib.suppress(ProviderError):  # a broken script still has a name to describe
                info |= self.scripts.script(model)[0].model_info
        return codec.model_body(info, served)

    # -- sending ------------------------------------------------------------------------------------------

    def _send_error(self, call: _Call, status: int, message: str, retry_after: float | None = None) -> None:
        codec = call.codec or CODECS["openai-chat"]
        headers = {}
        if retry_after is not None:
            headers = {"retry-after-ms": str(round(retry_after * 1000)), "retry-after": f"{retry_after:g}"}
        self._send_json(call, status, codec.error_body(status, message, retry_after), headers)

    def _send_json(self, call: _Call, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send_raw(call, status, json.dumps(body).encode(), "application/json", headers=headers)

    def _send_raw(
        self,
        call: _Call,
        status: int,
        data: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        cut: int | None = None,
    ) -> None:
        call.status = status
        self._log(call)
        codec = call.codec or CODECS["openai-chat"]
        sent = {codec.request_id_header: f"req_emu_{next(self._ids)}", **(headers or {})}
        send_body(call.handler, status, data, content_type, sent, cut)

    def _send_events(self, call: _Call, events: Any) -> None:
        call.status = 200
        self._log(call)
        send_events(call.handler, events)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmversion.testing.emulator",
        description="Loopback emulator of the OpenAI, Anthropic and Gemini APIs, answering from scripted models.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--models", metavar="DIR", help="folder of scripted <model>.yaml files")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="up to this much more per answer, at random")
    parser.add_argument("--seed", type=int, default=0, help="of the random delays and of faults with a probability")
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any non-empty key)")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="e.g. kind=http,status=429,every=3,retry_after=1"
    )
    args = parser.parse_args(argv)
    emulator = Emulator(
        args.models,
        port=args.port,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        api_key=args.api_key,
        seed=args.seed,
    )
    try:
        for spec in args.fault:
            emulator.add_fault(Fault.parse(spec))
    except ValueError as exc:
        parser.error(str(exc))
    emulator.start()
    print(f"llm emulator on {emulator.url}", flush=True)
    print(f"  openai     base_url = {emulator.openai_base_url}", flush=True)
    print(f"  anthropic  base_url = {emulator.anthropic_base_url}", flush=True)
    print(f"  gemini     base_url = {emulator.gemini_base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
