"""The JSON API keeps the promise its OpenAPI document makes: every path it lists
answers, every listing has the {"rows", "count", "next"} shape and ``next`` walks every
page exactly once."""

from __future__ import annotations

import pytest
from webhelpers import add_hostile_document, build_demo_db, make_app

from kb.web.api import openapi_document


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "kb.db"
    ids = build_demo_db(path)
    add_hostile_document(path)
    from kb.db import open_db
    from kb.records import CommentRecord, DocumentRecord, SourceRecord
    from kb.store import store_source

    db = open_db(path)  # enough documents for two pages of documents and of search hits
    store_source(db, SourceRecord(locator="stdin:many", kind="stdin", content_hash="0" * 64), [
        DocumentRecord(title=f"Post {i}", body=f"Customer experience note {i}.",
                       url=f"https://many.example.com/{i}",
                       comments=[CommentRecord(text=f"A customer view, number {i}.")])
        for i in range(60)])
    db.close()
    client = make_app(path).test_client()
    client.ids = ids
    return client


def test_the_openapi_document_is_served_and_lists_every_json_route(client) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec == openapi_document() and spec["openapi"].startswith("3.")
    for path in spec["paths"]:
        if "{" in path or path == "/label":
            continue
        answer = client.get(path, query_string={"q": "outcome"} if "search" in path else None)
        assert answer.status_code == 200, path
        assert answer.is_json, path


@pytest.mark.parametrize("path", ["/statements.json", "/documents.json", "/people.json",
                                  "/topics.json", "/search.json?q=customer"])
def test_every_listing_has_rows_count_and_next(client, path) -> None:
    data = client.get(path).get_json()
    assert isinstance(data["rows"], list) and isinstance(data["count"], int)
    assert data["next"] is None or data["next"].startswith("/")


@pytest.mark.parametrize("start", ["/search.json?q=customer", "/documents.json"])
def test_next_walks_every_row_once(client, start) -> None:
    first = client.get(start).get_json()
    assert first["count"] > len(first["rows"]) and first["next"]  # more than one page
    seen, url = [], start
    while url:
        data = client.get(url).get_json()
        seen += [(h.get("kind"), h["id"]) for h in data["rows"]]
        url = data["next"]
    assert len(seen) == len(set(seen)) == first["count"]


@pytest.mark.parametrize("path", ["/statements.csv", "/documents.csv", "/people.csv",
                                  "/topics.csv", "/search.csv?q=customer"])
def test_every_listing_exports_csv_with_its_rows(client, path, monkeypatch) -> None:
    import csv
    import io

    import kb.web.api

    monkeypatch.setattr(kb.web.api, "CSV_BATCH", 7)  # streamed in several batches
    answer = client.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(True))))
    as_json = client.get(path.replace(".csv", ".json")).get_json()
    assert len(rows) == as_json["count"]  # every row, not one page
    first = [str(r["id"]) for r in as_json["rows"]]
    assert [r["id"] for r in rows[:len(first)]] == first  # in the listing's order
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)
