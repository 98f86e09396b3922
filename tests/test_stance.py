"""Stance classification end to end: debates as data, the annotated corpus, both model
tiers, file classification, evaluation, positions in the seed thread, and human
corrections that survive model runs and feed retraining."""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.demo_corpus import DEMO_CORPUS_DIR
from kb.cli import cli
from nlp.corpus import NEAR_DUPLICATE, jaccard, word_set
from nlp.debate import list_debates, load_debate

ROOT = Path(__file__).resolve().parents[1]
BLOG = DEMO_CORPUS_DIR / "temkin_whos_leading_cx_efforts.txt"
MAGAZINE = DEMO_CORPUS_DIR / "crm_magazine_whos_responsible_for_cx.txt"
SHIPPED = ("outcome-function", "ownership")


def run(*args: str, db: Path | None = None, ok: bool = True):
    argv = (["--db", str(db)] if db else []) + list(args)
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def export(db: Path, table: str) -> list[dict]:
    out = run("export", table, db=db).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


# -- debates as data -------------------------------------------------------------------

def test_shipped_debates_follow_the_annotation_guide() -> None:
    debates = {d.name: d for d in list_debates()}
    assert debates["outcome-function"].label_names == ("outcome", "function", "both", "neither")
    assert debates["ownership"].label_names == (
        "dedicated", "marketing", "service", "shared", "neither")
    out = run("debates").stdout
    assert "Is customer experience an outcome or a function?" in out
    assert "Who should own customer experience?" in out


def test_no_code_names_a_label_of_a_shipped_debate() -> None:
    labels = {name for d in list_debates() for name in d.label_names}
    offenders = []
    for package in ("kb", "nlp", "ingest"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Constant) and node.value in labels:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert offenders == []


