"""Positions in debates for statements, comments, documents and people.

Each (target, debate, method) has one row, so a model's label and a person's correction
live side by side; the effective label is the human one when there is one. Automatic
writers can never touch a human row (``set_label`` refuses, and database triggers back
that up); human labels are archived, never dropped, when what they label is removed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from kb.db import utc_now
from kb.errors import CxkbError, HumanLabelProtected, NotFound

METHODS = ("rule", "model", "human")
TARGET_TYPES = ("statement", "comment", "document", "person")
_TARGET_SQL = {  # fixed statements chosen by kind, never built from input
    "statement": "SELECT 1 FROM statements WHERE id = ?",
    "comment": "SELECT 1 FROM comments WHERE id = ?",
    "document": "SELECT 1 FROM documents WHERE id = ?",
    "person": "SELECT 1 FROM people WHERE id = ?",
}


def parse_target(db: Database, target: str) -> tuple[str, str]:
    """(kind, id) of a target written ``kind:id``; the target must exist."""
    kind, _, ident = target.partition(":")
    if kind not in TARGET_TYPES or not ident:
        raise CxkbError(f"target {target!r} must be kind:id with kind one of "
                        f"{', '.join(TARGET_TYPES)} (for example statement:st1a2b3c)")
    if not db.execute(_TARGET_SQL[kind], [ident]).fetchone():
        raise NotFound(f"no {kind} with id {ident!r}")
    return kind, ident
# When a target has labels from several methods, human wins, then rule, then model (the
# ``effective_labels`` view); a rule label is written only where it knows better than
# the model: an agreement inheriting the position of the person agreed with.


def set_label(
    db: Database,
    target_type: str,
    target_id: str,
    debate: str,
    label: str,
    *,
    method: str,
    confidence: float | None = None,
    model_version: str | None = None,
    evidence: Any = None,
    note: str | None = None,
    annotator: str | None = None,
) -> None:
    """Record ``label`` for a target in a debate under ``method`` (insert or update)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if target_type not in TARGET_TYPES:
        raise ValueError(f"target type must be one of {TARGET_TYPES}, not {target_type!r}")
    now = utc_now()
    db.execute(
        """
        INSERT INTO labels (target_type, target_id, debate, label, confidence, method,
                            model_version, evidence, note, annotator, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (target_type, target_id, debate, method) DO UPDATE SET
            label = excluded.label, confidence = excluded.confidence,
            model_version = excluded.model_version, evidence = excluded.evidence,
            note = excluded.note, annotator = excluded.annotator,
            updated_at = excluded.updated_at
        """,
        [target_type, target_id, debate, label, confidence, method, model_version,
         json.dumps(evidence) if evidence is not None else None, note, annotator, now, now],
    )


def delete_automatic_labels(db: Database, debate: str, method: str) -> int:
    """Remove every ``rule`` or ``model`` label of a debate (before a re-run)."""
    if method == "human":
        raise HumanLabelProtected("human labels are never removed by an automatic re-run")
    cursor = db.execute("DELETE FROM labels WHERE debate = ? AND method = ?", [debate, method])
    return cursor.rowcount


def archive_labels(
    db: Database, target_type: str, target_ids: Iterable[str], *, reason: str,
    snapshots: dict[str, dict] | None = None,
) -> int:
    """Move every label of these targets to ``label_archive``; return how many were moved.

    Human labels are copied with a snapshot of what they labelled; automatic ones are
    copied too, so a restore can show what the model had said.
    """
    ids = list(target_ids)
    rows = list(db.query(
        "SELECT * FROM labels WHERE target_type = ?"
        " AND target_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        [target_type, json.dumps(ids)],
    ))
    for row in rows:
        _archive_row(db, row, reason, (snapshots or {}).get(row["target_id"]))
        db.execute("DELETE FROM labels WHERE id = ?", [row["id"]])
    return len(rows)


def _archive_row(db: Database, row: dict, reason: str, snapshot: dict | None = None) -> None:
    db["label_archive"].insert({
        "label_id": row["id"], "target_type": row["target_type"],
        "target_id": row["target_id"], "debate": row["debate"], "label": row["label"],
        "confidence": row["confidence"], "method": row["method"],
        "model_version": row["model_version"], "evidence": row["evidence"],
        "note": row["note"], "annotator": row.get("annotator"),
        "created_at": row["created_at"], "archived_at": utc_now(), "reason": reason,
        "target_snapshot": json.dumps(snapshot) if snapshot is not None else None,
    })


def human_label(db: Database, target_type: str, target_id: str, debate: str) -> dict | None:
    rows = list(db.query(
        "SELECT * FROM labels WHERE target_type = ? AND target_id = ? AND debate = ?"
        " AND method = 'human'", [target_type, target_id, debate]))
    return rows[0] if rows else None


def record_human_label(
    db: Database, target_type: str, target_id: str, debate: str, label: str, *,
    annotator: str, note: str | None = None,
) -> dict | None:
    """Record a person's label; a previous human label goes to the history first.

    Returns the label it replaced, if any. Model runs never touch this row.
    """
    with db.conn:
        previous = human_label(db, target_type, target_id, debate)
        if previous is not None:
            _archive_row(db, previous, "replaced")
            db.execute("DELETE FROM labels WHERE id = ?", [previous["id"]])
        set_label(db, target_type, target_id, debate, label, method="human", confidence=1.0,
                  note=note, annotator=annotator)
    return previous


def undo_human_label(db: Database, target_type: str, target_id: str,
                     debate: str) -> tuple[dict | None, dict | None]:
    """Undo the latest human label of a target: it goes to the history (``undone``) and the
    label it had replaced, if any, comes back. Returns (undone, restored)."""
    with db.conn:
        current = human_label(db, target_type, target_id, debate)
        if current is None:
            return None, None
        _archive_row(db, current, "undone")
        db.execute("DELETE FROM labels WHERE id = ?", [current["id"]])
        # only a label the current one replaced, never one from before its target was
        # removed (a deleted source, a merged person) and came back
        earlier = list(db.query(
            "SELECT * FROM label_archive AS a WHERE target_type = :type AND target_id = :id"
            " AND debate = :debate AND method = 'human' AND reason = 'replaced'"
            " AND restored_at IS NULL AND NOT EXISTS (SELECT 1 FROM label_archive AS r"
            " WHERE r.target_type = :type AND r.target_id = :id AND r.debate = :debate"
            " AND r.method = 'human' AND r.reason NOT IN ('replaced', 'undone')"
            " AND r.id > a.id) ORDER BY id DESC LIMIT 1",
            {"type": target_type, "id": target_id, "debate": debate}))
        restored = earlier[0] if earlier else None
        if restored is not None:
            set_label(db, target_type, target_id, debate, restored["label"], method="human",
                      confidence=1.0, note=restored["note"], annotator=restored["annotator"])
            db.execute("UPDATE label_archive SET restored_at = ? WHERE id = ?",
                       [utc_now(), restored["id"]])
    return current, restored

