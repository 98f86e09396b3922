"""The tables triggers keep (m007, m009) stay equal to what they are derived from.

A small real knowledge base (the demo corpus, ingested) gets random sequences of inserts,
updates and deletes of labels, statements, comments, documents, people and topic
assignments, in the ways the code writes them (``kb.labels``, sqlite-utils upserts) and in
some it does not (plain UPDATEs, INSERT OR REPLACE of a topic, rolled-back transactions);
then ``kb.derived.derived_differences`` must find nothing.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import ClassVar

import pytest
from webhelpers import build_demo_db

from kb.db import open_db
from kb.derived import DERIVED, derived_differences
from kb.labels import archive_labels, set_label

DEBATES = {"outcome-function": ["outcome", "function", "both"],
           "ownership": ["cx-team", "marketing", "everyone"]}
NOW = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("derived") / "kb.db"
    build_demo_db(path)
    return path


class World:
    """Random writes to one knowledge base, through the real schema."""

    def __init__(self, path: Path, seed: int) -> None:
        self.db = open_db(path)
        self.rng = random.Random(seed)
        self.n = 0
        for i in range(4):
            self.person()
        for i in range(3):
            self.document()
        for _ in range(25):
            self.statement()

    # ------------------------------------------------------------------ helpers
    def ids(self, sql: str) -> list:
        """What ``sql`` selects, in the order it was stored: the walk must not depend on
        the ids' values, which hash the demo corpus's path (they differ between checkouts)."""
        return [r[0] for r in self.db.execute(sql + " ORDER BY rowid").fetchall()
                if r[0] is not None]

    def pick(self, sql: str):
        ids = self.ids(sql)
        return self.rng.choice(ids) if ids else None

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def maybe_person(self):
        return self.pick("SELECT id FROM people") if self.rng.random() < 0.8 else None

    def day(self):
        if self.rng.random() < 0.2:
            return None
        year, month, day = (self.rng.randrange(2010, 2025), self.rng.randrange(1, 10),
                            self.rng.randrange(10, 20))
        return f"{year}-0{month}-{day}"

    # ------------------------------------------------------------------ writes
    def person(self):
        pid = self.next("p")
        self.db.execute("INSERT INTO people (id, name, created_at) VALUES (?, ?, ?)",
                        [pid, f"Person {pid}", NOW])

    def document(self):
        source = self.pick("SELECT id FROM sources")
        did = self.next("d")
        self.db.execute(
            "INSERT INTO documents (id, source_id, site, title, author_person_id, published,"
            " body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [did, source, self.rng.choice(["a.example", "b.example", None]), f"Title {did}",
             self.maybe_person(), self.day(), "A body.", NOW, NOW])
        for position in range(1, self.rng.randrange(1, 4) + 1):
            self.comment(did, position)

    def comment(self, document=None, position=None):
        document = document or self.pick("SELECT id FROM documents")
        if document is None:
            return
        cid = self.next("c")
        self.db.execute(
            "INSERT INTO comments (id, document_id, position, author_person_id, posted_at,"
            " text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [cid, document, position or self.rng.randrange(1, 99), self.maybe_person(),
             self.day(), "A comment.", NOW, NOW])

    def statement(self, revive: bool = False):
        sid = self.next("st")
        if revive:  # a statement cut again with the id it had (its labels were kept)
            sid = self.pick("SELECT target_id FROM labels WHERE target_type = 'statement'"
                            " AND target_id NOT IN (SELECT id FROM statements)")
            if sid is None:
                return
        if self.rng.random() < 0.4:
            parent = ("document_id", self.pick("SELECT id FROM documents"))
        else:
            parent = ("comment_id", self.pick("SELECT id FROM comments"))
        if parent[1] is None:
            return
        person = self.maybe_person()
        self.db.execute(
            f"INSERT INTO statements (id, {parent[0]}, start, \"end\", text, speaker,"
            " speaker_person_id, created_at) VALUES (?, ?, 0, 5, ?, ?, ?, ?)",
            [sid, parent[1], f"Statement {sid} " + "x" * self.rng.randrange(20), person and
             f"Name of {person}", person, NOW])

    def revive(self):
        self.statement(revive=True)

    def label(self):
        kind = self.rng.choice(["statement"] * 5 + ["comment", "document", "person"])
        table = {"statement": "statements", "comment": "comments", "document": "documents",
                 "person": "people"}[kind]
        target = self.pick(f"SELECT id FROM {table}")  # table: from the fixed map above
        if target is None:
            return
        debate = self.rng.choice(list(DEBATES))
        set_label(self.db, kind, target, debate, self.rng.choice(DEBATES[debate]),
                  confidence=round(self.rng.random(), 3),
                  method=self.rng.choice(["model", "model", "rule", "human"]),
                  model_version=f"v{self.rng.randrange(9)}")

    def relabel(self):
        rows = self.db.execute("SELECT id, method FROM labels ORDER BY id").fetchall()
        if not rows:
            return
        row = self.rng.choice(rows)
        debate = self.rng.choice(list(DEBATES))
        method = "human" if row[1] == "human" else self.rng.choice(["model", "rule"])
        if self.rng.random() < 0.3:  # a new model version, nothing else
            self.db.execute("UPDATE labels SET model_version = ? WHERE id = ?",
                            [f"v{self.rng.randrange(9)}", row[0]])
            return
        try:
            self.db.execute("UPDATE labels SET label = ?, debate = ?, method = ?, confidence = ?"
                            " WHERE id = ?", [self.rng.choice(DEBATES[debate]), debate, method,
                                              self.rng.random(), row[0]])
        except sqlite3.IntegrityError:
            pass  # another label of that target, debate and method exists

    def unlabel(self):
        rows = self.db.execute("SELECT target_type, target_id FROM labels ORDER BY id").fetchall()
        if rows:
            row = self.rng.choice(rows)
            archive_labels(self.db, row[0], [row[1]], reason="test")

    def change_statement(self):
        sid = self.pick("SELECT id FROM statements")
        if sid is None:
            return
        what = self.rng.choice(["speaker", "text", "comment", "document"])
        if what == "speaker":
            person = self.maybe_person()
            self.db.execute("UPDATE statements SET speaker_person_id = ?, speaker = ?"
                            " WHERE id = ?", [person, person and f"N {person}", sid])
        elif what == "text":
            self.db.execute("UPDATE statements SET text = text || 'y' WHERE id = ?", [sid])
        elif what == "comment":
            self.db.execute("UPDATE statements SET comment_id = ?, document_id = NULL"
                            " WHERE id = ?", [self.pick("SELECT id FROM comments"), sid])
        else:
            self.db.execute("UPDATE statements SET document_id = ?, comment_id = NULL"
                            " WHERE id = ?", [self.pick("SELECT id FROM documents"), sid])

    def change_comment(self):
        cid = self.pick("SELECT id FROM comments")
        if cid is None:
            return
        what = self.rng.choice(["posted", "document", "author"])
        if what == "posted":
            self.db.execute("UPDATE comments SET posted_at = ? WHERE id = ?", [self.day(), cid])
        elif what == "document":
            self.db.execute("UPDATE comments SET document_id = ? WHERE id = ?",
                            [self.pick("SELECT id FROM documents"), cid])
        else:
            self.db.execute("UPDATE comments SET author_person_id = ? WHERE id = ?",
                            [self.maybe_person(), cid])

    def change_document(self):
        did = self.pick("SELECT id FROM documents")
        if did:
            self.db.execute("UPDATE documents SET published = ?, site = ? WHERE id = ?",
                            [self.day(), self.rng.choice(["a.example", "c.example"]), did])

    def delete(self):
        table = self.rng.choice(["statements"] * 4 + ["comments", "documents", "people"])
        target = self.pick(f"SELECT id FROM {table}")  # table: from the fixed list above
        if target is None:
            return
        if table == "statements":  # as kb.statements.replace_statements does
            archive_labels(self.db, "statement", [target], reason="test")
        self.db.execute(f"DELETE FROM {table} WHERE id = ?", [target])

    def topic(self):
        sid = self.pick("SELECT id FROM statements")
        if sid is None:
            return
        topic = self.rng.randrange(-1, 4)
        how = self.rng.choice(["upsert", "upsert", "replace", "update", "delete", "merge"])
        if how == "upsert":  # as nlp.topics writes them
            self.db["topic_assignments"].upsert(
                {"statement_id": sid, "topic_id": topic, "score": self.rng.random(),
                 "method": "model", "updated_at": NOW}, pk="statement_id")
        elif how == "replace":  # nothing writes this way, and nothing may break if it did
            self.db.execute("INSERT OR REPLACE INTO topic_assignments (statement_id, topic_id,"
                            " method, updated_at) VALUES (?, ?, 'model', ?)", [sid, topic, NOW])
        elif how == "update":
            self.db.execute("UPDATE topic_assignments SET topic_id = ? WHERE statement_id = ?",
                            [topic, sid])
        elif how == "delete":
            self.db.execute("DELETE FROM topic_assignments WHERE statement_id = ?", [sid])
        else:  # as kb.topics.merge_topics moves a topic's statements
            self.db.execute("UPDATE topic_assignments SET topic_id = ? WHERE topic_id = ?",
                            [topic, self.rng.randrange(-1, 4)])

    OPS: ClassVar[dict[str, float]] = {  # how often each write is chosen
        "statement": 4, "revive": 1, "label": 8, "relabel": 3, "unlabel": 2,
        "change_statement": 3, "change_comment": 2, "change_document": 1, "delete": 2,
        "topic": 5, "comment": 1, "document": 0.3, "person": 0.3}

    def step(self) -> None:
        name = self.rng.choices(list(self.OPS), list(self.OPS.values()))[0]
        getattr(self, name)()

    def run(self, steps: int) -> None:
        for i in range(steps):
            if self.rng.random() < 0.05:  # a batch that is rolled back leaves no trace
                try:
                    with self.db.conn:
                        for _ in range(5):
                            self.step()
                        raise RuntimeError("roll back")
                except RuntimeError:
                    pass
            else:
                with self.db.conn:
                    self.step()


@pytest.mark.parametrize("seed", range(6))
def test_kept_tables_equal_what_they_are_derived_from(demo: Path, tmp_path: Path, seed) -> None:
    path = tmp_path / "kb.db"
    path.write_bytes(demo.read_bytes())
    world = World(path, seed)
    reached: set[str] = set()
    for _ in range(4):
        world.run(100)
        assert derived_differences(world.db) == {}
        reached |= {name for name, (sql, _) in DERIVED.items()
                    if world.db.execute(sql).fetchone() is not None}
    # the run did reach every kept table at some point (a check of empty tables would prove
    # nothing)
    assert reached >= {"statement_positions", "statement_facts", "position_counts_by_topic",
                       "person_counts", "label_counts"}
    world.db.close()


def test_a_broken_kept_table_is_found(demo: Path, tmp_path: Path) -> None:
    path = tmp_path / "kb.db"
    path.write_bytes(demo.read_bytes())
    world = World(path, 99)
    world.run(50)
    with world.db.conn:
        world.db.execute("UPDATE person_counts SET statements = statements + 1"
                         " WHERE person_id = (SELECT min(person_id) FROM person_counts)")
        world.db.execute("UPDATE statement_positions SET topic_id = 77"
                         " WHERE statement_id = (SELECT min(statement_id)"
                         " FROM statement_positions)")
    assert set(derived_differences(world.db)) >= {"person_counts", "statement_positions"}
