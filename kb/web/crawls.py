"""Crawls in the UI: each crawl's figures (requests, fetched, ingested, skipped, queued,
errors per site), its URLs filterable by what became of them (skipped pages with their
relevance and the reason), and a form that starts a crawl as a worker job, through the
same ``ingest.crawl.crawl`` the CLI runs. Pages read the frontier tables only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from kb import frontier
from kb.jobs import enqueue
from kb.web.api import page_csv, page_json
from kb.web.auth import current_editor, writer_required
from kb.web.db import get_db

bp = Blueprint("crawls", __name__)

URL_COLUMNS = ["url", "state", "page_score", "link_score", "priority", "reason", "via",
               "anchor", "found_on", "depth", "site", "http_status", "final_url", "fetched_at",
               "source_id", "round"]
MAX_FORM_PAGES = 2000


def _crawl_or_404(crawl_id: int) -> frontier.Crawl:
    crawl = frontier.get_crawl(get_db(), crawl_id)
    if crawl is None:
        abort(404)
    return crawl


def _urls(crawl_id: int) -> tuple[list[dict[str, Any]], int, int, str | None]:
    """The URL rows the request asks for: ``state`` (one of the frontier states) and
    ``page``; skipped pages come most relevant first, the rest in discovery order."""
    state = request.args.get("state") or None
    if state is not None and state not in frontier.STATES:
        state = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    size = current_app.config["PAGE_SIZE"]
    states = (state,) if state else None
    order = "score" if state in ("skipped", "ingested") else (
        "priority" if state == "queued" else "seq")
    rows = frontier.crawl_rows(get_db(), crawl_id, states=states, order=order, limit=size,
                               offset=(page - 1) * size)
    figures = frontier.crawl_figures(get_db(), crawl_id)
    count = figures["states"][state] if state else sum(figures["states"].values())
    return [{c: row.get(c) for c in URL_COLUMNS} for row in rows], count, page, state


@bp.get("/crawls/")
def list_page():
    db = get_db()
    crawls = [(crawl, frontier.crawl_figures(db, crawl.id)) for crawl in frontier.list_crawls(db)]
    return render_template("crawls/list.html", crawls=crawls, error=None, form={})


@bp.get("/crawls/<int:crawl_id>")
def crawl_page(crawl_id: int):
    crawl = _crawl_or_404(crawl_id)
    rows, count, page, state = _urls(crawl_id)
    return render_template("crawls/crawl.html", crawl=crawl,
                           figures=frontier.crawl_figures(get_db(), crawl_id), rows=rows,
                           count=count, page=page, state=state,
                           page_size=current_app.config["PAGE_SIZE"])


@bp.get("/crawls/<int:crawl_id>.json")
def crawl_json(crawl_id: int):
    crawl = _crawl_or_404(crawl_id)
    rows, count, page, _ = _urls(crawl_id)
    return page_json(rows, count, page, current_app.config["PAGE_SIZE"],
                     crawl={"id": crawl.id, "name": crawl.name, "topic": crawl.topic,
                            "seeds": crawl.seeds, "round": crawl.round,
                            "status": crawl.status, "stop_reason": crawl.stop_reason},
                     figures=frontier.crawl_figures(get_db(), crawl_id))


@bp.get("/crawls/<int:crawl_id>.csv")
def crawl_csv(crawl_id: int):
    _crawl_or_404(crawl_id)
    state = request.args.get("state") or None
    states = (state,) if state in frontier.STATES else None
    rows = frontier.crawl_rows(get_db(), crawl_id, states=states, limit=-1)
    return page_csv(rows, f"crawl-{crawl_id}.csv", columns=URL_COLUMNS)


@bp.post("/crawls")
@writer_required
def start_crawl():
    """Queue a crawl job; seeds pass the network guard here and again at every fetch."""
    from ingest.errors import UnsafeURLError
    from ingest.netguard import check_url

    form = request.form
    seeds = [line.strip() for line in (form.get("seeds") or "").splitlines() if line.strip()]
    allow_private = bool(current_app.config.get("ALLOW_PRIVATE_URLS"))
    try:
        if not seeds:
            raise UnsafeURLError("give at least one seed address")
        for seed in seeds[:20]:
            check_url(seed, allow_private=allow_private)
        max_pages = int(form.get("max_pages") or 100)
        if not 1 <= max_pages <= MAX_FORM_PAGES:
            raise ValueError
    except UnsafeURLError as error:
        return _form_error(str(error), form)
    except ValueError:
        return _form_error(f"the page budget must be a number from 1 to {MAX_FORM_PAGES}", form)
    params = {"seeds": seeds[:20], "topic": (form.get("topic") or "").strip() or None,
              "max_pages": max_pages, "same_site": form.get("any_site") != "on",
              "allow_private": allow_private, "analyze": form.get("analyze") == "on",
              "name": f"crawl from {seeds[0]}"}
    job = enqueue(get_db(), "crawl", params, requested_by=current_editor())
    return redirect(url_for("sources.job_page", job_id=job.id), code=303)


def _form_error(message: str, form):
    db = get_db()
    crawls = [(crawl, frontier.crawl_figures(db, crawl.id)) for crawl in frontier.list_crawls(db)]
    return render_template("crawls/list.html", crawls=crawls, error=message, form=form), 400
