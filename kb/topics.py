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


_SIZES = "SELECT topic_id, count(*) FROM topic_assignments GROUP BY topic_id"
_QUOTES = """
    SELECT s.id, s.text, s.speaker, f.document_id, s.comment_id
    FROM statements AS s JOIN statement_facts AS f ON f.statement_id = s.id
    WHERE s.id IN (SELECT value FROM json_each(?))"""


def _topic_rows(db: Database, rows: list[dict], sizes: dict[int, int]) -> list[dict[str, Any]]:
    """Topics as a person reads them: their size, keywords and representative quotes (all
    the quotes read in one query)."""
    wanted = [json.loads(row["representative"]) for row in rows]
    quotes = {r["id"]: r for r in db.query(
        _QUOTES, [json.dumps([i for ids in wanted for i in ids])])}
    return [{"id": row["id"], "label": topic_label(row), "generated_label": row["label"],
             "renamed": row["custom_label"] is not None, "size": sizes.get(row["id"], 0),
             "keywords": json.loads(row["keywords"]),
             "representative": [quotes[i] for i in ids if i in quotes],
             "x": row["x"], "y": row["y"]} for row, ids in zip(rows, wanted, strict=True)]


def list_topics(db: Database, *, include_outliers: bool = True) -> list[dict[str, Any]]:
    """Active topics, largest first (the outliers last), with their representative
    statements and speakers."""
    sizes = dict(db.execute(_SIZES).fetchall())
    rows = [r for r in db.query("SELECT * FROM topics WHERE status = 'active'")
            if r["id"] != OUTLIERS or (include_outliers and sizes.get(OUTLIERS))]
    rows.sort(key=lambda r: (r["id"] == OUTLIERS, -sizes.get(r["id"], 0), r["id"]))
    return _topic_rows(db, rows, sizes)


def get_topic(db: Database, topic_id: int) -> dict[str, Any]:
    """One active topic as ``list_topics`` shows it."""
    row = next(db.query("SELECT * FROM topics WHERE id = ? AND status = 'active'",
                        [topic_id]), None)
    size = db.execute("SELECT count(*) FROM topic_assignments WHERE topic_id = ?",
                      [topic_id]).fetchone()[0]
    if row is None or (topic_id == OUTLIERS and not size):
        raise NotFound(f"no active topic {topic_id}")
    return _topic_rows(db, [row], {topic_id: size})[0]


def topic_choices(db: Database) -> list[dict[str, Any]]:
    """Every active topic but the outliers, by id, with its label: what a person may merge
    into or move a statement to."""
    return [{"id": r["id"], "label": topic_label(r)} for r in db.query(
        "SELECT id, label, custom_label FROM topics WHERE status = 'active' AND id != ?"
        " ORDER BY id", [OUTLIERS])]


def positions_in_topic(db: Database, topic_id: int) -> dict[str, dict[str, int]]:
    """For each debate, how many of the topic's statements hold each position (the
    counts triggers keep per topic: migration m009)."""
    out: dict[str, dict[str, int]] = {}
    for r in db.query(
        "SELECT debate, label, sum(n) AS n FROM position_counts_by_topic WHERE topic_id = ?"
        " GROUP BY debate, label HAVING sum(n) > 0 ORDER BY debate, label", [topic_id]):
        out.setdefault(r["debate"], {})[r["label"]] = r["n"]
    return out


# the topic's statements counted from statement_facts' index (migration m009): per
# document, with the document's year and site (else title), and per speaker
_PER_DOCUMENT = """
    SELECT coalesce(substr(d.published, 1, 4), 'undated'), coalesce(d.site, d.title), f.n
    FROM (SELECT document_id, count(*) AS n FROM statement_facts WHERE topic_id = ?
          GROUP BY document_id) AS f
    JOIN documents AS d ON d.id = f.document_id"""
_PER_SPEAKER = """
    SELECT coalesce(speaker, 'unknown') AS person, count(*) AS n FROM statement_facts
    WHERE topic_id = ? GROUP BY person ORDER BY n DESC, person LIMIT ?"""


def topic_crossings(db: Database, topic_id: int, top: int = 20) -> dict[str, list[dict]]:
    """The topic over time (by publication year), and its ``top`` sources (site, else
    title) and people (speaker names), most statements first."""
    periods: dict[str, int] = {}
    sources: dict[str, int] = {}
    for period, source, n in db.execute(_PER_DOCUMENT, [topic_id]).fetchall():
        periods[period] = periods.get(period, 0) + n
        sources[source] = sources.get(source, 0) + n
    best = sorted(sources.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {"over_time": [{"period": k, "n": periods[k]} for k in sorted(periods)],
            "by_source": [{"source": k, "n": n} for k, n in best],
            "by_person": [{"person": k, "n": n}
                          for k, n in db.execute(_PER_SPEAKER, [topic_id, top])]}


def topic_statements(db: Database, topic_id: int, limit: int = 200,
                     offset: int = 0) -> list[dict]:
    """The topic's statements, moved by hand first, then most typical first; only the
    ``limit`` of them shown are joined to their text."""
    return list(db.query(
        """
        SELECT s.id, s.text, s.speaker, s.kind, a.method, a.score, f.document_id,
               s.comment_id
        FROM (SELECT statement_id, method, score FROM topic_assignments WHERE topic_id = ?
              ORDER BY method = 'human' DESC, score DESC, statement_id
              LIMIT ? OFFSET ?) AS a
        JOIN statements AS s ON s.id = a.statement_id
        JOIN statement_facts AS f ON f.statement_id = a.statement_id
        ORDER BY a.method = 'human' DESC, a.score DESC, a.statement_id
        """, [topic_id, limit, offset]))


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
