"""Focused crawling: from a few seed URLs, sitemaps and feeds to the on-topic articles and
threads of a debate, fetching as few off-topic pages as it can.

``crawl(db, seeds, relevance)`` runs one pass over a crawl's frontier (``kb.frontier``):

1. **Seeds.** Each seed is fetched and read as whatever it is (page, feed or sitemap);
   each seed site's robots.txt ``Sitemap:`` lines (or, without any, ``/sitemap.xml``)
   are queued too.
2. **Before fetching**, every candidate gets a link score from the words that point at it
   (anchor text, URL words, the sentence around the link, a feed item's summary; see
   ``Relevance.link_scores``). Its priority mixes that with the score of the page it was
   found on. The ``focused`` strategy fetches the highest priority next; ``bfs`` fetches
   in discovery order (the baseline it is measured against).
3. **After fetching**, a page's own text is scored (``Relevance.page_score``). On-topic
   articles are read with their whole comment thread (``ingest.web.read_response``) and
   stored like ``cxkb ingest URL``; off-topic ones are recorded as ``skipped`` with their
   score; listing pages (archives, categories, pagination) are followed, not stored.
   Links of off-topic pages are followed only ``tunnel`` pages deep.
4. **Bounds.** Everything the fetcher guarantees (robots.txt, per-site delay, time-outs,
   size caps, the network guard), plus a request budget (``max_pages``: every request
   but robots.txt, sitemaps, feeds and comment pages included), a time budget, a depth
   limit, same-site by default, canonical URLs as the de-duplication key, near-duplicate
   text detection, and a cap on URL families (same shape, e.g. a calendar's months) that
   keep yielding nothing on topic.

The frontier is in the knowledge base, so stopping (a budget, Ctrl-C, a crash) and
running again continues. Running a crawl whose frontier is empty starts a new round: the
pages it ingested, its listings, sitemaps and feeds are fetched again, conditionally, so
only what changed costs a download and is read again (new comments included).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from sqlite_utils import Database

from ingest.crawl_priority import TRAP_AFTER, LinkLearner, link_features, priority
from ingest.detect import detect_format
from ingest.errors import FetchError, IngestError, RequestBudgetSpent
from ingest.fetch import Fetcher, FetchResult
from ingest.fingerprint import simhash
from ingest.html_page import read_page
from ingest.links import Link, crawlable, looks_like_sitemap, page_links, parse_sitemap
from ingest.urls import canonical_url, site_of, url_shape, url_words
from kb import frontier
from kb.frontier import Candidate

log = logging.getLogger(__name__)

STRATEGIES = ("focused", "bfs")
SEED_PRIORITY = 2.0
SITEMAP_PRIORITY = 1.5
TRAP_LIMIT = 20  # pages of one URL shape fetched with none on topic: the family is dropped
REPRIORITIZE_EVERY = 10  # pages judged between two re-rankings of the queue
LISTING_MIN_LINKS = 12  # a page with little text of its own and this many links is a listing
NEAR_DUPLICATE_BITS = 6


class Relevance(Protocol):
    """Scores for the crawler (``nlp.relevance.TopicRelevance`` is the one cxkb uses)."""

    threshold: float  # a page scoring at least this is on topic

    def link_scores(self, texts: Sequence[str]) -> list[float]:
        """0..1 for each text that points at a page (anchor, URL words, context)."""

    def page_score(self, title: str, text: str) -> float:
        """0..1 for a fetched page's title and text."""


@dataclass
class CrawlOptions:
    max_pages: int = 100  # requests this run (robots.txt aside)
    max_depth: int = 5
    max_seconds: float | None = None
    same_site: bool = True  # only the seeds' sites (scheme + host + port)
    follow_commenters: bool = False  # comment authors' own sites
    strategy: str = "focused"
    tunnel: int = 2  # off-topic pages a path may pass through
    discover_sitemaps: bool = True

    def stored(self) -> dict[str, object]:
        return {"max_depth": self.max_depth, "same_site": self.same_site,
                "follow_commenters": self.follow_commenters, "strategy": self.strategy,
                "tunnel": self.tunnel}


