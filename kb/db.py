"""Opening the knowledge base: WAL mode, busy timeout, foreign keys and migrations.

``open_db`` is the one way every part of cxkb gets a database. Opening an older
database applies the pending migrations, after taking a backup copy beside it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from kb import migrations
from kb.sqlite_config import quiet_allocator

log = logging.getLogger(__name__)
quiet_allocator()  # before this process's first connection: see kb.sqlite_config

BUSY_TIMEOUT_MS = 10_000
# after each busy time-out spent waiting for the write lock, pause this long and wait again
LOCK_WAITS = (1.0, 2.0, 4.0, 8.0)
# page cache of a connection kept open for reading (the web's pool, search's readers);
# SQLite's default is 2 MiB
READER_CACHE_KIB = 64 * 1024


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: str | Path) -> Database:
    """A connection with cxkb's pragmas and no migration step (used by ``open_db``)."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the knowledge base at ``path``, schema up to date.

    When the file already holds an older schema, a consistent copy is written to
    ``<path>.v<N>.bak`` (N = the old schema version) before any migration runs.
    """
    path = Path(path) if str(path) != ":memory:" else path
    if isinstance(path, Path) and path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    if migrate and migrations.pending(db):
        version = migrations.schema_version(db)
        if version > 0 and isinstance(path, Path):
            copy = path.with_name(f"{path.name}.v{version}.bak")
            backup(db, copy)
            log.info("backed up %s to %s before migrating", path, copy)
        migrations.apply(db)
    return db


def backup(db: Database, destination: str | Path) -> Path:
    """Write a consistent copy of a (possibly live) database with SQLite's backup API."""
    destination = Path(destination)
    if destination.exists():
        destination.unlink()
    target = sqlite3.connect(str(destination))
    try:
        with target:
            db.conn.backup(target)
    finally:
        target.close()
    return destination


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One transaction that holds the write lock from its first statement (``BEGIN
    IMMEDIATE``), committed at the end or rolled back on an error. No write inside it can
    meet "database is locked", and sqlite-utils' own blocks nest in it as savepoints (on
    their own, each insert or upsert would commit by itself).

    Taking the lock waits the busy time-out, then again after each pause of
    ``LOCK_WAITS``: another writer, such as a batch labelling the knowledge
    base, can take it back again and again. Inside a transaction already open, this is a
    savepoint of it."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    for pause in (*LOCK_WAITS, None):
        try:
            db.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or pause is None:
                raise
            log.info("the knowledge base is locked by another writer; again in %.0f s", pause)
            time.sleep(pause)
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()
