"""Who may write through the web UI: the write policy, signing editors in and out, and
``writer_required`` for every view that changes the knowledge base.

``app.config["WRITE_POLICY"]`` is one of:

- ``"local"``: served on a loopback address; whoever reaches it may write, no sign-in.
- ``"editors"``: served on any other address; writing needs an editor signed in
  (accounts come from ``cxkb users add``, see ``kb.users``).
- ``"read-only"``: ``cxkb serve --read-only``; browsing only, nothing can be written.

Failed sign-ins are counted per name in this process's memory: after ``LOCK_AFTER``
failures within ``LOCK_WINDOW`` seconds the name is refused for ``LOCK_WINDOW`` seconds,
even with the right password. A restart forgets the counts, and each process keeps its own.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from kb.users import MAX_NAME, verify_user
from kb.web.db import get_db

bp = Blueprint("auth", __name__)

POLICIES = ("local", "editors", "read-only")
LOCK_AFTER = 10
LOCK_WINDOW = 15 * 60.0
READ_ONLY_MESSAGE = "This knowledge base is served read-only: nothing can be changed here."
SIGN_IN_MESSAGE = "Sign in as an editor to make changes."
FAILED_MESSAGE = "Wrong name or password."


class Lockout:
    """Failed sign-ins per name, in memory. Thread-safe; bounded to ``max_names`` names
    (the oldest are forgotten first) so random names cannot exhaust memory."""

    def __init__(self, limit: int = LOCK_AFTER, window: float = LOCK_WINDOW,
                 clock: Callable[[], float] = time.monotonic, max_names: int = 10_000):
        self.limit, self.window, self.clock, self.max_names = limit, window, clock, max_names
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def seconds_left(self, name: str) -> float:
        """How long ``name`` is still refused (0 when it may try)."""
        with self._lock:
            until = self._locked_until.get(name)
            if until is None:
                return 0.0
            left = until - self.clock()
            if left <= 0:
                del self._locked_until[name]
                return 0.0
            return left

    def failed(self, name: str) -> None:
        with self._lock:
            now = self.clock()
            recent = [t for t in self._failures.pop(name, []) if now - t < self.window]
            recent.append(now)
            if len(recent) >= self.limit:
                self._locked_until.pop(name, None)
                self._locked_until[name] = now + self.window
                _bound(self._locked_until, self.max_names)
            else:
                self._failures[name] = recent
                _bound(self._failures, self.max_names)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)


def _bound(table: dict, size: int) -> None:
    while len(table) > size:
        del table[next(iter(table))]


# --------------------------------------------------------------------------- the policy


def write_policy() -> str:
    return current_app.config["WRITE_POLICY"]


def current_editor() -> str | None:
    """The signed-in editor's name, or None (also when the account has since been removed)."""
    if "cxkb_editor" not in g:
        name = session.get("editor")
        g.cxkb_editor = None
        if isinstance(name, str) and get_db().execute(
                "SELECT 1 FROM users WHERE name = ?", [name]).fetchone():
            g.cxkb_editor = name
    return g.cxkb_editor


def can_write() -> bool:
    """True when the current request may change the knowledge base."""
    policy = write_policy()
    if policy == "local":
        return True
    if policy == "editors":
        return current_editor() is not None
    return False


def _wants_json() -> bool:
    if request.is_json or request.path.endswith(".json"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _same_site_path(url: str | None) -> str | None:
    """The path (and query) of ``url`` when it points at this site, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page: never an open redirect."""
    home = url_for("index")
    if not target or len(target) > 2000 or not target.startswith("/"):
        return home
    if target.startswith("//") or "\\" in target:
        return home
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    if parts.path in (url_for("auth.login"), url_for("auth.logout")):
        return home
    return target


def writer_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the view unless the current request may write: a 403 page under
    "read-only"; under "editors" without a signed-in editor, a redirect to the sign-in
    page (a 401 for JSON requests)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        policy = write_policy()
        if policy == "read-only":
            if _wants_json():
                return jsonify({"error": READ_ONLY_MESSAGE}), 403
            return render_template("auth/read_only.html", message=READ_ONLY_MESSAGE), 403
        if policy == "editors" and current_editor() is None:
            if _wants_json():
                return jsonify({"error": SIGN_IN_MESSAGE, "login": url_for("auth.login")}), 401
            back = (request.full_path.rstrip("?") if request.method == "GET"
                    else _same_site_path(request.referrer))
            flash(SIGN_IN_MESSAGE)
            return redirect(url_for("auth.login", next=safe_next(back)), code=303)
        return view(*args, **kwargs)

    return wrapped


# --------------------------------------------------------------------------- the routes


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if write_policy() != "editors":
        status = 200 if request.method == "GET" else 400
        return render_template("auth/login.html", next=next_url, error=None), status
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, error=None)
    name = request.form.get("name", "").strip()[:MAX_NAME + 1]  # bounds the lockout's keys
    password = request.form.get("password", "")
    lockout: Lockout = current_app.extensions["cxkb_lockout"]
    wait = lockout.seconds_left(name)
    if wait:
        minutes = math.ceil(wait / 60)
        error = (f"Too many failed sign-ins for this name: try again in {minutes} "
                 f"minute{'s' if minutes != 1 else ''}.")
        page = render_template("auth/login.html", next=next_url, error=error, name=name)
        return page, 429, {"Retry-After": str(math.ceil(wait))}
    if not verify_user(get_db(), name, password):
        lockout.failed(name)
        page = render_template("auth/login.html", next=next_url, error=FAILED_MESSAGE,
                               name=name)
        return page, 401
    lockout.succeeded(name)
    session.clear()  # a fresh session on every sign-in: no fixation
    session["editor"] = name
    flash(f"Signed in as {name}.")
    return redirect(next_url, code=303)


@bp.post("/logout")
def logout():
    session.clear()
    flash("Signed out.")
    return redirect(url_for("index"), code=303)


def init_app(app: Flask) -> None:
    policy = app.config.setdefault("WRITE_POLICY", "local")
    if policy not in POLICIES:
        raise ValueError(f"WRITE_POLICY is {policy!r}: use one of {', '.join(POLICIES)}")
    app.extensions["cxkb_lockout"] = Lockout()
    app.register_blueprint(bp)
    app.jinja_env.globals.update(can_write=can_write, current_editor=current_editor,
                                 write_policy=write_policy)


def policy_for_host(host: str, read_only: bool = False) -> str:
    """The write policy for serving on ``host``: "read-only" when asked, "local" on a
    loopback address (127.0.0.0/8, ::1, localhost), else "editors"."""
    if read_only:
        return "read-only"
    bare = host.strip().strip("[]").lower()
    if bare == "localhost":
        return "local"
    try:
        return "local" if ipaddress.ip_address(bare).is_loopback else "editors"
    except ValueError:
        return "editors"  # a host name: it may resolve to anything
