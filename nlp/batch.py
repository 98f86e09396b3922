"""Stance labels for JSONL and CSV files, streamed in chunks.

One output row per input row, in input order, keeping the input's fields and adding
``label``, ``confidence``, ``scores`` and ``evidence`` (and ``error`` for a row that could
not be read). Memory stays flat: rows are read, labelled and written a chunk at a time.
The output appears under its final name only when the run has finished.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from kb.errors import CxkbError
from nlp.stance import StanceModel

CHUNK = 2000
FORMATS = ("jsonl", "csv")


@dataclass
class BatchSummary:
    rows: int = 0
    labelled: int = 0
    failed: int = 0
    unsupported: int = 0
    seconds: float = 0.0
    labels: Counter = field(default_factory=Counter)

    def line(self) -> str:
        rate = self.rows / self.seconds if self.seconds else 0.0
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.labels.items()))
        return (f"{self.rows} row(s) read, {self.labelled} labelled, {self.failed} failed, "
                f"{self.unsupported} unsupported in {self.seconds:.1f}s "
                f"({rate:,.{0 if rate >= 10 else 1}f} rows/s)"
                + (f"; {counts}" if counts else ""))


def file_format(path: str | Path) -> str:
    name = str(path).lower().removesuffix(".gz")
    for fmt, suffixes in (("jsonl", (".jsonl", ".ndjson", ".json")), ("csv", (".csv",))):
        if name.endswith(suffixes):
            return fmt
    raise CxkbError(f"{path}: cannot tell the format; use a .jsonl or .csv file "
                    f"(optionally .gz)")


def _open_text(path: Path, mode: str) -> TextIO:
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8", newline="")
    return open(path, mode, encoding="utf-8", newline="")


def read_rows(path: Path) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
    """(row, None) for each readable row, (None, error) for each unreadable one."""
    fmt = file_format(path)
    try:
        handle = _open_text(path, "r")
    except OSError as error:
        raise CxkbError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        if fmt == "csv":
            for row in csv.DictReader(handle):
                yield dict(row), None
            return
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                yield None, f"line {number}: not JSON ({error.msg})"
                continue
            if not isinstance(row, dict):
                yield None, f"line {number}: not a JSON object"
                continue
            yield row, None


class _Writer:
    def __init__(self, handle: TextIO, fmt: str) -> None:
        self.handle, self.fmt = handle, fmt
        self.csv: csv.DictWriter | None = None

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        flat = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                for k, v in row.items()}
        if self.csv is None:
            self.csv = csv.DictWriter(self.handle, fieldnames=list(flat), extrasaction="ignore")
            self.csv.writeheader()
        self.csv.writerow(flat)


def classify_file(model: StanceModel, input_path: str | Path, output_path: str | Path, *,
                  text_field: str = "text", id_field: str | None = None,
                  context_field: str | None = "context", evidence: str = "cues",
                  chunk: int = CHUNK) -> BatchSummary:
    """Label every row of a JSONL or CSV file into an output file of either format."""
    input_path, output_path = Path(input_path), Path(output_path)
    out_fmt = file_format(output_path)
    summary = BatchSummary()
    started = time.perf_counter()
    partial = output_path.with_name(f".{output_path.name}.partial")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _open_text(partial, "w") as handle:
            writer = _Writer(handle, out_fmt)
            batch: list[tuple[dict[str, Any], str | None]] = []
            for row, error in read_rows(input_path):
                summary.rows += 1
                if row is not None and error is None:
                    text = row.get(text_field)
                    if text is None:
                        error = f"row {summary.rows}: no {text_field!r} field"
                    elif not isinstance(text, str):
                        row[text_field] = text = str(text)
                batch.append((row if row is not None else {"error": error}, error))
                if len(batch) >= chunk:
                    _flush(model, batch, writer, summary, text_field, context_field,
                           evidence, id_field)
                    batch = []
            _flush(model, batch, writer, summary, text_field, context_field, evidence,
                   id_field)
        os.replace(partial, output_path)
    finally:
        if partial.exists():
            partial.unlink()
    summary.seconds = time.perf_counter() - started
    return summary


def _flush(model: StanceModel, batch: list, writer: _Writer, summary: BatchSummary,
           text_field: str, context_field: str | None, evidence: str,
           id_field: str | None) -> None:
    ok = [row for row, error in batch if error is None]
    predictions = iter(model.predict(
        [row[text_field] for row in ok],
        [row.get(context_field) if context_field else None for row in ok],
        evidence=evidence))
    for row, error in batch:
        if error is not None:
            summary.failed += 1
            writer.write({**row, "label": None, "confidence": None, "scores": None,
                          "evidence": None, "error": error})
            continue
        p = next(predictions)
        out = {**row, "label": p.label, "confidence": round(p.confidence, 4),
               "scores": {k: round(v, 4) for k, v in p.scores.items()}}
        if evidence != "none":
            out["evidence"] = p.evidence
        if p.status == "unsupported":
            summary.unsupported += 1
        else:
            summary.labelled += 1
        summary.labels[p.label] += 1
        if id_field and id_field not in row:
            out["error"] = f"no {id_field!r} field"
        writer.write(out)
