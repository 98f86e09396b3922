"""A small WordPress-style blog for the web-ingest tests: one post with a nested comment
thread, rendered as a classic theme would (sidebar widgets, comment form, comment pages),
plus its REST comments and its comment feed. Tests change the comments and re-serve it.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

POST_PATH = "/2019/03/who-owns-customer-experience/"
POST_ID = 42


@dataclass
class Comment:
    id: int
    author: str
    text: str
    date: str  # ISO, site-local
    parent: int = 0
    url: str = ""
    kind: str = "comment"


@dataclass
class Post:
    title: str = "Who Owns Customer Experience? Outcome, Function, or Both"
    author: str = "Dana Whitfield"
    date: str = "2019-03-04T08:30:00"
    body: list[str] = field(default_factory=lambda: [
        ("Every quarter someone asks me who owns customer experience in their company. "
        "The honest answer is that it depends on whether you see CX as an outcome or as "
        "a function."),
        ("If CX is an outcome, then everyone owns it: product, billing, logistics and the "
        "people who answer the phone. If it is a function, somebody needs a budget, a "
        "team and a seat at the table."),
        ("My view after fifteen years: a small central team can coordinate, but the "
        "outcome belongs to the whole company."),
    ])
    comments: list[Comment] = field(default_factory=list)
    per_page: int = 0  # top-level comments per comment page; 0 = all on one page
    hidden: set[int] = field(default_factory=set)  # in the REST data, not on the page


def default_comments() -> list[Comment]:
    return [
        Comment(101, "Ray Brown", "I think customer experience is an outcome. No single "
                "department can own what the customer feels.", "2019-03-04T09:12:00",
                url="http://raybrown.example.net/"),
        Comment(102, "Dana Whitfield", "Ray, agreed on the outcome, but who gets the budget "
                "to fix the broken journeys?", "2019-03-04T10:02:00", parent=101),
        Comment(103, "Priya Natarajan", "The CCO gets the budget, and the outcome stays "
                "shared. That is what we did at our bank.", "2019-03-04T11:45:00",
                parent=102),
        Comment(104, "Walter Adamson", "Having a Customer Experience function makes sense "
                "only if it has real authority over operations.", "2019-03-05T08:01:00"),
        Comment(105, "CX Weekly", "Who owns CX? A roundup of this week's debate",
                "2019-03-05T12:00:00", url="https://cxweekly.example.org/roundup/",
                kind="pingback"),
        Comment(106, "Tim Sanchez", "Both. The function exists to make the outcome "
                "somebody's job on Monday morning.", "2019-03-06T14:20:00"),
        Comment(107, "Kancha", "I disagree with Walter: authority without the frontline "
                "just produces slide decks.", "2019-03-06T15:05:00", parent=104),
        Comment(108, "Eric Jacques", "To clarify the question of whether customer experience "
                "is an outcome or a business function, read the comments above.",
                "2019-03-07T09:00:00"),
    ]


def _date_text(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%B %-d, %Y at %-I:%M %p").replace("AM", "am").replace("PM", "pm")


def _children(post: Post, parent: int) -> list[Comment]:
    return [c for c in post.comments if c.parent == parent and c.id not in post.hidden]


def _render_comment(post: Post, comment: Comment, depth: int, base: str) -> str:
    if comment.kind != "comment":
        return (f'<li class="post {comment.kind} even depth-{depth}" id="comment-{comment.id}">'
                f'<p>{comment.kind.title()}: <a href="{html.escape(comment.url)}" '
                f'rel="external nofollow" class="url">{html.escape(comment.author)}</a> '
                '<span class="edit-link"></span></p></li>')
    author = html.escape(comment.author)
    if comment.url:
        author = (f'<a href="{html.escape(comment.url)}" rel="external nofollow ugc" '
                  f'class="url">{author}</a>')
    replies = _children(post, comment.id)
    children = ""
    if replies:
        children = '<ul class="children">' + "".join(
            _render_comment(post, r, depth + 1, base) for r in replies) + "</ul>"
    return f"""
<li class="comment even thread-even depth-{depth}" id="li-comment-{comment.id}">
  <div id="comment-{comment.id}">
    <div class="comment-author vcard">
      <img alt='' src='{base}/avatar.png' class='avatar avatar-40 photo' height='40' width='40' />
      <cite class="fn">{author}</cite> <span class="says">says:</span>
    </div>
    <div class="comment-meta commentmetadata"><a href="{base}{POST_PATH}#comment-{comment.id}">
      {_date_text(comment.date)}</a></div>
    <div class="comment-body"><p>{html.escape(comment.text)}</p></div>
    <div class="reply"><a rel="nofollow" class="comment-reply-link"
      href="?replytocom={comment.id}#respond">Reply</a></div>
  </div>
  {children}