def test_a_user_adds_a_debate_in_their_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my-debates"
    folder.mkdir()
    (folder / "remote.toml").write_text(
        'name = "remote-work"\nquestion = "Should CX teams work remotely?"\n'
        'default_label = "unclear"\nexamples = "remote.jsonl"\n'
        '[[labels]]\nname = "remote"\ncues = ["from home", "remote|remotely"]\n'
        '[[labels]]\nname = "office"\ncues = ["in the office", "on site"]\n'
        '[[labels]]\nname = "unclear"\n', "utf-8")
    lines = []
    for i in range(12):
        lines += [{"text": f"Our agents do better work from home, week {i}.", "label": "remote"},
                  {"text": f"Nothing beats the team sitting in the office together, day {i}.",
                   "label": "office"},
                  {"text": f"We had a team lunch on Friday number {i}.", "label": "unclear"}]
    (folder / "remote.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    listed = run("--debates-dir", str(folder), "debates").stdout
    assert "remote-work" in listed and "outcome-function" in listed
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "I want to keep working remotely."}) + "\n", "utf-8")
    run("--debates-dir", str(folder), "classify", "--debate", "remote-work", "--model", "fast",
        "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert jsonl(tmp_path / "out.jsonl")[0]["label"] == "remote"


def test_a_broken_debate_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "x"\n[[labels]]\nname = "a"\n', "utf-8")
    result = run("--debates-dir", str(tmp_path), "debates", ok=False)
    assert result.exit_code == 1
    assert "bad.toml" in result.output and "question" in result.output
    result = run("classify", "--debate", "no-such-debate", "--input", str(BLOG),
                 "--output", str(tmp_path / "o.jsonl"), ok=False)
    assert "no debate called 'no-such-debate'" in result.output
    assert "outcome-function" in result.output


# -- the annotated corpus --------------------------------------------------------------

@pytest.mark.parametrize("name", SHIPPED)
def test_corpus_is_large_varied_and_split_without_near_duplicates(name: str) -> None:
    debate = load_debate(name)
    train, test = debate.examples("train"), debate.examples("test")
    assert len(train) + len(test) >= 400
    for label in debate.label_names:
        assert sum(e.label == label for e in train) >= 20, label
        assert sum(e.label == label for e in test) >= 5, label
    assert len(test) >= 0.15 * (len(train) + len(test))
    train_sets = [word_set(e.text) for e in train]
    for e in test:
        words = word_set(e.text)
        assert all(jaccard(words, other) < NEAR_DUPLICATE for other in train_sets), e.text
    assert all(e.split == "train" for e in train if e.origin == "seed")
    styles = {s for e in train + test for s in e.style}
    for wanted in ("question", "sarcasm", "concession", "negation", "agreement", "british"):
        assert wanted in styles, wanted
    assert sum(bool(e.context) for e in train + test) >= 20


def test_datasheet_counts_match_the_corpus() -> None:
    sheet = (ROOT / "nlp" / "debates" / "DATASHEET.md").read_text("utf-8")
    for name in SHIPPED:
        debate = load_debate(name)
        total = len(debate.examples())
        assert f"{name}: {total} examples" in sheet


# -- classifying files ------------------------------------------------------------------

HARD_ROWS = [
    {"id": 1, "text": "Customer experience is an outcome, not a department."},
    {"id": 2, "text": "CX is a discipline, just like finance or HR, and it needs an owner."},
    {"id": 3, "text": ""},
    {"id": 4, "text": "🙂"},
    {"id": 5, "text": "L'expérience client est le résultat de tout ce que fait l'entreprise, "
                      "et pas une fonction de plus dans l'organigramme."},
    {"id": 6, "text": "<p>CX is <b>both</b> a function <i>and</i> an outcome.</p>"},
    {"id": 7, "text": "Customer experience is an outcome. " * 3000},
    {"id": 8, "note": "no text at all"},
    {"id": 9, "text": 12345},
]


@pytest.mark.parametrize("tier", ["fast", "accurate"])
def test_classify_a_jsonl_file_row_for_row(tmp_path: Path, tier: str) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in HARD_ROWS)
                      + "{not json\n", "utf-8")
    out = tmp_path / "labels.jsonl"
    result = run("classify", "--debate", "outcome-function", "--model", tier, "--input",
                 str(source), "--output", str(out), "--evidence", "full")
    assert "10 row(s) read" in result.output and "2 failed" in result.output
    rows = jsonl(out)
    assert [r.get("id") for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8, 9, None]
    by_id = {r.get("id"): r for r in rows}
    assert by_id[1]["label"] == "outcome"
    assert by_id[2]["label"] == "function"
    assert by_id[6]["label"] == "both"
    assert by_id[7]["label"] == "outcome"
    for empty in (3, 4):
        assert by_id[empty]["label"] == "neither" and by_id[empty]["confidence"] <= 0.3
    assert by_id[5]["label"] == "unsupported"
    assert by_id[8]["error"] and by_id[8]["label"] is None and by_id[8]["note"] == "no text at all"
    assert "not JSON" in rows[-1]["error"]
    assert by_id[9]["label"] in load_debate("outcome-function").label_names
    first = by_id[1]
    assert set(first["scores"]) == {"outcome", "function", "both", "neither"}
    assert abs(sum(first["scores"].values()) - 1) < 0.01
    assert first["confidence"] == max(first["scores"].values())
    assert any(c["text"] == "is an outcome" for c in first["evidence"]["cues"])
    assert any(c["text"].startswith("not a department") for c in first["evidence"]["cues"])
    assert len(first["evidence"]["nearest"]) == 3
    assert {"id", "text", "label", "similarity"} <= set(first["evidence"]["nearest"][0])



