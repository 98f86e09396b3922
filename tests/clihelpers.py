"""The CLI as the tests drive it: run a command on a knowledge base, read a table back."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kb.cli import cli


def run(db: Path, *args: str, ok: bool = True):
    """``cxkb --db DB ARGS``; with ``ok`` the command must succeed."""
    result = CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def export(db: Path, table: str) -> list[dict]:
    """Every row of an exportable table, as ``cxkb export TABLE`` gives it."""
    return [json.loads(line) for line in run(db, "export", table).stdout.splitlines()
            if line.startswith("{")]
