"""URL identity for crawling: the canonical form used as the de-duplication key, the site a
URL belongs to, and its "shape" (to notice endless families of pages such as calendars).

The canonical form is a key, never an address to fetch: the frontier keeps the URL as it
was found and fetched beside it. Rules (each one merges addresses that serve the same page):

- scheme and host lower-case; a leading ``www.`` dropped; default ports dropped;
  user info dropped;
- the fragment dropped; ``;jsessionid=…``-style path parameters dropped;
- dot segments resolved, repeated slashes collapsed, a trailing slash dropped (but the
  root stays ``/``), percent-escapes of unreserved characters decoded and the others
  upper-cased;
- tracking and session parameters dropped (``utm_*``, ``fbclid``, ``gclid``, ``sid``,
  ``sessionid``, ``phpsessid``, WordPress's ``replytocom`` …); the rest sorted.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DROP_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
    "s_cid", "cmpid", "wt.mc_id", "icid", "ref_src", "spm",
    "sid", "sessionid", "session_id", "phpsessid", "jsessionid", "aspsessionid", "cfid",
    "cftoken", "replytocom", "share", "amp",
})
_DROP_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")
_PATH_PARAM = re.compile(r";[^/]*")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DIGITS = re.compile(r"\d+")
_HEX_ID = re.compile(r"(?<![a-z])[0-9a-f]{8,}(?![a-z])")
_WORD = re.compile(r"[a-z]+")


def canonical_url(url: str) -> str:
    """The de-duplication key of ``url`` (see the module docstring); ``url`` must be
    absolute http(s)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = _PATH_PARAM.sub("", parts.path)
    path = _normalise_escapes(re.sub(r"/{2,}", "/", path) or "/")
    path = posixpath.normpath(path) if path not in ("", "/") else "/"
    path = "/" if path in (".", "//") else path
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _dropped(k)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query), quote_via=quote), ""))


def site_of(url: str) -> str:
    """A site is scheme + host + port, as the fetcher's politeness counts it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def url_shape(url: str) -> str:
    """The URL with numbers and hex ids blanked and query values dropped: pages of one
    endless family (``/calendar/?month=2031-07``, ``/events/2030/01/02/``) share a shape."""
    parts = urlsplit(canonical_url(url))
    path = _DIGITS.sub("9", _HEX_ID.sub("x", parts.path.lower()))
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{parts.netloc}{path}?{'&'.join(keys)}"


def url_words(url: str) -> str:
    """The words in a URL's path and query values (``/2019/03/who-owns-cx/`` → "who owns cx")."""
    parts = urlsplit(canonical_url(url))
    text = unquote(parts.path + " " + " ".join(v for _, v in parse_qsl(parts.query)))
    return " ".join(_WORD.findall(text.lower()))


def _dropped(name: str) -> bool:
    name = name.lower()
    return name in _DROP_PARAMS or name.startswith(_DROP_PREFIXES)


def _normalise_escapes(path: str) -> str:
    """Decode escapes of unreserved characters, upper-case the rest, escape what must be."""
    out = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "%" and i + 2 < len(path) and re.fullmatch(r"[0-9A-Fa-f]{2}", path[i + 1:i + 3]):
            decoded = chr(int(path[i + 1:i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + path[i + 1:i + 3].upper())
            i += 3
            continue
        out.append(char if char in _UNRESERVED or char in "/:@!$&'()*+,=" else quote(char))
        i += 1
    return "".join(out)
