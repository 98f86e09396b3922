"""The listing's topic and text filters, the people list's pages, a topic page's pages
and moves, and search facets, on the analysed demo knowledge base with topics assigned:
every count a page shows equals the same count made the slow, obvious way in SQL."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections import Counter

import pytest
from webhelpers import BLOG_TITLE, add_hostile_document, build_demo_db, make_app

TOPICS = 3


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory):
    from kb.db import open_db, utc_now
    from nlp.analyze import analyze

    path = tmp_path_factory.mktemp("facets") / "kb.db"
    build_demo_db(path)
    add_hostile_document(path)
    db = open_db(path)
    analyze(db, tier="fast", with_topics=False)  # topics are given below, by hand
    now = utc_now()
    with db.conn:  # the demo's pages have no dates: give them two years
        db.execute("UPDATE documents SET published = CASE WHEN title = ? THEN '2019-03-01'"
                   " ELSE '2021-06-30' END", [BLOG_TITLE])
        for topic in range(-1, TOPICS):
            db.execute("INSERT INTO topics (id, label, keywords, representative, size, status,"
                       " created_at, updated_at) VALUES (?, ?, '[]', '[]', 0, 'active', ?, ?)",
                       [topic, f"topic {topic}", now, now])
        ids = [r[0] for r in db.execute("SELECT id FROM statements ORDER BY id")]
        for i, sid in enumerate(ids):
            db["topic_assignments"].insert({"statement_id": sid, "topic_id": i % 4 - 1,
                                            "score": (i * 7 % 10) / 10, "method": "model",
                                            "updated_at": now})
    db.close()
    return path


@pytest.fixture(scope="module")
def client(kb_path):
    return make_app(kb_path).test_client()


def sql(kb_path, query: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(kb_path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


# the listing rows as the effective_labels view gives them: (statement id, debate)
_LABELLED = """
    SELECT e.target_id, e.debate, e.label FROM effective_labels AS e
    JOIN statements AS s ON s.id = e.target_id WHERE e.target_type = 'statement'"""


def test_the_kb_is_right_for_these_tests(kb_path) -> None:
    from kb.db import open_db
    from kb.derived import derived_differences

    db = open_db(kb_path)
    assert derived_differences(db) == {}
    db.close()
    assert len(sql(kb_path, _LABELLED)) > 100


# --------------------------------------------------------------------------- listing


def test_topic_filter_lists_and_counts_the_topics_rows(client, kb_path) -> None:
    data = client.get("/statements.json?topic=1").get_json()
    want = sql(kb_path, _LABELLED + " AND s.id IN (SELECT statement_id FROM topic_assignments"
               " WHERE topic_id = 1)")
    assert data["count"] == len(want) > 0
    assert {f["value"]: f["n"] for f in data["facets"]["label"]} == dict(
        Counter(label for _, _, label in want))
    debate = want[0][1]
    chosen = client.get(f"/statements.json?topic=1&debate={debate}").get_json()
    assert chosen["count"] == sum(1 for _, d, _ in want if d == debate)
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/statements.csv?topic=1").get_data(as_text=True))))
    assert {(r["id"], r["debate"]) for r in rows} == {(s, d) for s, d, _ in want}
    html = client.get("/positions/?topic=1").get_data(as_text=True)
    assert f"{len(want)} labelled statements" in html


def _containing(kb_path, word: str) -> set[tuple[str, str]]:
    """Listing rows whose statement has ``word`` as a word (any case)."""
    return {(s, d) for s, d, _ in sql(kb_path, _LABELLED)
            if re.search(rf"\b{word}\b", sql(kb_path, "SELECT text FROM statements WHERE id = ?",
                                            [s])[0][0], re.IGNORECASE)}


def test_text_contains_matches_words_in_any_form_and_counts_them(client, kb_path) -> None:
    data = client.get("/statements.json?q=Outcome").get_json()
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/statements.csv?q=Outcome").get_data(as_text=True))))
    found = {(r["id"], r["debate"]) for r in rows}
    assert data["count"] == len(found) > 0
    assert found >= _containing(kb_path, "outcome")  # every statement with the word ...
    assert found >= _containing(kb_path, "outcomes")  # ... and with its other forms
    assert all(re.search(r"outcome", r["text"], re.IGNORECASE) for r in rows)
    assert sum(f["n"] for f in data["facets"]["label"]) == data["count"]
    # a phrase, a prefix, and words the index does not have
    phrase = client.get('/statements.json?q="customer experience"').get_json()
    assert phrase["count"] and all(
        re.search(r"customer\w*\W+experienc", r["text"], re.IGNORECASE) for r in phrase["rows"])
    prefix = client.get("/statements.json?q=outc*").get_json()
    assert prefix["count"] >= data["count"]
    for nothing in ("zanzibarianx", "%27%3B--", "((", "*"):
        answer = client.get(f"/statements.json?q={nothing}")
        assert answer.status_code == 200 and answer.get_json()["rows"] == []
    html = client.get("/positions/?q=outcome").get_data(as_text=True)
    assert "in any form" in html and "as a prefix" in html  # the hint says what it does


def test_text_matching_too_many_statements_pages_uncounted(client, kb_path, monkeypatch):
    from kb.web import listing

    counted = client.get("/statements.json?q=customer").get_json()
    assert counted["text_matches"] > 3
    monkeypatch.setattr(listing, "TEXT_LIMIT", 3)
    monkeypatch.setattr(listing, "PAGE_SIZE", 5)
    first = client.get("/statements.json?q=customer").get_json()
    assert first["count"] is None and first["facets"] == {} and first["next"]
    seen, url = [], "/statements.json?q=customer"
    while url:
        data = client.get(url).get_json()
        seen += [(r["id"], r["debate"]) for r in data["rows"]]
        url = data["next"]
    assert len(seen) == len(set(seen)) == counted["count"]  # every row, once, in order
    html = client.get("/positions/?q=customer").get_data(as_text=True)
    assert "statements contain these words" in html and "next →" in html


# --------------------------------------------------------------------------- people


def test_people_pages_cover_everyone_most_statements_first(client, kb_path, monkeypatch):
    from kb.web import people

    monkeypatch.setattr(people, "PAGE_SIZE", 4)
    everyone = {r[0]: (r[1], r[2]) for r in sql(kb_path, """
        SELECT p.id, (SELECT count(*) FROM statements WHERE speaker_person_id = p.id),
               (SELECT count(*) FROM comments WHERE author_person_id = p.id) FROM people p""")}
    seen, url = [], "/people.json"
    while url:
        data = client.get(url).get_json()
        assert data["count"] == len(everyone)
        seen += data["rows"]
        url = data["next"]
    assert [p["id"] for p in seen] == list(dict.fromkeys(p["id"] for p in seen))
    assert {p["id"]: (p["statements"], p["comments"]) for p in seen} == everyone
    counts = [p["statements"] for p in seen]
    assert counts == sorted(counts, reverse=True)
    assert client.get("/people/?page=2").status_code == 200
    html = client.get("/people/").get_data(as_text=True)
    assert "page 1 of" in html and 'href="/people/?page=2"' in html
    rows = list(csv.DictReader(io.StringIO(client.get("/people.csv").get_data(as_text=True))))
    assert len(rows) == len(everyone)



def test_a_busy_persons_page_shows_the_newest_and_links_to_the_rest(client, kb_path,
                                                                    monkeypatch) -> None:
    """A person in more threads, with more statements, than a page shows: the newest of
    each, how many there are, and the way to all of them."""
    from kb.web import people

    busiest, n_statements, n_threads = sql(kb_path, """
        SELECT s.speaker_person_id, count(*),
               (SELECT count(DISTINCT document_id) FROM person_positions
                 WHERE person_id = s.speaker_person_id)
        FROM statements s WHERE s.speaker_person_id IS NOT NULL
        GROUP BY 1 ORDER BY 2 DESC LIMIT 1""")[0]
    assert n_statements > 3 and n_threads >= 1
    newest_day = sql(kb_path, "SELECT max(day) FROM statement_facts WHERE person_id = ?",
                     [busiest])[0][0]
    monkeypatch.setattr(people, "QUOTES_SHOWN", 3)
    monkeypatch.setattr(people, "THREADS_SHOWN", 1)
    data = client.get(f"/people/{busiest}.json").get_json()
    assert len(data["quotes"]) == 3 and data["quotes_total"] == n_statements
    assert data["quotes"][0]["day"] == newest_day
    assert [q["day"] for q in data["quotes"]] == sorted((q["day"] for q in data["quotes"]),
                                                         reverse=True)
    assert len(data["threads"]) == 1 and data["threads_total"] == n_threads
    assert set(data["threads"][0]["positions"]) <= {"outcome-function", "ownership"}
    html = client.get(f"/people/{busiest}").get_data(as_text=True)
    assert f"3 of {n_statements} statements" in html
    link = f'href="/positions/?person={busiest}"'
    assert link in html
    listed = client.get(f"/positions.json?person={busiest}").get_json()
    assert len({r["id"] for r in listed["rows"]}) > 3  # the rest is one click away


# --------------------------------------------------------------------------- topics


def test_a_topic_page_pages_its_statements_and_moves_the_ticked_ones(kb_path, tmp_path,
                                                                     monkeypatch) -> None:
    from kb.topics import positions_in_topic
    from kb.web import topics

    path = tmp_path / "kb.db"
    path.write_bytes(kb_path.read_bytes())
    client = make_app(path).test_client()
    monkeypatch.setattr(topics, "STATEMENTS_PAGE", 3)
    members = {r[0] for r in sql(path, "SELECT statement_id FROM topic_assignments"
                                       " WHERE topic_id = 0")}
    seen, url = [], "/topics/0.json"
    while url:
        data = client.get(url).get_json()
        seen += [s["id"] for s in data["statements"]]
        url = data["next"]
    assert len(seen) == len(members) and set(seen) == members
    assert data["size"] == len(members)
    from kb.db import open_db

    db = open_db(path)
    want: dict[str, Counter] = {}
    for _, debate, label in sql(path, _LABELLED + " AND s.id IN (SELECT statement_id FROM"
                                      " topic_assignments WHERE topic_id = 0)"):
        want.setdefault(debate, Counter())[label] += 1
    assert positions_in_topic(db, 0) == {d: dict(c) for d, c in want.items()}
    db.close()
    html = client.get("/topics/0?page=2").get_data(as_text=True)
    assert 'name="statement" value=' in html and "page 2 of" in html
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    moved = seen[:2]
    answer = client.post("/topics/move", data={"statement": moved, "topic": "2",
                                               "csrf_token": "t"})
    assert answer.status_code == 302
    assert {r[0] for r in sql(path, "SELECT statement_id FROM topic_assignments WHERE"
                                    " topic_id = 2 AND method = 'human'")} == set(moved)
    assert client.get("/statements.json?topic=2").get_json()["count"] == len(sql(
        path, _LABELLED + " AND s.id IN (SELECT statement_id FROM topic_assignments"
        " WHERE topic_id = 2)"))
    assert client.post("/topics/move", data={"topic": "2", "csrf_token": "t"}
                       ).status_code == 400  # nothing ticked


# --------------------------------------------------------------------------- search


def _facet(data: dict, name: str) -> dict:
    return {f["value"]: f["n"] for f in data["facets"][name]}


def test_search_facets_count_what_the_filters_then_show(client, kb_path) -> None:
    data = client.get("/search.json?q=outcome").get_json()
    facets = data["facets"]
    assert set(facets) == {"kind", "position", "site", "source", "person", "year"}
    assert _facet(data, "kind") == {k: n for k, n in data["counts"].items() if n}
    assert data["count"] == sum(data["counts"].values())
    statements = {r[0] for r in sql(kb_path, "SELECT s.id FROM statements_fts JOIN statements s"
                                             " ON s.rowid = statements_fts.rowid WHERE"
                                             " statements_fts MATCH 'outcome'")}
    assert data["counts"]["statement"] == len(statements)
    # each facet entry, chosen, gives as many hits as it said
    assert facets["person"] and facets["source"] and facets["position"] and facets["year"]
    for name, key in (("site", "site"), ("person", "person"), ("source", "source")):
        if not facets[name]:
            continue  # the demo's pages name no site
        entry = facets[name][0]
        chosen = client.get(f"/search.json?q=outcome&{key}={entry['value']}&kind=statement"
                            "&kind=comment&kind=document").get_json()
        assert chosen["count"] == entry["n"], name
        assert _facet(chosen, name)[entry["value"]] == entry["n"]  # its own facet: unfiltered
    position = facets["position"][0]
    chosen = client.get("/search.json", query_string={
        "q": "outcome", "debate": position["debate"], "label": position["label"]}).get_json()
    assert chosen["count"] == position["n"]
    labelled = {r[0] for r in sql(kb_path, "SELECT target_id FROM effective_labels WHERE"
                                           " debate = ? AND label = ?",
                                  [position["debate"], position["label"]])}
    assert {h["id"] for h in _all_hits(client, "outcome", position)} <= labelled
    year = facets["year"][0]
    chosen = client.get("/search.json", query_string={
        "q": "outcome", "since": f"{year['value']}-01-01", "until": f"{year['value']}-12-31"}
    ).get_json()
    assert chosen["count"] == year["n"]
    kind = client.get("/search.json?q=outcome&kind=comment").get_json()
    assert kind["count"] == data["counts"]["comment"] and _facet(kind, "kind") == _facet(
        data, "kind")


def _all_hits(client, query: str, position: dict) -> list[dict]:
    seen, url = [], "/search.json?" + "&".join(
        f"{k}={v}" for k, v in (("q", query), ("debate", position["debate"]),
                                ("label", position["label"])))
    while url:
        data = client.get(url).get_json()
        seen += data["rows"]
        url = data["next"]
    return seen


def test_search_page_links_facets_and_exports_what_it_filters(client) -> None:
    data = client.get("/search.json?q=outcome").get_json()
    source = data["facets"]["source"][0]
    html = client.get("/search/?q=outcome").get_data(as_text=True)
    assert 'class="facets search-facets"' in html
    link = f'href="/search/?q=outcome&amp;source={source["value"]}"'
    assert link in html
    page = client.get(f"/search/?q=outcome&source={source['value']}").get_data(as_text=True)
    assert f"source: {source['value']}" in page and 'aria-label="remove filter source"' in page
    json_hits = client.get(f"/search.json?q=outcome&source={source['value']}").get_json()
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/search.csv?q=outcome&source={source['value']}").get_data(as_text=True))))
    assert len(rows) == json_hits["count"] == source["n"]
    assert [r["id"] for r in rows][:len(json_hits["rows"])] == [h["id"]
                                                                for h in json_hits["rows"]]


def test_search_with_filters_still_explains_bad_syntax(client) -> None:
    for url in ("/search/", "/search.json", "/search.csv"):
        answer = client.get(url, query_string={"q": "outcome AND (", "site": "x",
                                               "debate": "ownership"})
        assert answer.status_code == 400, url
        assert "FTS5 syntax" in answer.get_data(as_text=True)
    odd = client.get("/search/", query_string={"q": "outcome", "since": "yesterday",
                                               "person": "<script>", "label": "x'--"})
    assert odd.status_code == 200 and "<script>" not in odd.get_data(as_text=True)


def test_search_matching_too_many_texts_says_why_there_are_no_facets(client, monkeypatch):
    import kb.search

    monkeypatch.setattr(kb.search, "FACET_LIMIT", 3)
    data = client.get("/search.json?q=outcome").get_json()
    assert data["facets"] is None and data["matches"] > 3 and data["rows"]
    html = client.get("/search/?q=outcome").get_data(as_text=True)
    assert "facets are counted for searches of at most 3" in html
    # a filter is still applied (the matches are copied to be filtered)
    site = client.get("/search.json?q=outcome&kind=comment").get_json()
    assert site["count"] == json.loads(json.dumps(data["counts"]))["comment"]


def test_cli_search_and_web_search_are_the_same_search(client, kb_path) -> None:
    from click.testing import CliRunner

    from kb.cli import cli

    out = CliRunner().invoke(cli, ["--db", str(kb_path), "search", "outcome", "--json",
                                   "--limit", "20"])
    assert out.exit_code == 0, out.output
    cli_ids = [json.loads(line)["id"] for line in out.stdout.splitlines()]
    web_ids = [h["id"] for h in client.get("/search.json?q=outcome").get_json()["rows"]]
    assert cli_ids == web_ids


def test_kinds_ranked_side_by_side_give_the_hits_ranked_one_by_one(client, kb_path,
                                                                      monkeypatch) -> None:
    import kb.parallel_reads
    import kb.search

    queries = ("outcome", "customer experience", "own* NOT marketing")
    # every kind in two halves of its rowids, counted and ranked side by side
    monkeypatch.setattr(kb.search, "SPLIT_KINDS", kb.search.KINDS)
    monkeypatch.setattr(kb.search, "SEEK_FROM", 1)  # snippets sought hit by hit
    side_by_side = {q: client.get(f"/search.json?q={q}").get_json()["rows"] for q in queries}
    assert all(side_by_side.values())
    # the facets page too (its words match few enough texts to count facets for)
    faceted = client.get("/search/?q=customer experience").get_data(True)
    monkeypatch.setattr(kb.parallel_reads, "WORKERS", 1)
    monkeypatch.setattr(kb.search, "SPLIT_KINDS", ())
    monkeypatch.setattr(kb.search, "SEEK_FROM", 10**9)  # snippets from one pass
    assert all(r["snippet"] for rows in side_by_side.values() for r in rows)
    for q, rows in side_by_side.items():
        assert client.get(f"/search.json?q={q}").get_json()["rows"] == rows
        second = client.get(f"/search.json?q={q}&page=2").get_json()["rows"]
        assert not {r["id"] for r in second} & {r["id"] for r in rows}
    assert client.get("/search/?q=customer experience").get_data(True) == faceted
    monkeypatch.undo()
    monkeypatch.setattr(kb.search, "FACET_LIMIT", 3)
    assert "cannot search for" in client.get("/search/?q=outcome AND (").get_data(True)
