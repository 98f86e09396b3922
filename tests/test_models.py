"""The analysis stack loads offline from installed packages (no hub, no downloads)."""

from __future__ import annotations

import os

import numpy as np

from nlp.models import load_embedder, load_spacy


def test_spacy_pipeline_splits_sentences_and_finds_people() -> None:
    nlp = load_spacy()
    doc = nlp("Bruce Temkin, vice president at Forrester, is not convinced. "
              "\"It may not make sense,\" Temkin says.")
    assert len(list(doc.sents)) == 2
    assert "Bruce Temkin" in [ent.text for ent in doc.ents if ent.label_ == "PERSON"]


def test_embedder_loads_offline_and_relates_similar_sentences() -> None:
    model = load_embedder()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    a, b, c = model.encode([
        "Customer experience is an outcome, not a department.",
        "CX is a result customers feel, not a team in the org chart.",
        "The quarterly revenue figures were published on Tuesday.",
    ], normalize_embeddings=True)
    assert a.shape == (384,)
    assert float(np.dot(a, b)) > float(np.dot(a, c)) + 0.2
