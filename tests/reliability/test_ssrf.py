"""Issue 9, item 1: cxkb is not a way into the network it runs on.

Every spelling of this machine, private, link-local, CGNAT, metadata and IPv6 ULA
addresses, non-http schemes, names that resolve to private addresses, and 301/302/303/
307/308 redirects from a "public" server to all of these, submitted through
``cxkb ingest URL`` (in-process, and once as a subprocess on the real network) and
through the UI form (``POST /sources`` with its CSRF token, then the job run by the
worker). A loopback canary server stands for the private network: the test network
routes every connection to an address other than the public server's to it, so any
request the guard let through would be counted there. Expected: 0 hits.

The suite itself runs on loopback, so the public server is reached the way the fetcher
supports for tests: the resolver maps a few public names to a public address, and the
connect function takes that address to the local server (``allow_private`` stays off).
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from figures import record
from httpserver import LocalServer

from kb.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "93.184.216.34"  # a public address; the test network takes it to the local server
CANARY_BODY = "cxkb-canary-secret: you reached the private network"
DNS = {  # the test network's names
    "public.example": [PUBLIC],
    "www.public.example": [PUBLIC],
    "robots-redirect.example": [PUBLIC],
    "private.example": ["10.0.0.7"],
    "loop.example": ["127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],
    "mixed.example": [PUBLIC, "127.0.0.1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "ula.example": ["fd00::1"],
    "linklocal6.example": ["fe80::1"],
    "cgnat.example": ["100.64.0.1"],
    "zero.example": ["0.0.0.0"],
    "nat64.example": ["64:ff9b::7f00:1"],
    "sixtofour.example": ["2002:7f00:1::1"],
    "compat.example": ["::7f00:1"],
    "127.0.0.1.nip.io": ["127.0.0.1"],
}


def direct_urls(c: int) -> list[str]:
    """URLs that name a non-public host directly (``c``: the canary's port)."""
    loopback = [
        f"http://127.0.0.1:{c}/", f"http://127.1:{c}/", f"http://2130706433:{c}/",
        f"http://0x7f.1:{c}/", f"http://0x7f000001:{c}/", f"http://0177.0.0.1:{c}/",
        f"http://017700000001:{c}/", f"http://127.000.000.001:{c}/",
        f"http://0x7f.0x0.0x0.0x1:{c}/", f"http://127.0.1:{c}/", f"http://127.255.255.254:{c}/",
        f"http://[::1]:{c}/", f"http://[::ffff:127.0.0.1]:{c}/", f"http://[::ffff:7f00:1]:{c}/",
        f"http://[0:0:0:0:0:0:0:1]:{c}/", f"http://[::]:{c}/", f"http://[::127.0.0.1]:{c}/",
        f"http://[64:ff9b::7f00:1]:{c}/", f"http://[2002:7f00:1::1]:{c}/",
        f"http://0.0.0.0:{c}/", f"http://0:{c}/", f"http://localhost:{c}/",
        f"http://LOCALHOST:{c}/", f"http://localhost.:{c}/", f"http://app.localhost:{c}/",
        f"http://127.0.0.1.:{c}/", f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{c}/",
        f"HTTP://127.0.0.1:{c}/", f"http://127.0.0.1:{c}/%2e%2e/admin",
    ]
    private = [
        f"http://10.0.0.1:{c}/", f"http://10.255.255.254:{c}/", f"http://172.16.0.1:{c}/",
        f"http://172.31.255.254:{c}/", f"http://192.168.0.1:{c}/", f"http://192.168.1.254:{c}/",
        f"http://[::ffff:10.0.0.1]:{c}/", f"http://[::ffff:192.168.0.1]:{c}/",
        f"http://[::ffff:a00:1]:{c}/",
    ]
    metadata = [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://169.254.170.2/v2/credentials", "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/latest/meta-data/", "http://100.100.100.200/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        f"http://[fe80::1]:{c}/", f"http://[fe80::1%25eth0]:{c}/", f"http://[febf::1]:{c}/",
    ]
    cgnat_ula_special = [
        f"http://100.64.0.1:{c}/", f"http://100.127.255.254:{c}/", f"http://[fd00::1]:{c}/",
        f"http://[fc00::1]:{c}/", f"http://[fd12:3456:789a:1::1]:{c}/",
        f"http://255.255.255.255:{c}/", f"http://224.0.0.1:{c}/", f"http://240.0.0.1:{c}/",
        f"http://198.18.0.1:{c}/", f"http://192.0.0.1:{c}/", f"http://[ff02::1]:{c}/",
    ]
    names = [f"http://{name}:{c}/" for name, addresses in DNS.items() if PUBLIC not in addresses
             or len(addresses) > 1]
    tricks = [
        f"http://public.example@127.0.0.1:{c}/", f"http://127.0.0.1:{c}@public.example/",
        f"http://user:pass@127.0.0.1:{c}/", f"http://127.0.0.1:{c}\t/", f"http://[::1:{c}/",
        f"http://%31%32%37.0.0.1:{c}/", f"http://127.0.0.1:{c}#@public.example/",
        f"http://127.0.0.1:{c}\\@public.example/",
    ]
    schemes = [
        "file:///etc/passwd", "file://localhost/etc/passwd", "FILE:///etc/hostname",
        f"gopher://127.0.0.1:{c}/_GET%20/%20HTTP/1.0", f"ftp://127.0.0.1:{c}/",
        "data:text/html,<script>alert(1)</script>", f"dict://127.0.0.1:{c}/info",
        f"ldap://127.0.0.1:{c}/", f"jar:http://127.0.0.1:{c}/x!/", f"ws://127.0.0.1:{c}/",
        f"sftp://127.0.0.1:{c}/", "javascript:fetch('http://127.0.0.1/')",
        "netdoc:///etc/passwd", f"view-source:http://127.0.0.1:{c}/",
    ]
    return loopback + private + metadata + cgnat_ula_special + names + tricks + schemes


def redirect_targets(c: int) -> list[str]:
    return [
        f"http://127.0.0.1:{c}/", f"http://127.1:{c}/", f"http://2130706433:{c}/",
        f"http://0x7f.1:{c}/", f"http://localhost:{c}/", f"http://[::1]:{c}/",
        f"http://[::ffff:127.0.0.1]:{c}/", f"http://0.0.0.0:{c}/", f"http://10.0.0.7:{c}/",
        f"http://172.16.0.1:{c}/", f"http://192.168.0.1:{c}/",
        "http://169.254.169.254/latest/meta-data/", f"http://100.64.0.1:{c}/",
        f"http://[fd00::1]:{c}/", f"http://[fe80::1]:{c}/", f"http://private.example:{c}/",
        f"http://mixed.example:{c}/", f"http://public.example@127.0.0.1:{c}/",
        "file:///etc/passwd", f"gopher://127.0.0.1:{c}/_x", f"//127.0.0.1:{c}/",
        f"http:127.0.0.1:{c}/",
    ]


REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class FakeNetwork:
    canary: LocalServer
    public: LocalServer
    connects: list[tuple[str, int]] = field(default_factory=list)

    def hits(self) -> int:
        return sum(self.canary.hits.values())

    def unchecked(self) -> list[tuple[str, int]]:
        return [(a, p) for a, p in self.connects if a != PUBLIC]


def _public_routes(c: int) -> dict:
    routes: dict = {}
    for status in REDIRECTS:
        for i, target in enumerate(redirect_targets(c)):
            routes[f"/r/{status}/{i}"] = (status, {"Location": target}, b"")
    routes["/chain/1"] = (302, {"Location": "/chain/2"}, b"")
    routes["/chain/2"] = (301, {"Location": "http://www.public.example/chain/3"}, b"")
    routes["/chain/3"] = (307, {"Location": f"http://127.1:{c}/after-three-hops"}, b"")

    def robots(request):
        if request.headers.get("host", "").startswith("robots-redirect.example"):
            return (302, {"Location": f"http://127.0.0.1:{c}/robots.txt"}, b"")
        return (200, {"Content-Type": "text/plain"}, "User-agent: *\nAllow: /\n")

    routes["/robots.txt"] = robots
    article = ("<p>Customer experience is an outcome that everybody in the company owns, "
               "not a department with a budget and a team of its own.</p>") * 3
    page = ("<!DOCTYPE html><html><head><title>A public post</title></head><body>"
            f"<article><h1>A public post</h1>{article}</article></body></html>")
    routes["/ok"] = (200, {"Content-Type": "text/html; charset=utf-8"}, page)
    # a public page whose links (REST endpoint, comment feed, comment pages, canonical)
    # all point into the private network: the page is stored, nothing private is fetched
    routes["/discover/"] = (200, {"Content-Type": "text/html; charset=utf-8"}, f"""<!DOCTYPE html>
<html><head><title>Discovery</title>
<link rel="canonical" href="http://127.0.0.1:{c}/discover/">
<link rel="https://api.w.org/" href="http://127.0.0.1:{c}/wp-json/">
<link rel="alternate" type="application/json" href="http://10.0.0.7:{c}/wp-json/wp/v2/posts/42">
<link rel="alternate" type="application/rss+xml" title="Discovery Comments Feed"
      href="http://127.1:{c}/discover/feed/">
</head><body class="single single-post postid-42"><article id="post-42" class="post-42 post">
<h1 class="entry-title">Discovery</h1><div class="entry-content">{article}</div></article>
<div id="comments" class="comments-area"><ol class="commentlist">
<li class="comment depth-1" id="comment-1"><div id="div-comment-1" class="comment-body">
<div class="comment-author vcard"><cite class="fn">Ray</cite> says:</div>
<p>I think customer experience is an outcome.</p></div></li></ol>
<nav class="comment-navigation"><a class="page-numbers" href="http://localhost:{c}/discover/comment-page-2/">2</a>
<a class="page-numbers" href="http://[::1]:{c}/discover/comment-page-3/">3</a>
<a class="page-numbers" href="http://169.254.169.254/discover/comment-page-4/">4</a></nav></div>
</body></html>""")
    entity = f'<!DOCTYPE rss [<!ENTITY x SYSTEM "http://127.0.0.1:{c}/xxe">]>'
    routes["/feed.rss"] = (200, {"Content-Type": "application/rss+xml"}, f"""<?xml version="1.0"?>
{entity}<rss version="2.0"><channel><title>Feed</title><link>http://public.example/</link>
<item><title>Post</title><link>http://public.example/feed-post</link>
<description>Customer experience is an outcome &x;</description></item></channel></rss>""")
    return routes


def hostile_urls(c: int) -> list[str]:
    """Everything submitted: direct, redirected, chained, robots-redirected, discovered."""
    redirected = [f"http://public.example/r/{s}/{i}" for s in REDIRECTS
                  for i in range(len(redirect_targets(c)))]
    return (direct_urls(c) + redirected
            + ["http://public.example/chain/1", "http://robots-redirect.example/ok"])


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch):
    """The test network: fake DNS, and every connection to a non-public address routed to
    the canary (so a request the guard wrongly allowed is counted, whatever its address)."""
    import ingest.fetch
    import ingest.netguard

    canary = LocalServer({"/": (200, {"Content-Type": "text/html"}, CANARY_BODY)}).start()
    canary.routes.update({path: canary.routes["/"] for path in ("/robots.txt", "/wp-json/")})
    public = LocalServer().start()
    net = FakeNetwork(canary, public)
    public.routes.update(_public_routes(canary.port))

    def resolve(host: str, port: int) -> list[str]:
        if host not in DNS:
            raise OSError(f"no such host {host}")
        return DNS[host]

    def connect(address: str, port: int, timeout: float) -> socket.socket:
        net.connects.append((address, port))
        target = public.port if address == PUBLIC else canary.port
        return socket.create_connection(("127.0.0.1", target), timeout=timeout)

    monkeypatch.setattr(ingest.netguard, "system_resolver", resolve)
    monkeypatch.setattr(ingest.fetch, "_default_connect", connect)
    monkeypatch.setenv("CXKB_FETCH_DELAY", "0")
    try:
        yield net
    finally:
        canary.stop()
        public.stop()


