"""Scores of a stance model against gold labels: accuracy, macro-F1, per-label precision,
recall and F1, the confusion matrix and the calibration error of its confidences.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import CxkbError


@dataclass
class Evaluation:
    labels: tuple[str, ...]
    n: int
    accuracy: float
    macro_f1: float
    per_label: dict[str, dict[str, float]]
    confusion: list[list[int]]  # rows: gold, columns: predicted, in ``labels`` order
    calibration_error: float | None = None
    skipped: int = 0  # gold rows the model called unsupported

    def summary(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4),
                "macro_f1": round(self.macro_f1, 4),
                "per_label": {k: {m: round(v, 4) for m, v in d.items()}
                              for k, d in self.per_label.items()},
                "labels": list(self.labels), "confusion": self.confusion,
                "expected_calibration_error": (round(self.calibration_error, 4)
                                               if self.calibration_error is not None else None),
                "unsupported": self.skipped}

    def format(self) -> str:
        """A report for a terminal."""
        lines = [f"examples: {self.n}   accuracy: {self.accuracy:.3f}   "
                 f"macro-F1: {self.macro_f1:.3f}"
                 + (f"   calibration error: {self.calibration_error:.3f}"
                    if self.calibration_error is not None else "")]
        if self.skipped:
            lines.append(f"marked unsupported (counted wrong): {self.skipped}")
        width = max(len(label) for label in self.labels) + 2
        lines.append("")
        lines.append(f"{'label':<{width}}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
        for label in self.labels:
            d = self.per_label[label]
            lines.append(f"{label:<{width}}{d['precision']:>10.3f}{d['recall']:>8.3f}"
                         f"{d['f1']:>7.3f}{int(d['support']):>9}")
        lines.append("")
        lines.append("confusion (rows gold, columns predicted):")
        cell = max(6, width)
        lines.append(" " * width + "".join(f"{label[:cell - 1]:>{cell}}" for label in self.labels))
        for label, row in zip(self.labels, self.confusion):
            lines.append(f"{label:<{width}}" + "".join(f"{v:>{cell}}" for v in row))
        return "\n".join(lines)


def evaluate_predictions(gold: Sequence[str], predicted: Sequence[str],
                         labels: Sequence[str],
                         confidences: Sequence[float] | None = None) -> Evaluation:
    """Compare predicted labels with gold ones (a prediction outside ``labels`` is wrong)."""
    labels = tuple(labels)
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    skipped = 0
    for g, p in zip(gold, predicted):
        if p not in index:
            skipped += 1
            continue
        confusion[index[g], index[p]] += 1
    n = len(gold)
    per_label = {}
    f1s = []
    for i, label in enumerate(labels):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        support = sum(1 for g in gold if g == label)
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": float(precision), "recall": float(recall),
                            "f1": float(f1), "support": float(support)}
        if support:
            f1s.append(f1)
    correct = int(np.trace(confusion))
    ece = None
    if confidences is not None and n:
        hits = np.array([g == p for g, p in zip(gold, predicted)], dtype=float)
        conf = np.array(confidences, dtype=float)
        bins = np.minimum((conf * 10).astype(int), 9)
        ece = float(sum(abs(hits[bins == b].mean() - conf[bins == b].mean())
                        * (bins == b).sum() for b in range(10) if (bins == b).any()) / n)
    return Evaluation(labels, n, correct / n if n else 0.0,
                      float(np.mean(f1s)) if f1s else 0.0, per_label,
                      confusion.tolist(), ece, skipped)


def read_gold(path: str | Path, labels: Sequence[str], *, text_field: str = "text",
              label_field: str = "label") -> tuple[list[str], list[str], list[str | None]]:
    """Texts, gold labels and contexts of a JSONL file; a bad line names itself."""
    texts, gold, contexts = [], [], []
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise CxkbError(f"cannot read gold file {path}: {error.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row[text_field], row[label_field]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise CxkbError(f"{path}:{number}: need a JSON object with "
                                f"{text_field!r} and {label_field!r}") from None
            if label not in labels:
                raise CxkbError(f"{path}:{number}: gold label {label!r} is not one of "
                                f"{', '.join(labels)}")
            texts.append(text)
            gold.append(label)
            contexts.append(row.get("context") or None)
    if not texts:
        raise CxkbError(f"{path}: no gold examples")
    return texts, gold, contexts


def evaluate_file(model: Any, path: str | Path, **fields: str) -> Evaluation:
    """Score ``model`` on a gold JSONL file with ``text`` and ``label`` fields."""
    texts, gold, contexts = read_gold(path, model.labels, **fields)
    preds = model.predict(texts, contexts, evidence="none")
    return evaluate_predictions(gold, [p.label for p in preds], model.labels,
                                [p.confidence for p in preds])
