"""The tables that triggers keep (migrations m007 and m009), each beside the query it is
derived from, and a check that they agree.

``derived_differences`` is what ``bench/web.py --check`` and the trigger tests run: after
any sequence of writes, every kept table must hold exactly the rows its query gives
(counts that fell to 0 are kept as rows with n = 0, and are skipped here).
"""

from __future__ import annotations

from sqlite_utils import Database

# the statement a listing row is about, with its comment and document
_STATEMENT_ROWS = """
    FROM effective_labels AS e JOIN statements AS s ON s.id = e.target_id
    LEFT JOIN comments AS c ON c.id = s.comment_id
    JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
    WHERE e.target_type = 'statement'"""

# name: (what the triggers keep, what it is derived from); fixed SQL, no parameters
DERIVED: dict[str, tuple[str, str]] = {
    "statement_positions": (
        ("SELECT statement_id, debate, label, method, confidence, document_id, person_id,"
         " day, text_length, model_version, topic_id FROM statement_positions"),
        ("SELECT e.target_id, e.debate, e.label, e.method, e.confidence, d.id,"
         " s.speaker_person_id, substr(coalesce(c.posted_at, d.published), 1, 10),"
         " length(s.text), e.model_version, (SELECT a.topic_id FROM topic_assignments AS a"
         " WHERE a.statement_id = s.id)" + _STATEMENT_ROWS)),
    "label_counts": (
        "SELECT debate, target_type, label, n FROM label_counts WHERE n != 0",
        "SELECT debate, target_type, label, count(*) FROM effective_labels GROUP BY 1, 2, 3"),
    "position_counts": (
        "SELECT debate, label, method, n FROM position_counts WHERE n != 0",
        "SELECT debate, label, method, count(*) FROM statement_positions GROUP BY 1, 2, 3"),
    "position_counts_by_document": (
        ("SELECT document_id, debate, label, method, n FROM position_counts_by_document"
         " WHERE n != 0"),
        ("SELECT document_id, debate, label, method, count(*) FROM statement_positions"
         " GROUP BY 1, 2, 3, 4")),
    "position_counts_by_person": (
        ("SELECT person_id, debate, label, method, n FROM position_counts_by_person"
         " WHERE n != 0"),
        ("SELECT person_id, debate, label, method, count(*) FROM statement_positions"
         " WHERE person_id IS NOT NULL GROUP BY 1, 2, 3, 4")),
    "position_counts_by_topic": (
        "SELECT topic_id, debate, label, method, n FROM position_counts_by_topic WHERE n != 0",
        ("SELECT topic_id, debate, label, method, count(*) FROM statement_positions"
         " WHERE topic_id IS NOT NULL GROUP BY 1, 2, 3, 4")),
    "statement_facts": (
        ("SELECT statement_rowid, statement_id, document_id, person_id, speaker, day,"
         " topic_id FROM statement_facts"),
        ("SELECT s.rowid, s.id, d.id, s.speaker_person_id, s.speaker,"
         " substr(coalesce(c.posted_at, d.published), 1, 10),"
         " (SELECT a.topic_id FROM topic_assignments AS a WHERE a.statement_id = s.id)"
         " FROM statements AS s LEFT JOIN comments AS c ON c.id = s.comment_id"
         " JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)")),
    "person_counts": (
        ("SELECT person_id, statements, comments FROM person_counts"
         " WHERE statements != 0 OR comments != 0"),
        ("SELECT person_id, sum(statements), sum(comments) FROM ("
         " SELECT speaker_person_id AS person_id, 1 AS statements, 0 AS comments"
         " FROM statements WHERE speaker_person_id IS NOT NULL"
         " UNION ALL SELECT author_person_id, 0, 1 FROM comments"
         " WHERE author_person_id IS NOT NULL) GROUP BY person_id")),
}


def derived_differences(db: Database) -> dict[str, tuple[set, set]]:
    """For each kept table that differs from its query: (rows only in the table, rows only
    in the query). Empty when every table is right."""
    out = {}
    for name, (kept, derived) in DERIVED.items():
        have = set(db.execute(kept).fetchall())
        want = set(db.execute(derived).fetchall())
        if have != want:
            out[name] = (have - want, want - have)
    return out
