"""Shared builders for the web, browser and wheel tests: real SQLite files, a real server.

Kept apart from ``conftest.py`` on purpose: the web suites define everything they need
here and import it explicitly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Debian's Chromium, driven by Playwright (never `playwright install`)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

BLOG_TITLE = "Who’s Leading Customer Experience Efforts?"
MAGAZINE_TITLE = "Who's Responsible for the Customer Experience?"

# The blog post's nine comments in reading order (None: the unsigned one).
BLOG_AUTHORS = [
    "Ray Brown", "Walter Adamson", "Eric Jacques", "Eric Jacques", "Tim Sanchez",
    "Kancha", None, "Eric Jacques", "Kancha",
]

# Markup that would run script if a page ever printed scraped text unescaped.
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
)
HOSTILE_TITLE = "Hostile " + PAYLOADS[0] + " title " + PAYLOADS[1]
HOSTILE_AUTHOR = "Mallory " + PAYLOADS[2]
HOSTILE_WORD = "zanzibarian"  # a word only the hostile document contains, to search for


@dataclass
class DemoIds:
    blog: str
    magazine: str
    hostile: str | None = None


def build_demo_db(path: Path) -> DemoIds:
    """Ingest the bundled demo corpus into a new SQLite file at ``path``."""
    from ingest.demo_corpus import demo_paths
    from ingest.pipeline import ingest
    from kb.db import open_db

    db = open_db(path)
    try:
        report = ingest(db, [str(p) for p in demo_paths()])
        assert not report.failures, report.summary()
        ids = {row["title"]: row["id"] for row in db.query("SELECT id, title FROM documents")}
    finally:
        db.close()
    return DemoIds(blog=ids[BLOG_TITLE], magazine=ids[MAGAZINE_TITLE])


def add_hostile_document(path: Path) -> str:
    """Store a document whose title, author, body and comments are all script payloads."""
    from kb.db import open_db
    from kb.records import CommentRecord, DocumentRecord, SourceRecord
    from kb.store import store_source

    everything = " ".join(PAYLOADS)
    document = DocumentRecord(
        title=HOSTILE_TITLE,
        author=HOSTILE_AUTHOR,
        author_role=PAYLOADS[1],
        published="2024-01-02",
        published_text=PAYLOADS[2],
        site=PAYLOADS[0],
        body=f"A {HOSTILE_WORD} body. {everything}\n\nSecond paragraph {PAYLOADS[1]}",
        extra={"subtitle": PAYLOADS[0], "author_bio": PAYLOADS[2]},
        comments=[
            CommentRecord(text=f"{HOSTILE_WORD} first {everything}", author=PAYLOADS[0],
                          posted_at_text=PAYLOADS[1]),
            CommentRecord(text=f"{HOSTILE_WORD} reply {PAYLOADS[2]}", author=PAYLOADS[1],
                          parent=0),
            CommentRecord(text=f"{HOSTILE_WORD} unsigned {PAYLOADS[1]}", author=None),
            CommentRecord(text=f"{HOSTILE_WORD} pingback {PAYLOADS[0]}", author=PAYLOADS[2],
                          kind="pingback"),
        ],
    )
    source = SourceRecord(locator="stdin:hostile-test", kind="stdin",
                          content_hash="0" * 64, parser="test")
    db = open_db(path)
    try:
        store_source(db, source, [document])
        (row,) = list(db.query("SELECT id FROM documents WHERE title = ?", [HOSTILE_TITLE]))
    finally:
        db.close()
    return row["id"]


def make_app(db_path: Path):
    from kb.web import create_app

    return create_app({"DATABASE": str(db_path), "TESTING": True, "SECRET_KEY": "test-key"})


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium under Playwright, headless, with the flags this machine needs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def running_server(app) -> Iterator[str]:
    """Serve ``app`` with waitress on 127.0.0.1 on a free port; yields the base URL."""
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # let the request threads finish first: closing under them makes one write to the
        # closed wake-up pipe ("Bad file descriptor" logged from a thread)
        server.task_dispatcher.shutdown()
        server.close()
        thread.join(timeout=5)
