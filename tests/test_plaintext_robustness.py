"""The plain-text parser never crashes: any text gives a document or a named error."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import ExtractionError
from ingest.plaintext import parse_plaintext

_LINES = st.sampled_from([
    "", "  1. Ray Brown says:", "• Kancha says:", "9 Responses to “A title”", "Leave a Reply",
    "By Jane Roe, Senior Analyst | June 3, 2019", "March 10, 2010 at 4:15 PM", "Reply",
    "About the author", "Pingback: Some Blog » A post", "#1", "#2", "Thread: A thread",
    "Customer experience is an outcome, not a department, and everyone owns a part of it.",
    "Share this:", "Related Articles", "    Indented reply text here.", "— Dana Whitfield",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_LINES, st.text(max_size=80)), max_size=60))
def test_any_text_gives_a_document_or_a_named_error(lines: list[str]) -> None:
    text = "\n".join(lines)
    try:
        document = parse_plaintext(text)
    except ExtractionError as error:
        assert str(error)
        return
    assert document.title.strip()
    assert document.body.strip()
    for i, comment in enumerate(document.comments):
        assert comment.text.strip()
        assert comment.parent is None or 0 <= comment.parent < i


def test_a_huge_thread_parses_every_comment() -> None:
    comments = "\n\n".join(
        f"  {n}. Person {n} says:\n\n    Comment number {n} on who owns customer experience."
        for n in range(1, 2001))
    text = ("Who Owns CX?\n\nA long enough opening paragraph about customer experience "
            "ownership and outcomes.\n\n2000 Responses to Who Owns CX?\n\n" + comments)
    document = parse_plaintext(text)
    assert len(document.comments) == 2000
    assert document.comments[-1].author == "Person 2000"
