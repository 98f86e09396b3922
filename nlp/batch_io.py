"""Reading and writing batch files: JSONL, CSV and Parquet, gzip or not, in chunks.

Inputs are *shards*: one file, or every data file of a directory (sorted by name). A shard
is read as a sequence of chunks of ``chunk`` rows, each chunk carrying its rows' raw form
(JSONL lines as bytes, CSV rows as dicts, a Parquet record batch) with their line
numbers; the rows are parsed where they are labelled, so a parent process only moves
bytes. Chunk boundaries depend on nothing but the file and the chunk size, which is what
makes a run resumable and its output the same however it is spread over processes.

Outputs are written a chunk at a time as *parts* (a JSONL part is a gzip member when the
output is ``.gz``, so parts concatenate into a valid file; a Parquet part is a small
Parquet file) and joined into the final file, which appears under its name atomically: a
JSONL or CSV output as its parts finish (``PartJoiner``), a Parquet one at the end.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from kb.errors import CxkbError

FORMATS = ("jsonl", "csv", "parquet")
SUFFIXES = {"jsonl": (".jsonl", ".ndjson", ".json"), "csv": (".csv",),
            "parquet": (".parquet", ".pq")}
EXTENSION = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet"}
GZIP_LEVEL = 6
MB = 1024 * 1024


class BatchInputError(CxkbError):
    """An input file or folder that cannot be read as a batch input."""


class BatchOutputError(CxkbError):
    """An output path that cannot be written."""


def file_format(path: str | Path) -> str:
    """``jsonl``, ``csv`` or ``parquet`` from a file name (``.gz`` allowed but for Parquet)."""
    name = str(path).lower()
    gz = name.endswith(".gz")
    name = name.removesuffix(".gz")
    for fmt, suffixes in SUFFIXES.items():
        if name.endswith(suffixes):
            if gz and fmt == "parquet":
                break
            return fmt
    raise CxkbError(f"{path}: cannot tell the format; use a .jsonl, .csv (optionally .gz) "
                    f"or .parquet file")


def is_gzip(path: str | Path) -> bool:
    return str(path).lower().endswith(".gz")


@dataclass(frozen=True)
class Shard:
    """One input file and where its labelled rows go."""

    index: int
    source: Path
    output: Path

    @property
    def fmt(self) -> str:
        return file_format(self.source)

    @property
    def out_fmt(self) -> str:
        return file_format(self.output)

    def fingerprint(self) -> dict[str, Any]:
        stat = self.source.stat()
        return {"source": str(self.source.resolve()), "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns, "output": str(self.output.resolve())}


def _data_files(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")) or not path.is_file():
            continue
        try:
            file_format(path)
        except CxkbError:
            continue
        out.append(path)
    return out


def plan_shards(inputs: list[str | Path], output: str | Path,
                out_format: str | None = None) -> tuple[list[Shard], bool]:
    """The shards of a run and whether its output is a folder (one output file per input
    file) rather than one file. ``out_format`` (``jsonl``, ``jsonl.gz``, ``csv``, …) names
    the format of a folder's output files; by default each keeps its input's format."""
    if not inputs:
        raise BatchInputError("no input given")
    output = Path(output)
    paths = [Path(p) for p in inputs]
    for path in paths:
        if not path.exists():
            raise BatchInputError(f"{path}: no such file or folder")
    if len(paths) == 1 and paths[0].is_file():
        if output.is_dir():
            raise BatchOutputError(f"{output} is a folder; a file input needs an output file")
        file_format(paths[0])
        file_format(output)
        if output.exists() and output.resolve() == paths[0].resolve():
            raise BatchOutputError(f"{output}: the output would overwrite the input")
        return [Shard(0, paths[0], output)], False
    sources: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = _data_files(path)
            if not found:
                raise BatchInputError(f"{path}: no .jsonl, .csv or .parquet files in this "
                                      f"folder")
            sources += found
        else:
            file_format(path)
            sources.append(path)
    if output.exists() and not output.is_dir():
        raise BatchOutputError(f"{output} is a file; a folder of inputs needs an output "
                               f"folder (one output file per input file)")
    shards, names = [], set()
    for index, source in enumerate(sources):
        stem = source.name
        if stem.lower().endswith(".gz"):
            stem = stem[:-3]
        stem = stem[:len(stem) - len(Path(stem).suffix)]
        if out_format:
            ext = EXTENSION[out_format.removesuffix(".gz")] + (
                ".gz" if out_format.endswith(".gz") else "")
        else:
            ext = source.name[len(stem):]
        name = stem + ext
        if name in names:
            raise BatchInputError(f"two inputs would both write {output / name}; rename one")
        names.add(name)
        shards.append(Shard(index, source, output / name))
    return shards, True


# -- reading ---------------------------------------------------------------------------------

@dataclass
class Chunk:
    """Rows ``first_row .. first_row + len - 1`` (1-based) of one shard, still raw.

    ``records`` holds ``(line, payload, error)``: for JSONL the line's bytes, for CSV the
    row as a dict; ``error`` says why a record could not even be read. For Parquet,
    ``table`` holds the record batch instead."""

    shard: int
    index: int
    first_row: int
    records: list[tuple[int, Any, str | None]] = field(default_factory=list)
    table: Any = None
    bytes_read: int = 0  # position in the input file after this chunk (for progress)

    def __len__(self) -> int:
        return self.table.num_rows if self.table is not None else len(self.records)


def _raw_handle(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """A binary reader of the file's content and the underlying file (for its position)."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as error:
        raise BatchInputError(f"cannot read {path}: {error.strerror}") from None
    if is_gzip(path):
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw  # type: ignore[return-value]
    return raw, raw


