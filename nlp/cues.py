"""Cue patterns of a debate: the words that justify a label ("is an outcome", "not a
department"), found in text with their character spans.

Debate files write cues in a compact token syntax (see ``nlp/debates/*.toml``), which is
compiled to one regular expression per cue. A batch of texts is matched at once: each
cue's expression scans the batch joined by newlines (which no expression crosses) in one
call, starting with its first word: tens of thousands of texts a second, so the fast tier
can use cues on batch files. A cue written as a list of spaCy token patterns
(for lemmas, parts of speech, dependency-free token attributes) runs on spaCy's
``Matcher`` instead, loading the English pipeline only when a debate asks for one.
Each match reports whether a negation precedes it, so "CX is not a function" does not
count as a plain ``function`` cue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlp.debate import Debate

NEGATIONS = frozenset({"not", "n't", "never", "no", "nor", "hardly", "cannot"})
MAX_CUE_COUNT = 3
NEGATION_WINDOW = 3  # tokens before a cue that a negation still applies to
_WORDS_BEFORE = re.compile(r"n't|[\w']+")
_CLOSE = r"(?=n't|[^\w]|$)"     # a word token ends here, or where a contraction begins
_PUNCT = r"[^\w\s]{0,2}"         # quotes and brackets around a token: “function”
_BLANK = r"[^\S\n]"              # white space, but not the newline between batch texts
_SEP = _PUNCT + _BLANK + "*"      # between tokens: "don't" is "do" + "n't", no space
_ANY = r"(?:[^\s]+" + _BLANK + "+)"  # one wildcard token


@dataclass(frozen=True)
class CueMatch:
    label: str
    pattern: str
    start: int  # character offsets into the text
    end: int
    text: str
    negated: bool

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "pattern": self.pattern, "start": self.start,
                "end": self.end, "text": self.text, "negated": self.negated}


def _word_regex(word: str) -> str:
    """The word, not inside a longer word: the check that no word character precedes it
    comes after the word itself, so the expression starts with a literal."""
    opens = word[:1].isalnum() and not word.startswith("n't")
    literal = re.escape(word)
    return (literal + (f"(?<![\\w']{literal})" if opens else "")
            + (_CLOSE if word[-1:].isalnum() else ""))


def anchor_words(cue: str) -> tuple[str, ...]:
    """Words one of which a text must contain for the cue to match: the alternatives of
    its most selective token (a cheap filter before the regular expression)."""
    tokens = [p.split("|") for p in cue.lower().split() if p not in ("?", "*")]
    best = max(tokens, key=lambda words: min(len(w) for w in words))
    return tuple(best)


def compile_cue(cue: str) -> tuple[re.Pattern[str], bool]:
    """A regular expression for a compact cue, and whether the cue names a negation."""
    regex = ""
    wildcards = ""
    has_negation = False
    for part in cue.lower().split():
        if part in ("?", "*"):
            wildcards += _ANY + ("?" if part == "?" else "{0,3}")
            continue
        words = sorted(part.split("|"), key=len, reverse=True)
        has_negation |= bool(set(words) & NEGATIONS)
        token = "(?:" + "|".join(_word_regex(w) for w in words) + ")"
        # quotes may open a token, except the first: spans are trimmed to words anyway
        regex = token if not regex else regex + _SEP + wildcards + _PUNCT + token
        wildcards = ""
    return re.compile(regex), has_negation


def _negated(lower: str, start: int, end: int, names_negation: bool) -> bool:
    before = _WORDS_BEFORE.findall(lower[max(0, start - 60):start])[-NEGATION_WINDOW:]
    inside = [] if names_negation else _WORDS_BEFORE.findall(lower[start:end])
    return any(w in NEGATIONS or w.endswith("n't") for w in before + inside)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span to begin and end on a word character."""
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not (text[end - 1].isalnum() or text[end - 1] == "'"):
        end -= 1
    return start, end


