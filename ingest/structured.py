"""schema.org JSON-LD in a page: the article's metadata and its ``Comment`` thread.

Read with extruct's JSON-LD reader (tolerant of the comments and trailing commas real
pages carry). Replies come from a ``Comment``'s own ``comment`` list or its
``parentItem``; a ``DiscussionForumPosting`` is itself the article.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.html

from ingest.comment_markup import iso_from_machine
from ingest.dates import to_iso
from ingest.htmltext import html_to_text
from kb.records import CommentRecord

log = logging.getLogger(__name__)

ARTICLE_TYPES = {"Article", "BlogPosting", "NewsArticle", "DiscussionForumPosting",
                 "SocialMediaPosting", "Report", "TechArticle", "OpinionNewsArticle",
                 "AnalysisNewsArticle", "Question", "LiveBlogPosting", "ScholarlyArticle"}
COMMENT_TYPES = {"Comment", "Answer", "UserComments"}


@dataclass
class StructuredData:
    """What the page's JSON-LD says about its article and comments."""

    title: str | None = None
    author: str | None = None
    published: str | None = None  # as the data wrote it
    site: str | None = None
    url: str | None = None
    body: str | None = None  # a forum posting's own text
    comment_count: int | None = None
    article_type: str | None = None
    comments: list[CommentRecord] = field(default_factory=list)


def read_jsonld(root: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """Every JSON-LD object in the page, ``@graph`` flattened; unreadable blocks skipped."""
    from extruct.jsonld import JsonLdExtractor

    try:
        items = JsonLdExtractor().extract_items(root)
    except (ValueError, TypeError, AttributeError) as error:  # broken blocks
        log.info("JSON-LD unreadable: %s", error)
        items = _read_blocks_one_by_one(root)
    out: list[dict[str, Any]] = []
    for item in items:
        for node in item if isinstance(item, list) else [item]:
            if isinstance(node, dict):
                graph = node.get("@graph")
                out.extend(n for n in (graph if isinstance(graph, list) else [node])
                           if isinstance(n, dict))
    return out


def _read_blocks_one_by_one(root: lxml.html.HtmlElement) -> list[Any]:
    import json

    items = []
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            items.append(json.loads(script.text or ""))
        except ValueError as error:
            log.info("a JSON-LD block is not JSON: %s", error)
    return items


def _types(node: dict[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values if v}


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("alternateName")
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _url(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("@id")
    if isinstance(value, str) and re.match(r"^https?://", value.strip(), re.IGNORECASE):
        return value.strip()
    return None


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = " ".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return ""
    return html_to_text(value) if "<" in value else "\n\n".join(
        " ".join(p.split()) for p in re.split(r"\n\s*\n", value) if p.strip())


def _date(node: dict[str, Any]) -> tuple[str | None, str | None]:
    for key in ("dateCreated", "datePublished", "commentTime", "dateModified"):
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            value = value.strip()
            if re.match(r"\d{4}-\d{2}-\d{2}", value):
                return value, iso_from_machine(value)
            return value, to_iso(value)
    return None, None


def _external_id(node: dict[str, Any]) -> str | None:
    for key in ("identifier", "@id", "url"):
        value = node.get(key)
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, (int, str)) and str(value).strip():
            value = str(value).strip()
            fragment = value.rsplit("#", 1)[-1] if "#" in value else value
            match = re.search(r"(?:comment|c|post|reply)[-_]?(\w[\w-]*)$", fragment, re.IGNORECASE)
            return match.group(1) if match else fragment
    return None


def read_structured(root: lxml.html.HtmlElement) -> StructuredData:
    """Article metadata and the comment thread from the page's JSON-LD."""
    nodes = read_jsonld(root)
    data = StructuredData()
    article = next((n for n in nodes if _types(n) & ARTICLE_TYPES), None)
    if article is None:
        page = next((n for n in nodes if isinstance(n.get("mainEntity"), dict)), None)
        if page is not None and _types(page["mainEntity"]) & ARTICLE_TYPES:
            article = page["mainEntity"]
    if article is not None:
        data.article_type = next(iter(_types(article) & ARTICLE_TYPES))
        data.title = _name(article.get("headline")) or _name(article.get("name"))
        data.author = _name(article.get("author")) or _name(article.get("creator"))
        data.published = article.get("datePublished") or article.get("dateCreated")
        data.site = _name(article.get("publisher"))
        data.url = _url(article.get("url")) or _url(article.get("mainEntityOfPage"))
        if data.article_type in ("DiscussionForumPosting", "SocialMediaPosting", "Question"):
            data.body = _text(article.get("articleBody") or article.get("text")) or None
        count = article.get("commentCount")
        if isinstance(count, (int, str)) and str(count).isdigit():
            data.comment_count = int(count)
        roots = _as_list(article.get("comment")) + _as_list(article.get("suggestedAnswer")) \
            + _as_list(article.get("acceptedAnswer"))
    else:
        roots = []
    if not roots:  # comments given as top-level nodes, replies by parentItem
        roots = [n for n in nodes if _types(n) & COMMENT_TYPES]
    if data.site is None:
        site = next((n for n in nodes if _types(n) & {"WebSite", "Organization"}), None)
        data.site = _name(site) if site else None
    data.comments = _thread(roots)
    return data


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _thread(roots: list[dict[str, Any]]) -> list[CommentRecord]:
    """Depth-first over nested ``comment`` lists; ``parentItem`` links placed after."""
    out: list[CommentRecord] = []
    by_id: dict[str, int] = {}
    pending: list[tuple[dict[str, Any], str]] = []

    def visit(node: dict[str, Any], parent: int | None) -> None:
        if not (_types(node) & COMMENT_TYPES or "text" in node):
            return
        ref = node.get("parentItem")
        ref_id = ref.get("@id") if isinstance(ref, dict) else ref if isinstance(ref, str) else None
        if parent is None and ref_id and ref_id not in by_id:
            pending.append((node, ref_id))
            return
        if parent is None and ref_id:
            parent = by_id[ref_id]
        shown, iso = _date(node)
        comment = CommentRecord(
            text=_text(node.get("text") or node.get("articleBody") or node.get("description")),
            author=_name(node.get("author")) or _name(node.get("creator")),
            author_url=_url(node.get("author")), posted_at=iso, posted_at_text=shown,
            parent=parent, external_id=_external_id(node), permalink=_url(node.get("url")),
        )
        out.append(comment)
        index = len(out) - 1
        if isinstance(node.get("@id"), str):
            by_id[node["@id"]] = index
        for reply in _as_list(node.get("comment")):
            visit(reply, index)

    for node in roots:
        visit(node, None)
    for _ in range(3):  # parentItem may point forward; a few passes settle real threads
        waiting, pending[:] = list(pending), []
        for node, ref_id in waiting:
            if ref_id in by_id:
                node = {**node, "parentItem": None}
                before = len(out)
                visit(node, by_id[ref_id])
                if len(out) > before and isinstance(node.get("@id"), str):
                    by_id[node["@id"]] = before
            else:
                pending.append((node, ref_id))
    for node, _ref in pending:  # parent never found: kept top-level
        visit({**node, "parentItem": None}, None)
    return out
