"""How on-topic a link or a page is, for the focused crawler (``ingest.crawl.Relevance``).

A topic is a debate (its question, label descriptions, topic terms and annotated
examples) or a free-text description. Two scores:

- **before fetching** (``link_scores``): words only, because a page may have a hundred
  links: the topic's weighted terms (a debate's ``topic_terms``, the words and word pairs
  its examples use most) found in the anchor text, the URL's words and the words around
  the link; 0..1, saturating as more terms match.
- **after fetching** (``page_score``): meaning, with the same MiniLM embedder as the rest
  of cxkb: the page's title and its first passages are compared with the topic's texts;
  each passage scores the mean of its 5 best cosine similarities; the page scores its
  best two passages (most of it) and its title. An article that argues the debate in one
  section still scores high; a page that only says "customer" often does not.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from nlp.debate import Debate, DebateError, list_debates, load_debate
from nlp.models import encode

DEFAULT_THRESHOLD = 0.50
MAX_TOPIC_TEXTS = 400
PASSAGE_WORDS = 70
MAX_PASSAGES = 10
TOP_K = 5
_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = ENGLISH_STOP_WORDS | frozenset(
    ["one", "two", "many", "much", "every", "even", "still", "really", "think", "may", "might", "must", "need", "get", "got", "make", "made", "way", "thing", "things", "lot", "new", "like", "well", "said", "says", "say"])


def _tokens(text: str) -> list[str]:
    """Lower-case word tokens, plural ``s`` stripped (``owners`` and ``owner`` match)."""
    return [t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t
            for t in _TOKEN.findall(text.lower())]


class TopicRelevance:
    """Relevance of links and pages to one topic (see the module docstring)."""

    def __init__(self, *, name: str, texts: Sequence[str], terms: dict[str, float],
                 threshold: float = DEFAULT_THRESHOLD, embedder: Any = None,
                 db: Any = None) -> None:
        self.name = name
        self.texts = list(dict.fromkeys(t for t in texts if t.strip()))[:MAX_TOPIC_TEXTS]
        self.terms = terms
        self.threshold = threshold
        self._embedder = embedder
        self._db = db
        self._vectors: np.ndarray | None = None

    # -- construction

    @classmethod
    def for_topic(cls, topic: str | None, *, threshold: float = DEFAULT_THRESHOLD,
                  embedder: Any = None, db: Any = None,
                  debates_dir: str | None = None) -> TopicRelevance:
        """A debate by name (``ownership``); ``topic`` read as a free-text description when
        no debate has that name; every debate together when ``topic`` is None."""
        kwargs = {"threshold": threshold, "embedder": embedder, "db": db}
        if topic is None:
            return cls.from_debates(list_debates(debates_dir), **kwargs)
        if re.fullmatch(r"[\w-]+", topic):
            try:
                return cls.from_debates([load_debate(topic, debates_dir)], **kwargs)
            except DebateError:
                pass
        return cls.from_text(topic, **kwargs)

    @classmethod
    def from_debates(cls, debates: Sequence[Debate], **kwargs: Any) -> TopicRelevance:
        """The subject the debates share: their questions, label descriptions, topic terms
        and (a sample of) their annotated examples."""
        if not debates:
            raise DebateError("no debates to take a crawl topic from")
        examples = [e.text for d in debates for e in d.examples("train")]
        step = max(1, len(examples) // MAX_TOPIC_TEXTS)
        texts = [*(d.question for d in debates),
                 *(label.description for d in debates for label in d.labels),
                 *examples[::step]]
        terms = _frequent_terms(examples)
        for term in (t for d in debates for t in (*d.topic_terms, *_phrases(d.question))):
            term = " ".join(_tokens(term))
            terms[term] = max(terms.get(term, 0.0), _given_weight(term))
        return cls(name=", ".join(d.name for d in debates), texts=texts, terms=terms,
                   **kwargs)

    @classmethod
    def from_text(cls, text: str, **kwargs: Any) -> TopicRelevance:
        terms = {term: _given_weight(term) for term in _phrases(text)}
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        return cls(name=text[:60], texts=[text, *sentences], terms=terms, **kwargs)

    # -- scores

    def link_scores(self, texts: Sequence[str]) -> list[float]:
        """0..1 per text (anchor, URL words, context): weighted topic terms it contains."""
        scores = []
        for text in texts:
            tokens = _tokens(text)
            present = set(tokens) | {f"{a} {b}" for a, b in itertools.pairwise(tokens)}
            weight = sum(w for term, w in self.terms.items() if term in present)
            scores.append(round(1.0 - math.exp(-weight), 4))
        return scores

    def page_score(self, title: str, text: str) -> float:
        """0..1: how close the page's title and best passages come to the topic's texts."""
        passages = _passages(text)
        if not passages and not title.strip():
            return 0.0
        vectors = encode([title or passages[0], *passages], self._embedder)
        similarity = vectors @ self._topic_vectors().T
        k = min(TOP_K, similarity.shape[1])
        per_text = np.sort(similarity, axis=1)[:, -k:].mean(axis=1)
        title_score = float(per_text[0])
        best = np.sort(per_text[1:])[-2:] if len(per_text) > 1 else per_text[:1]
        return float(np.clip(0.35 * title_score + 0.65 * float(best.mean()), 0.0, 1.0))

    def _topic_vectors(self) -> np.ndarray:
        if self._vectors is None:
            if self._db is not None:
                from nlp.embeddings import cached_embeddings

                self._vectors, _ = cached_embeddings(self._db, self.texts,
                                                     embedder=self._embedder)
            else:
                self._vectors = encode(self.texts, self._embedder)
        return self._vectors


def _given_weight(term: str) -> float:
    """A term the topic names: a word pair is telling (1.0), a single word less so (0.5)."""
    return 1.0 if " " in term else 0.5


def _phrases(text: str) -> list[str]:
    """The content words of a description, and its adjacent content-word pairs."""
    tokens = [t for t in _tokens(text) if t not in _STOP and len(t) > 1]
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def _frequent_terms(examples: Sequence[str], top: int = 60) -> dict[str, float]:
    """Words and word pairs found in many examples, weighted by how many (0.15..0.6)."""
    df: Counter[str] = Counter()
    for example in examples:
        tokens = [t for t in _tokens(example) if t not in _STOP and len(t) > 1]
        df.update(set(tokens) | {f"{a} {b}" for a, b in itertools.pairwise(tokens)})
    if not df:
        return {}
    most = df.most_common(top)
    peak = most[0][1]
    return {term: round(0.15 + 0.45 * n / peak, 3) for term, n in most if n >= 3}


def _passages(text: str) -> list[str]:
    """The text in passages of about ``PASSAGE_WORDS`` words, paragraphs kept whole where
    they fit; the first ``MAX_PASSAGES``."""
    passages: list[str] = []
    current: list[str] = []
    for paragraph in (p.strip() for p in text.split("\n")):
        if not paragraph:
            continue
        words = paragraph.split()
        while words:
            room = PASSAGE_WORDS - len(current)
            current += words[:room]
            words = words[room:]
            if len(current) >= PASSAGE_WORDS:
                passages.append(" ".join(current))
                current = []
        if len(current) >= PASSAGE_WORDS // 2:
            passages.append(" ".join(current))
            current = []
        if len(passages) >= MAX_PASSAGES:
            break
    if current and len(passages) < MAX_PASSAGES:
        passages.append(" ".join(current))
    return passages[:MAX_PASSAGES]
