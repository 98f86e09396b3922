"""The ``cxkb`` command line: each command opens the database, calls one library
function and prints. Data goes to stdout, every message to stderr.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from kb.errors import CxkbError
from kb.settings import get_setting


class _StderrHandler(logging.StreamHandler):
    """Log to whatever ``sys.stderr`` is when a record is written (tests swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _open(ctx: click.Context):
    from kb.db import open_db

    return open_db(ctx.obj["db_path"])


class _Cli(click.Group):
    """The command group: a library error anywhere below it becomes a one-line message."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CxkbError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Knowledge base file [env CXKB_DB; default ./cxkb.db].")
@click.option("--debates-dir", type=click.Path(file_okay=False), default=None,
              help="Folder of your own debate files [env CXKB_DEBATES].")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="cxkb")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, debates_dir: str | None,
        verbose: int) -> None:
    """cxkb: a knowledge base for debates in articles and comment threads."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path or get_setting("db")
    ctx.obj["debates_dir"] = debates_dir


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--url", "url", default=None, metavar="URL",
              help="The original address of the one saved file being ingested.")
@click.option("--urls", "urls_file", type=click.File("r", encoding="utf-8"), default=None,
              help="A file of URLs (or paths), one per line; # starts a comment.")
@click.option("--format", "fmt", default=None,
              type=click.Choice(["html", "text", "feed", "wxr", "disqus", "wp-json"]),
              help="Read every source in this format instead of detecting it.")
@click.option("--allow-private", is_flag=True,
              help="Let URLs reach loopback, private and link-local addresses.")
@click.option("--offline", is_flag=True,
              help="Re-read URLs from the responses kept at their last fetch; no network.")
@click.pass_context
def ingest(ctx: click.Context, sources: tuple[str, ...], url: str | None,
           urls_file, fmt: str | None, allow_private: bool, offline: bool) -> None:
    """Ingest URLs, files (web pages, text copies, feeds, WordPress and Disqus exports,
    WordPress REST comment dumps), directories (recursively) or - for stdin.

    A URL is fetched politely (robots.txt, one request at a time per site) with its
    further comment pages and its REST comments or comment feed. Prints one line per
    source while it runs and a summary; exits 1 if any source failed (the others are
    stored).
    """
    from ingest.pipeline import ingest as run_ingest

    inputs = list(sources)
    if urls_file is not None:
        inputs += [line.strip() for line in urls_file
                   if line.strip() and not line.lstrip().startswith("#")]
    if not inputs:
        raise click.UsageError("give at least one source, or --urls FILE")
    db = _open(ctx)
    fetcher = None
    if offline:
        from ingest.fetch_cache import CacheOnlyFetcher

        fetcher = CacheOnlyFetcher(db)
    report = run_ingest(db, inputs, stdin=sys.stdin.buffer, url=url, fmt=fmt,
                        fetcher=fetcher, allow_private=allow_private,
                        progress=_ingest_progress if len(inputs) > 1 or offline or any(
                            "://" in i or Path(i).is_dir() for i in inputs) else None)
    click.echo(report.summary(), err=True)
    if report.failures:
        ctx.exit(1)


def _ingest_progress(done: int, total: int | None, outcome) -> None:
    """One line per source on stderr: where the batch is and what the source gave."""
    where = f"[{done}/{total}]" if total else f"[{done}]"
    if outcome.ok:
        c = outcome.counts
        what = (f"{outcome.documents} document(s), comments {c.comments_added} added, "
                f"{c.comments_updated} updated, {c.comments_unchanged} unchanged")
        if c.comments_missing:
            what += f", {c.comments_missing} missing"
        notes = "".join(f"\n    {note}" for note in outcome.notes)
        click.echo(f"{where} {outcome.locator}: {what}{notes}", err=True)
    else:
        click.echo(f"{where} {outcome.locator}: FAILED: {outcome.error}", err=True)


@cli.command()
@click.argument("seeds", nargs=-1, required=True)
@click.option("--topic", default=None, metavar="DEBATE|TEXT",
              help="A debate's name, or a free-text description [every debate].")
