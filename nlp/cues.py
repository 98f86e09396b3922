"""Cue patterns of a debate, matched with spaCy's ``Matcher`` on tokenized text.

Cues are the words that justify a label ("is an outcome", "not a department"). They are
compiled once per debate from the compact syntax of debate files (or raw Matcher
patterns) and run on the tokenizer alone, which is fast enough for batch files. Each
match reports whether a negation precedes it, so "CX is not a function" does not count
as a ``function`` cue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from nlp.debate import Debate

NEGATIONS = frozenset({"not", "n't", "never", "no", "nor", "hardly"})
# how many tokens before a cue a negation still applies to
NEGATION_WINDOW = 3


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


def compile_cue(cue: str | tuple[dict, ...]) -> tuple[list[dict], bool]:
    """A Matcher pattern from a compact cue, and whether the cue itself names a negation."""
    if not isinstance(cue, str):
        spelled = {str(v).lower() for token in cue for v in _values(token)}
        return list(cue), bool(spelled & NEGATIONS)
    tokens: list[dict] = []
    has_negation = False
    for part in cue.lower().split():
        if part == "?":
            tokens.append({"OP": "?"})
        elif part == "*":
            tokens.extend([{"OP": "?"}] * 3)
        else:
            words = part.split("|")
            has_negation |= bool(set(words) & NEGATIONS)
            tokens.append({"LOWER": {"IN": words}} if len(words) > 1 else {"LOWER": words[0]})
    return tokens, has_negation


def _values(token: dict) -> Iterable[Any]:
    for value in token.values():
        if isinstance(value, dict):
            for inner in value.values():
                yield from inner if isinstance(inner, list) else [inner]
        else:
            yield value


class CueMatcher:
    """Find a debate's cues in texts; ``features`` turns matches into per-label counts."""

    def __init__(self, debate: Debate) -> None:
        import spacy
        from spacy.matcher import Matcher

        self.labels = debate.label_names
        self.nlp = spacy.blank("en")
        self.matcher = Matcher(self.nlp.vocab)
        self._meta: dict[str, tuple[str, str, bool]] = {}
        for label in debate.labels:
            for number, cue in enumerate(label.cues):
                pattern, names_negation = compile_cue(cue)
                key = f"{label.name}#{number}"
                self.matcher.add(key, [pattern])
                shown = cue if isinstance(cue, str) else repr(list(cue))
                self._meta[key] = (label.name, shown, names_negation)

    def match(self, texts: Iterable[str]) -> list[list[CueMatch]]:
        """The cues found in each text, longest first where they overlap, in text order."""
        results = []
        for doc in self.nlp.tokenizer.pipe(texts, batch_size=256):
            found = []
            taken: set[int] = set()
            lower = [t.lower_ for t in doc]
            spans = sorted(self.matcher(doc), key=lambda m: (m[1] - m[2], m[1]))
            for match_id, start, end in spans:
                key = self.nlp.vocab.strings[match_id]
                label, shown, names_negation = self._meta[key]
                cells = set(range(start, end))
                if cells & taken and label in {m.label for m in found}:
                    continue  # a shorter cue of the same label inside a longer one
                taken |= cells
                window = lower[max(0, start - NEGATION_WINDOW):start]
                inside = [] if names_negation else lower[start:end]
                negated = any(w in NEGATIONS for w in window + inside)
                span = doc[start:end]
                found.append(CueMatch(label, shown, span.start_char, span.end_char,
                                      span.text, negated))
            found.sort(key=lambda m: m.start)
            results.append(found)
        return results

    def features(self, matches: list[list[CueMatch]]) -> np.ndarray:
        """Per text: for each label, the number of plain and of negated cues (log-scaled)."""
        index = {label: i for i, label in enumerate(self.labels)}
        out = np.zeros((len(matches), 2 * len(self.labels)), dtype=np.float32)
        for row, found in enumerate(matches):
            for m in found:
                out[row, 2 * index[m.label] + int(m.negated)] += 1
        return np.log1p(out)
