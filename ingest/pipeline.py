"""Ingest sources (URLs, files, directories, stdin) into the knowledge base, one at a time.

Every source is read (fetched), decoded, parsed and stored on its own: a bad one is
reported with its path or URL and the reason, and the batch goes on; what was stored
before stays as it was. Formats: web pages, plain-text copies, RSS/Atom feeds, WordPress
WXR exports, Disqus exports and WordPress REST comment dumps, detected or given.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlite_utils import Database

from ingest.decode import decode_text
from ingest.detect import READ_SUFFIXES, detect_format
from ingest.errors import ExtractionError, IngestError
from ingest.plaintext import PARSER_NAME, parse_plaintext
from kb.records import DocumentRecord, SourceRecord
from kb.settings import get_setting
from kb.store import StoreCounts, record_failure, source_id_for, store_source

if TYPE_CHECKING:
    from ingest.fetch import Fetcher
    from ingest.web import WebDocument

log = logging.getLogger(__name__)

_SKIPPED_NAMES = {".DS_Store", "Thumbs.db"}
Progress = Callable[[int, int | None, "SourceOutcome"], None]


@dataclass
class SourceOutcome:
    locator: str
    source_id: str | None
    ok: bool
    error: str | None = None
    counts: StoreCounts = field(default_factory=StoreCounts)
    notes: list[str] = field(default_factory=list)
    documents: int = 0


@dataclass
class IngestReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files of other types in directories

    @property
    def counts(self) -> StoreCounts:
        total = StoreCounts()
        for outcome in self.outcomes:
            total += outcome.counts
        return total

    @property
    def failures(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def summary(self) -> str:
        """One line for a person: what was added, updated, unchanged and what failed."""
        c = self.counts
        line = (
            f"{len(self.outcomes)} source(s): documents {c.documents_added} added, "
            f"{c.documents_updated} updated, {c.documents_unchanged} unchanged; "
            f"comments {c.comments_added} added, {c.comments_updated} updated, "
            f"{c.comments_unchanged} unchanged"
        )
        if c.comments_missing:
            line += f", {c.comments_missing} no longer on their page (kept, marked missing)"
        if c.comments_removed or c.documents_removed:
            line += f", {c.documents_removed} document(s) and {c.comments_removed} comment(s) removed"
        if c.labels_archived:
            line += f"; {c.labels_archived} label(s) archived"
        if self.skipped:
            line += f"; {len(self.skipped)} skipped (not a readable file type)"
        line += f"; {len(self.failures)} failed"
        if self.failures:
            line += ": " + "; ".join(f"{f.locator}: {f.error}" for f in self.failures)
        return line


@dataclass
class RawSource:
    locator: str
    kind: str  # file | url | stdin
    data: bytes | None
    error: str | None = None
    skipped: bool = False


def parse_source(
    data: bytes, *, name: str = "<text>", url: str | None = None, fmt: str | None = None,
    http_charset: str | None = None,
) -> tuple[list[DocumentRecord], str, str]:
    """Bytes → (documents, encoding, parser name). Raises ``IngestError`` with the reason.

    ``fmt`` is one of ``ingest.detect.FORMATS``, detected from the bytes when not given;
    ``url`` is the address the bytes came from (a saved page's original address)."""
    fmt = fmt or detect_format(data, name=name)
    if fmt == "html":
        from ingest.html_page import PARSER_NAME as HTML_PARSER
        from ingest.html_page import extract_page

        document, encoding = extract_page(data, url=url, http_charset=http_charset)
        return [document], encoding, HTML_PARSER
    if fmt == "text":
        text, encoding = decode_text(data)
        document = parse_plaintext(text, name=name)
        if url and not document.url:
            document.url = url
        return [document], encoding, PARSER_NAME
    documents = _parse_platform(data, fmt, url)
    if not documents:
        raise ExtractionError(f"no posts with content found in this {fmt} file")
    return documents, "utf-8", f"{fmt}-1"


def _parse_platform(data: bytes, fmt: str, url: str | None) -> list[DocumentRecord]:
    if fmt == "feed":
        from ingest.feeds import comment_feed_document, is_comment_feed, parse_feed

        documents = ([comment_feed_document(data, url=url)] if is_comment_feed(data)
                     else parse_feed(data, url=url))
        for document in documents:  # feeds hold recent items only, without reply structure
            document.thread_complete = False
        return documents
    if fmt == "wxr":
        from ingest.wordpress import parse_wxr

        return parse_wxr(data)
    if fmt == "disqus":
        from ingest.disqus import parse_disqus

        return parse_disqus(data)
    if fmt == "wp-json":
        from ingest.wordpress import parse_wp_comments_json

        comments = parse_wp_comments_json(data, post_url=url)
        if not url:
            raise ExtractionError("a WordPress REST comments dump needs the post's address: "
                                  "give it with --url")
        document = DocumentRecord(title=url, body="", url=url, comments=comments,
                                  extra={"body_missing": True}, thread_complete=False)
        return [document]
    raise IngestError(f"unknown format {fmt!r}")


def iter_sources(inputs: Iterable[str], stdin: BinaryIO | None = None) -> Iterator[RawSource]:
    """Files, directories (recursively, in name order) and ``-`` for stdin, as raw bytes;
    URLs pass through unread (``kind="url"``) for the fetcher."""
    from ingest.web import is_url

    max_bytes = int(get_setting("max_source_bytes"))
    for item in inputs:
        if is_url(item):
            yield RawSource(item, "url", None)
            continue
        if item == "-":
            data = (stdin.read() if stdin is not None else b"")
            yield RawSource("stdin:" + hashlib.sha256(data).hexdigest()[:16], "stdin", data)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts)
                           and p.name not in _SKIPPED_NAMES)
            if not files:
                yield RawSource(str(path.resolve()), "file", None, "directory holds no files")
            for file in files:
                if file.suffix.lower() in READ_SUFFIXES:
                    yield _read_file(file, max_bytes)
                else:
                    yield RawSource(str(file.resolve()), "file", None, skipped=True)
        elif path.exists():
            yield _read_file(path, max_bytes)
        else:
            yield RawSource(str(path.absolute()), "file", None, "no such file or directory")


