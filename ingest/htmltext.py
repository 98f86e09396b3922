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
        return _whole(lambda markup: lxml.html.fragment_fromstring(
            markup, create_parent="div", parser=HTML_PARSER), html)
    except (etree.ParserError, ValueError):
        return _whole(lambda markup: lxml.html.fromstring(f"<div>{markup}</div>",
                                                          parser=HTML_PARSER), html)


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
    return _whole(lambda markup: lxml.html.document_fromstring(markup, parser=HTML_PARSER),
                  text)


# Even with huge_tree, libxml2 stops reading at 2,048 levels of nesting and returns what it
# had, silently: the rest of the page is lost. Past that, elements deeper than
# FLATTEN_DEPTH are unwrapped (their text kept, in order) and the page is parsed again.
FLATTEN_DEPTH = 1800
# what libxml2 itself parses as empty (it nests anything else it does not know, <wbr> too)
_VOID = {"area", "base", "basefont", "br", "col", "frame", "hr", "img", "input", "isindex",
         "link", "meta", "param"}
# libxml2 ignores an end tag that would close an element of higher priority first (so
# "<li><div></li>" leaves the <li> and the <div> open): followed here, so the depth
# counted is never less than libxml2's
_END_PRIORITY = {"div": 150, "td": 160, "th": 160, "tr": 170, "thead": 180, "tbody": 180,
                 "tfoot": 180, "table": 190, "head": 200, "body": 200, "html": 220}
_RAW = {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
        "plaintext", "noscript"}
_MARKUP = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([A-Za-z][^\s/>]*)[^>]*>", re.DOTALL)


def _too_deep() -> bool:
    return any(entry.type_name == "ERR_RESOURCE_LIMIT" and "depth" in entry.message
               for entry in HTML_PARSER.error_log)


def _whole(parse, markup: str):
    """``parse(markup)``, again on a flattened copy if libxml2 stopped at its depth limit."""
    root = parse(markup)
    if not _too_deep():
        return root
    for limit in (FLATTEN_DEPTH, 500):
        root = parse(flatten_deep(markup, limit))
        if not _too_deep():
            return root
    raise ValueError("the page nests its elements too deep to be read whole "
                     "(libxml2 stops at 2,048 levels)")


def flatten_deep(markup: str, limit: int = FLATTEN_DEPTH) -> str:
    """``markup`` without the tags of elements nested deeper than ``limit`` (a space for
    each, so words stay apart); text, comments and shallower structure are kept."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    skip_to: re.Pattern[str] | None = None
    for match in _MARKUP.finditer(markup):
        if match.start() < pos:
            continue
        closing, name = match.group(1), match.group(2)
        if name is None:  # a comment
            continue
        name = name.lower()
        if skip_to is not None:
            if not (closing and skip_to.fullmatch(name)):
                continue
            skip_to = None
        drop = False
        if not closing:
            if name in _VOID or match.group(0).endswith("/>"):
                drop = len(stack) >= limit
            else:
                drop = len(stack) >= limit
                stack.append(name)
                if name in _RAW:
                    skip_to = re.compile(re.escape(name))
        else:
            priority = _END_PRIORITY.get(name, 100)
            index = len(stack) - 1
            while index >= 0 and stack[index] != name:
                if _END_PRIORITY.get(stack[index], 100) > priority:
                    index = -1
                    break
                index -= 1
            if index >= 0:  # an end tag libxml2 ignores is left to it
                drop = index >= limit
                del stack[index:]
        if drop:
            out.append(markup[pos:match.start()])
            out.append(" ")
            pos = match.end()
    out.append(markup[pos:])
    return "".join(out)


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
