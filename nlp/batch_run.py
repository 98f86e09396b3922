"""Running a batch job: the run folder, resuming, and spreading chunks over processes or
shards over a Dask cluster.

A run keeps its work in a hidden folder beside the output (``.NAME.cxkb-run`` for a file,
``.cxkb-run`` inside an output folder): a ``manifest.json`` (inputs, options, model) and,
per chunk, its output part and then a ``.done.json`` with its counts and failures, each
written atomically. A chunk with a ``.done.json`` is finished for good: ``--resume``
skips it. A JSONL or CSV output is put together beside its name while the run goes on,
each part appended once it and those before it are finished; when every chunk of a shard
is done, the output is renamed into place (a Parquet output is joined then). When the
whole run is done the failures file is written and the run folder removed. A run that
stops early leaves no partial output: the run folder has everything ``--resume`` needs.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kb.errors import CxkbError
from nlp.batch_io import (
    BatchOutputError,
    Chunk,
    PartJoiner,
    Shard,
    assemble,
    file_format,
    first_row_fields,
    read_chunks,
    write_atomic,
)
from nlp.batch_progress import Progress
from nlp.batch_work import (
    RESULT_FIELDS,
    ChunkResult,
    Options,
    commit,
    committed,
    keep_freed_memory,
    label_chunk,
    part_path,
    save_part,
    set_torch_threads,
)

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
SMALL_INPUT = 1_000_000  # bytes: below this the default is to label in this process


class BatchAborted(CxkbError):
    """A run stopped before the end (too many failures); its finished chunks are kept."""


class RunMismatch(CxkbError):
    """``--resume`` on a run folder left by a different job."""


def run_dir_for(output: Path, to_dir: bool) -> Path:
    return output / ".cxkb-run" if to_dir else output.with_name(f".{output.name}.cxkb-run")


def default_failures_path(output: Path, to_dir: bool) -> Path:
    if to_dir:
        return output / "_failures.jsonl"
    name = output.name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq"):
        name = name.removesuffix(suffix)
    return output.with_name(f"{name}.failures.jsonl")


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def columns_for(shard: Shard, options: Options) -> list[str]:
    """Output columns of a shard (for CSV and Parquet): its input's, then the results'."""
    if shard.out_fmt == "jsonl":
        return []
    added = [f for f in RESULT_FIELDS if f != "evidence" or options.evidence != "none"]
    fields = [f for f in first_row_fields(shard) if f not in added]
    return fields + added


# -- the model in worker processes -------------------------------------------------------------

_MODELS: dict[tuple, Any] = {}


def worker_model(options: Options) -> Any:
    """The options' model, loaded once per process."""
    key = (options.debate, options.tier, options.models_dir, options.debates_dir)
    model = _MODELS.get(key)
    if model is None:
        from nlp.debate import load_debate
        from nlp.model_store import get_model

        model = get_model(load_debate(options.debate, options.debates_dir), options.tier,
                          root=options.models_dir)
        _MODELS[key] = model
    return model


_STATE: dict[str, Any] = {}


def _init_worker(options: Options, run_dir: str, columns: dict[int, list[str]],
                 shards: list[Shard], workers: int) -> None:
    _STATE.update(options=options, run_dir=Path(run_dir), columns=columns,
                  shards={s.index: s for s in shards})
    keep_freed_memory()
    if options.tier == "accurate":
        set_torch_threads(workers)


def _work(chunk: Chunk) -> ChunkResult:
    """Label one chunk and save its part (in a worker process)."""
    options: Options = _STATE["options"]
    shard = _STATE["shards"][chunk.shard]
    data, result = label_chunk(worker_model(options), chunk, shard, options,
                               _STATE["columns"][chunk.shard])
    save_part(_STATE["run_dir"], chunk, data)
    return result


# -- the run ------------------------------------------------------------------------------------

