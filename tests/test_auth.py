"""Who may write through the web UI: each write policy against a real POST route (topic
rename), signing in and out, the lockout, safe redirects, stored hashes and the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from clihelpers import run
from webhelpers import make_app

from kb.cli import cli
from kb.db import open_db, utc_now
from kb.errors import BadUserName, UnknownUser, UserExists, WeakPassword
from kb.users import add_user, list_users, remove_user, verify_user
from kb.web.auth import LOCK_AFTER, LOCK_WINDOW, Lockout, policy_for_host

PASSWORD = "correct horse battery"
TOPIC, OTHER = 1, 2
ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    """A knowledge base with two topics to rename and one editor, ``alice``."""
    path = tmp_path / "kb.db"
    db = open_db(path)
    for topic_id, label in ((TOPIC, "customer · outcome"), (OTHER, "marketing · owner")):
        db["topics"].insert({"id": topic_id, "label": label, "keywords": json.dumps([label]),
                             "representative": "[]", "size": 0, "status": "active",
                             "created_at": utc_now(), "updated_at": utc_now()})
    add_user(db, "alice", PASSWORD)
    db.close()
    return path


def _app(kb_file: Path, policy: str):
    app = make_app(kb_file)
    app.config["WRITE_POLICY"] = policy
    return app


def _label(kb_file: Path) -> str | None:
    db = open_db(kb_file)
    try:
        return db.execute("SELECT custom_label FROM topics WHERE id = ?", [TOPIC]).fetchone()[0]
    finally:
        db.close()


def _token(client) -> str:
    """The session's CSRF token (created as a page would create it)."""
    with client.session_transaction() as session:
        session.setdefault("csrf_token", "test-token")
        return session["csrf_token"]


def _rename(client, label: str, **kwargs):
    return client.post(f"/topics/{TOPIC}/rename",
                       data={"label": label, "csrf_token": _token(client)}, **kwargs)


def _sign_in(client, name: str = "alice", password: str = PASSWORD, next_url: str = ""):
    return client.post("/login", data={"name": name, "password": password, "next": next_url,
                                       "csrf_token": _token(client)})


def _page(client, url: str = f"/topics/{TOPIC}") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


RENAME_FORM = f'action="/topics/{TOPIC}/rename"'


# --------------------------------------------------------------------------- local


def test_local_anyone_writes_without_signing_in(kb_file: Path) -> None:
    client = _app(kb_file, "local").test_client()
    html = _page(client)
    assert RENAME_FORM in html and 'action="/topics/move"' not in html  # no statements
    assert "Sign in" not in html and "read-only" not in html
    response = _rename(client, "Who owns CX")
    assert response.status_code == 302 and response.location == f"/topics/{TOPIC}"
    assert _label(kb_file) == "Who owns CX"


def test_create_app_defaults_to_local(kb_file: Path) -> None:
    assert make_app(kb_file).config["WRITE_POLICY"] == "local"
    with pytest.raises(ValueError, match="WRITE_POLICY"):
        from kb.web import create_app

        create_app({"DATABASE": str(kb_file), "WRITE_POLICY": "anyone"})


# --------------------------------------------------------------------------- editors


