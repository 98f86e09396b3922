"""People: one row per person with the aliases they are known by.

Names are matched on a normalised key only (case, spacing, honorifics and trailing
credentials such as "CCXP"); merging different spellings of one person is a deliberate,
conservative step taken elsewhere. Placeholder names ("Anonymous") are not people.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from sqlite_utils import Database

from kb.db import utc_now

PLACEHOLDER_NAMES = frozenset(
    {"anonymous", "anon", "guest", "unknown", "a reader", "reader", "admin", "user", "deleted"}
)
_CREDENTIALS = re.compile(r",?\s+\b(CCXP|PhD|Ph\.D\.|MBA|CPA|Jr\.?|Sr\.?)$", re.IGNORECASE)


def name_key(name: str) -> str:
    """The key names are matched on: NFKC, case-folded, single-spaced, no credentials."""
    name = unicodedata.normalize("NFKC", name).strip()
    name = _CREDENTIALS.sub("", name)
    return re.sub(r"\s+", " ", name).casefold().strip(" .,")


def is_placeholder(name: str | None) -> bool:
    """True for names that stand for nobody in particular ("Anonymous", "Guest")."""
    return name is None or not name_key(name) or name_key(name) in PLACEHOLDER_NAMES


def person_id_for(name: str) -> str:
    """The stable id a person first seen under ``name`` gets."""
    return "p" + hashlib.sha1(name_key(name).encode()).hexdigest()[:12]


def ensure_person(db: Database, name: str | None, *, handle: str | None = None) -> str | None:
    """The id of the person known as ``name`` (created if new); None for no one."""
    if is_placeholder(name):
        return None
    assert name is not None
    key = name_key(name)
    row = db.execute("SELECT person_id FROM person_aliases WHERE alias_key = ?", [key]).fetchone()
    if row:
        person_id = row[0]
    else:
        person_id = person_id_for(name)
        display = _CREDENTIALS.sub("", name.strip())
        db["people"].insert(
            {"id": person_id, "name": display, "description": None, "created_at": utc_now()},
            ignore=True,
        )
        db["person_aliases"].insert(
            {"alias_key": key, "person_id": person_id, "alias": name.strip()}, ignore=True
        )
    if handle:
        db["person_aliases"].insert(
            {"alias_key": name_key(handle), "person_id": person_id, "alias": handle}, ignore=True
        )
    return person_id


def find_person(db: Database, ref: str) -> dict:
    """A person by id or by any of their names; an unknown or ambiguous name is an error."""
    from kb.errors import NotFound

    row = db.execute("SELECT id, name FROM people WHERE id = ?", [ref]).fetchone()
    if row is None:
        row = db.execute("SELECT p.id, p.name FROM person_aliases a JOIN people p"
                         " ON p.id = a.person_id WHERE a.alias_key = ?",
                         [name_key(ref)]).fetchone()
    if row is None:
        raise NotFound(f"no person with id or name {ref!r}")
    return {"id": row[0], "name": row[1]}


_PERSON_COLUMNS = (("documents", "author_person_id"), ("comments", "author_person_id"),
                   ("statements", "speaker_person_id"), ("relations", "source_person_id"),
                   ("relations", "target_person_id"))


def merge_people(db: Database, keep_ref: str, other_ref: str) -> dict:
    """Make ``other`` the same person as ``keep``: their names become aliases of ``keep``
    and everything they said or wrote moves over. Re-analysis keeps the merge, because
    names resolve through the aliases."""
    from kb.errors import CxkbError
    from kb.labels import archive_labels

    keep, other = find_person(db, keep_ref), find_person(db, other_ref)
    if keep["id"] == other["id"]:
        raise CxkbError(f"{keep_ref!r} and {other_ref!r} are already the same person")
    with db.conn:
        db.execute("UPDATE person_aliases SET person_id = ? WHERE person_id = ?",
                   [keep["id"], other["id"]])
        for table, column in _PERSON_COLUMNS:  # fixed table and column names
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?",
                       [keep["id"], other["id"]])
        # positions of the merged person are recomputed; their labels are kept in history
        db.execute("DELETE FROM person_positions WHERE person_id = ?", [other["id"]])
        archive_labels(db, "person", [other["id"]], reason=f"merged into {keep['id']}",
                       snapshots={other["id"]: other})
        description = db.execute("SELECT description FROM people WHERE id = ?",
                                 [other["id"]]).fetchone()[0]
        db.execute("UPDATE people SET description = coalesce(description, ?) WHERE id = ?",
                   [description, keep["id"]])
        db.execute("DELETE FROM people WHERE id = ?", [other["id"]])
    return {"kept": keep, "merged": other}


def split_person(db: Database, person_ref: str, alias: str) -> dict:
    """Give the name ``alias`` of a person a person of its own, with everything written
    or said under that name. Re-analysis keeps the split (the alias now points there)."""
    from kb.errors import CxkbError

    person = find_person(db, person_ref)
    key = name_key(alias)
    row = db.execute("SELECT person_id, alias FROM person_aliases WHERE alias_key = ?",
                     [key]).fetchone()
    if row is None or row[0] != person["id"]:
        raise CxkbError(f"{alias!r} is not a name of {person['name']} ({person['id']})")
    names = db.execute("SELECT count(*) FROM person_aliases WHERE person_id = ?",
                       [person["id"]]).fetchone()[0]
    if names < 2:
        raise CxkbError(f"{alias!r} is {person['name']}'s only name: nothing to split")
    new_id = person_id_for(alias)  # the id the name had before a merge, when it is free
    if db.execute("SELECT 1 FROM people WHERE id = ?", [new_id]).fetchone():
        new_id = "p" + hashlib.sha1(f"split:{key}:{person['id']}".encode()).hexdigest()[:12]
    with db.conn:
        db["people"].insert({"id": new_id, "name": row[1], "description": None,
                             "created_at": utc_now()}, ignore=True)
        db.execute("UPDATE person_aliases SET person_id = ? WHERE alias_key = ?", [new_id, key])
        for table, column, name_column in (("documents", "author_person_id", "author"),
                                           ("comments", "author_person_id", "author"),
                                           ("statements", "speaker_person_id", "speaker")):
            for rid, name in db.execute(f"SELECT id, {name_column} FROM {table} WHERE "
                                        f"{column} = ?", [person["id"]]).fetchall():
                if name and name_key(name) == key:
                    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", [new_id, rid])
        if name_key(person["name"]) == key:  # the display name went: take another alias
            other = db.execute("SELECT alias FROM person_aliases WHERE person_id = ? LIMIT 1",
                               [person["id"]]).fetchone()
            db.execute("UPDATE people SET name = ? WHERE id = ?", [other[0], person["id"]])
        db.execute("DELETE FROM person_positions WHERE person_id IN (?, ?)",
                   [person["id"], new_id])
    return {"from": person, "new": {"id": new_id, "name": row[1]}}
