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
from ingest.dates import find_date, is_date_line, is_relative_date, to_iso
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
    return (_words(text) >= 3 and bool(re.search(r"[.!?…:;\"”’]$", text))) or _words(text) >= 12


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
            # unless the run is long and mostly not furniture (a list in the article)
            for i in run if len(run) <= 4 or 3 * len(furniture) >= len(run) else furniture:
                keep[i] = False
    for i, line in enumerate(lines):
        if line.text and _is_furniture(line.text):
            keep[i] = False
    return [line for line, k in zip(lines, keep) if k]


# ---------------------------------------------------------------- header

_ROLE_WORDS = re.compile(
    r"\b(?:editor|director|analyst|manager|officer|head|lead|vp|vice president|president|founder"
    r"|consultant|writer|reporter|correspondent|contributor|columnist|ceo|cco|cmo|partner"
    r"|researcher|designer|strategist|principal|chief)\b", re.IGNORECASE)


@dataclass
class _Header:
    title: str | None = None
    title_index: int | None = None
    author: str | None = None
    author_role: str | None = None
    published: str | None = None
    published_text: str | None = None
    subtitle: str | None = None
    consumed: set[int] = field(default_factory=set)  # line indexes that are not body

    def take_date(self, text: str) -> None:
        iso = to_iso(text)
        if iso is None:
            return
        if self.published is None:
            self.published, self.published_text = iso, _strip_date_prefix(text)
        elif "T" not in self.published and "T" in iso and iso.startswith(self.published):
            self.published = iso

    def take_time(self, clock: str) -> None:
        """Join a time-only byline ("Posted by X at 10:42 AM") to a date-only published."""
        match = re.match(r"^(\d{1,2}):(\d{2})\s*([ap])\.?m\.?$", clock.strip(), re.IGNORECASE)
        if not match or self.published is None or "T" in self.published:
            return
        hour = int(match[1]) % 12 + (12 if match[3].lower() == "p" else 0)
        self.published = f"{self.published}T{hour:02d}:{int(match[2]):02d}:00"
        self.published_text = f"{self.published_text} {clock.strip()}"


def _parse_byline(rest: str) -> tuple[str | None, str | None, str | None]:
    """"Jane Roe, Senior Analyst | June 3, 2019" → (name, role, date or time text)."""
    when = None
    parts = [p.strip() for p in re.split(r"\s+[|·•]\s+|\s+[—–]\s+", rest) if p.strip()]
    kept = []
    for part in parts:
        if when is None and is_date_line(part):
            when = part
        else:
            kept.append(part)
    rest = ", ".join(kept)
    match = re.match(r"^(?P<name>.+?),?\s+(?:on|at)\s+(?P<when>.+)$", rest)
    if not match:
        match = re.match(r"^(?P<name>.+?),\s+(?P<when>.+)$", rest)
        if match and not is_date_line(match["when"]):
            match = None
    if match and (is_date_line(match["when"]) or re.match(r"^\d{1,2}:\d{2}", match["when"])):
        rest = match["name"]
        when = when or match["when"]
    name, _, role = rest.partition(",")
    return (name.strip() or None), (role.strip() or None), when


def _byline(text: str) -> tuple[str, str | None, str | None] | None:
    """(name, role, date or time text) when ``text`` is a byline, else None."""
    byline = rules.BYLINE.match(text)
    if not byline or _words(text) > 20:
        return None
    name, role, when = _parse_byline(byline["rest"])
    if not name or not _is_name(name) or name.split()[0].casefold() in rules.NOT_NAMES:
        return None
    return name, role, when


def _read_byline(header: _Header, text: str) -> bool:
    """Take author, role and date from a byline; False when ``text`` is not one."""
    parsed = _byline(text)
    if parsed is None:
        return False
    name, role, when = parsed
    header.author = header.author or name
    header.author_role = header.author_role or role
    if when:
        if to_iso(when):
            header.take_date(when)
        else:
            header.take_time(when)
    return True


def _strip_date_prefix(text: str) -> str:
    return re.sub(r"^[•·*\-–—|]\s*", "", text).strip()


def _is_title_like(text: str) -> bool:
    return (2 <= _words(text) <= 25 and not _is_furniture(text) and not text.isupper()
            and not text.islower() and not rules.END_OF_ARTICLE.match(text)
            and not _byline(text) and not is_date_line(text)
            and not rules.THREAD_HEADING.match(text))


def _is_title_case(text: str) -> bool:
    words = [w for w in re.findall(r"[^\W\d_][\w'’]*", text) if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) >= 0.75


