"""CPU time per row of the fast tier's ``label_chunk`` in two checkouts, run in lockstep.

    python bench/classify_pair.py --baseline-code DIR [--input FILE | --rows 30k]
                                  [--rounds 15] [--debate outcome-function]

This machine's speed drifts by 10-50% over seconds to minutes, so two runs of
``bench/classify.py`` one after the other can disagree by more than a change is worth.
Here each checkout labels the same chunks in its own process (started from a neutral
folder, with the checkout first on the import path), both warmed up first (every chunk
labelled once, as a worker is after its first chunk), and the two take turns chunk by
chunk, which goes first alternating, so a slow spell falls on both. Printed: each one's
median CPU µs per row and the median of the per-chunk ratios, with how often this
checkout was the faster.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import sys, time
from nlp.batch_io import plan_shards, read_chunks
from nlp.batch_run import columns_for, keep_freed_memory
from nlp.batch_work import Options, label_chunk
from nlp.debate import load_debate
from nlp.model_store import get_model

keep_freed_memory()
options = Options(debate=sys.argv[2])
model = get_model(load_debate(options.debate), "fast").warm()
shard = plan_shards([sys.argv[1]], sys.argv[3])[0][0]
chunks = list(read_chunks(shard, options.chunk, options.max_row_bytes))
columns = columns_for(shard, options)
for chunk in chunks:
    label_chunk(model, chunk, shard, options, columns)
print(len(chunks), flush=True)
for line in sys.stdin:
    chunk = chunks[int(line)]
    start = time.process_time()
    label_chunk(model, chunk, shard, options, columns)
    print(f"{time.process_time() - start} {len(chunk)}", flush=True)
"""


def start(code: Path, source: Path, debate: str, work: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(code), HF_HUB_OFFLINE="1",
               TRANSFORMERS_OFFLINE="1")
    return subprocess.Popen([sys.executable, "-c", CHILD, str(source), debate,
                             str(work / f"out-{code.name}.jsonl")], env=env, cwd=work,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def main() -> None:
    from classify import generate, parse_size  # bench/classify.py

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-code", required=True)
    parser.add_argument("--input", default=None, help="a JSONL file (default: generated)")
    parser.add_argument("--rows", default="30k")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--debate", default="outcome-function")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cxkb-pair-") as tmp:
        work = Path(tmp)
        source = Path(args.input).resolve() if args.input else work / "in.jsonl"
        if not args.input:
            generate(args.debate, parse_size(args.rows), source)
        codes = {"this code": ROOT, "baseline": Path(args.baseline_code).resolve()}
        procs = {name: start(code, source, args.debate, work) for name, code in codes.items()}
        per_row: dict[str, list[float]] = {name: [] for name in procs}
        ratios = []
        try:
            counts = {int(p.stdout.readline()) for p in procs.values()}
            if len(counts) != 1:
                raise SystemExit(f"the checkouts read different chunks: {counts}")
            chunks = counts.pop()
            for round_ in range(args.rounds):
                for index in range(chunks):
                    order = list(procs) if (round_ + index) % 2 == 0 else list(procs)[::-1]
                    found = {}
                    for name in order:
                        procs[name].stdin.write(f"{index}\n")
                        procs[name].stdin.flush()
                        seconds, rows = procs[name].stdout.readline().split()
                        found[name] = float(seconds) / int(rows) * 1e6
                        per_row[name].append(found[name])
                    ratios.append(found["baseline"] / found["this code"])
        finally:
            for proc in procs.values():
                proc.stdin.close()
                proc.wait()
    print(f"{source.name}: {chunks} chunk(s) x {args.rounds} round(s), CPU µs per row "
          f"of label_chunk, warm")
    for name, values in per_row.items():
        print(f"  {name:<10} median {statistics.median(values):6.1f}  "
              f"(range {min(values):.1f}-{max(values):.1f})")
    print(f"  baseline / this code: median of the chunks' ratios "
          f"{statistics.median(ratios):.3f}; this code faster in "
          f"{sum(r > 1 for r in ratios)} of {len(ratios)}")


if __name__ == "__main__":
    main()
