"""Positions in the web UI: the debates overview (home), its JSON, and what a thread page
shows of the analysis (position badges, who is quoted, agreement, figures), over a real
analysed knowledge base; hostile text in quotes stays escaped; and the overview in real
headless Chromium."""

from __future__ import annotations

import json
import re

import pytest
from webhelpers import (
    BLOG_TITLE,
    CHROMIUM,
    CHROMIUM_ARGS,
    MAGAZINE_TITLE,
    PAYLOADS,
    add_hostile_document,
    build_demo_db,
    make_app,
    running_server,
)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    from kb.db import open_db
    from nlp.analyze import analyze

    path = tmp_path_factory.mktemp("positions") / "kb.db"
    ids = build_demo_db(path)
    ids.hostile = add_hostile_document(path)
    db = open_db(path)
    # a quote whose speaker name and words are script
    db.execute("UPDATE documents SET body = body || ? WHERE id = ?",
               ['\n\n"Customer experience is a function ' + PAYLOADS[1] + ' for sure," says '
                'Mallory Payload, head of CX at Evil Corp.', ids.hostile])
    analyze(db, tier="fast")
    db.close()
    return path, ids


@pytest.fixture(scope="module")
def client(analysed):
    return make_app(analysed[0]).test_client()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_home_is_the_debates_overview_with_real_counts(client, analysed) -> None:
    from kb.db import open_db

    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Is customer experience an outcome or a function?" in html
    assert "Who should own customer experience?" in html
    data = client.get("/debates.json").get_json()["debates"]
    db = open_db(analysed[0])
    for debate in data:
        for position in debate["positions"]:
            for kind in ("statement", "comment", "person"):
                (n,) = db.execute(
                    "SELECT count(*) FROM effective_labels WHERE debate = ? AND target_type = ?"
                    " AND label = ?", [debate["name"], kind, position["name"]]).fetchone()
                assert position[kind] == n, (debate["name"], position["name"], kind)
        assert debate["totals"]["statement"] > 50
        assert [p["name"] for p in debate["positions"]][-1] == "neither"
    rows = re.findall(r'<tr class="position label-(\w+)">', html)
    assert rows[:4] == ["outcome", "function", "both", "neither"]


def test_overview_quotes_name_their_speaker_and_link_to_the_thread(client, analysed) -> None:
    ids = analysed[1]
    data = client.get("/debates.json").get_json()["debates"]
    quotes = [q for d in data for p in d["positions"] for q in p["quotes"]]
    assert quotes and all(q["speaker"] is None or q["speaker"] for q in quotes)
    html = client.get("/").get_data(as_text=True)
    assert f'href="/documents/{ids.blog}#comment-' in html
    for q in quotes:
        assert f"/documents/{q['document_id']}" in html


def test_magazine_thread_lists_who_is_quoted_and_the_figures(client, analysed) -> None:
    html = client.get(f"/documents/{analysed[1].magazine}").get_data(as_text=True)
    text = _text(html)
    assert "Who is quoted" in text
    assert "Bruce Temkin (vice president and research director, Forrester)" in text
    assert "Michael Hoffman (president and CEO, Client X Client)" in text
    section = html.split('id="figures"')[1].split("</table>")[0]
    figures = re.findall(r"<tr><td>([^<]+)</td>", section)
    assert figures == ["only 22 percent", "Just 24 percent", "about one third",
                       "a mere 7 percent", "33 percent", "30 percent", "34 percent"]
    assert MAGAZINE_TITLE.replace("'", "&#39;") in html


def test_blog_thread_shows_positions_and_agreement(client, analysed) -> None:
    html = client.get(f"/documents/{analysed[1].blog}").get_data(as_text=True)
    text = _text(html)
    assert "Who holds which position here" in text
    assert "Kancha agrees with Tim Sanchez" in text
    assert "Eric Jacques disagrees with Kancha" in text
    comments = html.split('id="comments"')[1]
    assert comments.count("outcome-function:") == 9  # a badge on every comment
    assert BLOG_TITLE in html


def test_hostile_quotes_and_speakers_stay_escaped(client, analysed) -> None:
    for url in ("/", f"/documents/{analysed[1].hostile}"):
        html = client.get(url).get_data(as_text=True)
        for payload in PAYLOADS:
            assert payload not in html, (url, payload)
    response = client.get("/debates.json")
    assert response.mimetype == "application/json"
    json.loads(response.get_data(as_text=True))
    page = client.get(f"/documents/{analysed[1].hostile}").get_data(as_text=True)
    assert "Mallory Payload" in page and "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed")