@click.option("--max-pages", type=click.IntRange(1), default=100, show_default=True,
              help="Requests this run may make (robots.txt aside; sitemaps, feeds and "
                   "comment pages count).")
@click.option("--max-depth", type=click.IntRange(0), default=5, show_default=True,
              help="Links followed from a seed.")
@click.option("--max-time", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Stop after this long (the frontier is kept; run again to continue).")
@click.option("--same-site/--any-site", default=True, show_default=True,
              help="Stay on the seeds' sites (scheme + host + port), or go anywhere.")
@click.option("--follow-commenters", is_flag=True,
              help="Also follow comment authors' links to their own sites.")
@click.option("--strategy", type=click.Choice(["focused", "bfs"]), default="focused",
              show_default=True, help="Most promising link first, or breadth-first.")
@click.option("--min-relevance", type=click.FloatRange(0, 1), default=None,
              help="Pages scoring below this are skipped as off topic [0.50].")
@click.option("--name", default=None, help="Name the crawl [from its topic and seeds].")
@click.option("--allow-private", is_flag=True,
              help="Allow addresses on this machine or a private network.")
@click.pass_context
def crawl(ctx: click.Context, seeds: tuple[str, ...], topic: str | None, max_pages: int,
          max_depth: int, max_time: float | None, same_site: bool, follow_commenters: bool,
          strategy: str, min_relevance: float | None, name: str | None,
          allow_private: bool) -> None:
    """Crawl from SEED URLs (pages, feeds, sitemaps) toward a topic: on-topic articles are
    ingested with their comment threads, off-topic pages recorded as skipped.

    The frontier is kept in the knowledge base: running the same crawl again continues
    where it stopped, and once it is done, re-visits what it found, fetching only what
    changed. Prints a line per page and totals every 10 pages on stderr.
    """
    from ingest.crawl import CrawlOptions
    from ingest.crawl import crawl as run_crawl
    from ingest.pipeline import default_fetcher
    from nlp.relevance import DEFAULT_THRESHOLD, TopicRelevance

    db = _open(ctx)
    relevance = TopicRelevance.for_topic(
        topic, db=db, debates_dir=ctx.obj["debates_dir"],
        threshold=DEFAULT_THRESHOLD if min_relevance is None else min_relevance)
    options = CrawlOptions(max_pages=max_pages, max_depth=max_depth, max_seconds=max_time,
                           same_site=same_site, follow_commenters=follow_commenters,
                           strategy=strategy)
    report = run_crawl(db, seeds, relevance, topic=topic or relevance.name,
                       fetcher=default_fetcher(db, allow_private=allow_private),
                       options=options, name=name, progress=_crawl_progress)
    click.echo(report.summary(), err=True)


def _crawl_progress(report, row: dict, state: str, reason: str) -> None:
    """A line per URL on stderr, and the totals with errors per site every 10 URLs."""
    click.echo(f"[{report.requests}] {state}: {row['url']}" + (f" ({reason})" if reason else ""),
               err=True)
    if sum(report.outcome.values()) % 10 == 0:
        figures, states = report.figures, report.figures["states"]
        errors = ", ".join(f"{s['site']} {s['failed']}" for s in figures["sites"]
                           if s["failed"]) or "none"
        click.echo(f"  totals: {figures['fetched']} fetched, {states['ingested']} ingested, "
                   f"{states['skipped']} skipped, {states['queued']} queued; errors per "
                   f"site: {errors}", err=True)


@cli.command()
@click.argument("table", type=click.Choice(["documents", "comments", "statements", "people",
                                            "labels", "sources", "label_archive",
                                            "relations", "person_positions", "figures",
                                            "topics", "topic_assignments"]))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "json"]), default="jsonl",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of stdout.")
@click.pass_context
def export(ctx: click.Context, table: str, fmt: str, output: str | None) -> None:
    """Export a table's rows (documents, comments, statements, people, labels, ...)."""
    from kb.export import export_rows, write_rows

    db = _open(ctx)
    rows = export_rows(db, table)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as out:
            count = write_rows(rows, fmt, out)
        click.echo(f"{count} {table} row(s) written to {output}", err=True)
    else:
        count = write_rows(rows, fmt, sys.stdout)
        click.echo(f"{count} {table} row(s)", err=True)


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, help="Most results to show.")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(["document", "comment", "statement"]),
              help="Only these kinds of text (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON lines.")