def _is_prose(text: str) -> bool:
    if _is_furniture(text) or _byline(text) or is_date_line(text):
        return False
    if _is_title_case(text) and _words(text) < 20:
        return False
    return (_words(text) >= 8 and bool(re.search(r"[.!?…:\"”’]$", text))) or _words(text) >= 20


def _next_to_furniture(lines: list[Line], i: int) -> bool:
    """True when a line directly above or below ``lines[i]`` is furniture (a blurb in a box)."""
    return any(0 <= j < len(lines) and lines[j].text and _is_furniture(lines[j].text)
               for j in (i - 1, i + 1))


def _hinted_title(lines: list[Line], stop: int, title_hint: str | None) -> int | None:
    """Index of the line that is the title a thread heading names ("7 thoughts on “X”")."""
    if not title_hint:
        return None
    hint = _norm(title_hint)
    return next((i for i in range(stop) if lines[i].text and _norm(lines[i].text) == hint), None)


def _find_body_start(lines: list[Line], stop: int, header: _Header,
                     after: int = -1) -> int | None:
    """Index of the first prose line; a standfirst followed by a byline becomes the subtitle."""
    candidates = [i for i in range(after + 1, stop) if lines[i].text and _is_prose(lines[i].text)
                  and not (_words(lines[i].text) < 12 and _next_to_furniture(lines, i))]
    if not candidates:
        return None
    first = candidates[0]
    later = [i for i in range(first + 1, stop) if lines[i].text][:4]
    meta = [i for i in later if _byline(lines[i].text) or is_date_line(lines[i].text)]
    if meta:
        rest = [i for i in candidates if i > meta[-1]]
        if rest:
            header.subtitle = lines[first].text
            header.consumed.add(first)
            return rest[0]
    return first


def _read_header(lines: list[Line], body_start: int, title_hint: str | None) -> _Header:
    """Title, byline, date and role from the lines above the body."""
    header = _Header()
    for i in range(body_start):
        text = lines[i].text
        if not text:
            continue
        if _read_byline(header, text):
            header.consumed.add(i)
            following = _next_nonblank(lines, i)
            if (following is not None and following < body_start
                    and _is_role_line(lines[following].text)):
                header.author_role = header.author_role or lines[following].text
                header.consumed.add(following)
        elif is_date_line(text) or (find_date(text) and _is_furniture(text)):
            header.take_date(text)
    prefixed = next((rules.TITLE_PREFIX.match(lines[i].text) for i in range(body_start)
                     if rules.TITLE_PREFIX.match(lines[i].text)), None)
    hinted = _hinted_title(lines, body_start, title_hint)
    if hinted is not None:
        header.title, header.title_index = lines[hinted].text, hinted
    if header.title is None and prefixed:
        header.title = prefixed["title"].strip()
    if header.title is None:
        _title_above(lines, body_start, header)
    if header.author is None:
        header.author = _author_above_follow(lines, body_start)
    return header


def _is_role_line(text: str) -> bool:
    return (_words(text) <= 10 and not _is_sentence(text) and bool(_ROLE_WORDS.search(text))
            and not is_date_line(text))


def _title_above(lines: list[Line], body_start: int, header: _Header) -> None:
    """The nearest title-like line above the body, skipping bylines, dates and furniture."""
    for i in range(body_start - 1, -1, -1):
        text = lines[i].text
        if not text or i in header.consumed or not _is_title_like(text):
            continue
        if _is_name(text) and _words(text) <= 4 and _followed_by_follow(lines, i):
            continue  # the author's name over a "Follow" button
        above = lines[i - 1].text if i > 0 else ""
        if (above and _is_title_like(above) and _is_title_case(above)
                and not _is_title_case(text)):
            header.subtitle = header.subtitle or text
            header.consumed.add(i)
            i -= 1
        header.title, header.title_index = lines[i].text, i
        return


def _followed_by_follow(lines: list[Line], i: int) -> bool:
    following = _next_nonblank(lines, i)
    return following is not None and bool(
        re.match(r"^(?:follow|\d+\s+min(?:ute)?s?\s+read\b)", lines[following].text, re.IGNORECASE))


def _author_above_follow(lines: list[Line], body_start: int) -> str | None:
    for i in range(body_start):
        text = lines[i].text
        if text and _is_name(text) and _words(text) <= 4 and _followed_by_follow(lines, i):
            return text
    return None


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
    numbered: bool = False  # a numbered top-level item ("3. Eric says:")
    reply: bool = False  # introduced by a bullet: replies to the comment above it
    skip_to: int | None = None  # the start spans lines up to this index (name, badge, date)


