"""Which reader a source needs: a web page, a plain-text copy, a feed, a WordPress export
(WXR), a Disqus export or a WordPress REST comments dump, from its first bytes, its name
and (for fetched sources) its Content-Type.
"""

from __future__ import annotations

import codecs
import re

from ingest.errors import IngestError

FORMATS = ("html", "text", "feed", "wxr", "disqus", "wp-json")
# files a directory walk reads; a file named explicitly is always tried
READ_SUFFIXES = {".txt", ".text", "", ".html", ".htm", ".xhtml", ".shtml", ".xml", ".rss",
                 ".atom", ".json"}

_XML_HEAD = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|"
                       rb"<!DOCTYPE[^>\[]*(?:\[.*?\]\s*)?>\s*|"
                       rb"<\?xml-stylesheet[^>]*>\s*)*<([A-Za-z][\w:.-]*)", re.DOTALL)


def _head(data: bytes) -> bytes:
    head = data[:4096].removeprefix(codecs.BOM_UTF8)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = data[:8192].decode("utf-16", "replace").encode("utf-8")
    return head.lstrip()


def detect_format(data: bytes, *, name: str = "", content_type: str | None = None) -> str:
    """One of ``FORMATS`` for these bytes; never raises (plain text is the fallback)."""
    head = _head(data)
    lowered = head[:2048].lower()
    content_type = (content_type or "").lower()
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name.rsplit("/", 1)[-1] else ""
    if head[:1] in (b"[", b"{") or content_type.endswith("json") or suffix == "json":
        return "wp-json"
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    match = _XML_HEAD.match(head)
    if match:
        root = match.group(1).lower()
        if root == b"disqus":
            return "disqus"
        if root == b"rss" and b"wordpress.org/export/" in data[:20000]:
            return "wxr"
        if root in (b"rss", b"feed", b"rdf:rdf"):
            return "feed"
        if root in (b"html", b"head", b"body", b"div", b"article", b"meta", b"section"):
            return "html"
    if "html" in content_type or suffix in ("html", "htm", "xhtml", "shtml"):
        return "html"
    if "rss" in content_type or "atom" in content_type or suffix in ("rss", "atom"):
        return "feed"
    if re.search(rb"<(?:head|body|div|p|article)[\s>]", lowered):
        return "html"
    return "text"


def check_format(value: str) -> str:
    """A ``--format`` value, or an error naming the formats there are."""
    if value not in FORMATS:
        raise IngestError(f"unknown format {value!r}: use one of {', '.join(FORMATS)}")
    return value