class Run:
    """One batch job over its shards, local or on a cluster; see the module docstring."""

    def __init__(self, shards: list[Shard], to_dir: bool, output: Path, options: Options, *,
                 model: Any, resume: bool, max_failures: int | None,
                 failures_path: Path, progress: Progress) -> None:
        self.shards, self.to_dir, self.output = shards, to_dir, output
        self.options, self.model, self.resume = options, model, resume
        self.max_failures = max_failures
        self.failures_path = failures_path
        self.progress = progress
        self.run_dir = run_dir_for(output, to_dir)
        self.results: dict[tuple[int, int], ChunkResult] = {}
        self.columns: dict[int, list[str]] = {}
        self.failed = 0
        self.resumed_rows = 0
        # per shard being joined as it goes: the output so far and the next chunk it takes
        self._joining: dict[int, tuple[PartJoiner, int]] = {}

    # -- setting up -------------------------------------------------------------------
    def prepare(self) -> None:
        """Create (or, resuming, check) the run folder; say clearly when it cannot be."""
        target = self.output if self.to_dir else self.output.parent
        try:
            target.mkdir(parents=True, exist_ok=True)
            self.run_dir.mkdir(exist_ok=True)
            probe = self.run_dir / f".probe{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise BatchOutputError(f"cannot write to {self.output}: "
                                   f"{error.strerror or error}") from None
        manifest_path = self.run_dir / "manifest.json"
        manifest = self._manifest()
        if manifest_path.exists():
            try:
                old = json.loads(manifest_path.read_text("utf-8"))
            except (OSError, ValueError):
                old = None
            if old is not None and not self.resume:
                raise CxkbError(f"an unfinished run of this output is in {self.run_dir}: "
                                f"add --resume to continue it, or delete that folder to "
                                f"start over")
            if old is not None:
                differs = [k for k in manifest if old.get(k) != manifest[k]]
                if differs:
                    raise RunMismatch(f"cannot resume: the {', '.join(differs)} changed "
                                      f"since the run in {self.run_dir} began; delete that "
                                      f"folder to start over")
                self.columns = {int(k): v for k, v in old["columns"].items()}
                return
        self.columns = {s.index: columns_for(s, self.options) for s in self.shards}
        manifest["columns"] = {str(k): v for k, v in self.columns.items()}
        write_atomic(manifest_path, json.dumps(manifest, indent=1).encode("utf-8"))

    def _manifest(self) -> dict[str, Any]:
        return {"version": MANIFEST_VERSION, "options": self.options.identity(),
                "model": self.model.version if self.model is not None else None,
                "shards": [s.fingerprint() for s in self.shards]}

    # -- bookkeeping --------------------------------------------------------------------
    def _finish_chunk(self, result: ChunkResult, *, earlier: bool = False) -> None:
        self.results[(result.shard, result.index)] = result
        self.failed += result.failed
        if earlier:
            self.resumed_rows += result.rows
            self.progress.update(0, result.bytes_read, skipped=result.rows)
        else:
            commit(self.run_dir, result)
            self.progress.update(result.rows, self._bytes_done(result))
        self._join_finished(self.shards[result.shard])
        if self.max_failures is not None and self.failed > self.max_failures:
            self.write_failures()
            raise BatchAborted(
                f"stopped: {self.failed} row(s) failed, more than --max-failures "
                f"{self.max_failures} (see {self.failures_path}); the finished chunks are "
                f"kept in {self.run_dir}: rerun with --resume to go on")

    def _bytes_done(self, result: ChunkResult) -> int:
        before = sum(s.source.stat().st_size for s in self.shards if s.index < result.shard)
        return before + result.bytes_read

    def _join_finished(self, shard: Shard) -> None:
        """Append to a JSONL or CSV shard's output the parts finished since, in order."""
        if shard.out_fmt == "parquet":
            return
        joiner, upto = self._joining.get(shard.index) or (None, 0)
        if (shard.index, upto) not in self.results:
            return
        if joiner is None:
            joiner = PartJoiner(shard.output, shard.out_fmt, self.columns[shard.index])
        while (shard.index, upto) in self.results:
            joiner.append(part_path(self.run_dir, shard.index, upto))
            upto += 1
        self._joining[shard.index] = (joiner, upto)

    def _assemble(self, shard: Shard) -> None:
        """Put a shard's finished output in place (a Parquet one is joined now)."""
        if shard.out_fmt == "parquet":
            indices = sorted(i for s, i in self.results if s == shard.index)
            parts = [part_path(self.run_dir, shard.index, i) for i in indices]
            assemble(parts, shard.out_fmt, self.columns[shard.index], shard.output)
        else:  # every chunk of the shard is finished, so every part has been appended
            self._joining.pop(shard.index)[0].commit()

    def discard_partial_outputs(self) -> None:
        """Remove the outputs begun but not finished (a run that stops early)."""
        for joiner, _ in self._joining.values():
            joiner.discard()
        self._joining.clear()

    def write_failures(self) -> None:
        lines = [json.dumps(f, ensure_ascii=False) + "\n"
                 for key in sorted(self.results) for f in self.results[key].failures]
        self.failures_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.failures_path, "".join(lines).encode("utf-8"))

    def finish(self) -> None:
        self.write_failures()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- local execution -----------------------------------------------------------------
    def _chunks(self) -> Iterator[Chunk | Shard]:
        """Every chunk still to do, each shard followed by itself (to say it has ended)."""
        for shard in self.shards:
            done = committed(self.run_dir, shard.index) if self.resume else {}
            for chunk in read_chunks(shard, self.options.chunk, self.options.max_row_bytes):
                if chunk.index in done:
                    self._finish_chunk(done[chunk.index], earlier=True)
                else:
                    yield chunk
            yield shard

    def run_local(self, workers: int) -> None:
        if workers <= 1:
            keep_freed_memory()
            if self.options.tier == "accurate":
                set_torch_threads(1)
            for item in self._chunks():
                if isinstance(item, Shard):
                    self._assemble(item)
                    continue
                shard = self.shards[item.shard]
                data, result = label_chunk(self.model, item, shard, self.options,
                                           self.columns[item.shard])
                save_part(self.run_dir, item, data)
                self._finish_chunk(result)
            return
        self._run_pool(workers)

    def _run_pool(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # fork: the workers start at once with the model already loaded in this process
        context = multiprocessing.get_context("fork")
        if self.model is not None:
            _MODELS[(self.options.debate, self.options.tier, self.options.models_dir,
                     self.options.debates_dir)] = self.model.warm()
        pending: deque = deque()
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                 initargs=(self.options, str(self.run_dir), self.columns,
                                           self.shards, workers)) as pool:
            try:
                for item in self._chunks():
                    if isinstance(item, Shard):
                        pending.append(item)
                    else:
                        pending.append(pool.submit(_work, item))
                    while len(pending) > 2 * workers or (pending and isinstance(
                            pending[0], Shard)):
                        self._collect(pending.popleft())
                while pending:
                    self._collect(pending.popleft())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _collect(self, item: Any) -> None:
        if isinstance(item, Shard):
            self._assemble(item)
        else:
            self._finish_chunk(item.result())

    # -- on a Dask cluster -----------------------------------------------------------------
    def run_dask(self, scheduler: Any) -> None:
        """One task per shard; each writes and commits its chunks in the run folder, then
        joins them into a staged file that is renamed into place here."""
        from distributed import Client, as_completed

        client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
        try:
            futures = [client.submit(shard_task, shard, self.options, str(self.run_dir),
                                     self.columns[shard.index], self.resume, pure=False,
                                     key=f"cxkb-classify-{shard.index}-{time.time_ns()}")
                       for shard in self.shards]
            try:
                for future in as_completed(futures):
                    chunk_results, staged, resumed = future.result()
                    shard = self.shards[chunk_results[0]["shard"]] if chunk_results else None
                    for data in chunk_results:
                        result = ChunkResult.from_json(data)
                        self.results[(result.shard, result.index)] = result
                        self.failed += result.failed
                    rows = sum(r["rows"] for r in chunk_results)
                    self.resumed_rows += resumed
                    if shard is not None:
                        os.replace(staged, shard.output)
                        self.progress.update(rows - resumed, self._bytes_done(
                            self.results[(shard.index, max(r["index"] for r in
                                                           chunk_results))]),
                            skipped=resumed)
                    if self.max_failures is not None and self.failed > self.max_failures:
                        for other in futures:
                            other.cancel()
                        self.write_failures()
                        raise BatchAborted(
                            f"stopped: {self.failed} row(s) failed, more than "
                            f"--max-failures {self.max_failures} (see {self.failures_path})"
                            f"; the finished shards and chunks are kept: rerun with "
                            f"--resume to go on")
            except BaseException:
                for other in futures:
                    other.cancel()
                raise
        finally:
            if client is not scheduler:
                client.close()


