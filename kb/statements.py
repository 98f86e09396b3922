"""Statements in the knowledge base: replacing the statements cut from a document or a
comment, without losing the labels of the ones that stay.

Statement ids are derived from where the statement sits and what it says, so splitting
unchanged text again gives the same ids and keeps every label; a sentence that only
moved (text edited before it) keeps its human labels under its new id; statements that go
away have their labels archived first (human ones with a snapshot of the statement).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlite_utils import Database

from kb.db import utc_now
from kb.labels import archive_labels


@dataclass(frozen=True)
class StatementRecord:
    start: int
    end: int
    text: str
    speaker: str | None
    speaker_person_id: str | None
    kind: str  # narration | quote | reported | comment
    flag: str | None = None  # "uncertain": the speaker is a guess (the document's author)


def statement_id_for(parent_type: str, parent_id: str, start: int, text: str) -> str:
    key = f"{parent_type}:{parent_id}:{start}:{text}"
    return "st" + hashlib.sha1(key.encode()).hexdigest()[:14]


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def needs_segmenting(db: Database, parent_type: str, parent_id: str, text: str,
                     method: str) -> bool:
    row = db.execute("SELECT text_hash, method FROM segmented WHERE parent_type = ?"
                     " AND parent_id = ?", [parent_type, parent_id]).fetchone()
    return row is None or row[0] != text_hash(text) or row[1] != method


def replace_statements(db: Database, parent_type: str, parent_id: str, text: str,
                       statements: list[StatementRecord], method: str) -> tuple[int, int]:
    """Make ``statements`` the statements of a document or comment; return (added, removed)."""
    column = {"document": "document_id", "comment": "comment_id"}[parent_type]
    now = utc_now()
    wanted = {statement_id_for(parent_type, parent_id, s.start, s.text): s for s in statements}
    existing = {row["id"]: row for row in db.query(
        f"SELECT * FROM statements WHERE {column} = ?", [parent_id])}  # column from a fixed map
    gone = [sid for sid in existing if sid not in wanted]
    for old_id, new_id in _moved(existing, wanted, gone).items():
        _move_human_labels(db, old_id, new_id)  # the row under the new id is added below
    if gone:
        archive_labels(db, "statement", gone, reason="statement re-split",
                       snapshots={sid: existing[sid] for sid in gone})
        db.execute("DELETE FROM statements WHERE id IN (SELECT value FROM json_each(?))",
                   [json.dumps(gone)])
    added = 0
    for sid, s in wanted.items():
        row = {"id": sid, "document_id": parent_id if parent_type == "document" else None,
               "comment_id": parent_id if parent_type == "comment" else None,
               "start": s.start, "end": s.end, "text": s.text, "speaker": s.speaker,
               "speaker_person_id": s.speaker_person_id, "kind": s.kind, "method": method,
               "flag": s.flag}
        if sid in existing:
            db["statements"].update(sid, {k: v for k, v in row.items() if k != "id"})
        else:
            db["statements"].insert({**row, "created_at": now})
            added += 1
    db["segmented"].upsert({"parent_type": parent_type, "parent_id": parent_id,
                            "text_hash": text_hash(text), "method": method,
                            "segmented_at": now}, pk=("parent_type", "parent_id"))
    return added, len(gone)


def _moved(existing: dict[str, dict], wanted: dict[str, StatementRecord],
           gone: list[str]) -> dict[str, str]:
    """Statements that only moved (an edit before them in their text): old id -> new id.

    The id follows the statement's place, so a sentence whose text is unchanged gets a
    new id when something before it was edited; it is still the statement a person
    labelled. Equal texts pair up in order of place.
    """
    new_by_text: dict[str, list[str]] = {}
    for sid, s in sorted(wanted.items(), key=lambda item: item[1].start):
        if sid not in existing:
            new_by_text.setdefault(s.text, []).append(sid)
    moved: dict[str, str] = {}
    for sid in sorted(gone, key=lambda sid: existing[sid]["start"]):
        candidates = new_by_text.get(existing[sid]["text"])
        if candidates:
            moved[sid] = candidates.pop(0)
    return moved


def _move_human_labels(db: Database, old_id: str, new_id: str) -> None:
    """Give a moved statement's human labels, and their history (what an undo brings
    back), to its new id; its automatic labels are archived with the old id."""
    db.execute("UPDATE labels SET target_id = ? WHERE target_type = 'statement'"
               " AND target_id = ? AND method = 'human'", [new_id, old_id])
    db.execute("UPDATE label_archive SET target_id = ? WHERE target_type = 'statement'"
               " AND target_id = ? AND method = 'human'", [new_id, old_id])
