"""The ``cxkb`` command line: each command opens the database, calls one library
function and prints. Data goes to stdout, every message to stderr.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from kb.settings import get_setting


def _open(ctx: click.Context):
    from kb.db import open_db

    return open_db(ctx.obj["db_path"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default=None,
              help="Knowledge base file [env CXKB_DB; default ./cxkb.db].")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="cxkb")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, verbose: int) -> None:
    """cxkb: a knowledge base for debates in articles and comment threads."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    ctx.ensure_object(dict)
    ctx.obj["db_path"] = db_path or get_setting("db")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.pass_context
def ingest(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Ingest files, directories (recursively) or - for stdin.

    Prints one summary line; exits 1 if any source failed (the others are stored).
    """
    from ingest.pipeline import ingest as run_ingest

    db = _open(ctx)
    report = run_ingest(db, sources, stdin=sys.stdin.buffer)
    click.echo(report.summary(), err=True)
    if report.failures:
        ctx.exit(1)


@cli.command()
@click.argument("table", type=click.Choice(["documents", "comments", "statements", "people",
                                            "labels", "sources", "label_archive"]))
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

    from kb.errors import SearchError
    from kb.search import KINDS, plain_snippet
    from kb.search import search as run_search

    db = _open(ctx)
    try:
        results = run_search(db, query, kinds=kinds or KINDS, limit=limit)
    except SearchError as error:
        raise click.ClickException(str(error)) from None
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
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the web UI with a production WSGI server (waitress)."""
    _serve(ctx.obj["db_path"], host or get_setting("host"), port or int(get_setting("port")))


def _serve(db_path: str, host: str, port: int) -> None:
    import waitress

    from kb.db import open_db
    from kb.web import create_app

    open_db(db_path).close()  # migrate once before serving
    app = create_app({"DATABASE": str(Path(db_path).resolve())})
    click.echo(f"serving {db_path} on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    waitress.serve(app, host=host, port=port, threads=8, ident="cxkb")


@cli.command()
@click.option("--host", default=None, help="Address to listen on [env CXKB_HOST; 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env CXKB_PORT; 5000].")
@click.option("--no-serve", is_flag=True, help="Build the demo knowledge base and stop.")
@click.pass_context
def demo(ctx: click.Context, host: str | None, port: int | None, no_serve: bool) -> None:
    """Build the knowledge base from the bundled demo corpus, then serve it."""
    from ingest.demo_corpus import demo_paths
    from ingest.pipeline import ingest as run_ingest

    db = _open(ctx)
    report = run_ingest(db, [str(p) for p in demo_paths()])
    click.echo("demo corpus: " + report.summary(), err=True)
    if report.failures:
        raise click.ClickException("the demo corpus did not ingest cleanly")
    db.close()
    if not no_serve:
        _serve(ctx.obj["db_path"], host or get_setting("host"), port or int(get_setting("port")))


@cli.command()
@click.argument("source_id")
@click.pass_context
def delete(ctx: click.Context, source_id: str) -> None:
    """Remove a source with its documents, comments and statements.

    Labels on them move to the label archive (`cxkb export label_archive`).
    """
    from kb.errors import NotFound
    from kb.store import delete_source

    db = _open(ctx)
    try:
        counts = delete_source(db, source_id)
    except NotFound as error:
        raise click.ClickException(str(error)) from None
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


def main() -> None:
    cli(prog_name="cxkb")
