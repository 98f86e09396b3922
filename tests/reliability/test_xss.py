"""Issue 9, item 3: hostile content in real headless Chromium.

More than a hundred script payloads live in a real, analysed knowledge base as comment
texts, author names, titles, bodies, site names, source URLs, document URLs and comment
author URLs (``hostile.py``); every page and JSON view the app has (enumerated from its
URL map, so a new route is visited without editing this file) is rendered by Debian's
Chromium with ``alert``/``confirm``/``prompt``/``print``, ``fetch``,
``XMLHttpRequest.open`` and ``navigator.sendBeacon`` hooked before any page script runs,
a listener for Content-Security-Policy violations, and a watch on every request that
leaves the server. Expected: nothing runs, nothing is blocked (because nothing tried),
no link or frame points at ``javascript:``/``data:``/``vbscript:``.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import quote, urlsplit

import pytest
from figures import record
from payloads import URLS, XSS
from routes import argument_values
from webhelpers import CHROMIUM, chromium, make_app, running_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's Chromium is not installed at /usr/bin/chromium"),
]

HOOKS = """
(() => {
  const report = (what, detail) => {
    try { window.cxkbReport(what, String(detail).slice(0, 200), location.href); } catch (e) {}
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (message) { report(name, message); return null; };
  }
  window.fetch = function (resource) {
    report("fetch", resource && resource.url ? resource.url : resource);
    return Promise.reject(new TypeError("blocked by the test"));
  };
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    report("xhr", url);
    return open.apply(this, arguments);
  };
  navigator.sendBeacon = function (url) { report("beacon", url); return false; };
  document.addEventListener("securitypolicyviolation", (event) => {
    try {
      window.cxkbReport("csp", event.violatedDirective + " " + event.blockedURI, location.href);
    } catch (e) {}
  });
})();
"""

# After load: whatever in the DOM could run script or leave the site.
AUDIT = """
() => {
  const found = [];
  const dangerous = (value) => {
    try {
      const protocol = new URL(value, location.href).protocol;
      return ["javascript:", "data:", "vbscript:"].includes(protocol);
    } catch (e) { return /^\\s*(javascript|data|vbscript):/i.test(value); }
  };
  const linking = ["href", "src", "action", "formaction", "data", "xlink:href", "background",
                   "poster", "codebase", "cite", "ping", "srcset", "lowsrc", "dynsrc"];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) found.push(`handler ${el.tagName} ${name}`);
      if (name === "srcdoc") found.push(`srcdoc ${el.tagName}`);
      if (name === "style") found.push(`inline style ${el.tagName}`);
      if (linking.includes(name) && dangerous(attr.value)
          && !(el.tagName === "LINK" && el.rel === "icon" && attr.value === "data:,")) {
        found.push(`live ${el.tagName} ${name}=${attr.value.slice(0, 60)}`);
      }
    }
  }
  for (const el of document.querySelectorAll(
      "script, iframe, frame, object, embed, base, style, foreignObject, animate, set")) {
    found.push(`element ${el.tagName}`);
  }
  for (const el of document.querySelectorAll("link")) {  // the page's own: icon, stylesheet
    if (!(el.rel === "icon" && el.getAttribute("href") === "data:,")
        && new URL(el.href, location.href).origin !== location.origin) {
      found.push(`link ${el.rel} ${el.href.slice(0, 60)}`);
    }
  }
  for (const el of document.querySelectorAll("meta[http-equiv]")) {  // a job page's reload
    const target = (el.content.match(/url\\s*=\\s*(.*)$/i) || [])[1];
    if (el.httpEquiv.toLowerCase() !== "refresh" || (target
        && (dangerous(target) || new URL(target, location.href).origin !== location.origin))) {
      found.push(`meta ${el.httpEquiv}=${el.content.slice(0, 60)}`);
    }
  }
  return found;
}
"""

LISTING_PAGES = 3  # pages of each paged listing (50 rows a page)
REFLECTED = [  # request parameters echoed into pages
    "/search/?q={p}", "/search.json?q={p}", "/positions/?q={p}&site={p}&debate={p}",
    "/positions/?label={p}&person={p}&sort={p}", "/review?debate={p}", "/login?next={p}",
    "/documents/{p}", "/people/{p}", "/statements/{p}", "/topics/?q={p}",
]


def page_urls(app, db_path, *, per_route: int | None, reflected: int) -> list[str]:
    """Every GET route of the app, with each argument filled from the knowledge base
    (``per_route`` instances of each, None: all), listings paged, plus ``reflected``
    payloads in the parameters pages echo."""
    from flask import url_for

    urls: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        if rule.rule.endswith(".csv"):
            continue  # a download, not a view: checked by test_web_security
        with app.test_request_context():
            if not rule.arguments:
                base = url_for(rule.endpoint)
                urls.append(base)
                if rule.endpoint.endswith(("list_documents", "list_documents_json")) or \
                        rule.endpoint.startswith(("listing.", "stable:/statements")):
                    urls += [f"{base}?page={n}" for n in range(2, LISTING_PAGES + 1)]
                if rule.endpoint.startswith(("listing.", "stable:/statements")):
                    urls += [f"{base}?sort=least-certain", f"{base}?method=human"]
                continue
            (name,) = rule.arguments  # one argument per route today
            values = argument_values(db_path, name, rule.rule)
            if per_route is not None:
                values = values[:per_route]
            urls += [url_for(rule.endpoint, **{name: v}) for v in values]
    for n, payload in enumerate(XSS[:reflected]):
        template = REFLECTED[n % len(REFLECTED)]
        urls.append(template.format(p=quote(payload, safe="")))
    return list(dict.fromkeys(urls))


def render_all(base: str, urls: list[str]) -> dict:
    """Load each URL in one Chromium context; what ran, what was blocked, what is live."""
    events: list[tuple[str, str, str]] = []
    audit: dict[str, list[str]] = {}
    outside: list[str] = []
    statuses: Counter[int] = Counter()
    texts: list[str] = []
    host = urlsplit(base).netloc
    with chromium() as browser:
        context = browser.new_context(base_url=base, java_script_enabled=True)
        context.expose_function("cxkbReport", lambda what, detail, where:
                                events.append((what, detail, where)))
        context.add_init_script(HOOKS)
        context.on("request", lambda request: outside.append(request.url)
                   if urlsplit(request.url).netloc != host
                   and not request.url.startswith("data:") else None)
        page = context.new_page()
        page.on("dialog", lambda dialog: (events.append(("dialog", dialog.message, page.url)),
                                          dialog.dismiss()))
        for url in urls:
            response = page.goto(url, wait_until="load", timeout=60_000)
            statuses[response.status if response else 0] += 1
            found = page.evaluate(AUDIT)
            texts.append(page.evaluate("() => document.documentElement.innerText"))
            if found:
                audit[url] = found
        context.close()
    return {"events": events, "audit": audit, "outside": outside, "statuses": statuses,
            "shown": shown_as_text(texts)}


def _plain(text: str) -> str:
    return " ".join(text.replace("\x00", "").replace("\ufffd", "").split())


def shown_as_text(texts: list[str]) -> int:
    """How many payloads a reader sees, as text, on at least one page (so the pages did
    carry them: escaped, not dropped)."""
    everything = "\n".join(_plain(t) for t in texts)
    return sum(1 for payload in XSS + URLS if _plain(payload) in everything)


def _check(result: dict, urls: list[str], label: str) -> None:
    executions = [e for e in result["events"] if e[0] != "csp"]
    violations = [e for e in result["events"] if e[0] == "csp"]
    live = {url: found for url, found in result["audit"].items()}
    payloads = len(XSS) + len(URLS)
    record(f"xss-{label}", f"XSS: {len(executions)} executions over {payloads} payloads × "
           f"{len(urls)} pages ({len(violations)} CSP violations, {len(live)} pages with "
           f"live script/handlers/javascript: links, {len(result['outside'])} requests "
           f"off the server; {result['shown']} of the payloads shown as text)",
           executions=len(executions), payloads=payloads, pages=len(urls),
           csp_violations=len(violations), live=len(live), outside=len(result["outside"]),
           statuses=dict(result["statuses"]), shown=result["shown"])
    assert not executions, executions[:10]
    assert not violations, violations[:10]
    assert not live, json.dumps(dict(list(live.items())[:5]), indent=1)
    assert not result["outside"], result["outside"][:10]
    assert result["statuses"][500] == 0, result["statuses"]
    assert result["shown"] >= 0.9 * payloads, "the pages did not carry the payloads"


def test_no_payload_runs_in_any_page_or_json_view(hostile_kb) -> None:
    app = make_app(hostile_kb.path)
    urls = page_urls(app, hostile_kb.path, per_route=3, reflected=70)
    with running_server(make_app(hostile_kb.path)) as base:
        result = render_all(base, urls)
    _check(result, urls, "default")


@pytest.mark.release
def test_no_payload_runs_in_every_instance_of_every_page(hostile_kb) -> None:
    app = make_app(hostile_kb.path)
    urls = page_urls(app, hostile_kb.path, per_route=None, reflected=len(XSS))
    with running_server(make_app(hostile_kb.path)) as base:
        result = render_all(base, urls)
    _check(result, urls, "release")
