"""``cxkb analyze``: the one incremental analysis run over the knowledge base.

Splits new or changed text into statements, finds replies and agreement between
commenters, then labels new statements in every debate and recomputes the positions of
comments, documents and people. Each stage is a public function that can run alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlite_utils import Database

from nlp.debate import Debate, list_debates, load_debate
from nlp.model_store import get_model
from nlp.positions import analyse_debate
from nlp.relations import extract_thread_relations
from nlp.statements import segment_knowledge_base


def analyze(db: Database, *, debates: Sequence[str] = (), tier: str = "accurate",
            debates_dir: str | None = None, models_root: str | None = None,
            progress: Callable[[str], None] | None = None,
            with_topics: bool = True) -> dict[str, Any]:
    """Run every analysis on what is not analysed yet; return counts per stage: statements,
    relations, stance labels and positions per debate, and topics (fitted if there is no
    topic model yet, else new statements are placed in the existing topics)."""
    start = time.perf_counter()
    report: dict[str, Any] = {"statements": segment_knowledge_base(db, progress=progress)}
    report["relations"] = extract_thread_relations(db)
    chosen: list[Debate] = ([load_debate(name, debates_dir) for name in debates]
                            if debates else list_debates(debates_dir))
    report["debates"] = {}
    for debate in chosen:
        if not debate.examples("train"):
            if progress:
                progress(f"{debate.name}: no annotated examples, skipped")
            continue
        model = get_model(debate, tier, models_root)
        report["debates"][debate.name] = {"model": model.version,
                                          **analyse_debate(db, debate, model,
                                                           progress=progress)}
    if with_topics and db.execute("SELECT count(*) FROM statements").fetchone()[0]:
        from nlp.topics import update_topics

        report["topics"] = update_topics(db, progress=progress)
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report
