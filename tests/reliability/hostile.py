"""A knowledge base full of hostile text, built the way a user builds one.

Every payload of ``payloads.XSS`` is stored as a comment text, a comment author's name and
a document title; every ``payloads.URLS`` entry as a document URL, a source URL and a
comment author's URL. Most of it goes through the real ingest path (WordPress-style pages
written to files and ingested as a folder, one post fetched over HTTP with its REST
comments and comment feed); what a page cannot carry (a ``javascript:`` document URL, a
title per payload) goes through the store functions. Then the real analysis runs
(statements, speakers, one debate's stance labels and positions; topics fitted with quick
stages), and the UI is used to add a job, a label note and a topic name, so every page
has something hostile to show.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from payloads import URLS, XSS
from wpsite import Comment, Post, render_post

# sentences the stance models read as positions, so payloads end up in statements too
CX_LINES = [
    "Customer experience is an outcome that the whole company owns.",
    "Customer experience should be a function with its own budget and team.",
    "I think it is both an outcome and a function, depending on the company.",
    "The CCO owns the journey, but the outcome is shared by everyone.",
    "Marketing cannot own what the customer feels after the sale.",
]
PER_PAGE = 10  # payloads per ingested page


@dataclass
class HostileKB:
    path: Path
    documents: list[str] = field(default_factory=list)
    payloads: int = 0


def _page_post(group: int) -> Post:
    chunk = XSS[group * PER_PAGE:(group + 1) * PER_PAGE]
    comments = []
    for i, payload in enumerate(chunk):
        n = group * PER_PAGE + i
        comments.append(Comment(
            id=1000 + n, author=XSS[(n + 5) % len(XSS)],
            text=f"{CX_LINES[n % len(CX_LINES)]} {payload} zanzibarian{n}",
            date=f"2019-03-{(n % 27) + 1:02d}T09:{n % 60:02d}:00",
            parent=1000 + n - 1 if i % 3 == 2 else 0,
            url=URLS[n % len(URLS)]))
    return Post(title=chunk[0] + f" post {group}", author=chunk[-1],
                body=[f"{CX_LINES[(group + k) % len(CX_LINES)]} {p}" for k, p in enumerate(chunk)],
                comments=comments)


def ingest_pages(db, folder: Path) -> None:
    """The payloads as WordPress-style pages, saved to files and ingested as a folder."""
    from ingest.pipeline import ingest

    folder.mkdir(parents=True, exist_ok=True)
    groups = -(-len(XSS) // PER_PAGE)
    for group in range(groups):
        html = render_post(_page_post(group), f"https://blog{group}.example")
        (folder / f"post-{group:02d}.html").write_text(html, "utf-8")
    report = ingest(db, [str(folder)])
    assert not report.failures, report.summary()


def serve_blog(post: Post):
    """The post, its REST comments, comment feed and robots.txt on a local server."""
    from urllib.parse import parse_qs

    from httpserver import LocalServer
    from wpsite import POST_PATH, comment_feed, rest_comments

    server = LocalServer()

    def base() -> str:
        return server.url("/").rstrip("/")

    def rest(request):
        query = parse_qs(request.query)
        body, pages = rest_comments(post, base(), int(query.get("page", ["1"])[0]))
        return (200, {"Content-Type": "application/json; charset=UTF-8",
                      "X-WP-TotalPages": str(pages)}, body)

    server.routes.update({
        POST_PATH: lambda r: (200, {"Content-Type": "text/html; charset=UTF-8"},
                              render_post(post, base())),
        "/wp-json/wp/v2/comments": rest,
        f"{POST_PATH}feed/": lambda r: (200, {"Content-Type": "application/rss+xml"},
                                        comment_feed(post, base())),
        "/robots.txt": (200, {"Content-Type": "text/plain"}, "User-agent: *\nAllow: /\n"),
    })
    return server


def ingest_over_http(db) -> None:
    """One post fetched over HTTP (page, REST comments, comment feed) from a local server."""
    from ingest.pipeline import ingest

    post = Post(title=XSS[1] + " fetched", author=XSS[2], comments=[
        Comment(2000 + i, XSS[(i * 7) % len(XSS)], f"{CX_LINES[i % 5]} {XSS[(i * 11) % len(XSS)]}",
                f"2020-01-{i + 1:02d}T10:00:00", url=URLS[i % len(URLS)])
        for i in range(12)])
    import os

    from wpsite import POST_PATH

    old = os.environ.get("CXKB_FETCH_DELAY")
    os.environ["CXKB_FETCH_DELAY"] = "0"
    try:
        with serve_blog(post) as server:
            report = ingest(db, [server.url(POST_PATH)], allow_private=True)
    finally:
        if old is None:
            os.environ.pop("CXKB_FETCH_DELAY", None)
        else:
            os.environ["CXKB_FETCH_DELAY"] = old
    assert not report.failures, report.summary()


def store_titles(db) -> None:
    """A document per payload, titled by it, with hostile URLs in every URL field."""
    from kb.records import CommentRecord, DocumentRecord, SourceRecord
    from kb.store import store_source

    for n, payload in enumerate(XSS):
        url = URLS[n % len(URLS)] + (f"#{n}" if n >= len(URLS) else "")  # documents are keyed by URL
        document = DocumentRecord(
            title=payload, body=f"{CX_LINES[n % 5]}\n\n{payload} says {XSS[-n - 1]}",
            url=url, site=XSS[(n + 3) % len(XSS)], author=XSS[(n + 9) % len(XSS)],
            published=f"2021-{(n % 12) + 1:02d}-01", published_text=payload,
            comments=[CommentRecord(text=f"{CX_LINES[(n + 1) % 5]} {XSS[(n + 13) % len(XSS)]}",
                                    author=XSS[(n + 17) % len(XSS)], author_url=url,
                                    author_handle=payload, posted_at_text=payload,
                                    permalink=url)])
        source = SourceRecord(locator=f"stdin:hostile-{n:03d}", kind="stdin",
                              content_hash=f"{n:064d}", parser="test", url=url,
                              encoding=payload[:40])
        store_source(db, source, [document])


def use_the_ui(path: Path) -> None:
    """Hostile text through the forms: an upload named by a payload, a label note, a topic
    name; and a failed job whose error quotes a payload."""
    import io

    from kb.db import open_db
    from kb.jobs import enqueue, fail
    from kb.web import create_app

    app = create_app({"DATABASE": str(path), "TESTING": True, "SECRET_KEY": "hostile",
                      "UPLOAD_DIR": str(path.parent / "uploads")})
    client = app.test_client()
    page = client.get("/sources/new").get_data(True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    upload = render_post(_page_post(0), "https://upload.example").encode()
    answer = client.post("/sources", data={
        "csrf_token": token, "url": "https://example.com/<script>alert(301)</script>",
        "file": (io.BytesIO(upload), XSS[0] + ".html")}, content_type="multipart/form-data")
    assert answer.status_code == 303, answer.get_data(True)
    db = open_db(path)
    try:
        statement = db.execute("SELECT target_id FROM labels WHERE target_type = 'statement'"
                               " AND method = 'model' ORDER BY confidence LIMIT 1").fetchone()[0]
        debate = db.execute("SELECT name FROM debates ORDER BY name LIMIT 1").fetchone()[0]
        label = db.execute("SELECT labels FROM debates WHERE name = ?", [debate]).fetchone()[0]
        topic = db.execute("SELECT id FROM topics WHERE id >= 0 ORDER BY id LIMIT 1").fetchone()
        job = enqueue(db, "ingest", {"source": XSS[16], "name": XSS[40]}, requested_by=XSS[3])
        fail(db, job.id, f"https://evil.example/: {XSS[76]} {XSS[84]}")
    finally:
        db.close()
    import json

    first = json.loads(label)[0]["name"]
    answer = client.post("/label", data={"csrf_token": token, "target": f"statement:{statement}",
                                         "debate": debate, "label": first, "note": XSS[5]})
    assert answer.status_code == 303, answer.get_data(True)
    if topic is not None:
        answer = client.post(f"/topics/{topic[0]}/rename",
                             data={"csrf_token": token, "label": XSS[37]})
        assert answer.status_code in (302, 303), answer.get_data(True)


def hashing_embedder():
    """A quick stand-in for the sentence embedder: hashed word counts, unit length."""
    from bertopic.backend import BaseEmbedder
    from sklearn.feature_extraction.text import HashingVectorizer

    class HashingEmbedder(BaseEmbedder):
        def encode(self, texts, **_options):
            vectors = HashingVectorizer(n_features=384, alternate_sign=False).transform(texts)
            return vectors.toarray().astype("float32")

        def embed(self, documents, verbose=False):
            return self.encode(documents)

    return HashingEmbedder()


def fit_small_topics(db) -> None:
    """The real topic fit and store, with quick stages (PCA and k-means, as test_topics)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    from nlp.topics import fit_topics

    fit_topics(db, embedder=hashing_embedder(), reducer=PCA(n_components=5, random_state=0),
               clusterer=KMeans(n_clusters=6, n_init=4, random_state=0))


