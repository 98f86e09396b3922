"""`cxkb ingest URL` end to end: a WordPress-style post served on 127.0.0.1 with comment
pages, REST comments and a comment feed; saved files with --url; exports; re-ingest;
the SSRF guard at the CLI; bad input in a batch."""

from __future__ import annotations

import gzip
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from clihelpers import export, run
from httpserver import LocalServer
from wpsite import (
    POST_PATH,
    Comment,
    Post,
    comment_feed,
    default_comments,
    render_post,
    rest_comments,
)

from kb.db import open_db

FIXTURES = Path(__file__).parent / "fixtures" / "platforms"


@pytest.fixture(autouse=True)
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXKB_FETCH_DELAY", "0")


def serve_blog(post: Post) -> LocalServer:
    """The blog: the post and its comment pages, REST comments, comment feed, robots.txt."""
    server = LocalServer()

    def base() -> str:
        return server.url("/").rstrip("/")

    def page(n: int):
        return lambda request: (200, {"Content-Type": "text/html; charset=UTF-8"},
                                render_post(post, base(), n))

    def rest(request):
        query = parse_qs(request.query)
        body, pages = rest_comments(post, base(), int(query.get("page", ["1"])[0]))
        return (200, {"Content-Type": "application/json; charset=UTF-8",
                      "X-WP-TotalPages": str(pages)}, body)

    server.routes.update({
        POST_PATH: page(1),
        **{f"{POST_PATH}comment-page-{n}/": page(n) for n in range(1, 6)},
        "/wp-json/wp/v2/comments": rest,
        f"{POST_PATH}feed/": lambda r: (200, {"Content-Type": "application/rss+xml"},
                                        comment_feed(post, base())),
        "/robots.txt": (200, {"Content-Type": "text/plain"},
                        "User-agent: *\nDisallow: /wp-admin/\n"),
    })
    return server.start()


def by_author(rows: list[dict]) -> dict[str, dict]:
    return {row["author"]: row for row in rows}


def test_a_post_url_gives_the_article_and_its_full_nested_thread(tmp_path: Path) -> None:
    post = Post(comments=default_comments(), per_page=2, hidden={103})
    db = tmp_path / "kb.db"
    with serve_blog(post) as server:
        url = server.url(POST_PATH)
        result = run(db, "ingest", url, "--allow-private")
        # three comment pages, and the REST data holds a comment the pages do not show
        assert server.hits[f"{POST_PATH}comment-page-2/"] == 1
        assert server.hits[f"{POST_PATH}comment-page-3/"] == 1
        assert server.hits["/wp-json/wp/v2/comments"] == 2  # two pages of five
    assert "1 source(s): documents 1 added" in result.stderr
    assert "REST comments: 8 read, 1 not on the page" in result.stderr
    (document,) = export(db, "documents")
    assert document["title"] == post.title
    assert document["author"] == "Dana Whitfield" and document["site"] == "The CX Ledger"
    assert document["published"] == "2019-03-04T08:30:00"
    assert document["url"] == url
    assert document["body"].startswith("Every quarter someone asks me who owns")
    for comment in post.comments:  # no comment leaks into the article
        assert comment.text[:40] not in document["body"]
    assert "Recent Comments" not in document["body"] and "Leave a Reply" not in document["body"]
    comments = export(db, "comments")
    assert len(comments) == 8
    people = by_author(comments)
    ids = {row["id"]: row for row in comments}
    assert ids[people["Priya Natarajan"]["parent_id"]]["author"] == "Dana Whitfield"
    assert ids[people["Dana Whitfield"]["parent_id"]]["author"] == "Ray Brown"
    assert ids[people["Kancha"]["parent_id"]]["author"] == "Walter Adamson"
    assert people["Priya Natarajan"]["depth"] == 2
    assert people["Ray Brown"]["author_url"] == "http://raybrown.example.net/"
    assert people["Ray Brown"]["posted_at"] == "2019-03-04T09:12:00"
    assert people["Ray Brown"]["posted_at_text"] == "March 4, 2019 at 9:12 am"
    assert people["Ray Brown"]["external_id"] == "101"
    assert people["CX Weekly"]["kind"] == "pingback"
    # a reply the pages do not show, placed under its parent from the REST data
    assert people["Priya Natarajan"]["external_id"] == "103"
    # the raw responses are kept: extraction can run again without the network
    with open_db(db) as kb:
        kept = {row["url"] for row in kb["fetched"].rows}
    assert url in kept and len(kept) >= 5