def shard_task(shard: Shard, options: Options, run_dir: str, columns: list[str],
               resume: bool) -> tuple[list[dict[str, Any]], str, int]:
    """A Dask task: label every chunk of one shard not finished yet, committing each, and
    join them into a staged output file. Returns the chunks' counts, the staged path and
    how many rows an earlier run had done."""
    folder = Path(run_dir)
    keep_freed_memory()
    model = worker_model(options)
    done = committed(folder, shard.index) if resume else {}
    results: list[ChunkResult] = []
    resumed = 0
    for chunk in read_chunks(shard, options.chunk, options.max_row_bytes):
        if chunk.index in done:
            results.append(done[chunk.index])
            resumed += done[chunk.index].rows
            continue
        data, result = label_chunk(model, chunk, shard, options, columns)
        save_part(folder, chunk, data)
        commit(folder, result)
        results.append(result)
    staged = shard.output.with_name(f".{shard.output.name}.staged")
    parts = [part_path(folder, shard.index, r.index) for r in results]
    assemble(parts, file_format(shard.output), columns, staged)
    return [r.as_json() for r in results], str(staged), resumed


def execute(inputs: list[str | Path], output: str | Path, options: Options, *,
            model: Any = None, workers: int | None = None, scheduler: Any = None,
            resume: bool = False, max_failures: int | None = None,
            failures: str | Path | None = None, out_format: str | None = None,
            progress: str = "auto", stream: Any = None,
            on_run: Callable[[Run], None] | None = None) -> Run:
    """Run a batch job and return its ``Run`` (counts in ``results``)."""
    from nlp.batch_io import plan_shards

    shards, to_dir = plan_shards(inputs, output, out_format)
    output = Path(output)
    failures_path = Path(failures) if failures else default_failures_path(output, to_dir)
    total = sum(s.source.stat().st_size for s in shards)
    run = Run(shards, to_dir, output, options, model=model, resume=resume,
              max_failures=max_failures, failures_path=failures_path,
              progress=Progress(total, mode=progress, stream=stream))
    run.prepare()
    if on_run:
        on_run(run)
    try:
        if scheduler is not None:
            run.run_dask(scheduler)
        else:
            if workers is None:  # one per core, but no processes for a small input
                workers = cpu_count() if total >= SMALL_INPUT else 1
            run.run_local(workers)
    finally:
        run.discard_partial_outputs()
        run.progress.close()
    run.finish()
    return run
