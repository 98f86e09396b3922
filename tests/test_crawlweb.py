"""The generated test web for the focused crawler (tests/crawlweb.py) stays honest: enough
pages, enough on-topic ones, all reachable by links, sitemaps and feeds that parse,
conditional GETs, traps that never end, and near-duplicates that really are duplicates."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
from crawlweb import CrawlWeb, crawl_web

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def web():
    with crawl_web(seed=7) as built:
        yield built


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_data(self, data):
        self.text.append(data)


def parse(body: str) -> _Page:
    page = _Page()
    page.feed(body)
    return page


def squash(text: str) -> str:
    return " ".join(text.split())


def canonical(url: str) -> str:
    """No fragment, no path parameters, no query except pagination."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k == "page"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path.split(";", 1)[0], query, ""))


def fetch(url: str, headers: dict[str, str] | None = None):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10)


def get(url: str) -> str:
    with fetch(url) as response:
        return response.read().decode("utf-8")


@pytest.fixture(scope="module")
def reached(web: CrawlWeb) -> dict[str, str]:
    """A plain breadth-first crawl from the two home pages over the three sites."""
    hosts = {urlsplit(s.url("/")).netloc for s in web.servers()}
    start = [web.blog.url("/"), web.magazine.url("/")]
    seen, queue, pages = set(start), deque(start), {}
    while queue:
        url = queue.popleft()
        try:
            with fetch(url) as response:
                final = canonical(response.geturl())
                if not response.headers.get("Content-Type", "").startswith("text/html"):
                    continue
                body = response.read().decode("utf-8")
        except urllib.error.HTTPError:
            continue  # dead links, the 500, the redirect loop
        pages[final] = body
        for href in parse(body).links:
            target = urljoin(final, href)
            parts = urlsplit(target)
            if parts.scheme != "http" or parts.netloc not in hosts:
                continue
            target = canonical(target)
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return pages


def test_size_and_topics(web: CrawlWeb):
    assert web.pages() >= 200
    assert len(web.on_topic) >= 35
    for site in ("blog", "magazine", "consultancy"):
        assert any(web.site_of(u) == site for u in web.on_topic), site
        assert any(web.site_of(u) == site for u in web.off_topic), site
    assert not web.on_topic & web.off_topic
    assert not set(web.duplicates) & (web.on_topic | web.off_topic)
    assert len(web.off_topic) >= 2 * len(web.on_topic)
    texts = [web.article_text(u) for u in web.on_topic | web.off_topic]
    assert len(set(texts)) == len(texts)
    for url in web.on_topic | web.off_topic:
        assert 250 <= len(web.article_text(url).split()) <= 700, url
    near = {"cs_hiring", "cdp", "checkout", "loyalty", "crm", "data_owner", "chatbot"}
    assert sum(web.topic_of(u) in near for u in web.off_topic) >= 25
    assert len(web.servers()) == len({s.port for s in web.servers()}) == 3


def test_every_page_is_reachable_by_links(web: CrawlWeb, reached: dict[str, str]):
    assert web.on_topic <= set(reached)
    assert web.off_topic <= set(reached)
    real = {u for u, kind in web.page_kinds.items() if kind != "print"}
    assert real <= set(reached), sorted(real - set(reached))[:5]
    assert len(reached) >= 200
    assert any(web.site_of(u) == "consultancy" for u in reached)
    # the consultancy is only ever linked from the other two sites, never the other way round
    blog_links = {canonical(urljoin(u, h)) for u, body in reached.items()
                  if web.site_of(u) == "blog" for h in parse(body).links}
    assert any(urlsplit(link).netloc == urlsplit(web.consultancy.url()).netloc for link in blog_links)


def test_article_markup(web: CrawlWeb):
    post = next(u for u in sorted(web.on_topic) if web.site_of(u) == "blog")
    body = get(post)
    assert '<h1 class="entry-title">' in body and "<article" in body and "<time" in body
    assert '"@type": "Article"' in body and 'class="related-posts"' in body
    assert body.count('<a href="') > 40
    article = next(u for u in sorted(web.on_topic) if web.site_of(u) == "magazine")
    body = get(article)
    assert '<aside class="related-articles"><h3>Related Articles</h3>' in body
    assert re.search(r"/articles/\d+$", article)
    commented = [u for u in web.page_kinds if web.site_of(u) == "blog"
                 and 'class="commentlist"' in (b := get(u)) and '<ul class="children">' in b
                 and 'class="url"' in b and "?replytocom=" in b]
    assert commented


