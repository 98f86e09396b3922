"""Load: many clients browsing and searching a 100k-statement knowledge base while a batch
labels it and editors correct labels through the UI; latency per page type and errors.

    python bench/load.py [--db PATH] [--statements 100000] [--clients 50] [--seconds 60]
                         [--writers classify,corrections,ingest] [--save FILE.json]

The knowledge base is ``bench/web.py``'s (generated, or reused with ``--db``: the run
writes to it, so give it a copy you can spare). The server is ``cxkb serve`` itself in its
own process (waitress, 8 threads, loopback: anyone may write), with its worker. For
``--seconds`` after a warm-up:

* ``--clients`` threads each loop over the page types of ``bench/web.py`` (overview,
  listings with every filter, search, threads, people, topics, documents), one GET at a
  time on a new connection, each page type chosen with equal chance;
* ``classify``: ``cxkb classify --debate outcome-function --model fast`` relabels the
  knowledge base in its own process (its model differs from the generated labels' one,
  so every statement is rewritten; it is stopped at the end, its finished batches kept);
* ``corrections``: one editor thread opens a statement page, takes its CSRF token and
  posts a human label (``/label``), again and again, as the correction buttons do;
* ``ingest``: one thread writes two new threads (text copies of blog pages with comments)
  into a folder and runs ``cxkb ingest`` on it, again and again.

Printed: per page type the requests, p50/p95/p99 and max in ms, errors (HTTP 5xx, a
connection refused or reset, a time-out) and responses that mention "database is locked";
the corrections posted and refused; the labels the batch wrote; the ingest runs, how many
failed and whether one said "database is locked"; requests per second; the load average. There is no target here: the figures show how the UI holds up with every
core busy (two clients per core would already saturate them).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from web import facts_of, generate, pages, percentile  # bench/web.py

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer on port {port} within {seconds:.0f} s")


def get(port: int, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Connection": "close", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


class Tally:
    """Latencies and failures per page type, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.locked: dict[str, int] = defaultdict(int)

    def add(self, name: str, ms: float, status: int | None, body: bytes, error: str = "") -> None:
        with self.lock:
            self.times[name].append(ms)
            if error or (status is not None and status >= 500):
                self.errors[name].append(error or f"HTTP {status}")
            if b"database is locked" in body:
                self.locked[name] += 1


def browse(port: int, targets: list[tuple[str, str]], tally: Tally, stop: threading.Event,
           seed: int) -> None:
    rnd = random.Random(seed)
    while not stop.is_set():
        name, path = rnd.choice(targets)
        start = time.perf_counter()
        try:
            status, body, _ = get(port, path)
            tally.add(name, (time.perf_counter() - start) * 1000, status, body)
        except (OSError, http.client.HTTPException) as error:
            tally.add(name, (time.perf_counter() - start) * 1000, None, b"",
                      f"{type(error).__name__}: {error}")


def correct(port: int, db_path: Path, tally: Tally, stop: threading.Event,
            counts: dict[str, int]) -> None:
    """Post human labels through the correction form, as an editor would."""
    with sqlite3.connect(db_path) as db:
        ids = [r[0] for r in db.execute(
            "SELECT id FROM statements ORDER BY random() LIMIT 2000")]
    rnd = random.Random(5)
    labels = ["outcome", "function", "both", "neither"]
    origin = f"http://127.0.0.1:{port}"
    while not stop.is_set() and ids:
        statement = rnd.choice(ids)
        page = f"/statements/{statement}"
        start = time.perf_counter()
        try:
            status, body, response = get(port, page)
            cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
            found = TOKEN.search(body.decode("utf-8", "replace"))
            if status != 200 or not found:
                counts["refused"] += 1
                tally.add("correction (form + post)", (time.perf_counter() - start) * 1000,
                          status, body, "" if status < 500 else f"HTTP {status}")
                continue
            form = (f"target=statement%3A{statement}&debate=outcome-function"
                    f"&label={rnd.choice(labels)}&csrf_token={found.group(1)}&next={page}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            try:
                conn.request("POST", "/label", body=form, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                    "Origin": origin, "Connection": "close"})
                answer = conn.getresponse()
                body = answer.read()
            finally:
                conn.close()
            counts["posted" if answer.status == 303 else "refused"] += 1
            tally.add("correction (form + post)", (time.perf_counter() - start) * 1000,
                      answer.status, body)
        except (OSError, http.client.HTTPException) as error:
            tally.add("correction (form + post)", (time.perf_counter() - start) * 1000, None,
                      b"", f"{type(error).__name__}: {error}")
        time.sleep(0.2)


