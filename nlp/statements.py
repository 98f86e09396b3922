"""Cutting documents and comments into statements, each with one speaker.

A statement is a sentence, with very short sentences ("Yes.", "Hi Bruce") merged into a
neighbour so that each makes a point, and offsets into the text it came from. Lines and
paragraphs are hard boundaries. In documents, direct quotations and reported speech
(``nlp.quotes``) become statements of the person quoted; the rest is the author's
narration. Statements never overlap.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kb.people import ensure_person
from kb.statements import StatementRecord, needs_segmenting, replace_statements
from nlp.figures import find_figures
from nlp.quotes import SPEECH_VERBS, attribute

log = logging.getLogger(__name__)

METHOD = "spacy-sentences-quotes-2"
MIN_WORDS = 3            # sentences shorter than this are merged into a neighbour
MIN_NARRATION_WORDS = 4  # what is left of a sentence around a quote must be this long
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"\w+")
_ATTRIBUTION_ONLY = re.compile(
    rf"^\W*(?:[A-Z][\w'’.-]*\s+){{0,3}}(?:he|she|they|[A-Z][\w'’.-]*)?\s*(?:{SPEECH_VERBS})\W*$",
    re.IGNORECASE)


@dataclass
class Parsed:
    """A text's sentences (merged) and PERSON mentions, with offsets into the text."""

    sentences: list[tuple[int, int]]
    people: list[tuple[int, int, str]]


def parse_texts(nlp: Any, texts: Iterable[str]) -> list[Parsed]:
    texts = list(texts)
    units: list[tuple[int, int, int]] = []
    for i, text in enumerate(texts):
        for m in _LINE.finditer(text):
            line = m.group()
            start = m.start() + (len(line) - len(line.lstrip()))
            end = m.end() - (len(line) - len(line.rstrip()))
            if end > start:
                units.append((i, start, end))
    out = [Parsed([], []) for _ in texts]
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
        out[i].sentences.extend((a, b) for a, b in spans)
        out[i].people.extend((s + e.start_char, s + e.end_char, e.text)
                             for e in getattr(doc, "ents", ()) if e.label_ == "PERSON")
    return out


def _outside(a: int, b: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces, cursor = [], a
    for x, y in sorted(taken):
        if y <= a or x >= b:
            continue
        if x > cursor:
            pieces.append((cursor, x))
        cursor = max(cursor, y)
    if cursor < b:
        pieces.append((cursor, b))
    return pieces


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and (text[a].isspace() or text[a] in "\"“”‘’',;:—–-"):
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in "\"“”‘’',;:—–-"):
        b -= 1
    return a, b


@dataclass
class DocumentStatement:
    start: int
    end: int
    kind: str
    speaker: str | None
    flag: str | None = None


def attributed_statements(text: str, parsed: Parsed, author: str | None, *,
                          title: str | None = None, own_kind: str = "narration",
                          known_people: list[str] | None = None, strict: bool = False
                          ) -> tuple[list[DocumentStatement], dict[str, Any]]:
    """A text's statements: quotes (nested ones apart) and reported speech with their
    speakers, and the author's own words around them (``own_kind``); plus what was learnt
    about the people quoted."""
    found = attribute(text, parsed.sentences, author=author, person_mentions=parsed.people,
                      title=title, known_people=known_people, strict=strict)
    out: list[DocumentStatement] = []
    nested = [s for s in found.spans if s.inside is not None]
    for span in found.spans:
        holes = [(n.start - 1, n.end + 1) for n in nested
                 if span.inside is None and span.start <= n.start and n.end <= span.end]
        for a, b in _outside(span.start, span.end, holes) if holes else [(span.start, span.end)]:
            a, b = _trim(text, a, b)
            if b > a and (not holes or len(_WORD.findall(text[a:b])) >= MIN_WORDS) and not any(
                    (s.start, s.end) == (a, b) for s in out):  # marks nested on one span
                out.append(DocumentStatement(a, b, span.kind, span.speaker, span.flag))
    taken = [(s.start, s.end) for s in out] + [(n.start, n.end) for n in nested]
    for a, b in parsed.sentences:
        for x, y in _outside(a, b, taken):
            x, y = _trim(text, x, y)
            piece = text[x:y]
            if len(_WORD.findall(piece)) < MIN_NARRATION_WORDS and (x, y) != (a, b):
                continue  # the "Temkin says." left between two halves of a quote
            if _ATTRIBUTION_ONLY.match(piece) or not piece:
                continue
            out.append(DocumentStatement(x, y, own_kind, author))
    out.sort(key=lambda s: s.start)
    return out, found.people


