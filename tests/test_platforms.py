"""Platform data → records: RSS/Atom feeds, WordPress comment feeds, WordPress REST comment
pages, WordPress WXR exports and Disqus exports, read from realistic fixture files.

Each parser is checked on what a reader of the knowledge base would see: which documents
and comments come out, who wrote them, when, in what order, who replies to whom, what is
left out (drafts, spam, deleted posts nobody answered) and what is reported; broken or
wrong-kind files give one-line errors that say what was expected and where it failed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ingest.disqus import parse_disqus
from ingest.errors import ExtractionError
from ingest.feeds import comment_feed_document, is_comment_feed, parse_comment_feed, parse_feed
from ingest.wordpress import iso_date, parse_wp_comments_json, parse_wxr, wp_comments_total_pages
from kb.records import CommentRecord, DocumentRecord

FIXTURES = Path(__file__).parent / "fixtures" / "platforms"
PASSWD_MARKER = "root:"  # the first line of /etc/passwd on any Linux system


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ids(comments: list[CommentRecord]) -> list[str | None]:
    return [c.external_id for c in comments]


def parents(comments: list[CommentRecord]) -> list[int | None]:
    return [c.parent for c in comments]


def by_id(comments: list[CommentRecord], external_id: str) -> CommentRecord:
    return next(c for c in comments if c.external_id == external_id)


def parent_of(comments: list[CommentRecord], external_id: str) -> CommentRecord | None:
    parent = by_id(comments, external_id).parent
    return None if parent is None else comments[parent]


def all_text(documents: list[DocumentRecord]) -> str:
    parts = []
    for d in documents:
        parts += [d.title, d.body, str(d.author), str(d.extra)]
        parts += [f"{c.text} {c.author}" for c in d.comments]
    return "\n".join(parts)


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(("written", "iso"), [
    ("Wed, 10 May 2017 09:32:11 +0000", "2017-05-10T09:32:11"),
    ("Fri, 02 Jun 2017 16:30:00 +0200", "2017-06-02T14:30:00"),
    ("2017-05-10T09:32:11Z", "2017-05-10T09:32:11"),
    ("2017-05-09T18:00:00+02:00", "2017-05-09T16:00:00"),
    ("2017-05-10 09:32:11", "2017-05-10T09:32:11"),
    ("2017-08-14T11:05:00", "2017-08-14T11:05:00"),
    ("2017-05-10", "2017-05-10"),
    ("March 10, 2010 at 4:15 pm", "2010-03-10T16:15:00"),
    ("0000-00-00 00:00:00", None),
    ("", None),
    ("soon", None),
])
def test_platform_dates_become_iso_with_utc_clock_time(written: str, iso: str | None) -> None:
    assert iso_date(written) == iso


# ---------------------------------------------------------------- feeds of posts


def test_rss_feed_gives_one_document_per_post() -> None:
    docs = parse_feed(fixture("blog-feed.rss"), url="https://cxledger.example.com/feed/")
    assert [d.title for d in docs] == [
        "The Case for a Chief Customer Officer",
        "CX Is an Outcome, Not a Department",
        "Journey Maps Are Not a Strategy",
        "Who Owns Customer Experience?",
        "Welcome to The CX Ledger",
    ]
    assert {d.site for d in docs} == {"The CX Ledger"}
    assert [d.author for d in docs] == ["Hannah Cole", "Dev Raman", "Maya Okafor",
                                        "Maya Okafor", "Maya Okafor"]
    assert [d.published for d in docs] == ["2017-07-19T08:15:00", "2017-06-02T14:30:00",
                                           "2017-05-22T07:45:00", "2017-05-10T07:00:00",
                                           "2017-04-29T18:20:00"]
    assert docs[1].published_text == "Fri, 02 Jun 2017 16:30:00 +0200"
    assert docs[3].url == "https://cxledger.example.com/2017/05/who-owns-customer-experience/"
    assert [d.declared_comment_count for d in docs] == [3, 6, 0, 8, 0]
    assert all(d.comments == [] for d in docs)
    assert docs[0].extra["feed_url"] == "https://cxledger.example.com/feed/"
    assert docs[0].extra["comments_feed"] == (
        "https://cxledger.example.com/2017/07/the-case-for-a-chief-customer-officer/feed/")
    assert docs[0].extra["categories"] == ["Ownership", "Leadership"]


def test_rss_body_is_the_full_content_as_paragraphs_not_the_excerpt() -> None:
    case_for_cco = parse_feed(fixture("blog-feed.rss"))[0]
    paragraphs = case_for_cco.body.split("\n\n")
    assert paragraphs[0].startswith("Somebody has to be accountable when the experience breaks.")
    assert "> Shared ownership is no ownership." in paragraphs
    assert paragraphs[-1] == ("The objection I hear most is that CX is an outcome of everything "
                              "a company does. I agree. That is exactly why it needs an owner "
                              "with a budget.")
    assert "Continue reading" not in case_for_cco.body
    assert "<p>" not in case_for_cco.body


def test_atom_feed_entries_with_html_xhtml_and_summary_only() -> None:
    docs = parse_feed(fixture("blog-feed.atom"))
    assert [d.title for d in docs] == ["Who Should Own CX? Five Answers From the Field",
                                       "CX Is an Outcome, Not a Function",
                                       "Reading list: customer ownership"]
    assert [d.author for d in docs] == ["Rachel Kim", "Sam Osei", None]
    assert [d.published for d in docs] == ["2017-06-12T07:30:00", "2017-05-09T16:00:00",
                                           "2017-04-28T12:00:00"]
    # the third entry has no <published>: its <updated> date stands in, as written
    assert [d.published_text for d in docs] == ["2017-06-12T07:30:00Z",
                                                "2017-05-09T18:00:00+02:00",
                                                "2017-04-28T12:00:00Z"]
    assert docs[0].body.split("\n\n")[1].startswith(
        "Two said a Chief Customer Officer, one said the COO, and two said the question is "
        "wrong — CX is an outcome")
    assert docs[1].body == ("A function is something you staff. An outcome is something you "
                            "earn.\n\n> If CX is a department, everyone else is off the hook."
                            "\n\nMeasure the outcome everywhere; do not hand it to one team.")
    assert docs[2].body == ("Six essays on who owns the customer, from service design to the "
                            "CCO debate.")
    assert {d.site for d in docs} == {"Outcomes First"}
    assert docs[0].url == "https://outcomesfirst.example.org/2017/06/who-should-own-cx/"
    assert docs[0].extra["feed_url"] == "https://outcomesfirst.example.org/atom.xml"


def test_feed_with_xml_errors_but_entries_is_read_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    data = (b'<rss version="2.0"><channel><title>CX Notes</title><item><title>Sales & CX'
            b'</title><link>https://notes.example.net/1</link><description>Who owns it?'
            b'</description></item></channel></rss>')
    with caplog.at_level(logging.WARNING, logger="ingest.feeds"):
        docs = parse_feed(data)
    assert [(d.title, d.body, d.url) for d in docs] == [
        ("Sales & CX", "Who owns it?", "https://notes.example.net/1")]
    assert "feed has XML errors" in caplog.text


def test_html_error_page_is_not_a_feed() -> None:
    with pytest.raises(ExtractionError) as error:
        parse_feed(fixture("broken-feed.rss"))
    assert str(error.value) == "not a feed: an HTML page (mismatched tag at line 7, column 2)"
    with pytest.raises(ExtractionError, match="^not a feed: an HTML page"):
        parse_comment_feed(fixture("broken-feed.rss"))
    with pytest.raises(ExtractionError, match="^not a feed: an HTML page"):
        comment_feed_document(fixture("broken-feed.rss"))


@pytest.mark.parametrize(("data", "message"), [
    (b"", "not a feed: the file is empty"),
    (b"  \n ", "not a feed: the file is empty"),
    (b'{"code": "rest_no_route"}', "not a feed: JSON data, not RSS or Atom XML"),
    (b"<?xml version='1.0'?><note><to>Maya</to></note>",
     "not a feed: no RSS or Atom element found"),
])
def test_other_bytes_are_not_a_feed(data: bytes, message: str) -> None:
    with pytest.raises(ExtractionError) as error:
        parse_feed(data)
    assert str(error.value) == message


def test_a_wxr_export_is_not_read_as_a_feed() -> None:
    with pytest.raises(ExtractionError, match="got a WordPress WXR export"):
        parse_feed(fixture("export.wxr.xml"))


def test_feed_bytes_naming_a_file_are_not_opened() -> None:
    with pytest.raises(ExtractionError) as error:
        parse_feed(b"/etc/passwd")
    assert str(error.value).startswith("not a feed:")
    assert PASSWD_MARKER not in str(error.value)


def test_feed_never_expands_external_entities() -> None:
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'\n<rss version="2.0"><channel><title>CX &xxe;</title><item><title>Owner &xxe;'
            b'</title><link>https://notes.example.net/1</link><description>Who &xxe;'
            b'</description></item></channel></rss>')
    try:
        docs = parse_feed(data)
    except ExtractionError as error:
        assert PASSWD_MARKER not in str(error)
    else:
        assert PASSWD_MARKER not in all_text(docs)


# ---------------------------------------------------------------- comment feeds

COMMENT_FEED_ORDER = ["101", "102", "103", "105", "106", "108", "109", "110"]
POST_URL = "https://cxledger.example.com/2017/05/who-owns-customer-experience/"


def test_is_comment_feed() -> None:
    assert is_comment_feed(fixture("post-comments-feed.rss")) is True
    assert is_comment_feed(fixture("blog-feed.rss")) is False
    assert is_comment_feed(fixture("blog-feed.atom")) is False
    assert is_comment_feed(fixture("broken-feed.rss")) is False
    assert is_comment_feed(fixture("not-a-list.json")) is False
    assert is_comment_feed(b"") is False


def test_comment_feed_is_recognised_without_an_english_title() -> None:
    # a French WordPress: the channel title is translated, the #comment-N links are not
    data = fixture("post-comments-feed.rss").replace(
        b"Comments on: Who Owns", b"Commentaires sur : Who Owns").replace(b"By: ", b"Par : ")
    assert is_comment_feed(data) is True
    data = data.replace(b"Commentaires sur : ", b"").replace(b"Par : ", b"")
    assert is_comment_feed(data) is True


def test_comment_feed_gives_post_url_and_comments_oldest_first() -> None:
    post_url, comments = parse_comment_feed(fixture("post-comments-feed.rss"))
    assert post_url == POST_URL
    assert ids(comments) == COMMENT_FEED_ORDER
    assert [c.author for c in comments] == [
        "Priya Nair", "Dev Raman", "Priya Nair", "Oliver Brandt",
        "Service Design Notes – Why CX needs a single owner", "Tomás Ibarra", "Maya Okafor",
        "Lena Fischer"]
    assert parents(comments) == [None] * 8  # comment feeds carry no reply structure
    assert comments[0].posted_at == "2017-05-10T08:02:00"
    assert comments[0].posted_at_text == "Wed, 10 May 2017 08:02:00 +0000"
    assert comments[-1].posted_at == "2017-05-10T12:05:00"
    assert comments[0].permalink == f"{POST_URL}#comment-101"
    assert comments[1].text == ("Agreed in principle, Priya, but outcomes without an owner "
                                "drift.\n\nSomebody has to hold the budget for fixing the "
                                "broken journeys.")
    assert comments[-1].text == ("> CX is an outcome.\n\nSure, but “everyone owns it” is how "
                                 "it ends up owned by nobody.")
    assert {c.kind for c in comments} == {"comment"}


def test_comment_feed_as_a_document_without_body() -> None:
    url = "https://cxledger.example.com/2017/05/who-owns-customer-experience/feed/"
    doc = comment_feed_document(fixture("post-comments-feed.rss"), url=url)
    assert doc.title == "Who Owns Customer Experience?"
    assert doc.url == POST_URL
    assert doc.body == ""
    assert doc.extra["body_missing"] is True
    assert doc.extra["feed_url"] == url
    assert ids(doc.comments) == COMMENT_FEED_ORDER


def test_feed_of_posts_is_not_a_comment_feed() -> None:
    with pytest.raises(ExtractionError) as error:
        parse_comment_feed(fixture("blog-feed.rss"))
    assert "expected a comment feed" in str(error.value)
    assert "got a feed of posts" in str(error.value)


def test_site_wide_comment_feed_is_refused() -> None:
    data = b"""<?xml version="1.0"?><rss version="2.0"><channel>
