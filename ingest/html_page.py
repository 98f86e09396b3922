"""A web page (bytes or text) → one ``DocumentRecord``: the article and its comment thread.

The thread comes from markup rules (``comment_markup``) or schema.org JSON-LD
(``structured``), whichever finds more; the comment section is cut out of the page before
trafilatura reads the article, so no comment can leak into the body. Title, author, date,
site and canonical URL come from JSON-LD, then OpenGraph and ``<meta>``, then trafilatura
(which dates pages with htmldate).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from ingest.comment_markup import (
    Thread,
    best_thread,
    find_threads,
    iso_from_machine,
    load_rules,
    remove_keeping_tail,
)
from ingest.dates import to_iso
from ingest.decode import decode_html
from ingest.errors import ExtractionError
from ingest.htmltext import html_to_text, parse_document
from ingest.structured import StructuredData, read_structured
from kb.records import DocumentRecord

log = logging.getLogger(__name__)

PARSER_NAME = "html-1"
_COUNT = re.compile(
    r"(\d[\d,.]*)\s+(?:responses?|comments?|thoughts?|replies|reactions?|commentaires?"
    r"|kommentare?|réponses?|antworten|reacties|comentarios)\b|"
    r"(?:comments?|kommentare|commentaires)\s*\((\d+)\)",
    re.IGNORECASE)
_SECTION_CUT = """#respond, .comment-respond, #comments, .comments-area, #comments-block,
  .comment-form, form.comment-form, #commentform, .wp-block-comments, .comments,
  #disqus_thread, .comment-list, .commentlist, #comment-holder, #commentaires, #kommentare"""


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:1000].lower()
    return head.startswith(("<!doctype html", "<html")) or (
        "<head" in head or "<body" in head or "<div" in head or "<article" in head)


def extract_page(data: bytes | str, *, url: str | None = None,
                 http_charset: str | None = None) -> tuple[DocumentRecord, str]:
    """The page's article and thread, and the encoding it was read in.

    Raises ``ExtractionError`` when the page holds no article and no comments."""
    document, encoding, _root = read_page(data, url=url, http_charset=http_charset)
    return document, encoding


def read_page(data: bytes | str, *, url: str | None = None, http_charset: str | None = None,
              ) -> tuple[DocumentRecord, str, lxml.html.HtmlElement]:
    """``extract_page`` and the parsed page too, for callers that look for its links
    (comment pages, the REST endpoint) without decoding and parsing it again."""
    if isinstance(data, bytes):
        text, encoding = decode_html(data, http_charset=http_charset)
    else:
        text, encoding = data, "unicode"
    try:
        root = parse_document(text)
    except (etree.ParserError, ValueError) as error:
        raise ExtractionError(f"not readable as HTML: {error}") from error
    _drop_invisible(root)
    base_url = _canonical(root, url) or url
    structured = read_structured(root)
    thread = best_thread(find_threads(root, base_url=base_url))
    comments = thread.comments if thread else []
    rule = thread.rule if thread else None
    if len(structured.comments) > len(comments):
        comments, rule = structured.comments, "json-ld"
        thread = None
    title = _title(root, structured, thread)
    if thread is not None and thread.article is not None:
        body = thread.article.text
        author = thread.article.author
        published_text, published = thread.article.posted_at_text, thread.article.posted_at
    else:
        body, author, published_text, published = _article(root, text, structured, thread,
                                                            base_url, title)
    if not title and not body and not comments:
        raise ExtractionError("no article and no comments found in the page")
    if not title:
        title = (body or comments[0].text).split("\n", 1)[0][:120]
    site = _site(root, structured, base_url)
    title = _without_site_name(title, site)
    document = DocumentRecord(
        title=title, body=body or "", url=base_url, site=site,
        author=author, published=published, published_text=published_text,
        declared_comment_count=_declared_count(root, structured), comments=comments,
        extra={"comment_markup": rule} if rule else {},
    )
    if not body:
        document.extra["body_missing"] = True
    return document, encoding, root


def _drop_invisible(root: lxml.html.HtmlElement) -> None:
    for el in root.xpath("//script[not(@type='application/ld+json')]|//style|//noscript"
                         "|//template|//iframe|//comment()"):
        remove_keeping_tail(el)


