"""A crawl's frontier in the knowledge base (tables ``crawls`` and ``crawl_urls``, m008).

Every URL a crawl finds is one row keyed by its canonical form, so a URL is queued once
however often it is linked; the row keeps the address as found, where it was found, its
relevance before and after fetching, and its fate. Because the frontier lives here, a
crawl stopped at any point continues when it is run again, and its figures (the crawl
page, ``cxkb crawl`` progress) are queries on these rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kb.db import utc_now

STATES = ("queued", "ingested", "skipped", "listing", "duplicate", "unchanged", "failed",
          "excluded")
FETCHED_STATES = ("ingested", "skipped", "listing", "duplicate", "unchanged", "failed")
ORDERS = {  # strategy -> which queued URL comes next
    "focused": "priority DESC, seq",
    "bfs": "seq",
}


@dataclass
class Crawl:
    id: int
    name: str
    topic: str
    seeds: list[str]
    options: dict[str, Any]
    round: int
    requests: int
    status: str
    stop_reason: str | None
    created_at: str
    updated_at: str


@dataclass
class Candidate:
    """A URL to queue, with what is known of it before it is fetched."""

    key: str
    url: str
    site: str
    shape: str
    kind: str  # page | sitemap | feed
    via: str
    depth: int
    priority: float
    found_on: str | None = None
    anchor: str | None = None
    link_score: float | None = None
    parent_score: float | None = None
    off_topic_run: int = 0


def _crawl(row: dict[str, Any]) -> Crawl:
    return Crawl(**{**row, "seeds": json.loads(row["seeds"]),
                    "options": json.loads(row["options"])})


def get_crawl(db: Database, crawl_id_or_name: int | str) -> Crawl | None:
    """A crawl by id or by name."""
    column = "id" if isinstance(crawl_id_or_name, int) else "name"
    row = next(db["crawls"].rows_where(f"{column} = ?", [crawl_id_or_name]), None)
    return _crawl(row) if row else None


def list_crawls(db: Database) -> list[Crawl]:
    return [_crawl(row) for row in db["crawls"].rows_where(order_by="id DESC")]


def open_crawl(db: Database, name: str, *, topic: str, seeds: list[str],
               options: dict[str, Any]) -> tuple[Crawl, bool]:
    """The crawl called ``name``, created if new (returns it and whether it is new). An
    existing crawl keeps its seeds and topic; its options become the ones given."""
    now = utc_now()
    with db.conn:
        existing = get_crawl(db, name)
        if existing is not None:
            db["crawls"].update(existing.id, {"options": json.dumps(options, sort_keys=True),
                                              "status": "running", "updated_at": now})
            return get_crawl(db, existing.id), False  # type: ignore[return-value]
        db["crawls"].insert({
            "name": name, "topic": topic, "seeds": json.dumps(seeds),
            "options": json.dumps(options, sort_keys=True), "round": 1, "requests": 0,
            "status": "running", "stop_reason": None, "created_at": now, "updated_at": now,
        })
    return get_crawl(db, name), True  # type: ignore[return-value]


def add_candidates(db: Database, crawl_id: int, candidates: Iterable[Candidate],
                   round_: int) -> int:
    """Queue the URLs not seen before; a queued URL found again keeps the higher priority.
    Returns how many were new."""
    now = utc_now()
    added = 0
    with db.conn:
        seq = db.execute("SELECT coalesce(max(seq), 0) FROM crawl_urls WHERE crawl_id = ?",
                         [crawl_id]).fetchone()[0]
        for c in candidates:
            cursor = db.execute(
                "INSERT OR IGNORE INTO crawl_urls (crawl_id, key, url, site, shape, kind, via,"
                " found_on, anchor, depth, off_topic_run, link_score, parent_score, priority,"
                " state, round, seq, discovered_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?, 'queued', ?,?,?)",
                [crawl_id, c.key, c.url, c.site, c.shape, c.kind, c.via, c.found_on,
                 c.anchor, c.depth, c.off_topic_run, c.link_score, c.parent_score,
                 c.priority, round_, seq + 1, now])
            if cursor.rowcount:
                seq += 1
                added += 1
            else:
                db.execute("UPDATE crawl_urls SET priority = ?, off_topic_run = min("
                           "off_topic_run, ?) WHERE crawl_id = ? AND key = ? AND state = "
                           "'queued' AND priority < ?",
                           [c.priority, c.off_topic_run, crawl_id, c.key, c.priority])
    return added


def known(db: Database, crawl_id: int, key: str) -> dict[str, Any] | None:
    """The frontier row of a canonical URL, if the crawl has seen it."""
    return next(db["crawl_urls"].rows_where("crawl_id = ? AND key = ?", [crawl_id, key]), None)


def next_queued(db: Database, crawl_id: int, strategy: str) -> dict[str, Any] | None:
    """The queued URL to fetch next: the most promising (focused) or the oldest (bfs)."""
    order = ORDERS[strategy]  # a fixed string from the table above, never user text
    return next(db["crawl_urls"].rows_where("crawl_id = ? AND state = 'queued'", [crawl_id],
                                            order_by=order, limit=1), None)


def settle(db: Database, crawl_id: int, key: str, state: str, **fields: Any) -> None:
    """Record what became of a URL (``state`` and any of the row's other columns)."""
    if state not in STATES:
        raise ValueError(f"unknown frontier state {state!r}")
    with db.conn:
        db["crawl_urls"].update((crawl_id, key), {"state": state, **fields})


def add_requests(db: Database, crawl_id: int, requests: int, *, status: str | None = None,
                 stop_reason: str | None = None) -> None:
    """Count requests made and, when a run ends, why it ended."""
    values: dict[str, Any] = {"updated_at": utc_now()}
    with db.conn:
        db.execute("UPDATE crawls SET requests = requests + ? WHERE id = ?",
                   [requests, crawl_id])
        if status is not None:
            values.update(status=status, stop_reason=stop_reason)
        db["crawls"].update(crawl_id, values)


def judged_rows(db: Database, crawl_id: int) -> list[dict[str, Any]]:
    """The pages judged on or off topic so far (for a resumed crawl's link learning)."""
    return [dict(r) for r in db.query(
        "SELECT anchor, url, via, state FROM crawl_urls WHERE crawl_id = ? AND state IN "
        "('ingested', 'skipped') ORDER BY seq", [crawl_id])]


def queued_rows(db: Database, crawl_id: int) -> list[dict[str, Any]]:
    """The queued URLs with what their priority is computed from."""
    return [dict(r) for r in db.query(
        "SELECT key, url, via, anchor, shape, link_score, parent_score, priority FROM "
        "crawl_urls WHERE crawl_id = ? AND state = 'queued'", [crawl_id])]


def set_priorities(db: Database, crawl_id: int, priorities: dict[str, float]) -> None:
    """New priorities for queued URLs, by key."""
    with db.conn:
        db.conn.executemany("UPDATE crawl_urls SET priority = ? WHERE crawl_id = ? AND key = ? AND "
                       "state = 'queued'", [(p, crawl_id, k) for k, p in priorities.items()])


def start_round(db: Database, crawl_id: int) -> int:
    """Queue a finished crawl again: every page that was ingested, every listing, sitemap
    and feed (re-fetched conditionally, so unchanged ones cost a 304). Returns how many."""
    with db.conn:
        db.execute("UPDATE crawls SET round = round + 1 WHERE id = ?", [crawl_id])
        round_ = db.execute("SELECT round FROM crawls WHERE id = ?", [crawl_id]).fetchone()[0]
        cursor = db.execute(
            "UPDATE crawl_urls SET state = 'queued', round = ? WHERE crawl_id = ? AND state IN"
            " ('ingested', 'listing', 'unchanged')", [round_, crawl_id])
    return cursor.rowcount


def shape_figures(db: Database, crawl_id: int) -> dict[str, tuple[int, int]]:
    """Per URL shape: (pages fetched, pages ingested), for spotting endless page families."""
    return {row[0]: (row[1], row[2]) for row in db.execute(
        "SELECT shape, sum(state IN ('ingested', 'skipped', 'listing', 'duplicate', "
        "'unchanged', 'failed')), sum(state = 'ingested') FROM crawl_urls WHERE crawl_id = ?"
        " GROUP BY shape", [crawl_id])}


def near_duplicate(db: Database, crawl_id: int, simhash: int,
                   max_distance: int = 3) -> dict[str, Any] | None:
    """An ingested page of this crawl whose text fingerprint is within ``max_distance``
    bits of ``simhash``."""
    for row in db.execute("SELECT key, url, simhash FROM crawl_urls WHERE crawl_id = ? AND "
                          "state IN ('ingested', 'unchanged') AND simhash IS NOT NULL",
                          [crawl_id]):
        if (int(row[2], 16) ^ simhash).bit_count() <= max_distance:
            return {"key": row[0], "url": row[1]}
    return None


def crawl_figures(db: Database, crawl_id: int) -> dict[str, Any]:
    """What the crawl page and the progress lines show: URLs per state, the requests made,
    and fetched / ingested / skipped / failed per site."""
    states = dict.fromkeys(STATES, 0)
    for state, n in db.execute("SELECT state, count(*) FROM crawl_urls WHERE crawl_id = ? "
                               "GROUP BY state", [crawl_id]):
        states[state] = n
    sites = [dict(zip(("site", "fetched", "ingested", "skipped", "failed", "queued"), row))
             for row in db.execute(
                 "SELECT site, sum(state IN ('ingested', 'skipped', 'listing', 'duplicate', "
                 "'unchanged', 'failed')), sum(state = 'ingested'), sum(state = 'skipped'), "
                 "sum(state = 'failed'), sum(state = 'queued') FROM crawl_urls "
                 "WHERE crawl_id = ? GROUP BY site ORDER BY site", [crawl_id])]
    crawl = get_crawl(db, crawl_id)
    return {"states": states, "fetched": sum(states[s] for s in FETCHED_STATES),
            "requests": crawl.requests if crawl else 0, "sites": sites}


def crawl_rows(db: Database, crawl_id: int, *, states: tuple[str, ...] | None = None,
               order: str = "seq", limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Frontier rows of a crawl, optionally of some states, for listings."""
    orders = {"seq": "seq", "score": "page_score DESC, seq", "priority": "priority DESC, seq",
              "fetched": "fetched_at DESC, seq"}
    where, params = "crawl_id = ?", [crawl_id]
    if states:
        where += f" AND state IN ({', '.join('?' for _ in states)})"
        params += list(states)
    return list(db["crawl_urls"].rows_where(where, params, order_by=orders[order],
                                            limit=limit, offset=offset))
