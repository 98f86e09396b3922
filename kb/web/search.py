"""Search page (HTML and ``.json``): FTS5 over documents, comments and statements.

The page asks what ``kb.search.search`` answers, in two steps so that a common word over
100k statements stays fast: counts and bm25 ranks come from the FTS indexes alone, then
only the hits of the page are joined to their rows and given snippets (``page_search``).
"""

from __future__ import annotations

import json
from collections import defaultdict

from flask import Blueprint, jsonify, render_template, request
from sqlite_utils import Database

from kb.errors import SearchError
from kb.search import (
    KINDS,
    SearchHit,
    SearchResults,
    check_query,
    literal_query,
    plain_snippet,
    search,
    snippet_parts,
)
from kb.search import _run as run_query
from kb.web.api import page_csv, page_json
from kb.web.db import get_db

bp = Blueprint("search", __name__)
PAGE_SIZE = 20

# fixed SQL per kind, as kb.search writes it; the FTS tables are filled by triggers, so
# each FTS row has its row (and through the foreign keys, its document)
_COUNT = {
    "document": "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH :q",
    "comment": "SELECT count(*) FROM comments_fts WHERE comments_fts MATCH :q",
    "statement": "SELECT count(*) FROM statements_fts WHERE statements_fts MATCH :q",
}
_RANK = {
    "document": "SELECT 'document' AS kind, rowid, bm25(documents_fts) AS rank"
                " FROM documents_fts WHERE documents_fts MATCH :q",
    "comment": "SELECT 'comment' AS kind, rowid, bm25(comments_fts) AS rank"
               " FROM comments_fts WHERE comments_fts MATCH :q",
    "statement": "SELECT 'statement' AS kind, rowid, bm25(statements_fts) AS rank"
                 " FROM statements_fts WHERE statements_fts MATCH :q",
}
_HITS = {
    "document": """
        SELECT documents_fts.rowid, 'document' AS kind, d.id AS id, d.id AS document_id,
               d.title AS title, d.author AS author,
               snippet(documents_fts, -1, char(2), char(3), '…', 24) AS snippet,
               bm25(documents_fts) AS rank
        FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid
        WHERE documents_fts MATCH :q
          AND documents_fts.rowid IN (SELECT value FROM json_each(:rowids))""",
    "comment": """
        SELECT comments_fts.rowid, 'comment' AS kind, c.id AS id, c.document_id AS document_id,
               d.title AS title, c.author AS author,
               snippet(comments_fts, -1, char(2), char(3), '…', 24) AS snippet,
               bm25(comments_fts) AS rank
        FROM comments_fts JOIN comments c ON c.rowid = comments_fts.rowid
        JOIN documents d ON d.id = c.document_id
        WHERE comments_fts MATCH :q
          AND comments_fts.rowid IN (SELECT value FROM json_each(:rowids))""",
    "statement": """
        SELECT statements_fts.rowid, 'statement' AS kind, s.id AS id,
               coalesce(s.document_id, c.document_id) AS document_id, d.title AS title,
               s.speaker AS author,
               snippet(statements_fts, -1, char(2), char(3), '…', 24) AS snippet,
               bm25(statements_fts) AS rank
        FROM statements_fts JOIN statements s ON s.rowid = statements_fts.rowid
        LEFT JOIN comments c ON c.id = s.comment_id
        JOIN documents d ON d.id = coalesce(s.document_id, c.document_id)
        WHERE statements_fts MATCH :q
          AND statements_fts.rowid IN (SELECT value FROM json_each(:rowids))""",
}


def page_search(db: Database, query: str, *, kinds: tuple[str, ...] = KINDS,
                limit: int = PAGE_SIZE, offset: int = 0) -> SearchResults:
    """``kb.search.search(db, query, ...)``: the same counts, hits, order and errors."""
    check_query(query)
    counts = {kind: run_query(db, _COUNT[kind], {"q": query}, query)[0][0] for kind in kinds}
    ranked = run_query(db, " UNION ALL ".join(_RANK[kind] for kind in kinds)
                       + " ORDER BY rank LIMIT :limit OFFSET :offset",
                       {"q": query, "limit": limit, "offset": offset}, query)
    wanted: dict[str, list[int]] = defaultdict(list)
    for kind, rowid, _rank in ranked:
        wanted[kind].append(rowid)
    rows = {}
    for kind, rowids in wanted.items():
        for rowid, *hit in run_query(db, _HITS[kind],
                                     {"q": query, "rowids": json.dumps(rowids)}, query):
            rows[kind, rowid] = SearchHit(*hit)
    hits = [rows[kind, rowid] for kind, rowid, _rank in ranked if (kind, rowid) in rows]
    return SearchResults(query=query, hits=hits, counts=counts)


def _run():
    query = request.args.get("q", "").strip()
    kinds = tuple(k for k in request.args.getlist("kind") if k in KINDS) or KINDS
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    results, error, fallback = None, None, None
    if query:
        db = get_db()
        try:
            results = page_search(db, query, kinds=kinds, limit=PAGE_SIZE,
                                  offset=(page - 1) * PAGE_SIZE)
        except SearchError as exc:
            error = str(exc)
            literal = literal_query(query)
            if literal:
                try:
                    fallback = page_search(db, literal, kinds=kinds, limit=PAGE_SIZE)
                except SearchError:  # the words alone are too many too
                    fallback = None
    return query, kinds, page, results, error, fallback


@bp.get("/search/")
def search_page():
    query, kinds, page, results, error, fallback = _run()
    status = 400 if error else 200
    return render_template("search/results.html", query=query, kinds=kinds, all_kinds=KINDS,
                           page=page, page_size=PAGE_SIZE, results=results, error=error,
                           fallback=fallback, snippet_parts=snippet_parts), status


@bp.get("/search.json")
def search_json():
    query, _kinds, page, results, error, _fallback = _run()
    if error:
        return jsonify({"error": error, "query": query}), 400
    hits = [] if results is None else [
        {**h.__dict__, "snippet": plain_snippet(h.snippet, "", "")} for h in results.hits]
    counts = results.counts if results else {}
    total = sum(counts.get(kind, 0) for kind in _kinds)
    return page_json(hits, total, page, PAGE_SIZE, query=query, counts=counts)


CSV_LIMIT = 10_000


@bp.get("/search.csv")
def search_csv():
    """Every hit (up to 10,000) of the query, as the page lists them."""
    query = request.args.get("q", "").strip()
    kinds = tuple(k for k in request.args.getlist("kind") if k in KINDS) or KINDS
    if not query:
        return jsonify({"error": "give a query: /search.csv?q=…"}), 400
    try:
        results = search(get_db(), query, kinds=kinds, limit=CSV_LIMIT)
    except SearchError as error:
        return jsonify({"error": str(error), "query": query}), 400
    return page_csv([{**h.__dict__, "snippet": plain_snippet(h.snippet, "", "")}
                     for h in results.hits], "search.csv")