@click.pass_context
def search(ctx: click.Context, query: str, limit: int, kinds: tuple[str, ...],
           as_json: bool) -> None:
    """Full-text search (FTS5 syntax) with snippets."""
    import json

    from kb.search import KINDS, plain_snippet
    from kb.search import search as run_search

    db = _open(ctx)
    results = run_search(db, query, kinds=kinds or KINDS, limit=limit)
    for hit in results.hits:
        if as_json:
            row = {**hit.__dict__, "snippet": plain_snippet(hit.snippet, "", "")}
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            who = f" ({hit.author})" if hit.author else ""
            click.echo(f"{hit.kind} {hit.id} in “{hit.title}”{who}")
            click.echo("    " + plain_snippet(hit.snippet).replace("\n", " "))
    facets = ", ".join(f"{n} {k}(s)" for k, n in results.counts.items())
    click.echo(f"{results.total} match(es): {facets}", err=True)


@cli.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Database path, counts and schema version."""
    from kb.status import kb_status

    db = _open(ctx)
    for line in kb_status(db, str(Path(ctx.obj["db_path"]).resolve())).lines():
        click.echo(line)


@cli.command()
@click.option("--host", default=None, help="Address to listen on [env CXKB_HOST; 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env CXKB_PORT; 5000].")
@click.option("--read-only", is_flag=True,
              help="Browsing only: nobody can change anything through the web UI.")
@click.option("--no-worker", is_flag=True,
              help="Do not start `cxkb worker` beside the server (run one yourself).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, read_only: bool,
          no_worker: bool) -> None:
    """Serve the web UI with a production WSGI server (waitress).

    On a loopback address (the default, 127.0.0.1) whoever can reach it may write. On
    any other address, writing (labels, sources, retraining) needs an editor signed in:
    add one with `cxkb users add NAME`. With --read-only nobody can write.

    Work the UI starts (adding a source, refreshing positions after a correction) runs in
    a `cxkb worker` process that serve starts and stops with itself.
    """
    _serve(ctx.obj["db_path"], host or get_setting("host"), port or int(get_setting("port")),
           read_only=read_only, worker=not no_worker)


def _serve(db_path: str, host: str, port: int, *, read_only: bool = False,
           worker: bool = True) -> None:
    import waitress

    from kb.db import open_db
    from kb.users import list_users
    from kb.web import create_app, settle_for_serving
    from kb.web.auth import policy_for_host

    policy = policy_for_host(host, read_only)
    db = open_db(db_path)  # migrate once before serving
    try:
        editors = len(list_users(db))
    finally:
        db.close()
    app = create_app({"DATABASE": str(Path(db_path).resolve()), "WRITE_POLICY": policy})
    settle_for_serving()
    who = {"local": "anyone who can reach it may write",
           "editors": f"writing needs a signed-in editor ({editors} account(s))",
           "read-only": "read-only"}[policy]
    if policy == "editors" and not editors:
        click.echo("warning: nobody can write: add one with cxkb users add NAME", err=True)
    click.echo(f"serving {db_path} on http://{host}:{port}/ ({who}; Ctrl+C to stop)", err=True)
    child = _start_worker(db_path) if worker and policy != "read-only" else None
    import signal

    # a SIGTERM (systemd, docker stop) ends the server like Ctrl+C, so the worker stops too
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        waitress.serve(app, host=host, port=port, threads=8, ident="cxkb")
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=30)


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _start_worker(db_path: str):
    """`cxkb worker` in a process of its own: the web process never loads the NLP stack."""
    import os
    import subprocess

    child = subprocess.Popen([sys.executable, "-m", "kb", "--db", str(Path(db_path).resolve()),
                              "worker", "--parent-pid", str(os.getpid())])
    click.echo(f"worker started (pid {child.pid})", err=True)
    return child


@cli.command()
@click.option("--once", is_flag=True, help="Run what is queued, then stop.")
@click.option("--poll", type=float, default=1.0, show_default=True,
              help="Seconds between looks at the queue when it is empty.")
@click.option("--parent-pid", type=int, default=None, hidden=True,
              help="Stop when this process (the server that started us) is gone.")
@click.pass_context
def worker(ctx: click.Context, once: bool, poll: float, parent_pid: int | None) -> None:
    """Run the jobs the web UI queues (adding sources, refreshing positions, retraining),
    one at a time; `cxkb serve` starts one of these itself."""
    import signal
    import threading

    from kb.worker import run_worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ran = run_worker(ctx.obj["db_path"], once=once, poll=poll, stop=stop, parent_pid=parent_pid)
    click.echo(f"worker stopped after {ran} job(s)", err=True)


@cli.command()
@click.option("--host", default=None, help="Address to listen on [env CXKB_HOST; 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env CXKB_PORT; 5000].")
@click.option("--no-serve", is_flag=True, help="Build the demo knowledge base and stop.")
@click.pass_context
def demo(ctx: click.Context, host: str | None, port: int | None, no_serve: bool) -> None:
    """Build the knowledge base from the bundled demo corpus, analyse it, then serve it."""
    from ingest.demo_corpus import demo_paths
    from ingest.pipeline import ingest as run_ingest

    db = _open(ctx)
    report = run_ingest(db, [str(p) for p in demo_paths()])
    click.echo("demo corpus: " + report.summary(), err=True)
    if report.failures:
        raise click.ClickException("the demo corpus did not ingest cleanly")
    _demo_crawl(db)
    from nlp.analyze import analyze as run_analyze

    result = run_analyze(db, debates_dir=ctx.obj["debates_dir"], progress=_progress)
    for name, counts in result["debates"].items():
        click.echo(f"demo analysis: {name}: {counts['statements_labelled']} statement(s) "
                   f"labelled, {counts['comments']} comment(s), {counts['people']} "
                   f"people placed ({counts['model']})", err=True)
    db.close()
    if not no_serve:
        _serve(ctx.obj["db_path"], host or get_setting("host"), port or int(get_setting("port")))


def _demo_crawl(db) -> None:
    """Crawl the bundled demo blog, served on 127.0.0.1 for the while, so the crawl pages
    have a crawl to show. Once: the blog's address changes with every run."""
    from ingest.crawl import CrawlOptions, crawl
    from ingest.demo_corpus import serving_demo_site
    from ingest.fetch import Fetcher
    from ingest.fetch_cache import DbResponseCache
    from kb.frontier import get_crawl
    from nlp.relevance import TopicRelevance

    name = "demo: The Service Line blog"
    if get_crawl(db, name) is not None:
        click.echo("demo crawl: done in an earlier run", err=True)
        return
    with serving_demo_site() as home:
        fetcher = Fetcher(allow_private=True, delay=0, cache=DbResponseCache(db))
        report = crawl(db, [home], TopicRelevance.for_topic(None, db=db), topic="every debate",
                       fetcher=fetcher, options=CrawlOptions(max_pages=60),
                       name=name)
    click.echo("demo crawl: " + report.summary(), err=True)