def _meta(root: lxml.html.HtmlElement, *names: str) -> str | None:
    for name in names:
        for el in root.xpath("//meta[@property=$n or @name=$n or @itemprop=$n]", n=name):
            value = (el.get("content") or "").strip()
            if value:
                return " ".join(value.split())
    return None


def _canonical(root: lxml.html.HtmlElement, url: str | None) -> str | None:
    for href in root.xpath("//link[@rel='canonical']/@href") + [_meta(root, "og:url")]:
        if href and href.strip():
            absolute = urljoin(url, href.strip()) if url else href.strip()
            if re.match(r"^https?://", absolute, re.IGNORECASE):
                return absolute
    return None


def _title(root: lxml.html.HtmlElement, structured: StructuredData,
           thread: Thread | None) -> str | None:
    candidates = [structured.title, _meta(root, "og:title", "twitter:title")]
    if thread is not None and thread.article is not None:  # a forum topic
        candidates = [structured.title, _meta(root, "og:title")] + [
            _text_of(root, selector) for selector in (
                ".topic-title", "#topic-title a", "h1.threadtitle", ".thread-title",
                "h2.title")] + candidates
    candidates += [_text_of(root, selector) for selector in (
        "article h1", "h1.entry-title", ".entry-title", "h1.post-title", "h3.post-title",
        "h3.entry-header", "h2.entry-header",
        ".post-title", "h1.title", "main h1", "h1")]
    candidates.append(_title_tag(root))
    for candidate in candidates:
        if candidate:
            return candidate
    return None


def _without_site_name(title: str, site: str | None) -> str:
    """"Who owns CX? - The Ops Desk" → "Who owns CX?" when "The Ops Desk" is the site."""
    if not site:
        return title
    match = re.match(rf"^(.{{4,}}?)\s+[|–—:»-]\s+{re.escape(site)}$", title, re.IGNORECASE)
    return match.group(1) if match else title


def _title_tag(root: lxml.html.HtmlElement) -> str | None:
    """The <title>, without the " | Site name" most themes add."""
    title = _text_of(root, "title")
    if not title:
        return None
    parts = re.split(r"\s+[|–—-]\s+|\s+»\s+", title)
    return parts[0] if parts and len(parts[0]) > 3 else title


def _text_of(root: lxml.html.HtmlElement, selector: str) -> str | None:
    for el in root.cssselect(selector):
        value = " ".join(el.text_content().split())
        if value:
            return value
    return None


def _site(root: lxml.html.HtmlElement, structured: StructuredData, url: str | None) -> str | None:
    site = _meta(root, "og:site_name", "application-name") or structured.site
    if not site and url:
        site = urlsplit(url).hostname
    return site


def _declared_count(root: lxml.html.HtmlElement, structured: StructuredData) -> int | None:
    if structured.comment_count is not None:
        return structured.comment_count
    headings = load_rules().heading(root)
    headings += [h for h in root.iter("h2", "h3", "h4") if h not in headings]
    for heading in headings:
        match = _COUNT.search(" ".join(heading.text_content().split()))
        if match:
            digits = re.sub(r"[,.]", "", match.group(1) or match.group(2))
            return int(digits) if digits.isdigit() else None
    return None


def _article(root: lxml.html.HtmlElement, text: str, structured: StructuredData,
             thread: Thread | None, url: str | None,
             title: str | None) -> tuple[str, str | None, str | None, str | None]:
    """(body, author, published as written, published ISO) with the comments cut out."""
    import trafilatura

    page = _without_comments(root, thread)
    extracted = trafilatura.bare_extraction(
        page, url=url, include_comments=False, with_metadata=True, include_tables=True,
        favor_recall=True)
    body = structured.body or ""
    t_author = t_date = None
    if extracted is not None:
        t_author, t_date = extracted.author, extracted.date
        if not body:
            body = _trim_to_marked_body(_paragraphs(extracted.text or "", title), root)
    # article:author is often a profile URL: a name is wanted, the first one given
    author = next((name for name in (
        structured.author, _meta(root, "author", "article:author", "parsely-author"),
        _byline(root), t_author) if name and not re.match(r"^https?://", name)), None)
    written = (structured.published or _meta(root, "article:published_time", "datePublished",
                                             "pubdate", "date", "DC.date.issued")
               or _time_in_article(root))
    if written:
        iso = iso_from_machine(written) if re.match(r"\d{4}-\d{2}-\d{2}", written) \
            else to_iso(written)
    else:
        iso = t_date
        written = t_date
    return body, author, written, iso


