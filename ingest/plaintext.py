"""Plain-text pages (a browser's "select all, copy") → one document and its thread.

The parser reads structure, not any one site's words: a header (title, byline, date),
the article body up to the first end-of-article cue, then a thread introduced by an
"N Responses to …"-style heading whose comments start at numbered items, "X says:"
lines, name-then-date lines or bullets, nested by indentation. Every cue is in
``ingest.plaintext_rules``. Site furniture is dropped; unsigned comments keep no author.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from ingest import plaintext_rules as rules
from ingest.dates import is_date_line, is_relative_date, to_iso
from ingest.errors import ExtractionError
from kb.records import CommentRecord, DocumentRecord

log = logging.getLogger(__name__)

PARSER_NAME = "plaintext"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


@dataclass
class Line:
    number: int  # 0-based line number in the normalised text
    indent: int
    text: str  # stripped

    @property
    def blank(self) -> bool:
        return not self.text


def _lines(text: str) -> list[Line]:
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    out = []
    for number, raw in enumerate(text.split("\n")):
        raw = raw.replace("\u00a0", " ").replace("\t", "    ").rstrip()
        stripped = raw.lstrip()
        out.append(Line(number, len(raw) - len(stripped), stripped))
    return out


def _words(text: str) -> int:
    return len(text.split())


def _is_furniture(text: str) -> bool:
    return bool(rules.FURNITURE.match(text))


def _is_sentence(text: str) -> bool:
    return bool(re.search(r"[.!?…:;\"”’)]$", text)) or _words(text) >= 12


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).casefold().strip()


def _is_name(text: str) -> bool:
    if not rules.NAME.match(text) or _is_furniture(text) or is_date_line(text):
        return False
    if text.split()[0].casefold().strip(".,!") in rules.NOT_NAMES:
        return False
    if text[-1] in ".?!:;,":
        return text.endswith(".") and len(text.split()[-1]) <= 3  # "Jo P."
    return text[0].isupper() or text[0] == "@" or text[0].isdigit() is False and text.islower()


# ---------------------------------------------------------------- paragraphs

def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    paragraphs: list[list[Line]] = [[]]
    for line in lines:
        if line.blank:
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    return [p for p in paragraphs if p]


def _join(paragraphs: list[list[Line]]) -> str:
    return "\n\n".join("\n".join(line.text for line in p) for p in paragraphs).strip()


def _drop_furniture_runs(lines: list[Line]) -> list[Line]:
    """Drop furniture lines and the short non-sentence lines standing next to them."""
    keep = [True] * len(lines)
    runs: list[list[int]] = []
    current: list[int] = []
    for i, line in enumerate(lines):
        if line.blank:
            continue
        short = _words(line.text) <= 8 and not _is_sentence(line.text)
        if short:
            if current and current[-1] != i - 1 and not all(lines[j].blank for j in
                                                            range(current[-1] + 1, i)):
                runs.append(current)
                current = []
            current.append(i)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    for run in runs:
        furniture = [i for i in run if _is_furniture(lines[i].text)]
        if furniture:
            # a run of short lines with furniture among them is a block of furniture,
            # unless the run is long enough to be a list in the article
            for i in run if len(run) <= 4 else furniture:
                keep[i] = False
    return [line for line, k in zip(lines, keep) if k]


# ---------------------------------------------------------------- header

@dataclass
class _Header:
    title: str | None = None
    title_index: int | None = None
    author: str | None = None
    author_role: str | None = None
    published: str | None = None
    published_text: str | None = None
    subtitle: str | None = None
    consumed: set[int] = field(default_factory=set)


def _parse_byline(rest: str) -> tuple[str | None, str | None, str | None]:
    """"Jane Roe, Senior Analyst | June 3, 2019" → (name, role, date text)."""
    date_text = None
    parts = [p.strip() for p in re.split(r"\s+[|·•]\s+|\s+[—–]\s+", rest) if p.strip()]
    kept = []
    for part in parts:
        if is_date_line(part) and date_text is None:
            date_text = part
        else:
            kept.append(part)
    rest = ", ".join(kept)
    match = re.match(r"^(?P<name>.+?)\s+(?:on|at)\s+(?P<when>.+)$", rest)
    if match and (is_date_line(match["when"]) or re.match(r"^\d{1,2}:\d{2}", match["when"])):
        rest = match["name"]
        date_text = date_text or match["when"]
    name, _, role = rest.partition(",")
    name = name.strip()
    return (name or None), (role.strip() or None), date_text


def _parse_header(lines: list[Line], title_hint: str | None) -> _Header:
    header = _Header()
    hint = _norm(title_hint) if title_hint else None
    for i, line in enumerate(lines):
        if line.blank:
            continue
        if hint and _norm(line.text) == hint:
            header.title, header.title_index = line.text, i
            break
    for i, line in enumerate(lines):
        if line.blank:
            continue
        text = line.text
        byline = rules.BYLINE.match(text)
        if byline and _words(text) <= 20:
            name, role, date_text = _parse_byline(byline["rest"])
            if name and _words(name) <= 6:
                header.author = header.author or name
                header.author_role = header.author_role or role
                if date_text and to_iso(date_text) and header.published is None:
                    header.published_text, header.published = date_text, to_iso(date_text)
                header.consumed.add(i)
                continue
        if is_date_line(text) and _words(text) <= 10:
            if header.published is None and to_iso(text):
                header.published_text, header.published = _strip_date_prefix(text), to_iso(text)
            header.consumed.add(i)
            continue
        if header.title_index is None and _is_title_like(text):
            header.title, header.title_index = text, i
            header.consumed.add(i)
            continue
    if header.title_index is not None:
        header.consumed.add(header.title_index)
    return header


def _strip_date_prefix(text: str) -> str:
    return re.sub(r"^[•·*\-–—|]\s*", "", text).strip()


def _is_title_like(text: str) -> bool:
    return (2 <= _words(text) <= 25 and not text.endswith(".") and not _is_furniture(text)
            and not text.islower() and not rules.END_OF_ARTICLE.match(text))


# ---------------------------------------------------------------- thread

@dataclass
class _Draft:
    start: int
    indent: int
    author: str | None = None
    handle: str | None = None
    date_text: str | None = None
    parent: int | None = None
    kind: str = "comment"
    lines: list[Line] = field(default_factory=list)
    numbered: bool = False


def _start_of_comment(lines: list[Line], i: int, state: dict) -> _Draft | None:
    """A new comment's draft when ``lines[i]`` starts one, else None."""
    line = lines[i]
    text = line.text
    if rules.COMMENT_FURNITURE.match(text) and not rules.PINGBACK.match(text):
        return None
    ping = rules.PINGBACK.match(text)
    if ping:
        draft = _Draft(i, line.indent, kind=ping["kind"].lower())
        rest = ping["rest"].strip()
        author = re.split(r"\s+[»|]\s+|\s+[–—-]\s+", rest)[0].strip() if rest else None
        draft.author = author or None
        if rest:
            draft.lines.append(Line(line.number, line.indent, rest))
        draft.pingback_title = rest  # type: ignore[attr-defined]
        return draft
    numbered = rules.NUMBERED.match(text)
    if numbered and _expected_number(state, int(numbered["number"]), line.indent):
        draft = _Draft(i, line.indent, numbered=True)
        _read_author_line(draft, numbered["rest"], lines, i, allow_text=True)
        return draft
    bullet = rules.BULLET.match(text)
    if bullet:
        says = rules.SAYS.match(bullet["rest"])
        if says and _is_name(says["author"].strip()):
            draft = _Draft(i, line.indent + 1)
            _read_author_line(draft, bullet["rest"], lines, i, allow_text=False)
            draft.reply = True  # type: ignore[attr-defined]
            return draft
    says = rules.SAYS.match(text)
    if says and _is_name(says["author"].strip()):
        draft = _Draft(i, line.indent)
        _read_author_line(draft, text, lines, i, allow_text=False)
        return draft
    name_date = rules.NAME_AND_DATE.match(text)
    if name_date and _is_name(name_date["author"]) and is_date_line(name_date["date"]):
        return _Draft(i, line.indent, author=name_date["author"].strip(),
                      date_text=name_date["date"].strip())
    if _is_name(text) and _words(text) <= 5:
        following = _next_nonblank(lines, i)
        if following is not None and is_date_line(lines[following].text):
            draft = _Draft(i, line.indent, author=text.strip())
            draft.date_text = _strip_date_prefix(lines[following].text)
            draft.skip_to = following  # type: ignore[attr-defined]
            return draft
    return None


