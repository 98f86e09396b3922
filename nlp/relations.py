"""Relations between commenters: who replies to whom, and who agrees or disagrees with
whom, with the words that show it.

``replies_to`` comes from the thread structure only; ``quotes`` from a forum's quote box
("> Dana wrote:", "> Originally Posted by Dana"), whose words are not the writer's and are
left out of the phrase search. Agreement and disagreement come
from phrases ("I agree with Tim", "Great point Ray!", "I respectfully disagree with Tim
Sanchez and Kancha"); the names are resolved to people who took part in the thread
before the comment (full name, first name when only one participant has it, or first
name and initial: "Tim S."). A bare "I agree" in a reply points at the parent comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlite_utils import Database

from kb.db import utc_now
from kb.people import name_key

METHOD = "phrases-2"
_NAME = r"[A-Z][\w'’.-]*[\w'’-](?:\s+(?!I\b)[A-Z][\w'’-]*\.?)?"
_NAMES = rf"(?P<names>{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*)"
_APOS = "['’]"
DISAGREE = re.compile(
    rf"\b(?i:I\s+(?:\w+ly\s+)?(?:disagree|differ)|(?:I\s+)?(?:beg\s+to\s+)?disagree"
    rf"|I\s+(?:don{_APOS}t|do\s+not|can{_APOS}t|cannot)\s+agree"
    rf"|I{_APOS}d\s+push\s+back|I\s+(?:would\s+)?push\s+back"
    rf"|I\s+don{_APOS}t\s+buy\s+(?:that|it|this)|I{_APOS}m\s+not\s+(?:so\s+)?sure\s+about\s+that)"
    rf"(?:\s+with)?,?\s*" + _NAMES + "?")
AGREE = re.compile(
    rf"(?<![\w-])(?i:I\s+(?:\w+ly\s+)?agree(?:\s+with)?|(?:totally|completely|fully|strongly)"
    rf"\s+agree(?:\s+with)?|agreed|couldn{_APOS}t\s+agree\s+more(?:\s+with)?"
    rf"|spot\s+on|well\s+said|(?:great|good|excellent|fair)\s+point(?:s)?|\+1|fair\s+enough"
    rf"|I{_APOS}m\s+with\s+you|as\s+(?=[A-Z])"
    rf"|(?:you(?:{_APOS}re|\s+are)|he(?:{_APOS}s|\s+is)|she(?:{_APOS}s|\s+is))\s+(?:so\s+)?right)"
    rf"(?:,|!|\s)*\s*" + _NAMES + "?")
# "as Priya put it, …" and "Will's point about the hold queue is the whole thing"
_AS_PUT = re.compile(rf"\b(?i:as)\s+(?P<names>{_NAME})\s+(?:put\s+it|said|says|wrote|"
                     rf"mentioned|pointed\s+out|noted)\b")
_POINT_OF = re.compile(rf"(?P<names>{_NAME}){_APOS}s\s+(?:point|comment|remark)\b[^.!?]{{0,60}}"
                       rf"\b(?:is|was)\s+(?:the\s+whole\s+thing|spot\s+on|right|key|exactly)")
_SORRY_BUT = re.compile(rf"\b(?i:sorry),?\s+(?P<names>{_NAME}),?\s+(?i:but)\b")
ADDRESS = re.compile(
    r"(?:^|(?<=[.!?]\s)|(?<=\n))(?i:hi|hello|hey|dear|thanks|thank you|cheers|good morning|"
    r"good afternoon|sorry)[,!]?\s+(?P<names>" + _NAME + r")\b"
    r"|(?<![\w@])@(?P<handle>[A-Za-z_][\w.]{1,30}[A-Za-z0-9_])")
# a name opening a comment or a paragraph, followed by a comma: "Owen, I'd push back"
VOCATIVE = re.compile(r"(?:^|(?<=\n))\s*(?P<names>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)?),\s")
_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
NOT_NAMES = frozenset({"i", "it", "this", "that", "the", "however", "but", "and", "you",
                       "we", "they", "he", "she", "there", "what", "yes", "no", "also",
                       "well", "so", "still", "sorry", "ok", "okay", "honestly", "sure",
                       "look", "agreed", "true", "indeed", "again", "first", "second"})
_NO_AFTER_ADDRESS = re.compile(r"^\s*(?i:no|nope|not really|not so)\b[,.!]?")
# forum quote boxes, which the extractor keeps as "> " lines: "> Dana wrote:",
# "> Originally Posted by Dana", "> Quote from: Dana on May 3", "> Dana said:"
QUOTE_HEADER = re.compile(
    r"^>\s*(?:(?i:quote:?\s*)?(?i:originally\s+posted\s+by|quote\s+from:?|quoting)\s+"
    r"(?P<a>[^\n:;]{1,60}?)(?:\s+(?i:on)\s+[^\n]*)?\s*:?\s*$|(?P<b>[^\n>:;]{1,60}?)\s+(?i:wrote|"
    r"said|schrieb|a écrit)(?:\s+[^\n:]{0,40})?\s*(?::[^\n]*|»?\s*$))", re.MULTILINE)
_QUOTE_LINE = re.compile(r"^>[^\n]*", re.MULTILINE)


def _without_quotes(text: str) -> str:
    """The text with quoted lines blanked (same length): quoted words are not the writer's."""
    return _QUOTE_LINE.sub(lambda m: " " * len(m.group()), text)


