"""WordPress data → records: REST API comment pages (JSON) and WXR export files (XML).

Pure functions, bytes in and records out. Both sources give each comment an id and a
parent id; comments come out in thread (reading) order: top-level comments by date, each
followed depth-first by its replies by date. ``thread_order`` and ``iso_date`` are shared
with the feed and Disqus parsers.
"""

from __future__ import annotations

import email.utils
import html
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree

from ingest.dates import to_iso
from ingest.errors import ExtractionError
from ingest.htmltext import autop, html_to_text
from kb.records import CommentRecord, DocumentRecord

log = logging.getLogger(__name__)

_WXR_NS = re.compile(r"^https?://wordpress\.org/export/\d+\.\d+/?$")
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_KEPT_POST_TYPES = ("post", "page")
_KINDS = {"": "comment", "comment": "comment", "pingback": "pingback", "trackback": "trackback"}
_SKIPPED_APPROVAL = {"0": "unapproved", "spam": "spam", "trash": "trash",
                     "post-trashed": "trashed with its post"}


# ---------------------------------------------------------------- shared helpers


def iso_date(text: str | None) -> str | None:
    """ISO 8601 for a platform date: ISO ("2017-05-10T09:32:11Z", "2017-05-10 09:32:11"),
    RFC 822 ("Wed, 10 May 2017 09:32:11 +0000") or anything ``to_iso`` reads.

    Times with an offset are given as UTC clock time without the offset
    ("2017-05-10T11:32:11+02:00" → "2017-05-10T09:32:11"); times without one are kept as
    written. WordPress's "0000-00-00 00:00:00" (never published) is None.
    """
    if not text or not text.strip():
        return None
    written = text.strip()
    if written.startswith("0000-00-00"):
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", written):
        try:
            return date.fromisoformat(written).isoformat()
        except ValueError:
            return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(written)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(written)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        return to_iso(written)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0).isoformat()


@dataclass
class ThreadProblem:
    """A comment placed at the top level because its parent could not be used."""

    id: str
    parent: str
    reason: str  # "missing" (not in the data) or "cycle" (replies form a loop)


def thread_order(
    nodes: Sequence[tuple[str, str | None, str | None]],
) -> tuple[list[tuple[int, int | None]], list[ThreadProblem]]:
    """Reading order for ``(id, parent id or None, ISO date or None)`` triples.

    Returns ``(order, problems)``: ``order`` lists ``(index into nodes, index of the parent
    in order or None)``, top-level nodes by date each followed depth-first by its replies
    by date (undated ones after dated siblings, ties in input order). A node whose parent
    is not among the ids is placed at the top level and reported in ``problems``.
    """
    ids = {node_id: i for i, (node_id, _, _) in enumerate(nodes)}
    children: dict[int | None, list[int]] = {}
    problems: list[ThreadProblem] = []
    for i, (node_id, parent, _) in enumerate(nodes):
        if parent is not None and parent not in ids:
            problems.append(ThreadProblem(node_id, parent, "missing"))
            parent = None
        children.setdefault(None if parent is None else ids[parent], []).append(i)

    def sort_key(i: int) -> tuple[bool, str, int]:
        when = nodes[i][2]
        return (when is None, when or "", i)

    order: list[tuple[int, int | None]] = []
    placed: dict[int, int] = {}

    def walk(roots: list[int]) -> None:
        stack: list[tuple[int, int | None]] = [(i, None) for i in sorted(roots, key=sort_key)]
        stack.reverse()
        while stack:
            i, parent_pos = stack.pop()
            if i in placed:
                continue
            placed[i] = len(order)
            order.append((i, parent_pos))
            replies = sorted(children.get(i, []), key=sort_key)
            stack.extend((child, placed[i]) for child in reversed(replies))

    walk(children.get(None, []))
    # what the walk did not reach replies in a loop (a → b → a): break it at the top level
    while len(placed) < len(nodes):
        first = min((i for i in range(len(nodes)) if i not in placed), key=sort_key)
        problems.append(ThreadProblem(nodes[first][0], nodes[first][1] or "", "cycle"))
        walk([first])
    return order, problems


