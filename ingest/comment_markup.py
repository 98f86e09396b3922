"""Comment threads in HTML markup, found by the rules in ``comment_rules.toml``.

Each rule names, with CSS selectors, what one comment looks like in a markup family
(WordPress, Blogger, schema.org microdata, microformats2, phpBB, vBulletin, Discourse, and
a generic fallback for themes of their own). ``find_threads`` applies every rule to a
parsed page and returns one ``Thread`` per rule that found comments; the page extractor
keeps the best. Reply structure comes from markup only: a reply nested in its parent's
element, or a microformats ``u-in-reply-to`` link; flat forums stay flat.
"""

from __future__ import annotations

import copy
import logging
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from ingest.dates import find_date, to_iso
from ingest.htmltext import html_to_text
from kb.records import CommentRecord

log = logging.getLogger(__name__)

RULES_FILE = Path(__file__).with_name("comment_rules.toml")
GENERIC_RULE = "generic"  # the fallback rule's name in the rules file
_SAFE_URL = re.compile(r"^https?://", re.IGNORECASE)
_AUTHOR_NOISE = re.compile(
    r"^\s*(?:by|von|par|posted by|pingback|trackback)\s*:?\s*|\s*(?:says|said|wrote|schreibt|"
    r"sagt|dit|a dit|écrit|a écrit|commented)\s*(?::|\.{2,3}|…)?\s*$|\s*[»|:,]+\s*$",
    re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One markup family's selectors (see the head of ``comment_rules.toml``)."""

    name: str
    item: CSSSelector
    within: CSSSelector | None
    author: tuple[CSSSelector, ...]
    author_url: tuple[CSSSelector, ...]
    date: tuple[CSSSelector, ...]
    text: tuple[CSSSelector, ...]
    drop: CSSSelector | None
    quote: CSSSelector | None
    ids: tuple[tuple[CSSSelector | None, str, re.Pattern], ...]
    sibling: bool
    parent: str  # "nesting", "flat" or "CSS@attr"
    article_first: bool
    require_date: bool = False


@dataclass
class Thread:
    """The comments one rule found, with the elements they came from."""

    rule: str
    comments: list[CommentRecord]
    elements: list[etree._Element] = field(default_factory=list)
    article: CommentRecord | None = None  # the first post, for forum topics
    article_element: etree._Element | None = None


@dataclass(frozen=True)
class PageRules:
    not_in: CSSSelector
    heading: CSSSelector
    kind_class: dict[str, str]
    furniture: CSSSelector
    subscribe_words: tuple[str, ...]
    article_body: CSSSelector
    dateline: re.Pattern
    rules: tuple[Rule, ...]


def _css(value: str | None) -> CSSSelector | None:
    if not value:
        return None
    return CSSSelector(" ".join(value.split()), translator="html")


SELF = CSSSelector("*")  # stands for "self" in a rule's author list: the item itself


def _css_list(values: list[str] | str | None) -> tuple[CSSSelector, ...]:
    if not values:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(SELF if v == "self" else _css(v) for v in values if v)  # type: ignore[misc]


def _id_spec(spec: str) -> tuple[CSSSelector | None, str, re.Pattern]:
    if spec.startswith("attr:"):
        _, attr, pattern = spec.split(":", 2)
        return None, attr, re.compile(pattern)
    selector, rest = spec.split("@", 1)
    attr, pattern = rest.split(":", 1)
    return _css(selector), attr, re.compile(pattern)


@lru_cache(maxsize=1)
def load_rules(path: Path = RULES_FILE) -> PageRules:
    """The rules file, compiled once; a broken rule fails loudly, naming itself."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = []
    for raw in data["rule"]:
        try:
            rules.append(Rule(
                name=raw["name"], item=_css(raw["item"]), within=_css(raw.get("within")),
                author=_css_list(raw.get("author")), author_url=_css_list(raw.get("author_url")),
                date=_css_list(raw.get("date")), text=_css_list(raw.get("text")),
                drop=_css(raw.get("drop")), quote=_css(raw.get("quote")),
                ids=tuple(_id_spec(s) for s in raw.get("id", [])),
                sibling=bool(raw.get("sibling", False)), parent=raw.get("parent", "nesting"),
                article_first=raw.get("article") == "first-item",
                require_date=raw.get("require") == "date",
            ))
        except Exception as error:  # a broken selector is a bug in the rules file
            raise ValueError(f"{path.name}: rule {raw.get('name')!r}: {error}") from error
    page = data["page"]
    return PageRules(not_in=_css(page["not_in"]), heading=_css(page["heading"]),
                     kind_class=dict(page["kind_class"]), furniture=_css(page["furniture"]),
                     subscribe_words=tuple(page["subscribe_words"]),
                     article_body=_css(page["article_body"]),
                     dateline=re.compile("".join(page["dateline"].split()), re.IGNORECASE),
                     rules=tuple(rules))


def find_threads(root: lxml.html.HtmlElement, *, base_url: str | None = None) -> list[Thread]:
    """Every rule's reading of the page, in rule order; rules that find nothing are left out."""
    page = load_rules()
    excluded = set()
    for region in page.not_in(root):
        excluded.update(region.iter())
    threads = []
    for rule in page.rules:
        thread = _apply(rule, root, excluded, page, base_url)
        if thread is not None and thread.comments:
            threads.append(thread)
    return threads


def best_thread(threads: list[Thread]) -> Thread | None:
    """The reading with the most comments with text; earlier (more specific) rules win ties,
    and the generic rule is used only when no markup family's rule found anything."""
    specific = [t for t in threads if t.rule != GENERIC_RULE]
    best = None
    for thread in specific or threads:
        score = _score(thread)
        if best is None or score > _score(best):
            best = thread
    return best


def _score(thread: Thread) -> float:
    """Comments with text, each worth a little more when its author and date were read:
    of two rules finding the same comments, the one that understands them wins."""
    return sum(1 + 0.25 * bool(c.author) + 0.25 * bool(c.posted_at_text)
               for c in thread.comments if c.text) + (1 if thread.article else 0)


def _apply(rule: Rule, root: lxml.html.HtmlElement, excluded: set, page: PageRules,
           base_url: str | None) -> Thread | None:
    items = [el for el in rule.item(root) if el not in excluded and not _in_form(el)]
    if rule.within is not None:
        containers = set(rule.within(root))
        items = [el for el in items if any(a in containers for a in el.iterancestors())]
    if not items:
        return None
    item_set = set(items)
    # an item wrapped by another item with no words of its own is that item's body
    items = [el for el in items if not _is_body_of_wrapper(el, item_set)]
    item_set = set(items)
    index = {el: i for i, el in enumerate(items)}
    comments: list[CommentRecord] = []
    owns: list[etree._Element] = []
    permalinks: dict[str, int] = {}
    for el in items:
        own = _own_copy(el, item_set)
        comment = _read_item(rule, el, own, page, base_url)
        comments.append(comment)
        owns.append(own)
        if comment.permalink:
            permalinks[urldefrag(comment.permalink)[1] or comment.permalink] = len(comments) - 1
    parents = [None if rule.parent == "flat" else _nesting_parent(el, index) for el in items]
    if rule.parent not in ("nesting", "flat"):  # in-reply-to links resolved once all are read
        for i, own in enumerate(owns):
            linked = _resolve_reply_link(rule, own, permalinks, base_url)
            if linked is not None and linked < i:
                parents[i] = linked
    keep = [i for i, c in enumerate(comments) if (c.text or c.kind != "comment")
            and (c.posted_at_text or not rule.require_date)]
    thread = Thread(rule.name, [], [])
    article_index = None
    if rule.article_first and keep:
        article_index = keep.pop(0)
        thread.article, thread.article_element = comments[article_index], items[article_index]
    new_index: dict[int, int] = {}
    for i in keep:
        comment = comments[i]
        parent = parents[i]
        comment.parent = new_index.get(parent) if parent is not None else None
        if comment.parent is not None and comment.parent >= len(thread.comments):
            comment.parent = None
        new_index[i] = len(thread.comments)
        thread.comments.append(comment)
        thread.elements.append(items[i])
    return thread


def _in_form(el: etree._Element) -> bool:
    return any(a.tag == "form" or a.get("id") == "respond" for a in el.iterancestors())


def _is_body_of_wrapper(el: etree._Element, items: set) -> bool:
    parent_item = next((a for a in el.iterancestors() if a in items), None)
    if parent_item is None:
        return False
    own = _own_text(parent_item, items, skip=el)
    return not own and next((d for d in parent_item.iterdescendants() if d in items), None) is el


def _own_text(el: etree._Element, items: set, skip: etree._Element | None = None) -> str:
    """The item's words outside the items nested in it (and outside ``skip``), walked
    without recursion: hostile pages nest thousands deep."""
    parts = [el.text or ""]
    stack: list[etree._Element | str] = list(reversed(el))
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
            continue
        if node in items or node is skip or not isinstance(node.tag, str) \
                or node.tag in ("script", "style"):
            parts.append(node.tail or "")
            continue
        parts.append(node.text or "")
        stack.append(node.tail or "")  # after the children
        stack.extend(reversed(node))
    return "".join(parts).strip()


def _own_copy(el: etree._Element, items: set) -> etree._Element:
    """A copy of the item without the comments nested in it (its replies), made in one
    pass over what is copied: a thread nested a thousand deep costs no more than flat."""
    own = _clone(el)
    stack = [(own, child) for child in reversed(el)]
    while stack:
        parent_copy, node = stack.pop()
        if node in items:
            if node.tail:  # keep the text that followed the reply
                last = parent_copy[-1] if len(parent_copy) else None
                if last is not None:
                    last.tail = (last.tail or "") + node.tail
                else:
                    parent_copy.text = (parent_copy.text or "") + node.tail
            continue
        if not isinstance(node.tag, str):
            continue  # comments and processing instructions
        node_copy = _clone(node)
        node_copy.tail = node.tail
        parent_copy.append(node_copy)
        stack.extend((node_copy, child) for child in reversed(node))
    return own


def _clone(node: etree._Element) -> etree._Element:
    copy_ = lxml.html.Element(node.tag, dict(node.attrib))
    copy_.text = node.text
    return copy_


def remove_keeping_tail(el: etree._Element) -> None:
    """Take an element out of its tree, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _first(selectors: tuple[CSSSelector, ...], el: etree._Element) -> etree._Element | None:
    for selector in selectors:
        found = selector(el)
        if found:
            return found[0]
    return None


def _clean_name(text: str) -> str | None:
    name = " ".join(text.split())
    name = re.split(r"\s+[|·]\s+", name, maxsplit=1)[0]  # "Posted by: Zoë | Jan 11, 2006"
    for _ in range(2):
        name = _AUTHOR_NOISE.sub("", name).strip()
    return name or None


def _read_item(rule: Rule, el: etree._Element, own: etree._Element, page: PageRules,
               base_url: str | None) -> CommentRecord:
    scope = [own]
    if rule.sibling:
        scope += _following_siblings(el)
    author = _read_author(rule, own)
    url_el = _first_in(rule.author_url, [own])
    author_url = _link(url_el.get("href") if url_el is not None else None, base_url)
    date_text, posted_at = _read_date(rule, scope)
    text_el = _first_in(rule.text, scope[1:] if rule.sibling else scope)
    if text_el is not None and text_el is not own:
        body = copy.deepcopy(text_el)
        if body.tag == "blockquote":  # vBulletin 4 wraps every post in one: not a quote
            body.tag = "div"
    else:
        body = copy.deepcopy(own)
        if rule.drop is not None:
            for junk in rule.drop(body):
                if junk is not body:
                    remove_keeping_tail(junk)
    for stamp in list(body.iter("time")):  # a date link inside the text (ping excerpts)
        holder = stamp.getparent()
        if holder is not None and holder.tag == "a" and not (holder.text or "").strip():
            stamp = holder
        remove_keeping_tail(stamp)
    if rule.quote is not None:
        for box in rule.quote(body):
            box.tag = "blockquote"
    text = html_to_text(body)
    kind = _kind(el, text, page)
    if kind != "comment" and (author is None or author_url is None):
        link = next((a for a in own.iter("a") if a.get("href")), None)
        if link is not None:
            author = author or _clean_name(link.text_content())
            author_url = author_url or _link(link.get("href"), base_url)
    return CommentRecord(
        text=text, author=author, author_url=author_url, posted_at=posted_at,
        posted_at_text=date_text, external_id=_read_id(rule, el, own),
        permalink=_permalink(own, el, base_url), kind=kind,
    )


def _read_author(rule: Rule, own: etree._Element) -> str | None:
    """The first author selector giving a name; ``self`` in the rules means the item."""
    for selector in rule.author:
        candidates = [own] if selector is SELF else selector(own)
        for candidate in candidates[:1]:
            name = _clean_name(candidate.text_content())
            if name:
                return name
    return None


def _first_in(selectors: tuple[CSSSelector, ...], scope: list[etree._Element]):
    for selector in selectors:
        for el in scope:
            found = selector(el)
            if found:
                return found[0]
    return None


def _following_siblings(el: etree._Element) -> list[etree._Element]:
    """Old Blogger: <dt> author, then <dd> body and <dd> footer, up to the next <dt>."""
    out = []
    for sib in el.itersiblings():
        if sib.tag == el.tag:
            break
        out.append(sib)
    return out


def _read_date(rule: Rule, scope: list[etree._Element]) -> tuple[str | None, str | None]:
    for selector in rule.date:
        for el in scope:
            for found in selector(el):
                shown = " ".join(found.text_content().split()) or None
                machine = found.get("datetime") or found.get("content") or found.get("title")
                if machine and re.match(r"\d{4}-\d{2}-\d{2}", machine.strip()):
                    return shown or machine.strip(), iso_from_machine(machine)
                if shown:
                    match = find_date(shown)
                    if match:
                        return match.group(0).strip(" ,"), to_iso(match.group(0))
    return None, None


def iso_from_machine(value: str) -> str:
    """'2019-03-04T09:12:00+00:00' → '2019-03-04T09:12:00': the clock time as the page gave it."""
    value = value.strip()
    match = re.match(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?", value)
    if not match:
        return value
    date, time = match.groups()
    if not time:
        return date
    return f"{date}T{time if len(time) == 8 else time + ':00'}"


def _read_id(rule: Rule, el: etree._Element, own: etree._Element) -> str | None:
    for selector, attr, pattern in rule.ids:
        candidates = [el] if selector is None else selector(own)
        for candidate in candidates:
            match = pattern.search(candidate.get(attr) or "")
            if match:
                return match.group(1)
    return None


def _permalink(own: etree._Element, el: etree._Element, base_url: str | None) -> str | None:
    for a in own.iter("a"):
        href = a.get("href") or ""
        if "#comment-" in href or "#c" in href and re.search(r"#c\d+$", href):
            return _link(href, base_url)
    for a in own.cssselect(".u-url"):
        if a.get("href"):
            return _link(a.get("href"), base_url)
    return None


def _link(href: str | None, base_url: str | None) -> str | None:
    """An absolute http(s) link, or None: scraped ``javascript:``/``data:`` links never pass."""
    if not href:
        return None
    href = href.strip()
    absolute = urljoin(base_url, href) if base_url else href
    return absolute if _SAFE_URL.match(absolute) else None


def _kind(el: etree._Element, text: str, page: PageRules) -> str:
    classes = set((el.get("class") or "").split())
    for kind, cls in page.kind_class.items():
        if cls in classes:
            return kind
    lowered = text[:20].lower()
    if lowered.startswith("pingback:"):
        return "pingback"
    if lowered.startswith("trackback:"):
        return "trackback"
    return "comment"


def _nesting_parent(el: etree._Element, index: dict[etree._Element, int]) -> int | None:
    for ancestor in el.iterancestors():
        if ancestor in index:
            return index[ancestor]
    return None


def _resolve_reply_link(rule: Rule, el: etree._Element, permalinks: dict[str, int],
                        base_url: str | None) -> int | None:
    selector, attr = rule.parent.split("@", 1)
    for link in _css(selector)(el):
        target = _link(link.get(attr), base_url)
        if not target:
            continue
        key = urldefrag(target)[1] or target
        if key in permalinks:
            return permalinks[key]
    return None
