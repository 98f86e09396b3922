"""Where a page, a sitemap or a feed points: candidate URLs for the crawler, each with the
words a relevance score can read before the page is fetched.

A page's links are sorted by where they sit, because that says how much the link tells:
``related`` ("Related Articles" blocks), ``text`` (in-text links of the article),
``pagination`` (next/previous and numbered pages of a listing), ``nav`` (menus, sidebars,
footers, archive and category lists), ``comment`` (links inside comments), ``commenter``
(a comment author's own site) and ``feed`` (the page's RSS/Atom alternates); a feed's
items are ``feed-entry`` links and a sitemap's pages ``sitemap`` links. Anchor text
and the words around the link travel with it. Pure functions: bytes or trees in, lists out.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from ingest.errors import ExtractionError
from ingest.html_page import in_comments

LINK_KINDS = ("related", "text", "pagination", "nav", "comment", "commenter", "feed",
              "feed-entry", "sitemap", "canonical")
MAX_SITEMAP_BYTES = 50_000_000  # the sitemaps.org limit, uncompressed
CONTEXT_CHARS = 240

_RELATED = re.compile(r"related|similar|recommend|more-from|also-read|read-next|yarpp|"
                      r"jp-relatedposts|further-reading|you-may-like", re.IGNORECASE)
_PAGINATION = re.compile(r"pagination|page-numbers|nav-links|pager|paging|wp-pagenavi",
                         re.IGNORECASE)
_NAV_TAGS = frozenset({"nav", "header", "footer", "aside", "menu"})
_NAV_CLASSES = re.compile(r"\b(?:menu|nav|navbar|navigation|sidebar|widget|footer|header|"
                          r"breadcrumb|masthead|site-info|tagcloud|tag-cloud)\b", re.IGNORECASE)
_CONTENT = re.compile(r"entry-content|post-content|article-body|article-content|"
                      r"post-body|story-body|entry-body|blog-post|\bcontent\b", re.IGNORECASE)
_NEXT_WORDS = re.compile(r"^(?:next|previous|prev|older|newer|more)\b.*|^[«»‹›→←<>]+$|^\d{1,4}$",
                         re.IGNORECASE)
_NOT_PAGES = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|ico|bmp|tiff?|mp[34]|m4a|wav|ogg|webm|"
                        r"avi|mov|zip|gz|tgz|rar|7z|exe|dmg|msi|iso|css|js|woff2?|ttf|eot|pdf|"
                        r"docx?|xlsx?|pptx?)$", re.IGNORECASE)
_NOT_CRAWLED_PATHS = re.compile(r"/(?:wp-admin|wp-login\.php|login|logout|signin|sign-in|"
                                r"register|signup|cart|checkout|my-account|account|"
                                r"xmlrpc\.php|wp-json|cdn-cgi)(?:/|$)", re.IGNORECASE)
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")


@dataclass(frozen=True)
class Link:
    """A URL found somewhere, with what the place it was found says about it."""

    url: str  # absolute, fragment removed
    kind: str  # one of LINK_KINDS
    anchor: str = ""  # the link's text (or a feed item's title)
    context: str = ""  # words around the link (or a feed item's summary)


def crawlable(url: str) -> bool:
    """An http(s) URL that may be a page (not an image, a download, a login or an API)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return not (_NOT_PAGES.search(parts.path) or _NOT_CRAWLED_PATHS.search(parts.path))


