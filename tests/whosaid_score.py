"""Precision and recall of who-said-what on the fixture pages in ``fixtures/whosaid``.

Used by ``test_who_fixtures.py``; run it directly to print the table:

    python tests/whosaid_score.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ingest.demo_corpus import DEMO_CORPUS_DIR
from ingest.pipeline import ingest
from kb.db import open_db
from kb.people import name_key
from nlp.relations import extract_thread_relations
from nlp.statements import segment_knowledge_base

FIXTURES = Path(__file__).parent / "fixtures" / "whosaid"
SEEDS = {"seed_000.who.json": DEMO_CORPUS_DIR / "temkin_whos_leading_cx_efforts.txt",
         "seed_002.who.json": DEMO_CORPUS_DIR / "crm_magazine_whos_responsible_for_cx.txt"}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.misses += other.misses


def _same(a: str | None, b: str | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None
                                         and name_key(a) == name_key(b))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _occurrences(text: str, needle: str) -> list[int]:
    out, start = [], text.find(needle)
    while start >= 0:
        out.append(start)
        start = text.find(needle, start + 1)
    return out


def page_path(expected_file: Path) -> Path:
    return SEEDS.get(expected_file.name) or FIXTURES / json.loads(
        expected_file.read_text("utf-8"))["page"]


def score_page(expected_file: Path) -> dict[str, Score]:
    expected = json.loads(expected_file.read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "kb.db")
        report = ingest(db, [str(page_path(expected_file))])
        assert not report.failures, report.summary()
        segment_knowledge_base(db)
        extract_thread_relations(db)
        texts = [(f"d:{r['id']}", r["body"]) for r in db.query("SELECT id, body FROM documents")]
        texts += [(f"c:{r['id']}", r["text"]) for r in db.query("SELECT id, text FROM comments")]
        statements = list(db.query(
            "SELECT coalesce('d:' || document_id, 'c:' || comment_id) AS parent, start,"
            " \"end\", kind, speaker, text FROM statements"))
        relations = {(r["kind"], name_key(r["source_name"] or ""), name_key(r["target_name"] or ""))
                     for r in db.query("SELECT * FROM relations")}
        figures = [r["value"] for r in db.query("SELECT value FROM figures")]
    speakers = Score()
    wanted = []  # (parent, span, speaker, text, entry number): every place the text occurs
    entries = expected.get("quotes", []) + expected.get("reported", [])
    for number, entry in enumerate(entries):
        where = [(parent, m) for parent, text in texts
                 for m in _occurrences(text, entry["text"])]
        if not where:
            speakers.fn += 1
            speakers.misses.append(f"text not found: {entry['text'][:50]}")
            continue
        for parent, start in where:
            wanted.append((parent, (start, start + len(entry["text"])), entry["speaker"],
                           entry["text"], number))
    attributed = [s for s in statements if s["kind"] in ("quote", "reported")]
    matched_wanted: set[int] = set()
    for s in attributed:
        span = (s["start"], s["end"])
        hits = [i for i, (parent, w, _sp, _t, _n) in enumerate(wanted)
                if parent == s["parent"] and _overlap(span, w) >= 0.5 * min(w[1] - w[0],
                                                                            span[1] - span[0])]
        good = [i for i in hits if _same(wanted[i][2], s["speaker"])]
        if good:
            speakers.tp += 1
            matched_wanted.update(wanted[i][4] for i in good)
        else:
            speakers.fp += 1
            speakers.misses.append(f"wrong or unexpected: {s['speaker']!r} for "
                                   f"{s['text'][:50]!r}")
    for number in sorted({w[4] for w in wanted} - matched_wanted):
        places = [w for w in wanted if w[4] == number]
        speaker, text = places[0][2], places[0][3]
        # a quote left with its commenter or author is right when it is theirs
        own = [s for s in statements for parent, span, *_ in places if s["parent"] == parent
               and _overlap((s["start"], s["end"]), span) > 0 and _same(s["speaker"], speaker)]
        if own:
            continue
        speakers.fn += 1
        speakers.misses.append(f"missed: {speaker!r} for {text[:50]!r}")
    rel = Score()
    want_rel = {(r["kind"], name_key(r["source"] or ""), name_key(r["target"] or ""))
                for r in expected.get("relations", [])}
    rel.tp = len(want_rel & relations)
    rel.fp = len(relations - want_rel)
    rel.fn = len(want_rel - relations)
    rel.misses = [f"missed relation {r}" for r in sorted(want_rel - relations)] + \
        [f"extra relation {r}" for r in sorted(relations - want_rel)]
    fig = Score()
    want_fig = [f["value"] for f in expected.get("figures", [])]
    left = list(figures)
    for value in want_fig:
        hit = next((f for f in left if value.lower() in f.lower() or f.lower() in value.lower()),
                   None)
        if hit is None:
            fig.fn += 1
            fig.misses.append(f"missed figure {value}")
        else:
            fig.tp += 1
            left.remove(hit)
    fig.fp = len(left)
    fig.misses += [f"extra figure {f}" for f in left]
    return {"speakers": speakers, "relations": rel, "figures": fig}


def score_all() -> dict[str, dict[str, Score]]:
    return {path.name: score_page(path) for path in sorted(FIXTURES.glob("*.who.json"))}


def main() -> None:
    results = score_all()
    totals = {k: Score() for k in ("speakers", "relations", "figures")}
    print(f"{'page':<26}{'speaker P':>10}{'R':>6}{'relation P':>12}{'R':>6}{'figure P':>10}"
          f"{'R':>6}")
    for name, scores in results.items():
        for k, v in scores.items():
            totals[k].add(v)
        print(f"{name:<26}" + "".join(
            f"{scores[k].precision:>{w}.2f}{scores[k].recall:>6.2f}"
            for k, w in (("speakers", 10), ("relations", 12), ("figures", 10))))
    print(f"{'all':<26}" + "".join(f"{totals[k].precision:>{w}.2f}{totals[k].recall:>6.2f}"
                                   for k, w in (("speakers", 10), ("relations", 12),
                                                ("figures", 10))))
    if "-v" in sys.argv:
        for name, scores in results.items():
            for k, v in scores.items():
                for miss in v.misses:
                    print(f"  {name} {k}: {miss}")


if __name__ == "__main__":
    main()
