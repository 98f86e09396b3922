"""How search's reads scale on this machine: bm25 ranking on two threads at once, with
SQLite's memory statistics on and off (``kb.sqlite_config``), and the two ways of reading
a page's snippets (``kb.search._SNIPPETS``).

    python bench/search_reads.py --db kb100k.db [--queries "customer experience,own* NOT service"]
                                 [--repeat 15]

``--db`` is a knowledge base written by ``bench/web.py --db PATH``. For each query:

* ranking: the statements' best 20 by bm25, one thread alone, then the same on two
  threads at once (each on its own read-only connection), median milliseconds of
  ``--repeat`` rounds; measured in a child process with the statistics on (a connection
  opened before ``kb.db`` is imported, so it leaves them on) and in one with them off
  (the default), so each figure has its baseline from the same run. Two threads taking
  the time of one is the ideal; twice the time, no gain from the second core;
* snippets of the best 20 statements: FTS5 handed their rowids one at a time against one
  pass over every match.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sqlite3, statistics, sys, threading, time
if sys.argv[1] == "on":
    early = sqlite3.connect(":memory:")
    early.execute("SELECT 1")
sys.path.insert(0, sys.argv[2])
import kb.db
from kb.sqlite_config import quiet_allocator
path, queries, repeat = sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5])
RANK = ("SELECT rowid, bm25(statements_fts) AS r FROM statements_fts"
        " WHERE statements_fts MATCH ? ORDER BY r LIMIT 20")
conns = [sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
         for _ in range(2)]
for c in conns:
    c.execute(f"PRAGMA cache_size = -{kb.db.READER_CACHE_KIB}")

def rank(conn, query, out, i):
    start = time.perf_counter()
    conn.execute(RANK, (query,)).fetchall()
    out[i] = (time.perf_counter() - start) * 1000

result = {"statistics off": quiet_allocator()}
for query in queries:
    for c in conns:
        c.execute(RANK, (query,)).fetchall()  # warm both page caches
    one, two = [], []
    for _ in range(repeat):
        out = [0.0]
        start = time.perf_counter()
        rank(conns[0], query, out, 0)
        one.append((time.perf_counter() - start) * 1000)
        out = [0.0, 0.0]
        threads = [threading.Thread(target=rank, args=(conns[i], query, out, i))
                   for i in range(2)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        two.append((time.perf_counter() - start) * 1000)
    result[query] = [statistics.median(one), statistics.median(two)]
print(json.dumps(result))
"""

SNIPPETS = ("SELECT rowid, snippet(statements_fts, -1, char(2), char(3), '…', 24)"
            " FROM statements_fts WHERE statements_fts MATCH ? AND {} IN"
            " (SELECT value FROM json_each(?))")


def snippet_times(path: str, query: str, repeat: int) -> tuple[int, float, float]:
    """(matches, ms per row-by-row read, ms per one-pass read) of the best 20's snippets."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    matches = conn.execute("SELECT count(*) FROM statements_fts WHERE statements_fts MATCH ?",
                           (query,)).fetchone()[0]
    best = json.dumps([r[0] for r in conn.execute(
        "SELECT rowid, bm25(statements_fts) AS r FROM statements_fts"
        " WHERE statements_fts MATCH ? ORDER BY r LIMIT 20", (query,))])
    out = []
    for rowid in ("rowid", "+rowid"):
        sql = SNIPPETS.format(rowid)
        conn.execute(sql, (query, best)).fetchall()
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            conn.execute(sql, (query, best)).fetchall()
            times.append((time.perf_counter() - start) * 1000)
        out.append(statistics.median(times))
    conn.close()
    return matches, out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True,
                        help="a knowledge base written by bench/web.py --db PATH")
    parser.add_argument("--queries", default="customer experience,marketing,own* NOT service")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    queries = [q.strip() for q in args.queries.split(",") if q.strip()]
    path = str(args.db.resolve())
    print(f"{args.db}: medians of {args.repeat} rounds (ms)\n")
    print(f"{'ranking statements':34} {'statistics':>10} {'1 thread':>9} {'2 at once':>10}"
          f" {'ratio':>6}")
    for mode in ("on", "off"):
        done = subprocess.run([sys.executable, "-c", CHILD, mode, str(ROOT), path,
                               json.dumps(queries), str(args.repeat)],
                              capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        if (mode == "off") != result.pop("statistics off"):
            raise SystemExit(f"the child meant to have the statistics {mode} has them not")
        for query, (one, two) in result.items():
            print(f"{query!r:34} {mode:>10} {one:9.1f} {two:10.1f} {two / one:6.2f}")
    print(f"\n{'snippets of the best 20 statements':34} {'matches':>10} {'row by row':>11}"
          f" {'one pass':>9}")
    for query in queries:
        matches, seek, scan = snippet_times(path, query, args.repeat)
        print(f"{query!r:34} {matches:10,} {seek:11.1f} {scan:9.1f}")


if __name__ == "__main__":
    main()
