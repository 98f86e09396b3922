"""Every cxkb setting, declared once: name, environment variable, default and help.

The CLI options, the environment variables and the README's settings table all come
from ``SETTINGS``; ``tests/test_docs.py`` fails when one of them is undocumented.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "CXKB_DB", "cxkb.db", "Path of the SQLite knowledge base."),
    Setting("host", "CXKB_HOST", "127.0.0.1", "Address `cxkb serve` listens on."),
    Setting("port", "CXKB_PORT", "5000", "Port `cxkb serve` listens on."),
    Setting(
        "secret_key",
        "CXKB_SECRET_KEY",
        "",
        "Key that signs the web UI's session and CSRF tokens (random per process if unset).",
    ),
    Setting(
        "debates_dir",
        "CXKB_DEBATES",
        "",
        "Folder of your own debate files, looked up before the debates cxkb ships.",
    ),
    Setting(
        "models_dir",
        "CXKB_MODELS",
        "~/.cache/cxkb/models",
        "Where trained stance models are kept (trained from the shipped corpus on first use).",
    ),
    Setting(
        "annotator",
        "CXKB_ANNOTATOR",
        "",
        "Name recorded with your human labels (your login name if unset).",
    ),
    Setting(
        "max_source_bytes",
        "CXKB_MAX_SOURCE_BYTES",
        str(20 * 1024 * 1024),
        "Largest file `cxkb ingest` reads or page it fetches (after decompression); "
        "bigger ones are reported and skipped.",
    ),
    Setting(
        "fetch_delay",
        "CXKB_FETCH_DELAY",
        "1.0",
        "Seconds between two requests to the same site (a robots.txt Crawl-delay raises it).",
    ),
    Setting(
        "fetch_timeout",
        "CXKB_FETCH_TIMEOUT",
        "60",
        "Seconds one request may take in all, however slowly the server sends.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get_setting(name: str) -> str:
    """The value of a setting: its environment variable if set, else its default."""
    setting = _BY_NAME[name]
    return os.environ.get(setting.env, setting.default)
