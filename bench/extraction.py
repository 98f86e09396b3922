"""Comment-thread extraction on the gold set, next to trafilatura alone on the same pages.

    python bench/extraction.py [--repeat 5] [--pages]

Prints, for cxkb's extractor (``ingest.html_page.extract_page``): comment precision and
recall, author, date, parent, kind and id accuracy over the comments found, the
article-body leak rate (pages whose body holds comment text or page furniture), article
metadata accuracy, and pages per second. For ``trafilatura.extract`` alone on the same
bytes: its body leak rate with ``include_comments=False``, how many gold comments its
flat comment text (``include_comments=True``) contains at all, and its pages per second.
Gold pages and their scoring are in ``tests/fixtures/web`` and ``tests/extraction_score.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from extraction_score import load_gold, norm, page_bytes, score_page, totals

from ingest.html_page import extract_page


def run_cxkb(golds: list[dict], repeat: int):
    scores = []
    for gold in golds:
        document, _ = extract_page(page_bytes(gold), url=gold["url"])
        scores.append(score_page(gold, document))
    start = time.perf_counter()
    for _ in range(repeat):
        for gold in golds:
            extract_page(page_bytes(gold), url=gold["url"])
    seconds = time.perf_counter() - start
    return scores, repeat * len(golds) / seconds


def run_trafilatura(golds: list[dict], repeat: int):
    import trafilatura

    from ingest.decode import decode_html

    leaks = 0
    comments_seen = 0
    for gold in golds:
        text, _ = decode_html(page_bytes(gold))
        body = norm(trafilatura.extract(text, url=gold["url"], include_comments=False) or "")
        phrases = gold["article"].get("not_in_body", []) + [
            g["starts"] for g in gold["comments"] if len(g["starts"]) > 15]
        leaks += any(norm(p) in body for p in phrases)
        with_comments = norm(trafilatura.extract(text, url=gold["url"],
                                                 include_comments=True) or "")
        comments_seen += sum(norm(g["starts"]) in with_comments for g in gold["comments"])
    start = time.perf_counter()
    for _ in range(repeat):
        for gold in golds:
            text, _ = decode_html(page_bytes(gold))
            trafilatura.extract(text, url=gold["url"], include_comments=True)
    seconds = time.perf_counter() - start
    return leaks / len(golds), comments_seen, repeat * len(golds) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing passes over the set")
    parser.add_argument("--pages", action="store_true", help="print a line per page")
    args = parser.parse_args()
    golds = load_gold()
    families = sorted({g["family"] for g in golds})
    print(f"gold set: {len(golds)} pages, {len(families)} markup families "
          f"({', '.join(families)}), {sum(len(g['comments']) for g in golds)} comments")
    scores, cxkb_rate = run_cxkb(golds, args.repeat)
    t = totals(scores)
    if args.pages:
        for s in scores:
            print(f"  {s.page:38} {s.family:18} gold {s.gold:3} got {s.extracted:3} "
                  f"found {s.found:3} author {s.author_ok:3} parent {s.parent_ok:3} "
                  f"date {s.date_ok:3}{'  LEAK ' + repr(s.leaks[:2]) if s.leaks else ''}"
                  f"{'  MISSED ' + repr(s.misses[:2]) if s.misses else ''}")
    leak_rate, traf_seen, traf_rate = run_trafilatura(golds, args.repeat)
    print()
    print(f"{'':34} {'cxkb':>10} {'trafilatura':>12}")
    print(f"{'comment precision':34} {t.precision:10.3f} {'n/a':>12}")
    print(f"{'comment recall':34} {t.recall:10.3f} {traf_seen / max(t.gold, 1):12.3f}"
          "   (trafilatura: gold comments present anywhere in its flat comment text)")
    for name, value in (("author accuracy", t.author), ("date accuracy", t.date),
                        ("parent accuracy", t.parent), ("kind accuracy", t.kind),
                        ("platform id accuracy", t.external_id)):
        print(f"{name:34} {value:10.3f} {'n/a':>12}")
    print(f"{'article-body leak rate (pages)':34} {t.leak_rate:10.3f} {leak_rate:12.3f}")
    print(f"{'article title / author / date':34} {t.title:.2f}/{t.article_author:.2f}/"
          f"{t.published:.2f}")
    print(f"{'article body starts right':34} {t.body_start:10.3f}")
    print(f"{'pages per second':34} {cxkb_rate:10.1f} {traf_rate:12.1f}")
    print(f"\ncomments: {t.gold} gold, {t.extracted} extracted, {t.found} matched")


if __name__ == "__main__":
    main()