@cli.command()
@click.argument("source_id")
@click.pass_context
def delete(ctx: click.Context, source_id: str) -> None:
    """Remove a source with its documents, comments and statements.

    Labels on them move to the label archive (`cxkb export label_archive`).
    """
    from kb.store import delete_source

    db = _open(ctx)
    counts = delete_source(db, source_id)
    click.echo(f"deleted source {source_id}: {counts.documents_removed} document(s), "
               f"{counts.comments_removed} comment(s); {counts.labels_archived} label(s) archived",
               err=True)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def backup(ctx: click.Context, path: str) -> None:
    """Write a consistent copy of the (possibly live) database to PATH."""
    from kb.db import backup as run_backup

    db = _open(ctx)
    written = run_backup(db, path)
    click.echo(f"backed up {ctx.obj['db_path']} to {written}", err=True)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _debate(ctx: click.Context, name: str):
    from nlp.debate import load_debate

    return load_debate(name, ctx.obj["debates_dir"])


MODEL_OPTION = click.option("--model", "tier", type=click.Choice(["fast", "accurate"]),
                            default="accurate", show_default=True,
                            help="fast: TF-IDF + cues; accurate: adds MiniLM embeddings.")


@cli.command()
@click.pass_context
def debates(ctx: click.Context) -> None:
    """List the debates, their labels and annotated examples."""
    from nlp.debate import list_debates

    found = list_debates(ctx.obj["debates_dir"])
    for d in found:
        train, test = len(d.examples("train")), len(d.examples("test"))
        click.echo(f"{d.name}: {d.question}")
        click.echo(f"    labels: {', '.join(d.label_names)}   examples: {train} train, "
                   f"{test} test   file: {d.path}")