<title>Comments for The CX Ledger</title><link>https://cxledger.example.com</link>
<item><title>Comment on Who Owns CX? by Priya Nair</title>
<link>https://cxledger.example.com/who-owns-cx/#comment-101</link>
<description>Outcome.</description></item>
<item><title>Comment on CX Is an Outcome by Oliver Brandt</title>
<link>https://cxledger.example.com/cx-is-an-outcome/#comment-121</link>
<description>Who gets fired?</description></item>
</channel></rss>"""
    assert is_comment_feed(data) is True
    with pytest.raises(ExtractionError) as error:
        parse_comment_feed(data)
    assert str(error.value) == ("expected the comment feed of one post, got comments on 2 posts "
                                "(a site-wide comment feed)")


# ---------------------------------------------------------------- WordPress REST comments

REST_ORDER = ["301", "302", "303", "304", "311", "305", "308", "306", "307", "309", "310",
              "312", "313", "314"]
REST_PARENTS = [None, 0, 1, 2, 0, None, 5, None, None, 8, None, 10, None, 12]
COO_POST = "https://cxledger.example.com/2017/08/should-cx-report-to-the-coo/"


def rest_pages() -> list[bytes]:
    return [fixture("wp-comments-page1.json"), fixture("wp-comments-page2.json")]


def test_wp_rest_pages_give_comments_in_thread_order() -> None:
    comments = parse_wp_comments_json(rest_pages(), post_url=COO_POST)
    DocumentRecord(title="Should CX Report to the COO?", body="", comments=comments)
    assert ids(comments) == REST_ORDER
    assert parents(comments) == REST_PARENTS
    # 311 is on page 1, the comment it answers on page 2
    assert parent_of(comments, "311").external_id == "301"
    assert parent_of(comments, "311").author == "Maya Okafor"
    # three levels of replies: 304 → 303 → 302 → 301
    assert parent_of(comments, "304").author == "Maya Okafor"
    assert [parent_of(comments, i).external_id for i in ("304", "303", "302")] == [
        "303", "302", "301"]
    first = comments[0]
    assert first.author == "Maya Okafor"
    assert first.author_url == "https://cxledger.example.com"
    assert first.posted_at == "2017-08-14T11:05:00"
    assert first.posted_at_text == "2017-08-14T11:05:00"
    assert first.permalink == f"{COO_POST}#comment-301"
    assert first.text.startswith("I wrote this post because our COO asked for CX to move "
                                 "under her.")
    assert by_id(comments, "304").text == (
        "> the COO is measured on cost per contact\n\nThen change what the COO is measured "
        "on. Reporting lines follow incentives, not the other way round.")
    assert by_id(comments, "308").author == "Anonymous"
    assert by_id(comments, "305").author_url is None


def test_wp_rest_pingback_keeps_its_kind_and_site_name() -> None:
    comments = parse_wp_comments_json(rest_pages())
    assert [c.kind for c in comments].count("pingback") == 1
    pingback = by_id(comments, "306")
    assert pingback.kind == "pingback"
    assert pingback.author == "Service Design Notes – Operations is where CX lives"
    assert pingback.author_url == (
        "https://servicedesignnotes.example.org/2017/08/operations-is-where-cx-lives/")
    assert pingback.text.startswith("[…] The CX Ledger asks whether CX should report")


def test_wp_rest_page_order_and_repeats_do_not_matter() -> None:
    page1, page2 = rest_pages()
    assert ids(parse_wp_comments_json([page2, page1])) == REST_ORDER
    assert ids(parse_wp_comments_json([page1, page2, page1])) == REST_ORDER
    # a comment that shifted from page 1 to page 2 between requests is read once
    shifted = json.dumps(json.loads(page1)[-1:] + json.loads(page2)).encode()
    assert ids(parse_wp_comments_json([page1, shifted])) == REST_ORDER


def test_wp_rest_reply_whose_parent_is_missing_stays_top_level(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ingest.wordpress"):
        comments = parse_wp_comments_json(fixture("wp-comments-page1.json"))
    assert ids(comments) == ["305", "308", "306", "307", "309", "310", "312", "311", "313",
                             "314"]
    assert by_id(comments, "311").parent is None
    assert "WordPress comment 311 replies to 301, which is not in the data" in caplog.text


def test_wp_rest_held_comments_and_reply_loops() -> None:
    data = json.dumps([
        {"id": 1, "post": 5, "parent": 2, "author_name": "A", "date": "2017-01-01T10:00:00",
         "content": {"rendered": "<p>one</p>"}, "status": "approved", "type": "comment"},
        {"id": 2, "post": 5, "parent": 1, "author_name": "B", "date": "2017-01-01T11:00:00",
         "content": {"rendered": "<p>two</p>"}, "status": "approved", "type": "comment"},
        {"id": 3, "post": 5, "parent": 0, "author_name": "C", "date": "2017-01-01T12:00:00",
         "content": {"rendered": "<p>held</p>"}, "status": "hold", "type": "comment"},
    ]).encode()
    comments = parse_wp_comments_json(data, post_url="https://site.example.com/p/")
    assert [(c.external_id, c.parent) for c in comments] == [("1", None), ("2", 0)]
    assert comments[0].permalink == "https://site.example.com/p/#comment-1"


def test_wp_rest_error_object_is_not_a_comment_list() -> None:
    with pytest.raises(ExtractionError) as error:
        parse_wp_comments_json(fixture("not-a-list.json"))
    assert str(error.value) == ("expected a JSON list of WordPress comments; the response is a "
                                "WordPress error: rest_post_invalid_id: Invalid post ID.")


@pytest.mark.parametrize(("pages", "message"), [
    ([b'[{"id": 1, "content": {"rendered": "x"}}]', b"[1, 2"],
     ("expected a JSON list of WordPress comments; page 2 is not JSON: Expecting ',' delimiter "
     "at line 1, column 6")),
    (b"<html>502</html>", ("expected a JSON list of WordPress comments; the response is not "
                          "JSON: Expecting value at line 1, column 1")),
    (b'{"comments": []}', ("expected a JSON list of WordPress comments; the response is a JSON "
                          "object")),
    (b'[{"id": 1, "content": {"rendered": "x"}}, {"author_name": "Maya"}]',
     "item 2 of the response has no numeric id (not a WordPress comment)"),
    (b'[{"id": 7, "title": "a post"}]',
     "item 1 of the response (id 7) has no content (not a WordPress comment)"),
    ((b'[{"id": 1, "post": 5, "content": {"rendered": "x"}}, '
     b'{"id": 2, "post": 6, "content": {"rendered": "y"}}]'),
     "expected the comments of one WordPress post, got comments of posts 5, 6"),
])
def test_wp_rest_bad_pages_say_what_and_where(pages: list[bytes] | bytes, message: str) -> None:
    with pytest.raises(ExtractionError) as error:
        parse_wp_comments_json(pages)
    assert str(error.value) == message


def test_wp_total_pages_header() -> None:
    assert wp_comments_total_pages({"X-WP-Total": "14", "X-WP-TotalPages": "2"}) == 2
    assert wp_comments_total_pages({"x-wp-totalpages": " 3 "}) == 3
    assert wp_comments_total_pages({"Content-Type": "application/json"}) is None
    assert wp_comments_total_pages({"X-WP-TotalPages": "many"}) is None


# ---------------------------------------------------------------- WordPress WXR export


def test_wxr_keeps_published_posts_and_pages_only() -> None:
    docs = parse_wxr(fixture("export.wxr.xml"))
    assert [d.title for d in docs] == ["About The CX Ledger", "Who Owns Customer Experience?",
                                       "CX Is an Outcome, Not a Department",
                                       "The Case for a Chief Customer Officer"]
    assert [d.extra["post_type"] for d in docs] == ["page", "post", "post", "post"]
    assert [d.extra["post_id"] for d in docs] == ["12", "42", "57", "63"]
    # logins are shown as display names; a login without a <wp:author> entry stays as is
    assert [d.author for d in docs] == ["Maya Okafor", "Maya Okafor", "Dev Raman",
                                        "guest-writer"]
    assert [d.published for d in docs] == ["2017-04-29T18:00:00", "2017-05-10T09:00:00",
                                           "2017-06-02T16:30:00", "2017-07-19T10:15:00"]
    assert docs[1].published_text == "2017-05-10 09:00:00"
    assert {d.site for d in docs} == {"The CX Ledger"}
    assert docs[1].url == "https://cxledger.example.com/2017/05/who-owns-customer-experience/"
    assert [len(d.comments) for d in docs] == [0, 8, 6, 3]
    text = all_text(docs)
    assert "Journey maps are not strategy" not in text  # the draft
    assert "cx-ownership-chart" not in text  # the attachment


def test_wxr_bodies_are_text_paragraphs() -> None:
    docs = parse_wxr(fixture("export.wxr.xml"))
    assert docs[1].body == (
        "Ask five executives who owns customer experience and you will get six answers.\n\n"
        "The CMO says marketing, because CX is the brand made real. The COO says operations. "
        "The head of support says everyone, which usually means no one.\n\n"
        "Is CX an outcome or a function? Let’s argue about it in the comments.")
    assert docs[3].body.split("\n\n")[1] == "> Shared ownership is no ownership."


def test_wxr_comments_in_thread_order_without_spam_or_unapproved() -> None:
    post = parse_wxr(fixture("export.wxr.xml"))[1]
    comments = post.comments
    assert ids(comments) == ["101", "102", "103", "110", "105", "106", "108", "109"]
    assert parents(comments) == [None, 0, 1, 0, None, None, None, 6]
    assert parent_of(comments, "109").author == "Tomás Ibarra"
    assert parent_of(comments, "103").author == "Dev Raman"
    assert parent_of(comments, "110").author == "Priya Nair"
    assert "Cheap Jerseys" not in all_text([post])  # spam
    assert "Waiting for moderation" not in all_text([post])  # unapproved
    # 105 answered the spam comment: it stays, at the top level, and the document says why
    assert by_id(comments, "105").parent is None
    assert post.extra["warnings"] == [
        "comment 105: parent 104 skipped (spam); kept at the top level"]
    first = comments[0]
    assert (first.author, first.author_url) == ("Priya Nair", "https://priyanair.example.com")
    assert (first.posted_at, first.posted_at_text) == ("2017-05-10T10:02:00",
                                                       "2017-05-10 10:02:00")
    assert first.permalink == f"{POST_URL}#comment-101"
    assert by_id(comments, "102").author_url is None
    assert by_id(comments, "102").text == ("Agreed in principle, Priya, but outcomes without "
                                           "an owner drift.\n\nSomebody has to hold the budget "
                                           "for fixing the broken journeys.")
    pingback = by_id(comments, "106")
    assert pingback.kind == "pingback"
    assert pingback.author == "Service Design Notes – Why CX needs a single owner"
    assert pingback.text == ("[…] The CX Ledger asks who owns customer experience. Our answer: "
                             "the service owner, end to end […]")


def test_wxr_trackback_empty_type_and_missing_parent() -> None:
    docs = parse_wxr(fixture("export.wxr.xml"))
    outcome = docs[2]
    assert ids(outcome.comments) == ["121", "122", "123", "124", "125", "126"]
    assert parents(outcome.comments) == [None, 0, 1, None, None, 4]
    assert [c.kind for c in outcome.comments] == ["comment", "comment", "comment", "trackback",
                                                  "comment", "comment"]
    assert by_id(outcome.comments, "124").author == "CX Weekly Digest"
    assert by_id(outcome.comments, "125").author == "Anonymous"
    assert parent_of(outcome.comments, "126").author == "Anonymous"
    assert outcome.extra["warnings"] == []
    cco = docs[3]
    assert ids(cco.comments) == ["131", "132", "133"]  # 134 is in the trash
    assert parents(cco.comments) == [None, None, 1]
    assert cco.extra["warnings"] == ["comment 131: parent 130 not in export"]


def test_truncated_wxr_says_where_it_breaks() -> None:
    with pytest.raises(ExtractionError) as error:
        parse_wxr(fixture("truncated.wxr.xml"))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("expected a WordPress WXR export")
    assert "the XML breaks at line 297, column 44" in message
    assert "cut short?" in message


@pytest.mark.parametrize(("name", "got"), [
    ("blog-feed.rss", "got an RSS feed"),
    ("blog-feed.atom", "got an Atom feed"),
    ("disqus-export.xml", "got a Disqus export"),
    ("broken-feed.rss", "got an HTML page"),
])
def test_wxr_parser_refuses_other_kinds(name: str, got: str) -> None:
    with pytest.raises(ExtractionError) as error:
        parse_wxr(fixture(name))
    assert str(error.value) == ("expected a WordPress WXR export (<rss> with the wp: export "
                                f"namespace), {got}")


def test_wxr_never_expands_external_entities() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Site &xxe;</title>
<item><title>Post &xxe;</title><link>https://site.example.com/p/</link>
<content:encoded>Body &xxe;</content:encoded><wp:post_id>1</wp:post_id>
<wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>A &xxe;</wp:comment_author>
<wp:comment_content>Hi &xxe;</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
<wp:comment_parent>0</wp:comment_parent></wp:comment></item></channel></rss>"""
    docs = parse_wxr(data)
    assert [d.title for d in docs] == ["Post"]
    assert PASSWD_MARKER not in all_text(docs)
    assert str(docs[0].site) + docs[0].body + docs[0].comments[0].text == "SiteBodyHi"


