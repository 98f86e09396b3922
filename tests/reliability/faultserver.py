"""A hostile HTTP server on 127.0.0.1 for the network-fault cases (issue 9, item 2).

Raw sockets, one thread per connection, so a route can do what a well-behaved server
library never would: never answer, trickle a byte at a time, reset the connection, lie
about its length, stream 2 GB made on the fly. A route is ``route(conn)``; it writes
through ``conn.send`` (which counts the bytes sent per path) and may simply return.
Paths without a route get a 404 (so robots.txt is "absent", and allows everything).

    with FaultServer() as server:
        server.routes["/stall"] = never_answer
        Fetcher(allow_private=True).fetch(server.url("/stall"))
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Self

HOLD = 60.0  # seconds a stalling route holds its connection at most (unless stopped)
CHUNK = 64 * 1024


@dataclass
class Conn:
    """One request, as a route sees it."""

    sock: socket.socket
    path: str
    headers: dict[str, str]  # lower-case names
    hit: int  # 1 for the first request to this path
    server: FaultServer
    sent: int = field(default=0)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)
        with self.server.lock:
            self.server.sent[self.path] += len(data)

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server stops; True if it is stopping."""
        return self.server.stopping.wait(seconds)

    def reset(self) -> None:
        """Close with a TCP reset (RST), the way a crashed peer or a firewall does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Route = Callable[[Conn], None]


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        owner: FaultServer = self.server.owner  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        sock.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 65536:
                piece = sock.recv(4096)
                if not piece:
                    return
                head += piece
        except OSError:
            return
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        with owner.lock:
            owner.hits[path] += 1
            owner.requests.append((path, headers))
            hit = owner.hits[path]
        route = owner.routes.get(path, not_found)
        conn = Conn(sock, path, headers, hit, owner)
        sock.settimeout(None)
        try:
            route(conn)
        except OSError:  # the client went away (reset, broken pipe): what we expect
            with owner.lock:
                owner.disconnects[path] += 1


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class FaultServer:
    """The hostile server; ``routes`` maps a path to a route."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()  # body and head bytes written, per path
        self.disconnects: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# ---------------------------------------------------------------------------- routes


def head(status: int, reason: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def not_found(conn: Conn) -> None:
    conn.send(head(404, "Not Found", {"Content-Length": "9"}) + b"not found")


def page(html: str) -> Route:
    body = html.encode("utf-8")

    def route(conn: Conn) -> None:
        conn.send(head(200, "OK", {"Content-Type": "text/html; charset=utf-8",
                                   "Content-Length": str(len(body))}) + body)

    return route


def never_answer(conn: Conn) -> None:
    """Reads the request, then says nothing until the server stops."""
    conn.wait(HOLD)


def trickle(interval: float) -> Route:
    """A whole response, status line included, one byte every ``interval`` seconds."""
    data = head(200, "OK", {"Content-Type": "text/html"}) + b"<html>" + b" " * 10_000

    def route(conn: Conn) -> None:
        for byte in data:
            conn.send(bytes([byte]))
            if conn.wait(interval):
                return

    return route


def reset_at_once(conn: Conn) -> None:
    conn.reset()


def reset_mid_body(conn: Conn) -> None:
    """Promises a megabyte, sends 64 KB of it, then resets."""
    conn.send(head(200, "OK", {"Content-Type": "text/html", "Content-Length": "1000000"}))
    conn.send(b"<html>" + b" " * (CHUNK - 6))
    conn.wait(0.2)
    conn.reset()


def close_short(conn: Conn) -> None:
    """Content-Length says 100,000 bytes; 1,000 come, then the connection closes."""
    conn.send(head(200, "OK", {"Content-Type": "text/html", "Content-Length": "100000"}))
    conn.send(b"<html>" + b" " * 994)


def endless_headers(conn: Conn) -> None:
    """A status line, then header lines for ever (never the blank line)."""
    conn.send(head(200, "OK")[:-2])
    for n in range(10_000_000):
        conn.send(b"X-Filler-%d: %s\r\n" % (n, b"x" * 100))
        if conn.server.stopping.is_set():
            return


def endless_status_line(conn: Conn) -> None:
    """2 GB of one line with no line break, where the status line should be."""
    block = b"A" * CHUNK
    for _ in range(2_000_000_000 // CHUNK):
        conn.send(block)
        if conn.server.stopping.is_set():
            return


def garbage_status_line(conn: Conn) -> None:
    """Not HTTP at all: another protocol's greeting, then a long line of junk."""
    conn.send(b"SSH-2.0-OpenSSH_9.6 " + b"x" * 500 + b"\r\n")


def redirect(to: Callable[[Conn], str], status: int = 302) -> Route:
    def route(conn: Conn) -> None:
        conn.send(head(status, "Found", {"Location": to(conn), "Content-Length": "0"}))

    return route


def answers(*replies: tuple[int, str, dict[str, str]], then: Route) -> Route:
    """The given (status, reason, headers) for the first hits, then ``then``."""

    def route(conn: Conn) -> None:
        if conn.hit <= len(replies):
            status, reason, headers = replies[conn.hit - 1]
            conn.send(head(status, reason, {**headers, "Content-Length": "0"}))
        else:
            then(conn)

    return route


def always(status: int, reason: str, headers: dict[str, str]) -> Route:
    def route(conn: Conn) -> None:
        conn.send(head(status, reason, {**headers, "Content-Length": "0"}))

    return route


def zeros(total: int) -> Iterator[bytes]:
    """``total`` bytes of zeros, made as they are sent (never held in memory)."""
    block = bytes(CHUNK)
    left = total
    while left > 0:
        yield block if left >= CHUNK else block[:left]
        left -= CHUNK


def huge(total: int, *, length: bool = False, chunked: bool = False) -> Route:
    """``total`` bytes of body, with or without Content-Length, or chunked."""

    def route(conn: Conn) -> None:
        headers = {"Content-Type": "text/html"}
        if length:
            headers["Content-Length"] = str(total)
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        conn.send(head(200, "OK", headers))
        for block in zeros(total):
            conn.send(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            if conn.server.stopping.is_set():
                return
        if chunked:
            conn.send(b"0\r\n\r\n")

    return route


def encoded(body: bytes, encoding: str) -> Route:
    """A compressed body (with its Content-Length), sent in 64 KB pieces."""

    def route(conn: Conn) -> None:
        conn.send(head(200, "OK", {"Content-Type": "text/html", "Content-Encoding": encoding,
                                   "Content-Length": str(len(body))}))
        view = memoryview(body)
        for start in range(0, len(view), CHUNK):
            conn.send(bytes(view[start:start + CHUNK]))

    return route