def _expected_number(state: dict, number: int, indent: int) -> bool:
    last = state.get("last_number")
    if last is None:
        return number == 1 or state.get("allow_any_first", False)
    return number == last + 1 and indent <= state.get("top_indent", indent)


def _read_author_line(draft: _Draft, rest: str, lines: list[Line], i: int,
                      *, allow_text: bool) -> None:
    says = rules.SAYS.match(rest)
    if says and _is_name(says["author"].strip()):
        draft.author = says["author"].strip()
        if says["date"]:
            draft.date_text = says["date"].strip()
        return
    name_date = rules.NAME_AND_DATE.match(rest)
    if name_date and _is_name(name_date["author"]) and is_date_line(name_date["date"]):
        draft.author = name_date["author"].strip()
        draft.date_text = name_date["date"].strip()
        return
    if allow_text:
        draft.lines.append(Line(lines[i].number, lines[i].indent, rest))


def _next_nonblank(lines: list[Line], i: int) -> int | None:
    for j in range(i + 1, min(i + 4, len(lines))):
        if not lines[j].blank:
            return j
    return None


def _parse_thread(lines: list[Line]) -> list[CommentRecord]:
    drafts: list[_Draft] = []
    state: dict = {}
    stack: list[tuple[int, int]] = []  # (indent, index into drafts)
    skip_until = -1
    for i, line in enumerate(lines):
        if i <= skip_until:
            continue
        if line.blank:
            if drafts:
                drafts[-1].lines.append(line)
            continue
        draft = _start_of_comment(lines, i, state)
        if draft is None:
            if drafts:
                drafts[-1].lines.append(line)
            else:
                log.debug("text before the first comment ignored: %r", line.text)
            continue
        skip_until = getattr(draft, "skip_to", i)
        index = len(drafts)
        if draft.numbered:
            state["last_number"] = state.get("last_number", 0) + 1
            state["top_indent"] = min(state.get("top_indent", draft.indent), draft.indent)
            stack = [(draft.indent, index)]
        else:
            while stack and stack[-1][0] >= draft.indent:
                stack.pop()
            if getattr(draft, "reply", False) and not stack and drafts:
                stack = [(draft.indent - 1, index - 1)]
            draft.parent = stack[-1][1] if stack else None
            stack.append((draft.indent, index))
        drafts.append(draft)
    _apply_reply_markup(drafts)
    records: list[CommentRecord] = []
    index_of: dict[int, int] = {}  # draft index -> record index
    for i, draft in enumerate(drafts):
        record = _finish(draft)
        if record is None:
            continue
        parent = draft.parent
        while parent is not None and parent not in index_of:
            parent = drafts[parent].parent  # the parent held no text: reply to its parent
        record.parent = index_of[parent] if parent is not None else None
        index_of[i] = len(records)
        records.append(record)
    return records


