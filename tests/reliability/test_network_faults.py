"""Issue 9, item 2: network faults, against a hostile server on 127.0.0.1 (real sockets).

A server that never answers, one that trickles a byte every half second (cut by the
total deadline) or every 3 seconds (cut by the read time-out), resets (at once and in the
middle of a body), a body cut short of its Content-Length, endless headers, a 2 GB status
line, another protocol's greeting, a redirect loop and a 25-hop chain, 429 with
Retry-After (near, far, forever), 503 then 200, a 2 GB body with and without
Content-Length (and chunked), gzip, gzip-in-gzip and brotli bombs; a page whose 40 further
comment pages never answer, and a site whose robots.txt never answers.

Expected, per URL: a ``FetchError`` whose message starts with the URL and names the cause,
within a ceiling several times the configured time-out (it catches hangs, not slowness),
with under 100 MB of memory growth (Python allocations traced, and peak RSS); and a batch
that mixes good and hostile URLs (through the ingest pipeline and ``cxkb ingest``) stores
the good pages in the SQLite file and names each hostile URL with its cause.
"""

from __future__ import annotations

import functools
import re
import resource
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import brotli
import faultserver as fs
import pytest
from clihelpers import run
from faultserver import FaultServer
from figures import record
from sqlite_utils import Database

from ingest.errors import FetchError
from ingest.fetch import ACCEPT_ENCODING, Fetcher, FetchResult
from ingest.pipeline import ingest

