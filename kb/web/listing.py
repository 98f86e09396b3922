"""The position listing: every labelled statement, filterable by debate, position, label
method, person, document, site, source, topic, date range and confidence, with facet
counts, sorting and pages, and the same filtered rows as JSON or CSV (Datasette style:
the URL is the interface).

The rows come from ``statement_positions`` (the ``effective_labels`` view joined to
statements and documents, with the statement's topic, kept current by triggers: see
migrations m007 and m009), so counting, faceting and sorting 100k statements reads
indexes rather than testing every label for one that outranks it. "Text contains" reads
the statements' FTS index (``kb.search.words_query``: every word, in any form). Every SQL
fragment below is fixed text chosen by the name of a filter; values only ever travel as
parameters.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from typing import Any

from flask import Blueprint, render_template, request, url_for

from kb.search import words_query
from kb.web.api import page_csv, page_json
from kb.web.db import get_db, keep_db

bp = Blueprint("listing", __name__)

PAGE_SIZE = 50
FACET_SIZE = 15
SORTS = {  # fixed SQL fragments chosen by name, never built from the request
    "confidence": "p.confidence DESC, p.statement_id, p.debate",
    "least-certain": "p.confidence ASC, p.statement_id, p.debate",
    "date": "d.published IS NULL, d.published DESC, p.statement_id, p.debate",
}
WHERE = {  # one fixed fragment per filter, used only when the filter is set
    "debate": "p.debate = :debate",
    "label": "p.label = :label",
    "method": "p.method = :method",
    "person": "p.person_id = :person",
    "document": "p.document_id = :document",
    "site": "p.document_id IN (SELECT id FROM documents WHERE site = :site)",
    "source": "p.document_id IN (SELECT id FROM documents WHERE source_id = :source)",
    "topic": "p.topic_id = :topic",
    "since": "p.day >= :since",  # the day of the statement's comment, else document
    "until": "p.day <= :until",
    "min_confidence": "coalesce(p.confidence, 1) >= :min_confidence",  # see _fragments
    "q": "(SELECT f.statement_rowid FROM statement_facts AS f"  # see _matching
         " WHERE f.statement_id = p.statement_id) IN temp.text_matches",
}
# A text filter that matches at most this many statements has its rows copied to a
# temporary table (text_positions), from which counts and facets are read; one that
# matches more is tested row by row (text_matches) while a page is read in sort order,
# and its rows are neither counted nor faceted (that would read every one of them).
TEXT_LIMIT = 5_000
_TEXT_COUNT = "SELECT count(*) FROM statements_fts WHERE statements_fts MATCH :words"
_TEXT_IDS = """
    SELECT f.statement_id FROM statement_facts AS f WHERE f.statement_rowid IN
        (SELECT rowid FROM statements_fts WHERE statements_fts MATCH :words)"""
_TEXT_TABLES = {
    "counted": (("CREATE TEMP TABLE text_positions AS SELECT p.* FROM statement_positions"
                 f" AS p WHERE p.statement_id IN ({_TEXT_IDS})"),),
    "uncounted": ("CREATE TEMP TABLE text_matches (statement_rowid INTEGER PRIMARY KEY)",
                  ("INSERT INTO temp.text_matches SELECT rowid FROM statements_fts"
                   " WHERE statements_fts MATCH :words")),
}
# With no filter that picks out few rows, pages are read in sort order from an index
# (statement_positions_confidence, or documents_published for dates) and these filters
# are tested on the way: the leading "+" keeps SQLite from using an index for them.
_WALKING = {"debate": "+p.debate = :debate", "label": "+p.label = :label",
            "method": "+p.method = :method", "since": "+p.day >= :since",
            "until": "+p.day <= :until"}
# a range on statement_positions_confidence, right while no confidence is NULL (none is
# written today; coalesce(NULL, 1) would count it as certain)
_SURE = {"min_confidence": "p.confidence >= :min_confidence"}
_NARROW = ("person", "document", "site", "source", "topic", "q")
# ... and these pick a range of an index (statement_positions_day) for the facet passes,
# while a page is still read in sort order
_RANGED = ("since", "until")
# a page of rows: the keys in order from one index of statement_positions, then what they
# show (the CSV's columns first, in CSV_COLUMNS' order; the model version is read from
# statement_positions' row, for the rows of the page only)
_ROWS = """
    SELECT s.id, p.debate, p.label, p.method, p.confidence, m.model_version,
           s.text, s.speaker, s.kind, d.id AS document_id, d.title AS document_title,
           d.published, s.comment_id{extra}
    FROM (SELECT p.statement_id, p.debate, p.label, p.method, p.confidence, p.document_id
          FROM {} WHERE {} ORDER BY {order} LIMIT :limit OFFSET :offset) AS p
    CROSS JOIN documents AS d ON d.id = p.document_id
    CROSS JOIN statements AS s ON s.id = p.statement_id
    CROSS JOIN statement_positions AS m ON m.statement_id = p.statement_id
                                       AND m.debate = p.debate
    ORDER BY {order}"""
_FROM = {  # which table drives the page query (CROSS JOIN fixes SQLite's join order);
    # {} is statement_positions AS p (or the rows a counted text filter copied)
    "positions": "{}",
    "dates": "documents AS d CROSS JOIN {} ON p.document_id = d.id",
    "dates, narrow": "{} JOIN documents AS d ON d.id = p.document_id",
}
# Facet counts. With no filter but debate, label and method, they come from the counts
# that triggers keep (in all, per document, per person: migration m007; per topic: m009);
# otherwise from statement_positions. Debate, label and method are counted in one pass.
_COUNTED = {"debate": "debate = :debate", "label": "label = :label",
            "method": "method = :method"}
_PASSES = {
    ("label", "counted"): """
        SELECT debate, label, method, n FROM position_counts WHERE {}""",
    ("label", "scanned"): """
        SELECT p.debate, p.label, p.method, count(*) AS n FROM {}
        WHERE {} GROUP BY p.debate, p.label, p.method""",
    ("label", "topic"): """
        SELECT debate, label, method, n FROM position_counts_by_topic
        WHERE topic_id = :topic AND {}""",
    # a confidence bound alone (with debate, label, method): each position's rows above it,
    # counted in its own range of statement_positions_label (sorting the rows of every
    # position by three text columns to group them cost twice as much)
    ("label", "per position"): """
        SELECT k.debate, k.label, k.method,
               (SELECT count(*) FROM statement_positions AS p
                INDEXED BY statement_positions_label
                WHERE p.debate = k.debate AND p.label = k.label
                  AND p.confidence >= :min_confidence AND p.method = k.method) AS n
        FROM position_counts AS k WHERE k.n > 0 AND {}""",
    ("person", "counted"): """
        SELECT person_id AS value, sum(n) AS n FROM position_counts_by_person
        WHERE {} GROUP BY person_id ORDER BY n DESC, value LIMIT :facet_size""",
    ("person", "scanned"): """
        SELECT p.person_id AS value, count(*) AS n FROM {}
        WHERE {} AND p.person_id IS NOT NULL
        GROUP BY p.person_id ORDER BY n DESC, value LIMIT :facet_size""",
    ("document", "counted"): """
        SELECT document_id, sum(n) AS n FROM position_counts_by_document
        WHERE {} GROUP BY document_id""",
    ("document", "scanned"): """
        SELECT p.document_id, count(*) AS n FROM {}
        WHERE {} GROUP BY p.document_id""",
}
# a facet pass over many rows reads the one index that holds every column it needs
_SCANNED = {"narrow": "statement_positions AS p",
            "wide": "statement_positions AS p INDEXED BY statement_positions_confidence",
            "ranged": "statement_positions AS p INDEXED BY statement_positions_day",
            "text": "temp.text_positions AS p"}
_SPEAKERS = """
    SELECT value, (SELECT coalesce(s.speaker, 'unknown') FROM statements AS s
                   WHERE s.speaker_person_id = value LIMIT 1) AS name
    FROM (SELECT value FROM json_each(:ids))"""
_TITLES = """
    SELECT id, title FROM documents WHERE id IN (SELECT value FROM json_each(:ids))"""
_SITES = "SELECT id, site FROM documents INDEXED BY documents_site WHERE site IS NOT NULL"


def _filters() -> dict[str, Any]:
    args = request.args
    try:
        minimum = float(args["min_confidence"]) if args.get("min_confidence") else None
    except ValueError:
        minimum = None
    if minimum is not None and math.isnan(minimum):
        minimum = None  # SQLite reads NaN as NULL: no bound
    try:
        topic = int(args["topic"]) if args.get("topic") else None
    except ValueError:
        topic = None
    return {"debate": args.get("debate", ""), "label": args.get("label", ""),
            "method": args.get("method", ""), "person": args.get("person", ""),
            "document": args.get("document", ""), "site": args.get("site", ""),
            "source": args.get("source", ""), "topic": topic,
            "since": _day(args.get("since")), "until": _day(args.get("until")),
            "min_confidence": minimum, "q": args.get("q", "")[:200]}


def _day(value: str | None) -> str:
    """A YYYY-MM-DD (or YYYY-MM, YYYY) bound, or '' for none: anything else is ignored."""
    value = (value or "").strip()
    return value if re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", value) else ""


def _matching(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters, with what a text filter found (once per request, into a temporary
    table of this request's connection): ``text`` is "counted" (its listing rows are in
    text_positions) or "uncounted" (its statement ids are in text_matches: too many to
    count), and ``text_matches`` how many statements contain the words."""
    if not filters["q"]:
        return {**filters, "text": ""}
    db = get_db()
    words = words_query(filters["q"])
    matches = db.execute(_TEXT_COUNT, {"words": words}).fetchone()[0] if words else 0
    mode = "counted" if matches <= TEXT_LIMIT else "uncounted"
    db.execute("PRAGMA temp_store = MEMORY")
    for table in ("text_positions", "text_matches"):
        db.execute(f"DROP TABLE IF EXISTS temp.{table}")  # table: from the fixed tuple
    for sql in _TEXT_TABLES[mode]:
        db.execute(sql, {"words": words or '""'})
    return {**filters, "text": mode, "text_matches": matches}


