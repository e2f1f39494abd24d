"""The HTTP side of the emulator: a threaded loopback server on 127.0.0.1, its request handler, and how an
answer goes out (a whole body, a body cut short, server-sent events, a connection reset). It knows nothing of
the provider APIs: each request is handed to the ``serve`` function the emulator gives it."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    allow_reuse_address = True

    def __init__(self, port: int, serve: Callable[[Handler, str], None]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        #: Called with each request's handler and its method (``GET``, ``POST``).
        self.serve = serve
        super().__init__((HOST, port), Handler)

    def close_connections(self) -> None:
        """Keep-alive connections would otherwise still be served after stop()."""
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError | OSError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer
    server_version = "llm-emulator"

    def setup(self) -> None:
        super().setup()
        # headers and body leave in separate writes: without this, delayed ACKs add ~40 ms per call
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_POST(self) -> None:
        self.server.serve(self, "POST")

    def do_GET(self) -> None:
        self.server.serve(self, "GET")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test run should not print a line per request."""


def send_body(
    handler: Handler,
    status: int,
    data: bytes,
    content_type: str,
    headers: Mapping[str, str],
    cut: int | None = None,
) -> None:
    """One response; ``cut``: only that many bytes of the body leave, and the connection closes."""
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data if cut is None else data[:cut])
    handler.wfile.flush()
    if cut is not None:
        handler.close_connection = True


def send_events(handler: Handler, events: Iterable[bytes]) -> None:
    """A 200 whose body is server-sent events, each written (chunked) as it comes."""
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream")
    handler.send_header("transfer-encoding", "chunked")
    handler.send_header("cache-control", "no-cache")
    handler.end_headers()
    for event in events:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        handler.wfile.flush()
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def reset_connection(handler: Handler) -> None:
    """Close with RST: the client sees its connection reset by the peer, with no response."""
    with contextlib.suppress(OSError):
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
