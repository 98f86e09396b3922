"""Who is speaking in an article: direct quotations, reported speech and the people they
belong to.

``attribute(text, people_found)`` returns spans of the text with their speaker:

* **quotes**: words inside straight or curly quotation marks (single quotes too, when
  they hold a sentence), attributed from the words around them ("…," Temkin says;
  Lopez said: "…"; "…," said Lopez; according to X, "…"), from the quote just before
  them when a quote is split around its attribution, or from the person the paragraph
  is about. Scare quotes ("function") and titles (a report called "…") are not quotes.
* **reported speech**: a sentence whose subject is a person and whose verb reports a
  view ("Hoffman suggests…", "Temkin is not convinced that…", "According to Temkin, …").

People are introduced by their full name, often with a role and organisation in an
apposition ("Bruce Temkin, vice president and research director at Forrester, …");
later mentions by surname, first name or pronoun resolve to the latest person they fit.
Where the text does not say who speaks, the quote keeps the document's author and is
flagged ``uncertain`` rather than given an invented speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SPEECH_VERBS = (
    "says|said|say|adds|added|notes|noted|explains|explained|argues|argued|contends|"
    "contended|suggests|suggested|believes|believed|thinks|thought|insists|insisted|"
    "claims|claimed|warns|warned|maintains|maintained|told|tells|observes|observed|"
    "recalls|recalled|points out|pointed out|asks|asked|agrees|agreed|predicts|predicted|"
    "recommends|recommended|writes|wrote|concludes|concluded|acknowledges|acknowledged|"
    "admits|admitted|stresses|stressed|cautions|cautioned|continues|continued|replies|"
    "replied|puts it|put it")
REPORTING = (
    SPEECH_VERBS + "|is not convinced|is convinced|isn't convinced|was not convinced|"
    "is skeptical|is sceptical|doubts|doubted|sees|saw|feels|felt|holds|held|"
    "disagrees|disagreed|proposes|proposed|advocates|advocated|questions|questioned")
PRONOUNS = {"he": "m", "she": "f", "they": None}
_NAME = r"(?:[A-Z][a-z'’\-]+|[A-Z]\.)(?:\s+(?:[A-Z][a-z'’\-]+|[A-Z]\.|van|de|von|da))*"
_AFTER_QUOTE = re.compile(
    rf"^\s*[,—–-]?\s*(?:(?P<name>{_NAME}|he|she|they)\s+(?:{SPEECH_VERBS})\b"
    rf"|(?:{SPEECH_VERBS})\s+(?P<name2>{_NAME}))")
_BEFORE_QUOTE = re.compile(
    rf"(?:(?P<name>{_NAME}|[Hh]e|[Ss]he|[Tt]hey)(?:,[^,\"“”]{{2,120}},)?\s+(?:{SPEECH_VERBS})"
    rf"(?:\s+\w+){{0,3}}\s*[:,]?|[Aa]ccording to (?P<name2>{_NAME})\s*,?)\s*$")
_REPORTED = re.compile(
    rf"(?:^|(?<=[\s(]))(?P<name>{_NAME}|[Hh]e|[Ss]he)"
    rf"(?P<appos>,[^,]{{2,160}}?,)?\s+(?:{REPORTING})\b")
_ACCORDING = re.compile(rf"\b[Aa]ccording to (?P<name>{_NAME})\s*,")
_APPOSITION = re.compile(
    rf"(?P<name>{_NAME}),\s+(?P<role>(?:the\s+)?[\w\s&\-]*?(?i:president|director|officer|"
    rf"analyst|ceo|cmo|cco|cxo|vp|head|founder|partner|principal|consultant|manager|author|"
    rf"editor|professor|lead|chief|researcher|executive|strategist|leader|evangelist)"
    rf"[\w\s&\-]*?)\s+(?:at|of|for|with)\s+(?:(?:consultancy|firm|research firm|agency)\s+)?"
    rf"(?P<org>[A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*)*)")
_TITLE_BEFORE = re.compile(r"\b(?:from|titled|entitled|called|named|report|study|book|"
                           r"paper|survey|article|headline)\s*$", re.I)
NOT_NAMES = frozenset({"It", "This", "That", "The", "There", "But", "And", "Yet", "So",
                       "What", "When", "Which", "Who", "We", "You", "I", "Customers",
                       "Companies", "Clearly", "However", "Only", "Findings", "Just",
                       "Additionally", "Most", "Many", "Some", "Marketing", "Service"})
MIN_QUOTE_WORDS = 4
CONTEXT_SENTENCES = 4  # an unattributed quote may take the speaker of this many sentences back
QUOTE_PAIRS = {'"': '"', "“": "”", "‘": "’", "'": "'"}


@dataclass
class Person:
    name: str
    role: str | None = None
    organisation: str | None = None
    aliases: set[str] = field(default_factory=set)


@dataclass
class Attributed:
    start: int
    end: int
    kind: str                 # quote | reported
    speaker: str | None       # full name as introduced, or None
    flag: str | None = None   # uncertain | unbalanced


@dataclass
class Attribution:
    spans: list[Attributed]
    people: dict[str, Person]


class _Registry:
    """People met so far in a document, resolving surnames, first names and pronouns."""

    def __init__(self, known: list[str]) -> None:
        self.people: dict[str, Person] = {}
        self.last: str | None = None
        for name in known:
            self.introduce(name)

    def introduce(self, name: str, role: str | None = None, org: str | None = None) -> str:
        name = re.sub(r"\s+", " ", name.strip())
        for key, person in self.people.items():
            if name == key or name in person.aliases:
                person.role = person.role or role
                person.organisation = person.organisation or org
                self.last = key
                return key
        parts = name.split()
        person = Person(name, role, org, {name, parts[-1], parts[0]} if len(parts) > 1 else {name})
        self.people[name] = person
        self.last = name
        return name

    def resolve(self, mention: str) -> str | None:
        mention = re.sub(r"\s+", " ", mention.strip())
        if mention.lower() in PRONOUNS:
            return self.last
        if mention in self.people:
            self.last = mention
            return mention
        for key in reversed(list(self.people)):
            if mention in self.people[key].aliases:
                self.last = key
                return key
        return None


def _quote_spans(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, balanced) of the words inside quotation marks, paragraph by paragraph."""
    spans = []
    for para in re.finditer(r"[^\n]+", text):
        p, offset = para.group(), para.start()
        i = 0
        while i < len(p):
            ch = p[i]
            if ch in ('"', "“") or (ch in ("‘", "'") and (i == 0 or not p[i - 1].isalnum())):
                close = QUOTE_PAIRS[ch]
                alternatives = {close} | ({'"', "”"} if ch in ('"', "“") else {"’", "'"})
                j = i + 1
                while j < len(p):
                    if p[j] in alternatives and (close not in ("'", "’")
                                                 or j + 1 == len(p) or not p[j + 1].isalnum()):
                        break
                    j += 1
                if ch in ("‘", "'") and j >= len(p):
                    i += 1  # an apostrophe, not a quotation
                    continue
                spans.append((offset + i + 1, offset + min(j, len(p)), j < len(p)))
                i = j + 1
            else:
                i += 1
    return spans


