"""One database connection per request, cached on ``flask.g`` and closed on teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlite_utils import Database

from kb.db import connect, open_db


def get_db() -> Database:
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    open_db(app.config["DATABASE"]).close()  # create or migrate once, not per request
    app.teardown_appcontext(close_db)
