"""Corrections, the review queue, quote pages and adding a source from the UI, with the
worker running the jobs: real SQLite, the real analysis, a real local web server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from httpserver import LocalServer
from webhelpers import build_demo_db
from wpsite import POST_PATH, Post, default_comments, render_post

from kb.db import open_db
from kb.web import create_app
from kb.worker import run_worker


@pytest.fixture(scope="module")
def analysed(tmp_path_factory) -> Path:
    from nlp.analyze import analyze

    path = tmp_path_factory.mktemp("corrections") / "kb.db"
    build_demo_db(path)
    db = open_db(path)
    analyze(db, tier="fast", with_topics=False)
    db.close()
    return path


def app_for(path: Path, **config):
    return create_app({"DATABASE": str(path), "TESTING": True, "SECRET_KEY": "test-key",
                       **config})


def token(client, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(True))
    assert match, f"no form with a CSRF token on {path}"
    return match.group(1)


def rows(path: Path, sql: str, params=()) -> list[dict]:
    db = open_db(path)
    try:
        return [dict(r) for r in db.query(sql, params)]
    finally:
        db.close()


def least_certain(path: Path, debate: str = "outcome-function") -> dict:
    return rows(path, "SELECT target_id, label, confidence FROM labels WHERE method = 'model'"
                " AND target_type = 'statement' AND debate = ? ORDER BY confidence LIMIT 1",
                [debate])[0]


def test_a_correction_needs_its_token_and_then_wins_over_the_model(analysed: Path) -> None:
    client = app_for(analysed).test_client()
    item = least_certain(analysed)
    other = "both" if item["label"] != "both" else "outcome"
    form = {"target": f"statement:{item['target_id']}", "debate": "outcome-function",
            "label": other}
    assert client.post("/label", data=form).status_code in (400, 403)
    assert not rows(analysed, "SELECT * FROM labels WHERE method = 'human'")
    page = f"/statements/{item['target_id']}"
    bad = client.post("/label", data={**form, "label": "purple", "csrf_token": token(client, page)})
    assert bad.status_code == 400 and not rows(analysed, "SELECT * FROM labels WHERE method='human'")
    done = client.post("/label", data={**form, "csrf_token": token(client, page), "next": page})
    assert done.status_code == 303 and done.headers["Location"].endswith(page)
    (human,) = rows(analysed, "SELECT * FROM labels WHERE method = 'human'")
    assert human["label"] == other and human["target_id"] == item["target_id"]
    html = client.get(page).get_data(True)
    assert f'data-effective="{other}"' in html and "(human)" in html
    # the derived positions are refreshed by the worker, in the background
    (job,) = rows(analysed, "SELECT * FROM jobs WHERE kind = 'positions'")
    assert job["status"] == "queued"
    assert run_worker(analysed, once=True) == 1
    (job,) = rows(analysed, "SELECT * FROM jobs WHERE kind = 'positions'")
    assert job["status"] == "done", job["error"]
    # the model re-running never overwrites it
    from nlp.analyze import analyze

    db = open_db(analysed)
    analyze(db, tier="fast", with_topics=False)
    db.close()
    (human,) = rows(analysed, "SELECT * FROM labels WHERE method = 'human'")
    assert human["label"] == other


def test_the_quote_page_shows_context_provenance_and_evidence(analysed: Path) -> None:
    client = app_for(analysed).test_client()
    item = rows(analysed, "SELECT l.target_id FROM labels l WHERE l.method = 'model'"
                " AND l.evidence LIKE '%\"cues\": [{%' LIMIT 1")[0]
    html = client.get(f"/statements/{item['target_id']}").get_data(True)
    assert '<mark class="statement">' in html
    (source,) = rows(analysed, "SELECT src.locator FROM statements s LEFT JOIN comments c"
                     " ON c.id = s.comment_id JOIN documents d ON d.id = coalesce("
                     "s.document_id, c.document_id) JOIN sources src ON src.id = d.source_id"
                     " WHERE s.id = ?", [item["target_id"]])
    assert "Provenance" in html and Path(source["locator"]).name in html
    assert "cues:" in html and "nearest annotated examples" in html and "scores:" in html
    assert "model " in html  # the model version that gave the label
    assert client.get("/statements/nope").status_code == 404


def test_the_review_queue_shows_the_least_certain_first_and_forgets_what_is_done(
        analysed: Path) -> None:
    client = app_for(analysed).test_client()
    html = client.get("/review?debate=ownership").get_data(True)
    ids = re.findall(r'id="r-([^"]+)"', html)
    assert ids and ids[0] == least_certain(analysed, "ownership")["target_id"]
    first = ids[0]
    client.post("/label", data={"target": f"statement:{first}", "debate": "ownership",
                                "label": "shared", "next": "/review?debate=ownership",
                                "csrf_token": token(client, "/review?debate=ownership")})
    assert f'id="r-{first}"' not in client.get("/review?debate=ownership").get_data(True)


def test_read_only_serving_refuses_corrections_and_hides_their_forms(analysed: Path) -> None:
    client = app_for(analysed, WRITE_POLICY="read-only").test_client()
    item = least_certain(analysed)
    page = client.get(f"/statements/{item['target_id']}").get_data(True)
    assert 'action="/label"' not in page
    with app_for(analysed).test_client() as writer:
        sent = token(writer, f"/statements/{item['target_id']}")
    answer = client.post("/label", data={"target": f"statement:{item['target_id']}",
                                         "debate": "outcome-function", "label": "both",
                                         "csrf_token": sent})
    assert answer.status_code in (400, 403)


def test_adding_a_url_runs_as_a_job_with_a_result_page(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXKB_FETCH_DELAY", "0")
    path = tmp_path / "kb.db"
    open_db(path).close()
    post = Post(comments=default_comments())
    server = LocalServer()
    server.routes[POST_PATH] = lambda r: (200, {"Content-Type": "text/html"},
                                          render_post(post, server.url("/").rstrip("/")))
    with server.start():
        url = server.url(POST_PATH)
        # the guard runs in the web process: a private address is refused at once
        guarded = app_for(path).test_client()
        refused = guarded.post("/sources", data={"url": url,
                                                 "csrf_token": token(guarded, "/sources/new")})
        assert refused.status_code == 400 and "--allow-private" in refused.get_data(True)
        assert not rows(path, "SELECT * FROM jobs")
        client = app_for(path, ALLOW_PRIVATE_URLS=True).test_client()
        sent = client.post("/sources", data={"url": url,
                                             "csrf_token": token(client, "/sources/new")})
        assert sent.status_code == 303
        job_page = sent.headers["Location"]
        waiting = client.get(job_page).get_data(True)
        assert 'data-status="queued"' in waiting and 'http-equiv="refresh"' in waiting
        assert run_worker(path, once=True) == 1
    done = client.get(job_page).get_data(True)
    assert 'data-status="done"' in done and post.title in done
    assert 'http-equiv="refresh"' not in done
    job = client.get(job_page + ".json").get_json()
    assert job["status"] == "done" and job["result"]["documents"]
    assert len(rows(path, "SELECT * FROM comments")) == 8


def test_an_upload_with_its_original_address_is_ingested_by_the_worker(tmp_path: Path) -> None:
    path = tmp_path / "kb.db"
    open_db(path).close()
    client = app_for(path, UPLOAD_DIR=str(tmp_path / "uploads")).test_client()
    page = render_post(Post(comments=default_comments()), "https://cxledger.example.com")
    from io import BytesIO

    sent = client.post("/sources", data={
        "url": "https://cxledger.example.com" + POST_PATH, "csrf_token": token(client,
                                                                               "/sources/new"),
        "file": (BytesIO(page.encode()), "../../etc/saved post.html")},
        content_type="multipart/form-data")
    assert sent.status_code == 303
    saved = list((tmp_path / "uploads").iterdir())
    assert len(saved) == 1 and ".." not in saved[0].name  # no path from the upload's name
    run_worker(path, once=True)
    job = client.get(sent.headers["Location"] + ".json").get_json()
    assert job["status"] == "done", job["error"]
    (document,) = rows(path, "SELECT url FROM documents")
    assert document["url"] == "https://cxledger.example.com" + POST_PATH


def test_a_failing_job_says_why_and_the_worker_goes_on(tmp_path: Path) -> None:
    from kb.jobs import enqueue, get_job

    path = tmp_path / "kb.db"
    db = open_db(path)
    bad = enqueue(db, "ingest", {"source": str(tmp_path / "missing.html")})
    good = enqueue(db, "positions", {"debate": "outcome-function"})
    assert run_worker(path, once=True) == 2
    assert get_job(db, bad.id).status == "failed"
    assert "no such file" in get_job(db, bad.id).error
    assert get_job(db, good.id).status == "done"
    db.close()


def test_stable_routes_answer(analysed: Path) -> None:
    client = app_for(analysed).test_client()
    document = rows(analysed, "SELECT id FROM documents LIMIT 1")[0]["id"]
    for route in ("/statements", "/statements.json", "/statements.csv", "/search?q=outcome",
                  "/topics", f"/threads/{document}", f"/threads/{document}.json", "/review",
                  "/sources/new", "/jobs/"):
        assert client.get(route).status_code == 200, route
    assert json.loads(client.get("/statements.json").get_data())["rows"]


def test_listing_filters_by_site_source_topic_and_dates(analysed: Path) -> None:
    client = app_for(analysed).test_client()
    everything = client.get("/statements.json?debate=outcome-function").get_json()["count"]
    documents = rows(analysed, "SELECT id, source_id, published FROM documents")
    first = documents[0]
    by_source = client.get(f"/statements.json?debate=outcome-function&source="
                           f"{first['source_id']}").get_json()
    assert 0 < by_source["count"] < everything
    assert {r["document_id"] for r in by_source["rows"]} == {first["id"]}
    # dates: nothing before 1990; a range keeps the dated statements only; a malformed
    # date is ignored
    assert client.get("/statements.json?until=1990-01-01").get_json()["count"] == 0
    dated = client.get("/statements.json?debate=outcome-function&since=1990-01-01&"
                       "until=2100-12-31").get_json()
    assert 0 < dated["count"] <= everything
    assert all(r["published"] for r in dated["rows"])
    assert client.get("/statements.json?debate=outcome-function&since=' OR 1=1 --"
                      ).get_json()["count"] == everything
    # a topic: only its statements
    some = rows(analysed, "SELECT target_id FROM labels WHERE debate = 'outcome-function'"
                " AND target_type = 'statement' LIMIT 3")
    db = open_db(analysed)
    with db.conn:
        for row in some:
            db["topic_assignments"].upsert({"statement_id": row["target_id"], "topic_id": 7,
                                            "score": 1.0, "method": "model",
                                            "updated_at": "2026-01-01"}, pk="statement_id")
    db.close()
    topic = client.get("/statements.json?debate=outcome-function&topic=7").get_json()
    assert sorted(r["id"] for r in topic["rows"]) == sorted(r["target_id"] for r in some)
    html = client.get("/statements?debate=outcome-function&since=2000-01-01").get_data(True)
    assert 'name="since" type="date" value="2000-01-01"' in html
