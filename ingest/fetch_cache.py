"""Fetched responses kept in the knowledge base (table ``fetched``): the raw bytes of every
page, feed and API response, so extraction can run again without the network, and so a
re-fetch can be conditional (ETag / Last-Modified)."""

from __future__ import annotations

import json
import zlib

from sqlite_utils import Database

from ingest.fetch import FetchResult


class DbResponseCache:
    """A ``ResponseCache`` (see ``ingest.fetch``) backed by the ``fetched`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, url: str) -> FetchResult | None:
        row = next(self.db["fetched"].rows_where("url = ?", [url]), None)
        if row is None:
            return None
        return FetchResult(
            url=row["url"], final_url=row["final_url"], status=row["status"],
            headers=json.loads(row["headers"]), body=zlib.decompress(row["body"]),
            content_type=row["content_type"], charset=row["charset"],
            fetched_at=row["fetched_at"], redirects=json.loads(row["redirects"]),
            from_cache=True, etag=row["etag"], last_modified=row["last_modified"],
        )

    def put(self, result: FetchResult) -> None:
        with self.db.conn:
            self.db["fetched"].upsert({
                "url": result.url, "final_url": result.final_url, "status": result.status,
                "content_type": result.content_type, "charset": result.charset,
                "etag": result.etag, "last_modified": result.last_modified,
                "headers": json.dumps(result.headers, sort_keys=True),
                "redirects": json.dumps(result.redirects),
                "body": zlib.compress(result.body, 6), "size": len(result.body),
                "fetched_at": result.fetched_at,
            }, pk="url")


class CacheOnlyFetcher:
    """Serves kept responses and never touches the network: ``cxkb ingest --offline``
    re-runs extraction on what was fetched before."""

    def __init__(self, db: Database) -> None:
        self.cache = DbResponseCache(db)

    def fetch(self, url: str, *, accept: str | None = None) -> FetchResult:
        from ingest.errors import FetchError

        result = self.cache.get(url)
        if result is None:
            raise FetchError(f"{url}: not fetched before, and --offline forbids fetching it")
        return result