def segment_knowledge_base(db: Database, nlp: Any | None = None,
                           progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Split every document and comment whose text changed since it was last split."""
    from nlp.models import load_spacy

    todo: list[tuple[str, dict]] = []
    participants: dict[str, list[str]] = {}
    for row in db.query("SELECT id, body AS text, author AS speaker, author_person_id AS"
                        " person, title FROM documents"):
        participants[row["id"]] = [row["speaker"]] if row["speaker"] else []
        if needs_segmenting(db, "document", row["id"], row["text"], METHOD):
            todo.append(("document", row))
    for row in db.query("SELECT id, document_id, text, author AS speaker, author_person_id AS"
                        " person FROM comments ORDER BY document_id, position"):
        if row["speaker"]:
            participants[row["document_id"]].append(row["speaker"])
        if needs_segmenting(db, "comment", row["id"], row["text"], METHOD):
            todo.append(("comment", row))
    counts = {"segmented": 0, "statements_added": 0, "statements_removed": 0}
    if not todo:
        return counts
    if progress:
        progress(f"splitting {len(todo)} document(s) and comment(s) into statements")
    nlp = nlp or load_spacy()
    parsed = parse_texts(nlp, (row["text"] for _, row in todo))
    with db.conn:
        for (parent_type, row), p in zip(todo, parsed):
            if parent_type == "comment":
                known = [n for n in dict.fromkeys(participants.get(row["document_id"], []))
                         if n != row["speaker"]]
                records = _records(db, row, p, own_kind="comment", known=known, strict=True)
            else:
                records = _records(db, row, p, title=row["title"])
            added, removed = replace_statements(db, parent_type, row["id"], row["text"],
                                                records, METHOD)
            counts["figures"] = counts.get("figures", 0) + _store_figures(
                db, parent_type, row, p)
            counts["segmented"] += 1
            counts["statements_added"] += added
            counts["statements_removed"] += removed
    return counts


def _store_figures(db: Database, parent_type: str, row: dict, parsed: Parsed) -> int:
    column = "document_id" if parent_type == "document" else "comment_id"
    db.execute(f"DELETE FROM figures WHERE {column} = ?", [row["id"]])  # column: fixed pair
    statements = list(db.query(f'SELECT id, start, "end" FROM statements WHERE {column} = ?',
                               [row["id"]]))
    figures = find_figures(row["text"], parsed.sentences, row["speaker"])
    for f in figures:
        statement = next((s["id"] for s in statements if s["start"] <= f.start < s["end"]),
                         None)
        db["figures"].insert({column: row["id"], "statement_id": statement, "value": f.value,
                              "measure": f.measure, "population": f.population,
                              "source": f.source, "start": f.start, "end": f.end})
    return len(figures)


def _records(db: Database, row: dict, parsed: Parsed, *, own_kind: str = "narration",
             title: str | None = None, known: list[str] | None = None,
             strict: bool = False) -> list[StatementRecord]:
    statements, people = attributed_statements(
        row["text"], parsed, row["speaker"], title=title, own_kind=own_kind,
        known_people=known, strict=strict)
    ids: dict[str | None, str | None] = {row["speaker"]: row["person"], None: None}
    for name, person in people.items():
        if name not in {s.speaker for s in statements}:
            continue  # only the people who speak here become people
        person_id = ensure_person(db, name)
        ids[name] = person_id
        about = ", ".join(x for x in (person.role, person.organisation) if x)
        if person_id and about:
            db.execute("UPDATE people SET description = ? WHERE id = ? AND description IS NULL",
                       [about, person_id])
    records = []
    for s in statements:
        if s.speaker not in ids:
            ids[s.speaker] = ensure_person(db, s.speaker)
        records.append(StatementRecord(s.start, s.end, row["text"][s.start:s.end], s.speaker,
                                       ids[s.speaker], s.kind, s.flag))
    return records