def test_editors_anonymous_post_is_sent_to_sign_in_and_writes_nothing(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    html = _page(client)
    assert RENAME_FORM not in html and "Correct this topic" not in html
    assert 'href="/login?next=/topics/1"' in html and ">Sign in</a>" in html
    response = _rename(client, "Anonymous edit",
                       headers={"Referer": f"http://localhost/topics/{TOPIC}"})
    assert response.status_code == 303
    assert response.location == f"/login?next=/topics/{TOPIC}"
    assert "Sign in as an editor" in _page(client, response.location)
    assert _label(kb_file) is None


def test_editors_anonymous_json_post_is_401(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    response = _rename(client, "Script edit", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert "sign in" in response.get_json()["error"].lower()
    assert _label(kb_file) is None


def test_editors_signed_in_post_works_and_sign_out_ends_it(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    with client.session_transaction() as session:
        session["planted"] = "from before sign-in"
    response = _sign_in(client, next_url=f"/topics/{TOPIC}")
    assert response.status_code == 303 and response.location == f"/topics/{TOPIC}"
    with client.session_transaction() as session:
        assert session["editor"] == "alice" and "planted" not in session  # a fresh session
    html = _page(client)
    assert RENAME_FORM in html and "Signed in as alice." in html
    assert "alice" in html and ">Sign out</button>" in html and ">Sign in</a>" not in html
    assert _rename(client, "Edited by alice").status_code == 302
    assert _label(kb_file) == "Edited by alice"
    db = open_db(kb_file)
    assert db.execute("SELECT last_login_at FROM users WHERE name = 'alice'").fetchone()[0]
    db.close()

    response = client.post("/logout", data={"csrf_token": _token(client)})
    assert response.status_code == 303
    assert _rename(client, "After sign-out").status_code == 303
    assert _label(kb_file) == "Edited by alice"


def test_logout_needs_the_csrf_token(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    _sign_in(client)
    assert client.post("/logout").status_code == 403
    with client.session_transaction() as session:
        assert session["editor"] == "alice"


def test_sign_in_needs_the_csrf_token(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    response = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 403
    with client.session_transaction() as session:
        assert "editor" not in session


def test_wrong_password_and_unknown_name_get_the_same_refusal(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    wrong = _sign_in(client, password="not the password")
    unknown = _sign_in(client, name="mallory", password=PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong name or password." in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "editor" not in session
    assert _rename(client, "Not signed in").status_code == 303
    assert _label(kb_file) is None


def test_lockout_after_ten_failures_for_fifteen_minutes(kb_file: Path) -> None:
    app = _app(kb_file, "editors")
    now = [1000.0]
    app.extensions["cxkb_lockout"] = Lockout(clock=lambda: now[0])
    client = app.test_client()
    for _ in range(LOCK_AFTER - 1):
        assert _sign_in(client, password="guess guess guess").status_code == 401
    assert _sign_in(client, password="guess guess guess").status_code == 401  # the tenth
    locked = _sign_in(client)  # the right password, but the name is locked
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert locked.headers["Retry-After"] == str(int(LOCK_WINDOW))
    # another name is not locked
    with open_db(kb_file) as db:
        add_user(db, "bob", PASSWORD)
    assert _sign_in(client, name="bob").status_code == 303
    client.post("/logout", data={"csrf_token": _token(client)})
    now[0] += LOCK_WINDOW - 1
    assert _sign_in(client).status_code == 429
    now[0] += 2
    assert _sign_in(client).status_code == 303


def test_failures_older_than_the_window_are_forgotten() -> None:
    now = [0.0]
    lockout = Lockout(clock=lambda: now[0])
    for _ in range(LOCK_AFTER - 1):
        lockout.failed("alice")
    now[0] += LOCK_WINDOW + 1
    lockout.failed("alice")
    assert lockout.seconds_left("alice") == 0
    small = Lockout(limit=2, max_names=3)
    for name in "abcdef":
        small.failed(name)
    assert len(small._failures) <= 3


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)",
    "///evil.example", "/\t/evil.example", "http:/evil.example", "evil.example",
])
def test_next_is_only_followed_to_a_path_on_this_site(kb_file: Path, target: str) -> None:
    client = _app(kb_file, "editors").test_client()
    response = _sign_in(client, next_url=target)
    assert response.status_code == 303 and response.location == "/"
    assert "evil" not in _page(client, f"/login?next={target}").split("<main>")[1]


def test_next_keeps_a_query_string(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    response = _sign_in(client, next_url="/search?q=outcome")
    assert response.location == "/search?q=outcome"


def test_a_removed_editor_can_no_longer_write(kb_file: Path) -> None:
    client = _app(kb_file, "editors").test_client()
    _sign_in(client)
    with open_db(kb_file) as db:
        remove_user(db, "alice")
    assert _rename(client, "Ghost edit").status_code == 303
    assert _label(kb_file) is None


# --------------------------------------------------------------------------- read-only


def test_read_only_refuses_every_write_and_hides_the_forms(kb_file: Path) -> None:
    client = _app(kb_file, "read-only").test_client()
    html = _page(client)
    assert RENAME_FORM not in html and "<form method=\"post\"" not in html
    assert "read-only" in html and "Sign in" not in html
    response = _rename(client, "Read-only edit")
    assert response.status_code == 403
    assert "served read-only" in response.get_data(as_text=True)
    response = _rename(client, "Read-only edit", headers={"Accept": "application/json"})
    assert response.status_code == 403 and "read-only" in response.get_json()["error"]
    _sign_in(client)  # signing in changes nothing
    assert _rename(client, "Signed-in edit").status_code == 403
    assert _label(kb_file) is None
    assert "nobody can sign in" in _page(client, "/login")


# --------------------------------------------------------------------------- kb.users


def test_passwords_are_stored_hashed_never_in_clear(kb_file: Path) -> None:
    with open_db(kb_file) as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE name = 'alice'").fetchone()
        assert PASSWORD not in stored and stored.count("$") >= 2  # method$salt$hash
        dump = "\n".join(db.conn.iterdump())
        assert PASSWORD not in dump
        assert verify_user(db, "alice", PASSWORD)
        assert not verify_user(db, "alice", PASSWORD.upper())
        assert not verify_user(db, "nobody", PASSWORD)
        assert not verify_user(db, "alice", "x" * 5000)


def test_add_user_refusals(kb_file: Path) -> None:
    with open_db(kb_file) as db:
        with pytest.raises(UserExists, match="alice"):
            add_user(db, "alice", "another long password")
        with pytest.raises(WeakPassword, match="at least 10"):
            add_user(db, "carol", "short")
        with pytest.raises(BadUserName):
            add_user(db, "two words", PASSWORD)
        with pytest.raises(BadUserName):
            add_user(db, "", PASSWORD)
        with pytest.raises(BadUserName, match="role"):
            add_user(db, "carol", PASSWORD, role="owner")
        with pytest.raises(UnknownUser):
            remove_user(db, "carol")
        add_user(db, "alice", "another long password", replace=True)
        assert verify_user(db, "alice", "another long password")
        assert not verify_user(db, "alice", PASSWORD)
        assert [u.name for u in list_users(db)] == ["alice"]


# --------------------------------------------------------------------------- the CLI


def test_cli_users_add_list_remove(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    added = CliRunner().invoke(cli, ["--db", str(db), "users", "add", "dana",
                                     "--password-stdin"], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "dana may now sign in" in added.stderr
    with open_db(db) as conn:
        assert verify_user(conn, "dana", PASSWORD)
    listed = run(db, "users", "list")
    assert listed.stdout.startswith("dana\teditor\tadded ") and "last sign-in" in listed.stdout

    again = CliRunner().invoke(cli, ["--db", str(db), "users", "add", "dana",
                                     "--password-stdin"], input=PASSWORD + "\n")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert "--replace" in again.stderr
    short = CliRunner().invoke(cli, ["--db", str(db), "users", "add", "eve",
                                     "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.stderr

    prompted = CliRunner().invoke(cli, ["--db", str(db), "users", "add", "eve"],
                                  input=f"short\n{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # hidden input is never echoed
    assert "at least 10 characters" in prompted.output

    assert run(db, "users", "remove", "dana").exit_code == 0
    gone = run(db, "users", "remove", "dana", ok=False)
    assert gone.exit_code == 1 and "no user 'dana'" in gone.stderr
    assert run(db, "users", "list").stdout.startswith("eve\t")


def test_serve_help_documents_read_only() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--read-only" in result.stdout and "cxkb users add" in result.stdout


@pytest.mark.parametrize(("host", "read_only", "policy"), [
    ("127.0.0.1", False, "local"), ("127.0.0.2", False, "local"), ("localhost", False, "local"),
    ("::1", False, "local"), ("[::1]", False, "local"), ("0.0.0.0", False, "editors"),
    ("192.168.1.20", False, "editors"), ("::", False, "editors"),
    ("kb.example.org", False, "editors"), ("127.0.0.1", True, "read-only"),
    ("0.0.0.0", True, "read-only"),
])
def test_policy_follows_the_address(host: str, read_only: bool, policy: str) -> None:
    assert policy_for_host(host, read_only) == policy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(kb_file: Path, *args: str):
    """``cxkb serve`` in its own process (no worker); returns it, its base URL and the
    lines it wrote to stderr up to the "serving" banner."""
    port = _free_port()
    log = kb_file.with_name(f"serve-{port}.log")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "kb", "--db", str(kb_file), "serve", "--port", str(port),
             "--no-worker", *args], stderr=err, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if "serving " in log.read_text():
            break
        time.sleep(0.05)
    while time.monotonic() < deadline and process.poll() is None:
        try:  # the port opens just after the banner
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.05)
    assert process.poll() is None, log.read_text()
    return process, f"http://127.0.0.1:{port}", log.read_text().splitlines()


def _stop(process) -> None:
    process.send_signal(signal.SIGINT)  # Ctrl+C, as the banner says
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def test_serve_beyond_loopback_needs_editors_and_warns_when_there_are_none(
        tmp_path: Path) -> None:
    kb_file = tmp_path / "empty.db"
    process, base, lines = _serve(kb_file, "--host", "0.0.0.0")
    try:
        assert "writing needs a signed-in editor (0 account(s))" in lines[-1], lines
        assert any("nobody can write: add one with cxkb users add" in x for x in lines), lines
        assert ">Sign in</a>" in _get(base + "/topics/")
    finally:
        _stop(process)


def test_serve_read_only_wins_on_loopback(kb_file: Path) -> None:
    process, base, lines = _serve(kb_file, "--host", "127.0.0.1", "--read-only")
    try:
        assert any("read-only" in x for x in lines), lines
        html = _get(f"{base}/topics/{TOPIC}")
        assert "read-only" in html and RENAME_FORM not in html
    finally:
        _stop(process)


def test_serve_on_loopback_stays_local(kb_file: Path) -> None:
    process, base, lines = _serve(kb_file)
    try:
        assert any("anyone who can reach it may write" in x for x in lines), lines
        assert not any("nobody can write" in x for x in lines)
        html = _get(f"{base}/topics/{TOPIC}")
        assert RENAME_FORM in html and "Sign in" not in html
    finally:
        _stop(process)


def test_login_page_under_local_says_no_sign_in_is_needed(kb_file: Path) -> None:
    client = _app(kb_file, "local").test_client()
    assert "No sign-in is needed" in _page(client, "/login")
    assert not re.search(r'name="password"', _page(client, "/login"))
