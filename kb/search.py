"""Full-text search (SQLite FTS5) over documents, comments and statements: the one place
the CLI (``cxkb search``) and the web (``/search``) ask.

A search reads each FTS index as little as it can, so that a common word over 100k
statements stays usable: counts come from the indexes alone; each kind's best hits are
ranked by bm25 in the index, and only the hits of the page are given snippets and joined
to their rows. Counting and ranking read every match, so the kinds (and the two halves
of a large one) are read side by side, each on a connection of its own
(``kb.parallel_reads``); without filters, the counts and the rankings all at once. With
filters (site, source, person, dates, debate and position), or when the words match few
enough texts (``FACET_LIMIT``), the matches are copied once into a temporary table with
what they are filtered and faceted by, and the facets are counted from it.

Snippets mark matches with the control characters ``HIT_START``/``HIT_END`` so that each
front end can escape the text first and highlight afterwards (``snippet_parts``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from kb.errors import SearchError
from kb.parallel_reads import database_file, read_in_parallel

HIT_START, HIT_END = "\x02", "\x03"
KINDS = ("document", "comment", "statement")
# Facets are counted (from a temporary copy of the matches) when the words match at most
# this many texts of all kinds, or when a filter is chosen; beyond it a search gives its
# counts per kind and its best hits, and says why there are no facets. (Counting costs
# about 25 µs of CPU per text on the 2-core development machine: 2,500 keep a page near
# 80 ms.)
FACET_LIMIT = 2_500
FACET_SIZE = 15

_FTS = {"document": "documents_fts", "comment": "comments_fts", "statement": "statements_fts"}
# fixed SQL per kind; {fts} is the kind's FTS table (a name from _FTS)
_COUNT = "SELECT count(*) FROM {fts} WHERE {fts} MATCH :q"
SPLIT_KINDS = ("statement", "comment")  # ranked in two halves, side by side (_rankers)
_LAST_ROWID = {"document": "SELECT max(rowid) FROM documents",
               "comment": "SELECT max(rowid) FROM comments",
               "statement": "SELECT max(rowid) FROM statements"}
# The best n of a kind. "+rowid" keeps SQLite from handing FTS5 the rowids of a filter
# one at a time, which would read the index once per rowid.
_RANK = """
    SELECT rowid, bm25({fts}) AS rank FROM {fts} WHERE {fts} MATCH :q {filtered}
    ORDER BY rank LIMIT :n"""
# snippets for the hits of the page only (a document's is made from its whole body), two
# ways: the matches read once, in one pass ("+rowid"), or FTS5 handed the page's rowids
# one at a time. One at a time it expands a prefix query again for each (56 ms for
# "own* NOT service" against 8 in one pass), but for other words of many matches it reads
# only the page's (30k matches of "customer experience": 2.7 ms against 8.4)
_SNIPPETS = """
    SELECT rowid, snippet({fts}, -1, char(2), char(3), '…', 24) FROM {fts}
    WHERE {fts} MATCH :q AND {rowid} IN (SELECT value FROM json_each(:rowids))"""
SEEK_FROM = 1_000  # matches of a kind from which its snippets are sought row by row
_FILTERED = ("AND +rowid IN (SELECT h.rowid FROM temp.search_hits AS h"
             " WHERE h.kind = :kind AND {})")
_ROWS = {  # what a hit shows, by the rowids of its kind
    "document": """
        SELECT x.rowid, x.id, x.id AS document_id, x.title, x.author FROM documents AS x
        WHERE x.rowid IN (SELECT value FROM json_each(:rowids))""",
    "comment": """
        SELECT x.rowid, x.id, x.document_id, d.title, x.author FROM comments AS x
        JOIN documents AS d ON d.id = x.document_id
        WHERE x.rowid IN (SELECT value FROM json_each(:rowids))""",
    "statement": """
        SELECT x.rowid, s.id, x.document_id, d.title, s.speaker AS author
        FROM statement_facts AS x JOIN statements AS s ON s.rowid = x.statement_rowid
        JOIN documents AS d ON d.id = x.document_id
        WHERE x.statement_rowid IN (SELECT value FROM json_each(:rowids))""",
}
# The matches of each kind with what filters and facets read: its document (and that
# document's site and source), its person (speaker or author) and its day (as the
# listing's: a comment's, else its document's). Statements read statement_facts (m009).
_HITS = {
    "document": """
        INSERT INTO temp.search_hits
        SELECT 'document', t.rowid, x.id, x.id, x.author_person_id, substr(x.published, 1, 10),
               x.site, x.source_id
        FROM documents_fts AS t CROSS JOIN documents AS x ON x.rowid = t.rowid
        WHERE documents_fts MATCH :q""",
    "comment": """
        INSERT INTO temp.search_hits
        SELECT 'comment', t.rowid, x.id, x.document_id, x.author_person_id,
               substr(coalesce(x.posted_at, d.published), 1, 10), d.site, d.source_id
        FROM comments_fts AS t CROSS JOIN comments AS x ON x.rowid = t.rowid
        JOIN documents AS d ON d.id = x.document_id
        WHERE comments_fts MATCH :q""",
    "statement": """
        INSERT INTO temp.search_hits
        SELECT 'statement', t.rowid, x.statement_id, x.document_id, x.person_id, x.day,
               d.site, d.source_id
        FROM statements_fts AS t CROSS JOIN statement_facts AS x ON x.statement_rowid = t.rowid
        JOIN documents AS d ON d.id = x.document_id
        WHERE statements_fts MATCH :q""",
}
_TEMP = (
    "DROP TABLE IF EXISTS temp.search_hits",
    "DROP TABLE IF EXISTS temp.search_labels",
    """CREATE TEMP TABLE search_hits (kind TEXT NOT NULL, rowid INTEGER NOT NULL,
       id TEXT NOT NULL, document_id TEXT, person_id TEXT, day TEXT, site TEXT,
       source_id TEXT, PRIMARY KEY (kind, rowid))""",
    """CREATE TEMP TABLE search_labels (kind TEXT NOT NULL, id TEXT NOT NULL,
       debate TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (kind, id, debate))""",
)
# the label that counts for each hit in each debate: statements' from statement_positions
# (m007), comments' and documents' from the effective_labels view
_LABELS = """
    INSERT INTO temp.search_labels
    SELECT h.kind, h.id, p.debate, p.label FROM temp.search_hits AS h
    JOIN statement_positions AS p ON p.statement_id = h.id WHERE h.kind = 'statement'
    UNION ALL
    SELECT h.kind, h.id, e.debate, e.label FROM temp.search_hits AS h
    JOIN effective_labels AS e ON e.target_type = h.kind AND e.target_id = h.id
    WHERE h.kind IN ('comment', 'document')"""
# one fixed fragment per filter, over temp.search_hits AS h
_WHERE = {
    "kind": "h.kind IN (SELECT value FROM json_each(:kinds))",
    "site": "h.site = :site",
    "source": "h.source_id = :source",
    "person": "h.person_id = :person",
    "since": "h.day >= :since",
    "until": "h.day <= :until",
    "debate": "EXISTS (SELECT 1 FROM temp.search_labels AS l WHERE l.kind = h.kind"
              " AND l.id = h.id AND l.debate = :debate AND (:label = '' OR l.label = :label))",
    "label": "EXISTS (SELECT 1 FROM temp.search_labels AS l WHERE l.kind = h.kind"
             " AND l.id = h.id AND l.label = :label AND (:debate = '' OR l.debate = :debate))",
}
# each facet counts as if its own filter (or filters) were not chosen; rows: value(s), n
_FACETS = {
    "kind": ("SELECT h.kind, count(*) FROM temp.search_hits AS h WHERE {} GROUP BY h.kind",
             ("kind",)),
    "position": ("""SELECT l.debate, l.label, count(*) FROM temp.search_hits AS h
                    JOIN temp.search_labels AS l ON l.kind = h.kind AND l.id = h.id
                    WHERE {} GROUP BY l.debate, l.label""", ("debate", "label")),
    "site": ("""SELECT h.site, count(*) FROM temp.search_hits AS h
                WHERE {} AND h.site IS NOT NULL GROUP BY h.site""", ("site",)),
    "source": ("""SELECT h.source_id, count(*) FROM temp.search_hits AS h
                  WHERE {} GROUP BY h.source_id""", ("source",)),
    "person": ("""SELECT h.person_id, count(*) FROM temp.search_hits AS h
                  WHERE {} AND h.person_id IS NOT NULL GROUP BY h.person_id""", ("person",)),
    "year": ("""SELECT substr(h.day, 1, 4), count(*) FROM temp.search_hits AS h
                WHERE {} AND h.day IS NOT NULL GROUP BY 1""", ("since", "until")),
}
_NAMES = {  # names for the values of the largest facet entries
    "source": "SELECT id, coalesce(url, locator) FROM sources"
              " WHERE id IN (SELECT value FROM json_each(:ids))",
    "person": "SELECT id, name FROM people WHERE id IN (SELECT value FROM json_each(:ids))",
}


@dataclass
class SearchFilters:
    """What a search is narrowed to, besides its words and kinds. Empty strings: none.
    ``since``/``until`` compare with a hit's day (YYYY-MM-DD, or its prefix)."""
    site: str = ""
    source: str = ""
    person: str = ""
    since: str = ""
    until: str = ""
    debate: str = ""
    label: str = ""

    def chosen(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass
class SearchHit:
    kind: str  # document | comment | statement
    id: str
    document_id: str
    title: str
    author: str | None
    snippet: str  # matches wrapped in HIT_START ... HIT_END
    rank: float


@dataclass
class SearchResults:
    query: str
    hits: list[SearchHit]
    counts: dict[str, int]  # matches per kind searched (with the filters)
    # facet name -> [{"value", "name", "n"}], largest first; None when not counted
    facets: dict[str, list[dict[str, Any]]] | None = None
    matches: int = 0  # texts of every kind the words match, before any filter
    filters: SearchFilters = field(default_factory=SearchFilters)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


MAX_QUERY_CHARS = 1000
MAX_QUERY_WORDS = 32


def check_query(query: str) -> None:
    """Refuse an empty query, and one so long that FTS5 would work on it for seconds: the
    cost grows with the square of its words (500 repeats of a common word took over two
    seconds on a few thousand rows), so a page could be held by one request."""
    if not query or not query.strip():
        raise SearchError("the search query is empty: type one or more words")
    if len(query) > MAX_QUERY_CHARS:
        raise SearchError(f"the search query is {len(query):,} characters long; the limit "
                          f"is {MAX_QUERY_CHARS:,}")
    words = len(re.findall(r"\w+", query))
    if words > MAX_QUERY_WORDS:
        raise SearchError(f"the search query has {words} words and operators; the limit is "
                          f"{MAX_QUERY_WORDS}: search for the few words that matter")


def literal_query(query: str) -> str:
    """The query with every word quoted, so FTS5 operators and punctuation lose meaning."""
    words = re.findall(r"\w+", query)
    return " ".join(f'"{w}"' for w in words)


_TERMS = re.compile(r'"([^"]*)"|(\w+)(\*?)')


def words_query(text: str) -> str:
    """An FTS5 query for text that contains every word of ``text``: a word matches any
    form of itself (the index stems: "owns" finds "own"), ``"quoted words"`` match as a
    phrase and ``word*`` as a prefix. Operators and punctuation are not read, so the
    query can never be refused; no words gives ''."""
    parts = []
    for phrase, word, star in _TERMS.findall(text):
        if word:
            parts.append(f'"{word}"{star}')
        elif words := re.findall(r"\w+", phrase):
            parts.append('"' + " ".join(words) + '"')
    return " ".join(parts)


def run_query(db: Database | sqlite3.Connection, sql: str, params: dict,
              query: str) -> list[tuple]:
    """Run ``sql`` for the FTS5 ``query``; a query FTS5 cannot read raises SearchError
    with what is wrong and how to write it."""
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as error:
        detail = str(error).replace("fts5: ", "")
        hint = literal_query(query)
        suggestion = f" Try {hint} to search for the words themselves." if hint else ""
        raise SearchError(
            f"cannot search for {query!r}: {detail}. FTS5 syntax: words, \"exact phrases\", "
            f"AND, OR, NOT, prefix*, NEAR(a b).{suggestion}"
        ) from None


def _where(chosen: dict[str, str], without: tuple[str, ...] = ()) -> str:
    names = [n for n in _WHERE if n in chosen and n not in without]
    if "debate" in names and "label" in names:
        names.remove("label")  # the debate fragment tests the label too
    return " AND ".join(_WHERE[n] for n in names) or "1"


def _facets(db: Database, chosen: dict[str, str], params: dict) -> dict[str, list[dict]]:
    """Each facet's entries ({"value", "name", "n"}; positions also "debate" and "label"),
    largest first (years in order), from the copied matches."""
    out = {}
    for name, (sql, own) in _FACETS.items():
        entries = []
        for *values, n in db.execute(sql.format(_where(chosen, own)), params).fetchall():
            if name == "position":
                entries.append({"value": f"{values[0]}: {values[1]}", "name":
                                f"{values[0]}: {values[1]}", "debate": values[0],
                                "label": values[1], "n": n})
            elif n:
                entries.append({"value": values[0], "name": values[0], "n": n})
        if name == "year":
            entries.sort(key=lambda e: e["value"])
        else:
            entries.sort(key=lambda e: (-e["n"], str(e["value"])))
            del entries[FACET_SIZE:]
        if name in _NAMES and entries:
            names = dict(db.execute(_NAMES[name], {
                "ids": json.dumps([e["value"] for e in entries])}).fetchall())
            for e in entries:
                e["name"] = names.get(e["value"], e["value"])
        out[name] = entries
    return out


def search(
    db: Database, query: str, *, kinds: tuple[str, ...] = KINDS, limit: int = 20,
    offset: int = 0, filters: SearchFilters | None = None, facets: bool = False,
) -> SearchResults:
    """Matches for an FTS5 ``query`` over the chosen kinds, best (bm25) first, with
    their counts per kind; narrowed by ``filters``; with ``facets`` counted when the
    words match at most FACET_LIMIT texts or a filter is chosen (else ``facets`` is
    None). Raises SearchError for an empty, overlong or unreadable query."""
    check_query(query)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise SearchError(f"unknown kind(s) {sorted(unknown)}; choose from {list(KINDS)}")
    filters = filters or SearchFilters()
    chosen = filters.chosen()
    params: dict[str, Any] = {"q": query, **asdict(filters), "kinds": json.dumps(kinds),
                              "n": offset + limit}
    counters = [_counter(kind, params, query) for kind in KINDS]
    path = database_file(db.conn)  # read side by side ('' in memory: one by one, here)
    ranked = None
    if chosen:
        every = dict(zip(KINDS, _side_by_side(db, path, counters), strict=True))
    else:  # unfiltered: the ranking needs no counts, so both go side by side at once
        rankers = _rankers(db, query, kinds, chosen, params, split=True)
        done = _side_by_side(db, path, counters + rankers)
        every = dict(zip(KINDS, done[:len(KINDS)], strict=True))
        ranked = [hit for hits in done[len(KINDS):] for hit in hits]
    matches = sum(every.values())
    counted = facets and matches <= FACET_LIMIT
    found = None
    counts = {kind: every[kind] for kind in kinds}
    if counted or chosen:  # the matches are copied, to be filtered or faceted (temporary
        # tables of this connection: sqlite-utils commits each write unless the caller
        # has a transaction open, which then holds them)
        for sql in _TEMP:
            db.execute(sql)
        for kind in KINDS:
            if every[kind]:
                db.execute(_HITS[kind], params)
        if counted or "debate" in chosen or "label" in chosen:
            db.execute(_LABELS)
        if counted:
            found = _facets(db, {**chosen, "kind": "x"}, params)
            by_kind = {row["value"]: row["n"] for row in found["kind"]}
        else:
            by_kind = dict(db.execute(_FACETS["kind"][0].format(_where(chosen)),
                                      params).fetchall())
        counts = {kind: by_kind.get(kind, 0) for kind in kinds}
    if ranked is None:  # filtered: on this connection, which holds the matches kept
        ranked = [hit for kind in kinds if counts[kind]
                  for hit in _rankers(db, query, (kind,), chosen, params, split=False)[0](db)]
    hits = _hits(db, path, query, sorted(ranked)[offset:offset + limit], every)
    return SearchResults(query=query, hits=hits, counts=counts, facets=found,
                         matches=matches, filters=filters)


Job = Callable[[Any], Any]  # a query of its own: a function of a connection


def _side_by_side(db: Database, path: str, jobs: list[Job]) -> list:
    """The jobs' results, in order. Counting and ranking read every match (bm25 for each),
    so the kinds are read side by side on connections of their own to ``path``, the
    database's file (``kb.parallel_reads``), unless there is only one job or the database
    is in memory (``path`` empty). Jobs read the main database only (the temporary tables
    are this connection's)."""
    if len(jobs) < 2 or not path:
        return [job(db) for job in jobs]
    return read_in_parallel(path, jobs)


def _counter(kind: str, params: dict[str, Any], query: str) -> Job:
    sql = _COUNT.format(fts=_FTS[kind])
    return lambda conn: run_query(conn, sql, params, query)[0][0]


def _rankers(db: Database, query: str, kinds: tuple[str, ...], chosen: dict[str, str],
             params: dict[str, Any], *, split: bool) -> list[Job]:
    """Jobs giving the best ``params["n"]`` matches of each kind as (rank, kind, rowid).
    With ``split``, the kinds of many texts (statements, comments) are ranked in two
    halves of their rowids, one job each, so that two cores share the largest kind: each
    half gives up to n, among which are the kind's best n."""
    def ranker(kind: str, rowids: tuple[int, int] | None = None) -> Job:
        filtered = _FILTERED.format(_where(chosen)) if chosen else ""
        if rowids is not None:
            filtered += " AND rowid BETWEEN :low AND :high"
        sql = _RANK.format(fts=_FTS[kind], filtered=filtered)
        bounds = dict(zip(("low", "high"), rowids or (), strict=False))
        return lambda conn: [(rank, kind, rowid) for rowid, rank in run_query(
            conn, sql, {**params, **bounds, "kind": kind}, query)]

    jobs = []
    for kind in kinds:
        if split and kind in SPLIT_KINDS:
            top = db.execute(_LAST_ROWID[kind]).fetchone()[0] or 0
            jobs += [ranker(kind, (0, top // 2)), ranker(kind, (top // 2 + 1, top))]
        else:
            jobs.append(ranker(kind))
    return jobs


def _hits(db: Database, path: str, query: str, page: list[tuple[float, str, int]],
          matches: dict[str, int]) -> list[SearchHit]:
    """The page's ranked (rank, kind, rowid) as hits: snippets from the FTS index, the
    rest from their rows, reading only the rows of the page (the kinds side by side).
    ``matches``: each kind's number of matches (see ``_SNIPPETS``)."""
    def reader(kind: str, rowids: str) -> Job:
        seek = matches.get(kind, 0) >= SEEK_FROM and "*" not in query
        sql = _SNIPPETS.format(fts=_FTS[kind], rowid="rowid" if seek else "+rowid")

        def read(conn: Any) -> dict[tuple[str, int], list]:
            snippets = dict(run_query(conn, sql, {"q": query, "rowids": rowids}, query))
            return {(kind, rowid): [*row, snippets.get(rowid, "")]
                    for rowid, *row in conn.execute(_ROWS[kind], {"rowids": rowids})}
        return read

    jobs = []
    for kind in KINDS:
        rowids = json.dumps([rowid for _rank, k, rowid in page if k == kind])
        if rowids != "[]":
            jobs.append(reader(kind, rowids))
    rows: dict[tuple[str, int], list] = {}
    for found in _side_by_side(db, path, jobs):
        rows.update(found)
    return [SearchHit(kind, *rows[kind, rowid], rank)
            for rank, kind, rowid in page if (kind, rowid) in rows]


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into (text, is_match) pieces for a front end to render safely."""
    parts: list[tuple[str, bool]] = []
    for piece in re.split(f"({HIT_START}.*?{HIT_END})", snippet, flags=re.DOTALL):
        if not piece:
            continue
        if piece.startswith(HIT_START):
            parts.append((piece.strip(HIT_START + HIT_END), True))
        else:
            parts.append((piece, False))
    return parts


def plain_snippet(snippet: str, start: str = "[", end: str = "]") -> str:
    """A snippet with its match markers replaced by printable brackets."""
    return snippet.replace(HIT_START, start).replace(HIT_END, end)
