"""Throughput of stance classification, against baselines measured in the same run.

    python bench/bench_classify.py [--rows 20000] [--debate outcome-function]

Prints rows/s for: the fast tier through ``cxkb classify``'s file path (JSONL in, JSONL
out, cue evidence), the fast tier's bare TF-IDF + logistic regression (the baseline it
should approach), the accurate tier, and the raw MiniLM encoder (the accurate tier's
baseline). Texts are the debate's annotated statements, repeated.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from nlp.batch import classify_file
from nlp.debate import load_debate
from nlp.model_store import get_model
from nlp.models import encode
from nlp.textprep import clean_text


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f} rows/s  ({seconds:.2f}s for {n:,})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--accurate-rows", type=int, default=1000)
    parser.add_argument("--debate", default="outcome-function")
    args = parser.parse_args()
    debate = load_debate(args.debate)
    base = [e.text for e in debate.examples()]
    texts = (base * (args.rows // len(base) + 1))[:args.rows]
    fast = get_model(debate, "fast")
    accurate = get_model(debate, "accurate")
    accurate.predict(base[:8], evidence="none")  # load the encoder before timing anything

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.jsonl"
        source.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                                  for i, t in enumerate(texts)), "utf-8")
        start = time.perf_counter()
        summary = classify_file(fast, source, Path(tmp) / "out.jsonl", evidence="cues")
        fast_file = time.perf_counter() - start
        assert summary.labelled == len(texts)

    start = time.perf_counter()
    cleaned = [clean_text(t) for t in texts]
    features = fast.features.transform(cleaned, [None] * len(cleaned),
                                       fast.cues.features(fast.cues.match(cleaned)))
    fast.sparse_clf.predict_proba(features)
    bare = time.perf_counter() - start

    small = texts[:args.accurate_rows]
    start = time.perf_counter()
    accurate.predict(small, evidence="none")
    accurate_s = time.perf_counter() - start
    start = time.perf_counter()
    encode(small)
    encoder = time.perf_counter() - start

    print(f"debate {args.debate}; fast model {fast.version}; accurate model {accurate.version}")
    print(f"fast tier, file in/out with cue evidence: {rate(len(texts), fast_file)}")
    print(f"baseline: bare cues + TF-IDF + LR        : {rate(len(texts), bare)}")
    print(f"  fast file path / baseline              : {bare / fast_file:.2f}")
    print(f"accurate tier, in memory                  : {rate(len(small), accurate_s)}")
    print(f"baseline: raw MiniLM encode               : {rate(len(small), encoder)}")
    print(f"  accurate / raw encoder                  : {encoder / accurate_s:.2f}")


if __name__ == "__main__":
    main()
