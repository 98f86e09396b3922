"""Pages that are broken on purpose: wrong and mixed encodings, deep nesting, truncation,
entity bombs and external entities. Each carries marker words; ``case.markers`` are the
ones a stored document must keep (nothing lost), ``case.forbidden`` what must never be
stored (a local file's content pulled in by an XML entity, a decoded script).
"""

from __future__ import annotations

import codecs
import random
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Case:
    name: str  # file name: its suffix decides how it is read
    data: bytes
    markers: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    must_store: bool = False  # a readable page: a clear error is not enough
    heavy: bool = False  # seconds to read: in the release run only


def _page(body: str, *, head: str = '<meta charset="utf-8">', title: str = "A page") -> str:
    return (f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body>"
            f"<article><h1>{title}</h1>{body}</article></body></html>")


def _para(marker: str, extra: str = "") -> str:
    return (f"<p>{marker} Customer experience is an outcome that everybody in the company "
            f"owns, not a department with a budget. {extra}</p>")


def cases(secret_file: Path, *, heavy: bool = True) -> list[Case]:
    """Every broken page (without the ``heavy`` ones if asked), with ``secret_file`` as the
    target of the external entities."""
    rnd = random.Random(9)
    out: list[Case] = []
    umlauts = "Müller café naïve Zürich"

    # -- encodings
    out.append(Case("utf8-declared-latin1.html", _page(
        _para("quokkaone", umlauts), head='<meta charset="iso-8859-1">').encode("utf-8"),
        ["quokkaone"], must_store=True))
    out.append(Case("cp1252-declared-utf8.html", _page(
        _para("quokkatwo", "“smart quotes” and € and naïve")).encode("cp1252"),
        ["quokkatwo"], must_store=True))
    mixed = (_page(_para("quokkathree", umlauts) + "<p>MIDDLE</p>").encode("utf-8")
             .replace(b"MIDDLE", "Ærøskøbing déjà vu".encode("latin-1")))
    out.append(Case("mixed-utf8-latin1.html", mixed, ["quokkathree"], must_store=True))
    out.append(Case("utf16le-bom.html", codecs.BOM_UTF16_LE + _page(
        _para("quokkafour", umlauts), head='<meta charset="utf-16">').encode("utf-16-le"),
        ["quokkafour"], must_store=True))
    out.append(Case("utf16be-no-bom.html", _page(
        _para("quokkafive", umlauts), head='<meta charset="utf-16be">').encode("utf-16-be"),
        ["quokkafive"]))
    out.append(Case("utf8-bom-declared-cp1251.html", codecs.BOM_UTF8 + _page(
        _para("quokkasix", umlauts), head='<meta charset="windows-1251">').encode("utf-8"),
        ["quokkasix"], must_store=True))
    garbage = bytearray(_page(_para("quokkaseven", "RANDOMBYTES")).encode("utf-8"))
    at = garbage.index(b"RANDOMBYTES")
    garbage[at:at + 11] = bytes(rnd.randrange(0x80, 0x100) for _ in range(64))
    out.append(Case("invalid-utf8-bytes.html", bytes(garbage), ["quokkaseven"]))
    out.append(Case("nul-bytes.html", _page(_para("quokkaeight", "a\x00b\x00c")).encode(),
                    ["quokkaeight"]))
    out.append(Case("unknown-charset.html", _page(
        _para("quokkanine", umlauts), head='<meta charset="x-no-such-charset">').encode(),
        ["quokkanine"], must_store=True))
    out.append(Case("utf7-declared.html", _page(
        _para("quokkaten", "+ADw-script+AD4-alert(1)+ADw-/script+AD4-"),
        head='<meta charset="utf-7">').encode("ascii"), ["quokkaten"],
        forbidden=["<script>alert(1)"], must_store=True))
    out.append(Case("shift-jis-declared-utf8.html", _page(
        _para("quokkaeleven", "顧客体験は成果です")).encode("shift_jis"), ["quokkaeleven"]))
    out.append(Case("cut-inside-a-utf8-character.html",
                    _page(_para("quokkatwelve", "é" * 50)).encode()[:-40][:-1]
                    + "é".encode()[:1], ["quokkatwelve"], must_store=True))
    out.append(Case("latin1-plain-text.txt", (
        "Who owns customer experience?\n\nBy Jürgen Müller\n\nquokkathirteen: customer "
        "experience is an outcome that the whole company owns, from the café to Zürich. It "
        "is not a department with a budget, and naïve org charts will not change that.\n\n"
        "A second paragraph says the same thing again, so that there is running text.\n")
        .encode("latin-1"), ["quokkathirteen"], must_store=True))

    # -- nesting
    out.append(Case("nested-100k-divs.html", _page(
        _para("quokkadeepa") + "<div>" * 100_000 + _para("quokkadeepb") + "</div>" * 100_000
        + _para("quokkadeepc")).encode(), ["quokkadeepa", "quokkadeepb", "quokkadeepc"]))
    out.append(Case("nested-5k-inline.html", _page(
        _para("quokkainla") + "<b><i><span>" * 5_000 + "quokkainlb deep words"
        + "</span></i></b>" * 5_000 + _para("quokkainlc")).encode(),
        ["quokkainla", "quokkainlb", "quokkainlc"]))
    out.append(Case("nested-2k-tables.html", _page(
        _para("quokkatabla") + "<table><tr><td>" * 2_000 + "quokkatablb in a cell"
        + "</td></tr></table>" * 2_000 + _para("quokkatablc")).encode(),
        ["quokkatabla", "quokkatablb", "quokkatablc"], heavy=True))
    out.append(Case("never-closed-50k.html", _page(
        _para("quokkaopena") + "<div><p><b><i>" * 50_000 + "quokkaopenb at the bottom")
        .encode(), ["quokkaopena", "quokkaopenb"]))
    thread = "".join(
        f'<li class="comment depth-{d + 1}" id="comment-{d}"><div class="comment-body">'
        f'<cite class="fn">Person {d}</cite> <p>quokkareply{d} I think CX is an outcome.</p>'
        f'</div><ul class="children">' for d in range(300)) + "</ul></li>" * 300
    out.append(Case("comment-thread-300-deep.html", _page(
        _para("quokkathreada") + f'<ol class="commentlist">{thread}</ol>').encode(),
        ["quokkathreada", "quokkareply0", "quokkareply299"]))

    sloppy = "".join(
        f'<li class="comment" id="comment-{n}"><div class="comment-body"><div class="meta">'
        f'<div class="wrap"><cite class="fn">Person {n % 40}</cite> <p>quokkasloppy{n} '
        f'Customer experience is an outcome, says comment {n}.</p></li>' for n in range(800))
    out.append(Case("three-unclosed-divs-per-comment.html", _page(
        _para("quokkasloppya") + f'<ol class="commentlist">{sloppy}</ol>').encode(),
        ["quokkasloppya", "quokkasloppy0", "quokkasloppy400", "quokkasloppy799"], heavy=True))

    # -- truncation
    whole = _page(_para("quokkacuta") + _para("quokkacutb") + '<div class="comments">'
                  + _para("quokkacutc")).encode()
    out.append(Case("cut-mid-tag.html", whole[:whole.index(b"quokkacutc") - 12],
                    ["quokkacuta", "quokkacutb"], must_store=True))
    out.append(Case("cut-mid-attribute.html",
                    _page(_para("quokkaattra")).encode()[:-30] + b'<a href="http://exa',
                    ["quokkaattra"], must_store=True))
    out.append(Case("unclosed-comment.html",
                    (_page(_para("quokkacmta")).replace("</article>", "<!-- never closed "
                                                        + _para("quokkacmtb"))).encode(),
                    ["quokkacmta"], must_store=True))
    out.append(Case("unclosed-script.html",
                    (_page(_para("quokkascra")).replace("</article>", "<script>var x = '"
                                                        + _para("quokkascrb"))).encode(),
                    ["quokkascra"], must_store=True))
    out.append(Case("only-tags.html", b"<html><head></head><body><div></div></body></html>"))
    out.append(Case("empty.html", b""))
    out.append(Case("binary.html", bytes(rnd.randrange(256) for _ in range(4096))))
    out.append(Case("huge-attribute.html", _page(
        _para("quokkabiga") + f'<div data-x="{"a" * 5_000_000}">quokkabigb</div>').encode(),
        ["quokkabiga"], heavy=True))

    # -- XML: entity bombs and external entities
    secret = secret_file.as_uri()
    laughs = ('<!DOCTYPE rss [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                        for i in range(1, 10)) + "]>")
    rss = ('<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>Feed</title>'
           '<link>https://feed.example/</link><item><title>quokkafeed post</title>'
           '<link>https://feed.example/{name}</link><description>{body}</description></item>'
           '</channel></rss>')
    out.append(Case("billion-laughs.rss", rss.format(doctype=laughs, name="laughs",
                                                     body="quokkalaugh &lol9;").encode(),
                    heavy=True))
    xxe = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret}">]>'
    out.append(Case("external-entity.rss", rss.format(doctype=xxe, name="xxe",
                                                      body="quokkaxxe &xxe;").encode(),
                    forbidden=["cxkb-secret-do-not-store"]))
    wxr = ('<?xml version="1.0"?>{doctype}<rss version="2.0" '
           'xmlns:wp="http://wordpress.org/export/1.2/" '
           'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
           '<title>Blog</title><link>https://wp.example</link><wp:wxr_version>1.2'
           '</wp:wxr_version><item><title>quokkawxr</title><link>https://wp.example/{name}</link>'
           '<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>'
           '<content:encoded>{body}</content:encoded></item></channel></rss>')
    out.append(Case("external-entity.xml", wxr.format(doctype=xxe, name="xxe",
                                                      body="quokkawxr &xxe;").encode(),
                    forbidden=["cxkb-secret-do-not-store"]))
    out.append(Case("billion-laughs.xml", wxr.format(doctype=laughs, name="laughs",
                                                     body="quokkawxrlaugh &lol9;").encode()))
    out.append(Case("truncated-feed.rss", rss.format(doctype="", name="cut", body="quokkatrunc")
                    .encode()[:-40]))
    return [case for case in out if heavy or not case.heavy]


def control_page() -> Case:
    """A plain, good page in the same batch: it must be stored whatever the others do."""
    return Case("good.html", _page(_para("quokkagood"), title="A good page").encode(),
                ["quokkagood"], must_store=True)
