"""Writing ingested records into the knowledge base with stable ids.

Ingesting the same source twice changes nothing; ingesting a changed source updates its
rows in place (an edited comment keeps its id and its labels). A comment that disappears
from its page is kept and marked missing (``missing_since``), with its statements and
labels, and unmarked if it comes back. A document that disappears from a multi-document
source (an export) is removed with its statements, and every label on it is archived first.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

from sqlite_utils import Database

from kb.db import utc_now, write_transaction
from kb.errors import NotFound
from kb.labels import archive_labels
from kb.people import ensure_person
from kb.records import CommentRecord, DocumentRecord, SourceRecord


@dataclass
class StoreCounts:
    """What one or more stores changed."""

    documents_added: int = 0
    documents_updated: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    comments_added: int = 0
    comments_updated: int = 0
    comments_unchanged: int = 0
    comments_removed: int = 0
    comments_missing: int = 0
    labels_archived: int = 0

    def __iadd__(self, other: StoreCounts) -> Self:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def source_id_for(locator: str) -> str:
    return "s" + _digest(locator)


def document_id_for(source_locator: str, index: int, url: str | None) -> str:
    """Documents with a URL are keyed by it; others by their place in their source."""
    return "d" + _digest(f"url:{url}" if url else f"src:{source_locator}#{index}")


def _fingerprint(comment: CommentRecord) -> str:
    text = re.sub(r"\W+", " ", comment.text).casefold().strip()
    return f"{comment.author or ''}|{comment.posted_at_text or ''}|{text}"


def comment_ids_for(document_id: str, comments: list[CommentRecord]) -> list[str]:
    """Stable ids: the platform's id when there is one, else author, date and text."""
    seen: dict[str, int] = {}
    ids = []
    for comment in comments:
        key = f"ext:{comment.external_id}" if comment.external_id else f"fp:{_fingerprint(comment)}"
        seen[key] = seen.get(key, 0) + 1
        ids.append("c" + _digest(f"{document_id}|{key}|{seen[key]}"))
    return ids


_PLACE = ("position", "depth")


def _changed(existing: dict[str, Any], row: dict[str, Any]) -> bool:
    return any(existing.get(k) != v for k, v in row.items())


def _match_edited(
    new_comments: list[CommentRecord], new_ids: list[str], old_rows: dict[str, dict]
) -> list[str]:
    """Give a comment whose text was edited the id it had before (same author, similar text)."""
    unmatched_old = [cid for cid in old_rows if cid not in set(new_ids)]
    ids = list(new_ids)
    for i, (comment, cid) in enumerate(zip(new_comments, new_ids)):
        if cid in old_rows or not unmatched_old:
            continue
        best, best_ratio = None, 0.0
        for old_id in unmatched_old:
            old = old_rows[old_id]
            if old["author"] != comment.author or old["kind"] != comment.kind:
                continue
            if comment.posted_at_text and old["posted_at_text"] == comment.posted_at_text:
                ratio = 1.0
            else:
                ratio = difflib.SequenceMatcher(None, old["text"], comment.text).quick_ratio()
            if ratio > best_ratio:
                best, best_ratio = old_id, ratio
        if best is not None and best_ratio >= 0.6:
            ids[i] = best
            unmatched_old.remove(best)
    return ids


def store_source(
    db: Database, source: SourceRecord, documents: list[DocumentRecord]
) -> StoreCounts:
    """Store a successfully parsed source and its documents in one transaction."""
    counts = StoreCounts()
    now = utc_now()
    source_id = source_id_for(source.locator)
    with write_transaction(db):
        existing_source = next(db["sources"].rows_where("id = ?", [source_id]), None)
        db["sources"].upsert({
            "id": source_id, "locator": source.locator, "kind": source.kind,
            "parser": source.parser, "content_hash": source.content_hash,
            "encoding": source.encoding, "status": "ok", "error": None, "url": source.url,
            "first_ingested_at": existing_source["first_ingested_at"] if existing_source else now,
            "last_ingested_at": now,
        }, pk="id")
        kept_documents = set()
        for index, document in enumerate(documents):
            document_id = document_id_for(source.locator, index, document.url)
            kept_documents.add(document_id)
            counts += _store_document(db, source_id, document_id, document, now)
        gone = [row["id"] for row in db.query(
            "SELECT id FROM documents WHERE source_id = ?", [source_id]
        ) if row["id"] not in kept_documents]
        if gone:
            counts.labels_archived += remove_documents(db, gone, reason="gone from its source")
            counts.documents_removed += len(gone)
    return counts


def _has(db: Database, table: str, pk: str) -> bool:
    return db[table].count_where("id = ?", [pk]) > 0


