"""Scoring comment-thread extraction against the gold set in ``fixtures/web``.

A gold comment is found when an extracted comment's own words (quote lines, which
forums put first, skipped) start like the gold ``starts``; matching is one-to-one, in
order. Author, date, parent, kind and id accuracy are over the found comments; a parent
is right when the extracted parent is the comment matched to the gold parent (or both
are top-level). A page leaks when its article body holds any gold comment's opening
words or any of its ``not_in_body`` phrases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kb.records import DocumentRecord

GOLD_DIR = Path(__file__).parent / "fixtures" / "web"


def norm(text: str | None) -> str:
    return " ".join(re.sub(r"[“”\"'‘’]", "'", text or "").split()).casefold()


def own_words(text: str) -> str:
    lines = [line for line in text.split("\n") if not line.startswith(">")]
    return norm(" ".join(lines))


def load_gold() -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((GOLD_DIR / "gold").glob("*.json"))]


def page_bytes(gold: dict) -> bytes:
    return (GOLD_DIR / "pages" / gold["page"]).read_bytes()


@dataclass
class PageScore:
    page: str
    family: str
    gold: int
    extracted: int
    found: int
    author_ok: int = 0
    date_ok: int = 0
    parent_ok: int = 0
    kind_ok: int = 0
    id_ok: int = 0
    leaks: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    title_ok: bool = False
    article_author_ok: bool = False
    published_ok: bool = False
    body_ok: bool = False


def match(gold_comments: list[dict], extracted: list) -> dict[int, int]:
    """gold index → extracted index, one-to-one, by opening words."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    texts = [own_words(c.text) for c in extracted]
    fulls = [norm(c.text) for c in extracted]
    for g, gold in enumerate(gold_comments):
        start = norm(gold["starts"])
        for e, text in enumerate(texts):
            if e not in used and (text.startswith(start) or fulls[e].startswith(start)):
                pairs[g] = e
                used.add(e)
                break
    return pairs


def score_page(gold: dict, document: DocumentRecord) -> PageScore:
    comments = document.comments
    golds = gold["comments"]
    pairs = match(golds, comments)
    score = PageScore(gold["page"], gold["family"], len(golds), len(comments), len(pairs))
    gid_index = {g["gid"]: i for i, g in enumerate(golds)}
    for g, e in pairs.items():
        want, got = golds[g], comments[e]
        score.author_ok += norm(got.author) == norm(want["author"])
        score.kind_ok += got.kind == want["kind"]
        score.id_ok += (got.external_id or None) == (want["external_id"] or None)
        want_date = want["date"]
        score.date_ok += (got.posted_at or None) == want_date or (
            want_date is not None and got.posted_at is not None
            and len(want_date) == 10 and got.posted_at[:10] == want_date)
        want_parent = gid_index.get(want["parent"]) if want["parent"] else None
        if want_parent is None:
            score.parent_ok += got.parent is None
        else:
            score.parent_ok += got.parent is not None and pairs.get(want_parent) == got.parent
    score.misses = [golds[g]["starts"] for g in range(len(golds)) if g not in pairs]
    body = norm(document.body)
    article = gold["article"]
    score.leaks = [p for p in article.get("not_in_body", []) if norm(p) in body]
    score.leaks += [g["starts"] for g in golds if len(g["starts"]) > 15 and norm(g["starts"]) in body]
    score.title_ok = norm(document.title) == norm(article["title"])
    score.article_author_ok = norm(document.author) == norm(article["author"])
    score.published_ok = (document.published or "")[:10] == (article["published"] or "")
    score.body_ok = body.startswith(norm(article["body_starts"]))
    return score


@dataclass
class Totals:
    pages: int
    gold: int
    extracted: int
    found: int
    author: float
    date: float
    parent: float
    kind: float
    external_id: float
    leak_rate: float
    title: float
    article_author: float
    published: float
    body_start: float

    @property
    def precision(self) -> float:
        return self.found / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0


def totals(scores: list[PageScore]) -> Totals:
    found = sum(s.found for s in scores) or 1
    n = len(scores) or 1
    return Totals(
        pages=len(scores), gold=sum(s.gold for s in scores),
        extracted=sum(s.extracted for s in scores), found=sum(s.found for s in scores),
        author=sum(s.author_ok for s in scores) / found,
        date=sum(s.date_ok for s in scores) / found,
        parent=sum(s.parent_ok for s in scores) / found,
        kind=sum(s.kind_ok for s in scores) / found,
        external_id=sum(s.id_ok for s in scores) / found,
        leak_rate=sum(bool(s.leaks) for s in scores) / n,
        title=sum(s.title_ok for s in scores) / n,
        article_author=sum(s.article_author_ok for s in scores) / n,
        published=sum(s.published_ok for s in scores) / n,
        body_start=sum(s.body_ok for s in scores) / n,
    )
