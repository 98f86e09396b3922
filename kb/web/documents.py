"""Documents list and thread pages (HTML and ``.json``)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request

from kb.web.api import page_csv, page_json
from kb.web.db import get_db
from kb.web.positions import thread_positions

bp = Blueprint("documents", __name__)

_LIST_SQL = """
    SELECT d.id, d.title, d.author, d.author_person_id, d.published, d.site, d.url,
           s.locator AS source, s.id AS source_id,
           (SELECT count(*) FROM comments c WHERE c.document_id = d.id
              AND c.kind = 'comment' AND c.missing_since IS NULL) AS comment_count,
           (SELECT count(*) FROM comments c WHERE c.document_id = d.id
              AND c.kind != 'comment') AS link_count
    FROM documents d JOIN sources s ON s.id = d.source_id
    ORDER BY d.published IS NULL, d.published DESC, d.title
    LIMIT :limit OFFSET :offset
"""


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def index():
    """Home: the debates overview once a debate has been analysed, else the documents."""
    from kb.web.positions import overview

    if get_db()["debates"].count:
        return overview()
    return list_documents()


@bp.get("/documents/")
def list_documents():
    db = get_db()
    size = 50
    page = _page()
    rows = list(db.query(_LIST_SQL, {"limit": size, "offset": (page - 1) * size}))
    total = db["documents"].count
    return render_template("documents/list.html", documents=rows, page=page,
                           pages=max(1, -(-total // size)), total=total)


@bp.get("/documents.json")
def list_documents_json():
    db = get_db()
    page = _page()
    rows = list(db.query(_LIST_SQL, {"limit": 50, "offset": (page - 1) * 50}))
    return page_json(rows, db["documents"].count, page, 50)


@bp.get("/documents.csv")
def list_documents_csv():
    rows = list(get_db().query(_LIST_SQL, {"limit": -1, "offset": 0}))
    return page_csv(rows, "documents.csv")


def _thread(document_id: str) -> dict[str, Any]:
    db = get_db()
    document = next(db.query(
        "SELECT d.*, s.locator AS source, s.last_ingested_at AS fetched_at FROM documents d "
        "JOIN sources s ON s.id = d.source_id WHERE d.id = ?", [document_id]), None)
    if document is None:
        abort(404, description=f"no document with id {document_id}")
    document["extra"] = json.loads(document["extra"]) if document["extra"] else {}
    comments = list(db.query(
        "SELECT * FROM comments WHERE document_id = ? ORDER BY position", [document_id]))
    positions = thread_positions(document_id, [c["id"] for c in comments])
    return {"document": document, "comments": comments, "positions": positions}


def nest(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comments (in position order) as a tree: each gets a ``replies`` list."""
    by_id = {c["id"]: {**c, "replies": []} for c in comments}
    roots = []
    for comment in by_id.values():
        parent = by_id.get(comment["parent_id"]) if comment["parent_id"] else None
        (parent["replies"] if parent else roots).append(comment)
    return roots


@bp.get("/documents/<document_id>")
def thread(document_id: str):
    data = _thread(document_id)
    authors = {c["id"]: c["author"] for c in data["comments"]}
    reader_comments = sum(1 for c in data["comments"]
                          if c["kind"] == "comment" and not c["missing_since"])
    return render_template(
        "documents/thread.html", document=data["document"], tree=nest(data["comments"]),
        authors=authors, reader_comments=reader_comments, total_comments=len(data["comments"]),
        paragraphs=[p for p in data["document"]["body"].split("\n\n") if p.strip()],
        positions=data["positions"],
    )


@bp.get("/documents/<document_id>.json")
def thread_json(document_id: str):
    return jsonify(_thread(document_id))