def _clean(value: Any) -> str | None:
    """A stripped string, or None for missing/empty values."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _name(value: Any) -> str | None:
    """A display name; WordPress stores some (pingback titles) with HTML entities."""
    name = _clean(value)
    return _clean(" ".join(html.unescape(name).split())) if name else None


def _clean_url(value: Any) -> str | None:
    url = _clean(value)
    if url in (None, "http://", "https://"):
        return None
    return url


# ---------------------------------------------------------------- REST API JSON


def wp_comments_total_pages(headers: Mapping[str, str]) -> int | None:
    """The X-WP-TotalPages header as a number (any header case), or None."""
    for name, value in headers.items():
        if name.lower() == "x-wp-totalpages":
            try:
                pages = int(str(value).strip())
            except ValueError:
                return None
            return pages if pages >= 0 else None
    return None


def parse_wp_comments_json(
    pages: list[bytes] | bytes, *, post_url: str | None = None
) -> list[CommentRecord]:
    """Comments from one or several ``/wp-json/wp/v2/comments?post=ID`` responses.

    Returns them in thread order with ``parent`` as an index; ids repeated across pages
    are read once. Raises ``ExtractionError`` for bytes that are not a JSON list of
    WordPress comment objects, or pages that mix comments of several posts.
    """
    if isinstance(pages, (bytes, bytearray)):
        pages = [bytes(pages)]
    seen: dict[int, dict[str, Any]] = {}
    posts: set[Any] = set()
    for page_no, data in enumerate(pages, start=1):
        where = f"page {page_no}" if len(pages) > 1 else "the response"
        for item_no, item in enumerate(_json_page(data, where), start=1):
            comment_id = _valid_comment(item, item_no, where)
            if comment_id in seen:
                continue
            status = item.get("status")
            if status not in (None, "approved", "approve", "1"):
                log.info("WordPress comment %s skipped: status %r", comment_id, status)
                continue
            seen[comment_id] = item
            if item.get("post") is not None:
                posts.add(item["post"])
    if len(posts) > 1:
        ids = ", ".join(str(p) for p in sorted(posts, key=str))
        raise ExtractionError(f"expected the comments of one WordPress post, got comments of "
                              f"posts {ids}")
    items = list(seen.values())
    nodes = []
    for item in items:
        parent = item.get("parent") or 0
        nodes.append((str(item["id"]), str(parent) if parent else None,
                      iso_date(item.get("date_gmt")) or iso_date(item.get("date"))))
    order, problems = thread_order(nodes)
    for problem in problems:
        log.warning("WordPress comment %s replies to %s, which is %s; kept at the top level",
                    problem.id, problem.parent,
                    "not in the data" if problem.reason == "missing" else "in a reply loop")
    comments = []
    for index, parent_pos in order:
        item = items[index]
        written = _clean(item.get("date"))
        link = _clean_url(item.get("link"))
        if link is None and post_url:
            link = f"{post_url.split('#')[0]}#comment-{item['id']}"
        comments.append(CommentRecord(
            text=html_to_text(_rendered(item.get("content"))),
            author=_name(item.get("author_name")),
            author_url=_clean_url(item.get("author_url")),
            posted_at=iso_date(written),
            posted_at_text=written,
            parent=parent_pos,
            external_id=str(item["id"]),
            permalink=link,
            kind=_KINDS.get(str(item.get("type") or ""), "comment"),
        ))
    return comments


def _json_page(data: bytes, where: str) -> list[Any]:
    try:
        value = json.loads(data)
    except UnicodeDecodeError as error:
        raise ExtractionError(f"expected a JSON list of WordPress comments; {where} is not "
                              f"UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ExtractionError(f"expected a JSON list of WordPress comments; {where} is not "
                              f"JSON: {error.msg} at line {error.lineno}, column "
                              f"{error.colno}") from None
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and "code" in value and "message" in value:
        raise ExtractionError(f"expected a JSON list of WordPress comments; {where} is a "
                              f"WordPress error: {value['code']}: {value['message']}")
    raise ExtractionError(f"expected a JSON list of WordPress comments; {where} is a JSON "
                          f"{type(value).__name__.replace('dict', 'object')}")


def _valid_comment(item: Any, item_no: int, where: str) -> int:
    if not isinstance(item, dict):
        raise ExtractionError(f"expected a JSON list of WordPress comments; item {item_no} of "
                              f"{where} is not an object")
    comment_id = item.get("id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int):
        raise ExtractionError(f"item {item_no} of {where} has no numeric id (not a WordPress "
                              f"comment)")
    if "content" not in item:
        raise ExtractionError(f"item {item_no} of {where} (id {comment_id}) has no content "
                              f"(not a WordPress comment)")
    return comment_id


def _rendered(content: Any) -> str:
    if isinstance(content, dict):
        return str(content.get("rendered") or content.get("raw") or "")
    return str(content or "")


# ---------------------------------------------------------------- WXR export


def secure_xml_root(data: bytes, expected: str) -> etree._Element:
    """Parse XML without fetching or expanding external entities; raise ``ExtractionError``
    naming ``expected`` and the line/column where the bytes stop being XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, remove_blank_text=False)
    if not data or not data.strip():
        raise ExtractionError(f"expected {expected}, got an empty file")
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        head = data.lstrip()[:200].lower()
        if head.startswith((b"<!doctype html", b"<html")):
            raise ExtractionError(f"expected {expected}, got an HTML page") from None
        line, column = error.position if error.position else (error.lineno, 0)
        lines = (error.msg or str(error)).splitlines()  # lxml adds the broken text below
        message = re.sub(r",? line \d+, column \d+$", "", lines[0] if lines else "").strip()
        message = message or "not XML"
        if line >= data.rstrip().count(b"\n") + 1:
            message += " (the file ends there: cut short?)"
        raise ExtractionError(f"expected {expected}; the XML breaks at line {line}, column "
                              f"{column}: {message}") from None
    if root is None:
        raise ExtractionError(f"expected {expected}, got no XML element")
    return root


