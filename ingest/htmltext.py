"""HTML fragments → plain text with paragraphs, for comment bodies, feed items and exports.

Scripts, styles, forms and hidden elements are dropped; block elements become line breaks,
paragraphs blank lines; ``<br>`` a line break; entities are decoded; runs of spaces are
collapsed. Quoted text (``<blockquote>``) is kept, prefixed with ``> `` so a reader (and
the relation finder) can tell it from the writer's own words.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

_DROP = {"script", "style", "noscript", "template", "form", "button", "select", "textarea",
         "input", "svg", "iframe", "object", "embed", "head", "nav"}
_BLOCK = {"p", "div", "section", "article", "header", "footer", "aside", "main", "ul", "ol",
          "li", "dl", "dt", "dd", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
          "figure", "figcaption", "address", "hr", "blockquote"}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul",
              "ol", "figure", "hr"}
_NUL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def parse_fragment(html: str) -> lxml.html.HtmlElement:
    """A tolerant parse of a fragment (or a whole page) into one element."""
    html = _NUL.sub("", html)
    if not html.strip():
        return lxml.html.fromstring("<div></div>")
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div", parser=HTML_PARSER)
    except (etree.ParserError, ValueError):
        return lxml.html.fromstring(f"<div>{html}</div>", parser=HTML_PARSER)


def html_to_text(html: str | lxml.html.HtmlElement) -> str:
    """The readable text of an HTML fragment or element, with paragraph breaks."""
    element = parse_fragment(html) if isinstance(html, str) else html
    parts: list[str] = []
    _walk(element, parts, quote=False)
    return _tidy("".join(parts))


HTML_PARSER = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True)


def parse_document(text: str) -> lxml.html.HtmlElement:
    """A whole page, however deeply nested (libxml2 otherwise drops what is past 256 levels:
    a theme that forgets to close one <div> per comment would lose its later comments)."""
    return lxml.html.document_fromstring(text, parser=HTML_PARSER)


def _hidden(element: etree._Element) -> bool:
    style = (element.get("style") or "").replace(" ", "").lower()
    return (element.get("hidden") is not None or "display:none" in style
            or element.get("aria-hidden") == "true")


_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def _walk(root: etree._Element, parts: list[str], *, quote: bool) -> None:
    """Depth-first over the tree without recursion (hostile pages nest thousands deep).
    Whitespace in the source collapses as a browser collapses it, except inside <pre>."""
    stack: list[tuple[etree._Element, bool, bool]] = [(root, False, False)]

    def text(value: str, pre: bool) -> str:
        return value if pre else _SPACE.sub(" ", value)

    while stack:
        element, leaving, pre = stack.pop()
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if leaving:
            if tag == "blockquote":
                parts.append("\x02")
            if tag in _BLOCK:
                parts.append("\n\n" if tag in _PARAGRAPH else "\n")
            if element is not root and element.tail:
                parts.append(text(element.tail, pre and tag != "pre"))
            continue
        if tag in _DROP or not tag or _hidden(element):
            if element is not root and element.tail:
                parts.append(text(element.tail, pre))
            continue
        if tag in _BLOCK:
            parts.append("\n\n" if tag in _PARAGRAPH else "\n")
        if tag == "blockquote":
            parts.append("\x01")  # start-of-quote marker, turned into "> " prefixes by _tidy
        if tag == "br":
            parts.append("\n")
        elif tag == "img" and element.get("alt"):
            parts.append(element.get("alt"))
        inner_pre = pre or tag == "pre"
        if element.text:
            parts.append(text(element.text, inner_pre))
        stack.append((element, True, pre))
        stack.extend((child, False, inner_pre) for child in reversed(element))


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\u200b", "")
    lines: list[str] = []
    depth = 0
    for raw in re.split(r"\n", text):
        opened = raw.count("\x01")
        closed = raw.count("\x02")
        line = re.sub(r"[ \t\r\f\v]+", " ", raw.replace("\x01", "").replace("\x02", "")).strip()
        prefix_depth = depth + opened
        depth = max(depth + opened - closed, 0)
        if line and prefix_depth:
            line = "> " * prefix_depth + line
        lines.append(line)
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


_BLOCK_START = re.compile(r"^\s*<(?:p|div|ul|ol|blockquote|h[1-6]|pre|table|figure|hr|section|"
                          r"dl|address)\b", re.IGNORECASE)


def autop(raw: str) -> str:
    """WordPress's stored form → HTML: posts and comments in exports keep paragraphs as
    blank lines and line breaks as newlines (``wpautop`` adds the tags only on display)."""
    blocks = re.split(r"\n[ \t]*\n", raw.replace("\r\n", "\n").strip())
    html = []
    for block in blocks:
        if not block.strip():
            continue
        if _BLOCK_START.match(block):
            html.append(block)
        else:
            html.append("<p>" + block.strip().replace("\n", "<br>\n") + "</p>")
    return "\n".join(html)