# ---------------------------------------------------------------- Disqus export


def test_disqus_threads_with_posts_become_documents() -> None:
    docs = parse_disqus(fixture("disqus-export.xml"))
    assert [d.title for d in docs] == ["CX Is an Outcome, Not a Function",
                                       "Who Should Own CX? Five Answers From the Field"]
    assert [d.url for d in docs] == ["https://outcomesfirst.example.org/2017/05/cx-is-an-outcome/",
                                     "https://outcomesfirst.example.org/2017/06/who-should-own-cx/"]
    assert [d.published for d in docs] == ["2017-05-09T16:00:00", "2017-06-12T07:30:00"]
    assert [d.published_text for d in docs] == ["2017-05-09T16:00:00Z", "2017-06-12T07:30:00Z"]
    assert docs[0].body == ""
    assert docs[0].extra["body_missing"] is True
    assert docs[1].body == ("We asked five practitioners the same question: who should own "
                            "customer experience?")
    assert "body_missing" not in docs[1].extra
    assert [d.extra["disqus_thread_id"] for d in docs] == ["5550001", "5550002"]
    # 25 posts: 12 + 10 shown, one spam, one deleted without replies, one orphan
    assert [len(d.comments) for d in docs] == [12, 10]


def test_disqus_deleted_post_with_replies_stays_as_a_placeholder() -> None:
    thread = parse_disqus(fixture("disqus-export.xml"))[0]
    comments = thread.comments
    assert ids(comments) == ["9001", "9002", "9003", "9004", "9005", "9006", "9009", "9010",
                             "9011", "9012", "9013", "9014"]
    assert parents(comments) == [None, 0, 1, None, 3, 4, None, 6, None, 8, 9, 10]
    placeholder = by_id(comments, "9004")
    assert (placeholder.text, placeholder.author, placeholder.author_handle) == (
        "[deleted]", None, None)
    assert "consultants selling reorganisations" not in all_text([thread])
    assert parent_of(comments, "9005") is placeholder
    assert parent_of(comments, "9006").author == "Jonas Weber"
    assert "9007" not in ids(comments)  # spam
    assert "9008" not in ids(comments)  # deleted, nobody replied
    assert "Buy 10,000 followers" not in all_text([thread])
    assert parent_of(comments, "9014").author == "Jonas Weber"
    guest = by_id(comments, "9009")
    assert (guest.author, guest.author_handle) == ("Guest", None)
    first = comments[0]
    assert (first.author, first.author_handle) == ("Rachel Kim", "rachelkim")
    assert (first.posted_at, first.posted_at_text) == ("2017-05-10T09:32:11",
                                                       "2017-05-10T09:32:11Z")
    assert first.permalink == (
        "https://outcomesfirst.example.org/2017/05/cx-is-an-outcome/#comment-9001")
    assert by_id(comments, "9006").text == ("> a reorganisation alone never moved a customer "
                                            "metric\n\nIt can move who gets blamed, which is "
                                            "not nothing.")
    assert {c.kind for c in comments} == {"comment"}