def _cli(db: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def test_the_canary_counts_and_the_public_server_is_reachable(network, tmp_path) -> None:
    """The harness itself: a public URL is fetched and stored; the canary counts a request
    that is let through (with --allow-private)."""
    db = tmp_path / "kb.db"
    ok = _cli(db, "ingest", "http://public.example/ok")
    assert ok.exit_code == 0, ok.output
    assert network.public.hits["/ok"] == 1
    allowed = _cli(db, "ingest", "--allow-private", f"http://127.1:{network.canary.port}/x")
    assert network.hits() >= 1, allowed.output


def test_no_private_address_is_reached_from_the_cli_or_the_ui(network, tmp_path) -> None:
    from kb.db import open_db
    from kb.web import create_app
    from kb.worker import run_worker

    c = network.canary.port
    urls = hostile_urls(c)
    assert len(urls) == len(set(urls)) and len(urls) > 150

    # the CLI: one `cxkb ingest URL` per URL
    db = tmp_path / "cli.db"
    for url in urls:
        result = _cli(db, "ingest", url)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{url}: {result.exception!r}"
        assert result.exit_code == 1, f"{url} was accepted: {result.output}"
    discovered = _cli(db, "ingest", "http://public.example/discover/",
                      "http://public.example/feed.rss")
    assert discovered.exit_code == 0, discovered.output
    cli_attempts = len(urls) + 2
    assert network.hits() == 0, (network.canary.requests[:5], network.unchecked()[:5])

    # the UI: the form, then the worker runs what the form accepted
    ui_db = tmp_path / "ui.db"
    open_db(ui_db).close()
    app = create_app({"DATABASE": str(ui_db), "TESTING": True, "SECRET_KEY": "ssrf",
                      "UPLOAD_DIR": str(tmp_path / "uploads")})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/sources/new").get_data(True)).group(1)
    refused_by_form, queued = 0, 0
    for url in urls + ["http://public.example/discover/"]:
        answer = client.post("/sources", data={"url": url, "csrf_token": token,
                                               "allow_private": "on", "analyze": ""})
        assert answer.status_code in (303, 400), (url, answer.status_code)
        refused_by_form += answer.status_code == 400
        queued += answer.status_code == 303
    # an upload with its "original address": recorded, never fetched
    page = network.public.routes["/ok"][2].encode()
    answer = client.post("/sources", content_type="multipart/form-data", data={
        "csrf_token": token, "url": f"http://127.0.0.1:{c}/saved-from",
        "file": (io.BytesIO(page), "saved.html")})
    assert answer.status_code == 303
    queued += 1
    ui_attempts = len(urls) + 2
    assert run_worker(ui_db, once=True) == queued
    db_ui = open_db(ui_db)
    try:
        jobs = list(db_ui.query("SELECT id, status, params, error FROM jobs ORDER BY id"))
    finally:
        db_ui.close()
    done = [j for j in jobs if j["status"] == "done"]
    assert len(done) == 2, [(j["params"], j["error"]) for j in jobs if j["status"] != "failed"]
    assert all(j["status"] == "failed" and j["error"] for j in jobs if j not in done)
    hits = network.hits()
    unchecked = network.unchecked()

    # a subprocess on the real network: every loopback spelling at the canary's real port
    listed = tmp_path / "urls.txt"
    spellings = [u for u in direct_urls(c) if str(c) in u and "\t" not in u]
    listed.write_text("\n".join(spellings) + "\n", "utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "CXKB_FETCH_DELAY": "0"}
    done_proc = subprocess.run(
        [sys.executable, "-m", "kb", "--db", str(tmp_path / "sub.db"), "ingest", "--urls",
         str(listed)], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done_proc.returncode == 1 and "Traceback" not in done_proc.stderr, done_proc.stderr
    assert f"{len(spellings)} source(s)" in done_proc.stderr
    total_hits = network.hits()
    attempts = cli_attempts + ui_attempts + len(spellings)
    record("ssrf", f"SSRF: {total_hits} canary hits over {attempts} attempts (CLI "
           f"{cli_attempts}, UI {ui_attempts}: {refused_by_form} refused by the form, "
           f"{queued} run by the worker; subprocess on the real network {len(spellings)}); "
           f"{len(unchecked)} connections to unchecked addresses",
           hits=total_hits, attempts=attempts, cli=cli_attempts, ui=ui_attempts,
           subprocess=len(spellings), unchecked=len(unchecked))
    assert hits == 0 and total_hits == 0, network.canary.requests[:5]
    assert not unchecked, unchecked[:10]
