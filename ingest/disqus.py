"""Disqus XML export → records: one document per discussed thread, with its comments.

The export lists threads (the pages) and then posts (the comments), each post naming its
thread and parent by ``dsq:id``. Spam is dropped; a deleted comment is dropped unless
somebody replied to it, in which case a "[deleted]" placeholder keeps the reply structure
true. The XML is parsed without fetching or expanding external entities.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ingest.errors import ExtractionError
from ingest.htmltext import html_to_text
from ingest.wordpress import describe_root, iso_date, secure_xml_root, thread_order
from kb.records import CommentRecord, DocumentRecord

log = logging.getLogger(__name__)

NS = "http://disqus.com"
DSQ = "http://disqus.com/disqus-internals"
DELETED_TEXT = "[deleted]"
_D = f"{{{NS}}}"
_ID = f"{{{DSQ}}}id"
_EXPECTED = 'a Disqus XML export (<disqus xmlns="http://disqus.com">)'


@dataclass
class _Post:
    id: str
    thread: str
    parent: str | None
    message: str
    written: str | None
    deleted: bool
    spam: bool
    author: str | None
    handle: str | None


def parse_disqus(data: bytes) -> list[DocumentRecord]:
    """One document per thread that has comments, in export order, comments in thread order.

    Warnings (orphan posts, missing parents) go into ``extra["warnings"]``; posts whose
    thread is not in the export are counted on the first document. Raises
    ``ExtractionError`` for bytes that are not well-formed XML or not a Disqus export.
    """
    root = secure_xml_root(data, _EXPECTED)
    if root.tag != f"{_D}disqus":
        raise ExtractionError(f"expected {_EXPECTED}, got {describe_root(root)}")
    threads: dict[str, etree._Element] = {}
    for number, element in enumerate(root.findall(f"{_D}thread"), start=1):
        thread_id = _clean(element.get(_ID))
        if thread_id is None:
            raise ExtractionError(f"thread {number} of the Disqus export has no dsq:id")
        threads.setdefault(thread_id, element)
    posts_by_thread: dict[str, list[_Post]] = {}
    orphans: list[_Post] = []
    spam: set[str] = set()
    for number, element in enumerate(root.findall(f"{_D}post"), start=1):
        post = _read_post(element, number)
        if post.spam:
            spam.add(post.id)
            continue
        if post.thread not in threads:
            orphans.append(post)
            continue
        posts_by_thread.setdefault(post.thread, []).append(post)
    documents = [_document(thread_id, element, posts_by_thread[thread_id], spam)
                 for thread_id, element in threads.items() if posts_by_thread.get(thread_id)]
    if orphans:
        ids = ", ".join(p.id for p in orphans[:10]) + (" …" if len(orphans) > 10 else "")
        lost = sorted({p.thread for p in orphans})
        message = (f"{len(orphans)} post{'s' if len(orphans) != 1 else ''} skipped: "
                   f"thread{'s' if len(lost) != 1 else ''} {', '.join(lost)} not in export "
                   f"(post{'s' if len(orphans) != 1 else ''} {ids})")
        if documents:
            documents[0].extra["warnings"].insert(0, message)
        log.warning("Disqus export: %s", message)
    return documents


def _read_post(element: etree._Element, number: int) -> _Post:
    post_id = _clean(element.get(_ID))
    thread = element.find(f"{_D}thread")
    thread_id = _clean(thread.get(_ID)) if thread is not None else None
    if post_id is None:
        raise ExtractionError(f"post {number} of the Disqus export has no dsq:id")
    if thread_id is None:
        raise ExtractionError(f"post {number} (dsq:id {post_id}) of the Disqus export names "
                              f"no thread")
    parent = element.find(f"{_D}parent")
    author = element.find(f"{_D}author")
    return _Post(
        id=post_id,
        thread=thread_id,
        parent=_clean(parent.get(_ID)) if parent is not None else None,
        message=element.findtext(f"{_D}message") or "",
        written=_clean(element.findtext(f"{_D}createdAt")),
        deleted=_true(element.findtext(f"{_D}isDeleted")),
        spam=_true(element.findtext(f"{_D}isSpam")),
        author=_clean(author.findtext(f"{_D}name")) if author is not None else None,
        handle=_clean(author.findtext(f"{_D}username")) if author is not None else None,
    )


def _document(thread_id: str, thread: etree._Element, posts: list[_Post],
              spam: set[str]) -> DocumentRecord:
    warnings: list[str] = []
    by_id = {post.id: post for post in posts}
    replies: dict[str, list[str]] = {}
    for post in posts:
        if post.parent is not None and post.parent in by_id:
            replies.setdefault(post.parent, []).append(post.id)

    # a deleted post stays (as a placeholder) only when a live post replies below it
    live_below: dict[str, bool] = {}

    def keeps(post_id: str) -> bool:
        stack, order, seen = [post_id], [], set()
        while stack:  # iterative post-order: deep threads must not hit the recursion limit
            current = stack.pop()
            if current in live_below or current in seen:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(replies.get(current, []))
        for current in reversed(order):
            live_below.setdefault(current, not by_id[current].deleted or any(
                live_below.get(c, False) for c in replies.get(current, [])))
        return live_below[post_id]

    kept = [post for post in posts if keeps(post.id)]
    nodes = [(p.id, p.parent, iso_date(p.written)) for p in kept]
    order, problems = thread_order(nodes)
    for problem in problems:
        if problem.reason == "cycle":
            warnings.append(f"post {problem.id}: replies form a loop; kept at the top level")
        elif problem.parent in spam:
            warnings.append(f"post {problem.id}: parent {problem.parent} is spam (dropped); "
                            f"kept at the top level")
        else:
            warnings.append(f"post {problem.id}: parent {problem.parent} not in export; kept "
                            f"at the top level")
    link = _clean(thread.findtext(f"{_D}link"))
    comments = []
    for index, parent_pos in order:
        post = kept[index]
        comments.append(CommentRecord(
            text=DELETED_TEXT if post.deleted else html_to_text(post.message),
            author=None if post.deleted else post.author,
            author_handle=None if post.deleted else post.handle,
            posted_at=iso_date(post.written),
            posted_at_text=post.written,
            parent=parent_pos,
            external_id=post.id,
            permalink=f"{link.split('#')[0]}#comment-{post.id}" if link else None,
        ))
    body = html_to_text(thread.findtext(f"{_D}message") or "")
    written = _clean(thread.findtext(f"{_D}createdAt"))
    author = thread.find(f"{_D}author")
    extra: dict[str, Any] = {"disqus_thread_id": thread_id, "warnings": warnings}
    identifier = _clean(thread.findtext(f"{_D}id"))
    if identifier:
        extra["disqus_identifier"] = identifier
    forum = _clean(thread.findtext(f"{_D}forum"))
    if forum:
        extra["disqus_forum"] = forum
    if _true(thread.findtext(f"{_D}isClosed")):
        extra["closed"] = True
    if _true(thread.findtext(f"{_D}isDeleted")):
        extra["thread_deleted"] = True
    if not body:
        extra["body_missing"] = True
    return DocumentRecord(
        title=_clean(" ".join((thread.findtext(f"{_D}title") or "").split()))
        or link or f"Disqus thread {thread_id}",
        body=body,
        url=link,
        author=_clean(author.findtext(f"{_D}name")) if author is not None else None,
        published=iso_date(written),
        published_text=written,
        comments=comments,
        extra=extra,
    )


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes")


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
