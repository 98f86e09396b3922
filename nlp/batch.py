"""Stance labels for files: JSONL, CSV and Parquet, single files or folders of shards.

One output row per input row, in input order, keeping the input's fields and adding
``label``, ``confidence``, ``scores`` and ``evidence`` (and ``error`` for a row that could
not be labelled, which also goes to the failures file with its line number). Rows are read,
labelled and written a chunk at a time, so memory stays flat; chunks are spread over
worker processes (``workers``) or, one task per shard, over a Dask cluster
(``scheduler``), with the same output either way. Every finished chunk is kept, so an
interrupted run continues with ``resume=True``. The modules behind this one:
``batch_io`` (formats), ``batch_work`` (one chunk), ``batch_run`` (the run),
``batch_progress`` (the progress line).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from nlp.batch_io import FORMATS, BatchInputError, BatchOutputError, file_format
from nlp.batch_run import BatchAborted, RunMismatch, cpu_count
from nlp.batch_work import Options
from nlp.stance import StanceModel

CHUNK = 5000
MAX_ROW_MB = 16

__all__ = ["FORMATS", "BatchAborted", "BatchInputError", "BatchOutputError", "BatchSummary",
           "Options", "RunMismatch", "classify", "classify_file", "file_format"]


@dataclass
class BatchSummary:
    """What a run did: rows read, labelled, failed and unsupported, label counts, time."""

    rows: int = 0
    labelled: int = 0
    failed: int = 0
    unsupported: int = 0
    seconds: float = 0.0
    labels: Counter = field(default_factory=Counter)
    resumed: int = 0  # rows an earlier, interrupted run had already labelled
    outputs: list[Path] = field(default_factory=list)
    failures_path: Path | None = None

    def line(self) -> str:
        new = self.rows - self.resumed
        rate = new / self.seconds if self.seconds else 0.0
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.labels.items()))
        return (f"{self.rows} row(s) read, {self.labelled} labelled, {self.failed} failed, "
                f"{self.unsupported} unsupported in {self.seconds:.1f}s "
                f"({rate:,.{0 if rate >= 10 else 1}f} rows/s)"
                + (f", {self.resumed} of them by an earlier run" if self.resumed else "")
                + (f"; {counts}" if counts else ""))


def classify(inputs: str | Path | list[str | Path], output: str | Path, *, debate: str,
             tier: str = "fast", model: StanceModel | None = None, text_field: str = "text",
             context_field: str | None = "context", id_field: str | None = None,
             evidence: str = "cues", chunk: int = CHUNK, max_row_mb: float = MAX_ROW_MB,
             workers: int | None = None, scheduler: Any = None, resume: bool = False,
             max_failures: int | None = None, failures: str | Path | None = None,
             out_format: str | None = None, progress: str = "none",
             stream: TextIO | None = None, models_dir: str | Path | None = None,
             debates_dir: str | Path | None = None) -> BatchSummary:
    """Label every row of ``inputs`` (a file, a folder of shards, or a list of either)
    into ``output`` (a file for one input file, else a folder of one file per input).

    ``workers``: processes on this machine (default: one per core, or none for an input
    under 1 MB); ``scheduler``: a
    Dask scheduler address or ``Client`` (one task per shard; the files must be visible
    to every worker). ``model`` defaults to the debate's saved (or newly trained) model.
    Raises ``BatchAborted`` past ``max_failures`` failed rows, keeping finished chunks.
    """
    import time

    from nlp.batch_run import execute
    from nlp.model_store import get_model
    from nlp.model_store import models_dir as default_models_dir

    started = time.perf_counter()
    if chunk < 1:
        raise ValueError("chunk must be at least 1 row")
    models_root = str(default_models_dir(models_dir))
    options = Options(debate=debate, tier=tier, text_field=text_field,
                      context_field=context_field, id_field=id_field, evidence=evidence,
                      chunk=chunk, max_row_bytes=int(max_row_mb * 1024 * 1024),
                      models_dir=models_root,
                      debates_dir=str(debates_dir) if debates_dir else None)
    if model is None:
        from nlp.debate import load_debate

        model = get_model(load_debate(debate, debates_dir), tier, root=models_root)
    paths = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    run = execute(paths, output, options, model=model, workers=workers, scheduler=scheduler,
                  resume=resume, max_failures=max_failures, failures=failures,
                  out_format=out_format, progress=progress, stream=stream)
    summary = BatchSummary(resumed=run.resumed_rows, failures_path=run.failures_path,
                           outputs=[s.output for s in run.shards])
    for result in run.results.values():
        summary.rows += result.rows
        summary.labelled += result.labelled
        summary.failed += result.failed
        summary.unsupported += result.unsupported
        summary.labels.update(result.labels)
    summary.seconds = time.perf_counter() - started
    return summary


def classify_file(model: StanceModel, input_path: str | Path, output_path: str | Path, *,
                  text_field: str = "text", id_field: str | None = None,
                  context_field: str | None = "context", evidence: str = "cues",
                  chunk: int = CHUNK, workers: int | None = 1) -> BatchSummary:
    """Label every row of one file with a model in hand (one process by default)."""
    return classify(input_path, output_path, debate=model.debate_name, tier=model.tier,
                    model=model, text_field=text_field, id_field=id_field,
                    context_field=context_field, evidence=evidence, chunk=chunk,
                    workers=workers)


__all__ += ["cpu_count"]
