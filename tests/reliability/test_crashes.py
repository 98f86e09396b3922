"""Crashes (issue 9, item 5): ``cxkb ingest`` and ``cxkb analyze`` killed with SIGKILL at
random points leave a sound knowledge base: ``PRAGMA integrity_check`` is ok, every
full-text index agrees with its table, nothing committed before a kill is lost, human
labels are untouched and still win; and the run after the last kill completes.

Each command is killed 5 times (the analysis in ``make test-slow``, since each of its
runs loads the analysis stack), and 50 times in ``make test-release``. Real processes on a
real SQLite file; the corpus is written here: threads in the plain-text format of a copied
blog page (title, body, "N Responses to", numbered comments), their sentences taken from
the annotated examples so that the analysis has positions to find.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from figures import record

from nlp.debate import load_debate

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["Ray Brown", "Eric Jacques", "Ana Lima", "Walter Adamson", "Jo Okafor", "Mei Chen",
         "Lars Berg", "Priya Nair"]
KILLS = {"default": 5, "release": 50}


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def _cli(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kb", "--db", str(db), *args]


def write_threads(folder: Path, first: int, count: int, seed: int = 3) -> list[str]:
    """``count`` threads as text copies of blog pages; returns their titles."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = [e.text for e in load_debate("outcome-function").examples()]
    rnd = random.Random(seed + first)
    titles = []
    for n in range(first, first + count):
        title = f"Thread {n}: who owns the customer experience, part {n}?"
        body = "\n\n".join(rnd.choice(texts) for _ in range(3))
        comments = [f"  {k}. {rnd.choice(NAMES)} says:\n\n    {rnd.choice(texts)}"
                    for k in range(1, rnd.randrange(4, 9))]
        (folder / f"thread-{n:03d}.txt").write_text(
            f"{title}\n\n{body}\n\n{len(comments)} Responses to {title}\n\n"
            + "\n\n".join(comments) + "\n", encoding="utf-8")
        titles.append(title)
    return titles


def soundness(db_path: Path) -> dict[str, set[str]]:
    """Check the file and its full-text indexes; return the ids of what it holds (nothing
    yet if a kill came before the schema was committed)."""
    held: dict[str, set[str]] = {"documents": set(), "comments": set(), "statements": set()}
    if not db_path.exists():
        return held
    with sqlite3.connect(db_path, timeout=30) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
        for table in held:
            if table not in names:
                continue
            fts = f"{table}_fts"
            if fts in names:  # FTS5's own check that the index matches its content table
                db.execute(f"INSERT INTO {fts}({fts}) VALUES ('integrity-check')")
            held[table] = {r[0] for r in db.execute(f"SELECT id FROM {table}")}
    return held