def test_disqus_orphans_and_missing_parents_are_reported() -> None:
    first, second = parse_disqus(fixture("disqus-export.xml"))
    assert first.extra["warnings"] == [
        "1 post skipped: thread 5559999 not in export (post 9201)"]
    assert second.extra["warnings"] == [
        "post 9106: parent 9099 not in export; kept at the top level"]
    assert ids(second.comments) == ["9101", "9102", "9103", "9104", "9105", "9110", "9106",
                                    "9107", "9108", "9109"]
    assert parents(second.comments) == [None, 0, 1, None, 3, 3, None, 6, None, 8]
    assert parent_of(second.comments, "9107").author == "Li Wei"
    assert parent_of(second.comments, "9110").author == "Nadia Haddad"
    assert by_id(second.comments, "9109").author == "Outcomes First"
    assert "page that no longer exists" not in all_text([first, second])


DISQUS_HEAD = (b'<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
               b'xmlns:dsq="http://disqus.com/disqus-internals">\n<thread dsq:id="1"><link>'
               b'https://site.example.com/p/</link><title>P</title><message/><createdAt>'
               b'2017-01-01T00:00:00Z</createdAt></thread>\n')


def disqus_post(pid: int, minute: int, *, parent: int | None = None, deleted: bool = False,
                spam: bool = False) -> bytes:
    par = f'<parent dsq:id="{parent}"/>' if parent else ""
    return (f'<post dsq:id="{pid}"><message>&lt;p&gt;post {pid}&lt;/p&gt;</message><createdAt>'
            f'2017-01-01T10:{minute:02d}:00Z</createdAt><isDeleted>{str(deleted).lower()}'
            f'</isDeleted><isSpam>{str(spam).lower()}</isSpam><author><name>Person {pid}</name>'
            f'</author><thread dsq:id="1"/>{par}</post>\n').encode()