@dataclass
class CrawlReport:
    crawl_id: int
    name: str
    round: int
    requests: int = 0
    stop_reason: str = ""
    done: bool = False  # the frontier is empty
    outcome: Counter[str] = field(default_factory=Counter)  # this run's pages by state
    errors: Counter[str] = field(default_factory=Counter)  # this run's failures by site
    ingested: list[str] = field(default_factory=list)  # URLs stored this run
    comments_added: int = 0
    figures: dict[str, object] = field(default_factory=dict)  # frontier totals, after

    def summary(self) -> str:
        o = self.outcome
        line = (f"crawl {self.name!r} (round {self.round}): {self.requests} requests; "
                f"{o['ingested']} ingested, {o['skipped']} skipped as off topic, "
                f"{o['listing']} listings followed, {o['duplicate']} duplicates, "
                f"{o['unchanged']} unchanged, {o['failed']} failed, {o['excluded']} excluded; "
                f"{self.comments_added} comments added; "
                f"{self.figures.get('states', {}).get('queued', 0)} still queued; "
                f"stopped: {self.stop_reason}")
        if self.errors:
            line += "; errors by site: " + ", ".join(f"{s} {n}" for s, n in self.errors.items())
        return line


Progress = Callable[[CrawlReport, dict, str, str], None]  # report, row, its state, why


def crawl_name(seeds: Sequence[str], topic: str) -> str:
    """The default name of a crawl: the same seeds and topic continue the same crawl."""
    digest = hashlib.sha256("\n".join([topic, *sorted(seeds)]).encode()).hexdigest()[:8]
    host = urlsplit(seeds[0]).hostname if seeds else None
    return f"{topic[:40]} from {host or 'nowhere'} {digest}"


def crawl(db: Database, seeds: Sequence[str], relevance: Relevance, *, topic: str,
          fetcher: Fetcher, options: CrawlOptions | None = None, name: str | None = None,
          progress: Progress | None = None) -> CrawlReport:
    """Run (or continue) the crawl ``name`` until its frontier is empty or a budget is
    spent; see the module docstring. ``fetcher`` must not have a ``before_request`` hook
    of its own: the crawl installs its budget there for the run."""
    options = options or CrawlOptions()
    if options.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {options.strategy!r}: use one of {STRATEGIES}")
    seeds = [s.strip() for s in seeds if s.strip()]
    if not seeds:
        raise IngestError("a crawl needs at least one seed URL")
    for seed in seeds:
        if not crawlable(seed):
            raise IngestError(f"{seed}: not an http(s) page address to start a crawl from")
    name = name or crawl_name(seeds, topic)
    record, new = frontier.open_crawl(db, name, topic=topic, seeds=list(seeds),
                                      options=options.stored())
    if not new and frontier.next_queued(db, record.id, options.strategy) is None:
        requeued = frontier.start_round(db, record.id)
        log.info("crawl %s: frontier empty; round %s re-visits %d URLs", name,
                 record.round + 1, requeued)
    run = _Run(db, record.id, relevance, fetcher, options,
               sites={site_of(s) for s in record.seeds}, name=name)
    if new:
        run.queue_seeds(record.seeds)
    return run.go(progress)


# ---------------------------------------------------------------------------- one run


