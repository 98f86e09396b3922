"""``cxkb worker``: runs the jobs the web UI queues, one at a time, in its own process, so
the web process never loads the analysis stack.

Each job kind is a thin call into the same public functions the CLI uses:
``ingest`` → ``ingest.pipeline.ingest`` (then ``nlp.analyze.analyze`` when asked),
``positions`` → ``nlp.positions.aggregate_positions`` (after a correction), ``train`` →
``nlp.review.retrain``, ``crawl`` → ``ingest.crawl.crawl`` (then ``analyze`` when asked). A failing job is recorded with its reason; the worker goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import Any

from sqlite_utils import Database

from kb.db import open_db
from kb.errors import CxkbError
from kb.jobs import Job, claim_next, fail, fail_abandoned, finish, report_progress

log = logging.getLogger(__name__)


def run_worker(db_path: str | Path, *, once: bool = False, poll: float = 1.0,
               stop: Event | None = None, parent_pid: int | None = None) -> int:
    """Run queued jobs until stopped (or, with ``once``, until the queue is empty, or when
    ``parent_pid`` — the server that started this worker — is gone); return how many ran."""
    import os

    db = open_db(db_path)
    abandoned = fail_abandoned(db)
    if abandoned:
        log.warning("%d job(s) left running by a stopped worker were marked failed", abandoned)
    ran = 0
    try:
        while stop is None or not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the server that started this worker has stopped; stopping")
                break
            job = claim_next(db)
            if job is None:
                if once:
                    break
                if stop is not None:
                    stop.wait(poll)
                else:
                    time.sleep(poll)
                continue
            run_job(db, job)
            ran += 1
    finally:
        db.close()
    return ran


def run_job(db: Database, job: Job) -> None:
    """Run one claimed job, recording its result or its error; never raises."""
    log.info("job %d (%s) started", job.id, job.kind)

    def progress(message: str, done: int | None = None, total: int | None = None) -> None:
        report_progress(db, job.id, message, done=done, total=total)

    try:
        result = _RUNNERS[job.kind](db, job.params, progress)
    except CxkbError as error:
        fail(db, job.id, str(error))
        log.warning("job %d failed: %s", job.id, error)
    except Exception as error:
        log.exception("job %d crashed", job.id)
        fail(db, job.id, f"{type(error).__name__}: {error}")
    else:
        finish(db, job.id, result)
        log.info("job %d done", job.id)


Progress = Callable[..., None]


def _ingest(db: Database, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from ingest.pipeline import ingest

    source = params["source"]
    progress(f"reading {params.get('name') or source}")

    def each(done: int, total: int | None, outcome) -> None:
        state = "stored" if outcome.ok else f"failed: {outcome.error}"
        progress(f"{params.get('name') or outcome.locator}: {state}", done=done, total=total)

    report = ingest(db, [source], url=params.get("url"), fmt=params.get("format"),
                    allow_private=bool(params.get("allow_private")), progress=each)
    outcomes = [{"locator": o.locator, "ok": o.ok, "error": o.error, "notes": o.notes,
                 "source_id": o.source_id, "counts": o.counts.as_dict()}
                for o in report.outcomes]
    source_ids = [o.source_id for o in report.outcomes if o.ok and o.source_id]
    documents = [dict(r) for r in db.query(
        "SELECT id, title FROM documents WHERE source_id IN (SELECT value FROM json_each(?))"
        " ORDER BY title", [json.dumps(source_ids)])]
    result: dict[str, Any] = {"summary": report.summary(), "outcomes": outcomes,
                              "documents": documents}
    if report.failures:
        raise CxkbError(report.summary())
    if params.get("analyze") and documents:
        from nlp.analyze import analyze

        progress("analysing: statements, speakers, positions, topics")
        result["analysis"] = analyze(db, tier=params.get("tier", "fast"),
                                     progress=lambda message: progress(message))
    return result


def _positions(db: Database, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from nlp.debate import load_debate
    from nlp.positions import aggregate_positions

    debate = load_debate(params["debate"])
    progress(f"{debate.name}: recomputing comment, document and person positions")
    with db.conn:
        return aggregate_positions(db, debate)


def _train(db: Database, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from nlp.debate import load_debate
    from nlp.review import retrain

    debate = load_debate(params["debate"])
    progress(f"{debate.name}: retraining the {params.get('tier', 'fast')} model")
    return retrain(db, debate, params.get("tier", "fast"))


def _crawl(db: Database, params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    from ingest.crawl import CrawlOptions, crawl
    from ingest.pipeline import default_fetcher
    from nlp.relevance import TopicRelevance

    relevance = TopicRelevance.for_topic(params.get("topic"), db=db)
    options = CrawlOptions(max_pages=int(params.get("max_pages", 100)),
                           same_site=bool(params.get("same_site", True)))

    def each(report, row: dict, state: str, reason: str) -> None:
        progress(f"{state}: {row['url']}", done=report.requests, total=options.max_pages)

    report = crawl(db, params["seeds"], relevance, topic=params.get("topic") or relevance.name,
                   fetcher=default_fetcher(db, allow_private=bool(params.get("allow_private"))),
                   options=options, name=params.get("name"), progress=each)
    result: dict[str, Any] = {"summary": report.summary(), "crawl_id": report.crawl_id,
                              "ingested": report.ingested}
    if params.get("analyze") and report.ingested:
        from nlp.analyze import analyze

        progress("analysing: statements, speakers, positions, topics")
        result["analysis"] = analyze(db, tier=params.get("tier", "fast"),
                                     progress=lambda message: progress(message))
    return result


_RUNNERS: dict[str, Callable[[Database, dict[str, Any], Progress], dict[str, Any]]] = {
    "ingest": _ingest, "positions": _positions, "train": _train, "crawl": _crawl,
}
