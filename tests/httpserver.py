"""A real HTTP server on 127.0.0.1 for tests that fetch: a dict of routes in, hit counts out.

Usage::

    from httpserver import DROP, LocalServer

    def trickle(request):                     # a body callable: bytes or an iterable of chunks
        for _ in range(10):
            yield b"x"
            if request.server.wait(1.5):      # True once the server is shutting down
                return

    def flaky(request):                       # a route callable: returns the whole answer
        if request.hit == 1:
            return (503, {"Retry-After": "1"}, b"busy")
        return (200, {"Content-Type": "text/plain"}, b"ok")

    with LocalServer({
        "/": (200, {"Content-Type": "text/html; charset=utf-8"}, "<p>hello</p>"),
        "/moved": (301, {"Location": "/"}, b""),
        "/slow": (200, {"Content-Type": "text/plain"}, trickle),
        "/flaky": flaky,
        "/reset": DROP,                       # close the connection without answering
    }) as server:
        fetch(server.url("/flaky"))
        assert server.hits["/flaky"] == 2
        assert server.requests[-1].headers["user-agent"].startswith("cxkb/")

Routes are matched on the path with its query first, then on the path alone; anything
else goes to ``fallback`` (a route callable, if one was given) or is a 404 (and is
counted too). A route is either ``(status, headers, body)`` or a
callable ``route(request) -> (status, headers, body) | DROP``. A body is ``bytes``, ``str``
(sent as UTF-8) or a callable ``body(request) -> bytes | Iterable[bytes]``; an iterable is
streamed chunk by chunk (flushed after each), with ``Transfer-Encoding: chunked`` unless
the headers give a ``Content-Length``. A ``Content-Length`` is added to plain bodies.
Every answer carries ``Connection: close``. GET and HEAD are served (HEAD without a body).

Recorded, thread-safe: ``hits`` (a Counter by path, no query), ``requests`` (every
``Request`` in arrival order), ``sent`` (body bytes written per path, so a test can tell
that a client stopped reading early) and ``disconnects`` (answers cut short by the client).
Handler threads are daemons; ``stopping`` is set on exit so slow handlers can end early.
Pass ``ssl_context`` (a server-side ``ssl.SSLContext``) to serve https.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

DROP = object()  # a route (or a route callable's answer) that closes without answering

Body = bytes | str | Callable[["Request"], bytes | Iterable[bytes]]
Answer = tuple[int, Mapping[str, str], Body]
Route = Answer | Callable[["Request"], Any] | object


@dataclass
class Request:
    """One request as the server saw it (header names in lower case)."""

    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]
    hit: int  # 1 for the first request to this path, 2 for the second ...
    server: LocalServer = field(repr=False)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        self.close_connection = True
        owner = self.server.owner
        parts = urlsplit(self.path)
        request = owner._record(self.command, parts.path, parts.query, self.headers)
        route = owner.routes.get(self.path, owner.routes.get(parts.path))
        if route is None and owner.fallback is not None:
            route = owner.fallback
        if route is None:
            answer: Any = (404, {"Content-Type": "text/plain"}, b"not found")
        elif callable(route):
            answer = route(request)
        else:
            answer = route
        if answer is DROP:
            self._drop()
            return
        status, headers, body = answer
        try:
            self._send(request, status, dict(headers), body, send_body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLError):
            owner._count_disconnect()

    def _drop(self) -> None:
        """Close at once with a TCP reset, so the client sees a dropped connection."""
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        except OSError:
            pass
        self.connection.close()

    def _send(
        self, request: Request, status: int, headers: dict[str, str], body: Body, send_body: bool
    ) -> None:
        owner = self.server.owner
        if callable(body):
            body = body(request)
        if isinstance(body, str):
            body = body.encode("utf-8")
        names = {name.lower() for name in headers}
        chunked = False
        if isinstance(body, bytes | bytearray):
            if "content-length" not in names:
                headers["Content-Length"] = str(len(body))
        elif "content-length" not in names:
            headers["Transfer-Encoding"] = "chunked"
            chunked = True
        headers["Connection"] = "close"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        if not send_body:
            return
        pieces = [body] if isinstance(body, bytes | bytearray) else body
        for piece in pieces:
            if not piece:
                continue
            if chunked:
                self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            self.wfile.flush()
            owner._count_sent(request.path, len(piece))
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-answer is expected in these tests


class LocalServer:
    """Serves ``routes`` on 127.0.0.1 (a free port) in a daemon thread; a context manager."""

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        fallback: Callable[[Request], Any] | None = None,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.fallback = fallback  # answers any request no route matches (instead of the 404)
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.disconnects = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._ssl_context = ssl_context
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Self:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        if self._ssl_context is not None:
            server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return int(self._server.server_address[1])

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """The URL of ``path`` on this server (``host`` may be a name mapped to it)."""
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the server started shutting down meanwhile."""
        return self.stopping.wait(seconds)

    # -- recording (called from handler threads)

    def _record(self, method: str, path: str, query: str, headers: Any) -> Request:
        with self._lock:
            self.hits[path] += 1
            request = Request(method, path, query, {k.lower(): v for k, v in headers.items()},
                              self.hits[path], self)
            self.requests.append(request)
        return request

    def _count_sent(self, path: str, size: int) -> None:
        with self._lock:
            self.sent[path] += size

    def _count_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1

    def requests_to(self, path: str) -> list[Request]:
        """Every request to ``path`` (no query), in order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]