class _Run:
    def __init__(self, db: Database, crawl_id: int, relevance: Relevance, fetcher: Fetcher,
                 options: CrawlOptions, *, sites: set[str], name: str) -> None:
        self.db = db
        self.crawl_id = crawl_id
        self.relevance = relevance
        self.fetcher = fetcher
        self.options = options
        self.sites = sites
        self.round = frontier.get_crawl(db, crawl_id).round  # type: ignore[union-attr]
        self.report = CrawlReport(crawl_id, name, self.round)
        self.shapes = frontier.shape_figures(db, crawl_id)
        self.started = time.monotonic()
        self.last = ("", "")  # the latest URL's state and reason, for progress
        self.learner = LinkLearner()
        for judged in frontier.judged_rows(db, crawl_id):
            self.learner.observe(link_features(judged["anchor"], judged["url"], judged["via"]),
                                 judged["state"] == "ingested")
        self.judged_since = 0

    # -- budget

    def _count_request(self, url: str) -> None:
        if self.report.requests >= self.options.max_pages:
            raise RequestBudgetSpent(f"the budget of {self.options.max_pages} requests is spent")
        self.report.requests += 1

    def _time_left(self) -> bool:
        return (self.options.max_seconds is None
                or time.monotonic() - self.started < self.options.max_seconds)

    # -- the loop

    def go(self, progress: Progress | None) -> CrawlReport:
        if self.fetcher.before_request is not None:
            raise ValueError("the fetcher already has a before_request hook")
        self.fetcher.before_request = self._count_request
        status, reason = "stopped", ""
        try:
            while True:
                if not self._time_left():
                    reason = f"the time budget of {self.options.max_seconds:g} s is spent"
                    break
                if self.report.requests >= self.options.max_pages:
                    reason = f"the budget of {self.options.max_pages} requests is spent"
                    break
                row = frontier.next_queued(self.db, self.crawl_id, self.options.strategy)
                if row is None:
                    status, reason, self.report.done = "done", "the frontier is empty", True
                    break
                try:
                    self._visit(row)
                except RequestBudgetSpent as spent:  # mid-page: the page stays queued
                    reason = str(spent)
                    break
                if progress is not None:
                    self.report.figures = frontier.crawl_figures(self.db, self.crawl_id)
                    progress(self.report, row, *self.last)
        except KeyboardInterrupt:
            reason = "interrupted"
            raise
        finally:
            self.fetcher.before_request = None
            self.report.stop_reason = reason or "interrupted"
            frontier.add_requests(self.db, self.crawl_id, self.report.requests,
                                  status=status, stop_reason=self.report.stop_reason)
            self.report.figures = frontier.crawl_figures(self.db, self.crawl_id)
        return self.report

    def _settle(self, row: dict, state: str, **fields: object) -> None:
        frontier.settle(self.db, self.crawl_id, row["key"], state, **fields)
        self.report.outcome[state] += 1
        self.last = (state, str(fields.get("reason") or ""))
        if state in ("ingested", "skipped"):
            self.learner.observe(link_features(row["anchor"], row["url"], row["via"]),
                                 state == "ingested")
            self.judged_since += 1
            if self.judged_since >= REPRIORITIZE_EVERY and self.options.strategy == "focused":
                self._reprioritize()
        if state in frontier.FETCHED_STATES:
            fetched, ingested = self.shapes.get(row["shape"], (0, 0))
            self.shapes[row["shape"]] = (fetched + 1, ingested + (state == "ingested"))

    def _visit(self, row: dict) -> None:
        fetched, ingested = self.shapes.get(row["shape"], (0, 0))
        if row["via"] not in ("seed", "canonical") and ingested == 0 and fetched >= TRAP_LIMIT:
            self._settle(row, "excluded", reason=f"URL family {row['shape']}: {fetched} pages "
                                                 f"fetched, none on topic (a trap?)")
            return
        try:
            response = self.fetcher.fetch(row["url"])
        except FetchError as error:
            if row["via"] == "sitemap-guess" and error.status == 404:
                self._settle(row, "excluded", reason="the site has no /sitemap.xml",
                             http_status=404, fetched_at=_now())
                return
            self.report.errors[row["site"]] += 1
            self._settle(row, "failed", reason=str(error), http_status=error.status,
                         fetched_at=_now())
            return
        common = {"final_url": response.final_url, "http_status": response.status,
                  "fetched_at": response.fetched_at}
        if response.from_cache and row["content_hash"]:
            self._settle(row, "unchanged", reason="not modified since the last round", **common)
            return
        final_key = canonical_url(response.final_url)
        if final_key != row["key"]:
            row = self._follow_redirect(row, final_key, response)
            if row is None:
                return
        try:
            self._read(row, replace(response, url=response.final_url), common)
        except (IngestError, ValueError, RecursionError) as error:
            self.report.errors[row["site"]] += 1
            self._settle(row, "failed", reason=f"cannot be read: {error}", **common)

    def _follow_redirect(self, row: dict, final_key: str, response: FetchResult) -> dict | None:
        """A redirect led to another canonical URL: that URL's row takes the visit (it is
        queued if new), unless the crawl has been there already; the redirecting URL is
        recorded as a duplicate either way."""
        seen = frontier.known(self.db, self.crawl_id, final_key)
        if seen is not None and seen["state"] != "queued":
            self._settle(row, "duplicate", final_url=response.final_url,
                         reason=f"redirects to {seen['url']}, seen already",
                         fetched_at=response.fetched_at, http_status=response.status)
            return None
        if seen is None:
            frontier.add_candidates(self.db, self.crawl_id, [self._candidate(
                response.final_url, via="redirect", depth=row["depth"],
                priority=row["priority"], found_on=row["url"], anchor=row["anchor"],
                off_topic_run=row["off_topic_run"])], self.round)
        self._settle(row, "duplicate", final_url=response.final_url,
                     reason=f"redirects to {response.final_url}",
                     fetched_at=response.fetched_at, http_status=response.status)
        return frontier.known(self.db, self.crawl_id, final_key)

    def _read(self, row: dict, response: FetchResult, common: dict) -> None:
        body = response.body
        if row["kind"] == "sitemap" or looks_like_sitemap(body, response.content_type):
            self._read_sitemap(row, response, common)
            return
        fmt = detect_format(body, name=urlsplit(response.final_url).path,
                            content_type=response.content_type)
        if fmt == "feed":
            self._read_feed(row, response, common)
            return
        if fmt != "html":
            self._settle(row, "skipped", reason=f"not a web page (read as {fmt})", **common)
            return
        document, encoding, root = read_page(body, url=response.final_url,
                                             http_charset=response.charset)
        links = page_links(root, response.final_url)
        text = document.body or ""
        score = self.relevance.page_score(document.title or "", text)
        listing = looks_like_listing(response.final_url, text, links)
        on_topic = score >= self.relevance.threshold
        fields = {**common, "page_score": round(score, 4),
                  "content_hash": hashlib.sha256(text.encode()).hexdigest()}
        if listing:
            self._settle(row, "listing", reason=f"a listing page ({len(links)} links; "
                                                f"relevance {score:.2f})", **fields)
        elif on_topic:
            self._keep(row, response, (document, encoding, root), fields, score)
        else:
            self._settle(row, "skipped", reason=f"off topic: relevance {score:.2f} < "
                                                f"{self.relevance.threshold:.2f}", **fields)
        canonical = document.url if document.url else None
        if canonical and canonical_url(canonical) not in (row["key"], canonical_url(
                response.final_url)) and urlsplit(canonical).path not in ("", "/"):
            links.insert(0, Link(canonical, "canonical", document.title or ""))
        off_run = 0 if on_topic else row["off_topic_run"] + (0 if listing else 1)
        if off_run <= self.options.tunnel:
            self._queue_links(row, links, score, off_run)

    def _keep(self, row: dict, response: FetchResult, page: tuple, fields: dict,
              score: float) -> None:
        from ingest.pipeline import store_web_document
        from ingest.web import read_response

        document = page[0]
        fingerprint = simhash(f"{document.title or ''}\n{document.body or ''}")
        twin = frontier.near_duplicate(self.db, self.crawl_id, fingerprint,
                                       NEAR_DUPLICATE_BITS)
        if twin is not None and twin["key"] != row["key"]:
            self._settle(row, "duplicate", reason=f"near-duplicate of {twin['url']}", **fields)
            return
        result = read_response(response, self.fetcher, page=page)
        outcome = store_web_document(self.db, result)
        self.report.ingested.append(row["url"])
        self.report.comments_added += outcome.counts.comments_added
        self._settle(row, "ingested", source_id=outcome.source_id, simhash=f"{fingerprint:016x}",
                     reason=f"on topic: relevance {score:.2f}", **fields)

    def _read_sitemap(self, row: dict, response: FetchResult, common: dict) -> None:
        sitemap = parse_sitemap(response.body, url=response.final_url)
        children = [self._candidate(u, via="sitemap", kind="sitemap", depth=row["depth"],
                                    priority=SITEMAP_PRIORITY, found_on=row["url"])
                    for u in sitemap.children if crawlable(u)]
        pages = [Link(u, "sitemap") for u, _ in sitemap.pages if crawlable(u)]
        self._settle(row, "listing", reason=f"sitemap: {len(sitemap.pages)} pages, "
                                            f"{len(sitemap.children)} sitemaps",
                     content_hash=hashlib.sha256(response.body).hexdigest(), **common)
        self._add([c for c in children if self._allowed(c.url, "sitemap")])
        self._queue_links({**row, "depth": row["depth"]}, pages, None, row["off_topic_run"])

    def _read_feed(self, row: dict, response: FetchResult, common: dict) -> None:
        from ingest.feeds import parse_feed

        entries = parse_feed(response.body, url=response.final_url)
        links = [Link(urljoin(response.final_url, d.url), "feed-entry", d.title or "",
                      (d.body or "")[:400]) for d in entries if d.url]
        self._settle(row, "listing", reason=f"feed: {len(entries)} entries",
                     content_hash=hashlib.sha256(response.body).hexdigest(), **common)
        self._queue_links(row, [link for link in links if crawlable(link.url)], None,
                          row["off_topic_run"])

    # -- queueing

    def queue_seeds(self, seeds: list[str]) -> None:
        candidates = [self._candidate(s, via="seed", kind=_guess_kind(s), depth=0,
                                      priority=SEED_PRIORITY) for s in seeds]
        if self.options.discover_sitemaps:
            for site in sorted({site_of(s) for s in seeds}):
                seed = next(s for s in seeds if site_of(s) == site)
                try:
                    listed = self.fetcher.sitemaps(seed)
                except FetchError as error:
                    log.info("%s: robots.txt: %s", site, error)
                    listed = []
                root = urljoin(seed, "/")
                for url in listed or [urljoin(root, "sitemap.xml")]:
                    if crawlable(url):
                        via = "sitemap" if listed else "sitemap-guess"
                        candidates.append(self._candidate(url, via=via, kind="sitemap",
                                                          depth=0, priority=SITEMAP_PRIORITY,
                                                          found_on=f"{root}robots.txt"))
        self._add(candidates)

    def _queue_links(self, row: dict, links: list[Link], page_score: float | None,
                     off_run: int) -> None:
        depth = row["depth"] + 1
        if depth > self.options.max_depth:
            return
        links = [link for link in links if self._allowed(link.url, link.kind)]
        if not links:
            return
        scores = self.relevance.link_scores(
            [f"{link.anchor} {url_words(link.url)} {link.context}" for link in links])
        candidates = []
        for link, score in zip(links, scores):
            learned = self.learner.rate(link_features(link.anchor, link.url, link.kind))
            candidates.append(self._candidate(
                link.url, via=link.kind, kind="feed" if link.kind == "feed" else "page",
                depth=depth, priority=priority(score, link.kind, page_score, learned=learned,
                                               trap=self._is_trap(url_shape(link.url))),
                found_on=row["url"], anchor=link.anchor[:200], link_score=round(score, 4),
                parent_score=page_score, off_topic_run=off_run))
        self._add(candidates)

    def _is_trap(self, shape: str) -> bool:
        fetched, ingested = self.shapes.get(shape, (0, 0))
        return ingested == 0 and fetched >= TRAP_AFTER

    def _reprioritize(self) -> None:
        """Recompute queued links' priorities with what the crawl has learnt since."""
        self.judged_since = 0
        changed = {}
        for q in frontier.queued_rows(self.db, self.crawl_id):
            if q["link_score"] is None:  # seeds and sitemaps keep their fixed priority
                continue
            learned = self.learner.rate(link_features(q["anchor"], q["url"], q["via"]))
            value = priority(q["link_score"], q["via"], q["parent_score"], learned=learned,
                             trap=self._is_trap(q["shape"]))
            if value != q["priority"]:
                changed[q["key"]] = value
        frontier.set_priorities(self.db, self.crawl_id, changed)

    def _allowed(self, url: str, via: str) -> bool:
        if via == "commenter" and not self.options.follow_commenters:
            return False
        return not self.options.same_site or site_of(url) in self.sites

    def _candidate(self, url: str, *, via: str, depth: int, priority: float,
                   kind: str = "page", found_on: str | None = None, anchor: str | None = None,
                   link_score: float | None = None, parent_score: float | None = None,
                   off_topic_run: int = 0) -> Candidate:
        return Candidate(key=canonical_url(url), url=url, site=site_of(url),
                         shape=url_shape(url), kind=kind, via=via, depth=depth,
                         priority=priority, found_on=found_on, anchor=anchor,
                         link_score=link_score, parent_score=parent_score,
                         off_topic_run=off_topic_run)

    def _add(self, candidates: list[Candidate]) -> None:
        frontier.add_candidates(self.db, self.crawl_id, candidates, self.round)


