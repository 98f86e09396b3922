"""Process-wide SQLite settings, made once before the process opens its first connection.

SQLite keeps memory statistics by default (``SQLITE_CONFIG_MEMSTATUS``): every allocation
of every connection takes one mutex shared by the whole process. FTS5's ``bm25`` allocates
for each row it scores, so two threads ranking matches at once, each on its own
connection, waited on that mutex: on this project's 2-core machine two rankings of 30k
matches side by side took 1.6-1.8 times one alone (two processes: 1.0). Search ranks
kinds side by side (``kb.parallel_reads``), so cxkb turns the statistics off; nothing in
cxkb reads them.

SQLite takes this setting only while it is not initialised, and Python's ``sqlite3``
initialises it on import: so it is shut down and initialised again around the setting,
which is safe only while no connection is open. That is checked first (with statistics
on, no memory in use means no connection), and ``quiet_allocator`` leaves SQLite as it is
otherwise.
"""

from __future__ import annotations

import ctypes
import logging
import threading

log = logging.getLogger(__name__)

SQLITE_CONFIG_MEMSTATUS = 9  # from sqlite3.h
_lock = threading.Lock()
_done: list[bool] = []  # holds the outcome once tried (per process; forks inherit it)


def _library() -> ctypes.CDLL:
    """The SQLite library Python's ``sqlite3`` uses (looked up through its extension, so
    it is the same copy whether linked statically or not)."""
    import _sqlite3

    lib = ctypes.CDLL(_sqlite3.__file__)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib


def quiet_allocator() -> bool:
    """Turn off SQLite's memory statistics in this process, if no connection is open yet.
    Returns whether they are off (False where the library cannot be reached)."""
    with _lock:
        if _done:
            return _done[0]
        try:
            lib = _library()
            if lib.sqlite3_memory_used() != 0:
                log.debug("SQLite connections are already open: memory statistics stay on")
                _done.append(False)
                return False
            ok = (lib.sqlite3_shutdown() == 0
                  and lib.sqlite3_config(SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == 0)
            if lib.sqlite3_initialize() != 0:
                raise OSError("sqlite3_initialize failed")
        except (OSError, AttributeError, ImportError) as error:
            log.debug("SQLite's memory statistics stay on: %s", error)
            ok = False
        _done.append(ok)
        return ok