def test_full_evidence_names_the_words_that_pushed_towards_the_label() -> None:
    """The words of ``--evidence full``, worked out for a whole batch at once, are those a
    plain row-by-row reading of the classifier gives: the word n-grams of the text whose
    weight towards the chosen label is positive, strongest first, at most six."""
    from nlp.model_store import get_model

    model = get_model(load_debate("outcome-function"), "fast")
    texts = [r["text"] for r in HARD_ROWS[:6] if isinstance(r.get("text"), str)]
    texts += [e.text for e in load_debate("outcome-function").examples("test")[:80]]
    batch = model.predict_batch(texts, None, evidence="full")
    names = model.features.word.get_feature_names_out()
    coef = model.sparse_clf.coef_
    classes = list(model.sparse_clf.classes_)
    from nlp.textprep import clean_texts

    words = model.features.word.transform(clean_texts(texts))  # as the model reads them
    checked = 0
    for k, i in enumerate(batch.rows.tolist()):
        label = int(batch.best[i])
        x = words[i]
        weights = coef[classes.index(label)]
        pushed = sorted(((weights[j] * x[0, j], j) for j in x.indices), reverse=True)
        assert batch.words[k] == [str(names[j]) for v, j in pushed[:6] if v > 0]
        checked += bool(batch.words[k])
    assert checked > 50


def test_classify_csv_keeps_columns_and_order(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["post_id", "body", "site"])
        writer.writerow(["a", "Marketing should own the customer experience, full stop.", "x"])
        writer.writerow(["b", "Nobody owns CX: it cuts across every department.", "y"])
        writer.writerow(["c", "We need a chief customer officer with real authority.", "z"])
    out = tmp_path / "out.csv"
    run("classify", "--debate", "ownership", "--model", "fast", "--input", str(source),
        "--output", str(out), "--text-field", "body", "--evidence", "none")
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["post_id"] for r in rows] == ["a", "b", "c"]
    assert [r["site"] for r in rows] == ["x", "y", "z"]
    assert [r["label"] for r in rows] == ["marketing", "shared", "dedicated"]
    assert set(json.loads(rows[0]["scores"])) == set(load_debate("ownership").label_names)


# -- evaluation ---------------------------------------------------------------------------

TARGETS = {"outcome-function": 0.80, "ownership": 0.75}


@pytest.mark.parametrize("name", SHIPPED)
def test_held_out_scores_meet_the_targets(tmp_path: Path, name: str) -> None:
    debate = load_debate(name)
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"text": e.text, "label": e.label,
                                        **({"context": e.context} if e.context else {})}) + "\n"
                            for e in debate.examples("test")), "utf-8")
    report = json.loads(run("evaluate", "--debate", name, "--gold", str(gold), "--json").stdout)
    assert report["macro_f1"] >= TARGETS[name], report
    assert report["n"] == len(debate.examples("test"))
    assert sum(map(sum, report["confusion"])) == report["n"]
    text = run("evaluate", "--debate", name, "--gold", str(gold), "--model", "fast").stdout
    assert "macro-F1" in text and "confusion" in text


def test_evaluate_names_a_bad_gold_line(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"text": "CX is an outcome", "label": "outcome"}\n'
                    '{"text": "x", "label": "maybe"}\n', "utf-8")
    result = run("evaluate", "--debate", "outcome-function", "--gold", str(gold), ok=False)
    assert result.exit_code == 1 and "gold.jsonl:2" in result.output and "maybe" in result.output


def test_saved_models_say_what_they_are_and_stale_ones_are_retrained(
        tmp_path: Path, models_dir: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "CX is an outcome."}\n', "utf-8")
    run("classify", "--debate", "outcome-function", "--model", "fast", "--input", str(source),
        "--output", str(tmp_path / "out.jsonl"))
    meta_path = models_dir / "outcome-function" / "fast" / "meta.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    for key in ("version", "data_hash", "held_out", "training_seconds", "versions", "trained_at"):
        assert key in meta, key
    assert meta["versions"]["scikit-learn"] and meta["held_out"]["macro_f1"] > 0
    meta["versions"]["scikit-learn"] = "0.1.0"
    meta_path.write_text(json.dumps(meta), "utf-8")
    result = CliRunner().invoke(cli, ["classify", "--debate", "outcome-function", "--model",
                                      "fast", "--input", str(source), "--output",
                                      str(tmp_path / "out2.jsonl")])
    assert result.exit_code == 0
    assert "scikit-learn 0.1.0" in result.output and "training" in result.output
    assert json.loads(meta_path.read_text("utf-8"))["versions"]["scikit-learn"] != "0.1.0"



