"""The records ``ingest`` produces and ``kb.store`` writes: plain dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMMENT_KINDS = ("comment", "pingback", "trackback")


@dataclass
class CommentRecord:
    """One comment as found on a page. ``parent`` indexes the same thread's list."""

    text: str
    author: str | None = None
    author_url: str | None = None
    author_handle: str | None = None
    posted_at: str | None = None  # ISO 8601, when the page's date could be parsed
    posted_at_text: str | None = None  # the date exactly as the page shows it
    parent: int | None = None
    external_id: str | None = None  # the platform's own id, unique within its post
    permalink: str | None = None
    kind: str = "comment"

    def __post_init__(self) -> None:
        if self.kind not in COMMENT_KINDS:
            raise ValueError(f"comment kind must be one of {COMMENT_KINDS}, not {self.kind!r}")


@dataclass
class DocumentRecord:
    """An article or blog post with its comment thread, in reading order."""

    title: str
    body: str
    url: str | None = None
    site: str | None = None
    author: str | None = None
    author_role: str | None = None
    published: str | None = None
    published_text: str | None = None
    declared_comment_count: int | None = None
    comments: list[CommentRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # False when the source holds some of the thread or none of it (a feed of posts, a
    # comment feed, one page of REST comments): its comments are added to what is stored
    # and fill gaps, and comments it lacks are not marked missing
    thread_complete: bool = True

    def __post_init__(self) -> None:
        for i, comment in enumerate(self.comments):
            if comment.parent is not None and not 0 <= comment.parent < i:
                raise ValueError(
                    f"comment {i} replies to {comment.parent}, which does not precede it"
                )


@dataclass
class SourceRecord:
    """Where records came from: one file, URL or stdin read, with its raw bytes' hash."""

    locator: str  # absolute path, URL, or stdin:<hash>
    kind: str  # file | url | stdin
    content_hash: str
    parser: str | None = None
    encoding: str | None = None
    url: str | None = None  # the address it came from: fetched, or given for a saved file