def test_disqus_chains_of_deleted_posts() -> None:
    data = DISQUS_HEAD + b"".join([
        disqus_post(1, 1, deleted=True),            # deleted ← deleted ← live: both stay
        disqus_post(2, 2, parent=1, deleted=True),
        disqus_post(3, 3, parent=2),
        disqus_post(4, 4, deleted=True),            # deleted ← deleted: both go
        disqus_post(5, 5, parent=4, deleted=True),
        disqus_post(6, 6, spam=True),
        disqus_post(7, 7, parent=6),                # answers spam: top level, reported
    ]) + b"</disqus>"
    [doc] = parse_disqus(data)
    assert [(c.external_id, c.parent, c.text, c.author) for c in doc.comments] == [
        ("1", None, "[deleted]", None),
        ("2", 0, "[deleted]", None),
        ("3", 1, "post 3", "Person 3"),
        ("7", None, "post 7", "Person 7"),
    ]
    assert doc.extra["warnings"] == ["post 7: parent 6 is spam (dropped); kept at the top level"]


def test_disqus_export_of_only_spam_gives_no_documents() -> None:
    data = DISQUS_HEAD + disqus_post(1, 1, spam=True) + b"</disqus>"
    assert parse_disqus(data) == []


@pytest.mark.parametrize(("name", "got"), [
    ("export.wxr.xml", ", got a WordPress WXR export"),
    ("blog-feed.rss", ", got an RSS feed"),
    ("broken-feed.rss", ", got an HTML page"),
    ("truncated.wxr.xml", ("; the XML breaks at line 297, column 44: CData section not finished "
                          "(the file ends there: cut short?)")),
])
def test_disqus_parser_refuses_other_kinds(name: str, got: str) -> None:
    with pytest.raises(ExtractionError) as error:
        parse_disqus(fixture(name))
    assert str(error.value) == f'expected a Disqus XML export (<disqus xmlns="http://disqus.com">){got}'