@dataclass(frozen=True)
class Relation:
    kind: str
    target_name: str | None
    evidence: str
    start: int
    needs_person: bool = False  # keep only if the name is someone in the thread


def _names(text: str | None) -> list[str]:
    names = [n.strip() for n in _SPLIT.split(text or "") if n.strip()]
    return [n for n in names if n.split()[0].casefold() not in NOT_NAMES]


def find_relations(text: str) -> list[Relation]:
    """Agreement, disagreement and address in a text, with the names they are aimed at
    (``None`` when no name is given: the person addressed or replied to is meant)."""
    found: list[Relation] = []
    taken: list[tuple[int, int]] = []
    for m in QUOTE_HEADER.finditer(text):
        name = (m.group("a") or m.group("b") or "").strip(" \"'“”")
        if name and name.split()[0].casefold() not in NOT_NAMES:
            found.append(Relation("quotes", name, m.group().lstrip("> ").strip(), m.start()))
            found.append(Relation("addresses", name, m.group().lstrip("> ").strip(), m.start()))
    text = _without_quotes(text)
    for kind, pattern in (("disagrees_with", DISAGREE), ("disagrees_with", _SORRY_BUT),
                          ("agrees_with", AGREE),
                          ("agrees_with", _AS_PUT), ("agrees_with", _POINT_OF)):
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            names = _names(m.group("names"))
            if pattern is AGREE and m.group().lower().startswith("as ") and not names:
                continue
            taken.append((m.start(), m.end()))
            for name in names or [None]:
                found.append(Relation(kind, name, m.group().strip(), m.start()))
            # a name right after the phrase, without "with", is the person spoken to
            phrase_end = m.start("names") if m.group("names") else m.end()
            if names and " with" not in text[m.start():phrase_end].lower() \
                    and pattern in (AGREE, DISAGREE) and not m.group().lower().startswith("as "):
                for name in names:
                    found.append(Relation("addresses", name, m.group().strip(), m.start()))
    for m in ADDRESS.finditer(text):
        name = m.group("names") or (m.group("handle") if m.group("handle") else None)
        if name and name.split()[0].casefold() not in NOT_NAMES:
            found.append(Relation("addresses", name, m.group().strip(), m.start()))
            after = text[m.end():m.end() + 20]
            if m.group("handle") and _NO_AFTER_ADDRESS.match(after):
                found.append(Relation("disagrees_with", name, m.group().strip() + after[:4],
                                      m.start()))
    for m in VOCATIVE.finditer(text):
        for name in _names(m.group("names")):
            if not any(r.kind == "addresses" and r.target_name == name for r in found):
                found.append(Relation("addresses", name, m.group().strip(), m.start(),
                                      needs_person=True))
    return sorted(found, key=lambda r: r.start)


