"""Topic pages: the topic list with a map, a page per topic (keywords, representative
quotes, the split of positions, time, sources, people), and the edits a person makes
(rename, merge, move a statement), which survive refits."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from kb.errors import CxkbError, NotFound
from kb.topics import (
    get_topic,
    list_topics,
    merge_topics,
    move_statement,
    positions_in_topic,
    rename_topic,
    topic_choices,
    topic_crossings,
    topic_statements,
)
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


STATEMENTS_PAGE = 50


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def _topic(topic_id: int, page: int = 1) -> dict:
    """A topic with its positions, crossings and one page of its statements (kb.topics:
    the same as ``cxkb topics show``)."""
    db = get_db()
    try:
        topic = get_topic(db, topic_id)
    except NotFound as error:
        abort(404, description=str(error))
    return {**topic, "positions": positions_in_topic(db, topic_id),
            "crossings": topic_crossings(db, topic_id),
            "statements": topic_statements(db, topic_id, STATEMENTS_PAGE,
                                           (page - 1) * STATEMENTS_PAGE)}


@bp.get("/topics/<int(signed=True):topic_id>")
def topic_page(topic_id: int):
    page = _page()
    topic = _topic(topic_id, page)
    others = [t for t in topic_choices(get_db()) if t["id"] != topic_id]
    return render_template("topics/topic.html", topic=topic, others=others, page=page,
                           page_size=STATEMENTS_PAGE,
                           pages=max(1, -(-topic["size"] // STATEMENTS_PAGE)))


@bp.get("/topics/<int(signed=True):topic_id>.json")
def topic_json(topic_id: int):
    """The topic with its positions and crossings, and its statements, a page at a time
    (``?page=N``, 50 a page; ``next`` is the following page or null)."""
    page = _page()
    topic = _topic(topic_id, page)
    following = None
    if page * STATEMENTS_PAGE < topic["size"]:
        following = url_for("topics.topic_json", topic_id=topic_id, page=page + 1)
    return jsonify({**topic, "next": following})


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
    """Move one statement (``statement``) or several (the field repeated) to ``topic``."""
    statements = [s for s in request.form.getlist("statement") if s]
    try:
        into = int(request.form.get("topic", ""))
    except ValueError:
        abort(400, description="choose a topic")
    if not statements:
        abort(400, description="choose the statements to move")
    for statement in statements:
        _edit(move_statement, statement, into)
    flash(f"{len(statements)} statement(s) moved." if len(statements) > 1
          else "Statement moved.")
    return redirect(url_for("topics.topic_page", topic_id=into))
