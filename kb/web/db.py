"""The web app's database connections: each request gets one, taken from a small pool of
open connections and given back on teardown.

A page reads the same index pages several times (a search ranks and counts the same
postings; a listing counts facets over the rows it then pages), and SQLite keeps a page
cache per connection, which WAL mode keeps valid from one transaction to the next while
nothing is written. A connection kept open therefore finds most of a page's reads in
memory, where a new one per request read them all again (and paid its pragmas).

A connection goes back to the pool clean: any transaction left open is rolled back and
its temporary tables (a listing's text matches, a search's hits) are dropped.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

from flask import Flask, current_app, g
from sqlite_utils import Database

from kb.db import READER_CACHE_KIB, connect, open_db

POOL_SIZE = 8  # as many as `cxkb serve` has threads: one open connection per thread
_TEMP_TABLES = "SELECT name FROM temp.sqlite_master WHERE type = 'table'"


class ConnectionPool:
    """Open connections to one database file, handed out one per request."""

    def __init__(self, path: str, size: int = POOL_SIZE) -> None:
        self.path, self.size = path, size
        self._idle: list[Database] = []
        self._lock = threading.Lock()

    def take(self) -> Database:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        db = connect(self.path)
        db.execute(f"PRAGMA cache_size = -{int(READER_CACHE_KIB)}")
        return db

    def give_back(self, db: Database) -> None:
        """Return a connection, clean, to the pool (closed instead when the pool is full
        or it cannot be cleaned)."""
        try:
            if db.conn.in_transaction:
                db.conn.rollback()
            for (name,) in db.execute(_TEMP_TABLES).fetchall():
                db.execute('DROP TABLE temp."{}"'.format(name.replace('"', '""')))
        except sqlite3.Error:
            db.close()
            return
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(db)
                return
        db.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()


def get_db() -> Database:
    if "db" not in g:
        g.db = current_app.extensions["cxkb_connections"].take()
    return g.db


def keep_db() -> Callable[[], None]:
    """Keep this request's connection open past the request's end, for a response that
    goes on reading from it (a streamed CSV); return the function that gives it back."""
    db = g.pop("db", None)
    if db is None:
        return lambda: None
    pool = current_app.extensions["cxkb_connections"]
    return lambda: pool.give_back(db)


def close_db(_error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        current_app.extensions["cxkb_connections"].give_back(db)


def init_app(app: Flask) -> None:
    open_db(app.config["DATABASE"]).close()  # create or migrate once, not per request
    app.extensions["cxkb_connections"] = ConnectionPool(app.config["DATABASE"])
    app.teardown_appcontext(close_db)
