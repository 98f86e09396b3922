"""Issue 9, item 4: the web UI lets no one in through a side door.

- CSRF on every route that writes, enumerated from the URL map (a new POST route is
  covered without editing this file): no token, a wrong token, another session's token, a
  token in the query string, and a valid token sent cross-site (foreign ``Origin`` or
  ``Referer``, ``Origin: null``, ``Sec-Fetch-Site: cross-site``/``same-site``) are all
  refused with 400/403, and the database is byte-for-byte what it was; the same request
  sent properly does write (so the refusals are not an accident).
- Security headers on every GET route, on errors (400, 403, 404, 405, 413, 500) and on
  JSON and CSV.
- Oversized requests (a big form, a chunked one without a length, an upload over the
  limit, thousands of fields) get a 413 and write nothing.
- Open redirects: ``next`` and ``Referer`` values that leave the site are never followed.
- Generated search queries (hypothesis) against ``/search``, ``/search.json`` and the
  listing's text filter: no server error.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from figures import record
from hostile import copy_db
from routes import routes

PASSWORD = "correct horse battery"
EDITOR = "editor-ed"
EVIL = "https://evil.example"


# --------------------------------------------------------------------------- helpers


def snapshot(db_path: Path) -> str:
    """A digest of every row of every table: equal digests, nothing written."""
    con = sqlite3.connect(db_path)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            rows = sorted(repr(row) for row in con.execute(f'SELECT * FROM "{table}"'))
            digest.update(f"{table}:{len(rows)}".encode())
            for row in rows:
                digest.update(row.encode())
        return digest.hexdigest()
    finally:
        con.close()


def make_app(db_path: Path, **config):
    from kb.web import create_app

    return create_app({"DATABASE": str(db_path), "TESTING": True, "SECRET_KEY": "sec",
                       "UPLOAD_DIR": str(db_path.parent / "uploads"), **config})


def token_of(client) -> str:
    """The session's CSRF token, from a form the current policy shows."""
    for page in ("/sources/new", "/login"):
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).get_data(True))
        if found:
            return found.group(1)
    raise AssertionError("no form with a CSRF token")


def signed_in(client) -> str | None:
    with client.session_transaction() as session:
        return session.get("editor")


@pytest.fixture
def kb_copy(hostile_kb, tmp_path) -> Path:
    """A private copy of the analysed hostile knowledge base, with an editor account."""
    from kb.db import open_db
    from kb.users import add_user

    path = copy_db(hostile_kb.path, tmp_path / "kb.db")
    db = open_db(path)
    try:
        add_user(db, EDITOR, PASSWORD)
    finally:
        db.close()
    return path


def valid_forms(db_path: Path) -> dict[str, dict]:
    """A form each known writing endpoint accepts (the positive control)."""
    con = sqlite3.connect(db_path)
    try:
        topics = [r[0] for r in con.execute("SELECT id FROM topics WHERE id >= 0 ORDER BY id")]
        statement = con.execute("SELECT statement_id FROM topic_assignments"
                                " WHERE topic_id = ? LIMIT 1", [topics[0]]).fetchone()[0]
        human = con.execute("SELECT target_type || ':' || target_id, debate FROM labels"
                            " WHERE method = 'human' LIMIT 1").fetchone()
        model = con.execute("SELECT target_id, debate FROM labels WHERE method = 'model'"
                            " AND target_type = 'statement' LIMIT 1").fetchone()
        label = json.loads(con.execute("SELECT labels FROM debates WHERE name = ?",
                                       [model[1]]).fetchone()[0])[0]["name"]
    finally:
        con.close()
    return {
        "auth.login": {"name": EDITOR, "password": PASSWORD},
        "auth.logout": {},
        "topics.rename": {"label": "renamed by the CSRF test"},
        "topics.merge": {"into": str(topics[1])},
        "topics.move": {"statement": statement, "topic": str(topics[1])},
        "sources.create_source": {"file": (io.BytesIO(b"<html><body><p>Customer experience "
                                                      b"is an outcome.</p></body></html>"),
                                           "csrf.html")},
        "corrections.label": {"target": f"statement:{model[0]}", "debate": model[1],
                              "label": label},
        "corrections.undo": {"target": human[0], "debate": human[1]},
    }


