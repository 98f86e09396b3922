"""The web UI through Flask's test client, over a real SQLite file built from the demo corpus."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import ClassVar

import pytest
from webhelpers import (
    BLOG_AUTHORS,
    BLOG_TITLE,
    HOSTILE_AUTHOR,
    HOSTILE_TITLE,
    HOSTILE_WORD,
    MAGAZINE_TITLE,
    PAYLOADS,
    add_hostile_document,
    build_demo_db,
    make_app,
)

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")
BAD_QUERIES = ["outcome AND (", '"', "foo:bar", "NEAR("]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def kb_file(tmp_path_factory):
    """One demo knowledge base (plus the hostile document) shared by the read-only tests."""
    path = tmp_path_factory.mktemp("web") / "kb.db"
    ids = build_demo_db(path)
    ids.hostile = add_hostile_document(path)
    return path, ids


@pytest.fixture(scope="module")
def ids(kb_file):
    return kb_file[1]


@pytest.fixture(scope="module")
def app(kb_file):
    app = make_app(kb_file[0])
    # A tiny POST route to exercise the CSRF/Origin checks (there is no real POST route yet).
    app.add_url_rule("/_echo", "echo", lambda: "ok", methods=["POST"])
    return app


@pytest.fixture
def client(app):
    return app.test_client()


# --------------------------------------------------------------------------- HTML helpers


class _Page(HTMLParser):
    """A minimal DOM: every element with its tag, attributes, text and parent."""

    VOID: ClassVar[set[str]] = {"area", "base", "br", "col", "embed", "hr", "img", "input",
                                "link", "meta", "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = {"tag": "#root", "attrs": {}, "children": [], "text": [], "parent": None}
        self.elements = []
        self._stack = [self.root]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "children": [], "text": [],
              "parent": self._stack[-1]}
        self._stack[-1]["children"].append(el)
        self.elements.append(el)
        if tag not in self.VOID:
            self._stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self._stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, 0, -1):
            if self._stack[i]["tag"] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data):
        self._stack[-1]["children"].append(data)

    # queries
    @staticmethod
    def text(el) -> str:
        out = []
        for child in el["children"]:
            out.append(child if isinstance(child, str) else _Page.text(child))
        return "".join(out)

    @staticmethod
    def classes(el) -> set[str]:
        return set((el["attrs"].get("class") or "").split())

    def find_all(self, tag=None, cls=None, within=None):
        pool = self.elements if within is None else list(_descendants(within))
        return [e for e in pool if (tag is None or e["tag"] == tag)
                and (cls is None or cls in self.classes(e))]

    def by_id(self, element_id):
        found = [e for e in self.elements if e["attrs"].get("id") == element_id]
        assert len(found) == 1, f"expected one element with id {element_id!r}, got {len(found)}"
        return found[0]


def _descendants(el):
    for child in el["children"]:
        if not isinstance(child, str):
            yield child
            yield from _descendants(child)


def _children(el, tag=None, cls=None):
    return [c for c in el["children"] if not isinstance(c, str)
            and (tag is None or c["tag"] == tag)
            and (cls is None or cls in _Page.classes(c))]


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _comment_author(li) -> str:
    (head,) = _children(li, "div", "comment-head")
    (author,) = [e for e in _descendants(head) if "author" in _Page.classes(e)]
    return _squash(_Page.text(author))


def _page(response) -> _Page:
    return _Page(response.get_data(as_text=True))


# --------------------------------------------------------------------------- list


def test_list_page_shows_both_demo_documents_with_comment_counts(client, ids):
    for url in ("/", "/documents/"):
        response = client.get(url)
        assert response.status_code == 200
        page = _page(response)
        rows = {}
        for tr in page.find_all("tr"):
            cells = _children(tr, "td")
            if cells:
                links = page.find_all("a", within=cells[0])
                rows[_squash(_Page.text(links[0]))] = (links[0]["attrs"]["href"], cells)
        assert BLOG_TITLE in rows and MAGAZINE_TITLE in rows
        blog_href, blog_cells = rows[BLOG_TITLE]
        magazine_href, magazine_cells = rows[MAGAZINE_TITLE]
        assert blog_href == f"/documents/{ids.blog}"
        assert magazine_href == f"/documents/{ids.magazine}"
        assert _squash(_Page.text(blog_cells[1])) == "Bruce Temkin"
        assert _squash(_Page.text(magazine_cells[1])) == "Coreen Bailor"
        assert _squash(_Page.text(blog_cells[3])) == "9"
        assert _squash(_Page.text(magazine_cells[3])) == "0"


def test_list_json_matches_the_page(client, ids):
    response = client.get("/documents.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    by_id = {d["id"]: d for d in data["rows"]}
    assert by_id[ids.blog]["title"] == BLOG_TITLE
    assert by_id[ids.blog]["author"] == "Bruce Temkin"
    assert by_id[ids.blog]["comment_count"] == 9
    assert by_id[ids.magazine]["title"] == MAGAZINE_TITLE
    assert by_id[ids.magazine]["comment_count"] == 0
    assert data["count"] == len(data["rows"]) == 3 and data["next"] is None  # two demo pages + the hostile one


# --------------------------------------------------------------------------- thread


def test_blog_thread_shows_nine_comments_in_order_with_authors(client, ids):
    response = client.get(f"/documents/{ids.blog}")
    assert response.status_code == 200
    page = _page(response)
    comments = page.find_all("li", "comment")
    assert [_comment_author(li) for li in comments] == [
        a or "Unknown author" for a in BLOG_AUTHORS]
    positions = [_squash(_Page.text(page.find_all(cls="position", within=li)[0]))
                 for li in comments]
    assert positions == [f"#{n}" for n in range(1, 10)]
    assert all(li["attrs"]["id"].startswith("comment-") for li in comments)
    heading = _squash(_Page.text(page.find_all("h2", within=page.by_id("comments"))[0]))
    assert heading.startswith("9 comments")


def test_reply_is_nested_under_its_parent_with_a_link_back(client, ids):
    page = _page(client.get(f"/documents/{ids.blog}"))
    tim = [li for li in page.find_all("li", "comment") if _comment_author(li) == "Tim Sanchez"]
    assert len(tim) == 1
    (replies,) = _children(tim[0], "ol", "replies")
    (kancha,) = _children(replies, "li", "comment")
    assert _comment_author(kancha) == "Kancha"
    assert "WHAT are the experiences your customers have" in _Page.text(kancha)
    (link,) = page.find_all("a", "reply-to", within=kancha)
    assert _squash(_Page.text(link)) == "in reply to Tim Sanchez"
    assert link["attrs"]["href"] == "#" + tim[0]["attrs"]["id"]
    # the other eight comments are top level
    top = _children(page.find_all("ol", "comments")[0], "li", "comment")
    assert len(top) == 8
    assert kancha not in top
    # only the reply carries an "in reply to" link
    assert len(page.find_all("a", "reply-to")) == 1


def test_unsigned_comment_shows_unknown_author(client, ids):
    page = _page(client.get(f"/documents/{ids.blog}"))
    unsigned = [li for li in page.find_all("li", "comment")
                if _comment_author(li) == "Unknown author"]
    assert len(unsigned) == 1
    assert "appropriate context CE could probably be justified" in _Page.text(unsigned[0])


def test_blog_thread_shows_the_article_body_without_site_furniture(client, ids):
    response = client.get(f"/documents/{ids.blog}")
    page = _page(response)
    (article,) = page.find_all("article", "document")
    assert _squash(_Page.text(page.find_all("h1", within=article)[0])) == BLOG_TITLE
    body = _squash(_Page.text(page.find_all("div", "body", within=article)[0]))
    assert "62% of our respondents" in body
    assert "Customer experience is a real “function”" in body
    assert "Bruce Temkin" in _Page.text(page.find_all(cls="byline", within=article)[0])
    text = response.get_data(as_text=True)
    assert "Leave a Reply" not in text
    assert "Fill in your details below" not in text
    assert "<title>" + BLOG_TITLE in text


def test_magazine_thread_says_no_comments(client, ids):
    response = client.get(f"/documents/{ids.magazine}")
    assert response.status_code == 200
    page = _page(response)
    assert page.find_all("li", "comment") == []
    section = page.by_id("comments")
    assert "No comments" in _Page.text(section)
    assert _squash(_Page.text(page.find_all("h2", within=section)[0])) == "0 comments"
    assert MAGAZINE_TITLE in _Page.text(page.find_all("h1")[0])


def test_thread_json_has_the_same_comments_as_the_page(client, ids):
    html = _page(client.get(f"/documents/{ids.blog}"))
    response = client.get(f"/documents/{ids.blog}.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["document"]["id"] == ids.blog
    assert data["document"]["title"] == BLOG_TITLE
    assert "62% of our respondents" in data["document"]["body"]
    comments = data["comments"]
    assert [c["author"] for c in comments] == BLOG_AUTHORS
    assert [c["position"] for c in comments] == list(range(1, 10))
    assert ["comment-" + c["id"] for c in comments] == [
        li["attrs"]["id"] for li in html.find_all("li", "comment")]
    by_id = {c["id"]: c for c in comments}
    (kancha_reply,) = [c for c in comments if c["parent_id"]]
    assert kancha_reply["author"] == "Kancha"
    assert by_id[kancha_reply["parent_id"]]["author"] == "Tim Sanchez"
    assert kancha_reply["depth"] == 1

    magazine = client.get(f"/documents/{ids.magazine}.json").get_json()
    assert magazine["document"]["title"] == MAGAZINE_TITLE
    assert magazine["comments"] == []


@pytest.mark.parametrize("url", ["/documents/no-such-id", "/documents/no-such-id.json",
                                 "/no/such/page"])
def test_unknown_document_is_404(client, url):
    response = client.get(url)
    assert response.status_code == 404


def test_404_page_escapes_the_requested_id(client):
    response = client.get("/documents/<img src=x onerror=alert(1)>")
    assert response.status_code == 404
    assert "<img" not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- search


def test_search_finds_outcome_in_comments_with_highlights_and_counts(client, ids):
    response = client.get("/search/", query_string={"q": "outcome", "kind": "comment"})
    assert response.status_code == 200
    page = _page(response)
    hits = page.find_all("li", "hit")
    assert hits, "no search results for 'outcome'"
    for hit in hits:
        assert "kind-comment" in _Page.classes(hit)
        marks = page.find_all("mark", within=hit)
        assert marks and all(_Page.text(m).lower().startswith("outcome") for m in marks)
        (link,) = page.find_all("a", within=page.find_all("div", "hit-head", within=hit)[0])
        assert link["attrs"]["href"].startswith(f"/documents/{ids.blog}#comment-")
        assert BLOG_TITLE in _Page.text(link)
    facets = _squash(_Page.text(page.find_all("p", "facets")[0]))
    assert f"{len(hits)} comments" in facets
    assert facets.startswith(f"{len(hits)} matches")
    # an unsigned comment is among the hits and is labelled as such
    assert any("Unknown author on" in _Page.text(h) for h in hits)
    # the query stays in the search box
    assert page.find_all("input", within=page.find_all("form", "search")[0])[0][
        "attrs"]["value"] == "outcome"


def test_search_over_all_kinds_counts_each_kind(client):
    page = _page(client.get("/search/", query_string={"q": "outcome"}))
    facets = [_squash(_Page.text(f)) for f in page.find_all("span", "facet")]
    assert len(facets) == 3
    assert any(f.endswith("comments") and not f.startswith("0") for f in facets)
    assert any(f.endswith("statements") for f in facets)


def test_search_json_returns_the_same_hits(client):
    html = _page(client.get("/search/", query_string={"q": "outcome", "kind": "comment"}))
    response = client.get("/search.json", query_string={"q": "outcome", "kind": "comment"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["query"] == "outcome"
    assert data["counts"]["comment"] == len(data["rows"]) == len(html.find_all("li", "hit"))
    assert all(h["kind"] == "comment" for h in data["rows"])
    assert all("outcome" in h["snippet"].lower() for h in data["rows"])
    assert all("\x02" not in h["snippet"] and "\x03" not in h["snippet"] for h in data["rows"])
    hrefs = [page_link["attrs"]["href"] for page_link in html.find_all("a")
             if "#comment-" in page_link["attrs"].get("href", "")]
    assert [h.split("#comment-")[1] for h in hrefs] == [h["id"] for h in data["rows"]]


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_bad_query_gets_a_400_page_with_a_helpful_message(client, query):
    response = client.get("/search/", query_string={"q": query})
    assert response.status_code == 400
    page = _page(response)
    errors = page.find_all("div", "error")
    assert len(errors) == 1
    message = _squash(_Page.text(errors[0]))
    assert query.strip() in message  # says which query failed
    assert "FTS5 syntax" in message and "exact phrases" in message  # and how to write one
    # the page is still a usable search page with the query kept in the box
    assert page.find_all("form", "search")
    assert page.find_all("input", within=page.find_all("form", "search")[0])[0][
        "attrs"]["value"] == query


def test_bad_query_offers_results_for_the_words(client):
    page = _page(client.get("/search/", query_string={"q": "outcome AND ("}))
    assert "Results for the words alone" in _Page.text(page.root)
    assert page.find_all("li", "hit")
    assert any(_Page.text(m).lower() == "outcome" for m in page.find_all("mark"))


@pytest.mark.parametrize("query", BAD_QUERIES + ["*", ")", "NOT", "a OR", "x NEAR/ y", "-"])
def test_bad_query_never_500(client, query):
    for url in ("/search/", "/search.json"):
        response = client.get(url, query_string={"q": query})
        assert response.status_code == 400, (url, query, response.status_code)
    data = client.get("/search.json", query_string={"q": query}).get_json()
    assert "FTS5 syntax" in data["error"]


@pytest.mark.parametrize("args", [{}, {"q": ""}, {"q": "   "}])
def test_empty_query_shows_the_form(client, args):
    response = client.get("/search/", query_string=args)
    assert response.status_code == 200
    page = _page(response)
    assert page.find_all("form", "search")
    assert page.find_all("li", "hit") == []
    assert page.find_all("div", "error") == []


@pytest.mark.parametrize("args", [{"q": "outcome", "page": "abc"}, {"q": "outcome", "page": "-3"},
                                  {"q": "outcome", "kind": "bogus"}])
def test_odd_search_parameters_are_tolerated(client, args):
    assert client.get("/search/", query_string=args).status_code == 200
    assert client.get("/search.json", query_string=args).status_code == 200


# --------------------------------------------------------------------------- security


@pytest.mark.parametrize("url_for", [
    lambda ids: "/",
    lambda ids: "/documents/",
    lambda ids: "/documents.json",
    lambda ids: f"/documents/{ids.blog}",
    lambda ids: f"/documents/{ids.blog}.json",
    lambda ids: "/search/?q=outcome",
    lambda ids: "/search/?q=outcome+AND+(",
    lambda ids: "/search.json?q=outcome",
    lambda ids: "/documents/no-such-id",
    lambda ids: "/static/cxkb.css",
], ids=["home", "list", "list-json", "thread", "thread-json", "search", "search-400",
        "search-json", "404", "static"])
def test_security_headers_on_every_route(client, ids, url_for):
    response = client.get(url_for(ids))
    assert response.status_code in (200, 400, 404)
    for header in SECURITY_HEADERS:
        assert header in response.headers, f"{header} missing on {url_for(ids)}"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")


def test_static_css_is_served(client):
    response = client.get("/static/cxkb.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert response.get_data()


def test_post_without_csrf_token_is_403(client):
    response = client.post("/_echo", data={"x": "1"})
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)
    for header in SECURITY_HEADERS:
        assert header in response.headers


def test_post_with_wrong_csrf_token_is_403(client):
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    assert client.post("/_echo", data={"csrf_token": "wrong"}).status_code == 403
    assert client.post("/_echo", data={"csrf_token": ""}).status_code == 403


def test_post_with_a_token_but_no_session_token_is_403(client):
    assert client.post("/_echo", data={"csrf_token": "t"}).status_code == 403


def test_post_with_foreign_origin_is_403_even_with_the_token(client):
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post("/_echo", data={"csrf_token": "t"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    response = client.post("/_echo", data={"csrf_token": "t"},
                           headers={"Referer": "https://evil.example/page"})
    assert response.status_code == 403


def test_post_with_the_sessions_token_is_accepted(client):
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post("/_echo", data={"csrf_token": "t"})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    # same origin is fine too, and the token may come as a header
    response = client.post("/_echo", headers={"Origin": "http://localhost",
                                              "X-CSRF-Token": "t"})
    assert response.status_code == 200


def test_get_needs_no_token(client, ids):
    assert client.get(f"/documents/{ids.blog}").status_code == 200
    assert client.get("/_echo").status_code == 405


# --------------------------------------------------------------------------- hostile text


class _TagCollector(HTMLParser):
    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _assert_inert(html: str, where: str) -> None:
    for payload in PAYLOADS:
        assert payload not in html, f"unescaped {payload!r} on {where}"
    for tag, attrs in _TagCollector(html).tags:
        assert tag not in ("script", "svg", "img", "iframe", "object"), (where, tag, attrs)
        events = [name for name in attrs if name.startswith("on")]
        assert not events, (where, tag, attrs)


def test_hostile_text_is_escaped_in_list_thread_and_search(client, ids):
    pages = {
        "list": client.get("/"),
        "thread": client.get(f"/documents/{ids.hostile}"),
        "search": client.get("/search/", query_string={"q": HOSTILE_WORD}),
        "comment search": client.get("/search/", query_string={"q": HOSTILE_WORD,
                                                                 "kind": "comment"}),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        _assert_inert(response.get_data(as_text=True), where)

    # escaped, not dropped: the reader still sees the text as written
    thread = _page(pages["thread"])
    assert _squash(_Page.text(thread.find_all("h1")[0])) == _squash(HOSTILE_TITLE)
    authors = [_comment_author(li) for li in thread.find_all("li", "comment")]
    assert authors == [PAYLOADS[0], PAYLOADS[1], "Unknown author", PAYLOADS[2]]
    (reply_link,) = thread.find_all("a", "reply-to")
    assert _squash(_Page.text(reply_link)) == "in reply to " + PAYLOADS[0]
    assert PAYLOADS[2] in _Page.text(thread.find_all(cls="byline")[0])
    list_page = _page(pages["list"])
    assert any(_squash(_Page.text(a)) == _squash(HOSTILE_TITLE) for a in list_page.find_all("a"))
    search = _page(pages["search"])
    assert len(search.find_all("li", "hit")) == 5  # the document and its four comments
    assert any(PAYLOADS[0] in _Page.text(hit) for hit in search.find_all("li", "hit"))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_query_is_escaped_when_echoed(client, payload):
    for args in ({"q": payload}, {"q": "outcome " + payload}, {"q": payload, "kind": "comment"}):
        response = client.get("/search/", query_string=args)
        assert response.status_code in (200, 400)
        _assert_inert(response.get_data(as_text=True), f"search for {args}")


def test_hostile_text_in_json_is_json(client, ids):
    for url in ("/documents.json", f"/documents/{ids.hostile}.json",
                f"/search.json?q={HOSTILE_WORD}", "/search.json?q=%3Cscript%3E"):
        response = client.get(url)
        assert response.mimetype == "application/json", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = client.get(f"/documents/{ids.hostile}.json").get_json()
    # stored and returned verbatim: escaping is the HTML templates' job
    assert data["document"]["title"] == HOSTILE_TITLE
    assert data["document"]["author"] == HOSTILE_AUTHOR
    assert [c["author"] for c in data["comments"]] == [PAYLOADS[0], PAYLOADS[1], None,
                                                        PAYLOADS[2]]


def test_javascript_url_is_not_rendered_as_a_link(tmp_path):
    """A scraped ``javascript:`` URL must not become a clickable href on the thread page."""
    from kb.db import open_db
    from kb.records import DocumentRecord, SourceRecord
    from kb.store import store_source

    path = tmp_path / "kb.db"
    db = open_db(path)
    store_source(db, SourceRecord(locator="stdin:js-url", kind="stdin", content_hash="1" * 64),
                 [DocumentRecord(title="Linked", body="Body.",
                                 url="javascript:alert(document.domain)")])
    (row,) = list(db.query("SELECT id FROM documents"))
    db.close()
    client = make_app(path).test_client()
    response = client.get(f"/documents/{row['id']}")
    assert response.status_code == 200
    hrefs = [attrs.get("href", "") for tag, attrs in _TagCollector(
        response.get_data(as_text=True)).tags if tag == "a"]
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], hrefs