def test_reingest_updates_edits_adds_new_marks_vanished_and_never_duplicates(
        tmp_path: Path) -> None:
    post = Post(comments=default_comments())
    db = tmp_path / "kb.db"
    with serve_blog(post) as server:
        url = server.url(POST_PATH)
        run(db, "ingest", url, "--allow-private")
        first = by_author(export(db, "comments"))
        walter = next(c for c in post.comments if c.author == "Walter Adamson")
        walter.text += " (Edited: and a budget.)"
        post.comments = [c for c in post.comments if c.author != "Tim Sanchez"]
        post.comments.append(Comment(109, "Nadia Okafor", "Replying to Ray: the outcome "
                                     "needs an owner too.", "2019-03-08T10:00:00", parent=101))
        result = run(db, "ingest", url, "--allow-private")
        again = run(db, "ingest", url, "--allow-private")
    assert ("comments 1 added, 1 updated, 6 unchanged, 1 no longer on their page"
            in result.stderr)
    assert "comments 0 added, 0 updated, 8 unchanged" in again.stderr
    rows = export(db, "comments")
    assert len(rows) == 9
    now = by_author(rows)
    assert now["Walter Adamson"]["id"] == first["Walter Adamson"]["id"]
    assert now["Walter Adamson"]["text"].endswith("(Edited: and a budget.)")
    assert now["Tim Sanchez"]["missing_since"] is not None  # kept, marked
    assert now["Nadia Okafor"]["parent_id"] == first["Ray Brown"]["id"]


