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