def read_chunks(shard: Shard, chunk: int, max_row_bytes: int) -> Iterator[Chunk]:
    """The chunks of a shard, in order."""
    fmt = shard.fmt
    if fmt == "parquet":
        yield from _parquet_chunks(shard, chunk)
        return
    reader, raw = _raw_handle(shard.source)
    try:
        if fmt == "jsonl":
            yield from _jsonl_chunks(shard, reader, raw, chunk, max_row_bytes)
        else:
            yield from _csv_chunks(shard, reader, raw, chunk, max_row_bytes)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise BatchInputError(f"{shard.source}: cannot read past row "
                              f"{getattr(error, 'row', '?')}: {error}") from None
    finally:
        reader.close()
        raw.close()


def _size(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n >= MB else f"{n:,} bytes"


def _jsonl_chunks(shard: Shard, reader: BinaryIO, raw: BinaryIO, chunk: int,
                  max_row_bytes: int) -> Iterator[Chunk]:
    index, line_no, rows = 0, 0, 0
    current = Chunk(shard.index, 0, 1)
    while True:
        line = reader.readline(max_row_bytes + 1)
        if not line:
            break
        line_no += 1
        if len(line) > max_row_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:  # skip the rest of the line without holding it
                more = reader.readline(MB)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            why = (f"line {line_no}: row is {_size(size)}, over the {_size(max_row_bytes)} "
                   f"limit (--max-row-mb)")
            current.records.append((line_no, None, why))
        elif not line.strip():
            continue
        else:
            current.records.append((line_no, line, None))
        rows += 1
        if len(current.records) >= chunk:
            current.bytes_read = raw.tell()
            yield current
            index += 1
            current = Chunk(shard.index, index, rows + 1)
    if current.records or index == 0:
        current.bytes_read = raw.tell()
        yield current


class _BadLine(Exception):
    """A CSV line that cannot be handed to the csv reader (see ``_CsvLines.bad``)."""


class _CsvLines:
    """The physical lines of a CSV file for ``csv.reader``, numbered and decoded one at a
    time, so one bad line fails alone: a line that is not UTF-8 or is over the size limit
    raises ``_BadLine`` (its number and reason in ``bad``), and the lines of a record that
    cannot be read can be handed out again (``give_back``)."""

    def __init__(self, reader: BinaryIO, max_row_bytes: int) -> None:
        self.reader = reader
        self.max_row_bytes = max_row_bytes
        self.read = 0  # physical lines read from the file
        self.pending: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []  # the lines of the record being read
        self.bad: tuple[int, str] | None = None

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        if self.pending:
            item = self.pending.popleft()
        else:
            raw = self.reader.readline(self.max_row_bytes + 1)
            if not raw:
                raise StopIteration
            self.read += 1
            if len(raw) > self.max_row_bytes and not raw.endswith(b"\n"):
                size = len(raw)
                while True:  # skip the rest of the line without holding it
                    more = self.reader.readline(MB)
                    size += len(more)
                    if not more or more.endswith(b"\n"):
                        break
                why = (f"row is {_size(size)}, over the {_size(self.max_row_bytes)} limit "
                       "(--max-row-mb)")
                self.bad = (self.read, why)
                raise _BadLine
            try:
                item = (self.read, raw.decode("utf-8"))
            except UnicodeDecodeError as error:
                self.bad = (self.read, f"not UTF-8 ({error.reason} at byte {error.start})")
                raise _BadLine from None
        self.taken.append(item)
        return item[1]

    def give_back(self, lines: list[tuple[int, str]]) -> None:
        """Hand ``lines`` out again, before anything not read yet."""
        self.pending.extendleft(reversed(lines))


def _csv_chunks(shard: Shard, reader: BinaryIO, raw: BinaryIO, chunk: int,
                max_row_bytes: int) -> Iterator[Chunk]:
    """CSV rows, each failing alone: a record the csv module cannot read (a quote never
    closed, a quote inside a field) takes only its first line with it, and reading goes on
    with the next line; a line that is not UTF-8 or is too long fails by itself."""
    csv.field_size_limit(max(max_row_bytes, 1024))
    source = _CsvLines(reader, max_row_bytes)
    rows = csv.reader(source, strict=True)
    try:
        header = next(rows)
    except StopIteration:
        yield Chunk(shard.index, 0, 1)
        return
    except (csv.Error, _BadLine) as error:
        why = source.bad[1] if isinstance(error, _BadLine) and source.bad else error
        raise BatchInputError(f"{shard.source}: the header line cannot be read ({why})"
                              ) from None
    if len(set(header)) != len(header):
        raise BatchInputError(f"{shard.source}: the header names a column twice: {header}")
    index, count = 0, 0
    current = Chunk(shard.index, 0, 1)

    def failed(line: int, why: str) -> None:
        current.records.append((line, None, f"line {line}: {why}"))

    while True:
        source.taken = []
        try:
            values = next(rows)
        except StopIteration:
            break
        except _BadLine:
            assert source.bad is not None
            (line, why), source.bad = source.bad, None
            if source.taken:  # a quoted field ran into the bad line: it fails too
                (start, _text), *rest = source.taken
                failed(start, f"a quote opened on line {start} is not closed before line "
                              f"{line}, which cannot be read")
                source.give_back(rest)
                count += 1
            failed(line, why)
        except csv.Error as error:
            (start, _text), *rest = source.taken or [(source.read, "")]
            message = str(error)
            if "unexpected end of data" in message:
                message = f"a quote opened on line {start} is never closed"
            elif "field larger" in message:
                message = f"a field is over the {_size(max_row_bytes)} limit (--max-row-mb)"
            else:
                message = f"broken CSV ({message})"
            failed(start, message)
            source.give_back(rest)  # the lines after the broken one are read again
        else:
            if not values:
                continue
            start = source.taken[0][0]
            if len(values) > len(header):
                failed(start, f"{len(values)} fields, the header has {len(header)}")
            else:
                current.records.append((start, dict(zip(header, values)), None))
        count += 1
        if len(current.records) >= chunk:
            current.bytes_read = raw.tell()
            yield current
            index += 1
            current = Chunk(shard.index, index, count + 1)
    if current.records or index == 0:
        current.bytes_read = raw.tell()
        yield current


def csv_header(path: Path) -> list[str]:
    reader, raw = _raw_handle(path)
    with reader, raw:
        text = io.TextIOWrapper(reader, encoding="utf-8", newline="")
        try:
            return next(csv.reader(text))
        except (StopIteration, csv.Error, UnicodeDecodeError):
            return []


def _parquet_chunks(shard: Shard, chunk: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(shard.source)
    except (OSError, ValueError) as error:  # pyarrow's errors derive from these
        raise BatchInputError(f"{shard.source}: not a readable Parquet file ({error})"
                              ) from None
    total = handle.metadata.num_rows
    size = shard.source.stat().st_size
    first, index = 1, 0
    for batch in handle.iter_batches(batch_size=chunk):
        if batch.num_rows == 0:
            continue
        done = first + batch.num_rows - 1
        yield Chunk(shard.index, index, first, table=batch,
                    bytes_read=int(size * done / max(total, 1)))
        first += batch.num_rows
        index += 1
    if index == 0:
        yield Chunk(shard.index, 0, 1, table=None, bytes_read=size)


def first_row_fields(shard: Shard) -> list[str]:
    """The field names of a shard's first readable row (the columns of a CSV output)."""
    fmt = shard.fmt
    if fmt == "csv":
        return csv_header(shard.source)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(shard.source).schema_arrow.names)
        except (OSError, ValueError):
            return []
    reader, raw = _raw_handle(shard.source)
    with reader, raw:
        for _ in range(1000):
            line = reader.readline(16 * MB)
            if not line:
                break
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                return list(row)
    return []


# -- writing ---------------------------------------------------------------------------------

def encode_part(rows: list[dict[str, Any]], out_fmt: str, gz: bool,
                columns: list[str]) -> bytes:
    """A chunk of output rows as the bytes of one part of the output file."""
    if out_fmt == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
        data = ("\n".join(map(dumps, rows)) + "\n" if rows else "").encode("utf-8")
    elif out_fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\r\n")
        for row in rows:
            writer.writerow({k: json.dumps(v, ensure_ascii=False)
                             if isinstance(v, (dict, list)) else v for k, v in row.items()})
        data = buffer.getvalue().encode("utf-8")
    else:
        return _parquet_part(rows, columns)
    return gzip.compress(data, GZIP_LEVEL, mtime=0) if gz and data else data


def _parquet_part(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(dict.fromkeys(columns + [k for r in rows for k in r]))
    data = {}
    for name in names:
        values = [r.get(name) for r in rows]
        if any(isinstance(v, (dict, list)) for v in values):
            values = [None if v is None else json.dumps(v, ensure_ascii=False)
                      for v in values]
        data[name] = values
    try:
        table = pa.table(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in a column: keep as text
        table = pa.table({k: [None if v is None else str(v) for v in vs]
                          for k, vs in data.items()})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file that appears complete under its name or not at all."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def assemble(parts: list[Path], out_fmt: str, columns: list[str], target: Path) -> None:
    """Concatenate parts into ``target`` (written beside it, then renamed into place)."""
    if out_fmt == "parquet":
        tmp = target.with_name(f".{target.name}.partial")
        try:
            _assemble_parquet(parts, tmp)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        return
    output = PartJoiner(target, out_fmt, columns, flush_each=False)
    try:
        for part in parts:
            output.append(part)
        output.commit()
    finally:
        output.discard()


class PartJoiner:
    """A JSONL or CSV output file put together from its parts, in order, beside its final
    name (``.NAME.partial``), then renamed into place by ``commit``. A run appends each
    part as soon as it and those before it are finished; with ``flush_each`` every part is
    also written to disk when appended, so that committing has only the last to wait for
    rather than the whole file. ``discard`` removes an output not committed."""

    def __init__(self, target: Path, out_fmt: str, columns: list[str], *,
                 flush_each: bool = True) -> None:
        if out_fmt not in ("jsonl", "csv"):
            raise ValueError(f"parts of {out_fmt} are not joined by concatenation")
        self.target = target
        self.tmp = target.with_name(f".{target.name}.partial")
        self.flush_each = flush_each
        self._out: BinaryIO | None = open(self.tmp, "wb", buffering=0)  # noqa: SIM115
        if out_fmt == "csv":
            header = io.StringIO()
            csv.writer(header, lineterminator="\r\n").writerow(columns)
            data = header.getvalue().encode("utf-8")
            _write_all(self._out, gzip.compress(data, GZIP_LEVEL, mtime=0)
                       if is_gzip(target) else data)

    def append(self, part: Path) -> None:
        assert self._out is not None, "append after commit or discard"
        _append(self._out, part)
        if self.flush_each:
            os.fdatasync(self._out.fileno())

    def commit(self) -> None:
        """Write what is left to disk and rename the file into place."""
        assert self._out is not None, "commit after commit or discard"
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None
        os.replace(self.tmp, self.target)

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            self.tmp.unlink(missing_ok=True)


def _append(out: BinaryIO, part: Path) -> None:
    """Copy a part to the end of an unbuffered file: in the kernel where it can
    (``copy_file_range``), else through a buffer."""
    with open(part, "rb", buffering=0) as handle:
        left = os.fstat(handle.fileno()).st_size
        copy = getattr(os, "copy_file_range", None)
        try:
            while copy is not None and left > 0:
                done = copy(handle.fileno(), out.fileno(), min(left, 1 << 30))
                if done <= 0:
                    break
                left -= done
        except OSError:
            pass  # not between these files: copy the rest through a buffer
        while block := handle.read(4 * MB):
            _write_all(out, block)


def _write_all(out: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[out.write(view):]


def _assemble_parquet(parts: list[Path], tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = [pq.read_schema(p) for p in parts]
    if not schemas:
        pq.write_table(pa.table({}), tmp)
        return
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise BatchOutputError(f"the rows' columns do not agree in type across chunks "
                               f"({error}); write JSONL or CSV instead") from None
    with pq.ParquetWriter(tmp, schema) as writer:
        for part in parts:
            table = pq.read_table(part)
            for name in schema.names:
                if name not in table.column_names:
                    table = table.append_column(name, pa.nulls(table.num_rows,
                                                               schema.field(name).type))
            writer.write_table(table.select(schema.names).cast(schema))