ATTACKS = {  # name: (form token, query token, headers)
    "no token": (None, None, {}),
    "wrong token": ("0" * 43, None, {}),
    "another session's token": ("other", None, {}),
    "token in the query string": (None, "valid", {}),
    "foreign Origin": ("valid", None, {"Origin": EVIL}),
    "Origin: null": ("valid", None, {"Origin": "null"}),
    "look-alike Origin": ("valid", None, {"Origin": "http://localhost.evil.example"}),
    "foreign Referer": ("valid", None, {"Referer": f"{EVIL}/page"}),
    "Sec-Fetch-Site: cross-site": ("valid", None, {"Sec-Fetch-Site": "cross-site"}),
    "Sec-Fetch-Site: same-site": ("valid", None, {"Sec-Fetch-Site": "same-site"}),
}


def _send(client, method: str, url: str, form: dict, headers: dict, query: dict | None = None):
    multipart = any(isinstance(v, tuple) for v in form.values())
    data = {k: ((io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v)
            for k, v in form.items()}
    return client.open(url, method=method, data=data, headers=headers,
                       query_string=query or {},
                       content_type="multipart/form-data" if multipart else None)


# --------------------------------------------------------------------------- CSRF


@pytest.mark.parametrize("policy", ["local", "editors"])
def test_every_writing_route_refuses_forged_requests_and_writes_nothing(kb_copy, policy) -> None:
    app = make_app(kb_copy, WRITE_POLICY=policy)
    writing = routes(app, kb_copy, writes=True)
    assert {rule.endpoint for rule, _m, _u in writing} >= {"corrections.label", "sources.create_source"}
    forms = valid_forms(kb_copy)
    other = app.test_client()
    other_token = token_of(other)
    editor = app.test_client()  # signed in once (signing in records its time)
    token_of(editor)
    if policy == "editors":
        assert editor.post("/login", data={"name": EDITOR, "password": PASSWORD,
                                           "csrf_token": token_of(editor)}).status_code == 303
    editor_cookie = editor.get_cookie("session").value
    before = snapshot(kb_copy)
    refused, wrong_status = 0, []
    for rule, method, url in writing:
        for attack, (form_token, query_token, headers) in ATTACKS.items():
            client = app.test_client()
            if rule.endpoint != "auth.login":
                client.set_cookie("session", editor_cookie)
            token = token_of(client)
            form = dict(forms.get(rule.endpoint, {}))
            if form_token is not None:
                form["csrf_token"] = {"valid": token, "other": other_token}.get(form_token,
                                                                                form_token)
            query = {"csrf_token": token} if query_token else None
            editor_before = signed_in(client)
            answer = _send(client, method, url, form, headers, query)
            if answer.status_code not in (400, 403):
                wrong_status.append((method, url, attack, answer.status_code))
            else:
                refused += 1
            assert signed_in(client) == editor_before, (url, attack, "the session changed")
    after = snapshot(kb_copy)
    attempts = len(writing) * len(ATTACKS)
    record(f"csrf-{policy}", f"CSRF ({policy}): {refused} of {attempts} forged requests "
           f"refused over {len(writing)} writing routes × {len(ATTACKS)} forgeries; "
           f"database {'unchanged' if before == after else 'CHANGED'}",
           refused=refused, attempts=attempts, routes=len(writing),
           unchanged=before == after)
    assert not wrong_status, wrong_status
    assert before == after, "a refused request wrote to the database"

    # the same requests, sent properly, do write: the refusals were the guard's doing
    wrote = []
    for rule, method, url in sorted(writing, key=lambda r: r[0].endpoint == "topics.merge"):
        if rule.endpoint not in forms or (rule.endpoint == "auth.login" and policy != "editors"):
            continue  # (no one signs in when served locally)
        client = app.test_client()
        if policy == "editors" and rule.endpoint != "auth.login":
            client.post("/login", data={"name": EDITOR, "password": PASSWORD,
                                        "csrf_token": token_of(client)})
        mark = snapshot(kb_copy)
        answer = _send(client, method, url, {**forms[rule.endpoint],
                                             "csrf_token": token_of(client)},
                       {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
        assert answer.status_code in (200, 302, 303), (url, answer.status_code,
                                                       answer.get_data(True)[:300])
        if rule.endpoint.startswith("auth."):
            wrote.append(signed_in(client) == (EDITOR if rule.endpoint == "auth.login"
                                               else None))
        else:
            wrote.append(snapshot(kb_copy) != mark)
    assert all(wrote), wrote


# --------------------------------------------------------------------------- headers


def check_headers(response, where: str) -> list[str]:
    problems = []
    headers = response.headers
    csp = {d.split()[0]: d.split()[1:] for d in
           (part.strip() for part in headers.get("Content-Security-Policy", "").split(";"))
           if d}
    scripts = csp.get("script-src", csp.get("default-src"))
    if scripts is None:
        problems.append("no script-src or default-src")
    elif {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(scripts):
        problems.append(f"script-src allows {scripts}")
    if csp.get("frame-ancestors") not in (["'none'"], ["'self'"]):
        problems.append(f"frame-ancestors {csp.get('frame-ancestors')}")
    if csp.get("object-src") != ["'none'"]:
        problems.append(f"object-src {csp.get('object-src')}")
    if "base-uri" not in csp:
        problems.append("no base-uri")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("X-Frame-Options") not in ("DENY", "SAMEORIGIN"):
        problems.append("no X-Frame-Options")
    if headers.get("Referrer-Policy") not in ("no-referrer", "same-origin", "strict-origin",
                                              "strict-origin-when-cross-origin"):
        problems.append(f"Referrer-Policy {headers.get('Referrer-Policy')}")
    for cookie in headers.getlist("Set-Cookie"):
        if "HttpOnly" not in cookie or "SameSite=" not in cookie:
            problems.append(f"cookie without HttpOnly/SameSite: {cookie[:60]}")
    return [f"{where} ({response.status_code}): {p}" for p in problems]


def test_security_headers_on_every_route_error_and_download(hostile_kb, tmp_path) -> None:
    app = make_app(hostile_kb.path)
    client = app.test_client()
    problems: list[str] = []
    statuses: dict[int, int] = {}
    seen = 0

    def visit(response, where):
        nonlocal seen
        seen += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        problems.extend(check_headers(response, where))
        return response

    urls = [url for _rule, _method, url in routes(app, hostile_kb.path, writes=False,
                                                   per_route=2)]
    for url in urls + ["/search/?q=outcome", "/search.json?q=outcome", "/search.csv?q=outcome"]:
        response = visit(client.get(url), url)
        path = urlsplit(url).path
        if path.endswith(".csv") and response.status_code == 200:
            assert response.mimetype == "text/csv" and "attachment" in \
                response.headers.get("Content-Disposition", ""), url
        if path.endswith(".json"):
            assert response.mimetype == "application/json", url
    errors = {
        "/no/such/page": 404, "/documents/no-such-document": 404, "/topics/999999": 404,
        "/search/?q=%22unbalanced": 400, "/search.json?q=NEAR(": 400, "/search.csv?q=": 400,
    }
    for url, status in errors.items():
        assert visit(client.get(url), url).status_code == status, url
    assert visit(client.get("/logout"), "GET /logout").status_code == 405
    assert visit(client.post("/label", data={}), "POST /label").status_code == 403
    assert visit(client.post("/label", data={"x": "y" * 2_000_000}),
                 "big POST").status_code == 413
    # a crash: the 500 page carries the headers too
    broken = make_app(hostile_kb.path, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    broken.view_functions["documents.list_documents"] = lambda: 1 / 0
    assert visit(broken.test_client().get("/documents/"), "crash").status_code == 500
    # and through waitress, as served
    from webhelpers import running_server

    with running_server(make_app(hostile_kb.path)) as base:
        import urllib.error
        import urllib.request

        for url in ("/", "/search.json?q=outcome", "/positions.csv", "/no/such/page"):
            try:
                with urllib.request.urlopen(base + url, timeout=60) as answer:
                    headers, status = answer.headers, answer.status
            except urllib.error.HTTPError as error:
                headers, status = error.headers, error.code

            class Seen:
                status_code = status

            Seen.headers = _Headers(headers)
            visit(Seen, f"waitress {url}")
    record("headers", f"Security headers: {len(problems)} problems over {seen} responses "
           f"(every GET route, errors {sorted(s for s in statuses if s >= 400)}, JSON, CSV, "
           f"waitress)", problems=len(problems), responses=seen, statuses=statuses)
    assert not problems, problems[:20]


class _Headers:
    """``email.message.Message`` headers with the werkzeug calls check_headers makes."""

    def __init__(self, message) -> None:
        self.message = message

    def get(self, name, default=None):
        return self.message.get(name, default)

    def getlist(self, name):
        return self.message.get_all(name) or []


# --------------------------------------------------------------------------- size limits


def _raw_post(base: str, path: str, headers: dict[str, str], body_chunks, chunked: bool) -> int:
    """POST through a plain socket (chunked or not); the status code, or 0 if the server
    closed the connection without one."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for chunk in body_chunks:
                sock.sendall(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n" if chunked
                             else chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return 0
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(match.group(1)) if match else 0


def test_oversized_requests_are_refused_and_write_nothing(kb_copy) -> None:
    from webhelpers import running_server

    app = make_app(kb_copy, MAX_CONTENT_LENGTH=3 * 1024 * 1024)
    client = app.test_client()
    token = token_of(client)
    before = snapshot(kb_copy)
    cases = {
        "2 MB form": client.post("/label", data={"csrf_token": token, "target": "x",
                                                 "note": "n" * 2_000_000}),
        "4 MB upload over the limit": client.post(
            "/sources", content_type="multipart/form-data",
            data={"csrf_token": token, "file": (io.BytesIO(b"<p>x</p>" * 500_000), "big.html")}),
        "20,000 multipart fields": client.post("/label", content_type="multipart/form-data",
                                               data={"csrf_token": token,
                                                     **{f"f{i}": "x" for i in range(20_000)}}),
        "2 MB of query string": client.get("/search/", query_string={"q": "x" * 2_000_000}),
    }
    statuses = {name: r.status_code for name, r in cases.items()}
    # through waitress: the same form sent chunked, without a Content-Length
    with running_server(app) as base:
        cookie = client.get_cookie("session")
        headers = {"Cookie": f"session={cookie.value}",
                   "Content-Type": "application/x-www-form-urlencoded"}
        body = [f"csrf_token={token}&target=x&note=".encode()] + [b"n" * 65536] * 32
        statuses["2 MB chunked form"] = _raw_post(base, "/label", headers, body, chunked=True)
        statuses["2 MB form with its length"] = _raw_post(
            base, "/label", {**headers, "Content-Length": str(sum(map(len, body)))}, body,
            chunked=False)
    after = snapshot(kb_copy)
    refused = sum(1 for s in statuses.values() if 400 <= s < 500)
    record("oversized", f"Oversized requests: {refused} of {len(statuses)} refused "
           f"({statuses}); database {'unchanged' if before == after else 'CHANGED'}",
           refused=refused, cases=len(statuses), statuses=statuses)
    assert before == after
    assert all(s in (413, 414, 431) for name, s in statuses.items() if name != "2 MB of query string"), statuses
    assert statuses["2 MB of query string"] < 500


# --------------------------------------------------------------------------- redirects

NEXT_VALUES = [
    "//evil.example", "//evil.example/", "///evil.example", "////evil.example",
    "/\\evil.example", "\\/evil.example", "\\\\evil.example", "/\\/evil.example",
    "https:evil.example", "https:/evil.example", "https://evil.example", "http://evil.example",
    "HTTPS://evil.example", "//evil.example\\@localhost", "https://localhost@evil.example",
    "/\t/evil.example", "/\n/evil.example", " //evil.example", "\x00//evil.example",
    "/%09/evil.example", "/%2f%2fevil.example", "%2F%2Fevil.example", "/%5Cevil.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "//\uff45vil.example", "/\u3002/evil.example", "http:\\\\evil.example", "/.//evil.example",
    "/login?next=//evil.example", "/..//evil.example", "//localhost:1@evil.example",
    "https://evil.example/" + "a" * 3000,
]


def _leaves_site(location: str | None) -> bool:
    """True if a browser following ``location`` from http://localhost/ could leave it."""
    if location is None:
        return False
    if "\\" in location or any(ord(ch) < 32 for ch in location):
        return True  # browsers read \ as / and drop tabs and newlines
    target = urljoin("http://localhost/x/", location)
    parts = urlsplit(target)
    return parts.scheme not in ("http", "https") or parts.netloc != "localhost"


def test_no_next_or_referer_redirects_off_the_site(kb_copy) -> None:
    local = make_app(kb_copy)
    editors = make_app(kb_copy, WRITE_POLICY="editors")
    forms = valid_forms(kb_copy)
    escapes: list[tuple[str, str, str]] = []
    checked = 0
    for value in NEXT_VALUES:
        # the sign-in page's "Back" link, and where signing in leads
        client = editors.test_client()
        html = client.get("/login", query_string={"next": value}).get_data(True)
        back = re.search(r'<a href="([^"]*)">Back</a>', html)
        answers = {"login Back link": back.group(1) if back else None}
        token = token_of(client)
        answer = client.post("/login", data={"name": EDITOR, "password": PASSWORD,
                                              "csrf_token": token, "next": value})
        answers["POST /login"] = answer.headers.get("Location")
        # after a correction, and after undoing one
        client = local.test_client()
        token = token_of(client)
        answer = client.post("/label", data={**forms["corrections.label"], "csrf_token": token,
                                             "next": value})
        answers["POST /label"] = answer.headers.get("Location")
        answer = client.post("/label/undo", data={**forms["corrections.label"],
                                                  "csrf_token": token, "next": value})
        answers["POST /label/undo"] = answer.headers.get("Location")
        # an anonymous write under "editors" is sent to sign in, back to its Referer
        # (a header cannot carry line breaks or NUL)
        if not re.search(r"[\r\n\x00]", value):
            client = editors.test_client()
            answer = client.post("/label", data={**forms["corrections.label"],
                                                 "csrf_token": token_of(client)},
                                 headers={"Referer": value})
            sign_in = answer.headers.get("Location") or ""
            answers["sign-in next"] = parse_qs(urlsplit(sign_in).query).get("next", [None])[0]
        for where, location in answers.items():
            checked += 1
            if _leaves_site(location):
                escapes.append((value, where, location))
    # a path on this site is followed (so the refusals above are the check's doing)
    client = local.test_client()
    answer = client.post("/label", data={**forms["corrections.label"],
                                         "csrf_token": token_of(client), "next": "/people/?page=2"})
    assert answer.headers["Location"] == "/people/?page=2"
    client = editors.test_client()
    answer = client.post("/login", data={"name": EDITOR, "password": PASSWORD,
                                          "csrf_token": token_of(client), "next": "/review"})
    assert answer.headers["Location"] == "/review"
    record("open-redirects", f"Open redirects: {len(escapes)} of {checked} redirects leave "
           f"the site ({len(NEXT_VALUES)} next/Referer values × 5 places: the sign-in "
           f"page's Back link, after signing in, after a correction and its undo, the "
           f"sign-in redirect)",
           escapes=len(escapes), checked=checked)
    assert not escapes, escapes[:10]


# --------------------------------------------------------------------------- search fuzz

FTS_PIECES = [
    '"', "'", "(", ")", "AND", "OR", "NOT", "NEAR", "NEAR(", ",", "*", "^", ":", "-", "+",
    "{", "}", "title:", "body:", "text:", "{title body}:", "- title:", "NEAR(a b, 2)",
    '"outcome function"', "outcome", "function", "customer*", "cx", "\\", "''", "AND AND",
    "OR OR", "NOT NOT", "\x00", "\x1f", "\x7f", "\u200b", "\u202e", "\ud7ff", "😀", "é", "ß",
    "İ", "ﷺ", "\ufffd", "%", "_", ";", "--", "/*", "*/", "DROP TABLE statements;", "0x1",
    "1e999", "NULL", "rowid", "rank", "bm25(", "MATCH", "\"\"", "***", "^outcome", "a* b*",
    "NEAR(outcome function, 999999999)", "zanzibarian", "<script>alert(1)</script>", "&amp;",
    "%00", "../", "\r\n", "\t", " ", "  ",
]


def _query_strategy():
    from hypothesis import strategies as st

    piece = st.sampled_from(FTS_PIECES)
    word = st.text(min_size=1, max_size=12)
    return st.one_of(
        st.lists(st.one_of(piece, word), min_size=1, max_size=12).map(" ".join),
        st.lists(st.one_of(piece, word), min_size=1, max_size=30).map("".join),
        st.text(min_size=1, max_size=200),
        st.builds(lambda w, n, sep: sep.join([w] * n), st.sampled_from(
            ["outcome", "a*", '"x"', "NEAR(a b)", "(", "é"]), st.integers(1, 400),
            st.sampled_from([" ", " OR ", " AND ", ""])),
        st.text(min_size=900, max_size=3000),
    )


def fuzz_search(db_path: Path, examples: int, label: str) -> None:
    from hypothesis import HealthCheck, given, settings

    app = make_app(db_path)
    client = app.test_client()
    sent = {"queries": 0, "requests": 0}
    errors: list[tuple[str, str, int]] = []
    endpoints = ("/search/", "/search.json", "/positions/")

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_query_strategy())
    def run(query: str) -> None:
        sent["queries"] += 1
        for path in endpoints:
            response = client.get(path, query_string={"q": query})
            sent["requests"] += 1
            if response.status_code >= 500:
                errors.append((path, query[:80], response.status_code))
            assert response.status_code < 500, (path, query)
            if path.endswith(".json"):
                json.loads(response.get_data(True))

    run()
    record(f"search-fuzz-{label}", f"Search fuzz: {len(errors)} server errors over "
           f"{sent['queries']:,} generated queries × {len(endpoints)} endpoints "
           f"({sent['requests']:,} requests)", errors=len(errors), queries=sent["queries"],
           requests=sent["requests"])
    assert not errors


def test_generated_search_queries_never_crash(hostile_kb) -> None:
    fuzz_search(hostile_kb.path, 400, "default")


@pytest.mark.release
def test_ten_thousand_generated_search_queries_never_crash(hostile_kb) -> None:
    fuzz_search(hostile_kb.path, 10_000, "release")
