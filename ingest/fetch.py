"""The polite fetcher: the ONLY place in cxkb that talks to the network.

``Fetcher.fetch(url)`` GETs one URL the way a careful crawler should:

- every request (the first, each redirect hop, robots.txt) passes the network guard
  (``ingest.netguard.check_url``) and the TCP connection goes to an address the guard
  checked, never to a fresh DNS answer; https verifies the certificate against the host;
- redirects are followed by hand (at most ``max_redirects``), each hop checked again;
- a connect time-out, a per-read time-out and a total deadline per attempt, so a server
  that trickles bytes cannot hold a fetch forever;
- a size cap on the body as sent AND as decoded (gzip, deflate and brotli are decoded in
  bounded steps, so a compression bomb fails fast with little memory);
- retries with exponential back-off for 429/500/502/503/504 and dropped connections,
  honouring ``Retry-After``; other errors are never retried;
- robots.txt (RFC 9309) read once per site, ``Crawl-delay`` honoured; one request at a
  time per site and at least ``delay`` seconds between them;
- conditional re-fetch (``If-None-Match`` / ``If-Modified-Since``) from a response cache.

Every failure is a ``FetchError`` (or subclass) whose message names the URL and says why
in one line. Waiting goes through the injected ``sleep`` so tests can record it.
"""

from __future__ import annotations

import functools
import http.client
import io
import logging
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Protocol
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import brotli

from ingest.errors import (
    FetchBlocked,
    FetchError,
    RobotsDisallowed,
    UnresolvableHostError,
    UnsafeURLError,
)
from ingest.netguard import CheckedURL, Resolver, check_url

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "cxkb/0.1 (+https://github.com/cxkb/cxkb; research knowledge base)"
DEFAULT_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_ENCODING = "gzip, deflate, br"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ROBOTS_MAX_BYTES = 512_000  # RFC 9309: parse at least 500 KiB; the rest may be ignored
CHUNK = 64 * 1024
MAX_CRAWL_DELAY = 30.0  # seconds; a larger robots.txt Crawl-delay is treated as this
BROTLI_INPUT_STEP = 4096

Connect = Callable[[str, int, float], socket.socket]
Site = tuple[str, str, int]  # scheme, host, port


