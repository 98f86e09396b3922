"""The JSON API's description: an OpenAPI 3.1 document served at ``/openapi.json``.

Every listing answers at its page's path with ``.json`` in the shape ``{"rows": [...],
"count": N, "next": URL or null}`` and takes the same query parameters as the page; the
``.csv`` twin exports exactly the filtered rows. Written by hand, kept honest by
``tests/test_web_api.py``, which calls every path it lists.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__)

_PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1},
         "description": "Page number, from 1 (50 rows a page; people 100, search 20)."}


def _q(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind}, "description": description}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _listing(summary: str, parameters: list[dict[str, Any]], row: str) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": [*parameters, _PAGE], "responses": {
        "200": {"description": "One page of rows", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Page", "properties": {
                "rows": {"type": "array", "items": {"$ref": f"#/components/schemas/{row}"}}}}}}},
        "400": {"description": "A parameter that cannot be read (a bad search query)"}}}}


def _object(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": parameters, "responses": {
        "200": {"description": "The object", "content": {"application/json": {
            "schema": {"type": "object"}}}},
        "404": {"description": "No such object"}}}}


STATEMENT_FILTERS = [
    _q("debate", "Debate name, e.g. outcome-function."),
    _q("label", "Position within the debate, e.g. outcome."),
    _q("method", "How the label was given: human, rule or model."),
    _q("person", "Speaker's person id."),
    _q("document", "Document id."),
    _q("site", "The document's site."),
    _q("source", "Source id."),
    _q("topic", "Topic id.", "integer"),
    _q("since", "Published on or after (YYYY-MM-DD)."),
    _q("until", "Published on or before (YYYY-MM-DD)."),
    _q("min_confidence", "Lowest confidence, 0..1.", "number"),
    _q("q", "Words the statement contains, each in any form (\"owns\" finds \"own\");"
            " \"quoted words\" as a phrase, word* as a prefix."),
    _q("sort", "confidence, least-certain or date."),
]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (a plain dict, so tests can walk it)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "cxkb", "version": "1",
                 "description": "The knowledge base's pages as JSON: every listing answers "
                                "at the same path with .json (and .csv), same filters."},
        "paths": {
            "/statements.json": _listing("Labelled statements (positions with their quotes)",
                                         STATEMENT_FILTERS, "Statement"),
            "/documents.json": _listing("Articles and posts", [], "Document"),
            "/people.json": _listing("People", [], "Person"),
            "/topics.json": _listing("Topics", [], "Topic"),
            "/search.json": _listing(
                "Full-text search over statements, comments and documents, with facets"
                " (kind, position, site, source, person, year) when the words match few"
                " enough texts or a filter is chosen",
                [{**_q("q", "SQLite FTS5 query"), "required": True},
                 _q("kind", "statement, comment or document (repeatable)"),
                 _q("debate", "Only hits whose label in this debate is ..."),
                 _q("label", "... this position (with or without debate)."),
                 _q("site", "The hit's document's site."),
                 _q("source", "The hit's document's source id."),
                 _q("person", "The speaker's or author's person id."),
                 _q("since", "On or after (YYYY-MM-DD): a comment's day, else its document's."),
                 _q("until", "On or before (YYYY-MM-DD).")], "Hit"),
            "/debates.json": _object("Each debate with its positions, counts and quotes", []),
            "/threads/{document_id}.json": _object("A document with its nested comments",
                                                   [_path("document_id")]),
            "/people/{person_id}.json": _object("A person's positions, quotes and relations",
                                                [_path("person_id")]),
            "/topics/{topic_id}.json": _object(
                "A topic with its positions, years, sources and people, and a page of its"
                " statements (50 a page; next: the following page or null)",
                [_path("topic_id"), _PAGE]),
            "/jobs/{job_id}.json": _object("A background job: status, progress, result",
                                           [_path("job_id")]),
            "/label": {"post": {
                "summary": "Record a human label (confirm or correct); needs the session's "
                           "CSRF token, and a signed-in editor when served beyond localhost",
                "requestBody": {"content": {"application/x-www-form-urlencoded": {
                    "schema": {"type": "object",
                               "required": ["target", "debate", "label", "csrf_token"],
                               "properties": {
                                   "target": {"type": "string",
                                              "description": "kind:id, e.g. statement:st1a2b"},
                                   "debate": {"type": "string"},
                                   "label": {"type": "string"},
                                   "csrf_token": {"type": "string"},
                                   "next": {"type": "string",
                                            "description": "A path on this site to go to"}}}}}},
                "responses": {"303": {"description": "Stored; redirect to next"},
                              "400": {"description": "Unknown target, debate or label"},
                              "401": {"description": "Sign in first"},
                              "403": {"description": "No CSRF token, or read-only"}}}},
        },
        "components": {"schemas": {
            "Page": {"type": "object", "required": ["rows", "count", "next"], "properties": {
                "rows": {"type": "array"},
                "count": {"type": ["integer", "null"],
                          "description": "Rows matching, all pages (null: too many to count,"
                                         " as when a text filter matches more statements"
                                         " than the listing counts)"},
                "next": {"type": ["string", "null"], "description": "The next page's URL"}}},
            "Statement": {"type": "object", "properties": {
                "id": {"type": "string"}, "debate": {"type": "string"},
                "label": {"type": "string"}, "method": {"type": "string"},
                "confidence": {"type": ["number", "null"]}, "text": {"type": "string"},
                "speaker": {"type": ["string", "null"]},
                "document_id": {"type": "string"}}},
            "Document": {"type": "object", "properties": {
                "id": {"type": "string"}, "title": {"type": "string"},
                "url": {"type": ["string", "null"]}}},
            "Person": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}}},
            "Topic": {"type": "object", "properties": {
                "id": {"type": "integer"}, "label": {"type": "string"},
                "size": {"type": "integer"}}},
            "Hit": {"type": "object", "properties": {
                "kind": {"type": "string"}, "id": {"type": "string"},
                "snippet": {"type": "string"}}},
        }},
    }


def page_json(rows: list[dict[str, Any]], count: int | None, page: int, page_size: int,
              *, more: bool | None = None, **extra: Any):
    """A listing's JSON: ``{"rows", "count", "next"}`` (plus ``extra`` keys), where ``next``
    is this same request for the following page, or None on the last one. ``count`` is
    None when the rows were too many to count; ``more`` then tells whether a next page
    has rows."""
    from flask import request, url_for

    following = None
    if (page * page_size < count) if count is not None else more:
        args = {**request.args.to_dict(), "page": page + 1}
        following = url_for(request.endpoint, **(request.view_args or {}), **args)
    return jsonify({"rows": rows, "count": count, "next": following, **extra})


_FORMULA = frozenset("=+-@")  # what a spreadsheet reads as the start of a formula
CSV_BATCH = 2_000  # rows written and sent at a time


def page_csv(rows: Iterable, filename: str, *, columns: list[str] | None = None,
             scraped: list[str] | None = None, done: Callable[[], None] | None = None):
    """Rows (dicts, or tuples in the order of ``columns``; a list or a cursor) as a CSV
    download, streamed: written and sent ``CSV_BATCH`` rows at a time, so that a large
    export starts at once and never sits whole in memory. A cell that a spreadsheet would
    run as a formula (= + - @) is written with a leading apostrophe, since every text here
    was scraped. ``scraped`` names the columns that can hold such text (default: all), so
    that long exports test only those. ``done`` is called when the rows have been sent
    (or the download was dropped): rows read from a cursor give its connection back."""
    from flask import Response

    rows = iter(rows)
    first = next(rows, None)
    if columns is None:
        columns = list(first) if isinstance(first, dict) else ["id"]
    tested = [i for i, c in enumerate(columns) if scraped is None or c in scraped]

    def safe(row: Any) -> list | tuple:
        if isinstance(row, dict):
            row = [row.get(c) for c in columns]
        for i in tested:
            value = row[i]
            if value.__class__ is str and value[:1] in _FORMULA:
                row = [*row[:i], "'" + value, *row[i + 1:]]
        return row

    def lines() -> Iterator[str]:
        try:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(columns)
            # the download starts as soon as its first row is read
            batch = [safe(first)] if first is not None else []
            while True:
                writer.writerows(batch)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                batch = [safe(row) for row in islice(rows, CSV_BATCH)]
                if not batch:
                    break
        finally:
            if done is not None:
                done()

    return Response(lines(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
