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

from nlp.batch_io import GZIP_LEVEL, Chunk, Shard, encode_part, is_gzip, write_atomic
from nlp.stance import UNSUPPORTED, StanceModel

RESULT_FIELDS = ("label", "confidence", "scores", "evidence", "error")


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


def parse_chunk(chunk: Chunk, options: Options
                ) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line, row, error)`` for each record: the row as a dict, or why it cannot be
    labelled (``row`` is kept when it was read but lacks usable text)."""
    if chunk.table is not None:
        records = [(chunk.first_row + i, row, None)
                   for i, row in enumerate(chunk.table.to_pylist())]
    else:
        records = []
        for line, payload, error in chunk.records:
            if error is None and isinstance(payload, bytes):
                try:
                    payload = json.loads(payload)
                except ValueError as why:
                    msg = getattr(why, "msg", None) or str(why)
                    payload, error = None, f"line {line}: not JSON ({msg})"
                else:
                    if not isinstance(payload, dict):
                        payload, error = None, f"line {line}: not a JSON object"
            records.append((line, payload, error))
    out = []
    text_field = options.text_field
    for line, row, error in records:
        if row is not None and error is None:
            text = row.get(text_field)
            if text is None:
                error = (f"line {line}: no {text_field!r} field" if text_field not in row
                         else f"line {line}: {text_field!r} is empty (null)")
            elif isinstance(text, (int, float)) and not isinstance(text, bool):
                row[text_field] = str(text)
            elif not isinstance(text, str):
                error = f"line {line}: {text_field!r} is {_describe(text)}, not text"
        out.append((line, row, error))
    return out


class _JsonRows:
    """JSON lines of labelled rows built from pre-encoded pieces: the same text
    ``json.dumps`` gives for the row with its result fields, at a fraction of the cost
    (the nearest examples' text is encoded once, not once per row)."""

    def __init__(self, model: StanceModel) -> None:
        self.dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
        dumps = self.dumps
        self.labels = [dumps(label) for label in model.labels]
        self.keys = [dumps(label) + ": " for label in model.labels]
        self.examples = [f'{{"id": {dumps(i)}, "text": {dumps(t)}, "label": {dumps(lab)}, '
                         f'"similarity": ' for i, t, lab in
                         zip(model.example_ids, model.example_texts, model.example_labels)]

    def line(self, row: dict[str, Any], label: str, confidence: float, scores: str,
             evidence: str | None, error: str | None) -> str:
        base = self.dumps(row)
        out = [base[:-1] + ", " if len(row) else "{", '"label": ', label,
               ', "confidence": ', repr(confidence), ', "scores": ', scores]
        if evidence is not None:
            out += [', "evidence": ', evidence]
        if error is not None:
            out += [', "error": ', self.dumps(error)]
        out.append("}")
        return "".join(out)


_ENCODERS: dict[int, _JsonRows] = {}


def label_chunk(model: StanceModel, chunk: Chunk, shard: Shard, options: Options,
                columns: list[str]) -> tuple[bytes, ChunkResult]:
    """The output part of a chunk and its counts."""
    records = parse_chunk(chunk, options)
    result = ChunkResult(chunk.shard, chunk.index, rows=len(records),
                         bytes_read=chunk.bytes_read)
    ok = [row for _, row, error in records if error is None]
    ctx = options.context_field
    batch = model.predict_batch([row[options.text_field] for row in ok],
                                [row.get(ctx) if ctx else None for row in ok],
                                evidence=options.evidence)
    labels = model.labels
    probs = batch.probs.tolist()
    best = batch.best.tolist()
    evidence = options.evidence
    as_json = shard.out_fmt == "jsonl"
    enc = _ENCODERS.get(id(model)) if as_json else None
    if as_json and enc is None:
        enc = _ENCODERS[id(model)] = _JsonRows(model)
    out_rows: list[Any] = []
    k = 0
    for number, (line, row, error) in enumerate(records, start=chunk.first_row):
        if error is not None:
            result.failed += 1
            result.failures.append({"input": str(shard.source), "row": number, "line": line,
                                    "error": error})
            failed = {**(row or {}), "label": None, "confidence": None, "scores": None,
                      "evidence": None, "error": error}
            out_rows.append(enc.dumps(failed) if enc else failed)
            continue
        status = batch.status[k]
        slot = batch.slot(k) if evidence != "none" else None
        missing_id = (f"no {options.id_field!r} field"
                      if options.id_field and options.id_field not in row else None)
        if status == UNSUPPORTED:
            label, confidence, scores = UNSUPPORTED, 0.0, {}
            result.unsupported += 1
        else:
            p, b = probs[k], best[k]
            label, confidence = labels[b], round(p[b], 4)
            scores = [round(v, 4) for v in p]
            result.labelled += 1
        result.labels[label] += 1
        k += 1
        if enc is not None and not any(f in row for f in RESULT_FIELDS):
            ev = None
            if evidence != "none":
                ev = "{}" if slot is None else self_evidence(enc, batch, slot, evidence)
            score_text = ("{}" if status == UNSUPPORTED else
                          "{" + ", ".join(key + repr(v) for key, v in zip(enc.keys, scores))
                          + "}")
            out_rows.append(enc.line(row, enc.dumps(label), confidence, score_text, ev,
                                     missing_id))
            continue
        out = dict(row)
        out.update(label=label, confidence=confidence,
                   scores={} if status == UNSUPPORTED else dict(zip(labels, scores)))
        if evidence != "none":
            if slot is None:
                out["evidence"] = {}
            else:
                ev_dict = {"cues": [c.as_dict() for c in batch.cues[slot]],
                           "nearest": batch.nearest(slot)}
                if evidence == "full":
                    ev_dict["words"] = batch.words[slot]
                out["evidence"] = ev_dict
        if missing_id:
            out["error"] = missing_id
        out_rows.append(enc.dumps(out) if enc else out)
    if enc is not None:
        data = ("\n".join(out_rows) + "\n" if out_rows else "").encode("utf-8")
        if is_gzip(shard.output) and data:
            data = gzip.compress(data, GZIP_LEVEL, mtime=0)
        return data, result
    return encode_part(out_rows, shard.out_fmt, is_gzip(shard.output), columns), result


def self_evidence(enc: _JsonRows, batch: Any, slot: int, level: str) -> str:
    """The evidence object of one classified row, as JSON."""
    near = ", ".join(enc.examples[j] + repr(round(s, 3)) + "}" for j, s in
                     zip(batch.near_index[slot].tolist(), batch.near_sims[slot].tolist()))
    cues = enc.dumps([c.as_dict() for c in batch.cues[slot]])
    words = f', "words": {enc.dumps(batch.words[slot])}' if level == "full" else ""
    return f'{{"cues": {cues}, "nearest": [{near}]{words}}}'


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
