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
as a plain ``function`` cue. Matches are gathered as arrays (row, span, cue) and become
``CueMatch`` objects only once the overlapping ones are dropped.
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
NEGATION_REACH = 60  # characters before a cue looked at for them
_WORDS_BEFORE = re.compile(r"n't|[\w']+")
# any word of _WORDS_BEFORE that ``_negated`` counts holds one of these
_MAYBE_NEGATION = re.compile("|".join([f"{w}(?<![\\w']{w})(?![\\w'])" for w in
                                        sorted(NEGATIONS - {"n't"}, key=len, reverse=True)]
                                       + ["n't"]))
_CLOSE = r"(?=n't|[^\w]|$)"     # a word token ends here, or where a contraction begins
_PUNCT = r"[^\w\s]{0,2}"         # quotes and brackets around a token: “function”
_BLANK = r"[^\S\n]"              # white space, but not the newline between batch texts
# between tokens: "don't" is "do" + "n't", no space. The runs of blanks and of a wildcard's
# non-blanks are possessive: what follows either cannot begin with what they give back, so
# backtracking into them never finds a match, only spends time looking
_SEP = _PUNCT + _BLANK + "*+"
_ANY = r"(?:[^\s]++" + _BLANK + "++)"  # one wildcard token


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


def names_negation(cue: str) -> bool:
    """Whether a compact cue has a negation among its words ("not a department")."""
    return any(set(part.split("|")) & NEGATIONS for part in cue.lower().split())


def compile_cue(cue: str) -> tuple[re.Pattern[str], bool]:
    """A regular expression for a compact cue, and whether the cue names a negation."""
    regex = ""
    wildcards = ""
    for part in cue.lower().split():
        if part in ("?", "*"):
            wildcards += _ANY + ("?" if part == "?" else "{0,3}")
            continue
        words = sorted(part.split("|"), key=len, reverse=True)
        token = "(?:" + "|".join(_word_regex(w) for w in words) + ")"
        # quotes may open a token, except the first: spans are trimmed to words anyway
        regex = token if not regex else regex + _SEP + wildcards + _PUNCT + token
        wildcards = ""
    return re.compile(regex), names_negation(cue)


def split_cue(cue: str) -> list[re.Pattern[str]]:
    """The expression of a compact cue as one expression per word of its first token, in
    the order the whole expression tries them (see ``_spans``): each begins with its word,
    which the regex engine finds with a fast string search, where the whole expression
    stops at every character that may begin one of the words ("i" for "is|'s")."""
    parts = cue.lower().split()
    first = next((i for i, part in enumerate(parts) if part not in ("?", "*")), None)
    words = sorted(parts[first].split("|"), key=len, reverse=True) if first is not None else []
    if len(words) < 2 or not all(words):
        return [compile_cue(cue)[0]]
    return [compile_cue(" ".join(parts[:first] + [word] + parts[first + 1:]))[0]
            for word in words]


def _spans(regexes: list[re.Pattern[str]], text: str) -> list[tuple[int, int]]:
    """The spans ``finditer`` gives for a cue's whole expression, from ``split_cue``'s
    parts: the leftmost match of any part (of two at one place, the earlier part's, as the
    whole expression tries its first token's words in that order), then the next from where
    it ends. No match is empty (it holds a word), so none is skipped."""
    if len(regexes) == 1:
        return [m.span() for m in regexes[0].finditer(text)]
    ahead = [regex.search(text) for regex in regexes]
    out = []
    while True:
        best = None
        for m in ahead:
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        if best is None:
            return out
        end = best.end()
        out.append((best.start(), end))
        for k, m in enumerate(ahead):
            if m is not None and m.start() < end:
                ahead[k] = regexes[k].search(text, end)


def _negated(lower: str, start: int, end: int, names_negation: bool) -> bool:
    window = lower[max(0, start - NEGATION_REACH):start]
    if _MAYBE_NEGATION.search(window) is None and (
            names_negation or _MAYBE_NEGATION.search(lower[start:end]) is None):
        return False  # no negation word at all, let alone among the last few
    before = _WORDS_BEFORE.findall(window)[-NEGATION_WINDOW:]
    inside = [] if names_negation else _WORDS_BEFORE.findall(lower[start:end])
    return any(w in NEGATIONS or w.endswith("n't") for w in before + inside)


# every word ``_MAYBE_NEGATION`` finds holds one of these ("not", "nor", "cannot": "no")
_NEGATION_CORES = ("no", "n't", "never", "hardly")
_SHORTEST_CORE = 2