class CueMatcher:
    """Find a debate's cues in texts; ``features`` turns matches into per-label counts."""

    def __init__(self, debate: Debate) -> None:
        self.labels = debate.label_names
        self._regexes: list[tuple[str, str, re.Pattern[str], bool, tuple[str, ...]]] = []
        self._token_patterns: list[tuple[str, str, list[dict]]] = []
        for label in debate.labels:
            for cue in label.cues:
                if isinstance(cue, str):
                    regex, names_negation = compile_cue(cue)
                    self._regexes.append((label.name, cue, regex, names_negation,
                                          anchor_words(cue)))
                else:
                    self._token_patterns.append((label.name, repr(list(cue)), list(cue)))
        self._spacy: tuple[Any, Any] | None = None

    def _spacy_matches(self, texts: list[str]) -> list[list[tuple[str, str, int, int]]]:
        if self._spacy is None:
            from spacy.matcher import Matcher

            from nlp.models import load_spacy

            nlp = load_spacy(disable=("ner", "parser"))
            matcher = Matcher(nlp.vocab)
            for number, (_label, _shown, pattern) in enumerate(self._token_patterns):
                matcher.add(str(number), [pattern])
            self._spacy = (nlp, matcher)
        nlp, matcher = self._spacy
        out = []
        for doc in nlp.pipe(texts, batch_size=256):
            found = []
            for match_id, start, end in matcher(doc):
                label, shown, _ = self._token_patterns[int(nlp.vocab.strings[match_id])]
                span = doc[start:end]
                found.append((label, shown, span.start_char, span.end_char))
            out.append(found)
        return out

    def match(self, texts: Iterable[str]) -> list[list[CueMatch]]:
        """The cues found in each text, in text order; a cue inside a longer cue of the
        same label is not counted twice."""
        texts = list(texts)
        extra = self._spacy_matches(texts) if self._token_patterns else None
        lowers = [t.lower().replace("’", "'").replace("\n", " ") for t in texts]
        raw: dict[int, list[tuple[str, str, int, int, bool]]] = {}
        if lowers and self._regexes:
            joined = "\n".join(lowers)
            starts = np.cumsum([0] + [len(x) + 1 for x in lowers[:-1]])
            for label, shown, regex, names_negation, _anchors in self._regexes:
                found = [(m.start(), m.end()) for m in regex.finditer(joined)]
                if not found:
                    continue
                where = np.searchsorted(starts, [a for a, _ in found], side="right") - 1
                for row, (a, b) in zip(where.tolist(), found):
                    offset = int(starts[row])
                    start, end = _trim(lowers[row], a - offset, b - offset)
                    if end > start:
                        raw.setdefault(row, []).append((label, shown, start, end,
                                                        names_negation))
        if extra:
            for row, more in enumerate(extra):
                if more:
                    raw.setdefault(row, []).extend(
                        (label, shown, a, b, False) for label, shown, a, b in more)
        results: list[list[CueMatch]] = [[] for _ in texts]
        for row, hits in raw.items():
            text, lower = texts[row], lowers[row]
            hits.sort(key=lambda r: (r[2] - r[3], r[2]))  # longest first
            found_here: list[CueMatch] = []
            for label, shown, start, end, names_negation in hits:
                if any(m.label == label and m.start < end and start < m.end
                       for m in found_here):
                    continue
                found_here.append(CueMatch(label, shown, start, end, text[start:end],
                                           _negated(lower, start, end, names_negation)))
            found_here.sort(key=lambda m: m.start)
            results[row] = found_here
        return results

    def features(self, matches: list[list[CueMatch]]) -> np.ndarray:
        """Per text: for each label, the number of plain and of negated cues (log-scaled and
        capped, so a text repeating one cue a thousand times is not off the scale)."""
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.zeros((len(matches), 2 * len(self.labels)), dtype=np.float32)
        for row, found in enumerate(matches):
            for m in found:
                out[row, 2 * index[m.label] + int(m.negated)] += 1
        return np.log1p(np.minimum(out, MAX_CUE_COUNT))
