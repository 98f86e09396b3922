"""The bundled demo corpus: the project's two seed pages, saved as plain text; and the
server for the small demo blog in ``ingest/demo_site/site/`` (four posts on the CX
ownership debate, four on other customer-operations topics, a sitemap and a feed; kept
apart so this folder holds the corpus only) that the demo serves on 127.0.0.1 and crawls."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEMO_CORPUS_DIR = Path(__file__).parent
DEMO_SITE_DIR = Path(__file__).parents[1] / "demo_site" / "site"
_TYPES = {".html": "text/html; charset=utf-8", ".xml": "application/xml; charset=utf-8",
          ".txt": "text/plain; charset=utf-8"}


def demo_paths() -> list[Path]:
    """The demo corpus files, in name order."""
    return sorted(DEMO_CORPUS_DIR.glob("*.txt"))


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves ``site/``: ``/x/`` is ``x/index.html`` (``x/index.xml`` for the feed), and
    ``__SITE__`` in a file becomes this server's origin."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        target = (DEMO_SITE_DIR / path.lstrip("/")).resolve()
        if target.is_dir():
            target = next((target / name for name in ("index.html", "index.xml")
                           if (target / name).is_file()), target / "index.html")
        if not target.is_file() or DEMO_SITE_DIR.resolve() not in target.parents:
            self.send_error(404)
            return
        origin = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        body = target.read_bytes().replace(b"__SITE__", origin.encode())
        self.send_response(200)
        self.send_header("Content-Type", _TYPES.get(target.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving_demo_site() -> Iterator[str]:
    """Serve the demo blog on 127.0.0.1 (a free port) while the block runs; yields its
    home page's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
