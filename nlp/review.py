"""Human corrections: label any statement, comment, document or person, undo it, see
what the model is least sure about, and retrain with what people have labelled.

Target ids name their kind: ``statement:st3f…``, ``comment:c91…``, ``person:p1a…``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from kb.errors import CxkbError, NotFound
from kb.labels import parse_target, record_human_label, undo_human_label
from kb.settings import get_setting
from nlp.debate import Debate, Example
from nlp.positions import statement_context


def annotator_name(explicit: str | None = None) -> str:
    if explicit:
        return explicit
    configured = get_setting("annotator")
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def label_target(db: Database, debate: Debate, target: str, label: str, *,
                 annotator: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Record a human label; returns what it replaced (if anything)."""
    if label not in debate.label_names:
        raise CxkbError(f"{label!r} is not a label of {debate.name!r} "
                        f"({', '.join(debate.label_names)})")
    kind, ident = parse_target(db, target)
    previous = record_human_label(db, kind, ident, debate.name, label,
                                  annotator=annotator_name(annotator), note=note)
    return {"target": f"{kind}:{ident}", "label": label,
            "replaced": previous["label"] if previous else None}


def undo_label(db: Database, debate: Debate, target: str) -> dict[str, Any]:
    kind, ident = parse_target(db, target)
    undone, restored = undo_human_label(db, kind, ident, debate.name)
    if undone is None:
        raise NotFound(f"{kind}:{ident} has no human label in {debate.name!r} to undo")
    return {"target": f"{kind}:{ident}", "undone": undone["label"],
            "restored": restored["label"] if restored else None}


@dataclass
class QueueItem:
    target: str
    text: str
    label: str
    confidence: float
    margin: float
    speaker: str | None


def review_queue(db: Database, debate: Debate, limit: int = 20) -> list[QueueItem]:
    """Model-labelled statements without a human label, least certain first (smallest
    margin between the two best labels)."""
    import json

    items = []
    for r in db.query(
        """
        SELECT l.target_id, l.label, l.confidence, l.evidence, s.text, s.speaker
        FROM labels AS l JOIN statements AS s ON s.id = l.target_id
        WHERE l.target_type = 'statement' AND l.debate = ? AND l.method = 'model'
          AND l.label != 'unsupported'
          AND NOT EXISTS (SELECT 1 FROM labels AS h WHERE h.target_type = 'statement'
                          AND h.target_id = l.target_id AND h.debate = l.debate
                          AND h.method = 'human')
        """, [debate.name]):
        scores = sorted((json.loads(r["evidence"] or "{}").get("scores") or {}).values(),
                        reverse=True)
        margin = scores[0] - scores[1] if len(scores) > 1 else 1.0
        items.append(QueueItem(f"statement:{r['target_id']}", r["text"], r["label"],
                               r["confidence"] or 0.0, margin, r["speaker"]))
    items.sort(key=lambda i: (i.margin, i.confidence, i.target))
    return items[:limit]


def human_examples(db: Database, debate: Debate) -> list[Example]:
    """Statements people have labelled in this debate, as training examples."""
    out = []
    for r in db.query(
        """
        SELECT l.target_id, l.label, s.text, s.start, coalesce(c.text, d.body) AS parent
        FROM labels AS l JOIN statements AS s ON s.id = l.target_id
        LEFT JOIN comments AS c ON c.id = s.comment_id
        LEFT JOIN documents AS d ON d.id = s.document_id
        WHERE l.target_type = 'statement' AND l.debate = ? AND l.method = 'human'
        ORDER BY l.target_id
        """, [debate.name]):
        out.append(Example(id=f"human:{r['target_id']}", text=r["text"], label=r["label"],
                           context=statement_context(r["text"], r["parent"], r["start"]),
                           origin="human"))
    return out


def retrain(db: Database, debate: Debate, tier: str,
            root: str | None = None) -> dict[str, Any]:
    """Retrain a tier on the annotated corpus plus human labels; report held-out scores
    before and after (the test split is never trained on)."""
    from nlp.model_store import get_model, train_and_save

    before = get_model(debate, tier, root).meta.get("held_out") or {}
    extra = human_examples(db, debate)
    test_texts = {e.text.strip().casefold() for e in debate.examples("test")}
    extra = [e for e in extra if e.text.strip().casefold() not in test_texts]
    model = train_and_save(debate, tier, extra, root=root)
    after = model.meta.get("held_out") or {}
    return {"debate": debate.name, "tier": tier, "version": model.version,
            "human_examples": len(extra), "before": before, "after": after,
            "change_macro_f1": (round(after.get("macro_f1", 0) - before.get("macro_f1", 0), 4)
                                if before and after else None)}
