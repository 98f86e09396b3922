"""Security for every route: CSRF tokens on POST, Origin checks and response headers."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request, session

UPLOADS = {"sources.create_source"}  # endpoints that take a file up to max_source_bytes
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csrf_token() -> str:
    """The session's CSRF token, created on first use; forms carry it as ``csrf_token``."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = current_app.config.get("MAX_FORM_BYTES")
    if limit and (request.content_length or 0) > limit and request.endpoint not in UPLOADS:
        abort(413, description=f"request over {limit:,} bytes")
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if origin and urlsplit(origin).netloc != request.host:
        abort(403, description="cross-site request refused")
    # browsers say where a request comes from even when they send no Origin or Referer
    # (a privacy setting, an extension): another site, or a sibling subdomain, is refused
    if request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
        abort(403, description="cross-site request refused")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf_token")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(403, description="missing or wrong CSRF token: reload the page and try again")


def _add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.after_request(_add_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