@dataclass
class FetchResult:
    """One fetched URL: the decoded body and what the server said about it."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int  # 200, or 304 when served from cache after a conditional request
    headers: dict[str, str]  # lower-case names
    body: bytes  # decoded from Content-Encoding, at most max_bytes
    content_type: str | None  # "text/html" (no parameters)
    charset: str | None  # from Content-Type, if any
    fetched_at: str  # UTC ISO 8601
    redirects: list[str] = field(default_factory=list)  # each redirect's target, in order
    from_cache: bool = False  # True when a 304 let us reuse the cached body
    etag: str | None = None
    last_modified: str | None = None


class ResponseCache(Protocol):
    """Where earlier results are kept for conditional re-fetches, keyed by requested URL."""

    def get(self, url: str) -> FetchResult | None: ...

    def put(self, result: FetchResult) -> None: ...


class MemoryCache:
    """A dict-backed ``ResponseCache`` for tests and one-off runs (thread-safe)."""

    def __init__(self) -> None:
        self._items: dict[str, FetchResult] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> FetchResult | None:
        with self._lock:
            return self._items.get(url)

    def put(self, result: FetchResult) -> None:
        with self._lock:
            self._items[result.url] = result

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# ---------------------------------------------------------------------------- internals


class _Dropped(Exception):
    """The server reset or closed the connection without an answer (worth a retry)."""


class _TooBig(Exception):
    """The body went over the byte limit (raw or decoded)."""


@dataclass
class _Reply:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Clock:
    """The time budget of one attempt: a total deadline plus a per-read time-out."""

    total: float
    read_timeout: float
    start: float = field(default_factory=time.monotonic)
    phase: str = "connecting"
    deadline_cut: bool = False  # the last time-out set was shortened by the deadline

    def left(self) -> float:
        return self.total - (time.monotonic() - self.start)

    def bound(self, wanted: float) -> float:
        """``wanted`` cut to the time left; raises TimeoutError once the deadline passed."""
        left = self.left()
        if left <= 0:
            self.deadline_cut = True
            raise TimeoutError("total deadline passed")
        self.deadline_cut = left < wanted
        return min(wanted, left)


class _DeadlineReader(io.RawIOBase):
    """Reads a socket with each recv limited to min(read time-out, time left).

    It wraps the socket's own ``makefile`` stream, which keeps the socket open when
    http.client closes the connection after a ``Connection: close`` response.
    """

    def __init__(self, sock: socket.socket, stream: io.RawIOBase, clock: _Clock) -> None:
        super().__init__()
        self._sock = sock
        self._stream = stream
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:  # type: ignore[override]
        self._sock.settimeout(self._clock.bound(self._clock.read_timeout))
        return self._stream.readinto(buffer)

    def close(self) -> None:
        self._stream.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """An ``HTTPResponse`` whose every read (status line, headers, body) obeys the clock."""

    def __init__(self, sock: socket.socket, *args, clock: _Clock, **kwargs) -> None:
        super().__init__(sock, *args, **kwargs)
        buffered = self.fp  # sock.makefile("rb"): a BufferedReader over a SocketIO
        self.fp = io.BufferedReader(_DeadlineReader(sock, buffered.detach(), clock), CHUNK)


class _GuardedMixin:
    """``connect()`` to one of the guard's checked addresses, never to a new DNS answer."""

    _checked: CheckedURL
    _connect_fn: Connect
    _connect_timeout: float
    _clock: _Clock
    _tls: ssl.SSLContext | None
    sock: socket.socket | None

    def _setup(
        self,
        checked: CheckedURL,
        connect_fn: Connect,
        connect_timeout: float,
        clock: _Clock,
        tls: ssl.SSLContext | None,
    ) -> None:
        self._checked = checked
        self._connect_fn = connect_fn
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._tls = tls
        self.response_class = _response_factory(clock)  # type: ignore[misc]

    def connect(self) -> None:
        last: OSError | None = None
        sock = None
        for address in self._checked.addresses:
            self._clock.phase = "connecting"
            try:
                timeout = self._clock.bound(self._connect_timeout)
                sock = self._connect_fn(address, self._checked.port, timeout)
            except OSError as error:
                last = error
                log.debug("connect to %s port %s failed: %s", address, self._checked.port, error)
                continue
            break
        if sock is None:
            assert last is not None
            raise last
        if self._tls is not None:
            self._clock.phase = "TLS handshake"
            sock.settimeout(self._clock.bound(self._connect_timeout))
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self._checked.host)
            except BaseException:
                sock.close()
                raise
        self._clock.phase = "sending"
        sock.settimeout(self._clock.bound(self._clock.read_timeout))
        self.sock = sock


def _response_factory(clock: _Clock) -> Callable[..., _DeadlineResponse]:
    def make(sock: socket.socket, *args, **kwargs) -> _DeadlineResponse:
        return _DeadlineResponse(sock, *args, clock=clock, **kwargs)

    return make


class _GuardedHTTPConnection(_GuardedMixin, http.client.HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedMixin, http.client.HTTPSConnection):
    pass


class _Decoder(Protocol):
    def feed(self, data: bytes, room: int) -> bytes: ...

    def finish(self) -> None: ...


class _ZlibDecoder:
    """gzip / zlib / raw deflate, decoded in steps of at most ``room`` bytes of output."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._obj = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        if not self._started and self.name == "deflate" and data:
            self._started = True
            try:  # "deflate" is zlib-wrapped by the spec, but some servers send it raw
                return self._step(data, room)
            except zlib.error:
                self._obj = zlib.decompressobj(wbits=-15)
        self._started = True
        return self._step(data, room)

    def _step(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        pending = data
        while pending and not self._obj.eof:
            piece = self._obj.decompress(pending, room - len(out) + 1)
            out += piece
            if len(out) > room:
                raise _TooBig
            pending = self._obj.unconsumed_tail
        return bytes(out)

    def finish(self) -> None:
        if self._started and not self._obj.eof:
            raise zlib.error("the compressed body ends early")


class _BrotliDecoder:
    """brotli, fed in small steps with an output limit so a bomb stops early."""

    name = "br"

    def __init__(self) -> None:
        self._obj = brotli.Decompressor()
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        self._started = self._started or bool(data)
        out = bytearray()
        view = memoryview(data)
        for start in range(0, len(view), BROTLI_INPUT_STEP):
            out += self._obj.process(
                bytes(view[start : start + BROTLI_INPUT_STEP]), output_buffer_limit=room + 1
            )
            while len(out) <= room and not self._obj.can_accept_more_data():
                out += self._obj.process(b"", output_buffer_limit=room - len(out) + 1)
            if len(out) > room:
                raise _TooBig
        return bytes(out)

    def finish(self) -> None:
        if self._started and not self._obj.is_finished():
            raise brotli.error("the compressed body ends early")


def _decoders(content_encoding: str | None, url: str) -> list[_Decoder]:
    """The decoders for a Content-Encoding header, outermost coding last (as sent)."""
    names = [p.strip().lower() for p in (content_encoding or "").split(",") if p.strip()]
    found: list[_Decoder] = []
    for name in names:
        if name in ("gzip", "x-gzip", "deflate"):
            found.append(_ZlibDecoder(name))
        elif name == "br":
            found.append(_BrotliDecoder())
        elif name != "identity":
            raise FetchError(f"{url}: the server used an unsupported Content-Encoding {name!r}")
    return found


def _content_type(value: str | None) -> tuple[str | None, str | None]:
    """("text/html", "utf-8") from a Content-Type header."""
    if not value:
        return None, None
    main, *params = value.split(";")
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'").lower() or None
    return (main.strip().lower() or None), charset


def _request_target(url: str) -> str:
    """Path and query for the request line, with unsafe characters percent-encoded."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return re.sub(
        r"[^\x21-\x7e]",
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")),
        target,
    )


