"""The polite fetcher against a real HTTP server on 127.0.0.1: redirects, time-outs, size caps,
compression bombs, retries, robots.txt, politeness, conditional re-fetch and the network guard.

Waiting goes through an injected ``sleep`` that records instead of sleeping, so the tests
check what the fetcher WOULD wait without waiting; only the time-out tests take real time.
"""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import brotli
import pytest
from httpserver import DROP, LocalServer, Request

from ingest.errors import (
    FetchBlocked,
    FetchError,
    IngestError,
    RobotsDisallowed,
    UnsafeURLError,
)
from ingest.fetch import DEFAULT_USER_AGENT, Fetcher, FetchResult, MemoryCache

PUBLIC = "93.184.216.34"
PAGE = "<html><head><title>Who owns CX?</title></head><body><p>Nobody.</p></body></html>"
HTML = {"Content-Type": "text/html; charset=UTF-8"}
MB = 1_000_000


# ---------------------------------------------------------------------------- payloads


def gzip_bomb_10gb() -> bytes:
    """About 10 MB of gzip that inflates to 10 GiB of zeros.

    Deflating 1 MiB of zeros after a sync flush gives the same bytes every time, so the
    block is repeated rather than compressing 10 GiB. (The trailer's CRC and size do not
    match; a fetcher that honours its cap never gets that far.)
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    first = packer.compress(zeros) + packer.flush(zlib.Z_SYNC_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_SYNC_FLUSH)
    return first + block * (10 * 1024 - 1) + packer.flush()


def brotli_bomb_1gb() -> bytes:
    """About 190 KB of brotli that decodes to 1 GiB of zeros."""
    packer = brotli.Compressor(quality=1)
    zeros = bytes(1 << 20)
    return b"".join(packer.process(zeros) for _ in range(1024)) + packer.finish()


def stream(data: bytes, size: int = 64 * 1024):
    def body(request: Request) -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(view), size):
            yield bytes(view[start : start + size])

    return body


def zeros(total: int, size: int = 64 * 1024):
    def body(request: Request) -> Iterator[bytes]:
        chunk = bytes(size)
        for _ in range(total // size):
            yield chunk

    return body


def trickle(request: Request) -> Iterator[bytes]:
    for _ in range(40):
        yield b"x"
        if request.server.wait(1.5):
            return


def stall(request: Request):
    request.server.wait(20)  # never answers while the test runs
    return (200, {}, b"too late")


def busy_then_ok(request: Request):
    if request.hit == 1:
        return (429, {"Retry-After": "1"}, b"slow down")
    return (200, HTML, PAGE)


def flaky(request: Request):
    if request.hit <= 2:
        return (503, {}, b"busy")
    return (200, HTML, PAGE)


def reset_once(request: Request):
    return DROP if request.hit == 1 else (200, HTML, PAGE)


def versioned(request: Request):
    validators = {"ETag": '"v1"', "Last-Modified": "Wed, 10 Mar 2010 16:15:00 GMT"}
    if request.headers.get("if-none-match") == '"v1"':
        return (304, validators, b"")
    return (200, {**HTML, **validators}, PAGE)


def redirect_chain(prefix: str, length: int, end: str = "/page") -> dict:
    """/prefix/1 -> /prefix/2 -> ... -> end: ``length`` redirects (some of them relative)."""
    routes = {}
    for i in range(1, length + 1):
        target = end if i == length else (f"{i + 1}" if i % 2 else f"/{prefix}/{i + 1}")
        routes[f"/{prefix}/{i}"] = (302 if i % 2 else 301, {"Location": target}, b"")
    return routes


def to_loopback(request: Request):
    return (302, {"Location": f"http://127.0.0.1:{request.server.port}/page"}, b"")


ROUTES = {
    "/page": (200, HTML, PAGE),
    "/missing": (404, {"Content-Type": "text/plain"}, b"gone"),
    "/busy": busy_then_ok,
    "/flaky": flaky,
    "/broken": (500, {}, b"boom"),
    "/reset-once": reset_once,
    "/versioned": versioned,
    "/trickle": (200, {"Content-Type": "text/plain"}, trickle),
    "/stall": stall,
    "/loop/a": (302, {"Location": "/loop/b"}, b""),
    "/loop/b": (302, {"Location": "/loop/a"}, b""),
    "/to-loopback": to_loopback,
    "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
    "/no-location": (302, {}, b""),
    "/private/secret": (200, HTML, PAGE),
    "/no-cxkb/page": (200, HTML, PAGE),
    **redirect_chain("three", 3),
    **redirect_chain("six", 6),
}


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer(ROUTES) as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fetcher(sleeps: list[float]):
    """A fetcher for the local server: private addresses allowed, waits recorded, no delay."""

    def make(**options) -> Fetcher:
        settings = {"allow_private": True, "delay": 0.0, "sleep": sleeps.append, **options}
        return Fetcher(**settings)

    return make


def public_name(server: LocalServer, calls: list[str] | None = None):
    """A resolver that maps blog.example.com to a public address, and a ``connect`` that
    sends that address to the local server (recording each address it is asked for)."""

    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        assert host == "blog.example.com"
        return [PUBLIC]

    connected: list[str] = []

    def connect(address: str, port: int, timeout: float) -> socket.socket:
        connected.append(address)
        assert address == PUBLIC, f"connected to an unchecked address {address}"
        return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)

    return resolve, connect, connected


# ---------------------------------------------------------------------------- the basics


def test_a_page_is_fetched_with_its_type_charset_and_our_user_agent(server, fetcher):
    result = fetcher().fetch(server.url("/page"))
    assert isinstance(result, FetchResult)
    assert result.status == 200
    assert result.body == PAGE.encode()
    assert result.url == result.final_url == server.url("/page")
    assert result.content_type == "text/html"
    assert result.charset == "utf-8"
    assert result.headers["content-type"] == "text/html; charset=UTF-8"
    assert result.redirects == []
    assert not result.from_cache
    assert datetime.fromisoformat(result.fetched_at).tzinfo is not None

    seen = server.requests_to("/page")[0].headers
    assert seen["user-agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT == "cxkb/0.1 (+https://github.com/cxkb/cxkb; research knowledge base)"
    assert seen["accept-encoding"] == "gzip, deflate, br"
    assert seen["host"] == f"127.0.0.1:{server.port}"


def test_accept_can_be_chosen_per_fetch(server, fetcher):
    fetcher().fetch(server.url("/page"), accept="application/rss+xml")
    assert server.requests_to("/page")[0].headers["accept"] == "application/rss+xml"


def test_spaces_and_non_ascii_in_the_path_are_percent_encoded(server, fetcher):
    server.routes["/with%20space/caf%C3%A9"] = (200, HTML, PAGE)
    result = fetcher().fetch(server.url("/with space/café"))
    assert result.body == PAGE.encode()
    assert server.hits["/with%20space/caf%C3%A9"] == 1


def test_a_public_ipv6_literal_is_fetched_with_a_bracketed_host_header(server, fetcher):
    address = "2606:2800:220:1:248:1893:25c8:1946"

    def connect(to: str, port: int, timeout: float) -> socket.socket:
        assert (to, port) == (address, 8080)
        return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)

    result = fetcher(allow_private=False, connect=connect).fetch(f"http://[{address}]:8080/page")
    assert result.body == PAGE.encode()
    assert server.requests_to("/page")[0].headers["host"] == f"[{address}]:8080"


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers do
        ("br", brotli.compress),
        ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
    ],
)
def test_compressed_bodies_are_decoded(server, fetcher, encoding, pack):
    text = (PAGE * 200).encode()
    server.routes["/packed"] = (200, {**HTML, "Content-Encoding": encoding}, pack(text))
    assert fetcher().fetch(server.url("/packed")).body == text


def test_a_corrupt_or_unknown_encoding_is_an_error(server, fetcher):
    server.routes["/corrupt"] = (200, {"Content-Encoding": "gzip"}, b"\x1f\x8bnot gzip at all")
    server.routes["/zstd"] = (200, {"Content-Encoding": "zstd"}, b"\x28\xb5\x2f\xfd")
    with pytest.raises(FetchError, match=r"/corrupt: the gzip body cannot be decoded"):
        fetcher().fetch(server.url("/corrupt"))
    with pytest.raises(FetchError, match=r"/zstd: .*unsupported Content-Encoding 'zstd'"):
        fetcher().fetch(server.url("/zstd"))


# ---------------------------------------------------------------------------- redirects


def test_a_chain_of_three_redirects_is_followed(server, fetcher):
    result = fetcher().fetch(server.url("/three/1"))
    assert result.status == 200
    assert result.body == PAGE.encode()
    assert result.url == server.url("/three/1")
    assert result.final_url == server.url("/page")
    assert result.redirects == [server.url("/three/2"), server.url("/three/3"),
                                server.url("/page")]


def test_a_sixth_redirect_is_one_too_many(server, fetcher):
    with pytest.raises(FetchError) as caught:
        fetcher().fetch(server.url("/six/1"))
    message = str(caught.value)
    assert message.startswith(server.url("/six/1") + ": too many redirects")
    assert "6 redirects" in message and "limit is 5" in message
    assert server.hits["/page"] == 0
    assert fetcher(max_redirects=6).fetch(server.url("/six/1")).final_url == server.url("/page")


def test_a_redirect_loop_is_named(server, fetcher):
    with pytest.raises(FetchError, match="redirect loop"):
        fetcher().fetch(server.url("/loop/a"))
    assert server.hits["/loop/a"] + server.hits["/loop/b"] == 6


def test_a_redirect_without_location_is_an_error(server, fetcher):
    with pytest.raises(FetchError, match="302 redirect without a Location header"):
        fetcher().fetch(server.url("/no-location"))


# ---------------------------------------------------------------------------- the guard


def test_a_public_name_is_fetched_by_connecting_to_the_checked_address(server, fetcher):
    resolve, connect, connected = public_name(server)
    result = fetcher(allow_private=False, resolver=resolve, connect=connect).fetch(
        "http://blog.example.com/page"
    )
    assert result.body == PAGE.encode()
    assert connected and set(connected) == {PUBLIC}
    assert server.requests_to("/page")[0].headers["host"] == "blog.example.com"


def test_without_allow_private_the_loopback_server_itself_is_refused(server, fetcher):
    with pytest.raises(FetchBlocked) as caught:
        fetcher(allow_private=False).fetch(server.url("/page"))
    assert isinstance(caught.value, UnsafeURLError) and isinstance(caught.value, FetchError)
    assert "loopback" in str(caught.value) and "--allow-private" in str(caught.value)
    assert sum(server.hits.values()) == 0


@pytest.mark.parametrize(("path", "address"), [("/to-loopback", "127.0.0.1"),
                                               ("/to-metadata", "169.254.169.254")])
def test_a_redirect_to_a_private_address_is_refused(server, fetcher, path, address):
    resolve, connect, connected = public_name(server)
    public = fetcher(allow_private=False, resolver=resolve, connect=connect)
    with pytest.raises(FetchBlocked) as caught:
        public.fetch(f"http://blog.example.com{path}")
    message = str(caught.value)
    assert message.startswith(f"http://blog.example.com{path}: redirected to http://{address}")
    assert "--allow-private" in message
    assert set(connected) == {PUBLIC}
    assert server.hits["/page"] == 0


def test_a_redirect_to_loopback_is_followed_when_private_addresses_are_allowed(server, fetcher):
    resolve, _connect, _ = public_name(server)

    def connect(address: str, port: int, timeout: float) -> socket.socket:
        target = ("127.0.0.1", server.port)
        return socket.create_connection(target, timeout=timeout)

    result = fetcher(allow_private=True, resolver=resolve, connect=connect).fetch(
        "http://blog.example.com/to-loopback"
    )
    assert result.final_url == server.url("/page")


def test_dns_rebinding_cannot_swap_the_address(server, fetcher):
    answers = iter([[PUBLIC]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers, ["127.0.0.1"])  # public first, loopback ever after

    _resolve, connect, connected = public_name(server)
    rebound = fetcher(allow_private=False, resolver=rebinding, connect=connect)
    result = rebound.fetch("http://blog.example.com/page")  # robots.txt + the page
    assert result.body == PAGE.encode()
    assert calls == ["blog.example.com"]  # resolved once for the hop
    assert connected == [PUBLIC, PUBLIC]  # robots.txt and the page, both to the checked address
    assert server.hits["/robots.txt"] == 1 and server.hits["/page"] == 1

    with pytest.raises(FetchBlocked, match="127.0.0.1"):  # the next hop resolves afresh
        rebound.fetch("http://blog.example.com/three/1")
    assert server.hits["/three/2"] == 0


def test_one_private_address_among_public_ones_is_refused(server, fetcher):
    def mixed(host: str, port: int) -> list[str]:
        return [PUBLIC, "127.0.0.1"]

    _resolve, connect, connected = public_name(server)
    with pytest.raises(FetchBlocked, match=r"resolves to 127\.0\.0\.1"):
        fetcher(allow_private=False, resolver=mixed, connect=connect).fetch(
            "http://blog.example.com/page"
        )
    assert connected == [] and sum(server.hits.values()) == 0


def test_a_name_that_does_not_resolve_is_a_dns_failure(fetcher):
    def nowhere(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(FetchError) as caught:
        fetcher(resolver=nowhere).fetch("http://nowhere.example/page")
    assert not isinstance(caught.value, FetchBlocked)
    message = str(caught.value)
    assert message.startswith("http://nowhere.example/page: cannot resolve host nowhere.example")
    assert "DNS failure" in message


def test_non_http_urls_are_refused_by_the_fetcher(fetcher):
    for url in ("file:///etc/passwd", "ftp://example.com/", "javascript:alert(1)"):
        with pytest.raises(FetchBlocked, match="only http and https"):
            fetcher().fetch(url)


# ---------------------------------------------------------------------------- connections


def test_a_refused_connection_says_so(fetcher):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens here now
    url = f"http://127.0.0.1:{port}/page"
    with pytest.raises(FetchError, match=f"^{url}: connection refused by 127.0.0.1 port {port}$"):
        fetcher(obey_robots=False).fetch(url)
    with pytest.raises(FetchError, match="robots.txt could not be read.*connection refused"):
        fetcher().fetch(url)


def test_https_to_a_plain_http_server_is_a_tls_failure(server, fetcher):
    url = server.url("/page").replace("http://", "https://")
    with pytest.raises(FetchError, match=r"^https://127\.0\.0\.1:\d+/page: TLS failure with"):
        fetcher(obey_robots=False).fetch(url)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_self_signed_certificate_is_rejected(tmp_path, fetcher):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with LocalServer(ROUTES, ssl_context=context) as tls_server:
        with pytest.raises(FetchError, match="TLS certificate check failed for 127.0.0.1"):
            fetcher(obey_robots=False).fetch(tls_server.url("/page"))
        assert tls_server.hits["/page"] == 0


def test_a_server_that_trickles_is_cut_off_at_the_total_deadline(server, fetcher):
    began = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher(total_timeout=3, read_timeout=2, obey_robots=False).fetch(server.url("/trickle"))
    assert time.monotonic() - began < 20  # a hang would take a minute
    message = str(caught.value)
    assert message.startswith(server.url("/trickle") + ": timed out after 3 s")
    assert "whole response" in message
    assert server.hits["/trickle"] == 1  # time-outs are not retried


def test_a_server_that_never_answers_is_cut_off_by_the_read_timeout(server, fetcher):
    began = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher(read_timeout=1, obey_robots=False).fetch(server.url("/stall"))
    assert time.monotonic() - began < 15
    assert str(caught.value) == (
        f"{server.url('/stall')}: timed out after 1 s waiting for the response (127.0.0.1)"
    )
    assert server.hits["/stall"] == 1


# ---------------------------------------------------------------------------- size caps


def test_a_declared_length_over_the_cap_is_refused_before_reading(server, fetcher):
    server.routes["/huge"] = (200, {"Content-Length": str(50 * MB)}, zeros(50 * MB))
    with pytest.raises(FetchError) as caught:
        fetcher(max_bytes=5 * MB, obey_robots=False).fetch(server.url("/huge"))
    assert str(caught.value) == (
        f"{server.url('/huge')}: body over the 5,000,000-byte limit "
        "(Content-Length says 50,000,000 bytes)"
    )
    assert server.sent["/huge"] < 25 * MB


def test_an_undeclared_length_over_the_cap_stops_reading_early(server, fetcher):
    server.routes["/endless"] = (200, {"Content-Type": "text/plain"}, zeros(50 * MB))
    with pytest.raises(FetchError, match=r"/endless: body over the 5,000,000-byte limit$"):
        fetcher(max_bytes=5 * MB, obey_robots=False).fetch(server.url("/endless"))
    assert server.sent["/endless"] < 25 * MB


def test_a_body_at_the_cap_is_fine(server, fetcher):
    server.routes["/exact"] = (200, {}, bytes(1000))
    assert len(fetcher(max_bytes=1000, obey_robots=False).fetch(server.url("/exact")).body) == 1000


def _peak_during(call) -> tuple[BaseException | None, int, float]:
    tracemalloc.start()
    began = time.monotonic()
    error: BaseException | None = None
    try:
        call()
    except BaseException as caught:  # noqa: BLE001 - returned to the test
        error = caught
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak, time.monotonic() - began


def test_a_gzip_bomb_fails_fast_with_little_memory(server, fetcher):
    bomb = gzip_bomb_10gb()
    assert 9 * MB < len(bomb) < 12 * MB
    server.routes["/gzip-bomb"] = (200, {"Content-Encoding": "gzip"}, stream(bomb))
    small = fetcher(max_bytes=1 * MB, obey_robots=False)
    error, peak, took = _peak_during(lambda: small.fetch(server.url("/gzip-bomb")))
    assert isinstance(error, FetchError)
    assert str(error).endswith("/gzip-bomb: body over the 1,000,000-byte limit")
    assert peak < 50 * MB
    assert took < 20


def test_a_brotli_bomb_fails_fast_with_little_memory(server, fetcher):
    bomb = brotli_bomb_1gb()
    server.routes["/br-bomb"] = (200, {"Content-Encoding": "br"}, bomb)  # with Content-Length
    small = fetcher(max_bytes=1 * MB, obey_robots=False)
    error, peak, took = _peak_during(lambda: small.fetch(server.url("/br-bomb")))
    assert isinstance(error, FetchError)
    assert str(error).endswith("/br-bomb: body over the 1,000,000-byte limit")
    assert peak < 50 * MB
    assert took < 20


# ---------------------------------------------------------------------------- retries


def test_a_404_is_never_retried(server, fetcher, sleeps):
    with pytest.raises(FetchError) as caught:
        fetcher().fetch(server.url("/missing"))
    assert str(caught.value) == f"{server.url('/missing')}: HTTP 404 Not Found"
    assert caught.value.status == 404
    assert server.hits["/missing"] == 1
    assert sleeps == []


def test_429_waits_as_retry_after_says_then_succeeds(server, fetcher, sleeps):
    result = fetcher().fetch(server.url("/busy"))
    assert result.body == PAGE.encode()
    assert server.hits["/busy"] == 2
    assert 1.0 in sleeps


def test_retry_after_as_an_http_date(server, fetcher, sleeps):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.routes["/dated"] = lambda r: (
        (503, {"Retry-After": when}, b"") if r.hit == 1 else (200, HTML, PAGE)
    )
    fetcher().fetch(server.url("/dated"))
    assert any(25 <= s <= 30 for s in sleeps)


def test_503_twice_then_200_succeeds_with_exponential_back_off(server, fetcher, sleeps):
    result = fetcher(backoff=0.5).fetch(server.url("/flaky"))
    assert result.status == 200
    assert server.hits["/flaky"] == 3
    assert sleeps == [0.5, 1.0]


def test_500_forever_gives_up_after_the_retries(server, fetcher, sleeps):
    with pytest.raises(FetchError) as caught:
        fetcher(retries=3, backoff=1.0).fetch(server.url("/broken"))
    assert str(caught.value) == (
        f"{server.url('/broken')}: HTTP 500 Internal Server Error (gave up after 4 attempts)"
    )
    assert server.hits["/broken"] == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_retry_after_beyond_the_limit_gives_up_at_once(server, fetcher, sleeps):
    server.routes["/later"] = (503, {"Retry-After": "3600"}, b"")
    with pytest.raises(FetchError) as caught:
        fetcher(max_retry_after=120).fetch(server.url("/later"))
    message = str(caught.value)
    assert "retry after 3600 s" in message and "120 s limit" in message
    assert server.hits["/later"] == 1
    assert sleeps == []


def test_a_dropped_connection_is_retried(server, fetcher, sleeps):
    result = fetcher().fetch(server.url("/reset-once"))
    assert result.body == PAGE.encode()
    assert server.hits["/reset-once"] == 2
    assert sleeps == [1.0]


def test_a_connection_dropped_every_time_gives_up(server, fetcher):
    server.routes["/drop"] = DROP
    with pytest.raises(FetchError, match=r"/drop: the server closed the connection.*4 attempts"):
        fetcher().fetch(server.url("/drop"))
    assert server.hits["/drop"] == 4


# ---------------------------------------------------------------------------- robots.txt


ROBOTS = """\
User-agent: *
Disallow: /private/