def ingest_loop(db_path: Path, folder: Path, env: dict[str, str], stop: threading.Event,
                counts: dict[str, int], failures: list[str]) -> None:
    """Two new threads at a time, ingested by ``cxkb ingest`` while the rest goes on."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(9)
    examples = sorted((ROOT / "nlp" / "debates" / "examples").glob("*.jsonl"))
    sentences = [json.loads(line)["text"] for path in examples
                 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    n = 0
    while not stop.is_set():
        for _ in range(2):
            title = f"Load thread {n}: who owns customer experience?"
            comments = [f"  {k}. Reader {rnd.randrange(50)} says:\n\n    {rnd.choice(sentences)}"
                        for k in range(1, 6)]
            body = "\n\n".join(" ".join(rnd.choice(sentences) for _ in range(4))
                                for _ in range(3))  # paragraphs of running text
            (folder / f"load-{n:04d}.txt").write_text(
                f"{title}\n\n{body}\n\n"
                f"{len(comments)} Responses to {title}\n\n" + "\n\n".join(comments) + "\n",
                encoding="utf-8")
            n += 1
        done = subprocess.run([sys.executable, "-m", "kb", "--db", str(db_path), "ingest",
                               str(folder)], env=env, capture_output=True, text=True,
                              check=False)
        counts["runs"] += 1
        if done.returncode != 0:
            counts["failed"] += 1
            lines = [line for line in (done.stdout + done.stderr).splitlines()
                     if "FAILED" in line or "rror" in line]
            failures.append(lines[-1] if lines else done.stderr.strip()[-300:])
            if os.environ.get("CXKB_LOAD_TRACE"):
                with open(os.environ["CXKB_LOAD_TRACE"], "a", encoding="utf-8") as trace:
                    trace.write(done.stderr + "\n----\n")
        if "database is locked" in done.stdout + done.stderr:
            counts["locked"] += 1
    counts["threads"] = n


def labels_written(db_path: Path, since: str) -> int:
    with sqlite3.connect(db_path, timeout=30) as db:
        return db.execute("SELECT count(*) FROM labels WHERE method = 'model'"
                          " AND (created_at >= ? OR updated_at >= ?)", [since, since]).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="the knowledge base (generated if missing)")
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--writers", default="classify,corrections,ingest")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    writers = {w for w in args.writers.split(",") if w}
    tmp = Path(tempfile.mkdtemp(prefix="cxkb-load-"))
    logs = contextlib.ExitStack()  # the server's and the batch's stderr
    try:
        path = args.db or tmp / "load.db"
        facts = facts_of(path) if path.exists() else generate(path, args.statements)
        targets = pages(facts)
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "kb", "--db", str(path), "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=logs.enter_context(
                (tmp / "serve.log").open("w")))
        batch = None
        try:
            wait_for(port)
            for _, page in targets:  # warm-up: every page once
                get(port, page)
            print(f"{facts.statements:,} statements; {args.clients} clients for "
                  f"{args.seconds:.0f} s; writers: {', '.join(sorted(writers)) or 'none'}; "
                  f"{os.cpu_count()} cores, load average before "
                  + " ".join(f"{x:.1f}" for x in os.getloadavg()))
            started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            if "classify" in writers:
                batch = subprocess.Popen(
                    [sys.executable, "-m", "kb", "--db", str(path), "classify", "--debate",
                     "outcome-function", "--model", "fast"], env=env,
                    stdout=subprocess.DEVNULL, stderr=logs.enter_context(
                        (tmp / "classify.log").open("w")))
            tally, stop, counts = Tally(), threading.Event(), defaultdict(int)
            threads = [threading.Thread(target=browse, args=(port, targets, tally, stop, i),
                                        daemon=True) for i in range(args.clients)]
            ingests: dict[str, int] = defaultdict(int)
            ingest_failures: list[str] = []
            if "ingest" in writers:
                threads.append(threading.Thread(target=ingest_loop, args=(
                    path, tmp / "incoming", env, stop, ingests, ingest_failures), daemon=True))
            if "corrections" in writers:
                threads.append(threading.Thread(target=correct,
                                                args=(port, path, tally, stop, counts),
                                                daemon=True))
            begin = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(args.seconds)
            stop.set()
            for t in threads:
                t.join(timeout=150)
            elapsed = time.perf_counter() - begin
            load = os.getloadavg()
            batch_state = "not run"
            if batch is not None:
                batch_state = ("finished" if batch.poll() is not None
                               else "still running (stopped)")
                batch.send_signal(signal.SIGINT)
                batch.wait(timeout=60)
            written = labels_written(path, started) if batch is not None else 0
        finally:
            if batch is not None and batch.poll() is None:
                batch.kill()
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        rows = []
        print(f"\n{'page':38} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'errors':>6} {'locked':>6}")
        for name in [n for n, _ in targets] + ["correction (form + post)"]:
            times = tally.times.get(name)
            if not times:
                continue
            row = {"page": name, "requests": len(times), "p50": statistics.median(times),
                   "p95": percentile(times, 0.95), "p99": percentile(times, 0.99),
                   "max": max(times), "errors": len(tally.errors[name]),
                   "locked": tally.locked[name]}
            rows.append(row)
            print(f"{name:38} {row['requests']:8d} {row['p50']:8.0f} {row['p95']:8.0f} "
                  f"{row['p99']:8.0f} {row['max']:8.0f} {row['errors']:6d} {row['locked']:6d}")
        total = sum(r["requests"] for r in rows)
        errors = sum(r["errors"] for r in rows)
        every = [t for times in tally.times.values() for t in times]
        print(f"\n{total:,} requests in {elapsed:.0f} s ({total / elapsed:.1f}/s); errors "
              f"{errors} ({errors / max(total, 1):.2%}); 'database is locked' in "
              f"{sum(tally.locked.values())} responses; all pages p50 "
              f"{statistics.median(every):.0f} ms, p95 {percentile(every, 0.95):.0f} ms, "
              f"p99 {percentile(every, 0.99):.0f} ms")
        if "corrections" in writers:
            print(f"corrections: {counts['posted']} posted, {counts['refused']} refused")
        if batch is not None:
            print(f"batch: {written:,} labels written during the run ({batch_state})")
        if "ingest" in writers:
            print(f"ingest: {ingests['runs']} runs of cxkb ingest ({ingests['threads']} new "
                  f"threads), {ingests['failed']} failed, {ingests['locked']} said "
                  f"'database is locked'")
            for line in dict.fromkeys(ingest_failures):
                print(f"  ingest failure: {line}")
        print("load average after: " + " ".join(f"{x:.1f}" for x in load))
        kinds = sorted({e.split(":")[0] for errs in tally.errors.values() for e in errs})
        if kinds:
            print("error kinds: " + ", ".join(kinds))
        if args.save:
            args.save.write_text(json.dumps({"rows": rows, "requests": total, "errors": errors,
                                             "seconds": elapsed, "labels_written": written,
                                             "corrections": dict(counts),
                                             "ingest": dict(ingests)}, indent=1))
    finally:
        logs.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
