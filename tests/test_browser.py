"""The web UI in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright),
served by waitress on 127.0.0.1 from a real SQLite file: demo corpus plus hostile text."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect
from webhelpers import (
    BLOG_TITLE,
    CHROMIUM,
    HOSTILE_TITLE,
    HOSTILE_WORD,
    MAGAZINE_TITLE,
    PAYLOADS,
    add_hostile_document,
    build_demo_db,
    chromium,
    make_app,
    running_server,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium)"),
]

# Runs before any page script: records alert/confirm/prompt/print and fetch calls and
# hands them to Python, so nothing is lost when the page navigates.
HOOKS = """
(() => {
  const report = (what, detail) => {
    try { window.cxkbReport(what, String(detail), location.href); } catch (e) {}
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (message) { report(name, message); return null; };
  }
  const realFetch = window.fetch;
  window.fetch = function (resource, init) {
    report("fetch", resource && resource.url ? resource.url : resource);
    return realFetch.apply(this, arguments);
  };
})();
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app under waitress on a free port; yields (base URL, document ids)."""
    from kb.db import open_db
    from kb.records import DocumentRecord, SourceRecord
    from kb.store import store_source

    path = tmp_path_factory.mktemp("browser") / "kb.db"
    ids = build_demo_db(path)
    ids.hostile = add_hostile_document(path)
    db = open_db(path)
    store_source(db, SourceRecord(locator="stdin:js-url", kind="stdin", content_hash="1" * 64),
                 [DocumentRecord(title="Linked elsewhere", body="A page whose URL is script.",
                                 url="javascript:alert('js-url')")])
    (row,) = list(db.query("SELECT id FROM documents WHERE title = 'Linked elsewhere'"))
    db.close()
    ids.js_url = row["id"]
    with running_server(make_app(path)) as base:
        yield base, ids


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


class Watch:
    """What a page did that a user would notice: dialogs, script calls, console, requests."""

    def __init__(self):
        self.calls: list[tuple[str, str, str]] = []  # (alert|confirm|...|fetch, detail, url)
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.requests: list[str] = []

    def popups(self):
        return [c for c in self.calls if c[0] != "fetch"] + [("dialog", d, "") for d in
                                                              self.dialogs]


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site[0], viewport={"width": 1280, "height": 900})
    watch = Watch()
    context.expose_function("cxkbReport",
                            lambda what, detail, url: watch.calls.append((what, detail, url)))
    context.add_init_script(HOOKS)
    page = context.new_page()
    page.set_default_timeout(10_000)

    def on_dialog(dialog):
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: watch.console.append(f"{msg.type}: {msg.text}"))
    page.on("request", lambda request: watch.requests.append(request.url))
    page.watch = watch
    yield page
    context.close()


def _csp_violations(watch: Watch) -> list[str]:
    return [m for m in watch.console if "Content Security Policy" in m]


# --------------------------------------------------------------------------- navigation


def test_click_from_list_to_blog_thread(page, site):
    base, ids = site
    page.goto("/")
    assert page.title() == "Documents · cxkb"
    rows = page.locator("table.documents tbody tr")
    titles = [t.strip() for t in rows.locator("td:first-child a").all_inner_texts()]
    assert BLOG_TITLE in titles and MAGAZINE_TITLE in titles
    blog_row = rows.filter(has=page.get_by_role("link", name=BLOG_TITLE, exact=True))
    assert blog_row.locator("td.num").inner_text().strip() == "9"
    magazine_row = rows.filter(has=page.get_by_role("link", name=MAGAZINE_TITLE, exact=True))
    assert magazine_row.locator("td.num").inner_text().strip() == "0"

    page.get_by_role("link", name=BLOG_TITLE, exact=True).click()
    page.wait_for_url(f"{base}/documents/{ids.blog}")
    assert page.locator("article.document h1").inner_text() == BLOG_TITLE
    assert page.locator("li.comment").count() == 9
    assert page.locator("section.thread h2").inner_text().startswith("9 comments")
    assert page.locator("li.comment .author.unknown").inner_text() == "Unknown author"
    assert page.get_by_text("Leave a Reply").count() == 0
    # the stylesheet loaded under the CSP: unsigned authors are in italics
    style = page.locator("li.comment .author.unknown").evaluate(
        "el => getComputedStyle(el).fontStyle")
    assert style == "italic"
    assert not _csp_violations(page.watch), page.watch.console


def test_nested_reply_sits_inside_its_parent(page, site, tmp_path):
    _base, ids = site
    page.goto(f"/documents/{ids.blog}")
    tim = page.locator("li.comment").filter(
        has=page.locator(":scope > .comment-head .author", has_text="Tim Sanchez"))
    assert tim.count() == 1
    tim_head = tim.locator(":scope > .comment-head")
    kancha = tim.locator(":scope > ol.replies > li.comment")
    assert kancha.count() == 1
    assert kancha.locator(":scope > .comment-head .author").inner_text() == "Kancha"
    assert kancha.is_visible()

    head_box = tim_head.bounding_box()
    tim_box = tim.bounding_box()
    kancha_box = kancha.bounding_box()
    assert kancha_box["x"] > head_box["x"], "the reply is not indented"
    assert kancha_box["y"] >= head_box["y"] + head_box["height"], "the reply is not below"
    # and it lies within its parent's box
    assert tim_box["x"] <= kancha_box["x"]
    assert kancha_box["x"] + kancha_box["width"] <= tim_box["x"] + tim_box["width"] + 1
    assert kancha_box["y"] + kancha_box["height"] <= tim_box["y"] + tim_box["height"] + 1
    # top-level comments are not indented
    top_boxes = [li.bounding_box() for li in page.locator("ol.comments > li.comment").all()]
    assert len(top_boxes) == 8
    assert len({round(b["x"]) for b in top_boxes}) == 1
    assert kancha_box["x"] > top_boxes[0]["x"]

    # "in reply to" takes the reader to the parent comment
    link = kancha.locator("a.reply-to")
    assert link.inner_text() == "in reply to Tim Sanchez"
    link.click()
    assert page.url.endswith("#" + tim.get_attribute("id"))

    shot = tmp_path / "thread.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_header_search_shows_highlighted_results(page, site):
    _base, ids = site
    page.goto(f"/documents/{ids.magazine}")
    assert page.get_by_text("No comments on this document.").is_visible()
    box = page.locator("header.site input[name=q]")
    box.fill("outcome")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=outcome$"))
    hits = page.locator("li.hit")
    assert hits.count() > 0
    marks = page.locator("li.hit mark")
    assert marks.count() >= hits.count()
    assert all(t.lower().startswith("outcome") for t in marks.all_inner_texts())
    assert marks.first.is_visible()
    # highlighted means visibly highlighted, with the stylesheet's colour
    background = marks.first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(255, 241, 168)"
    assert "comments" in page.locator("p.facets").inner_text()
    # the hit link opens the thread at that comment
    first = hits.first.locator(".hit-head a")
    href = first.get_attribute("href")
    first.click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    assert page.locator(f"li#{href.split('#')[1]}").is_visible()


def test_bad_query_shows_the_error_message(page, site):
    page.goto("/search/")
    box = page.locator("form.search input[name=q]")
    box.fill("outcome AND (")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=outcome\+AND\+%28"))
    error = page.get_by_role("alert")
    expect(error).to_be_visible()
    message = error.inner_text()
    assert "outcome AND (" in message and "FTS5 syntax" in message
    assert page.get_by_text("Results for the words alone").is_visible()
    assert page.locator("li.hit mark").count() > 0
    assert page.locator("form.search input[name=q]").input_value() == "outcome AND ("


# --------------------------------------------------------------------------- hostile content


def test_hostile_pages_run_no_script(page, site):
    base, ids = site
    urls = [
        "/",
        "/documents/",
        f"/documents/{ids.hostile}",
        f"/documents/{ids.hostile}.json",
        "/documents.json",
        f"/search/?q={HOSTILE_WORD}",
        f"/search/?q={HOSTILE_WORD}&kind=comment",
        f"/search.json?q={HOSTILE_WORD}",
    ]
    urls += [f"/search/?q={quote(p)}" for p in PAYLOADS]
    urls += [f"/documents/{quote(PAYLOADS[1])}"]  # a 404 that echoes the id
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status in (200, 400, 404), url
        page.wait_for_load_state("load")
    page.evaluate("1")  # a round trip, so every report the pages sent has arrived
    watch = page.watch
    assert watch.popups() == [], watch.popups()
    assert [c for c in watch.calls if c[0] == "fetch"] == []
    assert _csp_violations(watch) == [], watch.console
    # ``<img src=x>`` never turned into a request
    assert not [u for u in watch.requests if u.rstrip("/").endswith("/x")], watch.requests
    assert all(u.startswith(base) for u in watch.requests), watch.requests

    # the hostile text is shown to the reader as text
    page.goto(f"/documents/{ids.hostile}")
    assert page.locator("article.document h1").inner_text() == HOSTILE_TITLE
    assert page.locator("li.comment").count() == 4
    assert page.locator("li.comment .comment-head .author").first.inner_text() == PAYLOADS[0]
    assert page.locator("script, svg, img[src='x'], iframe").count() == 0
    assert page.title() == HOSTILE_TITLE + " · cxkb"


def test_javascript_url_link_does_not_run(page, site):
    """A scraped ``javascript:`` URL renders as a link; clicking it must run nothing."""
    base, ids = site
    page.goto(f"/documents/{ids.js_url}")
    links = page.locator("p.provenance a[rel~=nofollow]")
    if links.count():  # today it is a link; only the CSP stands between it and a script
        with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
            links.first.click()  # Chromium reports the blocked javascript: navigation
        page.wait_for_load_state("load")
    assert page.watch.popups() == []
    assert page.url.startswith(base)
