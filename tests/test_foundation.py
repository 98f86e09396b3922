"""The foundation's promises through the real CLI and real SQLite files: the seeds come out
exactly right, re-ingest adds nothing, bad files are reported while good ones are stored,
human labels survive deletion in the archive, and every command is documented."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.demo_corpus import DEMO_CORPUS_DIR
from kb import migrations
from kb.cli import cli
from kb.db import open_db
from kb.labels import set_label
from kb.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
BLOG = DEMO_CORPUS_DIR / "temkin_whos_leading_cx_efforts.txt"
MAGAZINE = DEMO_CORPUS_DIR / "crm_magazine_whos_responsible_for_cx.txt"
BAD = Path(__file__).parent / "fixtures" / "plaintext" / "bad"


def run(db: Path, *args: str) -> CliRunner.Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def rows(db: Path, table: str) -> list[dict]:
    result = run(db, "export", table, "--format", "jsonl")
    assert result.exit_code == 0
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_blog_seed_thread_comes_out_exactly(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    assert run(db, "ingest", str(BLOG)).exit_code == 0
    comments = rows(db, "comments")
    assert [c["author"] for c in comments] == [
        "Ray Brown", "Walter Adamson", "Eric Jacques", "Eric Jacques", "Tim Sanchez",
        "Kancha", None, "Eric Jacques", "Kancha"]
    assert [c["position"] for c in comments] == list(range(1, 10))
    replies = [c for c in comments if c["parent_id"]]
    assert len(replies) == 1 and replies[0]["author"] == "Kancha"
    assert replies[0]["parent_id"] == comments[4]["id"]  # Tim Sanchez
    assert "@g2m" not in comments[1]["text"]
    assert comments[1]["text"].endswith("into the customer experience mix.")
    assert comments[8]["text"].endswith("how do we want to do this ?")
    assert {c["kind"] for c in comments} == {"comment"}
    (document,) = rows(db, "documents")
    assert document["title"] == "Who’s Leading Customer Experience Efforts?"
    assert document["author"] == "Bruce Temkin"
    assert document["published"] is None
    assert document["body"].endswith("Customer experience is a real “function”")
    assert "Leave a Reply" not in document["body"] and "Qualtrics" not in document["body"]


def test_magazine_seed_is_an_article_without_comments(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    assert run(db, "ingest", str(MAGAZINE)).exit_code == 0
    (document,) = rows(db, "documents")
    assert document["author"] == "Coreen Bailor"
    assert document["author_role"] == "(former) Associate Editor, CRM Magazine"
    assert document["published"] == "2005-03-01"
    assert document["body"].startswith("Serve your customers")
    for furniture in ("Related Articles", "Subscribe Now", "Article Featured Image", "CRM Covers"):
        assert furniture not in document["body"]
    assert rows(db, "comments") == []


def test_reingest_adds_nothing_and_keeps_ids(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(BLOG), str(MAGAZINE))
    before = rows(db, "comments")
    again = run(db, "ingest", str(BLOG), str(MAGAZINE))
    assert "documents 0 added" in again.stderr and "comments 0 added" in again.stderr
    assert rows(db, "comments") == before


def test_edited_comment_keeps_its_id_and_human_label(tmp_path: Path) -> None:
    page = tmp_path / "thread.txt"
    shutil.copy(BLOG, page)
    db = tmp_path / "kb.db"
    run(db, "ingest", str(page))
    ray = rows(db, "comments")[0]
    kb = open_db(db)
    with kb.conn:
        set_label(kb, "comment", ray["id"], "outcome-function", "outcome", method="human")
    page.write_text(page.read_text("utf-8").replace("great phrase", "fine phrase"), "utf-8")
    result = run(db, "ingest", str(page))
    assert "1 updated" in result.stderr
    assert rows(db, "comments")[0]["id"] == ray["id"]
    assert rows(db, "labels")[0]["label"] == "outcome"


def test_automatic_writers_cannot_touch_human_labels(tmp_path: Path) -> None:
    kb = open_db(tmp_path / "kb.db")
    with kb.conn:
        set_label(kb, "comment", "c1", "outcome-function", "both", method="human")
        set_label(kb, "comment", "c1", "outcome-function", "function", method="model",
                  confidence=0.9)
    labels = {r["method"]: r["label"] for r in kb.query("SELECT * FROM labels")}
    assert labels == {"human": "both", "model": "function"}
    with pytest.raises(sqlite3.DatabaseError):
        kb.execute("UPDATE labels SET method = 'model' WHERE method = 'human'")
    with pytest.raises(sqlite3.DatabaseError):
        kb.execute("DELETE FROM labels WHERE method = 'human'")


def test_delete_moves_human_labels_to_the_archive(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(BLOG))
    comment = rows(db, "comments")[4]
    kb = open_db(db)
    with kb.conn:
        set_label(kb, "comment", comment["id"], "outcome-function", "both", method="human")
    (source,) = rows(db, "sources")
    result = run(db, "delete", source["id"])
    assert result.exit_code == 0 and "1 label(s) archived" in result.stderr
    assert rows(db, "comments") == [] and rows(db, "labels") == []
    (archived,) = rows(db, "label_archive")
    assert archived["label"] == "both" and archived["target_snapshot"]["author"] == "Tim Sanchez"
    assert "Unknown" not in run(db, "search", "Sanchez").stdout
    assert run(db, "delete", "nope").exit_code == 1


def test_bad_files_are_reported_and_good_ones_stored(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(BLOG))
    result = run(db, "ingest", str(BAD))
    assert result.exit_code == 1
    for name, reason in [("empty.txt", "empty"), ("whitespace_only.txt", "whitespace"),
                         ("binary.txt", "binary"), ("furniture_only.txt", "no article text")]:
        assert f"{BAD / name}: " in result.stderr and reason in result.stderr
    titles = {d["title"] for d in rows(db, "documents")}
    assert "What a Zürich café taught me about CX ownership" in titles  # latin-1, decoded
    assert "Who’s Leading Customer Experience Efforts?" in titles
    assert open_db(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_search_reports_bad_syntax_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(BLOG))
    assert "Tim Sanchez" in run(db, "search", "outcome").stdout
    bad = run(db, "search", "outcome AND (")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: cannot search")
    assert "Traceback" not in bad.output


def test_backup_and_migration_of_an_older_database(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old = open_db(db, migrate=False)
    old.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    with old.conn:
        migrations.m001_initial(old)
        old.execute("INSERT INTO _migrations VALUES ('m001_initial', 'then')")
    old.close()
    kb = open_db(db)
    assert migrations.schema_version(kb) == len(migrations.MIGRATIONS)
    assert (tmp_path / "old.db.v1.bak").exists()
    run(db, "ingest", str(BLOG))
    assert run(db, "backup", str(tmp_path / "copy.db")).exit_code == 0
    assert open_db(tmp_path / "copy.db")["comments"].count == 9
    n = len(migrations.MIGRATIONS)
    assert f"schema: version {n} of {n}" in run(db, "status").stdout


def test_a_migration_stopped_midway_leaves_nothing_of_itself(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration that fails after some of its statements ran (as a process killed inside
    it would) leaves the file as it was, with its data, and the next open applies it whole;
    before, its first statements stayed and every later open failed ("duplicate column")."""
    db = tmp_path / "kb.db"
    real = list(migrations.MIGRATIONS)
    last = real.index(migrations.m009_topic_person_facts)

    def broken(kb) -> None:
        migrations.m009_topic_person_facts(kb)
        kb.executescript("CREATE TABLE half (x); ALTER TABLE no_such_table ADD COLUMN y;")

    monkeypatch.setattr(migrations, "MIGRATIONS", real[:last])
    run(db, "ingest", str(BLOG))
    monkeypatch.setattr(migrations, "MIGRATIONS", [*real[:last], broken])
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        open_db(db)
    with sqlite3.connect(db) as con:
        columns = {r[1] for r in con.execute("PRAGMA table_info(statement_positions)")}
        assert "topic_id" not in columns
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        assert "half" not in tables and "position_counts_by_topic" not in tables
        assert con.execute("SELECT count(*) FROM _migrations").fetchone()[0] == last
    monkeypatch.setattr(migrations, "MIGRATIONS", real)
    kb = open_db(db)
    assert migrations.schema_version(kb) == len(real)
    assert kb["comments"].count == 9


def test_stdin_and_demo(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "ingest", "-"],
                                input=MAGAZINE.read_bytes())
    assert result.exit_code == 0 and "documents 1 added" in result.stderr
    demo = run(tmp_path / "demo.db", "demo", "--no-serve")
    assert demo.exit_code == 0 and "comments 9 added" in demo.stderr
    assert re.search(r"demo crawl: .*: \d+ requests; 4 ingested", demo.stderr), demo.stderr


def test_every_command_and_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for name, command in cli.commands.items():
        assert f"cxkb {name}" in readme, f"`cxkb {name}` is not in README.md"
        assert command.help
    for setting in SETTINGS:
        assert setting.env in readme, f"{setting.env} is not in README.md"
