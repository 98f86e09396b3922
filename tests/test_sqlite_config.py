"""SQLite's process-wide memory statistics are off in cxkb processes (kb.sqlite_config), and
left alone, safely, when a connection was opened before cxkb was imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# a connection open while the statistics are on shows memory in use; off, it shows none
PROBE = """
import sqlite3, sys
{before}
import kb.db
from kb.sqlite_config import _library
db = kb.db.open_db(sys.argv[1])
db["notes"].insert({{"text": "customer experience is an outcome"}})
db["notes"].enable_fts(["text"])
hits = db.execute("SELECT count(*) FROM notes_fts WHERE notes_fts MATCH 'outcome'").fetchone()[0]
print(_library().sqlite3_memory_used() == 0, hits)
"""


def probe(tmp_path: Path, before: str = "") -> str:
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before),
                           str(tmp_path / "kb.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_memory_statistics_are_off_in_a_cxkb_process(tmp_path: Path) -> None:
    assert probe(tmp_path) == "True 1"


def test_a_connection_opened_before_cxkb_keeps_them_on_and_works(tmp_path: Path) -> None:
    early = "early = sqlite3.connect(':memory:'); early.execute('SELECT 1')"
    assert probe(tmp_path, early) == "False 1"
