"""Throughput and memory of ``cxkb classify`` on files, beside floors measured in the same run.

    python bench/classify.py [--sizes 10k,100k,1M] [--accurate-rows 10k] [--workers 1,2]
                             [--debate outcome-function] [--workdir DIR] [--keep]
                             [--repeat N] [--baseline-code DIR]

Inputs are generated from the debate's annotated corpus, varied so that few rows repeat
(openers and closers, two statements joined, dropped words, case, numbers, contexts,
extra fields). For each size it runs, each as its own process with start-up included:

* the I/O floor: reading the same JSONL, parsing every row, adding result fields and
  writing it back, without classifying (one process);
* the fast tier through the CLI with default options (``--model fast``) and 1 and 2
  workers: rows/s end to end and the peak RSS of the main process and of each worker
  (VmHWM from /proc, sampled while it runs);
* at ``--accurate-rows``: the accurate tier through the CLI, against the floor of the
  MiniLM encoder's own ``encode`` on the same texts (statements and their contexts) in
  one process with default threads, model loading excluded.

Start-up is measured as an installed cxkb starts: from byte-compiled modules. The code
measured (and ``--baseline-code``) is compiled first, because an environment with
``PYTHONDONTWRITEBYTECODE`` set (as some sandboxes and CI runners have) would otherwise
compile cxkb's sources again in every run, about 0.07 s of each one.

On a shared machine one run's figure moves by 10-25% with the machine's speed (the I/O
floor with it): ``--repeat N`` runs the floor and the fast tier N times, one after the
other, and prints each one's median, range and median share of its own round's floor;
``--baseline-code DIR`` runs the fast tier of another checkout (a git worktree of the
commit to compare with) in every round too, alternated with this one (first in every other
round); the median of the rounds' ratios of the two is printed too, the steadier figure.

Targets (issue 8, two cores): fast >= 20,000 rows/s on 100k rows and >= 25% of the I/O
floor, peak RSS < 1 GB at 1M rows; accurate >= 90% of the encoder, < 1.5 GB per worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPENERS = ["", "", "", "Honestly, ", "I think ", "Well, ", "As I said before, ", "IMO ",
           "To be fair, ", "Look: ", "Agreed with the post. ", "Hmm. "]
CLOSERS = ["", "", "", " Just my two cents.", " Thoughts?", " :)", " Great post.",
           " Or am I wrong?", " Cheers.", " (edited)", " Seen it at three companies now."]

FLOOR = r"""
import json, sys
dumps = json.JSONEncoder(ensure_ascii=False).encode
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "w", encoding="utf-8") as out:
    for line in src:
        if not line.strip():
            continue
        row = json.loads(line)
        row.update(label="neither", confidence=0.5, scores={"a": 0.5, "b": 0.5},
                   evidence={"cues": [], "nearest": []})
        out.write(dumps(row) + "\n")
"""

ENCODER = r"""
import json, sys, time
from nlp.models import encode, load_embedder
texts, contexts = [], []
with open(sys.argv[1], encoding="utf-8") as src:
    for line in src:
        row = json.loads(line)
        texts.append(row["text"])
        if row.get("context"):
            contexts.append(row["context"])
load_embedder()
encode(texts[:64])
start = time.perf_counter()
encode(texts)
encode(contexts)
print(len(texts) / (time.perf_counter() - start))
"""


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def vary(rnd: random.Random, text: str, other: str) -> str:
    """One realistic variation of an annotated statement."""
    words = text.split()
    if len(words) > 6 and rnd.random() < 0.25:
        del words[rnd.randrange(len(words))]
    text = " ".join(words)
    if rnd.random() < 0.2:
        text = f"{text} {other}"
    text = rnd.choice(OPENERS) + text + rnd.choice(CLOSERS)
    if rnd.random() < 0.05:
        text = text.lower()
    if rnd.random() < 0.1:
        text += f" ({rnd.randrange(2, 40)} years in CX)"
    return text


def generate(debate_name: str, rows: int, path: Path, seed: int = 8) -> None:
    from nlp.debate import load_debate

    examples = load_debate(debate_name).examples()
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            e = examples[rnd.randrange(len(examples))]
            other = examples[rnd.randrange(len(examples))].text
            row = {"id": i, "text": vary(rnd, e.text, other), "site": f"forum-{i % 13}",
                   "thread": i // 40}
            if e.context:
                row["context"] = e.context
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                out += [int(c) for c in handle.read().split()]
    except OSError:
        pass
    return out


def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure(command: list[str], env: dict[str, str], cwd: Path
            ) -> tuple[float, float, list[float], float]:
    """Wall time, the main process's peak RSS (MB), its descendants' peaks, and the CPU
    seconds the process and its workers used. ``cwd`` must hold no checkout: ``-m`` and
    ``-c`` put the working directory first on the import path, before ``PYTHONPATH``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                   stderr=err)
        peaks: dict[int, float] = {}
        while process.poll() is None:
            todo = [process.pid]
            while todo:
                pid = todo.pop()
                hwm = _hwm_mb(pid)
                if hwm is not None:
                    peaks[pid] = max(peaks.get(pid, 0.0), hwm)
                todo += _children(pid)
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    main = peaks.pop(process.pid, 0.0)
    return seconds, main, sorted(peaks.values(), reverse=True), cpu


def compile_code(python: str, code: Path) -> None:
    """Byte-compile a checkout's packages, as installing them does."""
    subprocess.run([python, "-m", "compileall", "-q", *(str(code / p) for p in ("kb", "nlp"))],
                   check=True, stdout=subprocess.DEVNULL)


