"""RSS and Atom feeds → records: a blog's feed of posts, or one WordPress post's comment feed.

Pure functions on the feed's bytes (handed to feedparser as a stream, so it never fetches
a URL or opens a file, and it does not expand external entities). A feed of posts gives one
document per entry; a comment feed (``https://site/post-slug/feed/``, "Comments on: Post
Title") gives the post's URL and its comments in date order; comment feeds carry no reply
structure.
"""

from __future__ import annotations

import html
import io
import logging
import re
from datetime import datetime
from typing import Any

import feedparser

from ingest.errors import ExtractionError
from ingest.htmltext import html_to_text
from ingest.wordpress import iso_date, thread_order
from kb.records import CommentRecord, DocumentRecord

log = logging.getLogger(__name__)

_COMMENTS_TITLE = re.compile(
    r"^\s*(?:comments on|commentaires sur|kommentare zu|comentarios en|coment[aá]rios sobre"
    r"|reacties op|commenti a|kommentarer (?:till|til|på))\s*:?\s+",
    re.IGNORECASE,
)
_BY_TITLE = re.compile(r"^\s*(?:by|par|von|por|door|di|av|af)\s*:\s*", re.IGNORECASE)
_COMMENT_FRAGMENT = re.compile(r"#comment-(\d+)\s*$")
_COMMENT_PAGE = re.compile(r"/comment-page-\d+/?$")
_UNTITLED_LENGTH = 80


def parse_feed(data: bytes, *, url: str | None = None) -> list[DocumentRecord]:
    """One document per entry of an RSS 2.0 / Atom feed of posts, in feed order.

    Raises ``ExtractionError`` ("not a feed: …") when the bytes hold no feed.
    """
    parsed = _parse(data, url)
    site = _clean(parsed.feed.get("title"))
    feed_url = url or _link(parsed.feed, "self")
    documents = []
    for number, entry in enumerate(parsed.entries, start=1):
        body = _entry_text(entry)
        title = _entry_title(entry)
        if not title:
            first_line = body.split("\n", 1)[0].strip()
            if not first_line:
                log.warning("feed entry %d has neither a title nor text; skipped", number)
                continue
            title = first_line if len(first_line) <= _UNTITLED_LENGTH else (
                first_line[:_UNTITLED_LENGTH].rsplit(" ", 1)[0] + "…")
        written, published = _entry_date(entry)
        extra: dict[str, Any] = {"feed_url": feed_url}
        if entry.get("id"):
            extra["entry_id"] = entry["id"]
        if entry.get("wfw_commentrss"):
            extra["comments_feed"] = entry["wfw_commentrss"]
        tags = [t.get("term") for t in entry.get("tags", []) if t.get("term")]
        if tags:
            extra["categories"] = tags
        documents.append(DocumentRecord(
            title=title,
            body=body,
            url=_clean(entry.get("link")),
            site=site,
            author=_entry_author(entry),
            published=published,
            published_text=written,
            declared_comment_count=_int(entry.get("slash_comments")),
            extra=extra,
        ))
    return documents


def is_comment_feed(data: bytes) -> bool:
    """True when the bytes are a (WordPress-style) comment feed rather than a feed of posts.

    Never raises: anything that is not a feed is simply not a comment feed.
    """
    try:
        parsed = _parse(data, None)
    except Exception:  # noqa: BLE001 - a yes/no question about arbitrary bytes
        return False
    return _looks_like_comment_feed(parsed)


def parse_comment_feed(
    data: bytes, *, url: str | None = None
) -> tuple[str | None, list[CommentRecord]]:
    """(post URL, comments oldest first) from one post's comment feed.

    Raises ``ExtractionError`` when the bytes hold no feed, a feed of posts, or the
    comments of several posts (a site-wide comment feed).
    """
    return _comment_feed(_parse(data, url))


def comment_feed_document(data: bytes, *, url: str | None = None) -> DocumentRecord:
    """The post behind a comment feed, as a document with no body holding the comments."""
    parsed = _parse(data, url)
    post_url, comments = _comment_feed(parsed)
    channel_title = _clean(parsed.feed.get("title")) or ""
    title = _COMMENTS_TITLE.sub("", channel_title).strip() or post_url or "(untitled post)"
    return DocumentRecord(
        title=title,
        body="",
        url=post_url,
        comments=comments,
        extra={"body_missing": True, "feed_url": url or _link(parsed.feed, "self")},
    )


# ---------------------------------------------------------------- internals


def _parse(data: bytes, url: str | None) -> feedparser.FeedParserDict:
    if not data or not data.strip():
        raise ExtractionError("not a feed: the file is empty")
    if data.lstrip()[:1] in (b"{", b"["):
        raise ExtractionError("not a feed: JSON data, not RSS or Atom XML")
    # the URL resolves relative links; without a content type feedparser would flag the feed
    headers = {"content-location": url, "content-type": "application/xml"} if url else None
    # a stream, never bytes: feedparser tries to open() bytes that look like a file path
    parsed = feedparser.parse(io.BytesIO(bytes(data)), response_headers=headers)
    entries = parsed.get("entries", [])
    # feedparser puts an XML declaration line in front of documents that have none
    added = 0 if data.removeprefix(b"\xef\xbb\xbf").startswith(b"<?xml") else 1
    if parsed.get("bozo") and not entries:
        reason = _bozo_reason(parsed.get("bozo_exception"), added)
        if data.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html")):
            reason = f"an HTML page ({reason})"
        raise ExtractionError(f"not a feed: {reason}")
    if not parsed.get("version") and not entries:
        raise ExtractionError("not a feed: no RSS or Atom element found")
    if any("wordpress.org/export/" in (ns or "") for ns in parsed.get("namespaces", {}).values()):
        raise ExtractionError("expected an RSS or Atom feed, got a WordPress WXR export "
                              "(read it as a WordPress export)")
    if parsed.get("bozo"):
        log.warning("feed has XML errors (%s); read its %d entries anyway",
                    _bozo_reason(parsed.get("bozo_exception"), added), len(entries))
    return parsed