User-agent: cxkb
Disallow: /no-cxkb/
Disallow: /private/
"""


def test_robots_txt_is_read_once_per_site_and_obeyed(server, fetcher):
    server.routes["/robots.txt"] = (200, {"Content-Type": "text/plain"}, ROBOTS)
    polite = fetcher()
    assert polite.fetch(server.url("/page")).status == 200
    for path in ("/private/secret", "/no-cxkb/page"):
        with pytest.raises(RobotsDisallowed) as caught:
            polite.fetch(server.url(path))
        assert str(caught.value).startswith(f"{server.url(path)}: disallowed by robots.txt")
        assert isinstance(caught.value, FetchError) and isinstance(caught.value, IngestError)
    polite.fetch(server.url("/page"))
    assert server.hits["/robots.txt"] == 1
    assert server.hits["/private/secret"] == server.hits["/no-cxkb/page"] == 0
    assert server.requests_to("/robots.txt")[0].headers["user-agent"] == DEFAULT_USER_AGENT


def test_a_redirect_into_a_disallowed_path_is_refused(server, fetcher):
    server.routes["/robots.txt"] = (200, {}, ROBOTS)
    server.routes["/sneaky"] = (302, {"Location": "/private/secret"}, b"")
    with pytest.raises(RobotsDisallowed, match="redirected to .*/private/secret"):
        fetcher().fetch(server.url("/sneaky"))
    assert server.hits["/private/secret"] == 0


def test_robots_can_be_ignored_when_asked(server, fetcher):
    server.routes["/robots.txt"] = (200, {}, ROBOTS)
    assert fetcher(obey_robots=False).fetch(server.url("/private/secret")).status == 200
    assert server.hits["/robots.txt"] == 0


def test_a_missing_robots_txt_allows_everything(server, fetcher):
    assert fetcher().fetch(server.url("/private/secret")).status == 200
    assert server.hits["/robots.txt"] == 1


def test_a_failing_robots_txt_puts_the_site_off_limits(server, fetcher, sleeps):
    server.routes["/robots.txt"] = (500, {}, b"oops")
    polite = fetcher(retries=1)
    for _ in range(2):
        with pytest.raises(RobotsDisallowed, match="robots.txt answered HTTP 500"):
            polite.fetch(server.url("/page"))
    assert server.hits["/page"] == 0
    assert server.hits["/robots.txt"] == 2  # one attempt and one retry, then remembered


def test_crawl_delay_spaces_requests_to_the_site(server, fetcher, sleeps):
    server.routes["/robots.txt"] = (200, {}, "User-agent: *\nCrawl-delay: 3\n")
    polite = fetcher(delay=0.5)
    polite.fetch(server.url("/page"))
    polite.fetch(server.url("/page"))
    # robots.txt, then the page, then the page again: two waits of (almost) 3 s each
    assert len(sleeps) == 2
    assert all(2.0 < s <= 3.0 for s in sleeps)


# ---------------------------------------------------------------------------- politeness


def test_requests_to_one_site_are_spaced_by_the_delay(server, fetcher, sleeps):
    polite = fetcher(delay=2.0, obey_robots=False)
    polite.fetch(server.url("/page"))
    assert sleeps == []
    polite.fetch(server.url("/page"))
    assert len(sleeps) == 1 and 1.0 < sleeps[0] <= 2.0


def test_one_request_at_a_time_per_site_across_threads(server, fetcher):
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def slow(request: Request):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        request.server.wait(0.2)
        with lock:
            state["now"] -= 1
        return (200, HTML, PAGE)

    server.routes["/slow"] = slow
    shared = fetcher(obey_robots=False)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            shared.fetch(server.url("/slow"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert server.hits["/slow"] == 4
    assert state["most"] == 1


# ---------------------------------------------------------------------------- caching


def test_a_conditional_refetch_uses_the_cached_body_on_304(server, fetcher):
    cache = MemoryCache()
    cached = fetcher(cache=cache)
    first = cached.fetch(server.url("/versioned"))
    assert first.status == 200 and not first.from_cache
    assert first.etag == '"v1"'
    assert first.last_modified == "Wed, 10 Mar 2010 16:15:00 GMT"
    assert cache.get(server.url("/versioned")) == first

    again = cached.fetch(server.url("/versioned"))
    assert again.status == 304
    assert again.from_cache
    assert again.body == PAGE.encode()
    assert again.content_type == "text/html"
    seen = server.requests_to("/versioned")
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == '"v1"'
    assert seen[1].headers["if-modified-since"] == "Wed, 10 Mar 2010 16:15:00 GMT"


def test_every_200_goes_into_the_cache(server, fetcher):
    cache = MemoryCache()
    fetcher(cache=cache).fetch(server.url("/three/1"))
    stored = cache.get(server.url("/three/1"))
    assert stored is not None and stored.final_url == server.url("/page")
    assert len(cache) == 1