def test_private_addresses_are_refused_unless_allowed(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    with serve_blog(Post(comments=default_comments())) as server:
        result = run(db, "ingest", server.url(POST_PATH), ok=False)
        assert sum(server.hits.values()) == 0
    assert result.exit_code == 1
    assert "127.0.0.1" in result.stderr and "--allow-private" in result.stderr
    file_url = run(db, "ingest", "file:///etc/passwd", ok=False)
    assert "only http and https" in file_url.stderr


def test_a_saved_page_with_its_address_and_the_offline_reread(tmp_path: Path) -> None:
    post = Post(comments=default_comments())
    saved = tmp_path / "saved post.html"
    saved.write_text(render_post(post, "https://cxledger.example.com"), encoding="utf-8")
    db = tmp_path / "kb.db"
    run(db, "ingest", str(saved), "--url", "https://cxledger.example.com" + POST_PATH)
    (document,) = export(db, "documents")
    assert document["url"] == "https://cxledger.example.com" + POST_PATH
    assert len(export(db, "comments")) == 8
    # a URL ingested once can be read again from the kept response with no server at all
    db2 = tmp_path / "kb2.db"
    with serve_blog(post) as server:
        url = server.url(POST_PATH)
        run(db2, "ingest", url, "--allow-private")
    offline = run(db2, "ingest", url, "--offline")
    assert "comments 0 added, 0 updated, 8 unchanged" in offline.stderr


def test_platform_exports_and_feeds_in_one_batch(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    result = run(db, "ingest", str(FIXTURES / "export.wxr.xml"),
                 str(FIXTURES / "disqus-export.xml"), str(FIXTURES / "post-comments-feed.rss"),
                 str(FIXTURES / "blog-feed.rss"))
    sources = export(db, "sources")
    assert {s["parser"] for s in sources} == {"wxr-1", "disqus-1", "feed-1"}
    assert all(s["status"] == "ok" for s in sources)
    documents = export(db, "documents")
    comments = export(db, "comments")
    # 4 WXR posts and pages, 2 Disqus threads, and the feed's 2 posts the export lacks;
    # the comment feed and the feed's 3 known posts add to the WXR's documents
    assert len(documents) == 8
    assert any(c["parent_id"] for c in comments)  # exports keep reply structure
    assert not any(c["missing_since"] for c in comments)  # a feed never hides a thread
    wxr_source = next(s["id"] for s in sources if s["parser"] == "wxr-1")
    assert sum(d["source_id"] == wxr_source for d in documents) == 4
    assert {"pingback", "trackback"} <= {c["kind"] for c in comments}
    assert "[1/4]" in result.stderr and "[4/4]" in result.stderr


def test_a_rest_dump_needs_and_takes_its_post_address(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    dump = FIXTURES / "wp-comments-page1.json"
    missing = run(db, "ingest", str(dump), ok=False)
    assert "--url" in missing.stderr
    run(db, "ingest", str(dump), "--url", "https://blog.example.com/2019/cx-owner/")
    rows = export(db, "comments")
    assert len(rows) == 10 and any(r["parent_id"] for r in rows)


def test_bad_sources_fail_alone_and_say_why(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    good = render_post(Post(comments=default_comments()), "https://cxledger.example.com")
    (folder / "a-good.html").write_text(good, encoding="utf-8")
    (folder / "b-truncated.html").write_text(good[: len(good) // 3], encoding="utf-8")
    (folder / "c-nul.html").write_bytes(b"\x00" * 5000 + b"<html><body><p>x</p></body></html>")
    (folder / "d-not-a-feed.rss").write_text("<html><body><h1>502 Bad Gateway</h1>", "utf-8")
    (folder / "e-empty.html").write_bytes(b"")
    (folder / "f-latin1.html").write_bytes(
        good.replace('charset="UTF-8"', 'charset="UTF-8"').replace(
            "Every quarter", "Café owners’ view: every quarter").encode("cp1252"))
    (folder / "g-gzip.html").write_bytes(gzip.compress(b"<html>" * 100))
    with open(folder / "h-huge.html", "wb") as huge:  # 50 MB, over the 20 MiB default
        huge.truncate(50_000_000)
    (folder / "i-truncated.wxr.xml").write_bytes((FIXTURES / "truncated.wxr.xml").read_bytes())
    (folder / "j-disqus-broken-refs.xml").write_bytes(
        (FIXTURES / "disqus-export.xml").read_bytes())
    db = tmp_path / "kb.db"
    result = run(db, "ingest", str(folder), ok=False)
    assert result.exit_code == 1
    sources = {Path(s["locator"]).name: s for s in export(db, "sources")}
    assert sources["a-good.html"]["status"] == "ok"
    assert sources["b-truncated.html"]["status"] == "ok"  # what is there is kept
    assert sources["f-latin1.html"]["status"] == "ok"
    assert "NUL" in sources["c-nul.html"]["error"]
    assert sources["d-not-a-feed.rss"]["status"] == "ok" or "feed" in (
        sources["d-not-a-feed.rss"]["error"] or "")
    assert "empty" in sources["e-empty.html"]["error"]
    assert "gzip" in sources["g-gzip.html"]["error"]
    assert "50,000,000 bytes" in sources["h-huge.html"]["error"]
    assert "cut short" in sources["i-truncated.wxr.xml"]["error"]
    # an export with broken references is stored, and says what it could not place
    assert sources["j-disqus-broken-refs.xml"]["status"] == "ok"
    assert "thread 5559999 not in export" in result.stderr  # its orphan post, named
    documents = {d["source_id"]: d for d in export(db, "documents")}
    latin = documents[sources["f-latin1.html"]["id"]]
    assert "Café owners’ view" in latin["body"]


def test_dead_links_and_robots_rules_are_reported_and_the_batch_goes_on(tmp_path: Path) -> None:
    post = Post(comments=default_comments())
    db = tmp_path / "kb.db"
    with serve_blog(post) as server:
        server.routes["/robots.txt"] = (200, {}, "User-agent: *\nDisallow: /private/\n")
        result = run(db, "ingest", server.url("/gone/"), server.url("/private/x/"),
                     server.url(POST_PATH), "--allow-private", ok=False)
    assert "404" in result.stderr and "robots.txt" in result.stderr
    assert "3 source(s): documents 1 added" in result.stderr and "2 failed" in result.stderr
    failed = [s for s in export(db, "sources") if s["status"] == "failed"]
    assert len(failed) == 2


def test_the_urls_file_and_format_override(tmp_path: Path) -> None:
    post = Post(comments=default_comments())
    db = tmp_path / "kb.db"
    with serve_blog(post) as server:
        listing = tmp_path / "urls.txt"
        listing.write_text(f"# the post's comment feed only\n\n{server.url(POST_PATH)}feed/\n")
        run(db, "ingest", "--urls", str(listing), "--format", "feed", "--allow-private")
    (document,) = export(db, "documents")
    assert document["title"] == post.title and document["extra"]["body_missing"]
    assert len(export(db, "comments")) == 7  # the feed carries no pingbacks


def test_without_rest_comments_the_posts_comment_feed_fills_in(tmp_path: Path) -> None:
    post = Post(comments=default_comments(), hidden={108})
    db = tmp_path / "kb.db"
    with serve_blog(post) as server:
        server.routes["/wp-json/wp/v2/comments"] = (404, {}, b'{"code":"rest_no_route"}')
        result = run(db, "ingest", server.url(POST_PATH), "--allow-private")
        assert server.hits[f"{POST_PATH}feed/"] == 1
    assert "comment feed: 7 read, 1 not on the page" in result.stderr
    eric = by_author(export(db, "comments"))["Eric Jacques"]
    assert eric["external_id"] == "108" and eric["parent_id"] is None
