"""Labelling one chunk of rows: parse, check, classify as a batch, encode the output part.

This is what every worker runs, whichever way a job is spread (in the calling process,
in worker processes, in Dask tasks): a function of the chunk, the model and the options,
so the output does not depend on where it ran.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.batch_io import GZIP_LEVEL, Chunk, Shard, encode_part, is_gzip, write_atomic
from nlp.stance import UNSUPPORTED, StanceModel

RESULT_FIELDS = ("label", "confidence", "scores", "evidence", "error")
_RESULT_SET = frozenset(RESULT_FIELDS)


@dataclass(frozen=True)
class Options:
    """What a batch job does to each row (all of it is part of a run's identity)."""

    debate: str
    tier: str = "fast"
    text_field: str = "text"
    context_field: str | None = "context"
    id_field: str | None = None
    evidence: str = "cues"
    chunk: int = 5000
    max_row_bytes: int = 16 * 1024 * 1024
    models_dir: str | None = None
    debates_dir: str | None = None

    def identity(self) -> dict[str, Any]:
        """The options a resumed run must share with the run it continues."""
        return {"debate": self.debate, "tier": self.tier, "text_field": self.text_field,
                "context_field": self.context_field, "id_field": self.id_field,
                "evidence": self.evidence, "chunk": self.chunk,
                "max_row_bytes": self.max_row_bytes}


@dataclass
class ChunkResult:
    """Counts of one labelled chunk and its failures (``line``, ``row``, ``error``)."""

    shard: int
    index: int
    rows: int = 0
    labelled: int = 0
    failed: int = 0
    unsupported: int = 0
    labels: Counter = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    bytes_read: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"shard": self.shard, "index": self.index, "rows": self.rows,
                "labelled": self.labelled, "failed": self.failed,
                "unsupported": self.unsupported, "labels": dict(self.labels),
                "failures": self.failures, "bytes_read": self.bytes_read}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkResult:
        return cls(data["shard"], data["index"], data["rows"], data["labelled"],
                   data["failed"], data["unsupported"], Counter(data["labels"]),
                   data["failures"], data.get("bytes_read", 0))


