"""Stance labels in the knowledge base: classify statements, then add them up.

* ``classify_statements`` labels every statement not yet labelled by the current model
  (method ``model``, with its version, confidence and evidence). Statements that cannot
  be read alone ("However, CEM may be a business function.") are read with the sentences
  before them.
* ``aggregate_positions`` derives, in thread order: agreement statements that inherit the
  position of the person agreed with (method ``rule``), each comment's position from its
  statements, each document's from its author's own statements, each person's position
  per thread (their latest position there) and overall.

Human labels always win (see the ``effective_labels`` view) and are never written here.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from kb.db import utc_now
from kb.labels import set_label
from nlp.debate import Debate
from nlp.stance import UNSUPPORTED, StanceModel

BATCH = 256
MIN_CONFIDENCE = 0.45   # statements less sure than this do not move a comment's position
INHERIT_BELOW = 0.6     # an agreement statement less sure than this inherits a position
COMBINE_SHARE = 0.35    # two labels each with this share of the weight combine
CONTEXT_CHARS = 400
_LEANS_ON_CONTEXT = re.compile(
    r"^\W*(however|but|and|so|yet|still|that|this|which|it|yes|no|indeed|exactly|agreed|"
    r"true|though|although|also|instead|rather|then|thus|hence|therefore|otherwise)\b", re.IGNORECASE)


def needs_context(text: str) -> bool:
    """Whether a statement leans on what came before it (a connective, or very short)."""
    return bool(_LEANS_ON_CONTEXT.match(text)) or len(text.split()) < 6


def statement_context(text: str, parent_text: str, start: int) -> str | None:
    """What a statement is read with: the text before it, when it leans on it."""
    if not needs_context(text):
        return None
    return parent_text[max(0, start - CONTEXT_CHARS):start].strip() or None


def classify_statements(db: Database, debate: Debate, model: StanceModel, *,
                        progress: Callable[[str], None] | None = None) -> int:
    """Label statements the current model has not labelled yet; return how many."""
    rows = list(db.query(
        """
        SELECT s.id, s.text, s.start, coalesce(c.text, d.body) AS parent_text
        FROM statements AS s
        LEFT JOIN comments AS c ON c.id = s.comment_id
        LEFT JOIN documents AS d ON d.id = s.document_id
        WHERE NOT EXISTS (SELECT 1 FROM labels AS l WHERE l.target_type = 'statement'
                          AND l.target_id = s.id AND l.debate = ? AND l.method = 'model'
                          AND l.model_version = ?)
        ORDER BY s.rowid
        """, [debate.name, model.version]))
    for offset in range(0, len(rows), BATCH):
        batch = rows[offset:offset + BATCH]
        contexts = [statement_context(r["text"], r["parent_text"], r["start"]) for r in batch]
        predictions = model.predict([r["text"] for r in batch], contexts, evidence="cues")
        with db.conn:
            for row, p in zip(batch, predictions):
                set_label(db, "statement", row["id"], debate.name, p.label, method="model",
                          confidence=p.confidence, model_version=model.version,
                          evidence={"scores": p.scores, **p.evidence, "status": p.status})
        if progress:
            progress(f"{debate.name}: {min(offset + BATCH, len(rows))}/{len(rows)} statements "
                     f"labelled ({model.tier} model)")
    return len(rows)


def combine(weights: dict[str, float], debate: Debate) -> tuple[str, float]:
    """One position from weighted labels: the strongest non-default label, or the one
    the debate says two labels of similar strength add up to."""
    real = {k: v for k, v in weights.items() if k != debate.default_label and v > 0}
    if not real:
        return debate.default_label, 1.0 if not weights else max(0.5, min(1.0, max(
            weights.values(), default=0.5)))
    total = sum(real.values())
    shares = {k: v / total for k, v in real.items()}
    for parts, gives in debate.combine:
        if all(shares.get(p, 0) >= COMBINE_SHARE for p in parts):
            return gives, round(sum(shares[p] for p in parts) + shares.get(gives, 0), 4)
    best = max(shares, key=lambda k: (shares[k], k))
    return best, round(shares[best], 4)


def latest_model_version(db: Database, debate: str) -> str | None:
    row = db.execute("SELECT model_version FROM labels WHERE debate = ? AND method = 'model'"
                     " AND target_type = 'statement' ORDER BY updated_at DESC LIMIT 1",
                     [debate]).fetchone()
    return row[0] if row else None


def aggregate_positions(db: Database, debate: Debate,
                        model_version: str | None = None) -> dict[str, int]:
    """Derive comment, document and person positions from statement labels."""
    model_version = model_version or latest_model_version(db, debate.name)
    effective = {r["target_id"]: r for r in db.query(
        "SELECT target_id, label, confidence, method FROM effective_labels"
        " WHERE debate = ? AND target_type = 'statement'", [debate.name])}
    human_comments = {r["target_id"]: r["label"] for r in db.query(
        "SELECT target_id, label FROM labels WHERE debate = ? AND target_type = 'comment'"
        " AND method = 'human'", [debate.name])}
    agreements = defaultdict(list)
    for r in db.query("SELECT statement_id, target_person_id, target_name, evidence"
                      " FROM relations WHERE kind = 'agrees_with' AND statement_id IS NOT NULL"
                      " AND target_person_id IS NOT NULL"):
        agreements[r["statement_id"]].append(r)
    counts = {"comments": 0, "documents": 0, "inherited": 0, "person_threads": 0,
              "people": 0}
    now = utc_now()

    def weight_of(statement_id: str) -> tuple[str, float] | None:
        label = effective.get(statement_id)
        if label is None or label["label"] == UNSUPPORTED:
            return None
        confidence = 1.0 if label["method"] == "human" else (label["confidence"] or 0.0)
        if confidence < MIN_CONFIDENCE:
            return None
        return label["label"], confidence

    with db.conn:
        db.execute("DELETE FROM person_positions WHERE debate = ? AND method != 'human'",
                   [debate.name])
        db.execute("DELETE FROM labels WHERE debate = ? AND method = 'rule'"
                   " AND target_type = 'statement'", [debate.name])
        person_overall: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for doc in list(db.query("SELECT id, author_person_id FROM documents ORDER BY id")):
            thread: dict[str, tuple[str, float]] = {}  # person -> latest position here
            # the article: its author's own statements (quotes belong to their speakers)
            statements = list(db.query(
                "SELECT id, speaker_person_id, kind FROM statements WHERE document_id = ?"
                " ORDER BY start", [doc["id"]]))
            per_speaker: dict[str | None, dict[str, float]] = defaultdict(
                lambda: defaultdict(float))
            for s in statements:
                w = weight_of(s["id"])
                speaker = (doc["author_person_id"] if s["kind"] == "narration"
                           else s["speaker_person_id"])
                if w:
                    per_speaker[speaker][w[0]] += w[1]
            author_weights = per_speaker.get(doc["author_person_id"], {})
            if statements:
                label, confidence = combine(dict(author_weights), debate)
                set_label(db, "document", doc["id"], debate.name, label, method="model",
                          confidence=confidence, model_version=model_version,
                          evidence={"from_statements": dict(author_weights)})
                counts["documents"] += 1
            for speaker, weights in per_speaker.items():
                if speaker and weights:
                    thread[speaker] = combine(dict(weights), debate)
            # the comments, in reading order, so agreement can inherit earlier positions
            for c in list(db.query("SELECT id, author_person_id FROM comments"
                                   " WHERE document_id = ? ORDER BY position", [doc["id"]])):
                weights: dict[str, float] = defaultdict(float)
                sts = list(db.query("SELECT id FROM statements WHERE comment_id = ?"
                                    " ORDER BY start", [c["id"]]))
                for s in sts:
                    w = weight_of(s["id"])
                    own = effective.get(s["id"])
                    for agreement in agreements.get(s["id"], []):
                        target = thread.get(agreement["target_person_id"])
                        is_human = own is not None and own["method"] == "human"
                        unsure = (w is None or w[0] == debate.default_label
                                  or w[1] < INHERIT_BELOW)
                        if target and target[0] != debate.default_label and unsure \
                                and not is_human:
                            set_label(db, "statement", s["id"], debate.name, target[0],
                                      method="rule", confidence=0.9,
                                      model_version=model_version,
                                      evidence={"agrees_with": agreement["target_name"],
                                                "phrase": agreement["evidence"]})
                            w = (target[0], 0.9)
                            counts["inherited"] += 1
                            break
                    if w:
                        weights[w[0]] += w[1]
                if not sts:
                    continue
                label, confidence = combine(dict(weights), debate)
                set_label(db, "comment", c["id"], debate.name, label, method="model",
                          confidence=confidence, model_version=model_version,
                          evidence={"from_statements": dict(weights)})
                counts["comments"] += 1
                final = human_comments.get(c["id"], label)
                person = c["author_person_id"]
                if person and (final != debate.default_label or person not in thread):
                    thread[person] = (final, 1.0 if c["id"] in human_comments else confidence)
            for person, (label, confidence) in thread.items():
                db["person_positions"].upsert({
                    "person_id": person, "document_id": doc["id"], "debate": debate.name,
                    "label": label, "confidence": confidence, "n_items": 1, "method": "model",
                    "model_version": model_version, "evidence": None, "updated_at": now,
                }, pk=("person_id", "document_id", "debate"))
                person_overall[person][label] += confidence
                counts["person_threads"] += 1
        for person, weights in person_overall.items():
            label, confidence = combine(dict(weights), debate)
            set_label(db, "person", person, debate.name, label, method="model",
                      confidence=confidence, model_version=model_version,
                      evidence={"from_threads": dict(weights)})
            counts["people"] += 1
    return counts


def record_debate(db: Database, debate: Debate, model_version: str | None) -> None:
    """Keep the debate's question and labels in the knowledge base for the pages."""
    db["debates"].upsert({
        "name": debate.name, "question": debate.question,
        "labels": json.dumps([{"name": lab.name, "description": lab.description}
                              for lab in debate.labels]),
        "default_label": debate.default_label, "model_version": model_version,
        "analysed_at": utc_now()}, pk="name")


def analyse_debate(db: Database, debate: Debate, model: StanceModel, *,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Classify what is new for one debate, then recompute every derived position."""
    labelled = classify_statements(db, debate, model, progress=progress)
    with db.conn:
        record_debate(db, debate, model.version)
    return {"statements_labelled": labelled,
            **aggregate_positions(db, debate, model.version)}