def test_disqus_never_expands_external_entities() -> None:
    data = (b'<?xml version="1.0"?>\n<!DOCTYPE disqus [<!ENTITY xxe SYSTEM "file:///etc/passwd">'
            b']>\n<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
            b'<thread dsq:id="1"><link>https://site.example.com/p/</link><title>T &xxe;</title>'
            b'<message>&xxe;</message></thread><post dsq:id="2"><message>hello &xxe;</message>'
            b'<createdAt>2017-05-10T09:32:11Z</createdAt><isDeleted>false</isDeleted><isSpam>false'
            b'</isSpam><author><name>A &xxe;</name></author><thread dsq:id="1"/></post></disqus>')
    docs = parse_disqus(data)
    assert PASSWD_MARKER not in all_text(docs)
    assert [(d.title, [c.text for c in d.comments]) for d in docs] == [("T", ["hello"])]


def test_very_deep_reply_chains_are_read() -> None:
    depth = 3000  # far beyond Python's recursion limit
    data = json.dumps([
        {"id": i, "post": 5, "parent": i - 1, "author_name": f"P{i}",
         "date": f"2017-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
         "content": {"rendered": f"<p>reply {i}</p>"}, "type": "comment"}
        for i in range(1, depth + 1)
    ]).encode()
    comments = parse_wp_comments_json(data)
    assert parents(comments) == [None, *range(depth - 1)]
    disqus = DISQUS_HEAD + b"".join(
        disqus_post(i, i % 60, parent=i - 1 or None, deleted=i < depth)
        for i in range(1, depth + 1)) + b"</disqus>"
    [doc] = parse_disqus(disqus)
    assert len(doc.comments) == depth  # every deleted ancestor of the live reply stays
    assert [c.text for c in doc.comments[-2:]] == ["[deleted]", f"post {depth}"]