def page_links(root: lxml.html.HtmlElement, page_url: str) -> list[Link]:
    """Every crawlable link of a page, once per URL (the most telling place wins), in
    page order."""
    base = _base_url(root, page_url)
    found: dict[str, Link] = {}
    for el in root.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        href = el.get("href")
        if href and "alternate" in rel and (el.get("type") or "").lower() in _FEED_TYPES:
            _keep(found, Link(_absolute(base, href), "feed", el.get("title") or ""))
        elif href and ("next" in rel or "prev" in rel):
            _keep(found, Link(_absolute(base, href), "pagination"))
    for el in root.iter("a"):
        href = (el.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = _absolute(base, href)
        if url == page_url.split("#", 1)[0]:
            continue
        anchor = " ".join(el.text_content().split()) or (el.get("title") or "")
        kind = _kind(el, anchor)
        _keep(found, Link(url, kind, anchor[:300], _context(el, kind, anchor)))
    return [link for link in found.values() if crawlable(link.url)]


@dataclass
class Sitemap:
    """A sitemap's page URLs (with ``lastmod``, when given) and, for an index, its children."""

    pages: list[tuple[str, str | None]]
    children: list[str]


def parse_sitemap(data: bytes, *, url: str = "<sitemap>") -> Sitemap:
    """Read an XML sitemap, a sitemap index or a plain-text sitemap (gzipped or not).

    Raises ``ExtractionError`` naming ``url`` when the bytes are none of these."""
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError) as error:
            raise ExtractionError(f"{url}: a broken gzip sitemap ({error})") from None
        if len(data) > MAX_SITEMAP_BYTES:
            raise ExtractionError(f"{url}: sitemap over {MAX_SITEMAP_BYTES:,} bytes unpacked")
    head = data.lstrip()[:200].lower()
    if not head.startswith(b"<"):
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines()]
        pages = [(line, None) for line in lines if line.startswith(("http://", "https://"))]
        if not pages:
            raise ExtractionError(f"{url}: not a sitemap (neither XML nor a list of URLs)")
        return Sitemap(pages, [])
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True,
                                  remove_comments=True)
    try:
        tree = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as error:
        raise ExtractionError(f"{url}: not a sitemap: {error}") from None
    if tree is None:
        raise ExtractionError(f"{url}: not a sitemap: empty XML")
    root_name = lxml.etree.QName(tree).localname
    if root_name not in ("urlset", "sitemapindex"):
        raise ExtractionError(f"{url}: not a sitemap (its root element is <{root_name}>)")
    pages: list[tuple[str, str | None]] = []
    children: list[str] = []
    for entry in tree:
        if not isinstance(entry.tag, str):
            continue
        values = {lxml.etree.QName(child).localname: (child.text or "").strip()
                  for child in entry if isinstance(child.tag, str)}
        loc = values.get("loc")
        if not loc or not loc.startswith(("http://", "https://")):
            continue
        if lxml.etree.QName(entry).localname == "sitemap":
            children.append(loc)
        else:
            pages.append((loc, values.get("lastmod") or None))
    return Sitemap(pages, children)


def looks_like_sitemap(data: bytes, content_type: str | None = None) -> bool:
    """XML whose root is ``urlset`` or ``sitemapindex`` (or gzip of it)."""
    if data[:2] == b"\x1f\x8b":
        return True
    head = data.lstrip()[:2000].lower()
    return b"<urlset" in head or b"<sitemapindex" in head


# ---------------------------------------------------------------------------- internals


def _base_url(root: lxml.html.HtmlElement, page_url: str) -> str:
    for base in root.iter("base"):
        if base.get("href"):
            return urljoin(page_url, base.get("href").strip())
    return page_url


def _absolute(base: str, href: str) -> str:
    return urljoin(base, href.strip()).split("#", 1)[0]


_RANK = {kind: rank for rank, kind in enumerate(
    ("related", "text", "feed", "pagination", "comment", "commenter", "nav"))}


def _keep(found: dict[str, Link], link: Link) -> None:
    """Keep the most telling place a URL appears in (related beats in-text beats nav)."""
    old = found.get(link.url)
    if old is None or _RANK.get(link.kind, 9) < _RANK.get(old.kind, 9):
        found[link.url] = link


def _kind(el: lxml.html.HtmlElement, anchor: str) -> str:
    rel = (el.get("rel") or "").lower().split()
    if "next" in rel or "prev" in rel:
        return "pagination"
    if in_comments(el):
        classes = (el.get("class") or "").lower().split()
        author = any("author" in (a.get("class") or "").lower() for a in el.iterancestors())
        return "commenter" if "url" in classes or author else "comment"
    in_content = False
    for ancestor in el.iterancestors():
        marks = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"
        if _RELATED.search(marks):
            return "related"
        if _PAGINATION.search(marks):
            return "pagination"
        if ancestor.tag in _NAV_TAGS or _NAV_CLASSES.search(marks):
            return "pagination" if _NEXT_WORDS.match(anchor) else "nav"
        if ancestor.tag in ("article", "main") or _CONTENT.search(marks):
            in_content = True
    if _NEXT_WORDS.match(anchor) and not in_content:
        return "pagination"
    return "text" if in_content else "nav"


def _context(el: lxml.html.HtmlElement, kind: str, anchor: str) -> str:
    """The words around a link: its paragraph (for in-text links) or its list item (for
    related and listing links, where an excerpt often follows the title)."""
    if kind in ("nav", "pagination", "feed", "commenter"):
        return ""
    block = el
    for ancestor in el.iterancestors():
        block = ancestor
        if ancestor.tag in ("p", "li", "blockquote", "dd", "td", "article", "section", "div"):
            break
    text = " ".join(block.text_content().split())
    if len(text) <= CONTEXT_CHARS:
        return text
    at = text.find(anchor) if anchor else -1
    start = max(0, at - CONTEXT_CHARS // 2) if at >= 0 else 0
    return text[start:start + CONTEXT_CHARS]