</li>"""


def render_post(post: Post, base: str, page: int = 1) -> str:
    """The post's HTML as WordPress would serve comment page ``page``."""
    threads = _children(post, 0)
    pages = 1
    if post.per_page:
        pages = max(1, -(-len(threads) // post.per_page))
        threads = threads[(page - 1) * post.per_page: page * post.per_page]
    items = "".join(_render_comment(post, c, 1, base) for c in threads)
    nav = ""
    if pages > 1:
        links = " ".join(
            f'<a class="page-numbers" href="{base}{POST_PATH}comment-page-{n}/#comments">{n}</a>'
            if n != page else f'<span class="page-numbers current">{n}</span>'
            for n in range(1, pages + 1))
        nav = f'<nav class="navigation comment-navigation"><div class="nav-links">{links}</div></nav>'
    count = len([c for c in post.comments if c.id not in post.hidden])
    recent = "".join(f'<li class="recentcomments"><span class="comment-author-link">'
                     f'{html.escape(c.author)}</span> on <a href="{base}/2018/11/old-post/">'
                     'Is NPS Dead?</a></li>' for c in post.comments[:3])
    body = "".join(f"<p>{html.escape(p)}</p>" for p in post.body)
    return f"""<!DOCTYPE html>
<html lang="en-US"><head>
<meta charset="UTF-8" />
<title>{html.escape(post.title)} | The CX Ledger</title>
<link rel="canonical" href="{base}{POST_PATH}" />
<link rel="https://api.w.org/" href="{base}/wp-json/" />
<link rel="alternate" type="application/json" href="{base}/wp-json/wp/v2/posts/{POST_ID}" />
<link rel="alternate" type="application/rss+xml" title="The CX Ledger &raquo; Feed" href="{base}/feed/" />
<link rel="alternate" type="application/rss+xml" title="The CX Ledger &raquo; {html.escape(post.title)} Comments Feed" href="{base}{POST_PATH}feed/" />
<meta property="og:site_name" content="The CX Ledger" />
<meta property="article:published_time" content="{post.date}+00:00" />
<script>var _gaq = _gaq || []; _gaq.push(['_trackPageview']);</script>
</head>
<body class="post-template-default single single-post">
<div id="page" class="hfeed site">
<header id="masthead"><h1 class="site-title"><a href="{base}/">The CX Ledger</a></h1>
<nav id="site-navigation"><ul><li><a href="{base}/">Home</a></li><li><a href="{base}/about/">About</a></li></ul></nav></header>
<div id="main" class="wrapper"><div id="primary" class="site-content"><div id="content" role="main">
<article id="post-{POST_ID}" class="post-{POST_ID} post type-post status-publish">
<header class="entry-header"><h1 class="entry-title">{html.escape(post.title)}</h1>
<div class="entry-meta">Posted on <time class="entry-date" datetime="{post.date}+00:00">March 4, 2019</time>
by <span class="author vcard"><a class="url fn n" href="{base}/author/dana/" rel="author">{html.escape(post.author)}</a></span></div></header>
<div class="entry-content">{body}
<div class="sharedaddy"><h3>Share this:</h3><ul><li><a href="#">Twitter</a></li><li><a href="#">LinkedIn</a></li></ul></div>
</div></article>
<div id="comments" class="comments-area">
<h2 class="comments-title">{count} thoughts on &ldquo;<span>{html.escape(post.title)}</span>&rdquo;</h2>
<ol class="commentlist">{items}</ol>
{nav}
<div id="respond" class="comment-respond"><h3 id="reply-title">Leave a Reply</h3>
<form action="{base}/wp-comments-post.php" method="post" id="commentform">
<p class="comment-form-comment"><label for="comment">Comment</label><textarea id="comment" name="comment"></textarea></p>
<p class="comment-form-author"><label for="author">Name</label><input id="author" name="author" type="text" /></p>
<p class="form-submit"><input name="submit" type="submit" id="submit" value="Post Comment" /></p>
</form></div></div>
</div></div>
<div id="secondary" class="widget-area" role="complementary">
<aside id="recent-comments-2" class="widget widget_recent_comments"><h3 class="widget-title">Recent Comments</h3>
<ul id="recentcomments">{recent}</ul></aside>
<aside class="widget"><h3 class="widget-title">Popular Posts</h3><ul><li><a href="{base}/2018/11/old-post/">Is NPS Dead?</a></li></ul></aside>
</div></div>
<footer id="colophon" role="contentinfo"><div class="site-info">Proudly powered by WordPress</div></footer>
</div></body></html>"""


def rest_comments(post: Post, base: str, page: int = 1, per_page: int = 5) -> tuple[bytes, int]:
    """One page of /wp-json/wp/v2/comments?post=ID, and the total page count."""
    rows = [{
        "id": c.id, "post": POST_ID, "parent": c.parent, "author": 0,
        "author_name": c.author, "author_url": c.url, "date": c.date,
        "date_gmt": c.date, "content": {"rendered": f"<p>{html.escape(c.text)}</p>\n"},
        "link": f"{base}{POST_PATH}#comment-{c.id}", "status": "approved", "type": c.kind,
    } for c in sorted(post.comments, key=lambda c: c.date)]
    pages = max(1, -(-len(rows) // per_page))
    return json.dumps(rows[(page - 1) * per_page: page * per_page]).encode(), pages


def comment_feed(post: Post, base: str) -> bytes:
    items = "".join(f"""<item><title>By: {html.escape(c.author)}</title>
<link>{base}{POST_PATH}#comment-{c.id}</link>
<dc:creator><![CDATA[{c.author}]]></dc:creator>
<pubDate>{format_datetime(datetime.fromisoformat(c.date + '+00:00'))}</pubDate>
<guid isPermaLink="false">{base}/?p={POST_ID}#comment-{c.id}</guid>
<description><![CDATA[{c.text}]]></description>
<content:encoded><![CDATA[<p>{html.escape(c.text)}</p>]]></content:encoded></item>"""
                    for c in post.comments if c.kind == "comment")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>Comments on: {html.escape(post.title)}</title>
<link>{base}{POST_PATH}</link><description>CX, measured</description>
{items}</channel></rss>""".encode()
