"""Editors: the people who may write when the web UI is served beyond this machine.

Accounts live in the ``users`` table (created by migration m006). Only a salted hash of a
password is ever stored (werkzeug's ``generate_password_hash``); checking one takes the
same work whether or not the name exists, so timing does not tell which names are taken.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from kb.db import utc_now
from kb.errors import BadUserName, UnknownUser, UserExists, WeakPassword

log = logging.getLogger(__name__)

ROLES = ("editor",)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # a bound on the work one sign-in attempt can cause
MAX_NAME = 64

_dummy_hash: str | None = None  # checked against when a name has no account


@dataclass
class User:
    name: str
    role: str
    created_at: str
    last_login_at: str | None


def check_name(name: str) -> str:
    """``name`` if it can name an account (1-64 printable characters, no spaces)."""
    if not name:
        raise BadUserName("a user name cannot be empty")
    if len(name) > MAX_NAME:
        raise BadUserName(f"user name {name[:20]!r}… is longer than {MAX_NAME} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in name):
        raise BadUserName(f"user name {name!r} holds spaces or control characters")
    return name


def check_password(password: str) -> str:
    """``password`` if it is long enough (10+ characters) and not absurdly long."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD} characters "
                           f"(this one has {len(password)})")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"a password may have at most {MAX_PASSWORD} characters")
    return password


def _row(db: Database, name: str):
    return db.execute("SELECT name, role, created_at, last_login_at, password_hash FROM users"
                      " WHERE name = ?", [name]).fetchone()


def add_user(db: Database, name: str, password: str, role: str = "editor", *,
             replace: bool = False) -> User:
    """Create an account (or, with ``replace``, give an existing one a new password and
    role). Refuses a taken name, a bad name, an unknown role and a short password."""
    check_name(name)
    if role not in ROLES:
        raise BadUserName(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    check_password(password)
    password_hash = generate_password_hash(password)
    now = utc_now()
    with db.conn:
        existing = _row(db, name)
        if existing is not None and not replace:
            raise UserExists(f"user {name!r} already exists")
        if existing is None:
            db.execute("INSERT INTO users (name, password_hash, role, created_at)"
                       " VALUES (?, ?, ?, ?)", [name, password_hash, role, now])
        else:
            db.execute("UPDATE users SET password_hash = ?, role = ? WHERE name = ?",
                       [password_hash, role, name])
    log.info("%s user %s", "replaced" if existing else "added", name)
    row = _row(db, name)
    return User(row[0], row[1], row[2], row[3])


def remove_user(db: Database, name: str) -> None:
    """Delete an account; an unknown name is an error."""
    with db.conn:
        if db.execute("DELETE FROM users WHERE name = ?", [name]).rowcount == 0:
            raise UnknownUser(f"no user {name!r}")
    log.info("removed user %s", name)


def list_users(db: Database) -> list[User]:
    """Every account, by name."""
    return [User(r["name"], r["role"], r["created_at"], r["last_login_at"])
            for r in db.query("SELECT name, role, created_at, last_login_at FROM users"
                              " ORDER BY name")]


def user_exists(db: Database, name: str) -> bool:
    return db.execute("SELECT 1 FROM users WHERE name = ?", [name]).fetchone() is not None


def verify_user(db: Database, name: str, password: str) -> bool:
    """True when ``password`` is ``name``'s; records the time of a successful sign-in.

    An unknown name costs the same hash check as a known one, and an over-long password
    is refused before any hashing.
    """
    global _dummy_hash
    if not name or len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
        return False
    row = _row(db, name)
    if row is None:
        if _dummy_hash is None:
            _dummy_hash = generate_password_hash("not a password of anybody's")
        check_password_hash(_dummy_hash, password)
        return False
    if not check_password_hash(row[4], password):
        return False
    with db.conn:
        db.execute("UPDATE users SET last_login_at = ? WHERE name = ?", [utc_now(), name])
    return True