def _apply_reply_markup(drafts: list[_Draft]) -> None:
    """"In reply to NAME" lines at a comment's start set its parent to NAME's latest comment."""
    for index, draft in enumerate(drafts):
        content = [line for line in draft.lines if not line.blank]
        if not content:
            continue
        match = rules.IN_REPLY_TO.match(content[0].text)
        if not match:
            continue
        name = _norm(match["name"])
        for earlier in range(index - 1, -1, -1):
            author = drafts[earlier].author
            if author and (_norm(author) == name or _norm(author).split()[0] == name):
                draft.parent = earlier
                break
        draft.lines.remove(content[0])


def _finish(draft: _Draft) -> CommentRecord | None:
    lines = [line for line in draft.lines
             if line.blank or not (rules.COMMENT_FURNITURE.match(line.text)
                                   or rules.QUOTE_HEADER.match(line.text))]
    content = [i for i, line in enumerate(lines) if not line.blank]
    if draft.date_text is None and content:
        last = lines[content[-1]]
        if is_date_line(last.text):
            draft.date_text = _strip_date_prefix(last.text)
            lines = lines[: content[-1]]
    if draft.date_text is None and content:
        first = lines[content[0]]
        if is_date_line(first.text):
            draft.date_text = _strip_date_prefix(first.text)
            lines = lines[content[0] + 1:]
    paragraphs = _paragraphs(lines)
    if draft.author is None and len(paragraphs) > 1:
        _take_signature(draft, paragraphs)
    text = _join(paragraphs)
    if draft.kind != "comment" and getattr(draft, "pingback_title", None) and not text:
        text = draft.pingback_title  # type: ignore[attr-defined]
    if not text:
        return None
    date_text = draft.date_text
    posted_at = None if date_text is None or is_relative_date(date_text) else to_iso(date_text)
    return CommentRecord(text=text, author=draft.author, author_handle=draft.handle,
                         posted_at=posted_at, posted_at_text=date_text, parent=None,
                         kind=draft.kind)