def _store_document(
    db: Database, source_id: str, document_id: str, document: DocumentRecord, now: str
) -> StoreCounts:
    counts = StoreCounts()
    row = {
        "source_id": source_id, "url": document.url, "site": document.site,
        "title": document.title, "author": document.author,
        "author_person_id": ensure_person(db, document.author),
        "author_role": document.author_role, "published": document.published,
        "published_text": document.published_text, "body": document.body,
        "declared_comment_count": document.declared_comment_count,
        "extra": json.dumps(document.extra, sort_keys=True) if document.extra else None,
    }
    old = next(db["documents"].rows_where("id = ?", [document_id]), None)
    if old is None:
        db["documents"].insert({"id": document_id, **row, "created_at": now, "updated_at": now})
        counts.documents_added += 1
    else:
        if not document.thread_complete or document.extra.get("body_missing"):
            row = _fill_gaps(old, row, document)
        if _changed(old, row):
            db["documents"].update(document_id, {**row, "updated_at": now})
            counts.documents_updated += 1
        else:
            counts.documents_unchanged += 1
    if document.thread_complete:
        counts += _store_comments(db, document_id, document.comments, now)
    else:
        counts += _add_comments(db, document_id, document.comments, now)
    return counts


def _fill_gaps(old: dict[str, Any], row: dict[str, Any], document: DocumentRecord) -> dict:
    """A partial source (a feed, a comment feed) adds what the stored document lacks and
    changes nothing else; the document stays with the source that holds its thread."""
    merged = {key: (old[key] if old.get(key) not in (None, "") else value)
              for key, value in row.items()}
    extra = json.loads(old["extra"]) if old.get("extra") else {}
    extra.update({k: v for k, v in document.extra.items() if k not in extra})
    if merged["body"]:
        extra.pop("body_missing", None)
    merged["extra"] = json.dumps(extra, sort_keys=True) if extra else None
    return merged


def _add_comments(
    db: Database, document_id: str, comments: list[CommentRecord], now: str
) -> StoreCounts:
    """Comments from a partial source: new ones are added after the stored thread, known
    ones only gain what they lacked (never their parent, place or text)."""
    counts = StoreCounts()
    old_rows = {row["id"]: row for row in db.query(
        "SELECT * FROM comments WHERE document_id = ?", [document_id])}
    ids = _match_edited(comments, comment_ids_for(document_id, comments), old_rows)
    position = max((row["position"] for row in old_rows.values()), default=0)
    depths: dict[str, int] = {cid: row["depth"] for cid, row in old_rows.items()}
    for comment, comment_id in zip(comments, ids):
        parent_id = ids[comment.parent] if comment.parent is not None else None
        old = old_rows.get(comment_id)
        if old is None:
            position += 1
            depth = depths.get(parent_id, -1) + 1 if parent_id else 0
            depths[comment_id] = depth
            db["comments"].insert({
                "id": comment_id, "document_id": document_id, "parent_id": parent_id,
                "position": position, "depth": depth, "author": comment.author,
                "author_url": comment.author_url,
                "author_person_id": ensure_person(db, comment.author,
                                                  handle=comment.author_handle),
                "posted_at": comment.posted_at, "posted_at_text": comment.posted_at_text,
                "text": comment.text, "external_id": comment.external_id,
                "permalink": comment.permalink, "kind": comment.kind,
                "created_at": now, "updated_at": now,
            })
            counts.comments_added += 1
            continue
        gaps = {key: value for key, value in {
            "author_url": comment.author_url, "posted_at": comment.posted_at,
            "posted_at_text": comment.posted_at_text, "external_id": comment.external_id,
            "permalink": comment.permalink}.items() if value and not old.get(key)}
        if gaps:
            db["comments"].update(comment_id, {**gaps, "updated_at": now})
            counts.comments_updated += 1
        else:
            counts.comments_unchanged += 1
    return counts


def _store_comments(
    db: Database, document_id: str, comments: list[CommentRecord], now: str
) -> StoreCounts:
    counts = StoreCounts()
    old_rows = {row["id"]: row for row in db.query(
        "SELECT * FROM comments WHERE document_id = ?", [document_id])}
    ids = _match_edited(comments, comment_ids_for(document_id, comments), old_rows)
    depths: list[int] = []
    for position, (comment, comment_id) in enumerate(zip(comments, ids), start=1):
        parent_id = ids[comment.parent] if comment.parent is not None else None
        depth = depths[comment.parent] + 1 if comment.parent is not None else 0
        depths.append(depth)
        row = {
            "document_id": document_id, "parent_id": parent_id, "position": position,
            "depth": depth, "author": comment.author, "author_url": comment.author_url,
            "author_person_id": ensure_person(db, comment.author, handle=comment.author_handle),
            "posted_at": comment.posted_at, "posted_at_text": comment.posted_at_text,
            "text": comment.text, "external_id": comment.external_id,
            "permalink": comment.permalink, "kind": comment.kind, "missing_since": None,
        }
        old = old_rows.get(comment_id)
        if old is None:
            # parents precede their replies, so the parent row already exists
            db["comments"].insert({"id": comment_id, **row, "created_at": now, "updated_at": now})
            counts.comments_added += 1
        elif _changed(old, {k: v for k, v in row.items() if k not in _PLACE}):
            db["comments"].update(comment_id, {**row, "updated_at": now})
            counts.comments_updated += 1
        else:
            if _changed(old, row):  # moved in the thread (others came or went): not an edit
                db["comments"].update(comment_id, {k: row[k] for k in _PLACE})
            counts.comments_unchanged += 1
    kept = set(ids)
    gone = [cid for cid, row in old_rows.items()
            if cid not in kept and row.get("missing_since") is None]
    if gone:
        # kept, with their statements and labels: a page that drops a comment (moderation,
        # a broken page, pagination) must not take an analyst's work with it
        db.execute("UPDATE comments SET missing_since = ? "
                   "WHERE id IN (SELECT value FROM json_each(?))", [now, json.dumps(gone)])
        counts.comments_missing += len(gone)
    return counts