def code_env(env: dict[str, str], code: Path) -> dict[str, str]:
    """``env`` with ``code`` (a checkout of cxkb) first on the import path."""
    rest = env.get("PYTHONPATH", "").split(os.pathsep)[1:]  # the first is ROOT
    return dict(env, PYTHONPATH=os.pathsep.join([str(code), *rest]))


def row_line(name: str, rows: int, seconds: float, floor: float | None = None,
             rss: tuple[float, list[float]] | None = None, cpu: float | None = None) -> str:
    rate = rows / seconds
    text = f"  {name:<34} {rate:>9,.0f} rows/s  ({seconds:6.1f}s"
    text += f", {cpu:6.1f} CPU-s)" if cpu is not None else ")"
    if floor:
        text += f"  {rate / floor:6.1%} of floor"
    if rss:
        main, workers = rss
        text += f"  peak RSS main {main:,.0f} MB"
        if workers:
            text += f", workers {', '.join(f'{w:,.0f}' for w in workers[:4])} MB"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--accurate-rows", default="10k",
                        help="rows for the accurate tier (0 to skip)")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--debate", default="outcome-function")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of the floor and the fast tier (medians printed)")
    parser.add_argument("--baseline-code", default=None,
                        help="another checkout whose fast tier runs in every round too")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    accurate_rows = parse_size(args.accurate_rows)
    worker_counts = [int(w) for w in args.workers.split(",")]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cxkb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    cli = [python, "-m", "kb", "classify", "--debate", args.debate, "--progress", "none"]

    # train (or load) the models first, so no run below includes training
    prepare = ("from nlp.debate import load_debate\n"
               "from nlp.model_store import get_model\n"
               f"d = load_debate({args.debate!r})\n"
               "get_model(d, 'fast'); get_model(d, 'accurate')")
    subprocess.run([python, "-c", prepare], env=env, cwd=work, check=True)
    for code in [ROOT] + ([Path(args.baseline_code)] if args.baseline_code else []):
        compile_code(python, code)
    print(f"bench/classify.py: debate {args.debate}, {os.cpu_count()} CPU(s), "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    try:
        codes = [("", ROOT)] + ([("baseline ", Path(args.baseline_code).resolve())]
                                if args.baseline_code else [])
        for rows in sizes:
            source = work / f"in-{rows}.jsonl"
            generate(args.debate, rows, source)
            size_mb = source.stat().st_size / 1e6
            print(f"\n{rows:,} rows ({size_mb:,.0f} MB JSONL)")
            runs: dict[str, list[tuple[float, float]]] = {}  # name -> (rows/s, share)
            for round_ in range(args.repeat):
                seconds, main_rss, _, cpu = measure(
                    [python, "-c", FLOOR, str(source), str(work / "floor.jsonl")], env, work)
                (work / "floor.jsonl").unlink()  # its unwritten pages go with it
                floor = rows / seconds
                print(row_line("I/O floor (read + write JSONL)", rows, seconds,
                               rss=(main_rss, []), cpu=cpu))
                runs.setdefault("I/O floor", []).append((floor, 1.0))
                # every other round the baseline goes first, so that neither code always
                # runs just after the floor
                for label, code in (codes if round_ % 2 == 0 else codes[::-1]):
                    for workers in worker_counts:
                        name = f"{label}fast tier, {workers} worker(s)"
                        out = work / f"fast-{rows}-{workers}.jsonl"
                        seconds, main_rss, worker_rss, cpu = measure(
                            cli + ["--model", "fast", "--input", str(source), "--output",
                                   str(out), "--workers", str(workers)], code_env(env, code),
                            work)
                        print(row_line(name, rows, seconds, floor, (main_rss, worker_rss),
                                       cpu))
                        runs.setdefault(name, []).append((rows / seconds, rows / seconds / floor))
                        out.unlink()
            if args.repeat > 1:
                print(f"  medians of {args.repeat} runs:")
                for name, found in runs.items():
                    rates = [r for r, _ in found]
                    print(f"    {name:<36} {statistics.median(rates):>9,.0f} rows/s"
                          f"  (range {min(rates):,.0f}-{max(rates):,.0f})"
                          + (f"  {statistics.median(x for _, x in found):6.1%} of floor"
                             if name != "I/O floor" else ""))
                for workers in worker_counts if args.baseline_code else []:
                    mine = runs[f"fast tier, {workers} worker(s)"]
                    theirs = runs[f"baseline fast tier, {workers} worker(s)"]
                    ratios = sorted(a / b for (a, _), (b, _) in zip(mine, theirs))
                    print(f"    this code / baseline, {workers} worker(s): median of the rounds' "
                          f"ratios {statistics.median(ratios):.3f} (range {ratios[0]:.3f}-"
                          f"{ratios[-1]:.3f}; faster in {sum(r > 1 for r in ratios)} of "
                          f"{len(ratios)} rounds)")
            if rows > 100_000 and not args.keep:
                source.unlink()
        if accurate_rows:
            source = work / f"accurate-{accurate_rows}.jsonl"
            generate(args.debate, accurate_rows, source, seed=9)
            print(f"\naccurate tier, {accurate_rows:,} rows")
            done = subprocess.run([python, "-c", ENCODER, str(source)], env=env, cwd=work,
                                  check=True, capture_output=True, text=True)
            encoder = float(done.stdout.strip().splitlines()[-1])
            print(f"  {'raw MiniLM encode (floor)':<34} {encoder:>9,.0f} rows/s")
            seconds, main_rss, worker_rss, cpu = measure(
                cli + ["--model", "accurate", "--input", str(source), "--output",
                       str(work / "accurate.jsonl")], env, work)
            print(row_line("accurate tier, default workers", accurate_rows, seconds,
                           encoder, (main_rss, worker_rss), cpu))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
