"""Relations between commenters: who replies to whom, and who agrees or disagrees with
whom, with the words that show it.

``replies_to`` comes from the thread structure only. Agreement and disagreement come
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

METHOD = "phrases-1"
_NAME = r"[A-Z][\w'’-]+(?:\s+(?!I\b)[A-Z][\w'’-]*\.?)?"
_NAMES = rf"(?P<names>{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*)"
DISAGREE = re.compile(
    r"\b(?i:I\s+(?:\w+ly\s+)?(?:disagree|differ)|(?:I\s+)?(?:beg\s+to\s+)?disagree"
    r"|I\s+(?:don't|do\s+not|can't|cannot)\s+agree)(?:\s+with)?,?\s*" + _NAMES + "?")
AGREE = re.compile(
    r"(?<![\w-])(?i:I\s+(?:\w+ly\s+)?agree(?:\s+with)?|(?:totally|completely|fully|strongly)"
    r"\s+agree(?:\s+with)?|agreed|couldn't\s+agree\s+more(?:\s+with)?"
    r"|spot\s+on|well\s+said|(?:great|good|excellent|fair)\s+point(?:s)?|\+1"
    r"|(?:you(?:'re|\s+are)|he(?:'s|\s+is)|she(?:'s|\s+is))\s+(?:so\s+)?right)"
    r"(?:,|!|\s)*\s*" + _NAMES + "?")
ADDRESS = re.compile(
    r"(?:^|(?<=[.!?]\s))(?i:hi|hello|hey|dear|thanks|thank you|cheers|good morning|"
    r"good afternoon)[,!]?\s+(?P<names>" + _NAME + r")\b"
    r"|(?<![\w@])@(?P<handle>[A-Za-z_][\w.]{1,30}[A-Za-z0-9_])")
_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
NOT_NAMES = frozenset({"i", "it", "this", "that", "the", "however", "but", "and", "you",
                       "we", "they", "he", "she", "there", "what", "yes", "no", "also"})


@dataclass(frozen=True)
class Relation:
    kind: str
    target_name: str | None
    evidence: str
    start: int


def find_relations(text: str) -> list[Relation]:
    """Agreement and disagreement phrases in a text, with the names they are aimed at
    (``None`` when no name follows: the comment replied to is meant)."""
    found: list[Relation] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in (("disagrees_with", DISAGREE), ("agrees_with", AGREE)):
        for m in pattern.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            names = [n.strip() for n in _SPLIT.split(m.group("names") or "") if n.strip()]
            names = [n for n in names if n.split()[0].casefold() not in NOT_NAMES]
            for name in names or [None]:
                found.append(Relation(kind, name, m.group().strip(), m.start()))
    for m in ADDRESS.finditer(text):
        name = m.group("names") or ("@" + m.group("handle") if m.group("handle") else None)
        if name and name.split()[0].casefold() not in NOT_NAMES:
            found.append(Relation("addresses", name, m.group().strip(), m.start()))
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
        if len(parts) == 1 and words[0] == parts[0]:
            candidates.append(person_id)
        elif (len(parts) == 2 and len(parts[1]) == 1 and len(words) > 1
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
                addressed = next((r.target_name for r in found if r.kind == "addresses"), None)
                for rel in found:
                    target_person, target_name, target_comment = None, rel.target_name, None
                    if rel.target_name is None and addressed is not None:
                        target_name = addressed  # "@dana totally agree": agrees with dana
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
