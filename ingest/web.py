"""A post URL → its article with the complete comment thread, over as many requests as
that takes: the page, its further comment pages, and the WordPress REST comments or the
post's comment feed when the page links one.

Every request goes through the ``Fetcher`` it is given (``ingest.fetch``: the guard,
robots.txt, politeness, caching). The page's own markup is the base thread; comments
the other sources hold and the page does not (a later page, a hidden reply) are added,
matched by the platform's comment id, then by author and text.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.html

from ingest.detect import detect_format
from ingest.errors import FetchError, IngestError
from ingest.fetch import Fetcher, FetchResult
from ingest.html_page import PARSER_NAME, read_page
from kb.records import CommentRecord, DocumentRecord

log = logging.getLogger(__name__)

MAX_COMMENT_PAGES = 50
MAX_FAILED_COMMENT_PAGES = 3  # then the thread is read as far as it came: each may be a time-out
MAX_REST_PAGES = 50
_COMMENT_PAGE = re.compile(r"(?:/comment-page-(\d+)/?|[?&]cpage=(\d+)|[?&]commentPage=(\d+)"
                           r"|[?&]comments_page=(\d+))", re.IGNORECASE)
_REST_POST = re.compile(r"/wp-json/wp/v2/(?:posts|pages)/(\d+)")
_SHORTLINK = re.compile(r"[?&]p=(\d+)\b")
_JSON_ACCEPT = "application/json"
_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"


@dataclass
class WebDocument:
    """What one URL gave: its documents, the responses read, and notes for the user."""

    url: str
    documents: list[DocumentRecord]
    responses: list[FetchResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    parser: str = PARSER_NAME
    encoding: str | None = None

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for response in self.responses:
            digest.update(response.body)
        return digest.hexdigest()


def read_url(url: str, fetcher: Fetcher, *, discover: bool = True) -> WebDocument:
    """Fetch a URL and read it in whatever format it turns out to be.

    For a web page with a comment thread, also follow comment pagination and (when
    ``discover``) use its REST comments or comment feed. Raises ``IngestError``/``FetchError``
    with the reason when the URL itself cannot be read; a failed extra request only adds
    a note."""
    return read_response(fetcher.fetch(url), fetcher, discover=discover)


def read_response(first: FetchResult, fetcher: Fetcher, *, discover: bool = True,
                  page: tuple[DocumentRecord, str, lxml.html.HtmlElement] | None = None,
                  ) -> WebDocument:
    """``read_url`` for a response already fetched; ``page`` is what ``read_page`` made of
    it, when the caller has read it already (the crawler reads a page before deciding to
    keep it)."""
    from ingest.pipeline import parse_source

    url = first.url
    if page is None:
        fmt = detect_format(first.body, name=urlsplit(first.final_url).path,
                            content_type=first.content_type)
        if fmt != "html":
            documents, encoding, parser = parse_source(first.body, name=first.final_url,
                                                       url=first.final_url, fmt=fmt,
                                                       http_charset=first.charset)
            return WebDocument(url, documents, [first], parser=parser, encoding=encoding)
        page = read_page(first.body, url=first.final_url, http_charset=first.charset)
    document, encoding, root = page
    result = WebDocument(url, [document], [first], encoding=encoding)
    _follow_comment_pages(document, root, first, fetcher, result)
    if discover:
        _add_platform_comments(document, root, first, fetcher, result)
    return result


def comment_page_links(root: lxml.html.HtmlElement, page_url: str) -> list[str]:
    """Links to the same post's other comment pages (WordPress ``comment-page-N``/``cpage``,
    Blogger ``commentPage``), in page order, the page itself excluded."""
    here = urlsplit(page_url)
    found: dict[int, str] = {}
    for href in root.xpath("//a/@href"):
        absolute = urljoin(page_url, href.strip())
        parts = urlsplit(absolute)
        if parts.netloc != here.netloc:
            continue
        match = _COMMENT_PAGE.search(parts.path + ("?" + parts.query if parts.query else ""))
        if not match:
            continue
        number = int(next(g for g in match.groups() if g))
        base = _COMMENT_PAGE.sub("", parts.path).rstrip("/")
        if base != _COMMENT_PAGE.sub("", here.path).rstrip("/"):
            continue
        found.setdefault(number, absolute.split("#", 1)[0])
    current = _COMMENT_PAGE.search(here.path + ("?" + here.query if here.query else ""))
    current_number = int(next(g for g in current.groups() if g)) if current else None
    return [found[n] for n in sorted(found) if n != current_number]


def _follow_comment_pages(document: DocumentRecord, root: lxml.html.HtmlElement,
                          first: FetchResult, fetcher: Fetcher, result: WebDocument) -> None:
    seen = {first.final_url.split("#", 1)[0], first.url}
    queue = comment_page_links(root, first.final_url)
    fetched = failed = 0
    pages: list[list[CommentRecord]] = []
    while queue and fetched < MAX_COMMENT_PAGES and failed < MAX_FAILED_COMMENT_PAGES:
        link = queue.pop(0)
        if link in seen:
            continue
        seen.add(link)
        try:
            response = fetcher.fetch(link)
        except (FetchError, IngestError) as error:
            failed += 1
            result.notes.append(f"comment page {link}: {str(error).removeprefix(f'{link}: ')}")
            continue
        fetched += 1
        result.responses.append(response)
        try:
            page_document, _, page_root = read_page(response.body, url=response.final_url,
                                                    http_charset=response.charset)
        except IngestError as error:
            result.notes.append(f"comment page {link}: {error}")
            continue
        pages.append(page_document.comments)
        queue += [u for u in comment_page_links(page_root, response.final_url)
                  if u not in seen and u not in queue]
    for comments in pages:
        merge_comments(document, comments)
    if fetched:
        result.notes.append(f"{fetched + 1} comment pages read")
    untried = {link for link in queue if link not in seen}
    if failed >= MAX_FAILED_COMMENT_PAGES and untried:
        result.notes.append(f"{len(untried)} further comment pages not tried after "
                            f"{failed} failed")


def rest_comments_url(root: lxml.html.HtmlElement, page_url: str) -> str | None:
    """The WordPress REST comments endpoint for this post, when the page links its API."""
    api = root.xpath("//link[@rel='https://api.w.org/']/@href")
    post_links = root.xpath("//link[@rel='alternate'][contains(@type,'json')]/@href")
    post_id = None
    for href in post_links:
        match = _REST_POST.search(href)
        if match:
            post_id = match.group(1)
            api = api or [href[: href.index("/wp-json/") + len("/wp-json/")]]
            break
    if post_id is None:
        for href in root.xpath("//link[@rel='shortlink']/@href"):
            match = _SHORTLINK.search(href)
            if match:
                post_id = match.group(1)
    if post_id is None or not api:
        return None
    base = urljoin(page_url, api[0].strip())
    if "rest_route=" in base:
        return f"{base.rstrip('/')}/wp/v2/comments&post={post_id}&per_page=100&order=asc"
    return urljoin(base if base.endswith("/") else base + "/",
                   f"wp/v2/comments?post={post_id}&per_page=100&order=asc")


def comment_feed_url(root: lxml.html.HtmlElement, page_url: str) -> str | None:
    """The post's own comment feed (not the site's), when the page links one."""
    here = urlsplit(page_url)
    post_path = here.path.rstrip("/")
    for link in root.xpath("//link[@rel='alternate']"):
        kind = (link.get("type") or "").lower()
        href = (link.get("href") or "").strip()
        if not href or not ("rss" in kind or "atom" in kind):
            continue
        absolute = urljoin(page_url, href)
        title = (link.get("title") or "").lower()
        path = urlsplit(absolute).path.rstrip("/")
        own_feed = post_path and path.startswith(post_path) and path != post_path
        if own_feed or ("comment" in title and post_path and post_path in absolute):
            return absolute
    return None


def _add_platform_comments(document: DocumentRecord, root: lxml.html.HtmlElement,
                           first: FetchResult, fetcher: Fetcher, result: WebDocument) -> None:
    from ingest.feeds import parse_comment_feed
    from ingest.wordpress import parse_wp_comments_json, wp_comments_total_pages

    endpoint = rest_comments_url(root, first.final_url)
    if endpoint:
        bodies = []
        try:
            response = fetcher.fetch(endpoint, accept=_JSON_ACCEPT)
            result.responses.append(response)
            bodies.append(response.body)
            total = min(wp_comments_total_pages(response.headers) or 1, MAX_REST_PAGES)
            for page in range(2, total + 1):
                response = fetcher.fetch(f"{endpoint}&page={page}", accept=_JSON_ACCEPT)
                result.responses.append(response)
                bodies.append(response.body)
            comments = parse_wp_comments_json(bodies, post_url=first.final_url)
        except IngestError as error:
            result.notes.append(f"REST comments {endpoint}: {error}")
        else:
            added = merge_comments(document, comments)
            result.notes.append(f"REST comments: {len(comments)} read, {added} not on the page")
            return
    feed = comment_feed_url(root, first.final_url)
    if feed:
        try:
            response = fetcher.fetch(feed, accept=_FEED_ACCEPT)
            result.responses.append(response)
            _, comments = parse_comment_feed(response.body, url=response.final_url)
        except IngestError as error:
            result.notes.append(f"comment feed {feed}: {error}")
        else:
            added = merge_comments(document, comments)
            result.notes.append(f"comment feed: {len(comments)} read, {added} not on the page")


def _match_key(comment: CommentRecord) -> str:
    words = re.sub(r"\W+", " ", comment.text).casefold().split()
    return f"{(comment.author or '').casefold()}|{' '.join(words[:12])}"


def merge_comments(document: DocumentRecord, extra: list[CommentRecord]) -> int:
    """Add to ``document`` the comments of ``extra`` it does not hold; return how many.

    A comment is the same when its platform id matches, or else its author and first
    words. Added replies keep their parent when the parent is in the thread; the page's
    own comments keep what the page showed, filling in only what it lacked (an id, a
    date, an author link, a reply link the page did not draw)."""
    by_id = {c.external_id: i for i, c in enumerate(document.comments) if c.external_id}
    by_key = {_match_key(c): i for i, c in enumerate(document.comments)}
    placed: dict[int, int] = {}  # index in extra -> index in document
    added = 0
    for j, comment in enumerate(extra):
        i = by_id.get(comment.external_id) if comment.external_id else None
        if i is None:
            i = by_key.get(_match_key(comment))
        parent = placed.get(comment.parent) if comment.parent is not None else None
        if i is not None:
            mine = document.comments[i]
            mine.external_id = mine.external_id or comment.external_id
            mine.posted_at = mine.posted_at or comment.posted_at
            mine.posted_at_text = mine.posted_at_text or comment.posted_at_text
            mine.author_url = mine.author_url or comment.author_url
            mine.permalink = mine.permalink or comment.permalink
            if mine.parent is None and parent is not None and parent < i:
                mine.parent = parent
            placed[j] = i
            continue
        document.comments.append(CommentRecord(
            text=comment.text, author=comment.author, author_url=comment.author_url,
            author_handle=comment.author_handle, posted_at=comment.posted_at,
            posted_at_text=comment.posted_at_text, parent=parent,
            external_id=comment.external_id, permalink=comment.permalink, kind=comment.kind))
        placed[j] = len(document.comments) - 1
        if comment.external_id:
            by_id[comment.external_id] = placed[j]
        by_key[_match_key(comment)] = placed[j]
        added += 1
    return added


def is_url(value: str) -> bool:
    """True when an ingest argument is a URL rather than a path."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value)) or value.lower().startswith(
        ("javascript:", "data:", "file:", "mailto:"))

