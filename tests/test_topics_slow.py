"""The default topic pipeline on a corpus big enough for UMAP + HDBSCAN (the annotated
statements, about 1,500): a few dozen topics, few outliers after reduction, readable
labels, and a refit that keeps the ids. Slow: UMAP compiles with numba on first use."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.db import open_db
from kb.topics import list_topics
from nlp.topics import SMALL_CORPUS, fit_topics

pytestmark = pytest.mark.slow


def test_umap_hdbscan_on_the_annotated_corpus(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from topics import build_db, corpus  # bench/topics.py builds the same statements

    texts = corpus(1500)
    build_db(tmp_path / "kb.db", texts)
    db = open_db(tmp_path / "kb.db")
    report = fit_topics(db)
    assert report["unique_texts"] > SMALL_CORPUS
    assert report["stages"].startswith("umap")
    assert 5 <= report["topics"] <= 80
    assert report["outliers"] < 0.1 * len(texts)
    topics = list_topics(db, include_outliers=False)
    assert all(t["label"] and len(t["representative"]) == 3 for t in topics)
    again = fit_topics(db)
    assert again["embedded_now"] == 0
    assert len(again["kept"]) >= 0.8 * report["topics"]