def _read_file(path: Path, max_bytes: int) -> RawSource:
    locator = str(path.resolve())
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return RawSource(locator, "file", None,
                             f"file is {size:,} bytes, over the {max_bytes:,}-byte limit "
                             f"(CXKB_MAX_SOURCE_BYTES)")
        return RawSource(locator, "file", path.read_bytes())
    except OSError as error:
        return RawSource(locator, "file", None, f"cannot read: {error.strerror or error}")


def ingest(
    db: Database, inputs: Iterable[str], *, stdin: BinaryIO | None = None,
    url: str | None = None, fmt: str | None = None, fetcher: Fetcher | None = None,
    allow_private: bool = False, progress: Progress | None = None,
) -> IngestReport:
    """Ingest every input; each source is stored (or fails) independently.

    ``url`` gives a single saved file its original address; ``fmt`` overrides format
    detection; URLs are fetched with ``fetcher`` (by default a polite ``Fetcher`` that
    keeps every response in the knowledge base, refusing private addresses unless
    ``allow_private``). ``progress(done, total, outcome)`` is called after each source."""
    inputs = list(inputs)
    if url is not None and len(inputs) != 1:
        raise IngestError("--url names the address of ONE saved file; "
                          f"{len(inputs)} sources were given")
    report = IngestReport()
    total = len(inputs) if all(not Path(i).is_dir() for i in inputs) else None
    for raw in iter_sources(inputs, stdin):
        if raw.skipped:
            log.info("%s: skipped, not a readable file type", raw.locator)
            report.skipped.append(raw.locator)
            continue
        if raw.kind == "url":
            if fetcher is None:
                fetcher = default_fetcher(db, allow_private=allow_private)
            outcome = ingest_url(db, raw.locator, fetcher, fmt=fmt)
        else:
            outcome = ingest_raw(db, raw, url=url, fmt=fmt)
        report.outcomes.append(outcome)
        if progress is not None:
            progress(len(report.outcomes), total, outcome)
    return report