@cli.command()
@click.option("--debate", "debate_names", multiple=True,
              help="Only this debate (repeatable; default: every debate).")
@MODEL_OPTION
@click.pass_context
def analyze(ctx: click.Context, debate_names: tuple[str, ...], tier: str) -> None:
    """Run every analysis on what is new: statements, replies and agreement, stance
    labels, and the positions of comments, documents and people."""
    import json

    from nlp.analyze import analyze as run_analyze

    db = _open(ctx)
    report = run_analyze(db, debates=debate_names, tier=tier,
                         debates_dir=ctx.obj["debates_dir"], progress=_progress)
    click.echo(json.dumps(report, indent=2))


@cli.command()
@click.option("--debate", "debate_name", default=None,
              help="Debate to label (default: every debate; required with --input).")
@MODEL_OPTION
@click.option("--input", "input_paths", type=click.Path(exists=True), multiple=True,
              help="JSONL, CSV (optionally .gz) or Parquet file, or a folder of them "
                   "(repeatable).")
@click.option("--output", "output_path", type=click.Path(), default=None,
              help="Output file for one input file (.jsonl, .csv, .gz, .parquet), else "
                   "a folder: one output file per input file.")
@click.option("--format", "out_format", default=None,
              type=click.Choice(["jsonl", "jsonl.gz", "csv", "csv.gz", "parquet"]),
              help="Format of the files in an output folder (default: each input's).")
@click.option("--text-field", default="text", show_default=True)
@click.option("--context-field", default="context", show_default=True,
              help="Field with the text a row replies to, if any.")
@click.option("--id-field", default=None, help="Field that identifies a row (checked).")
@click.option("--evidence", type=click.Choice(["none", "cues", "full"]), default="cues",
              show_default=True,
              help="How much justification each row carries: cues = the cue spans and the "
                   "nearest annotated examples by id; full = also their text and the words "
                   "that weighed most.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: one per core; none under 1 MB of input].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster (tcp://host:8786), one task per input file.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run of this output.")
@click.option("--max-failures", type=click.IntRange(min=0), default=None,
              help="Stop when more than N rows have failed (finished work is kept).")
@click.option("--failures", "failures_path", type=click.Path(dir_okay=False), default=None,
              help="Where failed rows are listed [default: OUTPUT.failures.jsonl, or "
                   "_failures.jsonl in an output folder].")
