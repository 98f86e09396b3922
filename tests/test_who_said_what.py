"""Who said what in the two seed pages: statements with offsets and one speaker each,
quotes and reported speech of the people quoted, people across sources, replies and
agreement between commenters, survey figures, and corrections to who is who."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from clihelpers import export, run
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.demo_corpus import DEMO_CORPUS_DIR
from nlp.models import load_spacy
from nlp.statements import attributed_statements, parse_texts

BLOG = DEMO_CORPUS_DIR / "temkin_whos_leading_cx_efforts.txt"
MAGAZINE = DEMO_CORPUS_DIR / "crm_magazine_whos_responsible_for_cx.txt"



@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("who") / "kb.db"
    run(db, "ingest", str(BLOG), str(MAGAZINE))
    run(db, "analyze", "--model", "fast")
    return db


def test_statements_have_offsets_one_speaker_and_never_overlap(seeds: Path) -> None:
    statements = export(seeds, "statements")
    documents = {d["id"]: d for d in export(seeds, "documents")}
    comments = {c["id"]: c for c in export(seeds, "comments")}
    by_parent: dict[str, list[dict]] = {}
    for s in statements:
        parent = documents[s["document_id"]]["body"] if s["document_id"] else \
            comments[s["comment_id"]]["text"]
        assert parent[s["start"]:s["end"]] == s["text"]
        assert s["kind"] in ("narration", "quote", "reported", "comment")
        by_parent.setdefault(s["document_id"] or s["comment_id"], []).append(s)
    for spans in by_parent.values():
        spans.sort(key=lambda s: s["start"])
        assert all(a["end"] <= b["start"] for a, b in pairwise(spans))
    kancha = [s["text"] for s in statements if s["speaker"] == "Kancha"]
    assert "I agree with Tim" in kancha
    assert all(s["speaker"] == comments[s["comment_id"]]["author"]
               for s in statements if s["kind"] == "comment")
    others = [(s["speaker"], s["kind"]) for s in statements
              if s["comment_id"] and s["kind"] != "comment"]
    assert others == [("Tim McDougall", "reported")]  # "As Tim M. mentioned, …"


MAGAZINE_QUOTES = [
    ("[I]n retail you have very strong independent organizations", "Bruce Temkin"),
    ("It may not make sense to bring them together.", "Bruce Temkin"),
    ("I think that marketing people are taking more and more responsibility", "Bruce Temkin"),
    ("Customers are looking for a much more blended experience", "Bruce Temkin"),
    ("The easy answer is to say add a chief customer officer", "Michael Hoffman"),
]
MAGAZINE_REPORTED = [
    ("Yet Bruce Temkin, vice president and research director at Forrester", "Bruce Temkin"),
    ("According to Temkin, it's much less of a problem", "Bruce Temkin"),
    ("Michael Hoffman, president and CEO of consultancy Client X Client, suggests",
     "Michael Hoffman"),
]


def test_magazine_quotes_and_reported_speech_belong_to_the_people_quoted(seeds: Path) -> None:
    magazine = next(d for d in export(seeds, "documents") if "Responsible" in d["title"])
    statements = [s for s in export(seeds, "statements") if s["document_id"] == magazine["id"]]
    quotes = [s for s in statements if s["kind"] == "quote"]
    reported = [s for s in statements if s["kind"] == "reported"]
    assert [(next(t for t, _ in MAGAZINE_QUOTES if s["text"].startswith(t)), s["speaker"])
            for s in quotes] == MAGAZINE_QUOTES
    assert [(next(t for t, _ in MAGAZINE_REPORTED if s["text"].startswith(t)), s["speaker"])
            for s in reported] == MAGAZINE_REPORTED
    last = quotes[-1]["text"]
    assert last.endswith("every customer and every customer contact.")  # one multi-sentence quote
    narration = [s for s in statements if s["kind"] == "narration"]
    assert {s["speaker"] for s in narration} == {"Coreen Bailor"}
    assert not any("Temkin says" == s["text"].strip(". ") for s in statements)
    assert not any("Who's In Charge" in s["text"] and s["kind"] == "quote" for s in statements)


def test_one_person_across_sources_with_role_and_organisation(seeds: Path) -> None:
    people = {p["name"]: p for p in export(seeds, "people")}
    temkin = people["Bruce Temkin"]
    assert temkin["documents"] == 1  # the blog post's author ...
    assert temkin["description"] == "vice president and research director, Forrester"
    speakers = {s["speaker_person_id"] for s in export(seeds, "statements")
                if s["speaker"] == "Bruce Temkin"}
    assert speakers == {temkin["id"]}  # ... and the analyst quoted in the magazine
    assert people["Michael Hoffman"]["description"] == "president and CEO, Client X Client"
    assert "Tim" not in people and "Bruce" not in people and "Temkin" not in people


def test_replies_agreement_and_addressees_in_the_blog_thread(seeds: Path) -> None:
    relations = {(r["kind"], r["source"], r["target"], r["evidence"])
                 for r in export(seeds, "relations")}
    assert relations >= {
        ("replies_to", "Kancha", "Tim Sanchez", None),
        ("agrees_with", "Kancha", "Tim Sanchez", "I agree with Tim"),
        ("agrees_with", "Eric Jacques", "Ray Brown", "Great point Ray"),
        ("agrees_with", "Eric Jacques", "Tim McDougall", "I agree Tim McDougall"),
        ("disagrees_with", "Eric Jacques", "Tim Sanchez",
         "I respectfully disagree with Tim Sanchez and Kancha"),
        ("disagrees_with", "Eric Jacques", "Kancha",
         "I respectfully disagree with Tim Sanchez and Kancha"),
        ("addresses", "Ray Brown", "Bruce Temkin", "Hi Bruce"),
    }
    # Tim McDougall's comment is unsigned: the name is kept, no person is invented
    mcdougall = [r for r in export(seeds, "relations") if r["target"] == "Tim McDougall"]
    assert mcdougall and all(r["target_person_id"] is None for r in mcdougall)


SEED_FIGURES = [
    ("62%", "have one of these leaders in place"),
    ("38%", "is a dedicated customer experience organization"),
    ("only 22 percent", "designated ownership of all customer touch points to one person"),
    ("Just 24 percent", "report having a single person responsible for customer experience"),
    ("about one third", "have a single exec responsible for customer experience"),
    ("a mere 7 percent", "say they have a single customer experience exec"),
    ("33 percent", "responded that marketing should bear the responsibility"),
    ("30 percent", "contended that it lies with customer service"),
    ("34 percent", "is responsible"),
]


def test_all_nine_survey_figures_of_the_seeds(seeds: Path) -> None:
    figures = export(seeds, "figures")
    assert len(figures) == 9
    found = {f["value"]: f for f in figures}
    for value, measure in SEED_FIGURES:
        assert measure in found[value]["measure"], (value, found[value]["measure"])
        assert value in found[value]["statement"]
    assert found["only 22 percent"]["source"] == "Forrester Research 2003 survey"
    assert "176 North American companies" in found["Just 24 percent"]["population"]
    assert found["about one third"]["population"] == "services firms"
    assert found["62%"]["source"] == "Bruce Temkin"


def test_people_merge_and_split_survive_reanalysis(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(BLOG))
    run(db, "analyze", "--model", "fast")
    run(db, "people", "merge", "Tim Sanchez", "Kancha")
    people = {p["name"]: p for p in export(db, "people")}
    assert "Kancha" not in people
    kancha_comments = [c for c in export(db, "comments") if c["author"] == "Kancha"]
    assert {c["author_person_id"] for c in kancha_comments} == {people["Tim Sanchez"]["id"]}
    run(db, "ingest", str(BLOG))
    run(db, "analyze", "--model", "fast")
    assert "Kancha" not in {p["name"] for p in export(db, "people")}
    run(db, "people", "split", "Tim Sanchez", "Kancha")
    run(db, "analyze", "--model", "fast")
    people = {p["name"]: p for p in export(db, "people")}
    assert people["Kancha"]["comments"] == 2 and people["Tim Sanchez"]["comments"] == 1
    bad = run(db, "people", "merge", "Nobody Here", "Kancha", ok=False)
    assert bad.exit_code == 1 and "no person with id or name 'Nobody Here'" in bad.output


# -- bad input ------------------------------------------------------------------------------


def _statements(text: str, author: str | None = "Ann Author") -> list:
    parsed = parse_texts(load_spacy(), [text])[0]
    statements, _people = attributed_statements(text, parsed, author)
    spans = sorted((s.start, s.end) for s in statements)
    assert all(0 <= a < b <= len(text) for a, b in spans)
    assert all(x[1] <= y[0] for x, y in pairwise(spans)), spans
    return statements


def test_unbalanced_quotes_and_a_quote_to_the_end_never_invent_a_speaker() -> None:
    text = ('The debate goes on. "Customer experience is an outcome, not a department, and '
            'it will stay that way whatever the org chart says\n\nAnother paragraph '
            'begins here without any closing mark at all and "runs on')
    statements = _statements(text)
    quotes = [s for s in statements if s.kind == "quote"]
    assert quotes and all(s.speaker == "Ann Author" and s.flag for s in quotes)


def test_names_that_are_common_words_are_not_speakers() -> None:
    text = ('Will the CCO fix it? Hope is not a strategy. "Marketing cannot own the '
            'experience on its own," says Rich Danvers, head of CX at Acme. Rich people '
            'rarely call the contact centre.')
    statements = _statements(text)
    speakers = {s.speaker for s in statements}
    assert "Rich Danvers" in speakers
    assert not speakers & {"Will", "Hope", "Rich"}


def test_a_comment_that_only_quotes_another_comment_stays_its_authors() -> None:
    text = '"Everything is a function AND an outcome."'
    parsed = parse_texts(load_spacy(), [text])[0]
    statements, _ = attributed_statements(text, parsed, "Kancha", own_kind="comment",
                                          known_people=["Tim Sanchez"], strict=True)
    assert [(s.kind, s.speaker) for s in statements] == [("comment", "Kancha")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([
    '"', "“", "”", "‘", "’", "'", " says Temkin.", " Lopez said", ", he added", "\n\n",
    "Customer experience is an outcome", " CX ", "[I]n retail", "Q: ", "A: ", "according to",
    " Bruce Temkin, vice president at Forrester, ", ".", ",", " everyone's job ", "@mike_r",
]), max_size=30))
@example(parts=['"', "‘", "‘", "Customer experience is an outcome", " everyone's job ", "’"])
def test_any_mix_of_quote_marks_and_attributions_is_split_cleanly(parts: list[str]) -> None:
    _statements("".join(parts))


def test_a_forum_quote_box_names_whom_it_quotes_and_its_words_are_not_the_writers() -> None:
    from nlp.relations import find_relations

    text = ("> Originally Posted by Dana Whitfield\n> I agree with Ray completely.\n\n"
            "I disagree with Dana here.")
    found = [(r.kind, r.target_name) for r in find_relations(text)]
    assert ("quotes", "Dana Whitfield") in found
    assert ("disagrees_with", "Dana") in found
    assert ("agrees_with", "Ray") not in found  # Dana's words, quoted, not the writer's
    phpbb = find_relations("> Ray Brown wrote:\n> outcome only\n\nSpot on.")
    assert [r.kind for r in phpbb if r.target_name == "Ray Brown"] == ["quotes", "addresses"]