def _describe(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false"}.get(type(value), "not text")


_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once  # the C scanner: json.loads without its Python layers
_SPACE = json.decoder.WHITESPACE.match


def _loads(payload: bytes) -> tuple[Any, str | None]:
    """A JSON line's value, and the line as text when it is plain UTF-8 JSON (its output
    row is then the line itself with the results added). Raises ``ValueError`` as
    ``json.loads`` does."""
    try:
        text = payload.decode("utf-8")
        value, end = _SCAN(text, 0 if text[:1] == "{" else _SPACE(text, 0).end())
        if text[end:] == "\n" or _SPACE(text, end).end() == len(text):
            return value, text
    except (UnicodeDecodeError, StopIteration, ValueError):
        pass
    return json.loads(payload), None  # the odd line: json.loads says what is wrong


def parse_chunk(chunk: Chunk, options: Options
                ) -> list[tuple[int, dict[str, Any] | None, str | None, str | None]]:
    """``(line, row, error, raw)`` for each record: the row as a dict, or why it cannot be
    labelled (``row`` is kept when it was read but lacks usable text), and for a JSONL
    line that can be written back as it is, the line."""
    if chunk.table is not None:
        records = [(chunk.first_row + i, row, None, None)
                   for i, row in enumerate(chunk.table.to_pylist())]
    else:
        records = []
        for line, payload, error in chunk.records:
            raw = None
            if error is None and isinstance(payload, bytes):
                try:
                    payload, raw = _loads(payload)
                except ValueError as why:
                    msg = getattr(why, "msg", None) or str(why)
                    payload, error = None, f"line {line}: not JSON ({msg})"
                else:
                    if not isinstance(payload, dict):
                        payload, error, raw = None, f"line {line}: not a JSON object", None
            records.append((line, payload, error, raw))
    out = []
    text_field = options.text_field
    for line, row, error, raw in records:
        if row is not None and error is None:
            text = row.get(text_field)
            if text is None:
                error = (f"line {line}: no {text_field!r} field" if text_field not in row
                         else f"line {line}: {text_field!r} is empty (null)")
            elif isinstance(text, (int, float)) and not isinstance(text, bool):
                row[text_field] = str(text)
                raw = None  # written with the text as text
            elif not isinstance(text, str):
                error = f"line {line}: {text_field!r} is {_describe(text)}, not text"
        out.append((line, row, error, raw))
    return out


_TABLES: dict[int, list[str]] = {}


def rounded(values: np.ndarray, digits: int) -> list[str]:
    """``repr(round(v, digits))`` of each value, from a table of every rounded value in
    [0, 1]: rounding ``v * 10**digits`` to an integer gives the same decimal as ``round``
    unless the product is within reach of a tie, and those (and values outside [0, 1])
    are rounded one by one."""
    scale = 10 ** digits
    table = _TABLES.get(digits)
    if table is None:
        table = _TABLES[digits] = [repr(k / scale) for k in range(scale + 1)]
    values = np.asarray(values, dtype=np.float64).ravel()
    x = values * scale
    whole = np.rint(x)
    safe = ((values >= 0.0) & (values <= 1.0) & ~np.signbit(values)
            & (np.abs(np.abs(x - whole) - 0.5) > 1e-6))
    out = list(map(table.__getitem__, np.where(safe, whole, 0).astype(np.int64).tolist()))
    for i in np.flatnonzero(~safe).tolist():
        out[i] = repr(round(float(values[i]), digits))
    return out


class _JsonRows:
    """JSON text of labelled rows built from pre-encoded pieces: the text ``json.dumps``
    gives for the results, at a fraction of the cost (the labels, the cue patterns and the
    nearest examples' text are encoded once, not once per row)."""

    def __init__(self, model: StanceModel) -> None:
        self.dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
        self.string = json.encoder.encode_basestring  # a str as JSON (as dumps writes it)
        dumps = self.dumps
        self.labels = [dumps(label) for label in model.labels]
        self.unsupported = dumps(UNSUPPORTED)
        self.scores = "{" + ", ".join(dumps(label).replace("%", "%%") + ": %s"
                                      for label in model.labels) + "}"  # for % (values)
        # a nearest example by id and label; with its text only at the "full" level (the
        # same few hundred texts repeated on every row made outputs four times the input)
        self.examples = {
            "cues": [f'{{"id": {dumps(i)}, "label": {dumps(lab)}, "similarity": '
                     for i, lab in zip(model.example_ids, model.example_labels)],
            "full": [f'{{"id": {dumps(i)}, "text": {dumps(t)}, "label": {dumps(lab)}, '
                     f'"similarity": ' for i, t, lab in
                     zip(model.example_ids, model.example_texts, model.example_labels)]}
        self._cue_heads: dict[tuple[str, str], str] = {}

    def cue(self, match: Any) -> str:
        head = self._cue_heads.get((match.label, match.pattern))
        if head is None:
            head = self._cue_heads[(match.label, match.pattern)] = (
                f'{{"label": {self.dumps(match.label)}, "pattern": '
                f'{self.dumps(match.pattern)}, "start": ')
        return (f'{head}{match.start}, "end": {match.end}, "text": '
                f'{self.string(match.text)}, "negated": '
                f'{"true" if match.negated else "false"}}}')

    def cues(self, matches: list) -> str:
        return "[" + ", ".join(map(self.cue, matches)) + "]" if matches else "[]"

    def evidence(self, batch: Any, level: str) -> list[str]:
        """The evidence object of each classified row, as JSON: the cue spans, the nearest
        annotated examples (by id, label and similarity; with their text and the words
        that weighed most at the "full" level)."""
        k = batch.near_index.shape[1]
        sims = rounded(batch.near_sims, 3)
        heads = list(map(self.examples[level].__getitem__, batch.near_index.ravel().tolist()))
        # one column per nearest example's head and its similarity, row after row
        columns = [part[j::k] for j in range(k) for part in (heads, sims)]
        cues = map(self.cues, batch.cues)
        if level == "full":
            columns.append(list(map(self.dumps, batch.words)))
        template = ('{"cues": %s, "nearest": [' + ", ".join(["%s%s}"] * k) + "]"
                    + (', "words": %s}' if level == "full" else "}"))
        return [template % row for row in zip(cues, *columns)]


_ENCODERS: dict[int, _JsonRows] = {}


def label_chunk(model: StanceModel, chunk: Chunk, shard: Shard, options: Options,
                columns: list[str]) -> tuple[bytes, ChunkResult]:
    """The output part of a chunk and its counts."""
    records = parse_chunk(chunk, options)
    result = ChunkResult(chunk.shard, chunk.index, rows=len(records),
                         bytes_read=chunk.bytes_read)
    ok = [row for _, row, error, _ in records if error is None]
    ctx = options.context_field
    batch = model.predict_batch([row[options.text_field] for row in ok],
                                [row.get(ctx) if ctx else None for row in ok]
                                if ctx else None, evidence=options.evidence)
    labels = model.labels
    evidence = options.evidence
    unsupported = [s == UNSUPPORTED for s in batch.status]
    best = batch.best.tolist()
    names = [UNSUPPORTED if u else labels[b] for u, b in zip(unsupported, best)]
    result.labels = Counter(names)
    result.unsupported = sum(unsupported)
    result.labelled = len(ok) - result.unsupported
    as_json = shard.out_fmt == "jsonl"
    enc = _ENCODERS.get(id(model))
    if enc is None:
        enc = _ENCODERS[id(model)] = _JsonRows(model)
    # every classified row's results as JSON text (CSV and Parquet parse them back)
    n_labels = len(labels)
    probs = rounded(batch.probs, 4)
    scores = [enc.scores % row for row in zip(*(probs[j::n_labels] for j in range(n_labels)))]
    confidence = [probs[i * n_labels + b] for i, b in enumerate(best)]
    for i, u in enumerate(unsupported):
        if u:
            scores[i], confidence[i] = "{}", "0.0"
    ev: list[str] | None = None
    if evidence != "none":
        ev = ["{}"] * len(ok)
        done = batch.rows.tolist() if batch.cues is not None else []
        for i, text in zip(done, enc.evidence(batch, evidence) if done else []):
            ev[i] = text
    label_texts = [enc.unsupported if u else enc.labels[b] for u, b in zip(unsupported, best)]
    # each classified row's results as JSON object members, for the JSONL rows
    members = [('"label": %s, "confidence": %s, "scores": %s'
                + (', "evidence": %s' if ev is not None else "")) % row
               for row in zip(label_texts, confidence, scores, *([ev] if ev is not None else []))
               ] if as_json else []
    id_field = options.id_field
    if as_json and not id_field and len(ok) == len(records) and all(
            raw is not None for _, _, _, raw in records) and all(
            map(_RESULT_SET.isdisjoint, ok)):
        # the usual chunk: every line as read, its closing brace replaced by the results
        return _joined_lines([f'{raw[:raw.rindex("}")].rstrip()}, {results}}}'
                              for (_, _, _, raw), results in zip(records, members)],
                             shard), result
    out_rows: list[Any] = []
    k = 0
    for number, (line, row, error, raw) in enumerate(records, start=chunk.first_row):
        if error is not None:
            result.failed += 1
            result.failures.append({"input": str(shard.source), "row": number, "line": line,
                                    "error": error})
            failed = {**(row or {}), "label": None, "confidence": None, "scores": None,
                      "evidence": None, "error": error}
            out_rows.append(enc.dumps(failed) if as_json else failed)
            continue
        missing_id = (f"no {id_field!r} field" if id_field and id_field not in row
                      else None)
        if as_json and _RESULT_SET.isdisjoint(row):
            if not row:
                head = "{"
            elif raw is not None:  # the input line as it is, its closing brace replaced
                head = raw[:raw.rindex("}")].rstrip() + ", "
            else:
                head = enc.dumps(row)[:-1] + ", "
            text = head + members[k]
            if missing_id is not None:
                text += ', "error": ' + enc.dumps(missing_id)
            out_rows.append(text + "}")
            k += 1
            continue
        out = dict(row)
        out.update(label=json.loads(label_texts[k]), confidence=float(confidence[k]),
                   scores=json.loads(scores[k]))
        if ev is not None:
            out["evidence"] = json.loads(ev[k])
        if missing_id:
            out["error"] = missing_id
        out_rows.append(enc.dumps(out) if as_json else out)
        k += 1
    if as_json:
        return _joined_lines(out_rows, shard), result
    return encode_part(out_rows, shard.out_fmt, is_gzip(shard.output), columns), result


def _joined_lines(lines: list[str], shard: Shard) -> bytes:
    """A JSONL part from its lines (a gzip member for a ``.gz`` output)."""
    data = ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
    if is_gzip(shard.output) and data:
        data = gzip.compress(data, GZIP_LEVEL, mtime=0)
    return data


# -- the files of a run ------------------------------------------------------------------

def part_path(run_dir: Path, shard: int, index: int) -> Path:
    return run_dir / f"shard-{shard:05d}" / f"part-{index:07d}"


def done_path(run_dir: Path, shard: int, index: int) -> Path:
    return run_dir / f"shard-{shard:05d}" / f"part-{index:07d}.done.json"


def save_part(run_dir: Path, chunk: Chunk, data: bytes) -> None:
    path = part_path(run_dir, chunk.shard, chunk.index)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def commit(run_dir: Path, result: ChunkResult) -> None:
    """Mark a chunk finished: after this its part is never redone."""
    write_atomic(done_path(run_dir, result.shard, result.index),
                 json.dumps(result.as_json(), ensure_ascii=False).encode("utf-8"))


def committed(run_dir: Path, shard: int) -> dict[int, ChunkResult]:
    """The finished chunks of a shard, by index."""
    folder = run_dir / f"shard-{shard:05d}"
    out: dict[int, ChunkResult] = {}
    if not folder.is_dir():
        return out
    for path in folder.glob("part-*.done.json"):
        try:
            result = ChunkResult.from_json(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError):
            continue  # unreadable: the chunk is done again
        if part_path(run_dir, shard, result.index).exists():
            out[result.index] = result
    return out


def set_torch_threads(workers: int) -> None:
    """Share the machine's cores between the workers' encoders."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    import torch

    torch.set_num_threads(max(1, cores // max(1, workers)))


def keep_freed_memory() -> None:
    """Have glibc's allocator keep freed memory for the next chunk rather than give it
    back to the system and fault it in again: labelling a chunk allocates and frees tens
    of megabytes of arrays, and without this a worker spends a tenth of its time in
    page faults. Does nothing where there is no ``mallopt``."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    for option, value in ((-1, 512 << 20),   # M_TRIM_THRESHOLD: keep up to 512 MB free
                          (-2, 64 << 20),    # M_TOP_PAD: grow the heap 64 MB at a time
                          (-3, 256 << 20)):  # M_MMAP_THRESHOLD: arrays come from the heap
        mallopt(option, value)
