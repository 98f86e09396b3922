"""Topic fitting: time, peak memory and coherence, against plain BERTopic in the same run.

    python bench/topics.py [--sizes 1000 10000 50000]

For each size, statements are built from the annotated corpus (single statements, then
pairs of them, so every text differs) and written to a fresh SQLite file. Each
measurement runs in its own process (so peak RSS is that measurement's):

* ``cold, uncached``: a new process, nothing embedded yet (imports, model load, numba
  compilation and embedding all counted);
* ``warm, cached``: the same process fitting again with every embedding cached (the
  issue's target: 10k statements under 30 s on 2 cores);
* ``cold, cached``: a new process, embeddings cached;
* ``plain BERTopic``: ``BERTopic(embedding_model=MiniLM)`` with its defaults on the same
  texts and the same embeddings (the baseline), in the cold-cached process.

Coherence is NPMI of each topic's top 10 content words (stop words skipped for both
models) over the statements (document co-occurrence), averaged over topics; higher is
better (-1..1).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import random
import re
import resource
import tempfile
import time
from itertools import combinations
from pathlib import Path


def corpus(n: int, seed: int = 7) -> list[str]:
    from nlp.debate import list_debates

    base = sorted({e.text for d in list_debates() for e in d.examples()})
    rng = random.Random(seed)
    texts = list(base[:n])
    seen = set(texts)
    while len(texts) < n:
        text = f"{rng.choice(base)} {rng.choice(base)}"
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


def build_db(path: Path, texts: list[str]) -> None:
    from kb.db import open_db, utc_now
    from kb.records import DocumentRecord, SourceRecord
    from kb.store import store_source

    db = open_db(path)
    store_source(db, SourceRecord(locator="bench:topics", kind="stdin", content_hash="b" * 64),
                 [DocumentRecord(title="bench", body="bench")])
    doc = db.execute("SELECT id FROM documents").fetchone()[0]
    now = utc_now()
    with db.conn:
        db["statements"].insert_all(
            ({"id": f"b{i}", "document_id": doc, "start": 0, "end": len(t), "text": t,
              "kind": "narration", "method": "bench", "created_at": now}
             for i, t in enumerate(texts)), batch_size=2000)
    db.close()


def npmi(topics: list[list[str]], texts: list[str], top: int = 10) -> float:
    """Mean NPMI of each topic's top content words (English stop words do not count: they
    co-occur everywhere and would flatter a model that keeps them)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    docs = [set(re.findall(r"[a-z][a-z'-]+", t.lower())) - ENGLISH_STOP_WORDS for t in texts]
    n = len(docs)
    index: dict[str, set[int]] = {}
    for i, words in enumerate(docs):
        for w in words:
            index.setdefault(w, set()).add(i)
    scores = []
    for keywords in topics:
        words = []
        for k in keywords:
            for w in k.split():
                if w in index and w not in words:
                    words.append(w)
        words = words[:top]
        pairs = []
        for a, b in combinations(words, 2):
            pa, pb = len(index[a]) / n, len(index[b]) / n
            pab = len(index[a] & index[b]) / n
            if pab == 0:
                pairs.append(-1.0)
            elif pab == 1:
                pairs.append(1.0)
            else:
                pairs.append(math.log(pab / (pa * pb)) / -math.log(pab))
        if pairs:
            scores.append(sum(pairs) / len(pairs))
    return sum(scores) / len(scores) if scores else float("nan")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fit(path: str, twice: bool, baseline: bool, queue) -> None:
    from kb.db import open_db
    from nlp.topics import fit_topics

    out = {}
    db = open_db(path)
    start = time.perf_counter()
    report = fit_topics(db)
    out["first"] = {"seconds": time.perf_counter() - start, "embedded": report["embedded_now"],
                    "topics": report["topics"], "outliers": report["outliers"],
                    "stages": report["stages"], "peak_mib": _peak_mib()}
    texts = [r["text"] for r in db.query("SELECT text FROM statements ORDER BY rowid")]
    keywords = [json.loads(r["keywords"]) for r in db.query(
        "SELECT keywords FROM topics WHERE status = 'active' AND id != -1")]
    out["first"]["npmi"] = npmi(keywords, texts)
    if twice:
        start = time.perf_counter()
        fit_topics(db)
        out["warm"] = {"seconds": time.perf_counter() - start, "peak_mib": _peak_mib()}
    if baseline:
        from bertopic import BERTopic

        from nlp.embeddings import cached_embeddings
        from nlp.models import load_embedder

        vectors, _ = cached_embeddings(db, texts)
        start = time.perf_counter()
        model = BERTopic(embedding_model=load_embedder())
        topics, _ = model.fit_transform(texts, embeddings=vectors)
        plain = [[w for w, _ in model.get_topic(t)] for t in set(topics) if t != -1]
        out["plain"] = {"seconds": time.perf_counter() - start, "topics": len(plain),
                        "outliers": sum(1 for t in topics if t == -1),
                        "npmi": npmi(plain, texts), "peak_mib": _peak_mib()}
    queue.put(out)


def measure(path: Path, twice: bool, baseline: bool) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_fit, args=(str(path), twice, baseline, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            build_db(path, corpus(n))
            cold = measure(path, twice=True, baseline=False)
            cached = measure(path, twice=False, baseline=True)
        rows.append((n, cold, cached))
        first, warm, again, plain = cold["first"], cold["warm"], cached["first"], cached["plain"]
        print(f"\n{n:,} statements ({first['stages']})")
        print(f"  cxkb cold, uncached : {first['seconds']:7.1f}s  peak {first['peak_mib']:6.0f} MiB"
              f"  topics {first['topics']:3}  outliers {first['outliers']:5}"
              f"  NPMI {first['npmi']:+.3f}")
        print(f"  cxkb warm, cached   : {warm['seconds']:7.1f}s  peak {warm['peak_mib']:6.0f} MiB")
        print(f"  cxkb cold, cached   : {again['seconds']:7.1f}s  peak {again['peak_mib']:6.0f} MiB")
        print(f"  plain BERTopic      : {plain['seconds']:7.1f}s  (same embeddings)"
              f"  topics {plain['topics']:3}  outliers {plain['outliers']:5}"
              f"  NPMI {plain['npmi']:+.3f}")


if __name__ == "__main__":
    main()
