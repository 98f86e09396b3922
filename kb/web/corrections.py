"""Corrections and provenance: one POST to confirm or change any label (stored as a human
label, never overwritten by a model), undo, a review queue of the least certain model
labels first, and a quote's page with its context, provenance and evidence.

After a correction the worker refreshes the derived positions (comment, document,
person) for that debate as a job; the statement's own label changes at once.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for

from kb.errors import CxkbError
from kb.jobs import enqueue
from kb.labels import parse_target, record_human_label, undo_human_label
from kb.settings import get_setting
from kb.web.auth import current_editor, safe_next, writer_required
from kb.web.db import get_db

bp = Blueprint("corrections", __name__)
REVIEW_PAGE = 20


def debate_labels(db, debate: str) -> list[str]:
    row = db.execute("SELECT labels FROM debates WHERE name = ?", [debate]).fetchone()
    if row is None:
        raise CxkbError(f"no debate {debate!r} has been analysed in this knowledge base")
    return [label["name"] for label in json.loads(row[0])]


def debate_choices() -> dict[str, list[str]]:
    """Every analysed debate's positions, for correction buttons on any page (per request)."""
    if "debate_choices" not in g:
        g.debate_choices = {r["name"]: [label["name"] for label in json.loads(r["labels"])]
                            for r in get_db().query("SELECT name, labels FROM debates")}
    return g.debate_choices


@bp.app_context_processor
def _choices() -> dict[str, Any]:
    return {"debate_choices": debate_choices}


def _back(default: str) -> str:
    """Where to go after a correction: the form's ``next`` when it is a path on this site."""
    target = request.form.get("next")
    return safe_next(target) if target else default


def _annotator() -> str:
    return current_editor() or get_setting("annotator") or "web"


def _refresh_positions(db, debate: str) -> None:
    """Queue one position refresh per debate (a queued one already covers this change)."""
    queued = db.execute("SELECT 1 FROM jobs WHERE kind = 'positions' AND status = 'queued'"
                        " AND json_extract(params, '$.debate') = ?", [debate]).fetchone()
    if not queued:
        enqueue(db, "positions", {"debate": debate}, requested_by=current_editor())


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/label")
@writer_required
def label():
    db = get_db()
    form = request.form
    target, debate, chosen = (form.get("target") or "", form.get("debate") or "",
                              form.get("label") or "")
    try:
        kind, ident = parse_target(db, target)
        labels = debate_labels(db, debate)
        if chosen not in labels:
            raise CxkbError(f"{chosen!r} is not a position in {debate!r} ({', '.join(labels)})")
    except CxkbError as error:
        if _wants_json():
            return jsonify({"error": str(error)}), 400
        abort(400, description=str(error))
    previous = record_human_label(db, kind, ident, debate, chosen, annotator=_annotator(),
                                  note=form.get("note") or None)
    _refresh_positions(db, debate)
    if _wants_json():
        return jsonify({"target": f"{kind}:{ident}", "debate": debate, "label": chosen,
                        "replaced": previous["label"] if previous else None})
    default = url_for("corrections.statement_page", statement_id=ident) \
        if kind == "statement" else url_for("index")
    return redirect(_back(default), code=303)


@bp.post("/label/undo")
@writer_required
def undo():
    db = get_db()
    try:
        kind, ident = parse_target(db, request.form.get("target") or "")
    except CxkbError as error:
        abort(400, description=str(error))
    debate = request.form.get("debate") or ""
    undone, _restored = undo_human_label(db, kind, ident, debate)
    if undone is None:
        abort(400, description=f"{kind}:{ident} has no human label in {debate!r} to undo")
    _refresh_positions(db, debate)
    return redirect(_back(url_for("index")), code=303)


def _statement(db, statement_id: str) -> dict[str, Any]:
    row = next(db.query(
        """SELECT s.*, coalesce(s.document_id, c.document_id) AS doc_id,
                  d.title AS document_title, d.url AS document_url, d.site,
                  c.author AS comment_author, c.text AS comment_text, d.body AS document_body,
                  src.locator AS source_locator, src.url AS source_url, src.kind AS source_kind,
                  src.last_ingested_at, src.parser
           FROM statements s LEFT JOIN comments c ON c.id = s.comment_id
           JOIN documents d ON d.id = coalesce(s.document_id, c.document_id)
           JOIN sources src ON src.id = d.source_id
           WHERE s.id = ?""", [statement_id]), None)
    if row is None:
        abort(404)
    return row


@bp.get("/statements/<statement_id>")
def statement_page(statement_id: str):
    """A quote in its context with where it came from and every label it has."""
    db = get_db()
    s = _statement(db, statement_id)
    parent = s["comment_text"] if s["comment_id"] else s["document_body"]
    para_start = parent.rfind("\n\n", 0, s["start"]) + 1 if parent else 0
    para_end = parent.find("\n\n", s["end"]) if parent else -1
    para_end = len(parent) if para_end == -1 else para_end
    context = {"before": parent[para_start:s["start"]].lstrip() if parent else "",
               "text": parent[s["start"]:s["end"]] if parent else s["text"],
               "after": parent[s["end"]:para_end].rstrip() if parent else ""}
    fetched = None
    if s["source_kind"] == "url":
        fetched = db.execute("SELECT fetched_at, final_url, status FROM fetched WHERE url = ?",
                             [s["source_locator"]]).fetchone()
    labels = []
    for row in db.query("SELECT * FROM labels WHERE target_type = 'statement' AND target_id = ?"
                        " ORDER BY debate, CASE method WHEN 'human' THEN 0 WHEN 'rule' THEN 1"
                        " ELSE 2 END", [statement_id]):
        row["evidence"] = json.loads(row["evidence"]) if row["evidence"] else {}
        labels.append(row)
    debates = dict(sorted(debate_choices().items()))
    effective = {r["debate"]: r for r in db.query(
        "SELECT * FROM effective_labels WHERE target_type = 'statement' AND target_id = ?",
        [statement_id])}
    return render_template("corrections/statement.html", s=s, context=context,
                           fetched=dict(zip(("fetched_at", "final_url", "status"), fetched))
                           if fetched else None, labels=labels, debates=debates,
                           effective=effective)


@bp.get("/review")
def review_page():
    """Model labels no person has looked at, least certain first, with one-click fixes."""
    db = get_db()
    debates = dict(sorted(debate_choices().items()))
    debate = request.args.get("debate") or next(iter(debates), "")
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(db.query(
        """SELECT l.target_id, l.label, l.confidence, s.text, s.speaker, s.speaker_person_id,
                  coalesce(s.document_id, c.document_id) AS document_id, d.title
           FROM labels l JOIN statements s ON s.id = l.target_id
           LEFT JOIN comments c ON c.id = s.comment_id
           JOIN documents d ON d.id = coalesce(s.document_id, c.document_id)
           WHERE l.target_type = 'statement' AND l.debate = ? AND l.method = 'model'
             AND l.label != 'unsupported'
             AND NOT EXISTS (SELECT 1 FROM labels h WHERE h.target_type = 'statement'
                             AND h.target_id = l.target_id AND h.debate = l.debate
                             AND h.method = 'human')
           ORDER BY l.confidence ASC, l.target_id LIMIT ? OFFSET ?""",
        [debate, REVIEW_PAGE + 1, (page - 1) * REVIEW_PAGE]))
    more = len(rows) > REVIEW_PAGE
    return render_template("corrections/review.html", debates=debates, debate=debate,
                           rows=rows[:REVIEW_PAGE], page=page, more=more,
                           labels=debates.get(debate, []))