def _take_signature(draft: _Draft, paragraphs: list[list[Line]]) -> None:
    last = paragraphs[-1]
    if len(last) != 1:
        return
    match = rules.SIGNATURE.match(last[0].text)
    if not match or _words(last[0].text) > 10:
        return
    name = match["name"]
    if name.split()[0].casefold() in rules.NOT_NAMES:
        return
    if not (match["handle"] or match["role"] or last[0].text[0] in "-—–~" or _words(name) >= 2):
        return
    draft.author = name
    draft.handle = match["handle"]
    paragraphs.pop()


# ---------------------------------------------------------------- document

def parse_plaintext(text: str, *, name: str = "<text>") -> DocumentRecord:
    """Parse a page saved as plain text; raise ``ExtractionError`` when it holds no article."""
    lines = _lines(text)
    heading_index, heading = _find(lines, rules.THREAD_HEADING, 0)
    declared = None
    title_hint = None
    if heading:
        count = heading["count"] or heading["count2"] or heading["count3"]
        if count and count.replace(",", "").isdigit():
            declared = int(count.replace(",", ""))
        elif count and count.lower() == "no":
            declared = 0
        title_hint = (heading["title"] or "").strip(" “”\"'‘’:") or None
    article_end = heading_index if heading_index is not None else len(lines)
    end_index, end_match = _find(lines[:article_end], rules.END_OF_ARTICLE, 0)
    body_end = end_index if end_index is not None else article_end
    header = _parse_header(lines[:body_end], title_hint)
    if header.title is None:
        raise ExtractionError("no title found (expected a short heading line before the text)")
    body_lines = [
        line for i, line in enumerate(lines[:body_end])
        if i > header.title_index and i not in header.consumed
    ]
    body_lines = _drop_furniture_runs(body_lines)
    paragraphs = _paragraphs(body_lines)
    subtitle = None
    if paragraphs and len(paragraphs) > 1 and _bylines_between(lines, header, paragraphs[0]):
        subtitle = _join([paragraphs.pop(0)])
    body = _join(paragraphs)
    extra: dict = {}
    if subtitle:
        extra["subtitle"] = subtitle
    author = header.author
    if end_match is not None and end_match.groupdict().get("about_name"):
        about = end_match["about_name"]
        author = author or re.sub(r",.*$", "", about).strip()
    bio = _author_box(lines, end_index, article_end, end_match)
    if bio:
        if author is None and bio[0]:
            author = bio[0]
        if bio[1]:
            extra["author_bio"] = bio[1]
    if not body:
        raise ExtractionError(f"no article text found after the title {header.title!r}")
    comments: list[CommentRecord] = []
    if heading_index is not None:
        thread_end, _ = _find(lines, rules.END_OF_THREAD, heading_index + 1)
        thread = lines[heading_index + 1: thread_end if thread_end is not None else len(lines)]
        comments = _parse_thread(thread)
        if declared is not None and declared != len(comments):
            extra["warnings"] = [
                f"the page announces {declared} comments but {len(comments)} were found"
            ]
            log.warning("%s: the page announces %d comments, %d found",
                        name, declared, len(comments))
    return DocumentRecord(
        title=header.title, body=body, author=author, author_role=header.author_role,
        published=header.published, published_text=header.published_text,
        declared_comment_count=declared, comments=comments, extra=extra,
    )


def _bylines_between(lines: list[Line], header: _Header, paragraph: list[Line]) -> bool:
    """True when a byline/date line sits after ``paragraph`` (a standfirst under the title)."""
    last = paragraph[-1].number
    return any(i > last for i in header.consumed if i != header.title_index)


def _author_box(lines: list[Line], start: int | None, stop: int,
                match: re.Match | None) -> tuple[str | None, str | None] | None:
    """(name, bio) from an "About the author" / "About NAME" box."""
    if start is None or match is None or not lines[start].text.lower().startswith("about"):
        return None
    paragraphs = _paragraphs(_drop_furniture_runs(lines[start + 1: stop]))
    name = None
    if not match.groupdict().get("about_name") and paragraphs and _is_name(
            paragraphs[0][0].text):
        name = paragraphs[0][0].text
        rest = paragraphs[0][1:]
        paragraphs = ([rest] if rest else []) + paragraphs[1:]
    bio_paragraphs = []
    for p in paragraphs:
        if rules.END_OF_ARTICLE.match(p[0].text):
            break
        bio_paragraphs.append(p)
    return name, _join(bio_paragraphs) or None


def _find(lines: list[Line], pattern: re.Pattern, start: int) -> tuple[int | None, re.Match | None]:
    for i in range(start, len(lines)):
        if lines[i].text and _words(lines[i].text) <= 25:
            match = pattern.match(lines[i].text)
            if match:
                return i, match
    return None, None