def test_a_format_3_model_is_converted_not_retrained(tmp_path: Path) -> None:
    import joblib

    from nlp.model_store import FORMAT, MODEL_FILE, get_model, load_model, model_path, read_meta

    debate = load_debate("outcome-function")
    model = get_model(debate, "fast")
    root = tmp_path / "models"
    path = model_path(debate.name, "fast", root)
    path.mkdir(parents=True)
    joblib.dump(model.light(), path / "model.joblib")  # as format 3 saved it
    meta = json.loads(json.dumps(model.meta))
    meta["versions"]["format"] = "3"
    (path / "meta.json").write_text(json.dumps(meta), "utf-8")
    loaded = load_model(debate, "fast", root)
    assert (path / MODEL_FILE).exists() and not (path / "model.joblib").exists()
    saved = read_meta(path)
    assert saved["versions"]["format"] == str(FORMAT)
    assert saved["trained_at"] == model.meta["trained_at"]  # not retrained
    texts = [e.text for e in debate.examples("test")][:60]
    assert [(p.label, p.confidence) for p in loaded.predict(texts)] == \
        [(p.label, p.confidence) for p in model.predict(texts)]

# -- the knowledge base: the seed thread, and human corrections ---------------------------

@pytest.fixture(scope="module")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("seed") / "kb.db"
    run("ingest", str(BLOG), str(MAGAZINE), db=db)
    run("analyze", db=db)
    return db


def _positions(db: Path, debate: str, kind: str) -> dict[str, str]:
    labels = [r for r in export(db, "labels") if r["debate"] == debate
              and r["target_type"] == kind]
    best: dict[str, dict] = {}
    rank = {"model": 0, "rule": 1, "human": 2}
    for r in labels:
        if r["target_id"] not in best or rank[r["method"]] > rank[best[r["target_id"]]["method"]]:
            best[r["target_id"]] = r
    return {k: v["label"] for k, v in best.items()}


def test_seed_thread_positions_match_the_guide(seed_db: Path) -> None:
    comments = {c["id"]: c for c in export(seed_db, "comments")}
    comment_labels = _positions(seed_db, "outcome-function", "comment")
    by_author: dict[str, list[str]] = {}
    for cid, c in sorted(comments.items(), key=lambda kv: kv[1]["position"]):
        if cid in comment_labels and c["author"]:
            by_author.setdefault(c["author"], []).append(comment_labels[cid])
    assert by_author["Ray Brown"] == ["outcome"]
    assert by_author["Eric Jacques"][1] == "outcome"  # "Customer experience is an outcome."
    assert by_author["Tim Sanchez"] == ["both"]
    assert by_author["Kancha"][0] == "both"  # "I agree with Tim", inheriting Tim's position
    documents = {d["title"]: d["id"] for d in export(seed_db, "documents")}
    doc_labels = _positions(seed_db, "outcome-function", "document")
    assert doc_labels[documents["Who’s Leading Customer Experience Efforts?"]] == "function"
    statements = {s["text"]: s["id"] for s in export(seed_db, "statements")}
    st = _positions(seed_db, "outcome-function", "statement")
    assert st[statements["Customer experience is an outcome."]] == "outcome"
    assert st[statements["However, customer experience management (CEM) may be a business "
                         "function."]] == "outcome"
    assert st[statements["Everything is a function AND an outcome."]] == "both"
    assert st[statements["I agree with Tim"]] == "both"
    own = _positions(seed_db, "ownership", "statement")
    hoffman = next(t for t in statements if t.startswith("The easy answer is to say add"))
    assert own[statements[hoffman]] == "dedicated"  # one quote, ending "…every customer contact."
    survey = next(t for t in statements if t.startswith("Just 24 percent"))
    assert own[statements[survey]] == "neither"


