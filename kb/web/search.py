"""Search page (HTML, ``.json`` and ``.csv``): FTS5 over documents, comments and
statements with highlighted snippets and the listing's facets (kind, debate and
position, site, source, person, year), each a filter in the URL; all of it asked of
``kb.search.search``, as the CLI asks it."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, render_template, request

import kb.search
from kb.errors import SearchError
from kb.search import (
    KINDS,
    SearchFilters,
    SearchResults,
    literal_query,
    plain_snippet,
    search,
    snippet_parts,
)
from kb.web.api import page_csv, page_json
from kb.web.db import get_db

bp = Blueprint("search", __name__)
PAGE_SIZE = 20
CSV_LIMIT = 10_000
FILTERS = ("debate", "label", "site", "source", "person", "since", "until")


def _day(value: str | None) -> str:
    """A YYYY-MM-DD (or YYYY-MM, YYYY) bound, or '' for none: anything else is ignored."""
    value = (value or "").strip()
    return value if re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", value) else ""


def _request() -> tuple[str, tuple[str, ...], int, SearchFilters]:
    args = request.args
    query = args.get("q", "").strip()
    kinds = tuple(k for k in KINDS if k in args.getlist("kind")) or KINDS
    try:
        page = max(1, int(args.get("page", 1)))
    except ValueError:
        page = 1
    filters = SearchFilters(site=args.get("site", ""), source=args.get("source", ""),
                            person=args.get("person", ""), since=_day(args.get("since")),
                            until=_day(args.get("until")), debate=args.get("debate", ""),
                            label=args.get("label", ""))
    return query, kinds, page, filters


def _run(facets: bool = True):
    query, kinds, page, filters = _request()
    results, error, fallback = None, None, None
    if query:
        db = get_db()
        try:
            results = search(db, query, kinds=kinds, limit=PAGE_SIZE,
                             offset=(page - 1) * PAGE_SIZE, filters=filters, facets=facets)
        except SearchError as exc:
            error = str(exc)
            literal = literal_query(query)
            if literal:
                try:
                    fallback = search(db, literal, kinds=kinds, limit=PAGE_SIZE,
                                      filters=filters)
                except SearchError:  # the words alone are too many too
                    fallback = None
    return query, kinds, page, filters, results, error, fallback


def _args(kinds: tuple[str, ...], filters: SearchFilters, **change: str) -> dict:
    """This search's URL arguments (for links that change one filter)."""
    args = {"q": request.args.get("q", ""), **filters.chosen()}
    if kinds != KINDS:
        args["kind"] = list(kinds)
    args.update(change)
    return {k: v for k, v in args.items() if v not in ("", None, [])}


@bp.get("/search/")
def search_page():
    query, kinds, page, filters, results, error, fallback = _run()
    status = 400 if error else 200
    return render_template("search/results.html", query=query, kinds=kinds, all_kinds=KINDS,
                           page=page, page_size=PAGE_SIZE, results=results, error=error,
                           fallback=fallback, snippet_parts=snippet_parts, filters=filters,
                           chosen=filters.chosen(), search_args=_args,
                           facet_limit=kb.search.FACET_LIMIT,
                           csv_limit=CSV_LIMIT), status


def _rows(results: SearchResults | None) -> list[dict]:
    return [] if results is None else [
        {**h.__dict__, "snippet": plain_snippet(h.snippet, "", "")} for h in results.hits]


@bp.get("/search.json")
def search_json():
    query, _kinds, page, filters, results, error, _fallback = _run()
    if error:
        return jsonify({"error": error, "query": query}), 400
    counts = results.counts if results else {}
    return page_json(_rows(results), results.total if results else 0, page, PAGE_SIZE,
                     query=query, counts=counts, filters=filters.chosen(),
                     facets=results.facets if results else None,
                     matches=results.matches if results else 0)


@bp.get("/search.csv")
def search_csv():
    """Every hit (up to 10,000) of the query and filters, as the page lists them."""
    query, kinds, _page, filters = _request()
    if not query:
        return jsonify({"error": "give a query: /search.csv?q=…"}), 400
    try:
        results = search(get_db(), query, kinds=kinds, limit=CSV_LIMIT, filters=filters)
    except SearchError as error:
        return jsonify({"error": str(error), "query": query}), 400
    return page_csv(_rows(results), "search.csv",
                    columns=["kind", "id", "document_id", "title", "author", "snippet", "rank"])