MB = 1_000_000
GB = 1_000_000_000
LIMIT = 5 * MB
TIMEOUTS = {"connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 4.0}
CEILING = 20.0  # seconds per URL: five times the total time-out; a hang takes a minute+
MEMORY_CEILING = 100 * MB


def fetcher() -> Fetcher:
    """The fetcher under test: cxkb's own, with short time-outs and a 5 MB cap."""
    return Fetcher(allow_private=True, delay=0, max_bytes=LIMIT, retries=2, backoff=0.2,
                   max_retry_after=5, **TIMEOUTS)


def article(n: int) -> str:
    return (f"<html><head><title>Good page {n} on CX ownership</title></head><body>"
            f"<article><h1>Good page {n} on CX ownership</h1>"
            + f"<p>Paragraph {n}: customer experience is an outcome the whole company owns, "
              "not a department with a budget. " * 8 + "</p></article></body></html>")


# ---------------------------------------------------------------------------- payloads


@functools.cache
def gzip_bomb() -> bytes:
    """About 2 MB of gzip that inflates to 2 GiB of zeros (one flushed block repeated)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    first = packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
    again = packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
    return first + again * (2 * 1024 - 1) + packer.flush()


@functools.cache
def gzip_in_gzip_bomb() -> bytes:
    """The gzip bomb gzipped again (``Content-Encoding: gzip, gzip``): a few KB."""
    return zlib.compress(gzip_bomb(), 9, wbits=31)


@functools.cache
def brotli_bomb() -> bytes:
    """About 200 KB of brotli that decodes to 1 GiB of zeros."""
    packer = brotli.Compressor(quality=1)
    block = bytes(1 << 20)
    return b"".join(packer.process(block) for _ in range(1024)) + packer.finish()


# ---------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    error: BaseException | None
    result: FetchResult | None
    seconds: float
    traced_peak: int  # bytes allocated by Python at the peak (tracemalloc)
    rss_growth: int  # bytes the process's peak RSS grew by

    @property
    def memory(self) -> int:
        return max(self.traced_peak, self.rss_growth)


def measure(call: Callable[[], FetchResult]) -> Measured:
    """Run ``call`` with its time, traced memory peak and peak-RSS growth."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    began = time.monotonic()
    error: BaseException | None = None
    result = None
    try:
        result = call()
    except BaseException as caught:  # noqa: BLE001 - returned to the test
        error = caught
    seconds = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return Measured(error, result, seconds, peak, rss_after - rss_before)


TALLY: list[tuple[str, Measured]] = []  # one case (a URL, or per URL): its measures
KINDS: dict[str, str] = {}  # case -> "busy" or "extra requests" (robots.txt, comment
# pages); a case not named is a hostile URL
BATCH: dict[str, int | float] = {}  # the pipeline batch's figures


@pytest.fixture(scope="module", autouse=True)
def figure():
    """After the module: one figure line over every URL measured."""
    yield
    if not TALLY:
        return
    hangs = sum(m.seconds > CEILING for _, m in TALLY)
    slowest = max(TALLY, key=lambda t: t[1].seconds)
    hungriest = max(TALLY, key=lambda t: t[1].memory)
    kinds = [KINDS.get(name, "hostile") for name, _ in TALLY]
    line = (f"Network faults: {len(TALLY)} cases ({kinds.count('hostile')} hostile URLs, "
            f"{kinds.count('busy')} busy then fine, {kinds.count('extra requests')} with "
            f"hostile further requests), {hangs} hangs, "
            f"max {slowest[1].seconds:.1f} s per URL ({slowest[0]}), max memory growth "
            f"{hungriest[1].memory / MB:.0f} MB ({hungriest[0]})")
    if BATCH:
        line += (f"; a batch of {BATCH['urls']} URLs ({BATCH['hostile']} hostile): "
                 f"{BATCH['stored']} good pages stored, {BATCH['named']} failures named with "
                 f"their cause, max {BATCH['max_seconds']:.1f} s per URL, memory growth "
                 f"{BATCH['memory_mb']:.0f} MB")
    record("network-faults", line, cases=len(TALLY), hangs=hangs,
           max_seconds=round(slowest[1].seconds, 2),
           max_memory_mb=round(hungriest[1].memory / MB, 1),
           **{f"batch_{key}": value for key, value in BATCH.items()})


@pytest.fixture
def server():
    with FaultServer() as running:
        yield running


# ---------------------------------------------------------------------------- one URL each


@dataclass
class Fault:
    name: str
    route: Callable[[], fs.Route]
    cause: str  # a regex for the message after "URL: "
    hits: int | None = None  # requests the fetcher should make to the path
    at_most_sent: int | None = None  # bytes the server may have written before the cut


def next_hop(conn: fs.Conn) -> str:
    """/fault -> /hop/1 -> /hop/2 ... -> /hop/25, which is a page."""
    return "/hop/1" if conn.path == "/fault" else f"/hop/{int(conn.path[5:]) + 1}"


FAULTS = [
    Fault("never answers", lambda: fs.never_answer,
          r"timed out after 2 s waiting for the response \(127\.0\.0\.1\)$", hits=1),
    Fault("trickles a byte every half second", lambda: fs.trickle(0.5),
          r"timed out after 4 s \(.*; the limit for a whole response\)$", hits=1),
    Fault("trickles a byte every 3 seconds", lambda: fs.trickle(3.0),
          r"timed out after 2 s waiting for the response \(127\.0\.0\.1\)$", hits=1),
    Fault("resets at once", lambda: fs.reset_at_once,
          r"the server closed the connection \(ConnectionResetError\) "
          r"\(gave up after 3 attempts\)$", hits=3),
    Fault("resets in the middle of the body", lambda: fs.reset_mid_body,
          r"the server closed the connection \(ConnectionResetError\) "
          r"\(gave up after 3 attempts\)$", hits=3),
    Fault("closes before its Content-Length", lambda: fs.close_short,
          r"the connection closed before the whole body arrived "
          r"\(1,000 of 100,000 bytes read\)$", hits=1),
    Fault("endless headers", lambda: fs.endless_headers,
          r"malformed HTTP response \(HTTPException: got more than 100 headers\)$", hits=1,
          at_most_sent=30 * MB),
    Fault("a 2 GB status line", lambda: fs.endless_status_line,
          r"malformed HTTP response \(LineTooLong: got more than 65536 bytes when reading "
          r"status line\)$", hits=1, at_most_sent=30 * MB),
    Fault("garbage for a status line", lambda: fs.garbage_status_line,
          r"malformed HTTP response \(BadStatusLine: SSH-2\.0-OpenSSH_9\.6 x{60}\.\.\.\)$",
          hits=1),
    Fault("redirect loop", lambda: fs.redirect(lambda c: c.path),
          r"redirect loop: a chain of 6 redirects \(the limit is 5\), last to .*/fault$"),
    Fault("25-hop redirect chain", lambda: fs.redirect(next_hop),
          r"too many redirects: a chain of 6 redirects \(the limit is 5\), last to .*/hop/\d+$"),
    Fault("429 with a Retry-After of an hour",
          lambda: fs.always(429, "Too Many Requests", {"Retry-After": "3600"}),
          r"HTTP 429 Too Many Requests; the server asks to retry after 3600 s, more than "
          r"the 5 s limit, so cxkb gave up$", hits=1),
    Fault("429 with Retry-After 1, forever",
          lambda: fs.always(429, "Too Many Requests", {"Retry-After": "1"}),
          r"HTTP 429 Too Many Requests \(gave up after 3 attempts\)$", hits=3),
    Fault("503 forever", lambda: fs.always(503, "Service Unavailable", {}),
          r"HTTP 503 Service Unavailable \(gave up after 3 attempts\)$", hits=3),
    Fault("2 GB with Content-Length", lambda: fs.huge(2 * GB, length=True),
          r"body over the 5,000,000-byte limit \(Content-Length says 2,000,000,000 bytes\)$",
          hits=1, at_most_sent=20 * MB),
    Fault("2 GB without Content-Length", lambda: fs.huge(2 * GB),
          r"body over the 5,000,000-byte limit$", hits=1, at_most_sent=30 * MB),
    Fault("2 GB chunked", lambda: fs.huge(2 * GB, chunked=True),
          r"body over the 5,000,000-byte limit$", hits=1, at_most_sent=30 * MB),
    Fault("gzip bomb (2 GiB)", lambda: fs.encoded(gzip_bomb(), "gzip"),
          r"body over the 5,000,000-byte limit$", hits=1),
    Fault("gzip-in-gzip bomb", lambda: fs.encoded(gzip_in_gzip_bomb(), "gzip, gzip"),
          r"body over the 5,000,000-byte limit$", hits=1),
    Fault("brotli bomb (1 GiB)", lambda: fs.encoded(brotli_bomb(), "br"),
          r"body over the 5,000,000-byte limit$", hits=1),
]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_a_hostile_url_fails_alone_with_its_cause_in_bounded_time_and_memory(
        server: FaultServer, fault: Fault) -> None:
    route = fault.route()  # payloads are made before measuring
    server.routes["/fault"] = route
    server.routes.update({f"/hop/{n}": route for n in range(1, 25)})
    server.routes["/hop/25"] = fs.page(article(25))
    url = server.url("/fault")
    measured = measure(lambda: fetcher().fetch(url))
    TALLY.append((fault.name, measured))
    assert isinstance(measured.error, FetchError), (measured.error, measured.result)
    message = str(measured.error)
    assert message.startswith(f"{url}: "), message
    assert re.search(fault.cause, message.removeprefix(f"{url}: ")), message
    assert "\n" not in message
    assert measured.seconds < CEILING
    assert measured.memory < MEMORY_CEILING, (measured.traced_peak, measured.rss_growth)
    if fault.hits is not None:
        assert server.hits["/fault"] == fault.hits
    if fault.at_most_sent is not None:
        assert server.sent["/fault"] < fault.at_most_sent


# ---------------------------------------------------------------------------- retries that work


RECOVERIES = [
    ("429 with Retry-After 1, then 200", (429, "Too Many Requests", {"Retry-After": "1"}),
     2, 1.0),
    ("503 then 200", (503, "Service Unavailable", {}), 2, 0.2),
    ("503 with Retry-After 1, then 200", (503, "Service Unavailable", {"Retry-After": "1"}),
     2, 1.0),
]


@pytest.mark.parametrize("name, refusal, hits, waited", RECOVERIES,
                         ids=[r[0] for r in RECOVERIES])
def test_a_busy_server_is_retried_as_it_asks_and_the_page_arrives(
        server: FaultServer, name: str, refusal: tuple, hits: int, waited: float) -> None:
    server.routes["/busy"] = fs.answers(refusal, then=fs.page(article(1)))
    measured = measure(lambda: fetcher().fetch(server.url("/busy")))
    TALLY.append((name, measured))
    KINDS[name] = "busy"
    assert measured.error is None, measured.error
    assert measured.result is not None and b"Good page 1" in measured.result.body
    assert server.hits["/busy"] == hits
    assert waited <= measured.seconds < CEILING  # Retry-After (or the back-off) was honoured


def test_two_503s_then_200_backs_off_twice(server: FaultServer) -> None:
    unavailable = (503, "Service Unavailable", {})
    server.routes["/busy"] = fs.answers(unavailable, unavailable, then=fs.page(article(1)))
    measured = measure(lambda: fetcher().fetch(server.url("/busy")))
    TALLY.append(("503, 503, then 200", measured))
    KINDS["503, 503, then 200"] = "busy"
    assert measured.error is None and server.hits["/busy"] == 3
    assert 0.2 + 0.4 <= measured.seconds < CEILING


def test_brotli_is_advertised_and_decoded(server: FaultServer) -> None:
    body = article(7).encode()
    server.routes["/br"] = fs.encoded(brotli.compress(body), "br")
    result = fetcher().fetch(server.url("/br"))
    assert result.body == body
    assert "br" in ACCEPT_ENCODING.split(", ")
    accepted = dict(server.requests)["/br"]["accept-encoding"]
    assert "br" in [part.strip() for part in accepted.split(",")]


# ---------------------------------------------------------------------------- batches


BATCH_CAUSES = {  # the batch's hostile URLs -> what the person reading the report should see
    "never answers": "timed out after 4 s",
    "trickles a byte every half second": "timed out after 4 s",
    "resets at once": "the server closed the connection",
    "closes before its Content-Length": "closed before the whole body arrived",
    "redirect loop": "redirect loop",
    "429 with a Retry-After of an hour": "retry after 3600 s",
    "2 GB without Content-Length": "over the 5,000,000-byte limit",
    "gzip bomb (2 GiB)": "over the 5,000,000-byte limit",
    "brotli bomb (1 GiB)": "over the 5,000,000-byte limit",
}


@pytest.fixture
def cli_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user would set for a quick run: no delay, a 4 s time-out, a 5 MB cap."""
    monkeypatch.setenv("CXKB_FETCH_DELAY", "0")
    monkeypatch.setenv("CXKB_FETCH_TIMEOUT", "4")
    monkeypatch.setenv("CXKB_MAX_SOURCE_BYTES", str(LIMIT))


def serve_batch(server: FaultServer, faults: list[str]) -> tuple[list[str], dict[str, str]]:
    """URLs alternating good pages and hostile ones; the hostile URL -> its fault name."""
    by_name = {f.name: f for f in FAULTS}
    urls: list[str] = []
    hostile: dict[str, str] = {}
    for n, name in enumerate(faults):
        server.routes[f"/good/{n}"] = fs.page(article(n))
        urls.append(server.url(f"/good/{n}"))
        server.routes[f"/bad/{n}"] = by_name[name].route()
        urls.append(server.url(f"/bad/{n}"))
        hostile[urls[-1]] = name
    server.routes["/good/last"] = fs.page(article(99))
    urls.append(server.url("/good/last"))
    return urls, hostile


def stored_urls(path: Path) -> set[str]:
    db = Database(path)
    return {row["locator"] for row in db["sources"].rows if row.get("status", "ok") != "failed"
            and db["documents"].count_where("source_id = ?", [row["id"]])}


def test_a_batch_with_hostile_urls_still_ingests_every_good_page(
        server: FaultServer, tmp_path: Path, cli_settings: None) -> None:
    urls, hostile = serve_batch(server, list(BATCH_CAUSES))
    path = tmp_path / "kb.db"
    times: list[float] = []
    last = [time.monotonic()]

    def progress(done: int, total: int | None, outcome) -> None:
        now = time.monotonic()
        times.append(now - last[0])
        last[0] = now

    from kb.db import open_db

    db = open_db(path)
    ingest(db, [urls[0]], allow_private=True)  # the parsers' imports are not the batch's
    measured = measure(lambda: ingest(db, urls, allow_private=True, progress=progress))
    assert measured.error is None, measured.error
    report = measured.result
    db.conn.close()
    failed = {o.locator: o.error for o in report.failures}
    named = [u for u, name in hostile.items() if BATCH_CAUSES[name] in (failed.get(u) or "")]
    good = [u for u in urls if u not in hostile]
    stored = stored_urls(path) & set(good)
    BATCH.update(urls=len(urls), hostile=len(hostile), stored=len(stored), named=len(named),
                 max_seconds=round(max(times), 2), memory_mb=round(measured.memory / MB, 1))
    assert set(failed) == set(hostile), failed
    for url, name in hostile.items():
        assert BATCH_CAUSES[name] in failed[url], (name, failed[url])
    assert all(o.ok and o.documents == 1 for o in report.outcomes if o.locator in good)
    assert stored == set(good)
    assert max(times) < CEILING
    assert measured.memory < MEMORY_CEILING, (measured.traced_peak, measured.rss_growth)


def test_cxkb_ingest_names_each_hostile_url_and_stores_the_good_ones(
        server: FaultServer, tmp_path: Path, cli_settings: None) -> None:
    urls, hostile = serve_batch(server, ["redirect loop", "gzip bomb (2 GiB)",
                                         "2 GB without Content-Length"])
    path = tmp_path / "kb.db"
    began = time.monotonic()
    result = run(path, "ingest", *urls, "--allow-private", ok=False)
    assert time.monotonic() - began < CEILING * len(hostile)
    assert result.exit_code == 1, result.output
    for url, name in hostile.items():
        line = next(line for line in result.stderr.splitlines() if f"] {url}: FAILED: " in line)
        assert BATCH_CAUSES[name] in line, line
    good = [u for u in urls if u not in hostile]
    assert f"documents {len(good)} added" in result.stderr
    assert f"{len(hostile)} failed" in result.stderr
    assert stored_urls(path) >= set(good)


# ---------------------------------------------------------------------------- further requests


def thread_with_comment_pages(pages: int) -> str:
    """A post whose thread links ``pages`` further comment pages (WordPress style)."""
    links = "".join(f'<a href="/post/comment-page-{n}/#comments">{n}</a> '
                    for n in range(2, pages + 2))
    return article(1).replace("</article>", f'</article><nav class="comments">{links}</nav>')


def test_comment_pages_that_never_answer_cost_a_few_time_outs_not_one_each(
        server: FaultServer) -> None:
    from ingest.web import read_url

    pages = 40
    server.routes["/plain/"] = fs.page(article(2))
    read_url(server.url("/plain/"), fetcher())  # the parsers' imports are not the case's
    server.routes["/post/"] = fs.page(thread_with_comment_pages(pages))
    server.routes.update({f"/post/comment-page-{n}/": fs.never_answer
                          for n in range(2, pages + 2)})
    measured = measure(lambda: read_url(server.url("/post/"), fetcher()))
    case = f"a page linking {pages} comment pages that never answer"
    TALLY.append((case, measured))
    KINDS[case] = "extra requests"
    assert measured.error is None, measured.error
    tried = sum(n for path, n in server.hits.items() if "comment-page" in path)
    assert tried <= 5, f"{tried} comment pages tried, each one time-out long"
    assert measured.seconds < CEILING
    notes = measured.result.notes  # type: ignore[attr-defined]
    assert any("timed out" in note for note in notes), notes
    assert any(f"{pages - tried} further comment pages not tried" in note for note in notes), notes


def test_a_site_whose_robots_txt_never_answers_costs_one_time_out_not_one_per_url(
        tmp_path: Path, cli_settings: None) -> None:
    with FaultServer() as stalled, FaultServer() as fine:
        stalled.routes["/robots.txt"] = fs.never_answer
        urls = []
        for n in range(5):
            stalled.routes[f"/post/{n}"] = fs.page(article(n))
            fine.routes[f"/post/{n}"] = fs.page(article(10 + n))
            urls += [stalled.url(f"/post/{n}"), fine.url(f"/post/{n}")]
        from kb.db import open_db

        db = open_db(tmp_path / "kb.db")
        fine.routes["/warm-up"] = fs.page(article(99))
        ingest(db, [fine.url("/warm-up")], allow_private=True)  # imports, not the case's
        times: list[float] = []
        last = [time.monotonic()]

        def progress(done: int, total: int | None, outcome) -> None:
            times.append(time.monotonic() - last[0])
            last[0] = time.monotonic()

        measured = measure(lambda: ingest(db, urls, allow_private=True, progress=progress))
        db.conn.close()
        assert stalled.hits["/robots.txt"] == 1 and not any(
            stalled.hits[f"/post/{n}"] for n in range(5))
    case = "a site whose robots.txt never answers (per URL)"
    TALLY.append((case, replace(measured, seconds=max(times))))
    KINDS[case] = "extra requests"
    assert measured.error is None, measured.error
    failed = {o.locator: o.error for o in measured.result.failures}
    assert set(failed) == set(urls[0::2])
    assert all("robots.txt could not be read" in e and "timed out" in e
               for e in failed.values()), failed
    assert stored_urls(tmp_path / "kb.db") >= set(urls[1::2])
    assert max(times) < CEILING
    assert measured.seconds < CEILING  # one time-out (4 s) for the site, not five