def _start_of_comment(lines: list[Line], i: int, state: dict) -> _Draft | None:
    """A new comment's draft when ``lines[i]`` starts one, else None."""
    line = lines[i]
    text = line.text
    if (rules.COMMENT_FURNITURE.match(text) or rules.BADGE.match(text)
            or _is_control_line(text)) and not rules.PINGBACK.match(text):
        return None
    ping = rules.PINGBACK.match(text)
    if ping:
        # the displayed name of a pingback is the linking page's site and title
        return _Draft(i, line.indent, kind=ping["kind"].lower(),
                      author=ping["rest"].strip() or None)
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
            draft.reply = True
            return draft
    says = rules.SAYS.match(text)
    if says and _is_name(says["author"].strip()):
        draft = _Draft(i, line.indent)
        _read_author_line(draft, text, lines, i, allow_text=False)
        return draft
    name_date = rules.NAME_AND_DATE.match(text)
    if name_date and _is_name(name_date["author"]):
        when = re.sub(r"\s*[•·|]\s*edited$", "", name_date["date"].strip(), flags=re.IGNORECASE)
        if is_date_line(when):
            return _Draft(i, line.indent, author=name_date["author"].strip(), date_text=when)
    if _is_name(text) and _words(text) <= 5:
        following = _next_nonblank(lines, i, skip=rules.BADGE)
        if following is not None and is_date_line(lines[following].text):
            draft = _Draft(i, line.indent, author=text.strip())
            draft.date_text = _strip_date_prefix(lines[following].text)
            draft.skip_to = following
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


def _next_nonblank(lines: list[Line], i: int, skip: re.Pattern | None = None) -> int | None:
    """The next line with text within three lines (passing over lines ``skip`` matches)."""
    for j in range(i + 1, min(i + 5, len(lines))):
        if lines[j].blank or (skip is not None and skip.match(lines[j].text)):
            continue
        return j
    return None


def _is_control_line(text: str) -> bool:
    """"7 • Reply • Share ›": a line made only of buttons and counts."""
    tokens = [t.strip() for t in re.split(r"[•·|›»]+", text) if t.strip()]
    return len(tokens) > 1 and all(rules.COMMENT_FURNITURE.match(t) for t in tokens)


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
        skip_until = draft.skip_to if draft.skip_to is not None else i
        index = len(drafts)
        if draft.numbered:
            state["last_number"] = state.get("last_number", 0) + 1
            state["top_indent"] = min(state.get("top_indent", draft.indent), draft.indent)
            stack = [(draft.indent, index)]
        else:
            while stack and stack[-1][0] >= draft.indent:
                stack.pop()
            if draft.reply and not stack and drafts:
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
                                   or rules.QUOTE_HEADER.match(line.text)
                                   or _is_control_line(line.text))]
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
    if not text and draft.kind != "comment" and draft.author:
        text = draft.author  # a bare pingback: its link text is all there is
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
    if sum(1 for line in lines if rules.FORUM_POST_NUMBER.match(line.text)) >= 2:
        return _parse_forum(lines, name)
    heading_index, heading = _find(lines, rules.THREAD_HEADING, 0)
    declared, title_hint = _heading_facts(heading)
    article_end = heading_index if heading_index is not None else len(lines)
    header = _Header()
    hinted = _hinted_title(lines, article_end, title_hint)
    body_start = _find_body_start(lines, article_end, header,
                                  after=hinted if hinted is not None else -1)
    if body_start is None:
        raise ExtractionError("no article text found (no paragraph of running text)")
    subtitle = header.subtitle
    header = _read_header(lines, body_start, title_hint)
    header.subtitle = subtitle or header.subtitle
    if header.title is None:
        raise ExtractionError("no title found (expected a short heading line above the text)")
    end_index, end_match = _find(lines, rules.END_OF_ARTICLE, body_start, stop=article_end)
    body_end = end_index if end_index is not None else article_end
    body_lines = []
    for line in lines[body_start:body_end]:
        if line.text and _words(line.text) <= 12 and _read_byline(header, line.text):
            continue  # "Posted by NAME at 10:42 AM" under a Blogger post
        if line.text and line.text == header.subtitle:
            continue
        body_lines.append(line)
    body = _join(_paragraphs(_drop_furniture_runs(body_lines)))
    if not body:
        raise ExtractionError(f"no article text found under the title {header.title!r}")
    extra: dict = {}
    if header.subtitle:
        extra["subtitle"] = header.subtitle
    author = header.author
    box = _author_box(lines, end_index, article_end, end_match)
    if box is not None:
        author = author or box[0]
        if box[1]:
            extra["author_bio"] = box[1]
    comments: list[CommentRecord] = []
    if heading_index is not None:
        thread_end, _ = _find(lines, rules.END_OF_THREAD, heading_index + 1)
        comments = _parse_thread(lines[heading_index + 1: thread_end])
        if declared is not None and declared != len(comments):
            extra["warnings"] = [
                f"the page announces {declared} comments but {len(comments)} were found"]
            log.info("%s: the page announces %d comments, %d found",
                     name, declared, len(comments))
    return DocumentRecord(
        title=header.title, body=body, author=author, author_role=header.author_role,
        published=header.published, published_text=header.published_text,
        declared_comment_count=declared, comments=comments, extra=extra,
    )


