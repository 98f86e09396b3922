"""Plain-text pages in many shapes parse to exactly the structure written beside them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.decode import decode_text
from ingest.plaintext import parse_plaintext

FIXTURES = Path(__file__).parent / "fixtures" / "plaintext"
CASES = sorted(FIXTURES.glob("*.expected.json")) + sorted((FIXTURES / "bad").glob("*.expected.json"))


def _parse(expected_path: Path):
    page = expected_path.with_name(expected_path.name.replace(".expected.json", ".txt"))
    text, _ = decode_text(page.read_bytes())
    return parse_plaintext(text, name=page.name), json.loads(expected_path.read_text("utf-8"))


@pytest.mark.parametrize("expected_path", CASES, ids=lambda p: p.name.split(".")[0])
def test_document_fields(expected_path: Path) -> None:
    document, expected = _parse(expected_path)
    want = expected["document"]
    assert document.title == want["title"]
    assert document.author == want["author"]
    assert (document.published or None) == want["published"]
    assert document.body.startswith(want["body_starts_with"]), document.body[:200]
    assert document.body.endswith(want["body_ends_with"]), document.body[-200:]
    for furniture in want.get("body_excludes", []):
        assert furniture not in document.body


@pytest.mark.parametrize("expected_path", CASES, ids=lambda p: p.name.split(".")[0])
def test_comment_thread(expected_path: Path) -> None:
    document, expected = _parse(expected_path)
    got = [
        {
            "position": i + 1,
            "parent": c.parent + 1 if c.parent is not None else None,
            "author": c.author,
            "posted_at": c.posted_at,
            "kind": c.kind,
        }
        for i, c in enumerate(document.comments)
    ]
    want = [{k: c[k] for k in ("position", "parent", "author", "posted_at", "kind")}
            for c in expected["comments"]]
    assert got == want
    for comment, spec in zip(document.comments, expected["comments"]):
        assert comment.text.startswith(spec["text_starts_with"]), comment.text[:120]
        assert comment.text.endswith(spec["text_ends_with"]), comment.text[-120:]
