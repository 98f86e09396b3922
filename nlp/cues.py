"""Cue patterns of a debate: the words that justify a label ("is an outcome", "not a
department"), found in text with their character spans.

Debate files write cues in a compact token syntax (see ``nlp/debates/*.toml``), which is
compiled to one regular expression per cue. A batch of texts is matched at once: each
cue's expression scans, in one call, the texts joined by newlines (which no expression
crosses). Given which words each text holds (``Units.cue_words`` of ``nlp.lexicon``), a
cue only scans the texts that hold a word of each of its tokens, a small part of a
batch: the fast tier can use cues on batch files. A cue written as a list of spaCy token
patterns (for lemmas, parts of speech, dependency-free token attributes) runs on spaCy's
``Matcher`` instead, loading the English pipeline only when a debate asks for one. Each
match reports whether a negation precedes it, so "CX is not a function" does not count
as a plain ``function`` cue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from nlp.debate import Debate

NEGATIONS = frozenset({"not", "n't", "never", "no", "nor", "hardly", "cannot"})
MAX_CUE_COUNT = 3
NEGATION_WINDOW = 3  # tokens before a cue that a negation still applies to
_WORDS_BEFORE = re.compile(r"n't|[\w']+")
# any word of _WORDS_BEFORE that ``_negated`` counts holds one of these
_MAYBE_NEGATION = re.compile("|".join([f"{w}(?<![\\w']{w})(?![\\w'])" for w in
                                        sorted(NEGATIONS - {"n't"}, key=len, reverse=True)]
                                       + ["n't"]))
_CLOSE = r"(?=n't|[^\w]|$)"     # a word token ends here, or where a contraction begins
_PUNCT = r"[^\w\s]{0,2}"         # quotes and brackets around a token: “function”
_BLANK = r"[^\S\n]"              # white space, but not the newline between batch texts
_SEP = _PUNCT + _BLANK + "*"      # between tokens: "don't" is "do" + "n't", no space
_ANY = r"(?:[^\s]+" + _BLANK + "+)"  # one wildcard token


class CueMatch(NamedTuple):
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


_PLAIN = re.compile(r"[^\W_]+")


def required_words(cue: str) -> tuple[tuple[str, ...], ...]:
    """The words of each token of a compact cue (wildcards aside): a text the cue matches
    holds one word of each token in its lower-case text (with "’" as "'"). A plain word
    (letters and digits) is there as a whole run of word characters, or as that run but
    its final "n" (the word before "n't", as "ca" in "can't"); any other ("'s", "n't",
    "%") is simply part of the text, within one white-space-free piece of it."""
    return tuple(tuple(part.split("|")) for part in cue.lower().split()
                 if part not in ("?", "*"))


def is_plain(word: str) -> bool:
    return bool(_PLAIN.fullmatch(word))


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
    window = lower[max(0, start - 60):start]
    if _MAYBE_NEGATION.search(window) is None and (
            names_negation or _MAYBE_NEGATION.search(lower[start:end]) is None):
        return False  # no negation word at all, let alone among the last few
    before = _WORDS_BEFORE.findall(window)[-NEGATION_WINDOW:]
    inside = [] if names_negation else _WORDS_BEFORE.findall(lower[start:end])
    return any(w in NEGATIONS or w.endswith("n't") for w in before + inside)


def _longest_first(hit: tuple[str, str, int, int, bool]) -> tuple[int, int]:
    return hit[2] - hit[3], hit[2]


def _start(hit: tuple[str, str, int, int, bool]) -> int:
    return hit[2]


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
        self._regexes: list[tuple[str, str, re.Pattern[str], bool]] = []
        self._required: list[tuple[tuple[str, ...], ...]] = []
        self._token_patterns: list[tuple[str, str, list[dict]]] = []
        for label in debate.labels:
            for cue in label.cues:
                if isinstance(cue, str):
                    regex, names_negation = compile_cue(cue)
                    self._regexes.append((label.name, cue, regex, names_negation))
                    self._required.append(required_words(cue))
                else:
                    self._token_patterns.append((label.name, repr(list(cue)), list(cue)))
        #: the words whose presence in each text ``match`` can be told (its ``present``)
        self.filter_words: list[str] = sorted({w for need in self._required
                                               for words in need for w in words})
        column = {w: i for i, w in enumerate(self.filter_words)}
        self._required_columns = [[[column[w] for w in words] for words in need]
                                  for need in self._required]
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

    def _candidates(self, present: np.ndarray | None, n: int) -> list[np.ndarray | None]:
        """Per regex cue, the texts that may match it (None: every text)."""
        out: list[np.ndarray | None] = []
        for need in self._required_columns:
            if present is None or not need:
                out.append(None)
                continue
            ok = present[:, need[0]].any(axis=1)
            for columns in need[1:]:
                ok &= present[:, columns].any(axis=1)
            out.append(np.flatnonzero(ok))
        return out

    def match(self, texts: Iterable[str], present: np.ndarray | None = None
              ) -> list[list[CueMatch]]:
        """The cues found in each text, in text order; a cue inside a longer cue of the
        same label is not counted twice. ``present`` (texts x ``filter_words``, from
        ``nlp.lexicon``) says which words each text holds; without it every cue scans
        every text."""
        texts = list(texts)
        n = len(texts)
        extra = self._spacy_matches(texts) if self._token_patterns else None
        joined = "\n".join(texts)
        if joined.count("\n") == n - 1:  # lower-casing never makes or takes a newline
            joined = joined.lower().replace("’", "'")
            lowers = joined.split("\n") if n else []
        else:
            lowers = [t.lower().replace("’", "'").replace("\n", " ") for t in texts]
            joined = "\n".join(lowers)
        raw: dict[int, list[tuple[str, str, int, int, bool]]] = {}
        if lowers and self._regexes:
            sizes = np.fromiter(map(len, lowers), dtype=np.int64, count=n) + 1
            every = np.cumsum(sizes) - sizes  # where each text starts in ``joined``
            pick = lowers.__getitem__
            for (label, shown, regex, names_negation), rows in zip(
                    self._regexes, self._candidates(present, n)):
                if rows is None:
                    text, starts = joined, every
                elif not len(rows):
                    continue
                else:
                    text = "\n".join(map(pick, rows.tolist()))
                    starts = np.cumsum(sizes[rows]) - sizes[rows]
                found = [m.span() for m in regex.finditer(text)]
                if not found:
                    continue
                where = np.searchsorted(starts, [a for a, _ in found], side="right") - 1
                offsets = starts[where].tolist()
                if rows is not None:
                    where = rows[where]
                for row, offset, (a, b) in zip(where.tolist(), offsets, found):
                    start, end = _trim(lowers[row], a - offset, b - offset)
                    if end > start:
                        hit = (label, shown, start, end, names_negation)
                        if row in raw:
                            raw[row].append(hit)
                        else:
                            raw[row] = [hit]
        if extra:
            for row, more in enumerate(extra):
                if more:
                    raw.setdefault(row, []).extend(
                        (label, shown, a, b, False) for label, shown, a, b in more)
        results: list[list[CueMatch]] = [[] for _ in texts]
        for row, hits in raw.items():
            if len(hits) > 1:
                hits.sort(key=_longest_first)
                kept: list[tuple[str, str, int, int, bool]] = []
                for hit in hits:
                    label, _, start, end, _ = hit
                    if not any(k[0] == label and k[2] < end and start < k[3] for k in kept):
                        kept.append(hit)
                kept.sort(key=_start)
                hits = kept
            text, lower = texts[row], lowers[row]
            results[row] = [CueMatch(label, shown, start, end, text[start:end],
                                     _negated(lower, start, end, names_negation))
                            for label, shown, start, end, names_negation in hits]
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