def _trim_to_marked_body(body: str, root: lxml.html.HtmlElement) -> str:
    """Cut what trafilatura kept before and after the theme's own article element (a
    blog's description, "Publié le … · 4 min de lecture"), when the page marks one."""
    marked = [el for el in load_rules().article_body(root) if not in_comments(el)]
    if len(marked) != 1:
        return body
    lines = [" ".join(line.split()) for line in html_to_text(marked[0]).split("\n")]
    lines = [line for line in lines if len(line) > 20]
    if not lines:
        return body
    start = body.find(lines[0][:60])
    if start > 0:
        body = body[start:]
    end = body.rfind(lines[-1][-60:])
    if end != -1:
        body = body[: end + len(lines[-1][-60:])]
    return body


def _paragraphs(text: str, title: str | None) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if lines and title and lines[0].casefold() == title.casefold():
        lines = lines[1:]
    dateline = load_rules().dateline
    while len(lines) > 1 and len(lines[0]) < 120 and dateline.search(lines[0]):
        lines = lines[1:]
    return "\n\n".join(lines)


def _byline(root: lxml.html.HtmlElement) -> str | None:
    for selector in (".entry-meta .author .fn", ".author.vcard .fn", ".byline .author",
                     ".entry-author", ".post-author .fn", ".post-author", ".post-footer .fn",
                     "span.author", ".byline .fn", "[rel=author]", ".byline", ".post-footers",
                     ".entry-footer"):
        for el in root.cssselect(selector):
            if in_comments(el):
                continue
            name = " ".join(el.text_content().split())
            posted = re.match(r"^(?:posted|written|publié|veröffentlicht)\s+(?:by|par|von)\s+"
                              r"(.+?)(?:\s+(?:at|on|à|le|am|um)\s+.*|\s*[|·].*)?$", name,
                              re.IGNORECASE)
            if posted:
                name = posted.group(1)
            name = re.sub(r"^\s*(?:(?:view all )?posts by|by|von|par)\s+|\s*[→»]$", "", name,
                          flags=re.IGNORECASE)
            if name and len(name) < 80:
                return name
    return None


_COMMENT_CLASSES = {"comment", "comments", "comment-list", "commentlist", "comment-body",
                    "comments-area", "comment-content"}


def in_comments(el: lxml.html.HtmlElement) -> bool:
    """Inside a comment thread (by the thread's usual class names and ids)."""
    for ancestor in el.iterancestors():
        if _COMMENT_CLASSES & set((ancestor.get("class") or "").split()) or (
                ancestor.get("id") or "").startswith(("comment", "comments")):
            return True
    return False


def _time_in_article(root: lxml.html.HtmlElement) -> str | None:
    for el in root.cssselect("article time[datetime], .entry-meta time[datetime], "
                             "time.entry-date[datetime], time.published[datetime]"):
        if not in_comments(el):
            return el.get("datetime")
    return None


def _without_comments(root: lxml.html.HtmlElement,
                      thread: Thread | None) -> lxml.html.HtmlElement:
    """A copy of the page without the comment thread, its heading and its form (a tree:
    trafilatura would parse HTML text again with libxml2's 256-level depth limit, and
    lose what a deeply nested page holds past it)."""
    page = parse_document(lxml.html.tostring(root, encoding="unicode"))
    doomed = []
    if thread is not None:
        # the thread's elements in the copy, found by their paths in the original tree
        tree = root.getroottree()
        for el in thread.elements:
            doomed += page.xpath(tree.getpath(el))
    doomed += [el for el in page.cssselect(_SECTION_CUT)
               if not el.cssselect("article h1, .entry-content, .post-content")]
    rules = load_rules()
    doomed += rules.furniture(page)
    doomed += [el for el in page.iter("div", "p", "aside", "section")
               if _asks_to_subscribe(el, rules.subscribe_words)]
    for el in doomed:
        remove_keeping_tail(el)
    return page


def _asks_to_subscribe(el: lxml.html.HtmlElement, words: tuple[str, ...]) -> bool:
    """A short block whose link asks the reader to subscribe: a newsletter box, not prose."""
    links = [a for a in el.iter("a")
             if any(w in ((a.get("href") or "") + " " + a.text_content()).lower() for w in words)]
    if not links:
        return False
    text = " ".join(el.text_content().split())
    return len(text) < 300 and any(w in text.lower() for w in words)