def describe_root(root: etree._Element) -> str:
    """What kind of XML document ``root`` starts, for "expected X, got Y" messages."""
    tag = etree.QName(root).localname
    namespaces = set(root.nsmap.values())
    if tag == "rss":
        if any(_WXR_NS.match(ns or "") for ns in namespaces):
            return "a WordPress WXR export"
        return "an RSS feed"
    if tag == "feed":
        return "an Atom feed"
    if tag == "disqus":
        return "a Disqus export"
    if tag == "html":
        return "an HTML page"
    return f"an XML document with root element <{tag}>"


def parse_wxr(data: bytes) -> list[DocumentRecord]:
    """Published posts and pages of a WordPress WXR export, each with its approved comments.

    Raises ``ExtractionError`` when the bytes are not well-formed XML or not a WXR export.
    """
    expected = "a WordPress WXR export (<rss> with the wp: export namespace)"
    root = secure_xml_root(data, expected)
    wp_ns = next((ns for ns in root.nsmap.values() if ns and _WXR_NS.match(ns)), None)
    if etree.QName(root).localname != "rss" or wp_ns is None:
        raise ExtractionError(f"expected {expected}, got {describe_root(root)}")
    channel = root.find("channel")
    if channel is None:
        raise ExtractionError(f"expected {expected}; the <rss> element has no <channel>")
    wp = f"{{{wp_ns}}}"
    site = _clean(channel.findtext("title"))
    authors = {}
    for author in channel.iter(f"{wp}author"):
        login = _clean(author.findtext(f"{wp}author_login"))
        if login:
            authors[login] = _name(author.findtext(f"{wp}author_display_name")) or login
    documents = []
    for item_no, item in enumerate(channel.findall("item"), start=1):
        post_type = _clean(item.findtext(f"{wp}post_type")) or "post"
        status = _clean(item.findtext(f"{wp}status"))
        if post_type not in _KEPT_POST_TYPES or status != "publish":
            log.debug("WXR item %d skipped: %s, %s", item_no, post_type, status)
            continue
        documents.append(_wxr_document(item, item_no, wp, site, authors))
    return documents


