"""The crawler's pure parts: canonical URLs, URL families, link finding on a page,
sitemaps, and near-duplicate fingerprints."""

from __future__ import annotations

import gzip

import lxml.html
import pytest

from ingest.errors import ExtractionError
from ingest.fingerprint import simhash
from ingest.links import crawlable, page_links, parse_sitemap
from ingest.urls import canonical_url, site_of, url_shape, url_words


@pytest.mark.parametrize("variant", [
    "http://blog.example.com/2019/03/who-owns-cx/",
    "HTTP://Blog.Example.com:80/2019/03/who-owns-cx",
    "http://www.blog.example.com/2019/03/who-owns-cx/#comments",
    "http://blog.example.com/2019/03/who-owns-cx/?utm_source=feed&utm_medium=rss",
    "http://blog.example.com/2019/03/who-owns-cx/?replytocom=42#respond",
    "http://blog.example.com/2019/03/who-owns-cx/?sid=9f8e7d6c5b4a&fbclid=abc",
    "http://blog.example.com/2019/03/who-owns-cx;jsessionid=ABC123DEF",
    "http://blog.example.com/2019//03/./who-owns-cx/",
    "http://user:pw@blog.example.com/2019/03/who%2Downs%2Dcx/",
])
def test_addresses_of_one_page_share_one_canonical_key(variant):
    assert canonical_url(variant) == "http://blog.example.com/2019/03/who-owns-cx"


def test_canonical_keys_keep_what_tells_pages_apart():
    assert canonical_url("https://example.com/a") != canonical_url("http://example.com/a")
    assert canonical_url("http://example.com:8080/a") == "http://example.com:8080/a"
    assert canonical_url("http://example.com/?p=2&cat=5") == "http://example.com/?cat=5&p=2"
    assert canonical_url("http://example.com/list?page=2") != canonical_url(
        "http://example.com/list?page=3")
    assert canonical_url("http://EXAMPLE.com") == "http://example.com/"


def test_sites_shapes_and_url_words():
    assert site_of("https://Example.com/x") == "https://example.com:443"
    assert site_of("http://127.0.0.1:8001/a") != site_of("http://127.0.0.1:8002/a")
    months = {url_shape(f"http://e.com/calendar/?month=20{y}-{m:02d}")
              for y in (30, 31) for m in (1, 7)}
    assert len(months) == 1
    assert url_shape("http://e.com/events/?day=2031-01-02") != url_shape(
        "http://e.com/calendar/?month=2031-01")
    assert url_words("http://e.com/2019/03/who-owns-customer-experience/?utm_source=x") == (
        "who owns customer experience")


def test_crawlable_is_pages_only():
    assert crawlable("https://e.com/post/")
    for url in ("mailto:a@e.com", "javascript:alert(1)", "ftp://e.com/x", "http://e.com/a.pdf",
                "http://e.com/img/photo.JPG", "http://e.com/wp-admin/", "http://e.com/wp-json/wp/v2",
                "http://e.com/cart/"):
        assert not crawlable(url), url


PAGE = """<html><head><link rel="alternate" type="application/rss+xml" title="Feed" href="/feed/">
<link rel="next" href="/page/2/"></head><body>
<header><nav class="menu"><a href="/">Home</a> <a href="/about/">About</a></nav></header>
<article><h1>Who owns CX?</h1><div class="entry-content">
<p>Bruce Temkin <a href="/2019/02/cx-is-an-outcome/">argued that CX is an outcome</a> of everything a company does.</p>
<p>Read <a href="/2019/01/cco/">here</a>.</p></div></article>
<section class="related-posts"><h3>Related posts</h3><ul>
<li><a href="/2018/11/marketing-owns-cx/">Should marketing own customer experience?</a> Marketing leaders say yes.</li></ul></section>
<div id="comments"><ol class="commentlist"><li class="comment"><div class="comment-author vcard">
<cite class="fn"><a class="url" rel="external nofollow ugc" href="http://commenter.example.net/">Jane</a></cite></div>
<p>See <a href="/2017/05/service-and-cx/">my older post</a>. <a href="?replytocom=3#respond">Reply</a></p></li></ol></div>
<div class="pagination"><a href="/page/2/">2</a> <a href="/page/2/">Older posts »</a></div>
<footer><a href="/privacy/">Privacy</a> <a href="mailto:x@e.com">Mail</a> <a href="/a.pdf">PDF</a></footer>
</body></html>"""


