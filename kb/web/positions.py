"""The debates overview: each debate's positions, how many statements, comments and
people hold each, and the strongest quotes behind every position."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, render_template

from kb.web.db import get_db

bp = Blueprint("positions", __name__)

QUOTES_PER_POSITION = 3


_COUNTS = "SELECT target_type, label, n FROM label_counts WHERE debate = ? AND n != 0"
# the strongest quotes: human labels first, then model, then rule; surest, then longest
_QUOTES = """
    SELECT s.id, s.text, s.speaker, s.speaker_person_id, p.confidence, p.method,
           p.document_id, d.title AS document_title, s.comment_id
    FROM statement_positions AS p JOIN statements AS s ON s.id = p.statement_id
    JOIN documents AS d ON d.id = p.document_id
    WHERE p.debate = ? AND p.label = ? AND p.method = ?
    ORDER BY p.confidence DESC, p.text_length DESC
    LIMIT ?"""


def effective_counts(debate: str) -> dict[str, dict[str, int]]:
    """How many targets of each type hold each label in ``debate`` (the rows of the
    ``effective_labels`` view, counted by triggers into ``label_counts``)."""
    counts: dict[str, dict[str, int]] = {}
    for r in get_db().query(_COUNTS, [debate]):
        counts.setdefault(r["target_type"], {})[r["label"]] = r["n"]
    return counts


def strongest_quotes(debate: str, label: str, limit: int) -> list[dict[str, Any]]:
    quotes: list[dict[str, Any]] = []
    for method in ("human", "model", "rule"):
        if len(quotes) < limit:
            quotes += get_db().query(_QUOTES, [debate, label, method, limit - len(quotes)])
    return quotes


def debates_overview() -> list[dict[str, Any]]:
    db = get_db()
    out = []
    for debate in db.query("SELECT * FROM debates ORDER BY name"):
        labels = json.loads(debate["labels"])
        counts = effective_counts(debate["name"])
        positions = []
        for label in labels:
            quotes = strongest_quotes(debate["name"], label["name"], QUOTES_PER_POSITION)
            positions.append({**label, "quotes": quotes,
                              **{kind: counts.get(kind, {}).get(label["name"], 0)
                                 for kind in ("statement", "comment", "person", "document")}})
        totals = {kind: sum(p[kind] for p in positions)
                  for kind in ("statement", "comment", "person", "document")}
        for p in positions:
            p["share"] = {kind: (p[kind] / totals[kind] if totals[kind] else 0.0)
                          for kind in totals}
        out.append({"name": debate["name"], "question": debate["question"],
                    "default_label": debate["default_label"],
                    "model_version": debate["model_version"],
                    "analysed_at": debate["analysed_at"], "positions": positions,
                    "totals": totals})
    return out


@bp.get("/debates/")
def overview():
    return render_template("positions/overview.html", debates=debates_overview())


@bp.get("/debates.json")
def overview_json():
    return jsonify({"debates": debates_overview()})


def thread_positions(document_id: str, comment_ids: list[str]) -> dict[str, Any]:
    """Positions on one thread page: the document's, each comment's and each person's."""
    db = get_db()
    ids = json.dumps([document_id, *comment_ids])
    by_target: dict[str, list[dict]] = {}
    for r in db.query(
        "SELECT target_id, debate, label, confidence, method FROM effective_labels"
        " WHERE target_type IN ('document', 'comment')"
        " AND target_id IN (SELECT value FROM json_each(?)) ORDER BY debate", [ids]):
        by_target.setdefault(r["target_id"], []).append(r)
    people = list(db.query(
        "SELECT p.name, pp.person_id, pp.debate, pp.label, pp.confidence FROM person_positions pp"
        " JOIN people p ON p.id = pp.person_id WHERE pp.document_id = ?"
        " ORDER BY p.name, pp.debate", [document_id]))
    relations = list(db.query(
        "SELECT kind, source_comment_id, source_name, target_name, evidence FROM relations"
        " WHERE document_id = ? AND kind IN ('agrees_with', 'disagrees_with') ORDER BY id",
        [document_id]))
    quotes = list(db.query(
        """
        SELECT s.id, s.kind, s.speaker, s.speaker_person_id, s.flag, s.text,
               p.description AS speaker_about,
               (SELECT json_group_object(e.debate, e.label) FROM effective_labels e
                 WHERE e.target_type = 'statement' AND e.target_id = s.id) AS positions
        FROM statements s LEFT JOIN people p ON p.id = s.speaker_person_id
        WHERE s.document_id = ? AND s.kind IN ('quote', 'reported') ORDER BY s.start
        """, [document_id]))
    for q in quotes:
        q["positions"] = json.loads(q["positions"] or "{}")
    figures = list(db.query(
        "SELECT value, measure, population, source FROM figures WHERE document_id = ?"
        " ORDER BY start", [document_id]))
    return {"labels": by_target, "people": people, "relations": relations,
            "quotes": quotes, "figures": figures}
