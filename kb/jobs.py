"""Jobs: work the web UI asks for (ingest a URL or an upload, refresh positions after a
correction, retrain), queued in the ``jobs`` table and run by ``cxkb worker``.

The web process only enqueues and reads; the worker claims one job at a time (an atomic
UPDATE, so two workers never run the same job), reports progress as it goes and records
the result or the error. A job left ``running`` by a worker that died is failed with a
message when a worker starts, never silently re-run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kb.db import utc_now
from kb.errors import CxkbError, NotFound

KINDS = ("ingest", "positions", "train", "crawl")


@dataclass
class Job:
    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress: str | None
    done_units: int
    total_units: int | None
    result: dict[str, Any] | None
    error: str | None
    requested_by: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _job(row: dict[str, Any]) -> Job:
    return Job(
        id=row["id"], kind=row["kind"], params=json.loads(row["params"]),
        status=row["status"], progress=row["progress"], done_units=row["done_units"],
        total_units=row["total_units"],
        result=json.loads(row["result"]) if row["result"] else None, error=row["error"],
        requested_by=row["requested_by"], created_at=row["created_at"],
        started_at=row["started_at"], finished_at=row["finished_at"],
    )


def enqueue(db: Database, kind: str, params: dict[str, Any], *,
            requested_by: str | None = None) -> Job:
    """Queue a job; the worker picks it up in order."""
    if kind not in KINDS:
        raise CxkbError(f"unknown job kind {kind!r} (one of {', '.join(KINDS)})")
    with db.conn:
        cursor = db.execute(
            "INSERT INTO jobs (kind, params, status, requested_by, created_at)"
            " VALUES (?, ?, 'queued', ?, ?)",
            [kind, json.dumps(params, sort_keys=True), requested_by, utc_now()])
    return get_job(db, cursor.lastrowid)


def get_job(db: Database, job_id: int) -> Job:
    row = next(db.query("SELECT * FROM jobs WHERE id = ?", [job_id]), None)
    if row is None:
        raise NotFound(f"no job {job_id}")
    return _job(row)


def list_jobs(db: Database, limit: int = 50) -> list[Job]:
    return [_job(r) for r in db.query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", [limit])]


def claim_next(db: Database) -> Job | None:
    """Take the oldest queued job for this process, or None when there is none."""
    with db.conn:
        row = next(db.query(
            "UPDATE jobs SET status = 'running', started_at = ?, worker_pid = ?"
            " WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1)"
            "   AND status = 'queued' RETURNING *", [utc_now(), os.getpid()]), None)
    return _job(row) if row else None


def report_progress(db: Database, job_id: int, message: str, *, done: int | None = None,
                    total: int | None = None) -> None:
    with db.conn:
        db.execute("UPDATE jobs SET progress = ?, done_units = coalesce(?, done_units),"
                   " total_units = coalesce(?, total_units) WHERE id = ?",
                   [message[:500], done, total, job_id])


def finish(db: Database, job_id: int, result: dict[str, Any]) -> None:
    with db.conn:
        db.execute("UPDATE jobs SET status = 'done', result = ?, finished_at = ? WHERE id = ?",
                   [json.dumps(result, sort_keys=True, default=str), utc_now(), job_id])


def fail(db: Database, job_id: int, error: str) -> None:
    with db.conn:
        db.execute("UPDATE jobs SET status = 'failed', error = ?, finished_at = ? WHERE id = ?",
                   [error[:2000], utc_now(), job_id])


def fail_abandoned(db: Database) -> int:
    """Fail jobs left running by a worker that no longer exists; return how many."""
    abandoned = [row["id"] for row in db.query(
        "SELECT id, worker_pid FROM jobs WHERE status = 'running'")
        if not _alive(row["worker_pid"])]
    for job_id in abandoned:
        fail(db, job_id, "the worker running it stopped before it finished; submit it again")
    return len(abandoned)


def _alive(pid: int | None) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