def _chosen(filters: dict[str, Any], without: str = "") -> tuple[str, ...]:
    """The names of the filters that are set (less ``without``), in WHERE's order."""
    return tuple(name for name in WHERE
                 if name != without and filters.get(name) not in ("", None))


def _where(chosen: tuple[str, ...], fragments: dict[str, str] = WHERE) -> str:
    return " AND ".join(fragments.get(name, WHERE[name]) for name in chosen) or "1"


def _fragments(filters: dict[str, Any], walking: bool = False) -> dict[str, str]:
    """The WHERE fragments for a query over statement_positions (``walking``: one that
    reads an index in sort order). A counted text filter is the table read, not a test."""
    fragments = {**WHERE, **_WALKING} if walking else dict(WHERE)
    if get_db().execute("SELECT 1 FROM statement_positions WHERE confidence IS NULL"
                        " LIMIT 1").fetchone() is None:
        fragments.update(_SURE)
    if filters.get("text") == "counted":
        fragments["q"] = "1"
    return fragments


def _positions(filters: dict[str, Any]) -> str:
    """The table listing rows are read from: the copy a counted text filter made, else
    statement_positions."""
    return "temp.text_positions" if filters.get("text") == "counted" else "statement_positions"


def _rows(filters: dict[str, Any], sort: str, limit: int | None, offset: int = 0,
          *, plain: bool = False) -> list | sqlite3.Cursor:
    """A page of rows as dicts (``plain``: a cursor over tuples of CSV_COLUMNS)."""
    chosen = _chosen(filters)
    narrow = any(name in chosen for name in _NARROW) and filters.get("text") != "uncounted"
    fragments = _fragments(filters, walking=not narrow)
    table = f"{_positions(filters)} AS p"  # one of two fixed names
    if not narrow and sort != "date" and {"debate", "label"} <= set(chosen):
        # one position of one debate, read in confidence order from its own index
        table = "statement_positions AS p INDEXED BY statement_positions_label"
        fragments.update(debate=WHERE["debate"], label=WHERE["label"])
    source = ("positions" if sort != "date" else "dates, narrow" if narrow else "dates")
    sql = _ROWS.format(_FROM[source].format(table), _where(chosen, fragments),
                       order=SORTS.get(sort, SORTS["confidence"]),
                       extra="" if plain else ", s.speaker_person_id")
    params = {**filters, "limit": -1 if limit is None else limit, "offset": offset}
    if plain:
        return get_db().execute(sql, params)  # a cursor: page_csv streams its rows
    return list(get_db().query(sql, params))


