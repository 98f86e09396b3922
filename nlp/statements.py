"""Cutting documents and comments into statements with spaCy.

A statement is a sentence, with very short sentences ("Yes.", "Hi Bruce") merged into a
neighbour so that each makes a point, and offsets into the text it came from. Lines and
paragraphs are hard boundaries: a statement never runs across a line break, which is how
comment threads and plain-text copies separate their thoughts.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Iterable

from sqlite_utils import Database

from kb.statements import StatementRecord, needs_segmenting, replace_statements

log = logging.getLogger(__name__)

METHOD = "spacy-sentences-1"
MIN_WORDS = 3  # sentences shorter than this are merged into a neighbour
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"\w+")


def split_statements(nlp: Any, texts: Iterable[str]) -> list[list[tuple[int, int]]]:
    """Character spans of the statements of each text."""
    texts = list(texts)
    units: list[tuple[int, int, int]] = []  # (text index, line start, line end)
    for i, text in enumerate(texts):
        for m in _LINE.finditer(text):
            line = m.group()
            start = m.start() + (len(line) - len(line.lstrip()))
            end = m.end() - (len(line) - len(line.rstrip()))
            if end > start:
                units.append((i, start, end))
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    docs = nlp.pipe((texts[i][s:e] for i, s, e in units), batch_size=128)
    for (i, s, _e), doc in zip(units, docs):
        spans: list[list[int]] = []
        for sent in doc.sents:
            text = sent.text.strip()
            if not text:
                continue
            start = s + sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
            end = start + len(text)
            if spans and len(_WORD.findall(text)) < MIN_WORDS:
                spans[-1][1] = end  # a short tail joins the sentence before it
            elif spans and len(_WORD.findall(texts[i][spans[-1][0]:spans[-1][1]])) < MIN_WORDS:
                spans[-1][1] = end  # a short head joins the sentence after it
            else:
                spans.append([start, end])
        out[i].extend((a, b) for a, b in spans)
    return out


def segment_knowledge_base(db: Database, nlp: Any | None = None,
                           progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Split every document and comment whose text changed since it was last split."""
    from nlp.models import load_spacy

    todo: list[tuple[str, dict]] = []
    for row in db.query("SELECT id, body AS text, author AS speaker, author_person_id AS"
                        " person FROM documents"):
        if needs_segmenting(db, "document", row["id"], row["text"], METHOD):
            todo.append(("document", row))
    for row in db.query("SELECT id, text, author AS speaker, author_person_id AS person"
                        " FROM comments"):
        if needs_segmenting(db, "comment", row["id"], row["text"], METHOD):
            todo.append(("comment", row))
    counts = {"segmented": 0, "statements_added": 0, "statements_removed": 0}
    if not todo:
        return counts
    if progress:
        progress(f"splitting {len(todo)} document(s) and comment(s) into statements")
    nlp = nlp or load_spacy()
    spans = split_statements(nlp, (row["text"] for _, row in todo))
    with db.conn:
        for (parent_type, row), found in zip(todo, spans):
            kind = "narration" if parent_type == "document" else "comment"
            records = [StatementRecord(a, b, row["text"][a:b], row["speaker"], row["person"],
                                       kind) for a, b in found]
            added, removed = replace_statements(db, parent_type, row["id"], row["text"],
                                                records, METHOD)
            counts["segmented"] += 1
            counts["statements_added"] += added
            counts["statements_removed"] += removed
    return counts
