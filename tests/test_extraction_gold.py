"""Article and comment-thread extraction on the hand-written gold set (tests/fixtures/web),
and on pages built to break it. `python bench/extraction.py` prints the same figures
next to trafilatura's."""

from __future__ import annotations

import pytest
from extraction_score import load_gold, page_bytes, score_page, totals

from ingest.html_page import extract_page

GOLD = load_gold()


@pytest.fixture(scope="module")
def scores():
    return [score_page(gold, extract_page(page_bytes(gold), url=gold["url"])[0])
            for gold in GOLD]


def test_the_gold_set_is_extracted_with_its_thread_structure(scores, capsys) -> None:
    t = totals(scores)
    with capsys.disabled():
        print(f"\nextraction gold set: {t.pages} pages, {t.gold} comments: precision "
              f"{t.precision:.3f}, recall {t.recall:.3f}, author {t.author:.3f}, parent "
              f"{t.parent:.3f}, date {t.date:.3f}, kind {t.kind:.3f}, id {t.external_id:.3f},"
              f" body leak rate {t.leak_rate:.3f}")
    assert t.precision >= 0.95 and t.recall >= 0.95
    assert t.author >= 0.95 and t.parent >= 0.95 and t.date >= 0.9 and t.kind >= 0.98
    assert t.leak_rate == 0.0  # no page's article body holds a comment or a sidebar
    assert t.title >= 0.9 and t.body_start >= 0.9


@pytest.mark.parametrize("gold", GOLD, ids=[g["page"] for g in GOLD])
def test_every_page_finds_most_of_its_comments(gold: dict) -> None:
    document, _ = extract_page(page_bytes(gold), url=gold["url"])
    score = score_page(gold, document)
    assert score.found >= 0.8 * score.gold, score.misses
    assert not score.leaks
    if gold["comments"]:
        assert score.parent_ok >= 0.8 * score.found


def test_hostile_markup_stays_text_and_scripted_links_are_dropped() -> None:
    page = """<html><head><title>Hostile | Blog</title></head><body>
    <article><h1>Who owns CX?</h1><p>A post long enough to be an article about who owns
    customer experience in a company and why it matters.</p></article>
    <ol class="commentlist">
      <li class="comment" id="comment-1"><cite class="fn"><a class="url"
        href="javascript:alert(1)">Mallory &lt;img src=x onerror=alert(1)&gt;</a></cite>
        <div class="comment-content"><p>&lt;script&gt;alert(1)&lt;/script&gt; CX is an
        outcome.</p><script>alert('live')</script></div></li>
      <li class="comment" id="comment-2"><cite class="fn"><a class="url"
        href="data:text/html,boom">Eve</a></cite>
        <div class="comment-content"><p>It is a function.</p></div></li>
    </ol></body></html>"""
    document, _ = extract_page(page.encode())
    first, second = document.comments
    assert first.text.startswith("<script>alert(1)</script> CX is an outcome.")
    assert "live" not in first.text  # a real script is not text
    assert first.author == "Mallory <img src=x onerror=alert(1)>"
    assert first.author_url is None and second.author_url is None


def test_deep_and_unclosed_nesting_keeps_every_comment() -> None:
    unclosed = ("<html><body><h1>Thread</h1><p>An article body long enough to count as "
                "one, about customer experience.</p><ol class=commentlist>"
                + "".join(f"<li class=comment id=comment-{i}><div><cite class=fn>A{i}</cite>"
                          f"<div class=comment-content><p>hello {i}</p></div>"
                          for i in range(400))
                + "</ol></body></html>")
    document, _ = extract_page(unclosed.encode())
    assert len(document.comments) == 400  # past libxml2's default 256 levels
    assert document.comments[-1].text == "hello 399"
