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
from kb.errors import HumanLabelProtected

METHODS = ("rule", "model", "human")
TARGET_TYPES = ("statement", "comment", "document", "person")
# higher wins when a target has labels from several methods
METHOD_PRECEDENCE = {"rule": 0, "model": 1, "human": 2}


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
                            model_version, evidence, note, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (target_type, target_id, debate, method) DO UPDATE SET
            label = excluded.label, confidence = excluded.confidence,
            model_version = excluded.model_version, evidence = excluded.evidence,
            note = excluded.note, updated_at = excluded.updated_at
        """,
        [target_type, target_id, debate, label, confidence, method, model_version,
         json.dumps(evidence) if evidence is not None else None, note, now, now],
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
    now = utc_now()
    rows = list(db.query(
        "SELECT * FROM labels WHERE target_type = ?"
        " AND target_id IN (SELECT value FROM json_each(?)) ORDER BY id",
        [target_type, json.dumps(ids)],
    ))
    for row in rows:
        snapshot = (snapshots or {}).get(row["target_id"])
        db["label_archive"].insert({
            "label_id": row["id"], "target_type": row["target_type"],
            "target_id": row["target_id"], "debate": row["debate"], "label": row["label"],
            "confidence": row["confidence"], "method": row["method"],
            "model_version": row["model_version"], "evidence": row["evidence"],
            "note": row["note"], "created_at": row["created_at"], "archived_at": now,
            "reason": reason,
            "target_snapshot": json.dumps(snapshot) if snapshot is not None else None,
        })
        db.execute("DELETE FROM labels WHERE id = ?", [row["id"]])
    return len(rows)