def _site_root(checked: CheckedURL) -> str:
    host = f"[{checked.host}]" if ":" in checked.host else checked.host
    default = 443 if checked.scheme == "https" else 80
    port = "" if checked.port == default else f":{checked.port}"
    return f"{checked.scheme}://{host}{port}"


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _header_dict(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Response headers by lower-case name; repeated headers joined with ", "."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _phrase(status: int, reason: str) -> str:
    if reason:
        return reason
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Status"


def _header_text(value: str) -> str:
    """http.client decodes headers as Latin-1; recover UTF-8 (e.g. in a Location)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _seconds(value: float) -> str:
    return f"{value:g}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: allow or disallow everything (see ``allow``)
    allow: bool
    note: str  # why, for messages
    crawl_delay: float | None = None
    unreachable: bool = False  # the site did not answer at all (the note says why)


@dataclass
class _SiteState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_end: float | None = None
    robots: _Robots | None = None


# ---------------------------------------------------------------------------- the fetcher


class Fetcher:
    """Fetches URLs safely and politely; see the module docstring. Thread-safe."""

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        connect: Connect | None = None,
        delay: float = 1.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        total_timeout: float = 60.0,
        max_bytes: int = 20_000_000,
        max_redirects: int = 5,
        retries: int = 3,
        backoff: float = 1.0,
        max_retry_after: float = 120.0,
        obey_robots: bool = True,
        cache: ResponseCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        before_request: Callable[[str], None] | None = None,
    ) -> None:
        if max_bytes < 1 or max_redirects < 0 or retries < 0:
            raise ValueError("max_bytes must be positive; max_redirects and retries >= 0")
        self.user_agent = user_agent
        self.allow_private = allow_private
        self.resolver = resolver
        self.connect = connect or _default_connect
        self.delay = delay
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.obey_robots = obey_robots
        self.cache = cache
        self.sleep = sleep
        self.before_request = before_request  # called before every request but robots.txt
        self._sites: dict[Site, _SiteState] = {}
        self._sites_lock = threading.Lock()

    @functools.cached_property
    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made at the first https request: loading the CA bundle takes
        about 0.1 s, which a run (or a worker's job) fetching no https URL need not pay."""
        return ssl.create_default_context()

    # -- public

    def fetch(self, url: str, *, accept: str | None = None) -> FetchResult:
        """GET ``url``; raise ``FetchError`` (with the URL and the reason) if it fails."""
        cached = self.cache.get(url) if self.cache is not None else None
        start = hop = urldefrag(url.strip())[0]
        redirects: list[str] = []
        while True:
            where = url if not redirects else f"{url} (redirected to {hop})"
            checked = self._check(hop, url, where)
            headers = {"Accept": accept or DEFAULT_ACCEPT}
            if cached is not None and hop == cached.final_url:
                if cached.etag:
                    headers["If-None-Match"] = cached.etag
                if cached.last_modified:
                    headers["If-Modified-Since"] = cached.last_modified
            site = self._site(checked)
            with site.lock:
                if self.obey_robots:
                    self._obey_robots(checked, site, hop, where)
                reply = self._exchange(checked, site, hop, where, headers, limit=self.max_bytes)

            if reply.status in REDIRECT_STATUSES:
                hop = self._next_hop(reply, hop, where, [start, *redirects])
                redirects.append(hop)
            elif reply.status == 304 and cached is not None:
                return self._refreshed(cached, reply, url, redirects)
            elif 200 <= reply.status < 300:
                content_type, charset = _content_type(reply.headers.get("content-type"))
                result = FetchResult(
                    url=url,
                    final_url=hop,
                    status=reply.status,
                    headers=reply.headers,
                    body=reply.body,
                    content_type=content_type,
                    charset=charset,
                    fetched_at=_now(),
                    redirects=redirects,
                    etag=reply.headers.get("etag"),
                    last_modified=reply.headers.get("last-modified"),
                )
                if self.cache is not None and reply.status == 200:
                    self.cache.put(result)
                return result
            else:
                tries = ""
                if reply.status in RETRY_STATUSES and self.retries:
                    tries = f" (gave up after {self.retries + 1} attempts)"
                raise FetchError(
                    f"{where}: HTTP {reply.status} {_phrase(reply.status, reply.reason)}{tries}",
                    status=reply.status,
                )

    def sitemaps(self, url: str) -> list[str]:
        """The ``Sitemap:`` lines of the robots.txt of ``url``'s site (read once per site,
        like the rules; [] when robots.txt is absent or unreadable)."""
        checked = self._check(url, url, url)
        site = self._site(checked)
        with site.lock:
            if site.robots is None:
                site.robots = self._read_robots(checked, site)
        parser = site.robots.parser
        return list(parser.site_maps() or []) if parser is not None else []

    def _next_hop(self, reply: _Reply, hop: str, where: str, chain: list[str]) -> str:
        """The redirect's target (relative Locations resolved), within ``max_redirects``."""
        location = reply.headers.get("location")
        if not location:
            raise FetchError(
                f"{where}: HTTP {reply.status} redirect without a Location header",
                status=reply.status,
            )
        target = urldefrag(urljoin(hop, _header_text(location).strip()))[0]
        if len(chain) > self.max_redirects:
            visited = [*chain, target]
            kind = "redirect loop" if len(set(visited)) < len(visited) else "too many redirects"
            raise FetchError(
                f"{chain[0]}: {kind}: a chain of {len(chain)} redirects "
                f"(the limit is {self.max_redirects}), last to {target}"
            )
        return target

    @staticmethod
    def _refreshed(
        cached: FetchResult, reply: _Reply, url: str, redirects: list[str]
    ) -> FetchResult:
        """The cached result, confirmed by a 304 (its headers updated as RFC 9111 says)."""
        framing = ("content-length", "content-encoding", "transfer-encoding")
        headers = {**cached.headers}
        headers.update((k, v) for k, v in reply.headers.items() if k not in framing)
        return replace(
            cached,
            url=url,
            status=304,
            headers=headers,
            fetched_at=_now(),
            redirects=redirects,
            from_cache=True,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )

    # -- guard, sites, robots

    def _check(self, hop: str, url: str, where: str) -> CheckedURL:
        """The guard's verdict on one hop, as a ``FetchError`` naming the requested URL."""
        try:
            return check_url(hop, allow_private=self.allow_private, resolver=self.resolver)
        except UnresolvableHostError as error:
            message = str(error) if where == url else f"{url}: redirected to {error}"
            raise FetchError(f"{message} (DNS failure)") from None
        except UnsafeURLError as error:
            message = str(error) if where == url else f"{url}: redirected to {error}"
            raise FetchBlocked(message) from None

    def _site(self, checked: CheckedURL) -> _SiteState:
        key = (checked.scheme, checked.host, checked.port)
        with self._sites_lock:
            return self._sites.setdefault(key, _SiteState())

    def _obey_robots(self, checked: CheckedURL, site: _SiteState, hop: str, where: str) -> None:
        if site.robots is None:
            site.robots = self._read_robots(checked, site)
        robots = site.robots
        if robots.parser is None:
            allowed = robots.allow
        else:
            allowed = robots.parser.can_fetch(self.user_agent, hop)
        if robots.unreachable:
            raise FetchError(
                f"{where}: the site is off limits for this run because its robots.txt "
                f"could not be read: {robots.note}"
            )
        if not allowed:
            raise RobotsDisallowed(f"{where}: disallowed by robots.txt ({robots.note})")

    def _read_robots(self, checked: CheckedURL, site: _SiteState) -> _Robots:
        """Fetch and parse the site's robots.txt (RFC 9309), under the site's lock.

        The first request reuses the page's checked addresses; redirects (up to 5) are
        checked again. 2xx: parse; 4xx: allow all; 429, 5xx, unreachable: disallow all.
        """
        root = _site_root(checked)
        hop = f"{root}/robots.txt"
        hop_checked = replace(checked, url=hop)
        for _ in range(6):
            try:
                reply = self._exchange(
                    hop_checked, site, hop, hop, {"Accept": "text/plain, */*;q=0.5"},
                    limit=ROBOTS_MAX_BYTES, truncate=True, counted=False,
                )
            except FetchError as error:
                log.warning("robots.txt of %s unreachable: %s", root, error)
                return _Robots(None, False, str(error), unreachable=True)
            if reply.status in REDIRECT_STATUSES and reply.headers.get("location"):
                hop = urldefrag(urljoin(hop, _header_text(reply.headers["location"])))[0]
                try:
                    hop_checked = check_url(
                        hop, allow_private=self.allow_private, resolver=self.resolver
                    )
                except UnsafeURLError as error:
                    log.warning("robots.txt of %s redirects to a refused URL: %s", root, error)
                    return _Robots(None, False, f"robots.txt redirects to a refused URL: {error}")
                continue
            break
        else:
            return _Robots(None, True, "robots.txt redirects too often; treated as absent")
        status = reply.status
        if 200 <= status < 300:
            parser = RobotFileParser(f"{root}/robots.txt")
            parser.parse(reply.body.decode("utf-8", errors="replace").splitlines())
            delay = parser.crawl_delay(self.user_agent)
            # a site asking for an hour between requests would stall the batch: capped
            crawl_delay = min(float(delay), MAX_CRAWL_DELAY) if delay is not None else None
            return _Robots(parser, True, f"{root}/robots.txt", crawl_delay)
        if 400 <= status < 500 and status != 429:
            return _Robots(None, True, f"robots.txt answered HTTP {status}; allowed")
        return _Robots(
            None, False,
            f"robots.txt answered HTTP {status}, so the whole site is off limits for this run",
        )

    # -- one request, with politeness and retries

    def _exchange(
        self,
        checked: CheckedURL,
        site: _SiteState,
        hop: str,
        label: str,
        headers: dict[str, str],
        *,
        limit: int,
        truncate: bool = False,
        counted: bool = True,
    ) -> _Reply:
        """Send one GET (retrying 429/5xx/dropped connections); the site lock is held."""
        pending = 0.0
        attempt = 0
        while True:
            if self.before_request is not None and counted:  # robots.txt is not counted
                self.before_request(hop)
            self._wait(site, pending)
            try:
                reply = self._attempt(checked, hop, label, headers, limit, truncate)
            except _Dropped as error:
                if attempt >= self.retries:
                    raise FetchError(
                        f"{label}: {error} (gave up after {attempt + 1} attempts)"
                    ) from None
                pending = self.backoff * 2**attempt
            else:
                if reply.status not in RETRY_STATUSES or attempt >= self.retries:
                    return reply
                asked = _retry_after(reply.headers.get("retry-after"))
                if asked is not None and asked > self.max_retry_after:
                    raise FetchError(
                        f"{label}: HTTP {reply.status} {_phrase(reply.status, reply.reason)}; "
                        f"the server asks to retry after {_seconds(round(asked))} s, more than "
                        f"the {_seconds(self.max_retry_after)} s limit, so cxkb gave up",
                        status=reply.status,
                    )
                pending = asked if asked is not None else self.backoff * 2**attempt
                log.info("%s: HTTP %s, retrying in %.1f s", label, reply.status, pending)
            finally:
                site.last_end = time.monotonic()
            attempt += 1

    def _wait(self, site: _SiteState, pending: float) -> None:
        """Sleep for the back-off or the site's delay since its last request, the longer."""
        wait = pending
        if site.last_end is not None:
            delay = self.delay
            if site.robots is not None and site.robots.crawl_delay is not None:
                delay = max(delay, site.robots.crawl_delay)
            wait = max(wait, site.last_end + delay - time.monotonic())
        if wait > 0:
            self.sleep(wait)

    def _attempt(
        self,
        checked: CheckedURL,
        hop: str,
        label: str,
        headers: dict[str, str],
        limit: int,
        truncate: bool,
    ) -> _Reply:
        clock = _Clock(self.total_timeout, self.read_timeout)
        conn: _GuardedHTTPConnection | _GuardedHTTPSConnection
        if checked.scheme == "https":
            conn = _GuardedHTTPSConnection(
                checked.host, checked.port, timeout=self.connect_timeout, context=self._tls
            )
            conn._setup(checked, self.connect, self.connect_timeout, clock, self._tls)
        else:
            conn = _GuardedHTTPConnection(checked.host, checked.port, timeout=self.connect_timeout)
            conn._setup(checked, self.connect, self.connect_timeout, clock, None)
        host = checked.host
        try:
            conn.putrequest("GET", _request_target(hop), skip_accept_encoding=True)
            conn.putheader("User-Agent", self.user_agent)
            conn.putheader("Accept-Encoding", ACCEPT_ENCODING)
            conn.putheader("Connection", "close")
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            clock.phase = "waiting for the response"
            response = conn.getresponse()
            reply_headers = _header_dict(response.getheaders())
            body = b""
            if 200 <= response.status < 300:
                clock.phase = "reading the body"
                body = self._read_body(response, reply_headers, label, limit, truncate)
            return _Reply(response.status, response.reason, reply_headers, body)
        except TimeoutError:
            if clock.deadline_cut:
                raise FetchError(
                    f"{label}: timed out after {_seconds(self.total_timeout)} s "
                    f"({clock.phase}; the limit for a whole response)"
                ) from None
            connecting = clock.phase in ("connecting", "TLS handshake")
            seconds = self.connect_timeout if connecting else self.read_timeout
            raise FetchError(
                f"{label}: timed out after {_seconds(seconds)} s {clock.phase} ({host})"
            ) from None
        except ssl.SSLCertVerificationError as error:
            raise FetchError(
                f"{label}: TLS certificate check failed for {host}: "
                f"{error.verify_message or error.reason}"
            ) from None
        except ssl.SSLError as error:
            raise FetchError(
                f"{label}: TLS failure with {host}: {error.reason or error}"
            ) from None
        except ConnectionRefusedError:
            raise FetchError(
                f"{label}: connection refused by {host} port {checked.port}"
            ) from None
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError,
                http.client.RemoteDisconnected) as error:
            raise _Dropped(f"the server closed the connection ({type(error).__name__})") from None
        except http.client.IncompleteRead as error:
            raise FetchError(
                f"{label}: the connection closed before the whole body arrived "
                f"({len(error.partial):,} bytes read)"
            ) from None
        except http.client.HTTPException as error:
            detail = str(error)  # e.g. "got more than 100 headers"; a bad status line, quoted
            detail = f": {detail[:80]}{'...' if len(detail) > 80 else ''}" if detail else ""
            raise FetchError(
                f"{label}: malformed HTTP response ({type(error).__name__}{detail})"
            ) from None
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise FetchError(f"{label}: network error {clock.phase} ({host}): {reason}") from None
        finally:
            conn.close()

    def _read_body(
        self,
        response: http.client.HTTPResponse,
        headers: dict[str, str],
        label: str,
        limit: int,
        truncate: bool,
    ) -> bytes:
        """The body, decoded, at most ``limit`` bytes as sent and as decoded."""
        too_big = f"{label}: body over the {limit:,}-byte limit"
        declared = headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > limit and not truncate:
            raise FetchError(f"{too_big} (Content-Length says {int(declared):,} bytes)")
        decoders = _decoders(headers.get("content-encoding"), label)
        out = bytearray()
        received = 0
        try:
            while True:
                chunk = response.read1(CHUNK)
                if not chunk:
                    # read1 ends quietly when the connection closes short of Content-Length
                    if response.length and not truncate:
                        raise FetchError(
                            f"{label}: the connection closed before the whole body arrived "
                            f"({received:,} of {int(declared):,} bytes read)"
                        )
                    break
                received += len(chunk)
                if received > limit:
                    if truncate:
                        break
                    raise _TooBig
                # decode outermost coding first; only the last step's output is the body
                for decoder in reversed(decoders):
                    room = limit - len(out) if decoder is decoders[0] else limit
                    chunk = decoder.feed(chunk, room)
                out += chunk
                if len(out) > limit:
                    raise _TooBig
            if received <= limit:
                for decoder in decoders:
                    decoder.finish()
        except _TooBig:
            if truncate:
                return bytes(out[:limit])
            raise FetchError(too_big) from None
        except (zlib.error, brotli.error) as error:
            name = headers.get("content-encoding", "compressed")
            raise FetchError(f"{label}: the {name} body cannot be decoded: {error}") from None
        return bytes(out)


def _default_connect(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)
