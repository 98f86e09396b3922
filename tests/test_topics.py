"""Topics end to end over real SQLite files: BERTopic with the packaged MiniLM (cached
embeddings), themes on the two seed pages, stable ids and user edits across refits, new
material, bad corpora, export, and the topic pages (test client and Chromium)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from clihelpers import export, run
from webhelpers import CHROMIUM, CHROMIUM_ARGS, make_app, running_server

from ingest.demo_corpus import DEMO_CORPUS_DIR
from kb.db import open_db
from kb.records import CommentRecord, DocumentRecord, SourceRecord
from kb.store import store_source
from nlp.statements import segment_knowledge_base
from nlp.topics import SMALL_CORPUS, default_stages, fit_topics, make_label

FIXTURES = Path(__file__).parent / "fixtures" / "whosaid"



@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("topics") / "kb.db"
    run(db, "ingest", str(DEMO_CORPUS_DIR))
    run(db, "analyze", "--model", "fast")  # fits topics: there is no topic model yet
    return db


def test_the_seed_pages_give_a_few_readable_themes(seeds: Path) -> None:
    topics = [t for t in export(seeds, "topics") if t["id"] != -1]
    assert 3 <= len(topics) <= 8
    for t in topics:
        assert not re.match(r"(?i)topic \d+", t["label"]) and t["label"]
        assert len(t["representative"]) == min(3, t["size"]) and t["keywords"]
    words = {w for t in topics for w in t["keywords"]}
    assert "percent" in words  # the survey findings
    assert {"function", "outcome"} <= words  # the definitional argument
    (outliers,) = [t for t in export(seeds, "topics") if t["id"] == -1]
    assert outliers["size"] == 0  # a small corpus is not a pile of outliers
    assigned = export(seeds, "topic_assignments")
    assert sum(t["size"] for t in topics) == len(assigned) > 60


def test_topic_table_and_crossed_views_in_the_cli(seeds: Path) -> None:
    out = run(seeds, "topics").stdout
    first = next(t for t in export(seeds, "topics") if t["id"] != -1)
    assert first["label"] in out and "keywords:" in out
    show = run(seeds, "topics", "show", str(first["id"])).stdout
    assert "outcome-function:" in show and "ownership:" in show
    assert "by person:" in show and "by source:" in show and "over time:" in show


def test_refit_reuses_cached_embeddings_and_keeps_ids_and_edits(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(DEMO_CORPUS_DIR))
    run(db, "analyze", "--model", "fast")
    before = {t["id"]: t for t in export(db, "topics") if t["id"] != -1}
    first, second, third = sorted(before, key=lambda i: -before[i]["size"])[:3]
    run(db, "topics", "rename", str(first), "What CX is")
    run(db, "topics", "merge", str(third), str(second))
    statement = next(a for a in export(db, "topic_assignments") if a["topic_id"] == first)
    run(db, "topics", "move", f"statement:{statement['statement_id']}", str(second))
    result = run(db, "topics", "--refit")
    assert "kept" in result.output
    report = json.loads(open_db(db).execute(
        "SELECT report FROM topic_runs WHERE kind = 'fit' ORDER BY id DESC").fetchone()[0])
    assert report["embedded_now"] == 0
    assert report["user_merges_replayed"] == 1
    after = {t["id"]: t for t in export(db, "topics") if t["id"] != -1}
    assert after[first]["label"] == "What CX is"
    assert third not in after and second in after
    moved = next(a for a in export(db, "topic_assignments")
                 if a["statement_id"] == statement["statement_id"])
    assert (moved["topic_id"], moved["method"]) == (second, "human")
    bad = run(db, "topics", "merge", "999", str(second), ok=False)
    assert bad.exit_code == 1 and "no active topic 999" in bad.output


def test_new_material_is_placed_then_a_refit_reports_what_changed(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run(db, "ingest", str(DEMO_CORPUS_DIR))
    run(db, "analyze", "--model", "fast")
    old = {t["id"] for t in export(db, "topics")}
    run(db, "ingest", str(FIXTURES / "survey_report.txt"), str(FIXTURES / "news_wire.txt"))
    result = run(db, "analyze", "--model", "fast")
    assert json.loads(result.stdout)["topics"]["fitted"] is False
    assert json.loads(result.stdout)["topics"]["assigned"] > 10
    assert {t["id"] for t in export(db, "topics")} == old
    out = run(db, "topics", "--refit").output
    assert re.search(r"new \[[\d, ]*\], kept \[[\d, ]+\], merged \[.*\], gone \[[\d, ]*\]", out)


def _db_with(tmp_path: Path, texts: list[str]) -> Path:
    path = tmp_path / "kb.db"
    db = open_db(path)
    store_source(db, SourceRecord(locator="stdin:t", kind="stdin", content_hash="2" * 64),
                 [DocumentRecord(title="Thread", body="A thread about customer experience.",
                                 comments=[CommentRecord(text=t, author=f"P{i % 7}")
                                           for i, t in enumerate(texts)])])
    segment_knowledge_base(db)
    db.close()
    return path


@pytest.mark.parametrize("texts", [
    ["Customer experience is an outcome of everything we do."] * 1000,
    ["CX is a function.", "Marketing should own the customer experience here.",
     "Our survey says 40 percent of firms have a CCO now."],
    ["Customer experience is what customers feel after every interaction with us.",
     "L'expérience client est le résultat de tout ce que fait l'entreprise pour eux.",
     "Die Kundenerfahrung ist das Ergebnis aller Kontakte mit dem Unternehmen heute.",
     "A chief customer officer should own the whole customer experience agenda."] * 3,
    ["", "   ", "ok", "Customer experience is an outcome of everything we do."],
], ids=["one-text-1000-times", "three-texts", "two-languages", "empty-and-short"])
def test_awkward_corpora_get_a_result(tmp_path: Path, texts: list[str]) -> None:
    db = _db_with(tmp_path, texts)
    result = run(db, "topics")
    assert "fitted" in result.output
    topics = [t for t in export(db, "topics") if t["size"]]
    assert topics and all(t["label"] for t in topics)


def test_no_statements_is_a_clear_message(tmp_path: Path) -> None:
    result = run(tmp_path / "kb.db", "topics", ok=False)
    assert result.exit_code == 1 and "no statements to find topics in" in result.output


def test_every_stage_is_a_parameter(tmp_path: Path) -> None:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    db = open_db(_db_with(tmp_path, [e for e in [
        "Marketing owns the brand promise so it should own CX.",
        "The CMO is the natural owner of customer experience.",
        "Customer service should run the customer experience.",
        "The contact centre sees every customer problem first.",
        "CX is an outcome, not a department.",
        "Customer experience is what customers feel, whatever the org chart says."]]))
    report = fit_topics(db, reducer=PCA(n_components=2, random_state=0),
                        clusterer=KMeans(n_clusters=2, n_init=10, random_state=0))
    assert report["topics"] == 2 and report["stages"] == "custom stages"


def test_stages_scale_with_the_corpus() -> None:
    small = default_stages(80, None, "auto")
    big = default_stages(20000, None, "auto")
    assert small[2].startswith("pca+kmeans")
    assert type(big[0]).__name__ == "UMAP" and type(big[1]).__name__ == "HDBSCAN"
    assert big[0].n_neighbors > default_stages(SMALL_CORPUS, None, "auto")[0].n_neighbors
    assert big[1].min_cluster_size > default_stages(SMALL_CORPUS, None, "auto")[1].min_cluster_size
    assert make_label(["outcome", "function", "function outcome", "want want", "percent"]) == \
        "function outcome · percent"


def test_topic_pages_and_edits_in_the_browser_and_test_client(seeds: Path) -> None:
    app = make_app(seeds)
    client = app.test_client()
    topics = client.get("/topics.json").get_json()["rows"]
    first = topics[0]
    page = client.get(f"/topics/{first['id']}")
    assert page.status_code == 200 and first["label"] in page.get_data(as_text=True)
    assert client.get(f"/topics/{first['id']}.json").get_json()["positions"]
    assert client.get("/topics/12345").status_code == 404
    assert client.post(f"/topics/{first['id']}/rename", data={"label": "x"}).status_code == 403
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with running_server(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=base)
        page.goto("/topics/")
        assert page.locator(".topic-map circle").count() == len(
            [t for t in topics if t["id"] != -1])
        page.locator(".topic-map circle").first.click()
        page.wait_for_url(re.compile(r".*/topics/\d+$"))
        page.fill("input[name=label]", "Renamed in the browser")
        page.click("text=Rename")
        page.wait_for_selector("text=Topic renamed.")
        assert page.locator("h1").inner_text() == "Renamed in the browser"
        page.goto("/topics/")
        assert page.get_by_text("Renamed in the browser").count() >= 1
        browser.close()
