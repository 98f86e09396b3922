"""The web UI: a Flask application factory that reads the knowledge base only.

Pages never import the analysis stack; what they show comes from tables. Templates live
in the project's top-level ``templates/`` folder, installed as the ``kb.templates``
package so that a built wheel serves pages too.
"""

from __future__ import annotations

import gc
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from kb.settings import get_setting


def templates_dir() -> Path:
    """The top-level ``templates/`` of a checkout, or ``kb/templates`` in an installed wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "templates", here.parent / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(f"cxkb's templates are missing (looked beside {here})")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then environment, then ``test_config``."""
    folder = templates_dir()
    app = Flask(__name__, template_folder=str(folder), static_folder=str(folder / "static"),
                static_url_path="/static")
    app.config.from_mapping(
        DATABASE=os.path.abspath(get_setting("db")),
        SECRET_KEY=get_setting("secret_key") or secrets.token_hex(32),
        # uploads may be as large as a source can be; other forms are held to 1 MB
        MAX_CONTENT_LENGTH=int(get_setting("max_source_bytes")) + 64 * 1024,
        MAX_FORM_BYTES=1024 * 1024,
        PAGE_SIZE=50,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WRITE_POLICY="local",  # local | editors | read-only: see kb.web.auth
    )
    if test_config:
        app.config.update(test_config)
    app.jinja_env.autoescape = True  # never turned off: every text we show is scraped

    from kb.web import (
        api,
        auth,
        corrections,
        crawls,
        db,
        documents,
        listing,
        people,
        positions,
        search,
        security,
        sources,
        topics,
    )

    db.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(documents.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(positions.bp)
    app.register_blueprint(topics.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(listing.bp)
    app.register_blueprint(sources.bp)
    app.register_blueprint(corrections.bp)
    app.register_blueprint(crawls.bp)
    app.register_blueprint(api.bp)
    app.add_url_rule("/", endpoint="index", view_func=documents.index)
    _stable_routes(app)
    return app


# the routes issue 7 promises to keep stable, beside the pages' own addresses
STABLE_ROUTES = (
    ("/statements", "listing.positions_page"),
    ("/statements.json", "listing.positions_json"),
    ("/statements.csv", "listing.positions_csv"),
    ("/threads/<document_id>", "documents.thread"),
    ("/threads/<document_id>.json", "documents.thread_json"),
    ("/search", "search.search_page"),
    ("/topics", "topics.list_page"),
)


def _stable_routes(app: Flask) -> None:
    for rule, endpoint in STABLE_ROUTES:
        app.add_url_rule(rule, endpoint=f"stable:{rule}", view_func=app.view_functions[endpoint])


def settle_for_serving() -> None:
    """Keep Python's cyclic garbage collector off the request path of a long-running
    server: what the app loaded at start (modules, templates, routes) is frozen out of the
    collector's reach, and young collections run every 10,000 allocations rather than
    700. A page builds thousands of short-lived rows; each full collection rescanned every
    object of the process, which put 30-40 ms on one listing request in ten (on 100k
    statements: p95 91 ms against a p50 of 49 ms; 51 ms after)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