_LISTING_PATH = re.compile(r"/(?:categor(?:y|ies)|tags?|sections?|archives?|authors?|writers?|"
                           r"contributors?|topics|series|page)(?:/|$)")


def looks_like_listing(url: str, text: str, links: list[Link]) -> bool:
    """An archive, category, tag, section or paginated index rather than an article: a
    URL that says so, or little text of its own among many links to other pages."""
    path = urlsplit(url).path.lower()
    if _LISTING_PATH.search(path) or "page=" in urlsplit(url).query.lower():
        return True
    segments = [s for s in path.split("/") if s]
    if all(s.isdigit() for s in segments):  # a home page, /2024/ or /2024/03/
        return True
    content = [link for link in links if link.kind in ("text", "related", "pagination")]
    return len(text.split()) < 150 and len(content) >= LISTING_MIN_LINKS


def _guess_kind(url: str) -> str:
    path = urlsplit(url).path.lower()
    if "sitemap" in path and path.endswith((".xml", ".xml.gz", ".txt")):
        return "sitemap"
    if path.endswith(("/feed", "/feed/", ".rss", ".atom", "/rss", "/atom", "rss.xml",
                      "atom.xml", "feed.xml")):
        return "feed"
    return "page"


def _now() -> str:
    from kb.db import utc_now

    return utc_now()