def default_fetcher(db: Database, *, allow_private: bool = False) -> Fetcher:
    """The fetcher ``cxkb ingest`` uses: polite, guarded, caching in the knowledge base."""
    from ingest.fetch import Fetcher
    from ingest.fetch_cache import DbResponseCache

    return Fetcher(allow_private=allow_private, cache=DbResponseCache(db),
                   delay=float(get_setting("fetch_delay")),
                   total_timeout=float(get_setting("fetch_timeout")),
                   max_bytes=int(get_setting("max_source_bytes")))


def ingest_raw(db: Database, raw: RawSource, *, url: str | None = None,
               fmt: str | None = None) -> SourceOutcome:
    """Decode, parse and store one source; failures are recorded, never raised."""
    content_hash = hashlib.sha256(raw.data).hexdigest() if raw.data is not None else None
    source = SourceRecord(locator=raw.locator, kind=raw.kind, content_hash=content_hash or "",
                          url=url)
    if raw.error is not None:
        log.warning("%s: %s", raw.locator, raw.error)
        if os.path.exists(raw.locator):
            record_failure(db, source, raw.error)
        return SourceOutcome(raw.locator, None, False, raw.error)
    assert raw.data is not None
    try:
        documents, encoding, parser = parse_source(raw.data, name=raw.locator, url=url, fmt=fmt)
    except IngestError as error:
        log.warning("%s: %s", raw.locator, error)
        record_failure(db, source, str(error))
        return SourceOutcome(raw.locator, source_id_for(raw.locator), False, str(error))
    except (ValueError, RecursionError) as error:  # a page the parsers choke on: its fault
        message = f"cannot be read: {type(error).__name__}: {error}"
        log.warning("%s: %s", raw.locator, message)
        record_failure(db, source, message)
        return SourceOutcome(raw.locator, source_id_for(raw.locator), False, message)
    source.encoding, source.parser = encoding, parser
    return _store(db, source, documents, [])


def ingest_url(db: Database, url: str, fetcher: Fetcher, *,
               fmt: str | None = None) -> SourceOutcome:
    """Fetch a URL (with its further comment pages and platform comments) and store it."""
    from ingest.web import read_url

    source = SourceRecord(locator=url, kind="url", content_hash="", url=url)
    try:
        if fmt is not None and fmt != "html":
            response = fetcher.fetch(url)
            documents, encoding, parser = parse_source(
                response.body, name=response.final_url, url=response.final_url, fmt=fmt,
                http_charset=response.charset)
            source.encoding, source.parser = encoding, parser
            source.content_hash = hashlib.sha256(response.body).hexdigest()
            return _store(db, source, documents, [])
        result = read_url(url, fetcher)
    except IngestError as error:
        reason = str(error).removeprefix(f"{url}: ")
        log.warning("%s: %s", url, reason)
        record_failure(db, source, reason)
        return SourceOutcome(url, source_id_for(url), False, reason)
    except (ValueError, RecursionError) as error:
        message = f"cannot be read: {type(error).__name__}: {error}"
        log.warning("%s: %s", url, message)
        record_failure(db, source, message)
        return SourceOutcome(url, source_id_for(url), False, message)
    return store_web_document(db, result)


def store_web_document(db: Database, result: WebDocument) -> SourceOutcome:
    """Store what one URL gave (``ingest.web.read_url``) as the source of that URL."""
    source = SourceRecord(locator=result.url, kind="url", content_hash=result.content_hash,
                          url=result.url, encoding=result.encoding, parser=result.parser)
    return _store(db, source, result.documents, result.notes)


def _store(db: Database, source: SourceRecord, documents: list[DocumentRecord],
           notes: list[str]) -> SourceOutcome:
    try:
        counts = store_source(db, source, documents)
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        # another writer held the write lock through every wait (kb.db.write_transaction):
        # nothing of this source was written; the batch goes on
        message = ("not stored: another writer kept the knowledge base locked through "
                   "every wait; run the ingest again")
        log.warning("%s: %s", source.locator, message)
        return SourceOutcome(source.locator, source_id_for(source.locator), False, message)
    return SourceOutcome(source.locator, source_id_for(source.locator), True, counts=counts,
                         notes=notes + _warnings(documents), documents=len(documents))


def _warnings(documents: list[DocumentRecord]) -> list[str]:
    return [w for d in documents for w in d.extra.get("warnings", [])]