def resolve_name(name: str, participants: list[tuple[str, str | None]],
                 parent_person: str | None) -> str | None:
    """The person id a name in a thread refers to, or None when the thread does not say.

    ``participants`` are (person id, display name) of earlier speakers, latest last.
    """
    key = name_key(name).rstrip(".")
    if key.startswith("@"):
        handle = key[1:]
        for person_id, display in participants:
            if name_key(display or "").replace(" ", "") in (handle, handle.replace("_", "")):
                return person_id
        return None
    parts = key.split()
    candidates = []
    for person_id, display in participants:
        full = name_key(display or "")
        if not full:
            continue
        words = full.split()
        if full == key:
            return person_id
        if len(parts) == 1 and words[0] == parts[0] or (len(parts) == 2 and len(parts[1]) == 1 and len(words) > 1
              and words[0] == parts[0] and words[-1].startswith(parts[1])):
            candidates.append(person_id)
    candidates = list(dict.fromkeys(candidates))
    if len(candidates) == 1:
        return candidates[0]
    if parent_person in candidates:
        return parent_person
    return None


def extract_thread_relations(db: Database) -> int:
    """Recompute the relations of every thread; return how many there are."""
    now = utc_now()
    total = 0
    with db.conn:
        db.execute("DELETE FROM relations WHERE method IN (?, 'structure')", [METHOD])
        for doc in db.query("SELECT id, author, author_person_id FROM documents"):
            comments = list(db.query(
                "SELECT id, parent_id, author, author_person_id, text FROM comments"
                " WHERE document_id = ? ORDER BY position", [doc["id"]]))
            by_id = {c["id"]: c for c in comments}
            participants: list[tuple[str, str | None]] = []
            if doc["author_person_id"]:
                participants.append((doc["author_person_id"], doc["author"]))
            for c in comments:
                parent = by_id.get(c["parent_id"]) if c["parent_id"] else None
                base = {"document_id": doc["id"], "source_comment_id": c["id"],
                        "source_person_id": c["author_person_id"], "source_name": c["author"],
                        "created_at": now}
                if parent is not None:
                    db["relations"].insert({**base, "kind": "replies_to",
                                            "target_comment_id": parent["id"],
                                            "target_person_id": parent["author_person_id"],
                                            "target_name": parent["author"],
                                            "method": "structure"})
                    total += 1
                statements = list(db.query(
                    "SELECT id, start, \"end\" FROM statements WHERE comment_id = ?"
                    " ORDER BY start", [c["id"]]))
                found = find_relations(c["text"])
                seen: set[tuple[str, str | None]] = set()
                for rel in found:
                    target_person, target_name, target_comment = None, rel.target_name, None
                    if rel.target_name is None:
                        # "@dana totally agree": the nearest person addressed before it
                        addressed = [r.target_name for r in found
                                     if r.kind == "addresses" and r.start <= rel.start]
                        target_name = addressed[-1] if addressed else None
                    if target_name is None:
                        if parent is None:
                            continue  # "I agree" with no name and no parent: aimed at the post
                        target_person, target_name = parent["author_person_id"], parent["author"]
                        target_comment = parent["id"]
                    else:
                        target_person = resolve_name(
                            target_name, participants,
                            parent["author_person_id"] if parent else None)
                        if target_person:
                            target_name = dict(participants).get(target_person, target_name)
                    if target_person and target_person == c["author_person_id"]:
                        continue
                    if rel.needs_person and target_person is None:
                        continue  # "However," is not a person being spoken to
                    if target_person is None and target_name:
                        target_name = target_name.lstrip("@")
                    if (rel.kind, target_person or target_name) in seen:
                        continue
                    seen.add((rel.kind, target_person or target_name))
                    statement = next((s["id"] for s in statements
                                      if s["start"] <= rel.start < s["end"]), None)
                    db["relations"].insert({**base, "kind": rel.kind,
                                            "target_comment_id": target_comment,
                                            "target_person_id": target_person,
                                            "target_name": target_name,
                                            "statement_id": statement,
                                            "evidence": rel.evidence, "method": METHOD})
                    total += 1
                if c["author_person_id"]:
                    participants.append((c["author_person_id"], c["author"]))
    return total
