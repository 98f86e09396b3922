"""Topic pages: the topic list with a map, a page per topic (keywords, representative
quotes, the split of positions, time, sources, people), and the edits a person makes
(rename, merge, move a statement), which survive refits."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from sqlite_utils import Database

from kb.errors import CxkbError, NotFound
from kb.topics import get_topic, list_topics, merge_topics, move_statement, rename_topic
from kb.web.api import page_csv, page_json
from kb.web.auth import writer_required
from kb.web.db import get_db

bp = Blueprint("topics", __name__)

MAP_SIZE = (640, 360)


def topic_map(topics: list[dict]) -> list[dict]:
    """Circles for the topic map: position from the stored 2-D coordinates, area ~ size."""
    placed = [t for t in topics if t["x"] is not None and t["id"] != -1]
    if not placed:
        return []
    xs, ys = [t["x"] for t in placed], [t["y"] for t in placed]
    width, height = MAP_SIZE
    pad = 90  # room for the largest circle and its label
    biggest = max(t["size"] for t in placed) or 1

    def scale(v: float, lo: float, hi: float, span: int) -> float:
        return pad + (span - 2 * pad) * ((v - lo) / (hi - lo) if hi > lo else 0.5)

    return [{"id": t["id"], "label": t["label"], "size": t["size"],
             "cx": round(scale(t["x"], min(xs), max(xs), width), 1),
             "cy": round(scale(t["y"], min(ys), max(ys), height), 1),
             "r": round(8 + 32 * (t["size"] / biggest) ** 0.5, 1)} for t in placed]


@bp.get("/topics/")
def list_page():
    topics = list_topics(get_db())
    return render_template("topics/list.html", topics=topics, circles=topic_map(topics),
                           map_size=MAP_SIZE)


@bp.get("/topics.json")
def list_json():
    topics = list_topics(get_db())
    return page_json(topics, len(topics), 1, max(len(topics), 1))


@bp.get("/topics.csv")
def list_csv():
    return page_csv([{k: (", ".join(map(str, v)) if isinstance(v, list) else v)
                      for k, v in t.items() if not isinstance(v, dict)}
                     for t in list_topics(get_db())], "topics.csv")


# What a topic page shows, read as kb.topics reads it (positions_in_topic, topic_crossings,
# topic_statements) but the positions from statement_positions (migration m007), the
# crossings in one pass, and only the 200 statements shown joined to their text.
_POSITIONS = """
    SELECT p.debate, p.label, count(*) AS n FROM topic_assignments AS a
    JOIN statement_positions AS p ON p.statement_id = a.statement_id
    WHERE a.topic_id = ? GROUP BY p.debate, p.label ORDER BY p.debate"""
_CROSSINGS = """
    SELECT coalesce(substr(d.published, 1, 4), 'undated') AS period,
           coalesce(d.site, d.title) AS source, coalesce(s.speaker, 'unknown') AS person,
           count(*) AS n
    FROM topic_assignments AS a JOIN statements AS s ON s.id = a.statement_id
    LEFT JOIN comments AS c ON c.id = s.comment_id
    JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
    WHERE a.topic_id = ? GROUP BY period, source, person"""
_STATEMENTS = """
    SELECT s.id, s.text, s.speaker, s.kind, a.method, a.score,
           coalesce(s.document_id, c.document_id) AS document_id, s.comment_id
    FROM (SELECT statement_id, method, score FROM topic_assignments WHERE topic_id = ?
          ORDER BY method = 'human' DESC, score DESC LIMIT ?) AS a
    JOIN statements AS s ON s.id = a.statement_id
    LEFT JOIN comments AS c ON c.id = s.comment_id
    ORDER BY a.method = 'human' DESC, a.score DESC"""


def _positions(db: Database, topic_id: int) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in db.query(_POSITIONS, [topic_id]):
        out.setdefault(r["debate"], {})[r["label"]] = r["n"]
    return out


def _crossings(db: Database, topic_id: int) -> dict[str, list[dict]]:
    periods: dict[str, int] = {}
    sources: dict[str, int] = {}
    people: dict[str, int] = {}
    for r in db.query(_CROSSINGS, [topic_id]):
        for counts, key in ((periods, r["period"]), (sources, r["source"]),
                            (people, r["person"])):
            counts[key] = counts.get(key, 0) + r["n"]

    def top(counts: dict[str, int], name: str) -> list[dict]:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:20]
        return [{name: key, "n": n} for key, n in ranked]

    return {"over_time": [{"period": k, "n": periods[k]} for k in sorted(periods)],
            "by_source": top(sources, "source"), "by_person": top(people, "person")}


def _topic(topic_id: int) -> dict:
    db = get_db()
    try:
        topic = get_topic(db, topic_id)
    except NotFound as error:
        abort(404, description=str(error))
    return {**topic, "positions": _positions(db, topic_id),
            "crossings": _crossings(db, topic_id),
            "statements": list(db.query(_STATEMENTS, [topic_id, 200]))}


@bp.get("/topics/<int(signed=True):topic_id>")
def topic_page(topic_id: int):
    others = [t for t in list_topics(get_db(), include_outliers=False) if t["id"] != topic_id]
    return render_template("topics/topic.html", topic=_topic(topic_id), others=others)


@bp.get("/topics/<int(signed=True):topic_id>.json")
def topic_json(topic_id: int):
    return jsonify(_topic(topic_id))


def _edit(action, *args):
    try:
        action(get_db(), *args)
    except NotFound as error:
        abort(404, description=str(error))
    except CxkbError as error:
        abort(400, description=str(error))


@bp.post("/topics/<int(signed=True):topic_id>/rename")
@writer_required
def rename(topic_id: int):
    _edit(rename_topic, topic_id, request.form.get("label", ""))
    flash("Topic renamed.")
    return redirect(url_for("topics.topic_page", topic_id=topic_id))


@bp.post("/topics/<int(signed=True):topic_id>/merge")
@writer_required
def merge(topic_id: int):
    try:
        into = int(request.form.get("into", ""))
    except ValueError:
        abort(400, description="choose the topic to merge into")
    _edit(merge_topics, topic_id, into)
    flash(f"Topic {topic_id} merged into this one.")
    return redirect(url_for("topics.topic_page", topic_id=into))


@bp.post("/topics/move")
@writer_required
def move():
    statement = request.form.get("statement", "")
    try:
        into = int(request.form.get("topic", ""))
    except ValueError:
        abort(400, description="choose a topic")
    _edit(move_statement, statement, into)
    flash("Statement moved.")
    return redirect(url_for("topics.topic_page", topic_id=into))
