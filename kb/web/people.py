"""People pages: everyone in the knowledge base with their positions, and a page per
person with their role, positions per debate and per thread, their quotes, and who they
agree and disagree with."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, jsonify, render_template

from kb.web.api import page_csv, page_json
from kb.web.db import get_db

bp = Blueprint("people", __name__)


def _people() -> list[dict[str, Any]]:
    db = get_db()
    rows = list(db.query(
        """
        SELECT p.id, p.name, p.description,
               (SELECT count(*) FROM statements s WHERE s.speaker_person_id = p.id) AS statements,
               (SELECT count(*) FROM comments c WHERE c.author_person_id = p.id) AS comments,
               (SELECT json_group_object(e.debate, e.label) FROM effective_labels e
                 WHERE e.target_type = 'person' AND e.target_id = p.id) AS positions
        FROM people p ORDER BY statements DESC, p.name
        """))
    for r in rows:
        r["positions"] = json.loads(r["positions"] or "{}")
    return rows


def _person(person_id: str) -> dict[str, Any]:
    db = get_db()
    person = next(db.query("SELECT id, name, description FROM people WHERE id = ?",
                           [person_id]), None)
    if person is None:
        abort(404, description=f"no person with id {person_id}")
    person["aliases"] = [r["alias"] for r in db.query(
        "SELECT alias FROM person_aliases WHERE person_id = ? ORDER BY alias", [person_id])]
    person["positions"] = list(db.query(
        "SELECT debate, label, confidence, method FROM effective_labels"
        " WHERE target_type = 'person' AND target_id = ? ORDER BY debate", [person_id]))
    person["threads"] = list(db.query(
        "SELECT pp.document_id, d.title, pp.debate, pp.label, pp.confidence"
        " FROM person_positions pp JOIN documents d ON d.id = pp.document_id"
        " WHERE pp.person_id = ? ORDER BY d.title, pp.debate", [person_id]))
    person["quotes"] = list(db.query(  # the 300 first in order, then what they show
        """
        SELECT s.id, s.text, s.kind, q.document_id, s.comment_id, q.title,
               (SELECT json_group_object(e.debate, e.label) FROM effective_labels e
                 WHERE e.target_type = 'statement' AND e.target_id = s.id
                   AND e.label NOT IN ('unsupported')) AS positions
        FROM (SELECT s.id, d.id AS document_id, d.title, s.start
              FROM statements s LEFT JOIN comments c ON c.id = s.comment_id
              JOIN documents d ON d.id = coalesce(s.document_id, c.document_id)
              WHERE s.speaker_person_id = ? ORDER BY d.title, s.start LIMIT 300) AS q
        JOIN statements s ON s.id = q.id
        ORDER BY q.title, q.start
        """, [person_id]))
    for q in person["quotes"]:
        q["positions"] = json.loads(q["positions"] or "{}")
    person["relations"] = list(db.query(
        """
        SELECT r.kind, r.source_name, r.target_name, r.source_person_id, r.target_person_id,
               r.evidence, r.document_id, r.source_comment_id
        FROM relations r WHERE (r.source_person_id = ? OR r.target_person_id = ?)
          AND r.kind IN ('agrees_with', 'disagrees_with') ORDER BY r.document_id, r.id
        """, [person_id, person_id]))
    return person


@bp.get("/people/")
def list_page():
    return render_template("people/list.html", people=_people())


@bp.get("/people.json")
def list_json():
    people = _people()
    return page_json(people, len(people), 1, max(len(people), 1))


@bp.get("/people.csv")
def list_csv():
    return page_csv([{k: v for k, v in p.items() if not isinstance(v, (dict, list))}
                     for p in _people()], "people.csv")


@bp.get("/people/<person_id>")
def person_page(person_id: str):
    return render_template("people/person.html", person=_person(person_id))


@bp.get("/people/<person_id>.json")
def person_json(person_id: str):
    return jsonify(_person(person_id))
