"""Topics as stored: the topic table a person reads, user edits (rename, merge, move),
and the crossed views (positions, time, sources, people per topic). Fitting lives in
``nlp.topics``; this module only reads and writes rows, so the web UI can use it."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from kb.db import utc_now
from kb.errors import CxkbError, NotFound

OUTLIERS = -1


def topic_label(row: dict) -> str:
    return row.get("custom_label") or row["label"]


def list_topics(db: Database, *, include_outliers: bool = True) -> list[dict[str, Any]]:
    """Active topics, largest first (the outliers last), with their representative
    statements and speakers."""
    rows = list(db.query(
        "SELECT t.*, (SELECT count(*) FROM topic_assignments a WHERE a.topic_id = t.id)"
        " AS assigned FROM topics t WHERE t.status = 'active' ORDER BY t.id = -1, assigned"
        " DESC, t.id"))
    out = []
    for row in rows:
        if row["id"] == OUTLIERS and (not include_outliers or not row["assigned"]):
            continue
        ids = json.loads(row["representative"])
        quotes = {r["id"]: r for r in db.query(
            "SELECT id, text, speaker, coalesce(document_id, (SELECT document_id FROM comments"
            " c WHERE c.id = s.comment_id)) AS document_id, comment_id FROM statements s"
            " WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(ids)])}
        out.append({"id": row["id"], "label": topic_label(row), "generated_label": row["label"],
                    "renamed": row["custom_label"] is not None, "size": row["assigned"],
                    "keywords": json.loads(row["keywords"]),
                    "representative": [quotes[i] for i in ids if i in quotes],
                    "x": row["x"], "y": row["y"]})
    return out


def get_topic(db: Database, topic_id: int) -> dict[str, Any]:
    for topic in list_topics(db):
        if topic["id"] == topic_id:
            return topic
    raise NotFound(f"no active topic {topic_id}")


def positions_in_topic(db: Database, topic_id: int) -> dict[str, dict[str, int]]:
    """For each debate, how many of the topic's statements hold each position."""
    out: dict[str, dict[str, int]] = {}
    for r in db.query(
        "SELECT e.debate, e.label, count(*) AS n FROM topic_assignments a"
        " JOIN effective_labels e ON e.target_type = 'statement' AND e.target_id ="
        " a.statement_id WHERE a.topic_id = ? GROUP BY e.debate, e.label ORDER BY e.debate",
        [topic_id]):
        out.setdefault(r["debate"], {})[r["label"]] = r["n"]
    return out


def topic_crossings(db: Database, topic_id: int) -> dict[str, list[dict]]:
    """The topic over time (by publication year), per source site and per person."""
    base = """
        FROM topic_assignments a JOIN statements s ON s.id = a.statement_id
        LEFT JOIN comments c ON c.id = s.comment_id
        JOIN documents d ON d.id = coalesce(s.document_id, c.document_id)
        WHERE a.topic_id = ?"""
    return {
        "over_time": list(db.query(
            f"SELECT coalesce(substr(d.published, 1, 4), 'undated') AS period, count(*) AS n"
            f" {base} GROUP BY period ORDER BY period", [topic_id])),
        "by_source": list(db.query(
            f"SELECT coalesce(d.site, d.title) AS source, count(*) AS n {base}"
            f" GROUP BY source ORDER BY n DESC LIMIT 20", [topic_id])),
        "by_person": list(db.query(
            f"SELECT coalesce(s.speaker, 'unknown') AS person, count(*) AS n {base}"
            f" GROUP BY person ORDER BY n DESC LIMIT 20", [topic_id])),
    }


def topic_statements(db: Database, topic_id: int, limit: int = 200) -> list[dict]:
    return list(db.query(
        "SELECT s.id, s.text, s.speaker, s.kind, a.method, a.score,"
        " coalesce(s.document_id, c.document_id) AS document_id, s.comment_id"
        " FROM topic_assignments a JOIN statements s ON s.id = a.statement_id"
        " LEFT JOIN comments c ON c.id = s.comment_id WHERE a.topic_id = ?"
        " ORDER BY a.method = 'human' DESC, a.score DESC LIMIT ?", [topic_id, limit]))


def _active(db: Database, topic_id: int) -> dict:
    row = db.execute("SELECT id, status FROM topics WHERE id = ?", [topic_id]).fetchone()
    if row is None or row[1] != "active":
        raise NotFound(f"no active topic {topic_id}")
    return {"id": row[0]}


def rename_topic(db: Database, topic_id: int, label: str) -> None:
    """Give a topic a name of a person's choosing; kept while the topic survives refits."""
    if not label.strip():
        raise CxkbError("a topic's name cannot be empty")
    _active(db, topic_id)
    with db.conn:
        db.execute("UPDATE topics SET custom_label = ?, updated_at = ? WHERE id = ?",
                   [label.strip(), utc_now(), topic_id])


def merge_topics(db: Database, from_id: int, into_id: int) -> int:
    """Fold topic ``from_id`` into ``into_id``; replayed after every refit while both
    exist. Returns how many statements moved."""
    if from_id == into_id:
        raise CxkbError("a topic cannot be merged into itself")
    _active(db, from_id)
    _active(db, into_id)
    with db.conn:
        moved = db.execute("UPDATE topic_assignments SET topic_id = ?, updated_at = ?"
                           " WHERE topic_id = ?", [into_id, utc_now(), from_id]).rowcount
        db.execute("UPDATE topics SET status = 'merged', merged_into = ?, updated_at = ?"
                   " WHERE id = ?", [into_id, utc_now(), from_id])
        db["topic_merges"].upsert({"from_id": from_id, "into_id": into_id, "at": utc_now()},
                                  pk="from_id")
    return moved


def move_statement(db: Database, statement_id: str, topic_id: int) -> None:
    """Put a statement in a topic by hand; refits leave it there while the topic exists."""
    if not db.execute("SELECT 1 FROM statements WHERE id = ?", [statement_id]).fetchone():
        raise NotFound(f"no statement with id {statement_id!r}")
    _active(db, topic_id)
    with db.conn:
        db["topic_assignments"].upsert({"statement_id": statement_id, "topic_id": topic_id,
                                        "score": 1.0, "method": "human",
                                        "updated_at": utc_now()}, pk="statement_id")