def _wxr_document(item: etree._Element, item_no: int, wp: str, site: str | None,
                  authors: dict[str, str]) -> DocumentRecord:
    title_el = item.find("title")
    post_id = _clean(item.findtext(f"{wp}post_id"))
    if title_el is None:
        raise ExtractionError(f"item {item_no} (post {post_id or '?'}) has no <title>")
    title = _clean(title_el.text) or f"(untitled {item.findtext(f'{wp}post_type') or 'post'} "\
                                     f"{post_id or item_no})"
    login = _clean(item.findtext(f"{{{_DC_NS}}}creator"))
    written = _clean(item.findtext(f"{wp}post_date"))
    published = iso_date(written)
    if published is None:
        written = _clean(item.findtext("pubDate")) or written
        published = iso_date(written)
    url = _clean_url(item.findtext("link"))
    comments, warnings = _wxr_comments(item, wp, url)
    extra: dict[str, Any] = {"post_type": item.findtext(f"{wp}post_type") or "post",
                             "warnings": warnings}
    if post_id:
        extra["post_id"] = post_id
    return DocumentRecord(
        title=title,
        body=html_to_text(autop(item.findtext(f"{{{_CONTENT_NS}}}encoded") or "")),
        url=url,
        site=site,
        author=authors.get(login, login) if login else None,
        published=published,
        published_text=written,
        comments=comments,
        extra=extra,
    )


def _wxr_comments(item: etree._Element, wp: str,
                  url: str | None) -> tuple[list[CommentRecord], list[str]]:
    kept: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for number, element in enumerate(item.findall(f"{wp}comment"), start=1):
        comment_id = _clean(element.findtext(f"{wp}comment_id")) or f"#{number}"
        approved = _clean(element.findtext(f"{wp}comment_approved")) or "0"
        if approved != "1":
            skipped[comment_id] = _SKIPPED_APPROVAL.get(approved, f"status {approved!r}")
            continue
        parent = _clean(element.findtext(f"{wp}comment_parent"))
        written = _clean(element.findtext(f"{wp}comment_date"))
        kind = _clean(element.findtext(f"{wp}comment_type")) or ""
        kept.append({
            "id": comment_id,
            "parent": None if parent in (None, "0") else parent,
            "written": written,
            "when": iso_date(written),
            "sort": iso_date(element.findtext(f"{wp}comment_date_gmt")) or iso_date(written),
            "author": _name(element.findtext(f"{wp}comment_author")),
            "author_url": _clean_url(element.findtext(f"{wp}comment_author_url")),
            "html": element.findtext(f"{wp}comment_content") or "",
            "kind": _KINDS.get(kind, "comment"),
        })
    order, problems = thread_order([(c["id"], c["parent"], c["sort"]) for c in kept])
    warnings = []
    for problem in problems:
        if problem.reason == "cycle":
            warnings.append(f"comment {problem.id}: replies form a loop; kept at the top level")
        elif problem.parent in skipped:
            warnings.append(f"comment {problem.id}: parent {problem.parent} skipped "
                            f"({skipped[problem.parent]}); kept at the top level")
        else:
            warnings.append(f"comment {problem.id}: parent {problem.parent} not in export")
    comments = []
    for index, parent_pos in order:
        c = kept[index]
        external_id = None if c["id"].startswith("#") else c["id"]
        comments.append(CommentRecord(
            text=html_to_text(autop(c["html"])), author=c["author"], author_url=c["author_url"],
            posted_at=c["when"], posted_at_text=c["written"], parent=parent_pos,
            external_id=external_id, kind=c["kind"],
            permalink=f"{url.split('#')[0]}#comment-{external_id}" if url and external_id
            else None,
        ))
    return comments, warnings
