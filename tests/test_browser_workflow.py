"""A researcher's session in real headless Chromium (Debian's, driven by Playwright): the
overview, a position filter, a thread, a correction that persists, search, a CSV export
checked row by row, and a source added through the form while the worker runs.
Screenshots of each page land in tests/artifacts/ (not committed)."""

from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from webhelpers import CHROMIUM, build_demo_db, chromium, make_app, running_server
from wpsite import Post, default_comments, render_post

from kb.db import open_db

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from nlp.analyze import analyze

    path = tmp_path_factory.mktemp("workflow") / "kb.db"
    build_demo_db(path)
    db = open_db(path)
    analyze(db, tier="fast", with_topics=False)
    db.close()
    with running_server(make_app(path)) as base:
        yield base, path


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site[0], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.errors = errors
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_filter_open_correct_search_and_export(page, site) -> None:
    _base, path = site
    page.goto("/")
    expect(page.locator("h1").first).to_be_visible()
    shot(page, "overview")

    # filter the listing by a position, with a facet link
    page.goto("/statements?debate=outcome-function")
    page.locator(".facet-group", has_text="label").get_by_role("link", name="outcome",
                                                                exact=True).click()
    expect(page).to_have_url(re.compile(r"label=outcome"))
    badges = page.locator("table.listing tbody .badge.label").all_inner_texts()
    assert badges and set(badges) == {"outcome"}
    shot(page, "listing-outcome")
    shown = int(page.locator("p.meta").first.inner_text().split()[0])

    # the CSV export holds exactly the filtered rows
    href = page.get_by_role("link", name="CSV").get_attribute("href")
    exported = list(csv.DictReader(io.StringIO(page.request.get(href).text())))
    assert len(exported) == shown and {r["label"] for r in exported} == {"outcome"}
    assert {r["debate"] for r in exported} == {"outcome-function"}

    # open the thread of the first quote
    first = page.locator("table.listing tbody tr").first
    title = first.locator("a.meta").first.inner_text()
    first.locator("a.meta").first.click()
    expect(page.locator("h1").first).to_have_text(title)
    shot(page, "thread")

    # correct the quote's label on its page; it stays corrected after a reload
    page.go_back()
    page.locator("table.listing tbody tr").first.get_by_role("link", name="details").click()
    section = page.locator("section.debate-labels[data-debate='outcome-function']")
    section.get_by_role("button", name="function", exact=True).click()
    expect(section.locator("[data-effective]")).to_have_text("function")
    page.reload()
    section = page.locator("section.debate-labels[data-debate='outcome-function']")
    expect(section.locator("[data-effective]")).to_have_text("function")
    expect(section).to_contain_text("(human)")
    shot(page, "quote-corrected")
    statement_id = page.url.rsplit("/", 1)[-1]
    db = open_db(path)
    (human,) = list(db.query("SELECT label FROM labels WHERE method = 'human' AND target_id = ?",
                             [statement_id]))
    db.close()
    assert human["label"] == "function"

    # search from the header
    page.get_by_role("searchbox", name="Search").fill("function")
    page.keyboard.press("Enter")
    expect(page.locator("mark").first).to_be_visible()
    shot(page, "search")
    assert not page.errors


def test_add_a_source_by_upload_and_watch_the_job_finish(page, site, tmp_path) -> None:
    from kb.worker import run_worker

    _base, path = site
    saved = tmp_path / "who-owns-cx.html"
    saved.write_text(render_post(Post(comments=default_comments()), "https://cxledger.example.com"),
                     encoding="utf-8")
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(path,), kwargs={"poll": 0.2,
                                                                        "stop": stop})
    worker.start()
    try:
        page.goto("/sources/new")
        page.locator("input[type=file]").set_input_files(str(saved))
        page.locator("input[name=url]").fill("https://cxledger.example.com/2019/03/who-owns-cx/")
        page.locator("input[name=analyze]").uncheck()
        page.get_by_role("button", name="Add").click()
        expect(page.locator(".job-status")).to_have_attribute("data-status", "done",
                                                              timeout=30_000)
        shot(page, "job-done")
        page.get_by_role("link", name="Who Owns Customer Experience? Outcome, Function, or Both")\
            .click()
        expect(page.locator("li.comment")).to_have_count(8)
        shot(page, "uploaded-thread")
    finally:
        stop.set()
        worker.join(timeout=30)


@pytest.mark.parametrize("path", ["/", "/statements?debate=outcome-function", "/review",
                                  "/sources/new", "/people/"])
def test_pages_fit_a_phone(page, path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(path)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    shot(page, "phone-" + (path.strip("/").split("?")[0].replace("/", "-") or "home"))
    assert overflow <= 1, f"{path} is {overflow}px wider than a phone screen"