_IN_IDS = "IN (SELECT value FROM json_each(?))"


def _snapshots(db: Database, table: str, ids: list[str]) -> dict[str, dict]:
    return {row["id"]: row for row in db[table].rows_where("id " + _IN_IDS, [json.dumps(ids)])}


def _archive_statements(db: Database, column: str, ids: list[str], reason: str) -> int:
    """Archive the labels of the statements whose ``column`` (document_id/comment_id) is in ids."""
    statement_ids = [row["id"] for row in db["statements"].rows_where(
        column + " " + _IN_IDS, [json.dumps(ids)], select="id")]
    if not statement_ids:
        return 0
    return archive_labels(db, "statement", statement_ids, reason=reason,
                          snapshots=_snapshots(db, "statements", statement_ids))


def remove_comments(db: Database, comment_ids: list[str], *, reason: str) -> int:
    """Delete comments and their statements, archiving their labels; return labels archived."""
    archived = _archive_statements(db, "comment_id", comment_ids, reason)
    archived += archive_labels(db, "comment", comment_ids, reason=reason,
                               snapshots=_snapshots(db, "comments", comment_ids))
    db.execute("DELETE FROM comments WHERE id IN (SELECT value FROM json_each(?))",
               [json.dumps(comment_ids)])
    return archived


def remove_documents(db: Database, document_ids: list[str], *, reason: str) -> int:
    """Delete documents with their comments and statements, archiving every label."""
    archived = 0
    comment_ids = [row[0] for row in db.execute(
        "SELECT id FROM comments WHERE document_id IN (SELECT value FROM json_each(?))",
        [json.dumps(document_ids)])]
    if comment_ids:
        archived += remove_comments(db, comment_ids, reason=reason)
    archived += _archive_statements(db, "document_id", document_ids, reason)
    snapshots = _snapshots(db, "documents", document_ids)
    for snapshot in snapshots.values():
        snapshot.pop("body", None)
    archived += archive_labels(db, "document", document_ids, reason=reason, snapshots=snapshots)
    db.execute("DELETE FROM documents WHERE id IN (SELECT value FROM json_each(?))",
               [json.dumps(document_ids)])
    return archived


def record_failure(db: Database, source: SourceRecord, error: str) -> None:
    """Note that a source failed; whatever it stored before stays as it was."""
    now = utc_now()
    source_id = source_id_for(source.locator)
    with db.conn:
        if _has(db, "sources", source_id):
            db["sources"].update(source_id, {"status": "failed", "error": error,
                                             "last_ingested_at": now})
        else:
            db["sources"].insert({
                "id": source_id, "locator": source.locator, "kind": source.kind,
                "parser": source.parser, "content_hash": source.content_hash,
                "encoding": source.encoding, "status": "failed", "error": error,
                "first_ingested_at": now, "last_ingested_at": now,
            })


def delete_source(db: Database, source_id: str) -> StoreCounts:
    """Remove a source with its documents, comments and statements; labels are archived."""
    counts = StoreCounts()
    with db.conn:
        if not _has(db, "sources", source_id):
            raise NotFound(f"no source with id {source_id!r} (see `cxkb export sources`)")
        document_ids = [row[0] for row in db.execute(
            "SELECT id FROM documents WHERE source_id = ?", [source_id])]
        counts.comments_removed = db.execute(
            "SELECT count(*) FROM comments WHERE document_id IN (SELECT value FROM json_each(?))",
            [json.dumps(document_ids)]).fetchone()[0]
        if document_ids:
            counts.labels_archived = remove_documents(
                db, document_ids, reason=f"source {source_id} deleted")
        counts.documents_removed = len(document_ids)
        db.execute("DELETE FROM sources WHERE id = ?", [source_id])
    return counts
