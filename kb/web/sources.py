"""Adding a source from the UI: a URL (checked by the same SSRF guard as the CLI) or an
uploaded file, ingested by the worker as a job; the job's page shows its progress and,
when it is done, what was stored."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from kb.errors import NotFound
from kb.jobs import enqueue, get_job, list_jobs
from kb.web.auth import current_editor, writer_required
from kb.web.db import get_db

bp = Blueprint("sources", __name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def upload_dir() -> Path:
    """Where uploads wait for the worker: beside the database unless configured."""
    configured = current_app.config.get("UPLOAD_DIR")
    folder = Path(configured) if configured else Path(current_app.config["DATABASE"]).with_name(
        Path(current_app.config["DATABASE"]).name + "-uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@bp.get("/sources/new")
def new_source():
    return render_template("sources/new.html", error=None, form={})


@bp.post("/sources")
@writer_required
def create_source():
    from ingest.errors import UnsafeURLError
    from ingest.netguard import check_url

    form = request.form
    url = (form.get("url") or "").strip()
    upload = request.files.get("file")
    analyze = form.get("analyze") == "on"
    params: dict = {"analyze": analyze, "tier": "fast"}
    allow_private = bool(current_app.config.get("ALLOW_PRIVATE_URLS"))
    try:
        if upload is not None and upload.filename:
            name = _SAFE_NAME.sub("-", Path(upload.filename).name)[:80] or "upload"
            path = upload_dir() / f"{secrets.token_hex(8)}-{name}"
            upload.save(path)
            params.update(source=str(path), name=upload.filename)
            if url:  # the saved page's original address: recorded, never fetched
                if not re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
                    raise UnsafeURLError(f"{url!r} is not an http or https address")
                params["url"] = url
        elif url:
            check_url(url, allow_private=allow_private)
            params.update(source=url, name=url, allow_private=allow_private)
        else:
            raise UnsafeURLError("give a URL, or choose a file to upload")
    except UnsafeURLError as error:
        return render_template("sources/new.html", error=str(error), form=form), 400
    job = enqueue(get_db(), "ingest", params, requested_by=current_editor())
    return redirect(url_for("sources.job_page", job_id=job.id), code=303)


def _job_or_404(job_id: int):
    try:
        return get_job(get_db(), job_id)
    except NotFound:
        abort(404)


@bp.get("/jobs/<int:job_id>")
def job_page(job_id: int):
    return render_template("sources/job.html", job=_job_or_404(job_id))


@bp.get("/jobs/<int:job_id>.json")
def job_json(job_id: int):
    return jsonify(_job_or_404(job_id).as_dict())


@bp.get("/jobs/")
def jobs_page():
    return render_template("sources/jobs.html", jobs=list_jobs(get_db()))
