"""Figures the reliability suite measures: printed, and kept for the closing note.

``record("ssrf", "SSRF: 0 canary hits over 212 attempts", hits=0, attempts=212)`` prints
the line and stores it under its key in ``tests/artifacts/reliability.json`` (one object
per figure; a re-run replaces the figure it measures again). The reliability conftest
prints every figure recorded in the session at the end of the run, ``-s`` or not.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "reliability.json"
SESSION: list[str] = []  # lines recorded in this session, for the terminal summary


def record(key: str, line: str, **numbers: Any) -> None:
    """Print ``line`` and keep it (with ``numbers``) under ``key`` in the artifact file."""
    print(line)
    SESSION.append(line)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    try:
        figures = json.loads(ARTIFACT.read_text("utf-8"))
    except (OSError, ValueError):
        figures = {}
    figures[key] = {"line": line, **numbers,
                    "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "machine": f"{platform.node()} ({os.cpu_count()} cores)"}
    tmp = ARTIFACT.with_suffix(".tmp")
    tmp.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", "utf-8")
    tmp.replace(ARTIFACT)


def collected() -> dict[str, dict[str, Any]]:
    """Every figure in the artifact file (from this run and earlier ones)."""
    try:
        return json.loads(ARTIFACT.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