def store_crawl(db) -> None:
    """A crawl whose name, topic, seeds, URLs, anchors and reasons are payloads (what a
    hostile site's links and a page's text put in the frontier)."""
    from ingest.urls import canonical_url, site_of, url_shape
    from kb import frontier

    crawl, _ = frontier.open_crawl(db, "crawl " + XSS[0], topic=XSS[1],
                                   seeds=["https://evil.example/" + XSS[2]], options={})
    candidates = []
    for n, payload in enumerate(XSS + URLS):
        url = f"https://evil.example/{n}?q={payload}" if not payload.lower().startswith(
            ("javascript:", "data:", "vbscript:")) else f"https://evil.example/{n}"
        candidates.append(frontier.Candidate(
            key=canonical_url(url), url=url, site=site_of(url), shape=url_shape(url),
            kind="page", via="related", depth=1, priority=0.5, found_on=payload[:200],
            anchor=payload, link_score=0.4))
    frontier.add_candidates(db, crawl.id, candidates, 1)
    for n, c in enumerate(candidates[::2]):
        frontier.settle(db, crawl.id, c.key, "skipped", page_score=0.2,
                        reason=f"off topic: {(XSS + URLS)[n % len(XSS)]}")


def build_hostile_kb(folder: Path) -> HostileKB:
    from webhelpers import build_demo_db

    from kb.db import open_db
    from nlp.analyze import analyze

    path = folder / "hostile.db"
    build_demo_db(path)
    db = open_db(path)
    try:
        ingest_pages(db, folder / "pages")
        ingest_over_http(db)
        store_titles(db)
        store_crawl(db)
        analyze(db, debates=["outcome-function"], tier="fast", with_topics=False)
        fit_small_topics(db)
        documents = [r["id"] for r in db.query("SELECT id FROM documents ORDER BY id")]
    finally:
        db.close()
    use_the_ui(path)
    return HostileKB(path=path, documents=documents, payloads=len(XSS) + len(URLS))


def copy_db(source: Path, target: Path) -> Path:
    """A consistent copy of a knowledge base (the SQLite backup API), for tests that write."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    uploads = source.parent / "uploads"
    if uploads.is_dir() and not (target.parent / "uploads").exists():
        shutil.copytree(uploads, target.parent / "uploads")
    return target
