"""Tables as rows for export, and writers for JSON Lines, CSV and JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from sqlite_utils import Database

FORMATS = ("jsonl", "csv", "json")

_QUERIES = {
    "sources": "SELECT * FROM sources ORDER BY first_ingested_at, id",
    "documents": """
        SELECT id, source_id, url, site, title, author, author_person_id, author_role,
               published, published_text, body, declared_comment_count,
               (SELECT count(*) FROM comments c WHERE c.document_id = d.id
                  AND c.kind = 'comment' AND c.missing_since IS NULL) AS comment_count,
               extra, created_at, updated_at
        FROM documents d ORDER BY published IS NULL, published, title, id""",
    "comments": """
        SELECT c.id, c.document_id, c.parent_id, c.position, c.depth, c.author, c.author_url,
               c.author_person_id, c.posted_at, c.posted_at_text, c.kind, c.text,
               c.external_id, c.permalink, c.missing_since, c.created_at, c.updated_at
        FROM comments c JOIN documents d ON d.id = c.document_id
        ORDER BY d.published IS NULL, d.published, d.title, d.id, c.position""",
    "statements": """
        SELECT id, document_id, comment_id, start, "end", text, speaker, speaker_person_id,
               kind, flag, method, created_at
        FROM statements ORDER BY coalesce(document_id, comment_id), start""",
    "people": """
        SELECT p.id, p.name, p.description,
               (SELECT json_group_array(alias) FROM person_aliases a
                 WHERE a.person_id = p.id) AS aliases,
               (SELECT count(*) FROM documents d WHERE d.author_person_id = p.id) AS documents,
               (SELECT count(*) FROM comments c WHERE c.author_person_id = p.id) AS comments
        FROM people p ORDER BY p.name, p.id""",
    "labels": """
        SELECT id, target_type, target_id, debate, label, confidence, method, model_version,
               evidence, note, annotator, created_at, updated_at
        FROM labels ORDER BY debate, target_type, target_id, method""",
    "relations": """
        SELECT r.id, r.kind, r.document_id, r.source_comment_id, r.target_comment_id,
               r.source_name AS source, r.target_name AS target, r.source_person_id,
               r.target_person_id, r.statement_id, r.evidence, r.method
        FROM relations r ORDER BY r.document_id, r.id""",
    "figures": """
        SELECT f.id, f.value, f.measure, f.population, f.source, f.statement_id,
               f.document_id, f.comment_id, s.text AS statement, f.start, f."end"
        FROM figures f LEFT JOIN statements s ON s.id = f.statement_id
        ORDER BY coalesce(f.document_id, f.comment_id), f.start""",
    "topics": """
        SELECT t.id, coalesce(t.custom_label, t.label) AS label,
               (SELECT count(*) FROM topic_assignments a WHERE a.topic_id = t.id) AS size,
               t.keywords,
               (SELECT json_group_array(text) FROM (
                   SELECT s.text FROM json_each(t.representative) AS j
                   JOIN statements AS s ON s.id = j.value ORDER BY j.key)) AS representative,
               t.label AS generated_label, t.status, t.merged_into, t.x, t.y
        FROM topics t WHERE t.status = 'active' ORDER BY t.id = -1, size DESC, t.id""",
    "topic_assignments": """
        SELECT a.statement_id, a.topic_id, a.score, a.method, s.text, s.speaker
        FROM topic_assignments a JOIN statements s ON s.id = a.statement_id
        ORDER BY a.topic_id, a.score DESC""",
    "person_positions": """
        SELECT pp.person_id, p.name AS person, pp.document_id, d.title AS document,
               pp.debate, pp.label, pp.confidence, pp.method, pp.model_version
        FROM person_positions pp JOIN people p ON p.id = pp.person_id
        JOIN documents d ON d.id = pp.document_id
        ORDER BY pp.debate, p.name, d.title""",
    "label_archive": "SELECT * FROM label_archive ORDER BY archived_at, id",
}
TABLES = tuple(_QUERIES)
_JSON_COLUMNS = {"extra", "aliases", "evidence", "target_snapshot", "keywords",
                 "representative"}
# tables whose evidence is the words themselves, not JSON
_PLAIN_EVIDENCE = {"relations"}


def export_rows(db: Database, table: str) -> Iterator[dict[str, Any]]:
    """Rows of one exportable table, JSON columns decoded, in a stable order."""
    if table not in _QUERIES:
        raise ValueError(f"cannot export {table!r}; choose from {', '.join(TABLES)}")
    json_columns = _JSON_COLUMNS - {"evidence"} if table in _PLAIN_EVIDENCE else _JSON_COLUMNS
    for row in db.query(_QUERIES[table]):
        for column in json_columns & row.keys():
            if row[column] is not None:
                row[column] = json.loads(row[column])
        yield row


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: TextIO) -> int:
    """Write rows to ``out`` as jsonl, csv or json; return how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
    else:
        writer = None
        for row in rows:
            flat = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                    for k, v in row.items()}
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(flat))
                writer.writeheader()
            writer.writerow(flat)
            count += 1
    return count