def test_overview_in_chromium_leads_to_the_quote_in_its_thread(analysed, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    with running_server(make_app(analysed[0])) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto("/")
        assert page.title() == "Debates · cxkb"
        assert page.locator("section.debate").count() == 2
        bars = page.locator("section#debate-outcome-function progress.bar")
        assert bars.count() == 4
        shares = [float(v) for v in bars.evaluate_all("els => els.map(e => e.value)")]
        assert abs(sum(shares) - 1) < 0.01
        link = page.locator("section#debate-outcome-function .quotes a[href^='/documents/']").first
        target = link.get_attribute("href")
        link.click()
        page.wait_for_url(f"{base}{target}")
        assert page.locator("article.document h1").count() == 1
        page.screenshot(path=str(tmp_path / "overview-thread.png"))
        page.goto(f"/documents/{analysed[1].magazine}")
        assert page.locator("section#quoted li").count() >= 8
        assert not dialogs
        browser.close()


def test_people_pages_show_positions_threads_quotes_and_agreement(client, analysed) -> None:
    people = {p["name"]: p for p in client.get("/people.json").get_json()["rows"]}
    temkin = client.get(f"/people/{people['Bruce Temkin']['id']}.json").get_json()
    assert temkin["description"] == "vice president and research director, Forrester"
    assert {t["title"] for t in temkin["threads"]} >= {BLOG_TITLE, MAGAZINE_TITLE}
    assert {q["kind"] for q in temkin["quotes"]} >= {"narration", "quote", "reported"}
    eric = client.get(f"/people/{people['Eric Jacques']['id']}").get_data(as_text=True)
    text = _text(eric)
    assert "Agrees with Ray Brown" in text and "Disagrees with Tim Sanchez" in text
    assert people["Eric Jacques"]["positions"]["outcome-function"] == "outcome"
    assert client.get("/people/no-such-person").status_code == 404
    listing = client.get("/people/").get_data(as_text=True)
    assert all(payload not in listing for payload in PAYLOADS)
    overview = client.get("/").get_data(as_text=True)
    assert f'href="/people/{people["Eric Jacques"]["id"]}"' in overview


def test_position_listing_filters_facets_and_exports_what_it_shows(client, analysed) -> None:
    import csv
    import io

    everything = client.get("/positions.json?debate=outcome-function").get_json()
    labels = {f["value"]: f["n"] for f in everything["facets"]["label"]}
    assert sum(labels.values()) == everything["count"] > 50
    chosen = client.get("/positions.json?debate=outcome-function&label=outcome"
                        "&sort=least-certain").get_json()
    assert chosen["count"] == labels["outcome"]
    assert {r["label"] for r in chosen["rows"]} == {"outcome"}
    confidences = [r["confidence"] for r in chosen["rows"]]
    assert confidences == sorted(confidences)
    # the label facet still counts every label, as if the filter were not chosen
    assert {f["value"]: f["n"] for f in chosen["facets"]["label"]} == labels
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/positions.csv?debate=outcome-function&label=outcome").get_data(as_text=True))))
    assert len(rows) == labels["outcome"] and {r["label"] for r in rows} == {"outcome"}
    assert {"text", "speaker", "confidence", "document_title"} <= set(rows[0])
    sure = client.get("/positions.json?debate=outcome-function&min_confidence=0.9").get_json()
    assert all(r["confidence"] >= 0.9 for r in sure["rows"])
    for bad in ("min_confidence=x", "page=-3", "sort=drop", "q=%27%3B--"):
        assert client.get(f"/positions/?{bad}").status_code == 200
    html = client.get("/positions/?q=onerror").get_data(as_text=True)
    assert all(payload not in html for payload in PAYLOADS)


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed")
def test_filter_positions_by_a_facet_in_chromium(analysed) -> None:
    from playwright.sync_api import sync_playwright

    with running_server(make_app(analysed[0])) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base)
        page.goto("/positions/?debate=outcome-function")
        page.locator(".facet-group", has_text="label").get_by_role("link", name="both").click()
        page.wait_for_url(re.compile(r".*label=both.*"))
        badges = page.locator("table.listing .badge.label").all_inner_texts()
        assert badges and set(badges) == {"both"}
        assert page.locator("p.meta", has_text="labelled statement").inner_text().startswith(
            str(len(badges)))
        browser.close()