@click.option("--chunk-size", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Rows per chunk (the unit of work and of --resume).")
@click.option("--max-row-mb", type=click.FloatRange(min=0.001), default=16.0,
              show_default=True, help="A longer row fails instead of being read.")
@click.option("--progress", type=click.Choice(["auto", "bar", "log", "none"]), default="auto",
              show_default=True, help="auto: a bar on a terminal, log lines otherwise.")
@click.pass_context
def classify(ctx: click.Context, debate_name: str | None, tier: str,
             input_paths: tuple[str, ...], output_path: str | None, out_format: str | None,
             text_field: str, context_field: str, id_field: str | None, evidence: str,
             workers: int | None, scheduler: str | None, resume: bool,
             max_failures: int | None, failures_path: str | None, chunk_size: int,
             max_row_mb: float, progress: str) -> None:
    """Label stances: everything in the knowledge base not yet labelled by the current
    model, or every row of files with --input and --output."""
    if not input_paths:
        ctx.invoke(analyze, debate_names=(debate_name,) if debate_name else (), tier=tier)
        return
    if not debate_name or not output_path:
        raise click.UsageError("--input needs --debate and --output")
    from nlp.batch import classify as classify_files

    _debate(ctx, debate_name)  # an unknown debate is reported before anything is read
    summary = classify_files(
        list(input_paths), output_path, debate=debate_name, tier=tier,
        text_field=text_field, context_field=context_field or None, id_field=id_field,
        evidence=evidence, chunk=chunk_size, max_row_mb=max_row_mb, workers=workers,
        scheduler=scheduler, resume=resume, max_failures=max_failures,
        failures=failures_path, out_format=out_format, progress=progress,
        debates_dir=ctx.obj["debates_dir"])
    click.echo(summary.line(), err=True)
    if summary.failed:
        click.echo(f"failed rows are listed in {summary.failures_path}", err=True)
    if scheduler is None:
        global _skip_teardown
        _skip_teardown = True  # every output is renamed into place by now


@cli.command()
@click.option("--debate", "debate_name", required=True)
@click.option("--gold", type=click.Path(dir_okay=False, exists=True), required=True,
              help="JSONL with text and label fields (context optional).")
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.pass_context
def evaluate(ctx: click.Context, debate_name: str, gold: str, tier: str,
             as_json: bool) -> None:
    """Accuracy, macro-F1, per-label scores and confusion matrix on a gold file."""
    import json

    from nlp.evaluate import evaluate_file
    from nlp.model_store import get_model

    result = evaluate_file(get_model(_debate(ctx, debate_name), tier), gold)
    click.echo(json.dumps(result.summary(), indent=2) if as_json else result.format())


@cli.command()
@click.argument("target")
@click.argument("label")
@click.option("--debate", "debate_name", required=True)
@click.option("--note", default=None, help="Why (kept with the label).")
@click.option("--annotator", default=None, help="Who [env CXKB_ANNOTATOR; login name].")
@click.pass_context
def label(ctx: click.Context, target: str, label: str, debate_name: str, note: str | None,
          annotator: str | None) -> None:
    """Record a human label on TARGET (statement:ID, comment:ID, document:ID, person:ID).

    Model runs never overwrite it; `cxkb unlabel` undoes it.
    """
    from nlp.positions import aggregate_positions
    from nlp.review import label_target

    db = _open(ctx)
    debate = _debate(ctx, debate_name)
    result = label_target(db, debate, target, label, annotator=annotator, note=note)
    aggregate_positions(db, debate)
    was = f" (was {result['replaced']})" if result["replaced"] else ""
    click.echo(f"{result['target']}: {label} in {debate.name}{was}", err=True)


@cli.command()
@click.argument("target")
@click.option("--debate", "debate_name", required=True)
@click.pass_context
def unlabel(ctx: click.Context, target: str, debate_name: str) -> None:
    """Undo the latest human label on TARGET; the one it replaced comes back."""
    from nlp.positions import aggregate_positions
    from nlp.review import undo_label

    db = _open(ctx)
    debate = _debate(ctx, debate_name)
    result = undo_label(db, debate, target)
    aggregate_positions(db, debate)
    back = result["restored"] or "the model's label"
    click.echo(f"{result['target']}: undid {result['undone']}; now {back}", err=True)


@cli.command()
@click.option("--debate", "debate_name", required=True)
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def queue(ctx: click.Context, debate_name: str, limit: int, as_json: bool) -> None:
    """Statements the model is least sure about, first: the ones worth correcting."""
    import json

    from nlp.review import review_queue

    db = _open(ctx)
    for item in review_queue(db, _debate(ctx, debate_name), limit):
        if as_json:
            click.echo(json.dumps(item.__dict__, ensure_ascii=False))
        else:
            who = f" — {item.speaker}" if item.speaker else ""
            click.echo(f"{item.target}  {item.label} {item.confidence:.2f} "
                       f"(margin {item.margin:.2f}){who}\n    {item.text}")


@cli.command()
@click.option("--debate", "debate_name", required=True)
@MODEL_OPTION
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def train(ctx: click.Context, debate_name: str, tier: str, as_json: bool) -> None:
    """Retrain on the annotated corpus plus human labels; report held-out scores before
    and after."""
    import json

    from nlp.review import retrain

    db = _open(ctx)
    result = retrain(db, _debate(ctx, debate_name), tier)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    before = (result["before"] or {}).get("macro_f1")
    after = (result["after"] or {}).get("macro_f1")
    click.echo(f"trained {result['version']} with {result['human_examples']} human label(s); "
               f"held-out macro-F1 {before} -> {after}")


@cli.group()
def people() -> None:
    """Correct who is who: merge two people, or split a name off a person."""


def _reaggregate(ctx: click.Context, db) -> None:
    from nlp.positions import aggregate_positions

    for row in list(db.query("SELECT name FROM debates")):
        aggregate_positions(db, _debate(ctx, row["name"]))


@people.command("list")
@click.pass_context
def people_list(ctx: click.Context) -> None:
    """Every person with their id, names and what they wrote."""
    from kb.export import export_rows

    for p in export_rows(_open(ctx), "people"):
        about = f" — {p['description']}" if p["description"] else ""
        click.echo(f"{p['id']}  {p['name']}{about}  (names: {', '.join(p['aliases'])}; "
                   f"{p['documents']} document(s), {p['comments']} comment(s))")


@people.command("merge")
@click.argument("keep")
@click.argument("other")
@click.pass_context
def people_merge(ctx: click.Context, keep: str, other: str) -> None:
    """Make OTHER the same person as KEEP (ids or names); survives re-analysis."""
    from kb.people import merge_people

    db = _open(ctx)
    result = merge_people(db, keep, other)
    _reaggregate(ctx, db)
    click.echo(f"{result['merged']['name']} ({result['merged']['id']}) is now "
               f"{result['kept']['name']} ({result['kept']['id']})", err=True)


@people.command("split")
@click.argument("person")
@click.argument("name")
@click.pass_context
def people_split(ctx: click.Context, person: str, name: str) -> None:
    """Give NAME, one of PERSON's names, a person of its own; survives re-analysis."""
    from kb.people import split_person

    db = _open(ctx)
    result = split_person(db, person, name)
    _reaggregate(ctx, db)
    click.echo(f"{result['new']['name']} is now {result['new']['id']}, apart from "
               f"{result['from']['name']} ({result['from']['id']})", err=True)


def _nr_topics(value: str) -> str | int:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter("use auto or a number") from None


@cli.group(invoke_without_command=True)
@click.option("--min-size", type=int, default=None,
              help="Smallest topic (default: grows with the corpus).")
@click.option("--nr-topics", default="auto", show_default=True,
              help="auto, or how many topics to reduce to.")
@click.option("--refit", is_flag=True, help="Fit again (ids of surviving topics are kept).")
@click.pass_context
def topics(ctx: click.Context, min_size: int | None, nr_topics: str, refit: bool) -> None:
    """Fit topics if there are none (else place new statements) and print them."""
    if ctx.invoked_subcommand is not None:
        return
    import json

    from kb.topics import list_topics
    from nlp.topics import update_topics

    db = _open(ctx)
    report = update_topics(db, refit=refit, min_size=min_size,
                           nr_topics=_nr_topics(nr_topics), progress=_progress)
    if report["fitted"]:
        click.echo("fitted {topics} topic(s) over {texts} statement(s) with {stages} in "
                   "{seconds}s; new {new}, kept {kept}, merged {merged}, gone {gone}"
                   .format(**{k: json.dumps(v) if isinstance(v, list) else v
                              for k, v in report.items()}), err=True)
    else:
        click.echo(f"{report['assigned']} new statement(s) placed in existing topics", err=True)
    for t in list_topics(db):
        click.echo(f"{t['id']:>4}  {t['size']:>5}  {t['label']}")
        click.echo(f"            keywords: {', '.join(t['keywords'])}")
        for q in t["representative"]:
            click.echo(f"            “{q['text'][:110]}” — {q['speaker'] or 'unknown'}")


@topics.command("show")
@click.argument("topic_id", type=int)
@click.pass_context
def topics_show(ctx: click.Context, topic_id: int) -> None:
    """A topic with its positions per debate, periods, sources and people."""
    from kb.topics import get_topic, positions_in_topic, topic_crossings

    db = _open(ctx)
    topic = get_topic(db, topic_id)
    click.echo(f"{topic['id']}  {topic['label']}  ({topic['size']} statements)")
    click.echo(f"keywords: {', '.join(topic['keywords'])}")
    for debate, counts in positions_in_topic(db, topic_id).items():
        total = sum(counts.values())
        click.echo(f"{debate}: " + ", ".join(f"{k} {v} ({100 * v / total:.0f}%)"
                                             for k, v in counts.items()))
    for name, rows in topic_crossings(db, topic_id).items():
        click.echo(f"{name.replace('_', ' ')}: " + ", ".join(
            f"{next(iter(r.values()))} {r['n']}" for r in rows))


@topics.command("rename")
@click.argument("topic_id", type=int)
@click.argument("label")
@click.pass_context
def topics_rename(ctx: click.Context, topic_id: int, label: str) -> None:
    """Name a topic; the name stays while the topic survives refits."""
    from kb.topics import rename_topic

    rename_topic(_open(ctx), topic_id, label)
    click.echo(f"topic {topic_id} is now “{label}”", err=True)


@topics.command("merge")
@click.argument("from_id", type=int)
@click.argument("into_id", type=int)
@click.pass_context
def topics_merge(ctx: click.Context, from_id: int, into_id: int) -> None:
    """Fold topic FROM_ID into INTO_ID (replayed after refits)."""
    from kb.topics import merge_topics

    moved = merge_topics(_open(ctx), from_id, into_id)
    click.echo(f"topic {from_id} merged into {into_id}: {moved} statement(s) moved", err=True)


@topics.command("move")
@click.argument("statement_id")
@click.argument("topic_id", type=int)
@click.pass_context
def topics_move(ctx: click.Context, statement_id: str, topic_id: int) -> None:
    """Put a statement in a topic by hand (kept across refits)."""
    from kb.topics import move_statement

    move_statement(_open(ctx), statement_id.removeprefix("statement:"), topic_id)
    click.echo(f"{statement_id} is now in topic {topic_id}", err=True)


@cli.group()
def users() -> None:
    """Editors: who may write when the web UI is served beyond this machine."""


def _password_rule(value: str) -> str:
    from kb.errors import WeakPassword
    from kb.users import check_password

    try:
        return check_password(value)
    except WeakPassword as error:
        raise click.UsageError(str(error)) from None


@users.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (for scripts).")
@click.option("--replace", is_flag=True, help="Give an existing user a new password.")
@click.pass_context
def users_add(ctx: click.Context, name: str, password_stdin: bool, replace: bool) -> None:
    """Make NAME an editor; the password (10+ characters) is asked for twice, hidden."""
    from kb.errors import UserExists
    from kb.users import add_user, check_name

    check_name(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.UsageError("--password-stdin: stdin holds no password")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                value_proc=_password_rule, err=True)
    try:
        user = add_user(_open(ctx), name, password, replace=replace)
    except UserExists as error:
        raise click.ClickException(f"{error}: --replace gives it a new password") from None
    click.echo(f"{user.name} may now sign in as an {user.role}", err=True)


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every editor, with when they were added and last signed in."""
    from kb.users import list_users

    found = list_users(_open(ctx))
    for user in found:
        click.echo(f"{user.name}\t{user.role}\tadded {user.created_at}\t"
                   f"last sign-in {user.last_login_at or 'never'}")
    click.echo(f"{len(found)} user(s)", err=True)


@users.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx: click.Context, name: str) -> None:
    """Delete NAME's account; a signed-in session of theirs stops being able to write."""
    from kb.users import remove_user

    remove_user(_open(ctx), name)
    click.echo(f"removed user {name}", err=True)


# Set by a command that, once done, leaves nothing for the interpreter's teardown to do but
# free the heap (a tenth of a second after a batch run on this machine): ``main`` then ends
# the process at once, as compilers do with their own memory at exit.
_skip_teardown = False


def main() -> None:
    """The ``cxkb`` program."""
    try:
        cli(prog_name="cxkb")
    except SystemExit as done:
        if _skip_teardown and done.code in (None, 0):
            import os

            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        raise
