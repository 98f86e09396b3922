"""Who is speaking in an article or a comment: direct quotations, nested quotations,
interview turns, reported speech, and the people they belong to.

``attribute(text, sentences, ...)`` returns spans of the text with their speaker:

* **quotes**: words inside straight or curly double quotes (and British single quotes),
  attributed from the words around them ("…," Temkin says; Lopez said: "…"; "…," said
  Lopez; according to X, "…"), from the other half of a quote split around its
  attribution, from the person the paragraph has just named, or from the latest speaker
  a few sentences back. Scare quotes ("function") and titles (a report called "…") are
  not quotes. A quote inside a quote belongs to whoever the outer speaker says said it,
  or to nobody when they do not say ("One CMO told me, 'I own the customer…'").
* **interview turns**: in a Q&A, answers belong to the interviewee and questions stay
  the author's.
* **reported speech**: a sentence whose subject is a person and whose verb reports a
  view ("Hoffman suggests…", "Temkin is not convinced that…", "According to Temkin, …").

People are introduced by their full name, often with a role and an organisation in an
apposition ("Bruce Temkin, vice president and research director at Forrester, …");
later mentions by surname, first name or pronoun resolve to the latest person they fit.
Where an article does not say who speaks, the quote keeps the author and is flagged
``uncertain``; in a comment (``strict``), only quotes attributed in so many words leave
the commenter.
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
    "replied|puts it|put it|used to say|likes to say|laughs|laughed|jokes|joked|remembers|"
    "remembered")
REPORTING = (
    SPEECH_VERBS + "|is not convinced|is convinced|isn't convinced|was not convinced|"
    "is skeptical|is sceptical|doubts|doubted|sees|saw|feels|felt|holds|held|"
    "disagrees|disagreed|proposes|proposed|advocates|advocated|questions|questioned")
PRONOUNS = frozenset({"he", "she", "they"})
_NAME = (r"(?:[A-Z][a-z'’\-]+|[A-Z]\.)(?:\s+(?:[A-Z][a-z'’\-]+|[A-Z][a-z]*[A-Z][a-z]+|[A-Z]\.|"
         r"van|de|von|da|der))*")
_AFTER_QUOTE = re.compile(
    rf"^\s*[,—–-]?\s*(?:(?P<name>{_NAME}|he|she|they)\s+(?:{SPEECH_VERBS})\b"
    rf"|(?:{SPEECH_VERBS})\s+(?P<name2>{_NAME}))")
_BEFORE_QUOTE = re.compile(
    rf"(?:(?P<name>{_NAME}|[Hh]e|[Ss]he|[Tt]hey),?\s+(?:{SPEECH_VERBS})(?:\s+[\w’']+){{0,3}}"
    rf"\s*[:,.]?|(?P<name3>{_NAME}|[Hh]e|[Ss]he)\s+(?:{SPEECH_VERBS})\b[^.“”\"‘]{{0,100}}:"
    rf"|[Aa]ccording to (?P<name2>{_NAME})\s*,?)\s*$")
# the same, with an apposition between name and verb ("Patel, a principal at X, says:")
_BEFORE_QUOTE_APPOS = re.compile(
    rf"(?P<name>{_NAME})(?:,[^\"“”]{{2,120}}?,)\s+(?:{SPEECH_VERBS})(?:\s+[\w’']+){{0,3}}"
    rf"\s*[:,]?\s*$")
_AS_SAID = re.compile(rf"\b[Aa]s (?P<name>{_NAME})\s+(?:mentioned|said|noted|put it|pointed out|"
                      rf"wrote|argued|suggested|says|notes|puts it)\b")
_REPORTED = re.compile(
    rf"^\W*(?:(?:Yet|But|And|So|Still|However|Meanwhile|Now|Instead),?\s+)?"
    rf"(?P<name>{_NAME}|[Hh]e|[Ss]he)(?P<appos>(?:,[^.;]{{2,200}}?){{1,3}},[”\"’]?)?\s+"
    rf"(?:also\s+|still\s+)?(?:{REPORTING})\b")
_REPORTED_CLAUSE = re.compile(rf",\s*(?P<name>[Hh]e|[Ss]he|{_NAME})\s+(?:says|said|adds|added|"
                              rf"notes|noted|argues|argued)\s*,")
_ROLE_REPORTED = re.compile(
    rf"^\W*(?:Our|The|Their|Its|His|Her|My)\s+(?:[A-Z]{{2,4}}|[a-z][a-z ]{{2,40}}),\s+"
    rf"(?P<name>{_NAME}),\s+(?:{REPORTING})\b")
_ACCORDING = re.compile(rf"\b[Aa]ccording to (?P<name>(?:{_NAME}['’]s\s+)?{_NAME})\s*,")
_APPOSITION = re.compile(
    rf"(?P<name>{_NAME}),\s+(?P<role>(?:the\s+|a\s+|an\s+|then\s+)?[\w\s&\-]*?(?i:president|"
    rf"director|officer|analyst|ceo|cmo|cco|cxo|coo|vp|head|founder|partner|principal|"
    rf"consultant|manager|author|editor|professor|lead|chief|researcher|executive|strategist|"
    rf"leader|evangelist)[\w\s&\-]*?)\s+(?:at|of|for|with)\s+(?:the\s+)?"
    rf"(?:(?:consultancy|firm|research firm|agency)\s+)?"
    rf"(?P<org>[A-Z][\w&.\-’']*(?:\s+(?:&\s+)?[A-Z][\w&.\-’']*)*)")
_ROLE_BEFORE = re.compile(rf"\b(?:the|our|their|its)\s+(?P<role>CEO|COO|CMO|CFO|CCO|CXO|CIO)"
                          rf",\s+(?P<name>{_NAME}),")
_TITLE_BEFORE = re.compile(r"\b(?:from|titled|entitled|called|named|report|study|book|"
                           r"paper|survey|article|headline)\s*$", re.IGNORECASE)
_QA_LINE = re.compile(r"^(?P<who>Q|A|Question|Answer)\s*[:.)\-–—]\s+", re.MULTILINE)
_INTERVIEWEE = re.compile(rf"(?i:conversation with|interview with|q&a with|talking with|"
                          rf"talks to|sits down with|speaks with)\s+(?P<name>{_NAME})")
NOT_NAMES = frozenset({
    "It", "This", "That", "The", "There", "But", "And", "Yet", "So", "What", "When", "Which",
    "Who", "We", "You", "I", "Customers", "Companies", "Clearly", "However", "Only",
    "Findings", "Just", "Additionally", "Most", "Many", "Some", "Marketing", "Service",
    "Asked", "Still", "Now", "In", "On", "At", "For", "If", "Our", "My", "Their", "His", "Her",
    "Not", "Every", "Each", "All", "Meanwhile", "Instead", "Then", "Since", "As", "One",
    "Nobody", "Everyone", "Somebody", "Someone", "Sometimes", "Today", "Yesterday"})
MIN_QUOTE_WORDS = 4
SCARE_QUOTE_WORDS = 8   # shorter quotes without sentence punctuation are scare quotes
CONTEXT_SENTENCES = 4   # an unattributed quote may take the speaker this many sentences back
_DOUBLE_OPEN, _DOUBLE_CLOSE = ('"', "“"), ('"', "”")
_SINGLE_OPEN, _SINGLE_CLOSE = ("'", "‘"), ("'", "’")


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
    speaker: str | None       # full name as introduced, or None for an unnamed speaker
    flag: str | None = None   # uncertain | unbalanced
    inside: int | None = None  # index of the quote this one is nested in


@dataclass
class Attribution:
    spans: list[Attributed]
    people: dict[str, Person]


class _Registry:
    """People met so far, resolving surnames, first names and pronouns to them."""

    def __init__(self, known: list[str]) -> None:
        self.people: dict[str, Person] = {}
        self.last: str | None = None
        for name in known:
            self.introduce(name)
        self.last = None  # pronouns refer to people this text names, not to known ones

    def introduce(self, name: str, role: str | None = None, org: str | None = None) -> str:
        name = re.sub(r"\s+", " ", name.strip())
        for key, person in self.people.items():
            if name == key or name in person.aliases:
                person.role = person.role or role
                person.organisation = person.organisation or org
                self.last = key
                return key
        parts = name.split()
        aliases = ({name, parts[-1], parts[0], f"{parts[0]} {parts[-1][0]}."}
                   if len(parts) > 1 else {name})
        self.people[name] = Person(name, role, org, aliases)
        self.last = name
        return name

    def resolve(self, mention: str, *, touch: bool = True) -> str | None:
        mention = re.sub(r"\s+", " ", mention.strip())
        if mention.lower() in PRONOUNS:
            return self.last
        for key in [mention] + list(reversed(list(self.people))):
            person = self.people.get(key)
            if person is not None and (key == mention or mention in person.aliases):
                if touch:
                    self.last = key
                return key
        return None


def clean_name(mention: str | None) -> str | None:
    """A mention without what a name pattern picks up around it: sentence openers ("Yet
    Bruce Temkin"), a possessive owner ("Gartwell Research's Kim Ng"); None if nothing
    name-like is left."""
    if not mention:
        return None
    if mention.lower() in PRONOUNS:
        return mention.lower()
    mention = re.split(r"['’]s\s+", mention)[-1]
    words = mention.split()
    while words and words[0] in NOT_NAMES:
        words.pop(0)
    return " ".join(words) or None


def _is_title(inner: str) -> bool:
    """Title Case words without sentence punctuation: a title, not speech."""
    words = re.findall(r"[A-Za-z][\w'’]*", inner)
    if not words or re.search(r"[.!?,]\s*$", inner.strip()):
        return False
    return sum(w[0].isupper() for w in words) / len(words) >= 0.6


def _find_close(p: str, i: int, closers: tuple[str, ...], single: bool) -> int:
    j = i + 1
    while j < len(p):
        if p[j] in closers and (not single or j + 1 == len(p) or not p[j + 1].isalnum()):
            return j  # (a single quote between letters is an apostrophe: "don't")
        j += 1
    return -1


def quote_spans(text: str) -> list[tuple[int, int, bool, int]]:
    """(start, end, balanced, depth) of quoted words, paragraph by paragraph. Depth 1 is
    a quote inside a quote. A double quote that never closes runs to its paragraph's end."""
    spans: list[tuple[int, int, bool, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        p, offset = para.group(), para.start()
        i = 0
        while i < len(p):
            ch = p[i]
            single = ch in _SINGLE_OPEN
            if ch in _DOUBLE_OPEN or (single and (i == 0 or not p[i - 1].isalnum())):
                j = _find_close(p, i, _SINGLE_CLOSE if single else _DOUBLE_CLOSE, single)
                if j < 0:
                    if single:
                        i += 1  # an apostrophe, not a quotation
                        continue
                    j = len(p)
                spans.append((offset + i + 1, offset + j, j < len(p), 0))
                if not single:  # single quotes inside this one are nested
                    inner = p[i + 1:j]
                    for k, c in enumerate(inner):
                        if c in _SINGLE_OPEN and (k == 0 or not inner[k - 1].isalnum()):
                            e = _find_close(inner, k, _SINGLE_CLOSE, True)
                            if e > 0:
                                spans.append((offset + i + 2 + k, offset + i + 1 + e, True, 1))
                i = j + 1
            else:
                i += 1
    return spans


def _sentence_index(sentences: list[tuple[int, int]], pos: int) -> int:
    for i, (a, b) in enumerate(sentences):
        if a <= pos < b:
            return i
    return len(sentences)


def _paragraph_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def attribute(text: str, sentences: list[tuple[int, int]], *, author: str | None = None,
              known_people: list[str] | None = None,
              person_mentions: list[tuple[int, int, str]] | None = None,
              title: str | None = None, strict: bool = False) -> Attribution:
    """Quotes and reported speech in ``text`` with their speakers, in reading order.

    ``sentences`` are character spans of the text's sentences (from spaCy);
    ``person_mentions`` are (start, end, name) of PERSON entities, which introduce people;
    ``strict`` (comments) keeps only quotes and reports that name their speaker.
    """
    registry = _Registry(known_people or [])
    raw = quote_spans(text)
    turns = _interview_turns(text, title, author, person_mentions or [])
    top = [(a, b, ok) for a, b, ok, depth in raw if depth == 0 and _is_quote(text, a, b)]
    top = [q for q in top if not any(t[0] <= q[0] < t[1] for t in turns)]
    inner_candidates = [(a, b) for a, b, ok, depth in raw if depth == 1]
    quoted = [(a, b) for a, b, _ in top] + [(t[0], t[1]) for t in turns]

    def in_quote(pos: int) -> bool:
        return any(a <= pos < b for a, b in quoted)

    events: list[tuple[int, int, str, object]] = []
    events += [(m.start(), 0, "apposition", m) for m in _APPOSITION.finditer(text)
               if not in_quote(m.start())]
    events += [(m.start(), 0, "role", m) for m in _ROLE_BEFORE.finditer(text)]
    events += [(a, 1, "mention", (a, b, n)) for a, b, n in person_mentions or []]
    events += [(a, 2, "sentence", (i, a, b)) for i, (a, b) in enumerate(sentences)
               if not any(a <= q[0] < b or q[0] <= a < q[1] for q in quoted)]
    events += [(t[0], 3, "turn", t) for t in turns]
    events += [(q[0], 3, "quote", q) for q in top]
    events.sort(key=lambda e: (e[0], e[1]))

    spans: list[Attributed] = []
    last: tuple[str, int] | None = None         # the latest speaker other than the author
    mentioned: tuple[str, int] | None = None    # the latest person named outside quotes
    for pos, _rank, kind, item in events:
        if kind == "apposition":
            name = clean_name(item.group("name"))
            if name and len(name.split()) >= 2:
                registry.introduce(name, item.group("role").strip(), item.group("org").strip())
                mentioned = (name, pos)
        elif kind == "role":
            name = clean_name(item.group("name"))
            if name and len(name.split()) >= 2:
                registry.introduce(name, item.group("role"))
        elif kind == "mention":
            a, _b, raw_name = item
            name = clean_name(raw_name)
            if not name or name in PRONOUNS:
                continue
            if in_quote(a):
                if len(name.split()) >= 2:
                    registry.people.setdefault(name, Person(name, aliases={
                        name, name.split()[0], name.split()[-1]}))
                continue
            found = registry.introduce(name) if len(name.split()) >= 2 else registry.resolve(name)
            if found:
                mentioned = (found, a)
        elif kind == "sentence":
            index, a, b = item
            speaker = _reported_speaker(text[a:b], registry, last, strict)
            if speaker and speaker != author:
                spans.append(Attributed(a, b, "reported", speaker))
                last = (speaker, index)
                registry.last = speaker
        elif kind == "turn":
            a, b, speaker = item
            spans.append(Attributed(a, b, "quote", speaker))
            _nested(text, len(spans) - 1, spans, inner_candidates + [
                (x, y) for x, y, _ok, _d in raw if a <= x < b and (x, y) != (a, b)], registry)
        else:
            a, b, balanced = item
            speaker, flag = _quote_speaker(text, sentences, a, b, balanced, registry, spans,
                                           last, mentioned, author, strict)
            if speaker is None and strict:
                continue  # a commenter's own quote stays in their comment
            spans.append(Attributed(a, b, "quote", speaker, flag))
            _nested(text, len(spans) - 1, spans, inner_candidates, registry)
            if speaker and speaker != author:
                last = (speaker, _sentence_index(sentences, a))
                registry.last = speaker
    spans.sort(key=lambda s: s.start)
    return Attribution(spans, registry.people)


def _mention_of(m: re.Match) -> str | None:
    groups = m.groupdict()
    return groups.get("name") or groups.get("name2") or groups.get("name3")


def _attribution_before(chunk: str) -> re.Match | None:
    m = _BEFORE_QUOTE.search(chunk)
    if m and re.search(r"\b(?:at|of|for|with|from)\s*$", chunk[:m.start()]):
        # "…, head of operations at Fenwick Bank, wrote": the name is the organisation's
        return _BEFORE_QUOTE_APPOS.search(chunk) or m
    return m or _BEFORE_QUOTE_APPOS.search(chunk)


def _is_quote(text: str, a: int, b: int) -> bool:
    inner = text[a:b]
    words = len(inner.split())
    after = text[b + 1:b + 60]
    before = text[max(0, a - 120):max(0, a - 1)]
    attributed = bool(_AFTER_QUOTE.search(after) or _attribution_before(before))
    if words < MIN_QUOTE_WORDS and not attributed:
        return False
    if _TITLE_BEFORE.search(text[max(0, a - 30):max(0, a - 1)]) or _is_title(inner):
        return False
    ends_sentence = bool(re.search(r"[.!?,…]\s*$", inner))
    return attributed or ends_sentence or words >= SCARE_QUOTE_WORDS


def _speaker_from(mention: str | None, registry: _Registry, last: tuple[str, int] | None,
                  *, allow_new: bool = True) -> str | None:
    mention = clean_name(mention)
    if mention is None:
        return None
    if mention in PRONOUNS:
        return registry.last or (last[0] if last else None)
    found = registry.resolve(mention)
    if found is None and allow_new:
        found = registry.introduce(mention)
    return found


def _quote_speaker(text: str, sentences: list[tuple[int, int]], a: int, b: int,
                   balanced: bool, registry: _Registry, spans: list[Attributed],
                   last: tuple[str, int] | None, mentioned: tuple[str, int] | None,
                   author: str | None, strict: bool) -> tuple[str | None, str | None]:
    s_index = _sentence_index(sentences, a)
    s_start = sentences[s_index][0] if s_index < len(sentences) else a
    after = text[b + 1:b + 80] if balanced else ""
    before = text[max(s_start, a - 200, _paragraph_start(text, a)):max(s_start, a - 1)]
    for m in (_AFTER_QUOTE.search(after), _attribution_before(before)):
        if m:
            speaker = _speaker_from(_mention_of(m), registry, last, allow_new=not strict)
            if speaker:
                return speaker, None if balanced else "unbalanced"
    if strict:
        return None, None
    flag = None if balanced else "unbalanced"
    outer = [s for s in spans if s.kind == "quote" and s.inside is None]
    if outer and outer[-1].speaker:
        between = text[outer[-1].end + 1:max(outer[-1].end + 1, a - 1)]
        if (len(between) < 60 and _AFTER_QUOTE.search(between)) or not between.strip(" \n\"“”"):
            return outer[-1].speaker, flag  # the other half of a split or continued quote
    paragraph = _paragraph_start(text, a)
    named = _last_alias(text[paragraph:a], registry)
    if named and named != author:
        return named, flag  # the person this paragraph has just named
    if mentioned and mentioned[1] >= paragraph and mentioned[0] != author:
        return mentioned[0], flag
    if last is not None and s_index - last[1] <= CONTEXT_SENTENCES:
        return last[0], flag
    return author, "uncertain"


def _last_alias(chunk: str, registry: _Registry) -> str | None:
    """The person whose name (or surname) appears last in ``chunk``, outside quotes."""
    chunk = re.sub(r"[“\"][^”\"]*[”\"]", " ", chunk)
    best, best_pos = None, -1
    for key, person in registry.people.items():
        for alias in person.aliases:
            for m in re.finditer(rf"(?<![\w]){re.escape(alias)}(?![\w])", chunk):
                if m.start() > best_pos:
                    best, best_pos = key, m.start()
    if best:
        registry.last = best
    return best


def _reported_speaker(sentence: str, registry: _Registry, last: tuple[str, int] | None,
                      strict: bool) -> str | None:
    m = _REPORTED.search(sentence) or _ROLE_REPORTED.search(sentence) \
        or _ACCORDING.search(sentence) \
        or _REPORTED_CLAUSE.search(sentence) or _AS_SAID.search(sentence)
    if not m:
        _last_alias(sentence, registry)  # keeps "he" and "she" pointing at who was named
        return None
    mention = clean_name(m.group("name"))
    appos = (m.groupdict().get("appos") or "").strip(" ,”\"’")
    if re.fullmatch(_NAME, appos) and (mention is None or mention.split()[0].isupper()
                                       or len(mention) <= 4):
        mention = appos  # "Our COO, Rich Danvers, thinks …"
    if mention is None:
        return None
    if mention in PRONOUNS:
        return None if strict else (registry.last or (last[0] if last else None))
    found = registry.resolve(mention)
    if found is None and len(mention.split()) >= 2:
        found = registry.introduce(mention)
    return found


def _nested(text: str, outer_index: int, spans: list[Attributed],
            candidates: list[tuple[int, int]], registry: _Registry) -> None:
    """Quotes inside quote ``outer_index``: the person the outer speaker names, or nobody."""
    outer = spans[outer_index]
    for a, b in candidates:
        if not (outer.start <= a and b <= outer.end) or len(text[a:b].split()) < 3:
            continue
        after = text[b + 1:min(outer.end, b + 80)]
        before = text[outer.start:max(outer.start, a - 1)]
        speaker = None
        for m in (_AFTER_QUOTE.search(after), _attribution_before(before)):
            if m:
                mention = clean_name(_mention_of(m))
                if mention and mention not in PRONOUNS:
                    speaker = registry.resolve(mention, touch=False) or (
                        registry.introduce(mention) if len(mention.split()) >= 2 else None)
                break
        spans.append(Attributed(a, b, "quote", speaker, None, inside=outer_index))


def _interview_turns(text: str, title: str | None, author: str | None,
                     mentions: list[tuple[int, int, str]]) -> list[tuple[int, int, str | None]]:
    """Answer turns of a Q&A as (start, end, interviewee); empty for other articles."""
    lines = list(_QA_LINE.finditer(text))
    answers = [m for m in lines if m.group("who")[0] in "Aa"]
    if len(answers) < 2 or len(lines) - len(answers) < 1:
        return []
    interviewee = None
    found = _INTERVIEWEE.search(title or "")
    if found:
        interviewee = clean_name(found.group("name"))
    if interviewee is None:
        for _a, _b, name in mentions:
            name = clean_name(name) or ""
            if len(name.split()) >= 2 and name != author:
                interviewee = name
                break
    turns = []
    for m in answers:
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        turns.append((m.end(), end, interviewee))
    return turns
