"""The web app keeps its database connections open between requests (``kb.web.db``): a
page still shows what another process stored since the connection's last request, a
streamed CSV keeps a connection of its own while other pages are served, and nothing a
request left behind (a temporary table, an open transaction) reaches the next one."""

from __future__ import annotations

import csv
import io

import pytest
from webhelpers import build_demo_db, make_app


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory):
    from kb.db import open_db
    from kb.labels import set_label
    from kb.statements import StatementRecord, replace_statements

    path = tmp_path_factory.mktemp("connections") / "kb.db"
    build_demo_db(path)
    db = open_db(path)  # each comment one statement with a model label (no model is run)
    try:
        with db.conn:
            for cid, text in db.execute("SELECT id, text FROM comments").fetchall():
                replace_statements(db, "comment", cid, text, [StatementRecord(
                    0, len(text), text, None, None, "comment")], method="test")
            for i, (sid,) in enumerate(db.execute("SELECT id FROM statements").fetchall()):
                set_label(db, "statement", sid, "outcome-function",
                          ("outcome", "function", "both")[i % 3], method="model",
                          confidence=0.5 + (i % 50) / 100, model_version="test-1")
    finally:
        db.close()
    return path


def test_a_page_shows_what_another_process_stored_since_its_last_request(kb_path) -> None:
    from kb.db import open_db
    from kb.records import DocumentRecord, SourceRecord
    from kb.store import store_source

    client = make_app(kb_path).test_client()
    before = client.get("/documents.json").get_json()["count"]
    assert "Written by another process" not in client.get("/documents/").get_data(True)
    db = open_db(kb_path)  # as the worker or the CLI would, on a connection of its own
    try:
        store_source(db, SourceRecord(locator="stdin:elsewhere", kind="stdin",
                                      content_hash="e" * 64),
                     [DocumentRecord(title="Written by another process",
                                     body="Customer experience is an outcome.",
                                     url="https://elsewhere.example.com/post")])
    finally:
        db.close()
    assert client.get("/documents.json").get_json()["count"] == before + 1
    assert "Written by another process" in client.get("/documents/").get_data(True)
    found = client.get("/search.json?q=elsewhere OR Written").get_json()
    assert found["count"] >= 1


def test_a_streamed_csv_keeps_its_connection_while_other_pages_are_served(
        kb_path, monkeypatch) -> None:
    import kb.web.api

    monkeypatch.setattr(kb.web.api, "CSV_BATCH", 2)  # the export comes in many pieces
    client = make_app(kb_path).test_client()
    listed = client.get("/statements.json?q=customer").get_json()
    assert listed["count"] > 6
    download = client.get("/statements.csv?q=customer", buffered=False)
    pieces = iter(download.response)
    first = next(pieces)
    text = first.decode() if isinstance(first, bytes) else first
    for _ in range(3):  # other pages while the download is half sent
        other = client.get("/statements.json?q=outcome")
        assert other.status_code == 200 and other.get_json()["count"] > 0
        assert client.get("/statements.json?q=customer").get_json()["count"] == listed["count"]
    text += "".join(p.decode() if isinstance(p, bytes) else p for p in pieces)
    download.close()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == listed["count"]
    assert [r["id"] for r in rows[:len(listed["rows"])]] == [r["id"] for r in listed["rows"]]


def test_nothing_a_request_left_behind_reaches_the_next_one(kb_path) -> None:
    app = make_app(kb_path)
    client = app.test_client()
    assert client.get("/statements.json?q=customer").status_code == 200  # a temporary table
    assert client.get("/search.json?q=customer&site=nowhere.example").status_code == 200
    pool = app.extensions["cxkb_connections"]
    db = pool.take()
    try:
        assert db.execute("SELECT name FROM temp.sqlite_master").fetchall() == []
        assert not db.conn.in_transaction
        db.execute("BEGIN")
        db.execute("CREATE TEMP TABLE left_behind (x)")
    finally:
        pool.give_back(db)  # as a request that failed half-way would
    again = pool.take()
    try:
        assert again.execute("SELECT name FROM temp.sqlite_master").fetchall() == []
        assert not again.conn.in_transaction
    finally:
        pool.give_back(again)