def _fetch(sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
    """Rows as sqlite3.Row (read by name, built in C: facet passes return thousands)."""
    cursor = get_db().conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, params).fetchall()


def _top(counts: dict[Any, int]) -> list[dict]:
    """The largest counts (ties by value), as facet entries named by their value."""
    best = sorted(((n, value) for value, n in counts.items() if n and value is not None),
                  key=lambda item: (-item[0], str(item[1])))[:FACET_SIZE]
    return [{"value": value, "name": value, "n": n} for n, value in best]


class _Facets:
    """Facet counts for one set of filters, each pass run once however many facets use it
    (a facet counts as if its own filter were not chosen)."""

    def __init__(self, filters: dict[str, Any]) -> None:
        self.filters = filters
        self.fragments = _fragments(filters)
        self.passes: dict[tuple[str, tuple[str, ...]], list[sqlite3.Row]] = {}

    def _pass(self, kind: str, without: str) -> list[sqlite3.Row]:
        chosen = _chosen(self.filters, without)
        if (kind, chosen) not in self.passes:
            if set(chosen) <= set(_COUNTED):
                sql = _PASSES[kind, "counted"].format(_where(chosen, _COUNTED))
            elif kind == "label" and "topic" in chosen and set(chosen) <= {*_COUNTED, "topic"}:
                rest = tuple(name for name in chosen if name != "topic")
                sql = _PASSES[kind, "topic"].format(_where(rest, _COUNTED))
            elif (kind == "label" and set(chosen) <= {*_COUNTED, "min_confidence"}
                  and self.fragments["min_confidence"] == _SURE["min_confidence"]):
                rest = tuple(name for name in chosen if name != "min_confidence")
                sql = _PASSES[kind, "per position"].format(_where(rest, _COUNTED))
            else:
                scanned = ("text" if self.filters.get("text") == "counted"
                           else "narrow" if any(name in chosen for name in _NARROW)
                           else "ranged" if any(name in chosen for name in _RANGED)
                           else "wide")
                sql = _PASSES[kind, "scanned"].format(_SCANNED[scanned],
                                                      _where(chosen, self.fragments))
            self.passes[kind, chosen] = _fetch(sql, {**self.filters, "facet_size": FACET_SIZE})
        return self.passes[kind, chosen]

    def label_facet(self, name: str) -> list[dict]:
        counts: dict[str, int] = {}
        for r in self._pass("label", name):
            counts[r[name]] = counts.get(r[name], 0) + r["n"]
        return _top(counts)

    def person_facet(self) -> list[dict]:
        top = [r for r in self._pass("person", "person") if r["n"]]
        names = {r["value"]: r["name"] for r in get_db().query(
            _SPEAKERS, {"ids": json.dumps([r["value"] for r in top])})}
        return [{"value": r["value"], "name": names[r["value"]], "n": r["n"]} for r in top]

    def document_facets(self) -> tuple[list[dict], list[dict]]:
        top = _top({r["document_id"]: r["n"] for r in self._pass("document", "document")})
        titles = {r["id"]: r["title"] for r in get_db().query(
            _TITLES, {"ids": json.dumps([f["value"] for f in top])})}
        documents = [{**f, "name": titles[f["value"]]} for f in top]
        in_sites = {r["document_id"]: r["n"] for r in self._pass("document", "site")}
        sites: dict[str, int] = {}
        for document, site in get_db().execute(_SITES).fetchall():
            if document in in_sites:
                sites[site] = sites.get(site, 0) + in_sites[document]
        return documents, _top(sites)

    def all(self) -> dict[str, list[dict]]:
        documents, sites = self.document_facets()
        return {"debate": self.label_facet("debate"), "label": self.label_facet("label"),
                "method": self.label_facet("method"), "person": self.person_facet(),
                "document": documents, "site": sites}

    def total(self) -> int:
        """How many rows match every filter (from a facet pass that used them all, if any)."""
        chosen = _chosen(self.filters)
        for kind in ("label", "document"):
            if (kind, chosen) in self.passes:
                return sum(r["n"] for r in self.passes[kind, chosen])
        where = _where(chosen, self.fragments)
        table = _positions(self.filters)  # one of two fixed names
        return get_db().execute(f"SELECT count(*) FROM {table} AS p WHERE {where}",
                                self.filters).fetchone()[0]


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _listing(filters: dict[str, Any], page: int, sort: str) -> tuple[list, dict, int | None,
                                                                    bool]:
    """A page of rows, the facets, the total (None when a text filter matches too many
    statements to count) and whether a later page has rows."""
    offset = (page - 1) * PAGE_SIZE
    if filters["text"] == "uncounted":
        rows = _rows(filters, sort, PAGE_SIZE + 1, offset)
        return rows[:PAGE_SIZE], {}, None, len(rows) > PAGE_SIZE
    counter = _Facets(filters)
    facets = counter.all()
    total = counter.total()
    return _rows(filters, sort, PAGE_SIZE, offset), facets, total, page * PAGE_SIZE < total