def _sentence_bounds(text: str, sentences: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for a, b in sentences:
        if a <= pos < b:
            return a, b
    return pos, pos


def clean_name(mention: str | None) -> str | None:
    """A mention without the capitalised sentence-openers a name pattern picks up
    ("Yet Bruce Temkin" is Bruce Temkin); None when nothing name-like is left."""
    if not mention:
        return None
    if mention.lower() in PRONOUNS:
        return mention.lower()
    words = mention.split()
    while words and words[0] in NOT_NAMES:
        words.pop(0)
    return " ".join(words) or None


def _is_title(inner: str) -> bool:
    """Title Case words without sentence punctuation: a title, not speech."""
    words = [w for w in re.findall(r"[A-Za-z][\w'’]*", inner)]
    if not words or re.search(r"[.!?]\s*$|,\s*$", inner.strip()):
        return False
    capitalised = sum(w[0].isupper() for w in words)
    return capitalised / len(words) >= 0.6


def attribute(text: str, sentences: list[tuple[int, int]], *, author: str | None = None,
              known_people: list[str] | None = None,
              person_mentions: list[tuple[int, int, str]] | None = None) -> Attribution:
    """Quotes and reported speech in ``text`` with their speakers, in reading order.

    ``sentences`` are character spans of the text's sentences (from spaCy);
    ``person_mentions`` are (start, end, name) of PERSON entities, which introduce people.
    """
    registry = _Registry(known_people or [])
    quotes = [q for q in _quote_spans(text)
              if len(text[q[0]:q[1]].split()) >= MIN_QUOTE_WORDS
              and not _TITLE_BEFORE.search(text[max(0, q[0] - 30):max(0, q[0] - 1)])
              and not _is_title(text[q[0]:q[1]])]
    quoted_sentences = {i for i, (a, b) in enumerate(sentences)
                        for q in quotes if a <= q[0] < b or q[0] <= a < q[1]}
    events: list[tuple[int, int, object]] = []
    events += [(m.start(), 0, ("apposition", m)) for m in _APPOSITION.finditer(text)]
    events += [(a, 1, ("mention", (a, b, n))) for a, b, n in person_mentions or []]
    events += [(a, 2, ("sentence", (i, a, b))) for i, (a, b) in enumerate(sentences)
               if i not in quoted_sentences]
    events += [(q[0], 3, ("quote", q)) for q in quotes]
    events.sort(key=lambda e: (e[0], e[1]))

    def sentence_of(pos: int) -> int:
        for i, (a, b) in enumerate(sentences):
            if a <= pos < b:
                return i
        return len(sentences)

    spans: list[Attributed] = []
    last: tuple[str, int] | None = None  # the latest speaker other than the author
    previous_quote: Attributed | None = None
    for _pos, _rank, (kind, item) in events:
        if kind == "apposition":
            name = clean_name(item.group("name"))
            if name and len(name.split()) >= 2:
                registry.introduce(name, item.group("role").strip(), item.group("org").strip())
        elif kind == "mention":
            name = clean_name(item[2])
            if name and len(name.split()) >= 2:
                registry.introduce(name)
            elif name:
                registry.resolve(name)
        elif kind == "sentence":
            index, a, b = item
            sentence = text[a:b]
            m = _REPORTED.search(sentence) or _ACCORDING.search(sentence)
            mention = clean_name(m.group("name")) if m else None
            if mention is None:
                continue
            if mention in PRONOUNS:
                speaker = last[0] if last else None
            else:
                speaker = registry.resolve(mention)
                if speaker is None and len(mention.split()) >= 2:
                    speaker = registry.introduce(mention)
            if speaker and speaker != author:
                spans.append(Attributed(a, b, "reported", speaker))
                last = (speaker, index)
        else:
            start, end, balanced = item
            s_start, _s_end = _sentence_bounds(text, sentences, start)
            after = text[end + 1:end + 80] if balanced else ""
            before = text[max(s_start, start - 200):max(s_start, start - 1)]
            speaker = None
            for pattern, chunk in ((_AFTER_QUOTE, after), (_BEFORE_QUOTE, before)):
                m = pattern.search(chunk)
                mention = clean_name((m.group("name") or m.group("name2")) if m else None)
                if mention is None:
                    continue
                if mention in PRONOUNS:
                    speaker = last[0] if last else None
                else:
                    speaker = registry.resolve(mention) or registry.introduce(mention)
                if speaker:
                    break
            flag = None if balanced else "unbalanced"
            if speaker is None and previous_quote is not None and previous_quote.speaker:
                between = text[previous_quote.end + 1:max(previous_quote.end + 1, start - 1)]
                if len(between) < 60 and _AFTER_QUOTE.search(between):
                    speaker = previous_quote.speaker  # a quote split around its attribution
            if speaker is None and last is not None \
                    and sentence_of(start) - last[1] <= CONTEXT_SENTENCES:
                speaker = last[0]
            if speaker is None:
                speaker, flag = author, "uncertain"
            current = Attributed(start, end, "quote", speaker, flag)
            spans.append(current)
            previous_quote = current
            if speaker and speaker != author:
                last = (speaker, sentence_of(start))
    spans.sort(key=lambda s: s.start)
    return Attribution(spans, registry.people)
