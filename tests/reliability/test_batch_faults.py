"""Issue 9, item 7: 1% poison rows in 10,000-row batches through ``cxkb classify``.

A JSONL file and a CSV file (5,000 rows each in the default run, a batch of 10,000; 10,000
each over two worker processes in the release run), 1% of their rows poison, planted at
random (seeded) places: a missing text field, a null or non-string text, a malformed JSON
line, a JSON line that is not an object, an oversized row; a CSV quote that never closes,
a quote inside a field, a row with too many fields, a row without its text column, an
oversized field. One ``cxkb classify`` run over the folder. Expected: it finishes; the
failures file names exactly the planted rows (file and row number); every other row is in
the output with a label, in input order, with nothing lost and nothing duplicated.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from figures import record

from kb.cli import cli

DEBATE = "outcome-function"
MAX_ROW_MB = 0.05  # 50 KB
BIG = "customer experience is an outcome " * 2000  # about 66 KB
TEXTS = [
    "Customer experience is an outcome that the whole company owns.",
    "CX should be a function, with a budget, a team and a seat at the table.",
    "It is both: an outcome everyone owns and a small function that coordinates.",
    "Honestly, marketing cannot own what the customer feels after the sale.",
    "I think the CCO owns the journey, but \"the outcome\" is everybody's job, right?",
    "Neither; it's a philosophy, a way of running the business.",
]

JSONL_POISON = [  # kind -> the line written in place of a good row
    ("missing text", lambda i: json.dumps({"id": i, "body": "no text field"})),
    ("null text", lambda i: json.dumps({"id": i, "text": None})),
    ("list text", lambda i: json.dumps({"id": i, "text": ["a", "list"]})),
    ("object text", lambda i: json.dumps({"id": i, "text": {"nested": "object"}})),
    ("boolean text", lambda i: json.dumps({"id": i, "text": True})),
    ("malformed JSON", lambda i: f'{{"id": {i}, "text": "unterminated'),
    ("not an object", lambda i: json.dumps([i, "an array"])),
    ("truncated line", lambda i: json.dumps({"id": i, "text": "cut"})[:-5]),
    ("oversized row", lambda i: json.dumps({"id": i, "text": BIG})),
    ("trailing garbage", lambda i: json.dumps({"id": i, "text": "x"}) + " trailing"),
    ("not UTF-8", lambda i: f'{{"id": {i}, "text": "caf\udce9"}}'),
]
CSV_POISON = [  # kind -> the raw line (no line break) written in place of a good row
    ("quote never closed", lambda i: f'{i},"this quote is never closed,forum-{i % 7}'),
    ("quote inside a field", lambda i: f'{i},"a quote "inside" the field",forum-{i % 7}'),
    ("too many fields", lambda i: f"{i},one,two,three,four"),
    ("no text column", lambda i: f"{i}"),
    ("oversized field", lambda i: f'{i},"{BIG}",forum-{i % 7}'),
    ("not UTF-8", lambda i: f"{i},caf\udce9 in Latin-1,forum-{i % 7}"),
]


def _plant(rnd: random.Random, total: int) -> dict[int, int]:
    """Row number (1-based) -> poison kind index for 1% of ``total`` rows, never two in a
    row (so each poison row stands alone and can be named exactly)."""
    rows: set[int] = set()
    while len(rows) < total // 100:
        row = rnd.randrange(2, total)
        if not {row - 1, row, row + 1} & rows:
            rows.add(row)
    return {row: n for n, row in enumerate(sorted(rows))}


def write_jsonl(path: Path, rnd: random.Random, total: int
                ) -> tuple[dict[int, str], list[int]]:
    planted = _plant(rnd, total)
    poison: dict[int, str] = {}
    good: list[int] = []
    with path.open("w", encoding="utf-8", errors="surrogateescape") as out:
        for row in range(1, total + 1):
            if row in planted:
                kind, make = JSONL_POISON[planted[row] % len(JSONL_POISON)]
                out.write(make(row) + "\n")
                poison[row] = kind
            else:
                text = TEXTS[rnd.randrange(len(TEXTS))] + f" (#{row})"
                out.write(json.dumps({"id": row, "text": text, "site": f"forum-{row % 7}"}) + "\n")
                good.append(row)
    return poison, good


def write_csv(path: Path, rnd: random.Random, total: int) -> tuple[dict[int, str], list[int]]:
    planted = _plant(rnd, total)
    poison: dict[int, str] = {}
    good: list[int] = []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "text", "site"])
    lines = [buffer.getvalue()]
    for row in range(1, total + 1):
        if row in planted:
            kind, make = CSV_POISON[planted[row] % len(CSV_POISON)]
            lines.append(make(row) + "\n")
            poison[row] = kind
        else:
            buffer.seek(0)
            buffer.truncate()
            text = TEXTS[rnd.randrange(len(TEXTS))] + f" (#{row})"
            if row % 50 == 0:
                text += "\nwith a second line, quoted as CSV allows"
            writer.writerow([row, text, f"forum-{row % 7}"])
            lines.append(buffer.getvalue())
            good.append(row)
    path.write_bytes("".join(lines).encode("utf-8", "surrogateescape"))
    return poison, good


def _read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_one_percent_poison_rows_fail_alone_and_everything_else_is_labelled(
        tmp_path: Path) -> None:
    check_batch(tmp_path, rows=5_000, workers="1", label="default")


@pytest.mark.release
def test_one_percent_poison_rows_in_two_10k_files_over_two_workers(tmp_path: Path) -> None:
    check_batch(tmp_path, rows=10_000, workers="2", label="release")


def check_batch(tmp_path: Path, *, rows: int, workers: str, label: str) -> None:
    rnd = random.Random(20240909)
    folder = tmp_path / "in"
    folder.mkdir()
    planted = {"replies.jsonl": write_jsonl(folder / "replies.jsonl", rnd, rows),
               "forum.csv": write_csv(folder / "forum.csv", rnd, rows)}
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "classify", "--debate", DEBATE, "--model", "fast", "--input", str(folder),
        "--output", str(out), "--format", "jsonl", "--max-row-mb", str(MAX_ROW_MB),
        "--evidence", "none", "--workers", workers, "--progress", "none"])
    assert result.exception is None, (result.exception, result.output[-2000:])
    assert result.exit_code == 0, result.output[-2000:]
    failures = _read_jsonl(out / "_failures.jsonl")
    named = {(Path(f["input"]).name, f["row"]) for f in failures}
    problems: list[str] = []
    total_rows = total_poison = 0
    for name, (poison, good) in planted.items():
        total_rows += rows
        total_poison += len(poison)
        expected = {(name, row) for row in poison}
        got = {key for key in named if key[0] == name}
        if got != expected:
            missed = sorted(row for _, row in expected - got)
            extra = sorted(row for _, row in got - expected)
            problems.append(f"{name}: failures file misses rows {missed[:10]} "
                            f"({', '.join(sorted({poison[r] for r in missed}))}) and names "
                            f"good rows {extra[:10]}")
        written = _read_jsonl(out / f"{Path(name).stem}.jsonl")
        labelled = [int(r["id"]) for r in written if r.get("error") is None]
        if labelled != good:
            lost = sorted(set(good) - set(labelled))
            problems.append(f"{name}: {len(written)} output rows; {len(lost)} good rows lost "
                            f"(e.g. {lost[:10]}), order kept: {labelled == sorted(labelled)}")
        if len(written) != rows:
            problems.append(f"{name}: {len(written)} output rows for {rows} input rows")
        if any(r.get("error") is None and not r.get("label") for r in written):
            problems.append(f"{name}: a good row without a label")
    record(f"batch-faults-{label}", f"Batch faults ({workers} worker(s)): {len(failures)} "
           f"rows in the failures file for {total_poison} planted over {total_rows:,} rows in 2 files (JSONL, CSV); "
           f"{len(problems)} problems", failures=len(failures), planted=total_poison,
           rows=total_rows, problems=len(problems))
    assert not problems, problems
    assert len(failures) == total_poison