def test_agreement_is_recorded_with_both_ends(seed_db: Path) -> None:
    relations = {(r["kind"], r["source"], r["target"]) for r in export(seed_db, "relations")}
    assert ("agrees_with", "Kancha", "Tim Sanchez") in relations
    assert ("agrees_with", "Eric Jacques", "Ray Brown") in relations
    assert ("disagrees_with", "Eric Jacques", "Tim Sanchez") in relations
    assert ("disagrees_with", "Eric Jacques", "Kancha") in relations
    assert ("replies_to", "Kancha", "Tim Sanchez") in relations
    people = {r["person"]: r["label"] for r in export(seed_db, "person_positions")
              if r["debate"] == "outcome-function"}
    assert people["Ray Brown"] == "outcome" and people["Tim Sanchez"] == "both"
    assert people["Bruce Temkin"] == "function"


def test_human_labels_survive_model_runs_and_can_be_undone(tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run("ingest", str(BLOG), db=db)
    run("analyze", "--debate", "outcome-function", "--model", "fast", db=db)
    queue = [json.loads(line) for line in
             run("queue", "--debate", "outcome-function", "--json", "--limit", "5",
                 db=db).stdout.splitlines()]
    assert len(queue) == 5
    assert [q["margin"] for q in queue] == sorted(q["margin"] for q in queue)
    target = queue[0]["target"]
    run("label", target, "both", "--debate", "outcome-function", "--note", "reads as both",
        "--annotator", "ana", db=db)
    run("label", target, "function", "--debate", "outcome-function", db=db)
    assert target not in [json.loads(line)["target"] for line in run(
        "queue", "--debate", "outcome-function", "--json", db=db).stdout.splitlines()]
    run("classify", "--debate", "outcome-function", "--model", "accurate", db=db)
    sid = target.split(":", 1)[1]
    assert _positions(db, "outcome-function", "statement")[sid] == "function"
    human = [r for r in export(db, "labels") if r["target_id"] == sid and r["method"] == "human"]
    assert [(h["label"], h["annotator"]) for h in human] == [("function", "test-annotator")]
    history = [r for r in export(db, "label_archive") if r["target_id"] == sid
               and r["method"] == "human"]
    assert [(h["label"], h["annotator"], h["note"], h["reason"]) for h in history] == [
        ("both", "ana", "reads as both", "replaced")]
    run("unlabel", target, "--debate", "outcome-function", db=db)
    assert _positions(db, "outcome-function", "statement")[sid] == "both"
    run("unlabel", target, "--debate", "outcome-function", db=db)
    assert not [r for r in export(db, "labels") if r["target_id"] == sid
                and r["method"] == "human"]
    result = run("unlabel", target, "--debate", "outcome-function", db=db, ok=False)
    assert result.exit_code == 1 and "no human label" in result.output
    bad = run("label", "statement:nope", "both", "--debate", "outcome-function", db=db, ok=False)
    assert "no statement with id 'nope'" in bad.output
    bad = run("label", target, "maybe", "--debate", "outcome-function", db=db, ok=False)
    assert "'maybe' is not a label" in bad.output


def test_a_comment_label_changes_the_person_and_training_uses_human_labels(
        tmp_path: Path) -> None:
    db = tmp_path / "kb.db"
    run("ingest", str(BLOG), db=db)
    run("analyze", "--debate", "outcome-function", "--model", "fast", db=db)
    ray = next(c for c in export(db, "comments") if c["author"] == "Ray Brown")
    run("label", f"comment:{ray['id']}", "function", "--debate", "outcome-function", db=db)
    people = {r["person"]: r["label"] for r in export(db, "person_positions")
              if r["debate"] == "outcome-function"}
    assert people["Ray Brown"] == "function"
    statement = next(s for s in export(db, "statements") if s["text"] == "Take Apple, for example.")
    run("label", f"statement:{statement['id']}", "both", "--debate", "outcome-function", db=db)
    report = json.loads(run("train", "--debate", "outcome-function", "--model", "fast",
                            "--json", db=db).stdout)
    assert report["human_examples"] == 1
    assert report["before"]["macro_f1"] > 0 and report["after"]["macro_f1"] > 0
    assert report["change_macro_f1"] == pytest.approx(
        report["after"]["macro_f1"] - report["before"]["macro_f1"], abs=1e-3)
