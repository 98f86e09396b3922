"""Ingest sources (files, directories, stdin) into the knowledge base, one source at a time.

Every source is read, decoded, parsed and stored on its own: a bad one is reported with
its path and reason and the batch goes on; what was stored before stays as it was.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlite_utils import Database

from ingest.decode import decode_text
from ingest.errors import IngestError
from ingest.plaintext import PARSER_NAME, parse_plaintext
from kb.records import DocumentRecord, SourceRecord
from kb.settings import get_setting
from kb.store import StoreCounts, record_failure, source_id_for, store_source

log = logging.getLogger(__name__)

_SKIPPED_NAMES = {".DS_Store", "Thumbs.db"}
# files a directory walk reads; a file named explicitly is always tried
TEXT_SUFFIXES = {".txt", ".text", ""}


@dataclass
class SourceOutcome:
    locator: str
    source_id: str | None
    ok: bool
    error: str | None = None
    counts: StoreCounts = field(default_factory=StoreCounts)


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
        if c.comments_removed or c.documents_removed:
            line += f", {c.documents_removed} document(s) and {c.comments_removed} comment(s) removed"
        if c.labels_archived:
            line += f"; {c.labels_archived} label(s) archived"
        if self.skipped:
            line += f"; {len(self.skipped)} skipped (not a text file)"
        line += f"; {len(self.failures)} failed"
        if self.failures:
            line += ": " + "; ".join(f"{f.locator}: {f.error}" for f in self.failures)
        return line


@dataclass
class RawSource:
    locator: str
    kind: str
    data: bytes | None
    error: str | None = None
    skipped: bool = False


def parse_source(data: bytes, *, name: str = "<text>") -> tuple[list[DocumentRecord], str, str]:
    """Bytes → (documents, encoding, parser name). Raises ``IngestError`` with the reason."""
    text, encoding = decode_text(data)
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype html", "<html")) or ("<head" in head and "<body" in text):
        raise IngestError("HTML page: this version reads pages saved as plain text "
                          "(save the page as text, or copy and paste its text)")
    return [parse_plaintext(text, name=name)], encoding, PARSER_NAME


def iter_sources(inputs: Iterable[str], stdin: BinaryIO | None = None) -> Iterator[RawSource]:
    """Files, directories (recursively, in name order) and ``-`` for stdin, as raw bytes."""
    max_bytes = int(get_setting("max_source_bytes"))
    for item in inputs:
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
                if file.suffix.lower() in TEXT_SUFFIXES:
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


def ingest(db: Database, inputs: Iterable[str], *, stdin: BinaryIO | None = None) -> IngestReport:
    """Ingest every input; each source is stored (or fails) independently."""
    report = IngestReport()
    for raw in iter_sources(inputs, stdin):
        if raw.skipped:
            log.info("%s: skipped, not a text file", raw.locator)
            report.skipped.append(raw.locator)
        else:
            report.outcomes.append(ingest_raw(db, raw))
    return report


def ingest_raw(db: Database, raw: RawSource) -> SourceOutcome:
    """Decode, parse and store one source; failures are recorded, never raised."""
    content_hash = hashlib.sha256(raw.data).hexdigest() if raw.data is not None else None
    source = SourceRecord(locator=raw.locator, kind=raw.kind, content_hash=content_hash or "")
    if raw.error is not None:
        log.warning("%s: %s", raw.locator, raw.error)
        if os.path.exists(raw.locator):
            record_failure(db, source, raw.error)
        return SourceOutcome(raw.locator, None, False, raw.error)
    assert raw.data is not None
    try:
        documents, encoding, parser = parse_source(raw.data, name=raw.locator)
    except IngestError as error:
        log.warning("%s: %s", raw.locator, error)
        record_failure(db, source, str(error))
        return SourceOutcome(raw.locator, source_id_for(raw.locator), False, str(error))
    source.encoding, source.parser = encoding, parser
    counts = store_source(db, source, documents)
    return SourceOutcome(raw.locator, source_id_for(raw.locator), True, counts=counts)