def _maybe_negated(joined: str, lowers: list[str], rows: np.ndarray, starts: np.ndarray,
                   ends: np.ndarray, names_negation: np.ndarray) -> np.ndarray:
    """For each hit, False where ``_negated`` is sure to say False: no negation word's core
    lies in the window before it (nor inside it, for a cue that names no negation). The
    cores are found once in the chunk's joined text (``lowers`` joined by newlines)."""
    found = []
    for core in _NEGATION_CORES:
        at = joined.find(core)
        while at >= 0:
            found.append(at)
            at = joined.find(core, at + 1)
    if not found:
        return np.zeros(len(rows), dtype=bool)
    cores = np.sort(np.array(found, dtype=np.int64))
    sizes = np.fromiter(map(len, lowers), dtype=np.int64, count=len(lowers)) + 1
    offset = (np.cumsum(sizes) - sizes)[rows]
    # a core starting in [lo, hi] may lie inside text[lo:hi + _SHORTEST_CORE]

    def any_in(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.searchsorted(cores, lo) < np.searchsorted(cores, hi, side="right")

    before = any_in(offset + np.maximum(0, starts - NEGATION_REACH),
                    offset + starts - _SHORTEST_CORE)
    inside = any_in(offset + starts, offset + ends - _SHORTEST_CORE) & ~names_negation
    return before | inside


def _ends_on_words(cue: str) -> bool:
    """Whether every span a compact cue matches begins and ends as ``_trim`` leaves it:
    its spans begin with a word of its first token and end with one of its last."""
    tokens = required_words(cue)
    return bool(tokens) and all(w[:1].isalnum() for w in tokens[0]) and all(
        w[-1:].isalnum() or w[-1:] == "'" for w in tokens[-1])


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
        self._regexes: list[tuple[str, str, list[re.Pattern[str]], bool]] = []
        self._required: list[tuple[tuple[str, ...], ...]] = []
        self._trims: list[bool] = []  # per regex cue: whether its spans need ``_trim``
        self._token_patterns: list[tuple[str, str, list[dict]]] = []
        for label in debate.labels:
            for cue in label.cues:
                if isinstance(cue, str):
                    self._regexes.append((label.name, cue, split_cue(cue),
                                          names_negation(cue)))
                    self._required.append(required_words(cue))
                    self._trims.append(not _ends_on_words(cue))
                else:
                    self._token_patterns.append((label.name, repr(list(cue)), list(cue)))
        #: by cue number (the regex cues, then the token patterns): label, cue as shown,
        #: and whether the cue names a negation itself
        self._about = [(label, shown, names) for label, shown, _, names in self._regexes] + [
            (label, shown, False) for label, shown, _ in self._token_patterns]
        self._cue_label = np.array([self.labels.index(label) for label, _, _ in self._about],
                                   dtype=np.int64)
        self._names_negation = np.array([names for _, _, names in self._about], dtype=bool)
        #: the words whose presence in each text ``match`` can be told (its ``present``)
        self.filter_words: list[str] = sorted({w for need in self._required
                                               for words in need for w in words})
        column = {w: i for i, w in enumerate(self.filter_words)}
        self._required_columns = [[[column[w] for w in words] for words in need]
                                  for need in self._required]
        self._spacy: tuple[Any, Any] | None = None

    def _spacy_matches(self, texts: list[str]) -> list[list[tuple[int, int, int]]]:
        """Per text, the token patterns found: ``(pattern number, start, end)``."""
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
                span = doc[start:end]
                found.append((int(nlp.vocab.strings[match_id]), span.start_char,
                              span.end_char))
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

    def _regex_hits(self, lowers: list[str], joined: str, present: np.ndarray | None
                    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per regex cue found in any text: the rows, starts and ends of its spans (trimmed
        to words), and the cue's number for each."""
        n = len(lowers)
        sizes = np.fromiter(map(len, lowers), dtype=np.int64, count=n) + 1
        every = np.cumsum(sizes) - sizes  # where each text starts in ``joined``
        pick = lowers.__getitem__
        out = []
        for cue, ((_, _, regexes, _), rows, trims) in enumerate(zip(
                self._regexes, self._candidates(present, n), self._trims)):
            if rows is None:
                text, starts = joined, every
            elif not len(rows):
                continue
            else:
                text = "\n".join(map(pick, rows.tolist()))
                starts = np.cumsum(sizes[rows]) - sizes[rows]
            found = _spans(regexes, text)
            if not found:
                continue
            spans = np.array(found, dtype=np.int64)
            where = np.searchsorted(starts, spans[:, 0], side="right") - 1
            spans -= starts[where][:, None]
            if rows is not None:
                where = rows[where]
            if trims:
                spans = np.array([_trim(lowers[row], a, b) for row, (a, b)
                                  in zip(where.tolist(), spans.tolist())],
                                 dtype=np.int64).reshape(-1, 2)
                words = spans[:, 1] > spans[:, 0]
                where, spans = where[words], spans[words]
            out.append((where, spans[:, 0], spans[:, 1], np.full(len(where), cue)))
        return out

    def _kept(self, rows: np.ndarray, starts: np.ndarray, ends: np.ndarray,
              cues: np.ndarray) -> np.ndarray:
        """The positions of the hits to report, in report order (by row, then start, longest
        first): where hits of one label overlap in a row, the longest is kept and those it
        overlaps are not (the first found of equals wins). The hits come in the order they
        were found, which breaks every other tie. All in arrays, bar the rare rows where
        hits of a label overlap."""
        labels = self._cue_label[cues]
        order = np.lexsort((starts - ends, starts, rows))
        by_label = np.lexsort((starts, labels, rows))
        r, s = rows[by_label], starts[by_label]
        clash = ((r[1:] == r[:-1]) & (labels[by_label][1:] == labels[by_label][:-1])
                 & (s[1:] < ends[by_label][:-1]))
        if not clash.any():  # the usual case: each label's hits in a row are apart
            return order
        keep = np.ones(len(rows), dtype=bool)
        found = np.argsort(rows, kind="stable")  # by row, each row's hits in found order
        by_row = rows[found]
        clashing = np.unique(r[1:][clash])
        lab, a, b = labels.tolist(), starts.tolist(), ends.tolist()
        for lo, hi in zip(np.searchsorted(by_row, clashing).tolist(),
                          np.searchsorted(by_row, clashing, side="right").tolist()):
            kept: list[int] = []
            for i in sorted(found[lo:hi].tolist(), key=lambda i: (a[i] - b[i], a[i])):
                if any(lab[k] == lab[i] and a[k] < b[i] and a[i] < b[k] for k in kept):
                    keep[i] = False
                else:
                    kept.append(i)
        return order[keep[order]]

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
        hits = self._regex_hits(lowers, joined, present) if lowers and self._regexes else []
        if extra:
            more = [(row, len(self._regexes) + number, a, b)
                    for row, found in enumerate(extra) for number, a, b in found]
            if more:
                found = np.array(more, dtype=np.int64)
                hits.append((found[:, 0], found[:, 2], found[:, 3], found[:, 1]))
        results: list[list[CueMatch]] = [[] for _ in texts]
        if not hits:
            return results
        rows, starts, ends, cues = (np.concatenate([h[k] for h in hits]) for k in range(4))
        order = self._kept(rows, starts, ends, cues)
        rows, starts, ends, cues = rows[order], starts[order], ends[order], cues[order]
        maybe = _maybe_negated(joined, lowers, rows, starts, ends,
                               self._names_negation[cues])
        about = self._about
        for row, start, end, cue, check in zip(rows.tolist(), starts.tolist(), ends.tolist(),
                                               cues.tolist(), maybe.tolist()):
            label, shown, names_negation = about[cue]
            results[row].append(CueMatch(label, shown, start, end, texts[row][start:end],
                                         check and _negated(lowers[row], start, end,
                                                            names_negation)))
        return results

    def features(self, matches: list[list[CueMatch]]) -> np.ndarray:
        """Per text: for each label, the number of plain and of negated cues (log-scaled and
        capped, so a text repeating one cue a thousand times is not off the scale)."""
        column = {label: 2 * i for i, label in enumerate(self.labels)}
        width = 2 * len(self.labels)
        rows = np.repeat(np.arange(len(matches)),
                         np.fromiter(map(len, matches), dtype=np.int64, count=len(matches)))
        cells = rows * width + np.array([column[m.label] + m.negated for found in matches
                                         for m in found], dtype=np.int64)
        out = np.bincount(cells, minlength=len(matches) * width).astype(np.float32)
        return np.log1p(np.minimum(out.reshape(len(matches), width), MAX_CUE_COUNT))