def _heading_facts(heading: re.Match | None) -> tuple[int | None, str | None]:
    """(announced comment count, title named in the heading) of a thread heading."""
    if heading is None:
        return None, None
    count = heading["count"] or heading["count2"] or heading["count3"]
    declared = None
    if count and count.replace(",", "").isdigit():
        declared = int(count.replace(",", ""))
    elif count and count.lower() == "no":
        declared = 0
    title = (heading["title"] or "").strip(" “”\"'‘’:") or None
    return declared, title


def _author_box(lines: list[Line], start: int | None, stop: int,
                match: re.Match | None) -> tuple[str | None, str | None] | None:
    """(name, bio) from an "About the author", "About NAME" or "Written by NAME" box."""
    if start is None or match is None:
        return None
    named = match.groupdict().get("about_name") or match.groupdict().get("written_name")
    if not named and not lines[start].text.lower().startswith("about"):
        return None
    name = re.sub(r",.*$", "", named).strip() if named else None
    paragraphs = _paragraphs(_drop_furniture_runs(lines[start + 1: stop]))
    if name is None and paragraphs and _is_name(paragraphs[0][0].text):
        name = paragraphs[0][0].text
        rest = paragraphs[0][1:]
        paragraphs = ([rest] if rest else []) + paragraphs[1:]
    bio = []
    for paragraph in paragraphs:
        if rules.END_OF_ARTICLE.match(paragraph[0].text) or _is_furniture(paragraph[0].text):
            break
        bio.append(paragraph)
    return name, _join(bio) or None


def _find(lines: list[Line], pattern: re.Pattern, start: int,
          stop: int | None = None) -> tuple[int | None, re.Match | None]:
    for i in range(start, len(lines) if stop is None else stop):
        if lines[i].text and _words(lines[i].text) <= 25:
            match = pattern.match(lines[i].text)
            if match:
                return i, match
    return None, None


# ---------------------------------------------------------------- forums

def _parse_forum(lines: list[Line], name: str) -> DocumentRecord:
    """A flat forum thread ("#1", "#2" … posts): the first post is the document."""
    header = _Header()
    starts = [i for i, line in enumerate(lines) if rules.FORUM_POST_NUMBER.match(line.text)]
    for i in range(starts[0]):
        match = rules.TITLE_PREFIX.match(lines[i].text)
        if match and header.title is None:
            header.title = match["title"].strip()
    end, _ = _find(lines, rules.END_OF_THREAD, starts[-1])
    posts = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else (end if end is not None else len(lines))
        posts.append(_forum_post(lines[start + 1: stop]))
    first = posts[0]
    if first is None:
        raise ExtractionError("the first forum post holds no text")
    body = first.text
    paragraphs = body.split("\n", 1)
    if header.title is None:
        header.title = paragraphs[0]
    if _norm(paragraphs[0]) == _norm(header.title) and len(paragraphs) > 1:
        body = paragraphs[1].strip()
    comments = [post for post in posts[1:] if post is not None]
    return DocumentRecord(
        title=header.title, body=body, author=first.author, published=first.posted_at,
        published_text=first.posted_at_text, comments=comments,
    )


def _forum_post(lines: list[Line]) -> CommentRecord | None:
    content = [i for i, line in enumerate(lines) if line.text]
    if not content:
        return None
    author = lines[content[0]].text
    draft = _Draft(0, 0, author=author)
    for line in lines[content[0] + 1:]:
        if draft.date_text is None and not [x for x in draft.lines if x.text] and (
                is_date_line(line.text) or _is_relative_clock(line.text)):
            draft.date_text = line.text
            continue
        draft.lines.append(line)
    return _finish(draft)


def _is_relative_clock(text: str) -> bool:
    return bool(re.match(r"^(?:yesterday|today)\b", text, re.IGNORECASE))
