"""The app's routes, enumerated from its URL map with arguments filled from a knowledge
base: a route added later is visited by the reliability tests without editing them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SAMPLERS = {  # how to fill each kind of URL argument from the knowledge base
    "document_id": "SELECT id FROM documents ORDER BY id",
    "person_id": "SELECT id FROM people ORDER BY id",
    "topic_id": "SELECT id FROM topics WHERE id >= 0 ORDER BY id",
    "job_id": "SELECT id FROM jobs ORDER BY id",
    "crawl_id": "SELECT id FROM crawls ORDER BY id",
    # the statements of hostile text, a few per document
    "statement_id": """SELECT id FROM (SELECT s.id, row_number() OVER (PARTITION BY
                           coalesce(s.document_id, c.document_id) ORDER BY s.id) AS n
                       FROM statements s LEFT JOIN comments c ON c.id = s.comment_id
                       WHERE s.text GLOB '*[<>"&{]*') WHERE n <= 2 ORDER BY id""",
    "filename": "SELECT 'cxkb.css'",
}


def argument_values(db_path: Path, name: str, rule: str) -> list:
    assert name in SAMPLERS, f"add a sampler for <{name}> in routes.py ({rule})"
    db = sqlite3.connect(db_path)
    try:
        return [row[0] for row in db.execute(SAMPLERS[name])]
    finally:
        db.close()


def routes(app, db_path: Path, *, writes: bool, per_route: int | None = 1):
    """(rule, method, url) for every route that writes (POST, PUT, PATCH, DELETE) or, with
    ``writes=False``, that reads (GET), each argument filled ``per_route`` ways."""
    from flask import url_for

    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        methods = sorted(rule.methods - SAFE_METHODS) if writes else (
            ["GET"] if "GET" in rule.methods else [])
        if not methods:
            continue
        combos: list[dict] = [{}]
        for name in sorted(rule.arguments):
            values = argument_values(db_path, name, rule.rule)[:per_route]
            combos = [{**combo, name: value} for combo in combos for value in values]
        with app.test_request_context():
            for combo in combos:
                url = url_for(rule.endpoint, **combo)
                out += [(rule, method, url) for method in methods]
    return out
