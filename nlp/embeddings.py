"""Sentence embeddings cached in the knowledge base, keyed by text hash and model, so a
refit or a re-run never embeds unchanged text again."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlite_utils import Database

from kb.statements import text_hash
from nlp.models import EMBEDDER_NAME, encode

BATCH = 256


def cached_embeddings(db: Database, texts: Sequence[str], *, embedder: Any = None,
                      model_name: str = EMBEDDER_NAME,
                      progress: Callable[[str], None] | None = None) -> tuple[np.ndarray, int]:
    """Unit-length embeddings of ``texts`` (rows in order) and how many were computed now."""
    hashes = [text_hash(t) for t in texts]
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(hashes))
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        for row in db.query("SELECT text_hash, dim, vector FROM embeddings WHERE model = ?"
                            " AND text_hash IN (SELECT value FROM json_each(?))",
                            [model_name, json.dumps(chunk)]):
            found[row["text_hash"]] = np.frombuffer(row["vector"], dtype="<f4")
    missing = {h: t for h, t in zip(hashes, texts) if h not in found}
    if missing:
        items = list(missing.items())
        for start in range(0, len(items), BATCH):
            chunk = items[start:start + BATCH]
            vectors = encode([t for _, t in chunk], embedder).astype("<f4")
            with db.conn:
                db["embeddings"].insert_all(
                    ({"text_hash": h, "model": model_name, "dim": int(v.shape[0]),
                      "vector": v.tobytes()} for (h, _), v in zip(chunk, vectors)),
                    replace=True)
            for (h, _), v in zip(chunk, vectors):
                found[h] = v
            if progress:
                progress(f"embedded {min(start + BATCH, len(items))}/{len(items)} new texts")
    if not texts:
        return np.zeros((0, 384), dtype=np.float32), 0
    return np.vstack([found[h] for h in hashes]).astype(np.float32), len(missing)