def _bozo_reason(error: Any, added_lines: int = 0) -> str:
    if error is None:
        return "unreadable"
    if hasattr(error, "getLineNumber"):
        message = error.getMessage() if hasattr(error, "getMessage") else str(error)
        line = max(error.getLineNumber() - added_lines, 1)
        return f"{message} at line {line}, column {error.getColumnNumber()}"
    return str(error) or type(error).__name__


def _looks_like_comment_feed(parsed: feedparser.FeedParserDict) -> bool:
    entries = parsed.get("entries", [])
    if entries and sum(1 for e in entries if e.get("wfw_commentrss")) * 2 > len(entries):
        return False  # entries that have comment feeds of their own are posts
    if _COMMENTS_TITLE.match(parsed.feed.get("title") or ""):
        return True
    if entries:
        links = [e.get("link") or "" for e in entries]
        if sum(1 for link in links if _COMMENT_FRAGMENT.search(link)) * 2 > len(entries):
            return True
        titles = [e.get("title") or "" for e in entries]
        if sum(1 for title in titles if _BY_TITLE.match(title)) * 2 > len(entries):
            return True
    self_link = _link(parsed.feed, "self") or ""
    post_link = (parsed.feed.get("link") or "").rstrip("/")
    return bool(post_link) and self_link.rstrip("/") == f"{post_link}/feed" and (
        post_link.count("/") > 3)  # a post's own feed, not the site's /feed/


def _comment_feed(parsed: feedparser.FeedParserDict) -> tuple[str | None, list[CommentRecord]]:
    entries = parsed.get("entries", [])
    if entries and not _looks_like_comment_feed(parsed):
        raise ExtractionError("expected a comment feed (\"Comments on: …\", items \"By: …\"), "
                              "got a feed of posts")
    pages = {_post_of(e.get("link")) for e in entries if e.get("link")}
    pages.discard(None)
    if len(pages) > 1:
        raise ExtractionError(f"expected the comment feed of one post, got comments on "
                              f"{len(pages)} posts (a site-wide comment feed)")
    post_url = _clean(parsed.feed.get("link")) or (pages.pop() if pages else None)
    records = [_feed_comment(entry) for entry in entries]
    order, _ = thread_order([(str(i), None, r.posted_at) for i, r in enumerate(records)])
    return post_url, [records[i] for i, _ in order]


def _post_of(link: str | None) -> str | None:
    if not link:
        return None
    return _COMMENT_PAGE.sub("/", link.split("#", 1)[0])


def _feed_comment(entry: feedparser.FeedParserDict) -> CommentRecord:
    link = _clean(entry.get("link"))
    match = _COMMENT_FRAGMENT.search(link or "") or _COMMENT_FRAGMENT.search(
        entry.get("id") or "")
    author = _entry_author(entry)
    if author is None:
        title = entry.get("title") or ""
        if _BY_TITLE.match(title):
            author = _clean(html.unescape(_BY_TITLE.sub("", title)))
    written, posted_at = _entry_date(entry)
    return CommentRecord(
        text=_entry_text(entry),
        author=author,
        posted_at=posted_at,
        posted_at_text=written,
        external_id=match.group(1) if match else None,
        permalink=link,
    )


def _entry_text(entry: feedparser.FeedParserDict) -> str:
    candidates = list(entry.get("content") or [])
    if entry.get("summary_detail"):
        candidates.append(entry["summary_detail"])
    elif entry.get("summary"):
        candidates.append({"type": "text/html", "value": entry["summary"]})
    for candidate in candidates:
        value = candidate.get("value") or ""
        if not value.strip():
            continue
        if candidate.get("type") == "text/plain":
            value = html.escape(value).replace("\n\n", "<p>")
        text = html_to_text(value)
        if text:
            return text
    return ""


def _entry_title(entry: feedparser.FeedParserDict) -> str | None:
    title = entry.get("title") or ""
    if (entry.get("title_detail") or {}).get("type") in ("text/html", "application/xhtml+xml"):
        title = html_to_text(title)
    return _clean(" ".join(title.split()))


def _entry_author(entry: feedparser.FeedParserDict) -> str | None:
    detail = entry.get("author_detail") or {}
    name = _clean(detail.get("name")) or _clean(entry.get("author"))
    # WordPress writes some names (pingback page titles) with entities inside CDATA
    return _clean(" ".join(html.unescape(name).split())) if name else None


def _entry_date(entry: feedparser.FeedParserDict) -> tuple[str | None, str | None]:
    """(the date as written, ISO form): published if given, else updated."""
    for field in ("published", "updated"):
        written = _clean(entry.get(field))
        if not written:
            continue
        iso = iso_date(written)
        parsed = entry.get(f"{field}_parsed")
        if iso is None and parsed:
            iso = datetime(*parsed[:6]).isoformat()  # feedparser gives UTC
        return written, iso
    return None, None


def _link(feed: feedparser.FeedParserDict, rel: str) -> str | None:
    for link in feed.get("links", []):
        if link.get("rel") == rel and link.get("href"):
            return link["href"]
    return None


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
