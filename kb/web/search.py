"""Search page (HTML and ``.json``): FTS5 over documents, comments and statements."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from kb.errors import SearchError
from kb.search import KINDS, literal_query, plain_snippet, search, snippet_parts
from kb.web.api import page_csv, page_json
from kb.web.db import get_db

bp = Blueprint("search", __name__)
PAGE_SIZE = 20


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
            results = search(db, query, kinds=kinds, limit=PAGE_SIZE,
                             offset=(page - 1) * PAGE_SIZE)
        except SearchError as exc:
            error = str(exc)
            literal = literal_query(query)
            if literal:
                fallback = search(db, literal, kinds=kinds, limit=PAGE_SIZE)
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