def test_sitemaps_and_feeds(web: CrawlWeb):
    robots = get(web.blog.url("/robots.txt"))
    index_url = re.search(r"^Sitemap: (\S+)$", robots, re.MULTILINE)[1]
    assert index_url == web.blog.url("/sitemap_index.xml")
    with fetch(index_url) as response:
        assert response.headers["Content-Type"] == "application/xml"
        index = ET.fromstring(response.read())
    children = [loc.text for loc in index.iter(f"{SM}loc")]
    assert children == [web.blog.url("/post-sitemap.xml"), web.blog.url("/page-sitemap.xml")]
    listed: set[str] = set()
    for child in children:
        tree = ET.fromstring(get(child))
        listed |= {loc.text for loc in tree.iter(f"{SM}loc")}
    posts = {u for u, k in web.page_kinds.items() if k == "article" and web.site_of(u) == "blog"}
    assert posts <= listed
    post_map = ET.fromstring(get(children[0]))
    assert len(list(post_map.iter(f"{SM}lastmod"))) == len(posts)
    with fetch(web.blog.url("/feed/")) as response:
        assert response.headers["Content-Type"] == "application/rss+xml"
        items = ET.fromstring(response.read()).findall("./channel/item")
    assert len(items) == 10
    assert all(i.findtext("link") in posts and i.findtext("title") and i.findtext("description")
               for i in items)
    # the magazine: an unannounced sitemap at the root, robots.txt without a Sitemap line
    robots = get(web.magazine.url("/robots.txt"))
    assert "Disallow: /admin/" in robots and "Sitemap" not in robots
    articles = {u for u, k in web.page_kinds.items() if web.site_of(u) == "magazine" and k != "listing" and k != "page"}
    listed = {loc.text for loc in ET.fromstring(get(web.magazine.url("/sitemap.xml"))).iter(f"{SM}loc")}
    assert articles <= listed
    with fetch(web.magazine.url("/feed.atom")) as response:
        assert response.headers["Content-Type"] == "application/atom+xml"
        atom = ET.fromstring(response.read())
    assert len(atom.findall("{http://www.w3.org/2005/Atom}entry")) == 15


def test_conditional_get_and_new_comments(web: CrawlWeb):
    post = sorted(u for u in web.on_topic if web.site_of(u) == "blog")[3]
    with fetch(post) as first:
        etag, modified, body = first.headers["ETag"], first.headers["Last-Modified"], first.read()
    with fetch(post) as second:  # the session ids differ per render, the ETag does not
        assert second.headers["ETag"] == etag and second.read() != body
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        with pytest.raises(urllib.error.HTTPError) as caught:
            fetch(post, headers)
        assert caught.value.code == 304
    for url in (web.blog.url("/feed/"), web.blog.url("/post-sitemap.xml"), web.magazine.url("/feed.atom")):
        with fetch(url) as response:
            tag = response.headers["ETag"]
        with pytest.raises(urllib.error.HTTPError) as caught:
            fetch(url, {"If-None-Match": tag})
        assert caught.value.code == 304
    web.add_comment(post, "Imogen Test", "Customer experience is an outcome, full stop.")
    with fetch(post, {"If-None-Match": etag, "If-Modified-Since": modified}) as changed:
        assert changed.status == 200
        assert changed.headers["ETag"] != etag
        assert changed.headers["Last-Modified"] != modified
        page = changed.read().decode()
    assert "Imogen Test" in page and "an outcome, full stop." in page
    with fetch(post, {"If-Modified-Since": modified}) as again:
        assert again.status == 200
        new_tag = again.headers["ETag"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(post, {"If-None-Match": new_tag})
    assert caught.value.code == 304


def test_traps_answer_forever(web: CrawlWeb):
    body = get(web.blog.url("/calendar/?month=2987-11"))
    assert "November 2987" in body and "/calendar/?month=2987-12" in body
    assert "/calendar/?month=10000-01" in get(web.blog.url("/calendar/?month=9999-12"))
    body = get(web.consultancy.url("/events/?day=2999-12-31"))
    assert "31 December 2999" in body and "/events/?day=3000-01-01" in body
    assert web.blog.url("/calendar/") in web.traps and web.consultancy.url("/events/") in web.traps
    post = min(u for u in web.on_topic if web.site_of(u) == "blog")
    text = squash(web.article_text(post))[:400]
    for variant in (post + "?replytocom=2001", post + ";jsessionid=0A1B2C3D", post + "?sid=deadbeef",
                    post + "?utm_source=x&utm_medium=y", post.rstrip("/")):
        with fetch(variant) as response:
            assert canonical(response.geturl()) == post
            assert text in squash("".join(parse(response.read().decode()).text))
    with fetch(next(u for u in web.on_topic if web.site_of(u) == "magazine") + "/") as response:
        assert not response.geturl().endswith("/")


def test_near_duplicates_carry_the_original_text(web: CrawlWeb):
    kinds = {web.page_kinds[u] for u in web.duplicates}
    assert kinds == {"print", "syndicated"}
    syndicated = [u for u in web.duplicates if web.page_kinds[u] == "syndicated"]
    assert len(syndicated) == 2 and all(web.site_of(u) == "magazine" for u in syndicated)
    for copy, original in web.duplicates.items():
        assert original in web.on_topic | web.off_topic
        text = squash("".join(parse(get(copy)).text))
        for paragraph in web.article_text(original).split("\n\n"):
            assert squash(paragraph) in text, copy
        if copy in syndicated:
            assert "first appeared on" in text and original in get(copy)


def test_redirects_dead_links_and_loop(web: CrawlWeb):
    assert len(web.redirects) >= 10
    for old, target in web.redirects.items():
        with fetch(old) as response:
            assert response.geturl() == target
    for url, status in web.dead.items():
        with pytest.raises(urllib.error.HTTPError) as caught:
            fetch(url)
        assert caught.value.code == status
    assert sorted(web.dead.values()) == [404, 404, 404, 500]
    with pytest.raises(urllib.error.HTTPError):
        fetch(web.loop[0])
    sites = [name for name, request in web.requests()]
    assert set(sites) == {"blog", "magazine", "consultancy"}


def test_same_seed_same_web(web: CrawlWeb):
    def shape(w: CrawlWeb) -> list[tuple[str, str, str]]:
        return sorted((w.site_of(u), urlsplit(u).path, w.article_text(u)[:200])
                      for u in w.on_topic | w.off_topic)
    with crawl_web(seed=7) as again:
        assert shape(again) == shape(web)
    with crawl_web(seed=8) as other:
        assert shape(other) != shape(web)
