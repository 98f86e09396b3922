"""CPU time per row of each stage of the fast tier on a JSONL file, in one process.

    python bench/classify_stages.py [--rows 100k] [--input FILE] [--repeat 3]
                                    [--evidence cues] [--debate outcome-function]

Wall-clock rates depend on what else the machine runs; CPU time (``time.process_time``)
much less, so this is the figure to compare versions with. Each repeat starts from a cold
model (as a fresh worker does: no word learnt yet) and runs the stages of ``label_chunk``
one after the other over the file's chunks of 5,000 rows; then ``label_chunk`` itself;
the minimum over the repeats is printed. "output" is ``label_chunk`` less the stages
before it: building the JSON lines (and, within it, the evidence).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from classify import generate, parse_size  # bench/classify.py

from nlp.batch_io import plan_shards, read_chunks
from nlp.batch_work import Options, label_chunk, parse_chunk
from nlp.debate import load_debate
from nlp.model_store import get_model
from nlp.stance import CONTEXT_WEIGHT, _softmax
from nlp.textprep import clean_texts

STAGES = ("parse", "clean", "units", "checks", "cues", "tfidf word", "tfidf char",
          "tfidf context", "classifier", "neighbours")


def cold(model) -> None:
    """Forget everything worked out since loading (as in a new worker)."""
    model.features.__dict__.pop("_fast", None)
    model.features.__dict__.pop("_lexicon", None)
    for name in ("_example_split", "_coef_blocks"):
        model.__dict__.pop(name, None)


def stages(model, chunks, shard, options) -> dict[str, float]:
    from scipy import sparse

    spent = dict.fromkeys(STAGES, 0.0)
    cues = model.cues
    for chunk in chunks:
        t = time.process_time()

        def lap(name: str) -> None:
            nonlocal t
            now = time.process_time()
            spent[name] += now - t
            t = now

        records = parse_chunk(chunk, options)
        rows = [row for _, row, error, _ in records if error is None]
        lap("parse")
        texts = clean_texts([row[options.text_field] for row in rows])
        contexts = clean_texts([row.get(options.context_field) for row in rows])
        lap("clean")
        units = model.features.lexicon(cues.filter_words).split(texts)
        lap("units")
        _ = units.has_words() & units.english(texts)
        lap("checks")
        found = cues.features(cues.match(texts, units.cue_words()))
        lap("cues")
        words = units.word_tfidf()
        lap("tfidf word")
        chars = units.char_tfidf()
        lap("tfidf char")
        context = CONTEXT_WEIGHT * model.features._fast_transforms()[2].transform(contexts)
        lap("tfidf context")
        p = model._sparse_proba([words, chars, context, sparse.csr_matrix(found)],
                                len(model.labels))
        _softmax(np.log(np.clip(p, 1e-9, 1.0)), model.temperature)
        lap("classifier")
        if options.evidence != "none":
            model._neighbours(words, None, 3, texts)
        lap("neighbours")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100k")
    parser.add_argument("--input", default=None, help="a JSONL file (default: generated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--evidence", default="cues", choices=["none", "cues", "full"])
    parser.add_argument("--debate", default="outcome-function")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cxkb-stages-"))
    try:
        source = Path(args.input) if args.input else work / "in.jsonl"
        if not args.input:
            generate(args.debate, parse_size(args.rows), source)
        options = Options(args.debate, evidence=args.evidence)
        shard = plan_shards([source], work / "out.jsonl")[0][0]
        chunks = list(read_chunks(shard, options.chunk, options.max_row_bytes))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    model = get_model(load_debate(args.debate), "fast")
    n = sum(len(c) for c in chunks)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        cold(model)
        spent = stages(model, chunks, shard, options)
        cold(model)
        start = time.process_time()
        for chunk in chunks:
            label_chunk(model, chunk, shard, options, [])
        spent["label_chunk"] = time.process_time() - start
        for name, seconds in spent.items():
            best[name] = min(best.get(name, np.inf), seconds)
    print(f"{n:,} rows of {source.name}, evidence {args.evidence}: CPU µs per row "
          f"(min of {args.repeat})")
    for name in STAGES:
        print(f"  {name:<16} {best[name] / n * 1e6:7.1f}")
    before = sum(best[name] for name in STAGES)
    print(f"  {'output':<16} {(best['label_chunk'] - before) / n * 1e6:7.1f}")
    print(f"  {'label_chunk':<16} {best['label_chunk'] / n * 1e6:7.1f}")


if __name__ == "__main__":
    main()