@bp.get("/positions/")
def positions_page():
    filters, page = _matching(_filters()), _page()
    sort = request.args.get("sort", "confidence")
    rows, facets, total, more = _listing(filters, page, sort)
    args = {k: v for k, v in request.args.items() if k != "page"}
    pages = None if total is None else max(1, -(-total // PAGE_SIZE))
    return render_template("listing/positions.html", rows=rows, facets=facets,
                           filters=filters, sort=sort, sorts=list(SORTS), total=total,
                           page=page, pages=pages, more=more, args=args,
                           text_limit=TEXT_LIMIT)


@bp.get("/positions.json")
def positions_json():
    filters, page = _matching(_filters()), _page()
    rows, facets, total, more = _listing(filters, page, request.args.get("sort", "confidence"))
    extra = {"text_matches": filters["text_matches"]} if filters["text"] else {}
    return page_json(rows, total, page, PAGE_SIZE, more=more, facets=facets,
                     csv=url_for("listing.positions_csv", **request.args), **extra)


CSV_COLUMNS = ["id", "debate", "label", "method", "confidence", "model_version", "text",
               "speaker", "kind", "document_id", "document_title", "published", "comment_id"]


@bp.get("/positions.csv")
def positions_csv():
    rows = _rows(_matching(_filters()), request.args.get("sort", "confidence"), None,
                 plain=True)
    return page_csv(rows, "positions.csv", columns=CSV_COLUMNS,
                    scraped=["text", "speaker", "document_title"], done=keep_db())
