"""Full-text search (SQLite FTS5) over documents, comments and statements.

Snippets mark matches with the control characters ``HIT_START``/``HIT_END`` so that each
front end can escape the text first and highlight afterwards (``snippet_parts``).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from sqlite_utils import Database

from kb.errors import SearchError

HIT_START, HIT_END = "\x02", "\x03"
KINDS = ("document", "comment", "statement")

_QUERIES = {
    "document": """
        SELECT 'document' AS kind, d.id AS id, d.id AS document_id, d.title AS title,
               d.author AS author, snippet(documents_fts, -1, char(2), char(3), '…', 24) AS snippet,
               bm25(documents_fts) AS rank
        FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid
        WHERE documents_fts MATCH :q""",
    "comment": """
        SELECT 'comment' AS kind, c.id AS id, c.document_id AS document_id, d.title AS title,
               c.author AS author, snippet(comments_fts, -1, char(2), char(3), '…', 24) AS snippet,
               bm25(comments_fts) AS rank
        FROM comments_fts JOIN comments c ON c.rowid = comments_fts.rowid
        JOIN documents d ON d.id = c.document_id
        WHERE comments_fts MATCH :q""",
    "statement": """
        SELECT 'statement' AS kind, s.id AS id,
               coalesce(s.document_id, c.document_id) AS document_id, d.title AS title,
               s.speaker AS author,
               snippet(statements_fts, -1, char(2), char(3), '…', 24) AS snippet,
               bm25(statements_fts) AS rank
        FROM statements_fts JOIN statements s ON s.rowid = statements_fts.rowid
        LEFT JOIN comments c ON c.id = s.comment_id
        JOIN documents d ON d.id = coalesce(s.document_id, c.document_id)
        WHERE statements_fts MATCH :q""",
}


@dataclass
class SearchHit:
    kind: str  # document | comment | statement
    id: str
    document_id: str
    title: str
    author: str | None
    snippet: str  # matches wrapped in HIT_START ... HIT_END
    rank: float


@dataclass
class SearchResults:
    query: str
    hits: list[SearchHit]
    counts: dict[str, int]  # matches per kind, for facets

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def literal_query(query: str) -> str:
    """The query with every word quoted, so FTS5 operators and punctuation lose meaning."""
    words = re.findall(r"\w+", query)
    return " ".join(f'"{w}"' for w in words)


_TERMS = re.compile(r'"([^"]*)"|(\w+)(\*?)')


def words_query(text: str) -> str:
    """An FTS5 query for text that contains every word of ``text``: a word matches any
    form of itself (the index stems: "owns" finds "own"), ``"quoted words"`` match as a
    phrase and ``word*`` as a prefix. Operators and punctuation are not read, so the
    query can never be refused; no words gives ''."""
    parts = []
    for phrase, word, star in _TERMS.findall(text):
        if word:
            parts.append(f'"{word}"{star}')
        elif words := re.findall(r"\w+", phrase):
            parts.append('"' + " ".join(words) + '"')
    return " ".join(parts)


def _run(db: Database, sql: str, params: dict, query: str) -> list[sqlite3.Row]:
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as error:
        detail = str(error).replace("fts5: ", "")
        hint = literal_query(query)
        suggestion = f" Try {hint} to search for the words themselves." if hint else ""
        raise SearchError(
            f"cannot search for {query!r}: {detail}. FTS5 syntax: words, \"exact phrases\", "
            f"AND, OR, NOT, prefix*, NEAR(a b).{suggestion}"
        ) from None


def search(
    db: Database, query: str, *, kinds: tuple[str, ...] = KINDS, limit: int = 20,
    offset: int = 0,
) -> SearchResults:
    """Matches for an FTS5 ``query`` over the chosen kinds, best first."""
    if not query or not query.strip():
        raise SearchError("the search query is empty: type one or more words")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise SearchError(f"unknown kind(s) {sorted(unknown)}; choose from {list(KINDS)}")
    counts = {}
    for kind in kinds:
        count_sql = "SELECT count(*) FROM (" + _QUERIES[kind] + ")"
        counts[kind] = _run(db, count_sql, {"q": query}, query)[0][0]
    union = " UNION ALL ".join(_QUERIES[kind] for kind in kinds)
    rows = _run(db, union + " ORDER BY rank LIMIT :limit OFFSET :offset",
                {"q": query, "limit": limit, "offset": offset}, query)
    hits = [SearchHit(*row) for row in rows]
    return SearchResults(query=query, hits=hits, counts=counts)


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into (text, is_match) pieces for a front end to render safely."""
    parts: list[tuple[str, bool]] = []
    for piece in re.split(f"({HIT_START}.*?{HIT_END})", snippet, flags=re.DOTALL):
        if not piece:
            continue
        if piece.startswith(HIT_START):
            parts.append((piece.strip(HIT_START + HIT_END), True))
        else:
            parts.append((piece, False))
    return parts


def plain_snippet(snippet: str, start: str = "[", end: str = "]") -> str:
    """A snippet with its match markers replaced by printable brackets."""
    return snippet.replace(HIT_START, start).replace(HIT_END, end)