def test_page_links_are_sorted_by_where_they_sit():
    root = lxml.html.fromstring(PAGE)
    links = {link.url.replace("http://blog.example.com", ""): link
             for link in page_links(root, "http://blog.example.com/2019/03/who-owns-cx/")}
    assert links["/2019/02/cx-is-an-outcome/"].kind == "text"
    assert links["/2019/02/cx-is-an-outcome/"].anchor == "argued that CX is an outcome"
    assert "everything a company does" in links["/2019/02/cx-is-an-outcome/"].context
    assert links["/2019/01/cco/"].kind == "text"
    assert links["/2018/11/marketing-owns-cx/"].kind == "related"
    assert "Marketing leaders say yes" in links["/2018/11/marketing-owns-cx/"].context
    assert links["/page/2/"].kind == "pagination"
    assert links["/feed/"].kind == "feed"
    assert links["/about/"].kind == "nav" and links["/privacy/"].kind == "nav"
    assert links["/2017/05/service-and-cx/"].kind == "comment"
    assert links["http://commenter.example.net/"].kind == "commenter"
    assert not any(u.endswith(".pdf") or u.startswith("mailto") for u in links)


SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://e.com/a/</loc><lastmod>2024-03-01</lastmod></url>
<url><loc>https://e.com/b/</loc></url><url><loc>javascript:alert(1)</loc></url></urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://e.com/post-sitemap.xml</loc></sitemap>
<sitemap><loc>https://e.com/page-sitemap.xml</loc></sitemap></sitemapindex>"""


def test_sitemaps_indexes_gzip_and_text():
    plain = parse_sitemap(SITEMAP)
    assert plain.pages == [("https://e.com/a/", "2024-03-01"), ("https://e.com/b/", None)]
    assert parse_sitemap(gzip.compress(SITEMAP)).pages == plain.pages
    index = parse_sitemap(INDEX)
    assert index.children == ["https://e.com/post-sitemap.xml", "https://e.com/page-sitemap.xml"]
    assert parse_sitemap(b"https://e.com/x\nhttps://e.com/y\n").pages[1] == ("https://e.com/y", None)


@pytest.mark.parametrize("data, says", [
    (b"<html><body>no</body></html>", "root element is <html>"),
    (b"just words", "not a sitemap"),
    (b"\x1f\x8b\x08garbage", "broken gzip"),
])
def test_a_bad_sitemap_is_named(data, says):
    with pytest.raises(ExtractionError, match=says) as caught:
        parse_sitemap(data, url="https://e.com/sitemap.xml")
    assert "https://e.com/sitemap.xml" in str(caught.value)


def test_sitemap_entities_are_not_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<urlset><url><loc>https://e.com/&e;</loc></url></urlset>')
    pages = parse_sitemap(bomb).pages
    assert all("root:" not in url for url, _ in pages)


ARTICLE = """Who owns customer experience? In most companies nobody does. Marketing claims the
brand promise, service handles the complaints, and operations runs delivery, so each of them
owns a slice and none of them owns the whole. When I ask executives who is accountable for the
experience a customer actually has, the answers vary with the person I ask. The chief marketing
officer points at the brand tracker; the head of service points at first-contact resolution;
the COO points at on-time delivery. Each metric is real, and each measures a function. But the
customer does not experience functions. The customer experiences a company, end to end, and the
result of all those handoffs is what we call CX. That is why I think CX is an outcome rather than
a department. You can appoint a chief customer officer to orchestrate the work, and some firms
should, but the moment the title becomes the owner of CX, everyone else feels free to stop
caring. Shared accountability, with one executive keeping score, works better in my experience
than a new silo with a fancy name."""


def test_simhash_tells_copies_from_other_articles():
    copy = "This article first appeared on the CX blog. " + ARTICLE + " Share this: Twitter"
    other = ARTICLE[:len(ARTICLE) // 2] + (
        " Warehouse slotting and wave picking decide throughput in distribution centres; the"
        " ERP integration, the scanners and the labour model matter more than the software.")
    assert (simhash(ARTICLE) ^ simhash(copy)).bit_count() <= 6
    assert (simhash(ARTICLE) ^ simhash(other)).bit_count() > 12
    assert simhash("too short") == 0
