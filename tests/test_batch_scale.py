"""Batch classification at scale: streaming formats, worker processes, a real Dask
cluster, kill-and-resume, bad input, progress. Real files and real processes throughout;
no timings are asserted (bench/classify.py prints those)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import cli
from nlp.batch import BatchAborted, classify
from nlp.batch_progress import Progress
from nlp.debate import load_debate

ROOT = Path(__file__).resolve().parents[1]
DEBATE = "outcome-function"
OPENERS = ["", "Honestly, ", "I think ", "Well - ", "As I said before, ", "IMO "]
CLOSERS = ["", " Just my two cents.", " Thoughts?", " :)", " Great post, by the way."]


def varied_rows(n: int, seed: int = 7) -> list[dict]:
    """Rows from the annotated corpus, varied (openers, closers, case, numbers), with
    ids, some contexts and an extra field."""
    examples = load_debate(DEBATE).examples()
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        e = examples[rnd.randrange(len(examples))]
        text = rnd.choice(OPENERS) + e.text + rnd.choice(CLOSERS)
        if rnd.random() < 0.1:
            text = text.upper() if rnd.random() < 0.5 else text.lower()
        row = {"id": i, "text": text, "site": f"forum-{i % 7}"}
        if e.context:
            row["context"] = e.context
        rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def run_cli(*args: str, ok: bool = True):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# -- the same output whichever way it runs ----------------------------------------------------

@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shards")
    rows = varied_rows(3000)
    write_jsonl(folder / "a.jsonl", rows[:1200])
    write_jsonl(folder / "b.jsonl.gz", rows[1200:2100])
    with (folder / "c.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "site"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows[2100:])
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_one_worker_n_workers_and_a_dask_cluster_write_the_same_bytes(
        tmp_path: Path, shards: Path) -> None:
    from distributed import Client, LocalCluster

    one = classify(shards, tmp_path / "one", debate=DEBATE, chunk=400, workers=1)
    two = classify(shards, tmp_path / "two", debate=DEBATE, chunk=400, workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dask = classify(shards, tmp_path / "dask", debate=DEBATE, chunk=400,
                        scheduler=cluster.scheduler_address)
        workers = {pid for pid in client.run(os.getpid).values()}
    assert len(workers) == 2 and os.getpid() not in workers
    outputs = [_files(tmp_path / name) for name in ("one", "two", "dask")]
    assert set(outputs[0]) == {"a.jsonl", "b.jsonl.gz", "c.csv", "_failures.jsonl"}
    assert outputs[0] == outputs[1] == outputs[2]
    for summary in (one, two, dask):
        assert (summary.rows, summary.labelled, summary.failed) == (3000, 3000, 0)
    assert one.labels == two.labels == dask.labels
    assert len(one.labels) >= 3  # speed never buys a constant classifier
    # one output row per input row, in input order, input fields kept
    a = read_jsonl(tmp_path / "one" / "a.jsonl")
    b = read_jsonl(tmp_path / "one" / "b.jsonl.gz")
    with (tmp_path / "one" / "c.csv").open(encoding="utf-8") as handle:
        c = list(csv.DictReader(handle))
    assert [r["id"] for r in a + b] == list(range(2100))
    assert [int(r["id"]) for r in c] == list(range(2100, 3000))
    assert all(r["site"] and r["label"] for r in a + b + c)
    assert json.loads(c[0]["scores"]).keys() == set(load_debate(DEBATE).label_names)
    assert not list((tmp_path / "one").glob(".cxkb-run"))


def test_a_file_gives_the_same_labels_as_the_model_in_memory(tmp_path: Path) -> None:
    from nlp.model_store import get_model

    rows = varied_rows(300, seed=3)
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    classify(source, tmp_path / "one.jsonl", debate=DEBATE, chunk=64, workers=1)
    classify(source, tmp_path / "two.jsonl", debate=DEBATE, chunk=1000, workers=2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    model = get_model(load_debate(DEBATE), "fast")
    expected = model.predict([r["text"] for r in rows], [r.get("context") for r in rows])
    got = read_jsonl(tmp_path / "one.jsonl")
    assert [g["label"] for g in got] == [p.label for p in expected]
    assert [g["confidence"] for g in got] == [round(p.confidence, 4) for p in expected]
    assert [g["evidence"]["cues"] for g in got] == [p.evidence["cues"] for p in expected]
    # the nearest examples by id, label and similarity; their text only with --evidence full
    assert [g["evidence"]["nearest"] for g in got] == [
        [{k: v for k, v in n.items() if k != "text"} for n in p.evidence["nearest"]]
        for p in expected]
    classify(source, tmp_path / "full.jsonl", debate=DEBATE, chunk=64, workers=1,
             evidence="full")
    full = read_jsonl(tmp_path / "full.jsonl")
    assert [g["evidence"]["nearest"] for g in full] == [p.evidence["nearest"] for p in expected]
    assert all(n["text"] for g in full for n in g["evidence"]["nearest"])


def test_parquet_in_and_out(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = varied_rows(500, seed=5)
    table = pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
                      "score": [float(i) / 3 for i in range(500)]})
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=128)
    run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
            str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out.parquet"),
            "--chunk-size", "100", "--workers", "2", "--evidence", "none")
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column("id").to_pylist() == list(range(500))
    assert out.schema.field("id").type == pa.int64()
    assert out.column("score").to_pylist() == table.column("score").to_pylist()
    labels = out.column("label").to_pylist()
    run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
            str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out.jsonl.gz"),
            "--evidence", "none", "--workers", "1")
    assert [r["label"] for r in read_jsonl(tmp_path / "out.jsonl.gz")] == labels


# -- never lose work ------------------------------------------------------------------------------

def _done_chunks(run_dir: Path) -> int:
    return len(list(run_dir.glob("shard-*/part-*.done.json"))) if run_dir.exists() else 0


def test_a_killed_run_resumes_without_redoing_or_duplicating(tmp_path: Path) -> None:
    rows = varied_rows(30000, seed=11)
    source = write_jsonl(tmp_path / "big.jsonl", rows)
    output = tmp_path / "out" / "labels.jsonl"
    run_dir = output.with_name(".labels.jsonl.cxkb-run")
    command = [sys.executable, "-m", "kb", "classify", "--debate", DEBATE, "--model", "fast",
               "--input", str(source), "--output", str(output), "--chunk-size", "500",
               "--workers", "2", "--progress", "log"]
    process = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _done_chunks(run_dir) < 4 and process.poll() is None:
            assert time.monotonic() < deadline, "no chunk was committed"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its workers, mid-run
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not output.exists(), "the run finished before it could be killed"
    # the output was being put together beside its name as chunks finished
    assert list(output.parent.glob(f".{output.name}.partial"))
    finished = _done_chunks(run_dir)
    assert 4 <= finished < 60

    again = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                    str(source), "--output", str(output), "--chunk-size", "500", ok=False)
    assert again.exit_code == 1 and "--resume" in again.output
    changed = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                      str(source), "--output", str(output), "--chunk-size", "400",
                      "--resume", ok=False)
    assert changed.exit_code == 1 and "cannot resume" in changed.output

    resumed = subprocess.run(command + ["--resume"], check=False, env=subprocess_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "30000 row(s) read" in resumed.stderr
    earlier = int(resumed.stderr.split(" of them by an earlier run")[0].rsplit(", ", 1)[1])
    assert earlier >= finished * 500 - 500  # finished chunks were not redone
    assert not run_dir.exists()
    # the killed run's half-assembled output was started over, then renamed into place
    assert not list(output.parent.glob("*.partial"))

    reference = tmp_path / "reference.jsonl"
    classify(source, reference, debate=DEBATE, workers=1)
    assert output.read_bytes() == reference.read_bytes()
    ids = [r["id"] for r in read_jsonl(output)]
    assert ids == list(range(30000))


# -- bad input --------------------------------------------------------------------------------------

def test_bad_rows_go_to_the_failures_file_and_the_run_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "messy.jsonl"
    lines = [json.dumps({"id": 1, "text": "Customer experience is an outcome."}),
             json.dumps({"id": 2, "body": "no text field"}),
             json.dumps({"id": 3, "text": ["a", "list"]}),
             "{broken json",
             json.dumps({"id": 5, "text": None}),
             "[1, 2]",
             "",
             json.dumps({"id": 7, "text": 42}),
             json.dumps({"id": 8, "text": "x" * (2 * 1024 * 1024)}),
             json.dumps({"id": 9, "text": "CX is a function, like finance."})]
    source.write_text("\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "out.jsonl"
    result = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                     str(source), "--output", str(out), "--max-row-mb", "1",
                     "--workers", "1", "--progress", "none")
    assert "9 row(s) read" in result.output and "6 failed" in result.output
    assert "out.failures.jsonl" in result.output
    rows = read_jsonl(out)
    assert len(rows) == 9  # one per non-blank line, in order
    assert [r.get("id") for r in rows] == [1, 2, 3, None, 5, None, 7, None, 9]
    assert rows[0]["label"] == "outcome" and rows[8]["label"] == "function"
    assert rows[6]["label"] and rows[6]["text"] == "42"
    failures = read_jsonl(tmp_path / "out.failures.jsonl")
    by_line = {f["line"]: f["error"] for f in failures}
    assert set(by_line) == {2, 3, 4, 5, 6, 9}
    assert "no 'text' field" in by_line[2]
    assert "'text' is a list, not text" in by_line[3]
    assert "not JSON" in by_line[4]
    assert "null" in by_line[5]
    assert "not a JSON object" in by_line[6]
    assert "2.0 MB, over the 1.0 MB limit" in by_line[9]
    assert all(f["input"].endswith("messy.jsonl") and f["row"] for f in failures)


def test_a_100_mb_row_fails_alone_with_memory_to_spare(tmp_path: Path) -> None:
    source = tmp_path / "huge.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": 0, "text": "CX is an outcome."}) + "\n")
        handle.write('{"id": 1, "text": "')
        block = "customer experience " * 52429  # about 1 MB
        for _ in range(100):
            handle.write(block)
        handle.write('"}\n')
        handle.write(json.dumps({"id": 2, "text": "CX is a function."}) + "\n")
    assert source.stat().st_size > 100 * 1024 * 1024
    small = write_jsonl(tmp_path / "small.jsonl", varied_rows(3))
    code = ("import resource; from nlp.batch import classify\n"
            "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            f"classify({str(small)!r}, {str(tmp_path / 'small.out.jsonl')!r}, "
            f"debate={DEBATE!r}, workers=1)\n"
            "before = peak()\n"
            f"s = classify({str(source)!r}, {str(tmp_path / 'out.jsonl')!r}, "
            f"debate={DEBATE!r}, workers=1)\n"
            "print(s.line()); print(peak() - before)")
    done = subprocess.run([sys.executable, "-c", code], check=False, env=subprocess_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary, grown_kb = done.stdout.strip().splitlines()[-2:]
    assert "3 row(s) read, 2 labelled, 1 failed" in summary
    assert int(grown_kb) < 40 * 1024  # the 100 MB line was never held
    rows = read_jsonl(tmp_path / "out.jsonl")
    assert [r.get("id") for r in rows] == [0, None, 2]
    assert "over the 16.0 MB limit" in rows[1]["error"]


def test_csv_with_a_broken_quote_and_empty_files(tmp_path: Path) -> None:
    source = tmp_path / "posts.csv"
    source.write_text('id,text\n1,"CX is an outcome."\n2,"a quote "that" breaks"\n'
                      '3,Marketing owns it\n4,"never closed\n5,not lost\n', "utf-8")
    out = tmp_path / "posts.out.csv"
    result = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                     str(source), "--output", str(out), "--workers", "1")
    assert "5 row(s) read" in result.output and "2 failed" in result.output
    failures = read_jsonl(tmp_path / "posts.out.failures.jsonl")
    assert [f["line"] for f in failures] == [3, 5]
    assert "broken CSV" in failures[0]["error"]
    assert "quote opened on line 5 is never closed" in failures[1]["error"]
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # the line after the unclosed quote is read on its own, not lost with it
    assert [r["id"] for r in rows] == ["1", "", "3", "", "5"]
    assert rows[0]["label"] == "outcome" and rows[4]["label"]

    for name in ("empty.jsonl", "empty.csv"):
        (tmp_path / name).write_text("", "utf-8")
        target = tmp_path / ("labels-" + name)
        result = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                         str(tmp_path / name), "--output", str(target))
        assert "0 row(s) read" in result.output
        assert target.exists()


def test_unwritable_output_and_max_failures(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", varied_rows(50))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", "utf-8")
    result = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                     str(source), "--output", str(blocker / "out.jsonl"), ok=False)
    assert result.exit_code == 1
    assert "cannot write to" in result.output and "Traceback" not in result.output

    rows = varied_rows(1000, seed=2)
    for i in range(0, 1000, 10):
        rows[i] = {"id": rows[i]["id"], "body": "no text"}
    source = write_jsonl(tmp_path / "bad.jsonl", rows)
    out = tmp_path / "bad.out.jsonl"
    result = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                     str(source), "--output", str(out), "--chunk-size", "100",
                     "--max-failures", "25", "--workers", "1", ok=False)
    assert result.exit_code == 1
    assert "more than --max-failures 25" in result.output and "--resume" in result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".bad.out.jsonl.partial"))  # no half-assembled output
    assert len(read_jsonl(tmp_path / "bad.out.failures.jsonl")) == 30
    with pytest.raises(BatchAborted):
        classify(source, out, debate=DEBATE, chunk=100, workers=2, resume=True,
                 max_failures=50)
    assert not out.exists() and not list(tmp_path.glob(".bad.out.jsonl.partial"))
    summary = classify(source, out, debate=DEBATE, chunk=100, workers=2, resume=True)
    assert summary.resumed >= 500 and summary.failed == 100
    assert [r.get("id") for r in read_jsonl(out)] == list(range(1000))
    assert len(read_jsonl(tmp_path / "bad.out.failures.jsonl")) == 100


# -- progress ---------------------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_log_lines_otherwise() -> None:
    bar = _Terminal()
    progress = Progress(1000, stream=bar)
    progress.update(500, 500)
    progress.close()
    assert bar.getvalue().startswith("\r[") and "500 rows" in bar.getvalue()
    assert "rows/s" in bar.getvalue() and "ETA" in bar.getvalue()
    log = io.StringIO()
    progress = Progress(1000, stream=log, interval=0)
    progress.update(250, 250)
    progress.update(250, 500)
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("classify: 500 rows (50% of the input)")
    assert "rows/s" in lines[1] and "ETA" in lines[1] and "\r" not in log.getvalue()


def test_the_summary_says_what_happened(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", varied_rows(200))
    result = run_cli("classify", "--debate", DEBATE, "--model", "fast", "--input",
                     str(source), "--output", str(tmp_path / "o.jsonl"), "--workers", "2")
    summary = result.output.strip().splitlines()[-1]
    assert summary.startswith("200 row(s) read, 200 labelled, 0 failed")
    assert "rows/s" in summary and "outcome " in summary and "function " in summary
