"""The web-extraction gold set checks out on its own, before any extractor is run.

Every saved page under ``tests/fixtures/web/pages`` has a gold JSON of the agreed shape;
every string the gold expects (comment starts, authors, shown dates, titles, phrases that
must not leak) really occurs in the page's text once it is decoded with the page's declared
encoding; replies point at earlier comments; ids and author links are in the markup; the set
is large and varied enough to serve as the yardstick; and the generator reproduces the
committed files byte for byte. No cxkb extractor is imported here.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest

WEB = Path(__file__).parent / "fixtures" / "web"
PAGES = WEB / "pages"
GOLD = WEB / "gold"
STEMS = sorted(p.stem for p in GOLD.glob("*.json"))

TOP_KEYS = {"page", "family", "url", "encoding", "article", "declared_comment_count",
            "comments", "not_comments"}
ARTICLE_KEYS = {"title", "author", "published", "body_starts", "body_contains", "not_in_body"}
COMMENT_KEYS = {"gid", "external_id", "author", "author_url", "date", "date_text", "parent",
                "kind", "starts"}
KINDS = {"comment", "pingback", "trackback"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$")
CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)


def collapse(text: str) -> str:
    return " ".join(text.split())


def load_gold(stem: str) -> dict:
    return json.loads((GOLD / f"{stem}.json").read_text(encoding="utf-8"))


def page_bytes(stem: str) -> bytes:
    return (PAGES / f"{stem}.html").read_bytes()


def page_tree(stem: str) -> lxml.html.HtmlElement:
    gold = load_gold(stem)
    return lxml.html.document_fromstring(page_bytes(stem).decode(gold["encoding"]))


def page_text(stem: str) -> str:
    return collapse(page_tree(stem).text_content())


def depth(comment: dict, by_gid: dict[str, dict]) -> int:
    level = 0
    while comment["parent"] is not None:
        comment = by_gid[comment["parent"]]
        level += 1
    return level


def test_every_page_has_a_gold_file_and_every_gold_file_a_page() -> None:
    pages = sorted(p.stem for p in PAGES.glob("*.html"))
    assert pages, f"no pages in {PAGES}"
    assert pages == STEMS
    assert not [p.name for p in PAGES.iterdir() if p.suffix != ".html"]
    assert not [p.name for p in GOLD.iterdir() if p.suffix != ".json"]


@pytest.mark.parametrize("stem", STEMS)
def test_gold_file_has_the_agreed_shape(stem: str) -> None:
    gold = load_gold(stem)
    assert set(gold) == TOP_KEYS, set(gold) ^ TOP_KEYS
    assert gold["page"] == f"{stem}.html"
    assert isinstance(gold["family"], str) and gold["family"]
    assert gold["url"] is None or gold["url"].startswith(("http://", "https://"))
    codecs.lookup(gold["encoding"])
    declared = gold["declared_comment_count"]
    assert declared is None or (isinstance(declared, int) and declared >= 0)

    article = gold["article"]
    assert set(article) == ARTICLE_KEYS, set(article) ^ ARTICLE_KEYS
    assert isinstance(article["title"], str) and article["title"].strip()
    assert article["author"] is None or article["author"].strip()
    assert article["published"] is None or DATE.match(article["published"])
    assert 6 <= len(article["body_starts"].split()) <= 12
    assert article["body_contains"] and all(p.strip() for p in article["body_contains"])
    assert article["not_in_body"] and all(p.strip() for p in article["not_in_body"])
    for phrase in article["not_in_body"]:
        assert phrase not in article["body_starts"]
        assert all(phrase not in wanted for wanted in article["body_contains"])
    assert isinstance(gold["not_comments"], list) and gold["not_comments"]

    seen: set[str] = set()
    for c in gold["comments"]:
        assert set(c) == COMMENT_KEYS, (c.get("gid"), set(c) ^ COMMENT_KEYS)
        assert c["gid"] and c["gid"] not in seen, f"duplicate gid {c['gid']}"
        assert c["parent"] is None or c["parent"] in seen, \
            f"{c['gid']} replies to {c['parent']}, which does not come before it"
        seen.add(c["gid"])
        assert c["kind"] in KINDS
        assert isinstance(c["author"], str) and c["author"].strip()
        assert c["author_url"] is None or c["author_url"].startswith(("http://", "https://"))
        assert c["external_id"] is None or (isinstance(c["external_id"], str)
                                            and c["external_id"].strip())
        assert c["date"] is None or DATETIME.match(c["date"]), c["date"]
        assert c["date"] is None or c["date_text"], f"{c['gid']} has a date but no date_text"
        assert 1 <= len(c["starts"].split()) <= 10, c["starts"]
        for phrase in gold["not_comments"]:
            assert phrase not in c["starts"], (c["gid"], phrase)
    ids = [c["external_id"] for c in gold["comments"] if c["external_id"]]
    assert len(ids) == len(set(ids)), "external ids repeat"


@pytest.mark.parametrize("stem", STEMS)
def test_page_is_saved_in_the_encoding_it_declares(stem: str) -> None:
    gold = load_gold(stem)
    data = page_bytes(stem)
    match = CHARSET.search(data[:4096])
    assert match, "no <meta charset> in the first 4 KB"
    declared = codecs.lookup(match.group(1).decode("ascii")).name
    assert declared == codecs.lookup(gold["encoding"]).name
    data.decode(gold["encoding"])  # strict: every byte is valid in the declared encoding
    if declared != "utf-8":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")


@pytest.mark.parametrize("stem", STEMS)
def test_page_is_a_realistic_size(stem: str) -> None:
    assert 15_000 <= len(page_bytes(stem)) <= 60_000


@pytest.mark.parametrize("stem", STEMS)
def test_every_gold_string_occurs_in_the_page_text(stem: str) -> None:
    gold = load_gold(stem)
    text = page_text(stem)
    article = gold["article"]
    wanted = [("title", article["title"]), ("body_starts", article["body_starts"])]
    wanted += [("author", article["author"])] if article["author"] else []
    wanted += [("body_contains", p) for p in article["body_contains"]]
    wanted += [("not_in_body", p) for p in article["not_in_body"]]
    wanted += [("not_comments", p) for p in gold["not_comments"]]
    for c in gold["comments"]:
        wanted += [(f"{c['gid']}.starts", c["starts"]), (f"{c['gid']}.author", c["author"])]
        if c["date_text"]:
            wanted.append((f"{c['gid']}.date_text", c["date_text"]))
    missing = [(what, phrase) for what, phrase in wanted if collapse(phrase) not in text]
    assert not missing


@pytest.mark.parametrize("stem", STEMS)
def test_ids_and_author_links_are_in_the_markup(stem: str) -> None:
    gold = load_gold(stem)
    tree = page_tree(stem)
    source = page_bytes(stem).decode(gold["encoding"])
    base_href = tree.xpath("//base/@href")
    base = base_href[0] if base_href else (gold["url"] or "")
    links = {urljoin(base, href) for href in tree.xpath("//a/@href")}
    for c in gold["comments"]:
        if c["external_id"]:
            assert c["external_id"] in source, f"{c['gid']}: id {c['external_id']} not in markup"
        if c["author_url"]:
            assert c["author_url"] in links, f"{c['gid']}: no link to {c['author_url']}"


def test_the_set_is_big_and_varied_enough() -> None:
    golds = [load_gold(stem) for stem in STEMS]
    comments = [c for g in golds for c in g["comments"]]
    assert len(golds) >= 18
    assert len({g["family"] for g in golds}) >= 8
    assert len(comments) >= 150
    assert max(len(g["comments"]) for g in golds) <= 25
    assert any(not g["comments"] for g in golds), "no page without comments"
    assert sum(c["kind"] != "comment" for c in comments) >= 2
    assert {"pingback", "trackback"} <= {c["kind"] for c in comments}
    deep = [g["page"] for g in golds
            if any(depth(c, {x["gid"]: x for x in g["comments"]}) >= 2 for c in g["comments"])]
    assert len(deep) >= 3, deep
    families = {}
    for g in golds:
        families[g["family"]] = families.get(g["family"], 0) + 1
    for family in ("wordpress-classic", "wordpress-block", "blogger", "jsonld"):
        assert families.get(family, 0) >= 2, family
    assert any(codecs.lookup(g["encoding"]).name != "utf-8" for g in golds)


def test_hostile_comment_text_is_escaped_in_the_source_and_literal_in_the_text() -> None:
    hostile = "<script>alert(1)</script>"
    hits = [stem for stem in STEMS
            if any(hostile in c["starts"] for c in load_gold(stem)["comments"])]
    assert hits, "no comment with literal <script> text"
    for stem in hits:
        source = page_bytes(stem).decode(load_gold(stem)["encoding"])
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
        assert hostile not in source
        assert hostile in page_text(stem)


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.path.insert(0, str(WEB))
    try:
        import make_pages
        assert make_pages.main(tmp_path) == 0, "make_pages.py reports problems (see stdout)"
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if name in ("make_pages", "_blogger") or name.startswith("webfixture_"):
                del sys.modules[name]
    for kind in ("pages", "gold"):
        made = sorted(p.name for p in (tmp_path / kind).iterdir())
        assert made == sorted(p.name for p in (WEB / kind).iterdir())
        for name in made:
            assert (tmp_path / kind / name).read_bytes() == (WEB / kind / name).read_bytes(), \
                f"{kind}/{name} differs from what make_pages.py writes; rerun it"
