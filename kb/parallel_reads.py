"""Read-only queries run side by side on the machine's cores, each on its own connection.

SQLite runs one statement on one core, and Python's sqlite3 lets go of the GIL while a
statement runs (and with SQLite's memory statistics off, ``kb.sqlite_config``, threads
do not queue for one allocator mutex); so queries that do not depend on each other (a
search ranking the matches of statements and of comments by bm25, tens of milliseconds
each over 100k texts) finish in the time of the longest rather than of their sum when
each runs on a connection of its own in another thread.

Each thread of the pool keeps one read-only connection per database file (the last
``KEPT`` files it read), so its page cache stays warm from one request to the next.
Only the main database is read: temporary tables belong to the connection that made them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from kb.db import BUSY_TIMEOUT_MS, READER_CACHE_KIB

T = TypeVar("T")
WORKERS = max(1, min(4, os.cpu_count() or 1))
KEPT = 2  # database files whose connection each thread keeps open

_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def database_file(conn: sqlite3.Connection) -> str:
    """The file of a connection's main database ('' in memory or a temporary one)."""
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return file or ""
    return ""


def _reader(path: str) -> sqlite3.Connection:
    """This thread's read-only connection to ``path``."""
    kept: OrderedDict[str, sqlite3.Connection] = getattr(_local, "kept", None) or OrderedDict()
    _local.kept = kept
    if path in kept:
        kept.move_to_end(path)
        return kept[path]
    conn = sqlite3.connect(f"file:{quote(str(Path(path)))}?mode=ro", uri=True,
                           timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA cache_size = -{int(READER_CACHE_KIB)}")
    kept[path] = conn
    while len(kept) > KEPT:
        kept.popitem(last=False)[1].close()
    return conn


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():  # a forked child starts its own
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="cxkb-read")
            _pool_pid = os.getpid()
        return _pool


def read_in_parallel(path: str, jobs: Sequence[Callable[[sqlite3.Connection], T]]) -> list[T]:
    """Run each job (a function of a read-only connection to ``path``) on a thread of its
    own, as many at once as there are cores; their results in order. An exception in a
    job is raised here. With one job, or one core, the jobs run here, one by one, on a
    connection of this thread."""
    if len(jobs) < 2 or WORKERS < 2:
        return [job(_reader(path)) for job in jobs]
    futures = [_executor().submit(lambda job=job: job(_reader(path))) for job in jobs]
    return [future.result() for future in futures]
