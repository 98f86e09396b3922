"""The position listing: every labelled statement, filterable by debate, position, label
method, person, document and confidence, with facet counts, sorting and pages, and the
same filtered rows as JSON or CSV (Datasette style: the URL is the interface)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for

from kb.web.api import page_json
from kb.web.db import get_db

bp = Blueprint("listing", __name__)

PAGE_SIZE = 50
SORTS = {  # fixed SQL fragments chosen by name, never built from the request
    "confidence": "e.confidence DESC, s.id",
    "least-certain": "e.confidence ASC, s.id",
    "date": "d.published IS NULL, d.published DESC, s.id",
}
_BASE = """
    FROM effective_labels AS e
    JOIN statements AS s ON s.id = e.target_id
    LEFT JOIN comments AS c ON c.id = s.comment_id
    JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
    WHERE e.target_type = 'statement'
      AND (:debate = '' OR e.debate = :debate)
      AND (:label = '' OR e.label = :label)
      AND (:method = '' OR e.method = :method)
      AND (:person = '' OR s.speaker_person_id = :person)
      AND (:document = '' OR d.id = :document)
      AND (:min_confidence IS NULL OR coalesce(e.confidence, 1) >= :min_confidence)
      AND (:q = '' OR s.text LIKE '%' || :q || '%')
"""


def _filters() -> dict[str, Any]:
    args = request.args
    try:
        minimum = float(args["min_confidence"]) if args.get("min_confidence") else None
    except ValueError:
        minimum = None
    return {"debate": args.get("debate", ""), "label": args.get("label", ""),
            "method": args.get("method", ""), "person": args.get("person", ""),
            "document": args.get("document", ""), "min_confidence": minimum,
            "q": args.get("q", "")[:200]}


def _rows(filters: dict[str, Any], sort: str, limit: int | None, offset: int = 0) -> list[dict]:
    order = SORTS.get(sort, SORTS["confidence"])
    return list(get_db().query(
        f"""SELECT s.id, e.debate, e.label, e.method, e.confidence, e.model_version,
                   s.text, s.speaker, s.speaker_person_id, s.kind, d.id AS document_id,
                   d.title AS document_title, d.published, s.comment_id
            {_BASE} ORDER BY {order} LIMIT :limit OFFSET :offset""",
        {**filters, "limit": -1 if limit is None else limit, "offset": offset}))


def _facets(filters: dict[str, Any]) -> dict[str, list[dict]]:
    db = get_db()
    out = {}
    for name, column, label_sql in (
            ("debate", "e.debate", "e.debate"), ("label", "e.label", "e.label"),
            ("method", "e.method", "e.method"),
            ("person", "s.speaker_person_id", "coalesce(s.speaker, 'unknown')"),
            ("document", "d.id", "d.title")):
        without = {**filters, name: ""}  # a facet counts as if it were not chosen
        out[name] = list(db.query(
            f"SELECT {column} AS value, {label_sql} AS name, count(*) AS n {_BASE}"
            f" AND {column} IS NOT NULL GROUP BY {column} ORDER BY n DESC LIMIT 15", without))
    return out


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


@bp.get("/positions/")
def positions_page():
    filters, page = _filters(), _page()
    sort = request.args.get("sort", "confidence")
    total = get_db().execute(f"SELECT count(*) {_BASE}", filters).fetchone()[0]
    rows = _rows(filters, sort, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("listing/positions.html", rows=rows, facets=_facets(filters),
                           filters=filters, sort=sort, sorts=list(SORTS), total=total,
                           page=page, pages=max(1, -(-total // PAGE_SIZE)), args=args)


@bp.get("/positions.json")
def positions_json():
    filters, page = _filters(), _page()
    rows = _rows(filters, request.args.get("sort", "confidence"), PAGE_SIZE,
                 (page - 1) * PAGE_SIZE)
    total = get_db().execute(f"SELECT count(*) {_BASE}", filters).fetchone()[0]
    return page_json(rows, total, page, PAGE_SIZE, facets=_facets(filters),
                     csv=url_for("listing.positions_csv", **request.args))


@bp.get("/positions.csv")
def positions_csv():
    rows = _rows(_filters(), request.args.get("sort", "confidence"), None)
    buffer = io.StringIO()
    columns = ["id", "debate", "label", "method", "confidence", "model_version", "text",
               "speaker", "kind", "document_id", "document_title", "published", "comment_id"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        # a cell starting with = + - @ would be a formula in a spreadsheet
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
                         for k, v in row.items()})
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=positions.csv"})
