"""Focused crawling against breadth-first, on the local test web, at several budgets.

    python bench/crawl.py [--budgets 50,100,150,200] [--seed 7] [--any-site]

The test web (``tests/crawlweb.py``) is three sites on 127.0.0.1 with 254 pages, 41 of
them on-topic articles, plus sitemaps, feeds, archives, pagination, related-article
blocks, redirects, print versions and syndicated copies, dead links, and calendar and
session-id traps. Each crawl starts from the blog's and the magazine's home pages with
the topic "every shipped debate", in a fresh SQLite file, with the real fetcher (no delay)
and the real MiniLM embedder. Printed per budget and strategy:

- **recall**: on-topic articles stored / all on-topic articles (a stored near-duplicate
  counts as its original);
- **harvest**: on-topic articles stored / requests made (every request but robots.txt:
  sitemaps, feeds, listings, redirect hops, comment pages, failures);
- **requests per on-topic page** found;
- **precision**: on-topic among the pages stored;
- wall time and the URLs left queued.

Breadth-first is the same crawler with the frontier taken in discovery order: the same
canonical URLs, duplicate detection, trap limits and relevance test after fetching. So
the difference is only the order: which pages the budget is spent on.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from crawlweb import crawl_web

from ingest.crawl import CrawlOptions, crawl
from ingest.fetch import Fetcher
from ingest.fetch_cache import DbResponseCache
from ingest.urls import canonical_url
from kb.db import open_db
from nlp.relevance import TopicRelevance


def measure(web, relevance, folder: Path, budget: int, strategy: str,
            any_site: bool) -> dict[str, float]:
    path = folder / f"{strategy}-{budget}.db"
    db = open_db(path)
    started = time.perf_counter()
    report = crawl(db, [web.blog.url("/"), web.magazine.url("/")], relevance,
                   topic="every debate", fetcher=Fetcher(allow_private=True, delay=0,
                                                         cache=DbResponseCache(db)),
                   options=CrawlOptions(max_pages=budget, strategy=strategy,
                                        same_site=not any_site))
    seconds = time.perf_counter() - started
    originals = {canonical_url(k): canonical_url(v) for k, v in web.duplicates.items()}
    on_topic = {canonical_url(u) for u in web.on_topic}
    stored = {originals.get(r[0], r[0]) for r in
              db.execute("SELECT key FROM crawl_urls WHERE state = 'ingested'")}
    found = stored & on_topic
    db.close()
    return {"recall": len(found) / len(on_topic), "harvest": len(found) / report.requests,
            "per_page": report.requests / max(len(found), 1),
            "precision": len(found) / max(len(stored), 1), "found": len(found),
            "requests": report.requests, "seconds": seconds,
            "queued": report.figures["states"]["queued"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", default="50,100,150,200")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--any-site", action="store_true")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    relevance = TopicRelevance.for_topic(None)
    relevance.page_score("warm-up", "load the embedder before timing")
    with crawl_web(args.seed) as web, tempfile.TemporaryDirectory() as folder:
        print(f"test web: {web.pages()} pages, {len(web.on_topic)} on-topic articles, "
              f"{'any site' if args.any_site else 'same site'}; load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"{'budget':>6} {'strategy':<8} {'recall':>6} {'harvest':>7} {'req/hit':>7} "
              f"{'precision':>9} {'found':>5} {'seconds':>7} {'queued':>6}")
        for budget in budgets:
            for strategy in ("focused", "bfs"):
                m = measure(web, relevance, Path(folder), budget, strategy, args.any_site)
                print(f"{budget:>6} {strategy:<8} {m['recall']:>6.2f} {m['harvest']:>7.2f} "
                      f"{m['per_page']:>7.1f} {m['precision']:>9.2f} {m['found']:>5} "
                      f"{m['seconds']:>7.1f} {m['queued']:>6}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