def human_labels(db_path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(target, debate) -> (the human label, the effective one)."""
    with sqlite3.connect(db_path, timeout=30) as db:
        rows = db.execute(
            "SELECT l.target_type || ':' || l.target_id, l.debate, l.label, e.label"
            " FROM labels l JOIN effective_labels e ON e.target_type = l.target_type"
            " AND e.target_id = l.target_id AND e.debate = l.debate"
            " WHERE l.method = 'human'").fetchall()
    return {(t, d): (h, e) for t, d, h, e in rows}


def timed_run(command: list[str]) -> float:
    start = time.monotonic()
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return time.monotonic() - start


def kill_at_random(command: list[str], db_path: Path, kills: int, longest: float,
                   rnd: random.Random, check=None, before=None) -> tuple[int, int]:
    """Start ``command`` ``kills`` times (after ``before(i)``, if given) and SIGKILL it
    after a random part of ``longest`` seconds; after each, the file must be sound and hold
    everything it held before. Returns (killed mid-run, finished before the kill)."""
    held = soundness(db_path)
    killed = finished = 0
    for i in range(kills):
        if before is not None:
            before(i)
            held = soundness(db_path)
        process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rnd.uniform(0.05, 1.0) * longest)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            killed += 1
        else:
            finished += 1
        process.wait(timeout=60)
        now = soundness(db_path)
        for table, ids in held.items():
            lost = ids - now[table]
            assert not lost, f"{len(lost)} committed {table} row(s) lost: {sorted(lost)[:3]}"
        if check is not None:
            check()
        held = now
    return killed, finished


def _kills(request: pytest.FixtureRequest) -> int:
    return KILLS["release"] if request.node.get_closest_marker("release") else KILLS["default"]


def _ingest_then_kill(tmp_path: Path, kills: int) -> None:
    corpus = tmp_path / "corpus"
    titles = write_threads(corpus, 0, 30)
    scratch = tmp_path / "scratch.db"
    longest = timed_run(_cli(scratch, "ingest", str(corpus)))
    db = tmp_path / "kb.db"
    killed, finished = kill_at_random(_cli(db, "ingest", str(corpus)), db, kills, longest,
                                      random.Random(11))
    timed_run(_cli(db, "ingest", str(corpus)))  # the run after the last kill completes
    held = soundness(db)
    with sqlite3.connect(db) as conn:
        stored = [r[0] for r in conn.execute("SELECT title FROM documents")]
        comments = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
    with sqlite3.connect(scratch) as conn:
        expected_comments = conn.execute("SELECT count(*) FROM comments").fetchone()[0]
    assert sorted(stored) == sorted(titles), "every thread once, none twice"
    assert comments == expected_comments and len(held["comments"]) == comments
    record("crash-ingest",
           f"Crashes, ingest: {kills} SIGKILLs at random points ({killed} mid-run, "
           f"{finished} after it finished) of a {longest:.1f} s ingest of 30 threads: "
           f"integrity and FTS ok after each, 0 committed rows lost, the re-run stored "
           f"{len(stored)} documents and {comments} comments, none twice",
           kills=kills, killed=killed, lost=0)


def _analyze_then_kill(tmp_path: Path, kills: int) -> None:
    corpus = tmp_path / "corpus"
    write_threads(corpus, 0, 8)
    db = tmp_path / "kb.db"
    timed_run(_cli(db, "ingest", str(corpus)))
    timed_run(_cli(db, "analyze", "--model", "fast"))
    with sqlite3.connect(db) as conn:
        statements = [r[0] for r in conn.execute("SELECT id FROM statements ORDER BY id")]
        comment = conn.execute("SELECT id FROM comments ORDER BY id LIMIT 1").fetchone()[0]
    rnd = random.Random(5)
    for i, statement in enumerate(rnd.sample(statements, 4)):
        label = ["outcome", "function", "both", "neither"][i]
        timed_run(_cli(db, "label", f"statement:{statement}", label, "--debate",
                       "outcome-function", "--annotator", "analyst"))
    timed_run(_cli(db, "label", f"comment:{comment}", "neither", "--debate",
                   "outcome-function", "--annotator", "analyst"))
    humans = human_labels(db)
    assert len(humans) == 5 and all(h == e for h, e in humans.values())
    threads = 8

    def new_threads(_: int = 0) -> None:
        """Two more threads before each run, so that every run has work to be killed in."""
        nonlocal threads
        write_threads(corpus, threads, 2)
        threads += 2
        timed_run(_cli(db, "ingest", str(corpus)))

    new_threads()
    longest = timed_run(_cli(db, "analyze", "--model", "fast"))  # what one run takes

    def humans_intact() -> None:
        assert human_labels(db) == humans, "a human label changed or lost its place"

    killed, finished = kill_at_random(_cli(db, "analyze", "--model", "fast"), db, kills,
                                      longest, random.Random(17), humans_intact, new_threads)
    timed_run(_cli(db, "analyze", "--model", "fast"))
    soundness(db)
    humans_intact()
    with sqlite3.connect(db) as conn:
        bare = conn.execute(
            "SELECT count(*) FROM documents d WHERE NOT EXISTS (SELECT 1 FROM statements s"
            " LEFT JOIN comments c ON c.id = s.comment_id"
            " WHERE coalesce(s.document_id, c.document_id) = d.id)").fetchone()[0]
        unlabelled = conn.execute(
            "SELECT count(*) FROM statements s WHERE NOT EXISTS (SELECT 1 FROM labels l"
            " WHERE l.target_type = 'statement' AND l.target_id = s.id"
            " AND l.debate = 'outcome-function')").fetchone()[0]
        twice = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM statements GROUP BY coalesce(comment_id,"
            " document_id), start HAVING count(*) > 1)").fetchone()[0]
        n = conn.execute("SELECT count(*) FROM statements").fetchone()[0]
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert documents == threads and bare == 0 and unlabelled == 0
    assert twice == 0, f"{twice} sentence(s) stored twice after the kills"
    record("crash-analyze",
           f"Crashes, analysis: {kills} SIGKILLs at random points ({killed} mid-run, "
           f"{finished} after it finished) of `cxkb analyze` runs of about {longest:.1f} s, "
           f"two new threads before each: integrity and FTS ok after each, 0 committed rows "
           f"lost, 5 human labels unchanged and effective after every kill; the re-run "
           f"analysed all {documents} threads, {n} statements, each labelled, none twice",
           kills=kills, killed=killed, lost=0)


def test_killed_ingests_lose_nothing_committed(tmp_path: Path, request) -> None:
    _ingest_then_kill(tmp_path, _kills(request))


@pytest.mark.slow  # each run loads the analysis stack: ~4 minutes for 5 kills
def test_killed_analyses_lose_nothing_and_keep_human_labels(tmp_path: Path, request) -> None:
    _analyze_then_kill(tmp_path, _kills(request))


@pytest.mark.release
def test_fifty_killed_ingests_lose_nothing_committed(tmp_path: Path, request) -> None:
    _ingest_then_kill(tmp_path, _kills(request))


@pytest.mark.release
def test_fifty_killed_analyses_lose_nothing_and_keep_human_labels(tmp_path: Path,
                                                                   request) -> None:
    _analyze_then_kill(tmp_path, _kills(request))


def test_an_ingest_waits_out_another_writer_or_says_it_could_not(tmp_path: Path,
                                                                  monkeypatch) -> None:
    """Another writer holds the write lock past the busy time-out (as a batch labelling
    the knowledge base can, again and again): the source is stored once the lock is free;
    when it never is, each source says so, nothing of it is written, and the batch goes on
    without a traceback."""
    import threading

    from ingest import pipeline
    from kb import db as kb_db

    corpus = tmp_path / "corpus"
    titles = write_threads(corpus, 0, 3)
    path = tmp_path / "kb.db"
    db = kb_db.open_db(path)
    db.execute("PRAGMA busy_timeout = 200")  # the same waits, much shorter
    monkeypatch.setattr(kb_db, "LOCK_WAITS", (0.3, 0.3, 0.3, 0.3))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # the other writer, for 1.2 s
    release = threading.Timer(1.2, lambda: holder.execute("COMMIT"))
    release.start()
    report = pipeline.ingest(db, [str(corpus / "thread-000.txt")])
    release.join()
    assert not report.failures, report.summary()
    holder.execute("BEGIN IMMEDIATE")  # and now for good
    report = pipeline.ingest(db, [str(corpus / "thread-001.txt"), str(corpus / "thread-002.txt")])
    holder.execute("COMMIT")
    assert len(report.failures) == 2
    assert all("another writer kept the knowledge base locked" in f.error
               for f in report.failures)
    assert [r["title"] for r in db.query("SELECT title FROM documents")] == [titles[0]]
    assert not list(db.query("SELECT 1 FROM sources WHERE locator LIKE '%thread-001%'"))
    report = pipeline.ingest(db, [str(corpus)])
    assert not report.failures, report.summary()
    assert sorted(r["title"] for r in db.query("SELECT title FROM documents")) == sorted(titles)
    db.close()
