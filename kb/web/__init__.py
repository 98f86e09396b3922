"""The web UI: a Flask application factory that reads the knowledge base only.

Pages never import the analysis stack; what they show comes from tables. Templates live
in the project's top-level ``templates/`` folder, installed as the ``kb.templates``
package so that a built wheel serves pages too.
"""

from __future__ import annotations

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
        MAX_CONTENT_LENGTH=1024 * 1024,
        PAGE_SIZE=50,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config:
        app.config.update(test_config)
    app.jinja_env.autoescape = True  # never turned off: every text we show is scraped

    from kb.web import db, documents, listing, people, positions, search, security, topics

    db.init_app(app)
    security.init_app(app)
    app.register_blueprint(documents.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(positions.bp)
    app.register_blueprint(topics.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(listing.bp)
    app.add_url_rule("/", endpoint="index", view_func=documents.index)
    return app
