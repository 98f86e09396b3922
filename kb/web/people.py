"""People pages: everyone in the knowledge base with their positions, and a page per
person with their role, positions per debate and per thread, their quotes, and who they
agree and disagree with."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request

from kb.web.api import page_csv, page_json
from kb.web.db import get_db

bp = Blueprint("people", __name__)


PAGE_SIZE = 100
# everyone, most statements first, counted by triggers (person_counts: migration m009)
_PEOPLE = """
    SELECT p.id, p.name, p.description, coalesce(n.statements, 0) AS statements,
           coalesce(n.comments, 0) AS comments
    FROM people AS p LEFT JOIN person_counts AS n ON n.person_id = p.id
    ORDER BY statements DESC, p.name, p.id LIMIT :limit OFFSET :offset"""
_POSITIONS = """
    SELECT target_id, json_group_object(debate, label) AS positions FROM effective_labels
    WHERE target_type = 'person' AND target_id IN (SELECT value FROM json_each(:ids))
    GROUP BY target_id"""


def _people(page: int) -> list[dict[str, Any]]:
    """One page of people with their counts and positions."""
    db = get_db()
    rows = list(db.query(_PEOPLE, {"limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}))
    positions = {r["target_id"]: json.loads(r["positions"]) for r in db.query(
        _POSITIONS, {"ids": json.dumps([r["id"] for r in rows])})}
    for r in rows:
        r["positions"] = positions.get(r["id"], {})
    return rows


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _count() -> int:
    return get_db().execute("SELECT count(*) FROM people").fetchone()[0]


# a person's page shows this many threads and statements; the rest are one link away (the
# statements listing filtered by the person). The busiest person of a 100k-statement base
# is in 1,300 threads: the whole of it made a 640 KiB page that took 200 ms to build.
THREADS_SHOWN = 100
QUOTES_SHOWN = 50
RELATIONS_SHOWN = 50


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
    # a row per thread, newest first, with the person's position in each debate
    person["threads"] = list(db.query(
        """
        SELECT pp.document_id, d.title, d.published,
               json_group_object(pp.debate, pp.label) AS positions
        FROM person_positions pp JOIN documents d ON d.id = pp.document_id
        WHERE pp.person_id = :person
        GROUP BY pp.document_id
        ORDER BY d.published IS NULL, d.published DESC, d.title, pp.document_id
        LIMIT :shown
        """, {"person": person_id, "shown": THREADS_SHOWN}))
    for t in person["threads"]:
        t["positions"] = json.loads(t["positions"] or "{}")
    person["threads_total"] = next(db.query(
        "SELECT count(DISTINCT document_id) AS n FROM person_positions WHERE person_id = ?",
        [person_id]))["n"]
    person["quotes"] = list(db.query(  # the newest (statement_facts_person: m010)
        """
        SELECT s.id, s.text, s.kind, f.document_id, s.comment_id, d.title, f.day,
               (SELECT json_group_object(e.debate, e.label) FROM effective_labels e
                 WHERE e.target_type = 'statement' AND e.target_id = s.id
                   AND e.label NOT IN ('unsupported')) AS positions
        FROM (SELECT statement_rowid, document_id, day FROM statement_facts
              WHERE person_id = :person ORDER BY day DESC, statement_rowid DESC
              LIMIT :shown) AS f
        JOIN statements s ON s.rowid = f.statement_rowid
        JOIN documents d ON d.id = f.document_id
        ORDER BY f.day DESC, d.title, s.start
        """, {"person": person_id, "shown": QUOTES_SHOWN}))
    for q in person["quotes"]:
        q["positions"] = json.loads(q["positions"] or "{}")
    counted = next(db.query("SELECT statements FROM person_counts WHERE person_id = ?",
                            [person_id]), None)
    person["quotes_total"] = counted["statements"] if counted else len(person["quotes"])
    person["relations"] = list(db.query(
        """
        SELECT r.kind, r.source_name, r.target_name, r.source_person_id, r.target_person_id,
               r.evidence, r.document_id, r.source_comment_id
        FROM relations r WHERE (r.source_person_id = ? OR r.target_person_id = ?)
          AND r.kind IN ('agrees_with', 'disagrees_with') ORDER BY r.document_id, r.id
        LIMIT ?
        """, [person_id, person_id, RELATIONS_SHOWN]))
    person["relations_total"] = next(db.query(
        """
        SELECT count(*) AS n FROM relations r
        WHERE (r.source_person_id = ? OR r.target_person_id = ?)
          AND r.kind IN ('agrees_with', 'disagrees_with')
        """, [person_id, person_id]))["n"]
    return person


@bp.get("/people/")
def list_page():
    page, total = _page(), _count()
    return render_template("people/list.html", people=_people(page), page=page, total=total,
                           pages=max(1, -(-total // PAGE_SIZE)))


@bp.get("/people.json")
def list_json():
    page = _page()
    return page_json(_people(page), _count(), page, PAGE_SIZE)


@bp.get("/people.csv")
def list_csv():
    """Everyone (not one page), without positions."""
    rows = list(get_db().query(_PEOPLE, {"limit": -1, "offset": 0}))
    return page_csv(rows, "people.csv", columns=["id", "name", "description", "statements",
                                                 "comments"])


@bp.get("/people/<person_id>")
def person_page(person_id: str):
    return render_template("people/person.html", person=_person(person_id))


@bp.get("/people/<person_id>.json")
def person_json(person_id: str):
    return jsonify(_person(person_id))
