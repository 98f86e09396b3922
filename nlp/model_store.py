"""Saving and loading stance models, with a ``meta.json`` that says what they are.

A model lives in ``<models_dir>/<debate>/<tier>/``: ``model.pkl`` and ``meta.json``
(versions of Python and the libraries, the hash of the data it learnt from, held-out
metrics, training time). Loading refuses a model whose scikit-learn or NumPy version
differs from the installed one, or that learnt from an older version of the debate; the
default models are then retrained from the shipped corpus, saying so. Writes go to a
temporary folder that is renamed into place, so a crash never leaves half a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import platform
import shutil
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from kb.errors import CxkbError
from kb.settings import get_setting
from nlp.debate import Debate, Example
from nlp.stance import StanceModel, train

log = logging.getLogger(__name__)

# What a saved model is; a model of another format is retrained, never misread.
# 2: saved light (arrays, no scikit-learn objects) for a fast start.
# 3: character 3-5-grams (were 2-5-grams) in both tiers' sparse features.
# 4: a plain pickle (model.pkl) rather than joblib's (model.joblib): a twentieth of the
#    time to load. Format 3 holds the same objects: it is converted on first load.
FORMAT = 4
MODEL_FILE = "model.pkl"
# a model is only loaded by the same minor versions of the libraries that pickled it
PINNED = ("scikit-learn", "numpy", "scipy")


class ModelIncompatible(CxkbError):
    """A saved model cannot be used with this installation or this debate."""


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "format": str(FORMAT)}
    for name in PINNED + ("spacy", "sentence-transformers", "cxkb"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def models_dir(override: str | Path | None = None) -> Path:
    return Path(override or get_setting("models_dir")).expanduser()


def model_path(debate: str, tier: str, root: str | Path | None = None) -> Path:
    return models_dir(root) / debate / tier


def data_hash(debate: Debate, examples: Sequence[Example]) -> str:
    """What a model learnt from: the debate file, its corpus and any extra examples."""
    digest = hashlib.sha256(debate.fingerprint().encode())
    for e in examples:
        digest.update(json.dumps([e.text, e.label, e.context]).encode())
    return digest.hexdigest()[:16]


def save_model(model: StanceModel, path: Path) -> None:
    """Write the model and its meta.json atomically into ``path``."""
    _write(path, model.light(), model.meta)


def _write(path: Path, light: StanceModel, meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        with open(staging / MODEL_FILE, "wb") as handle:
            pickle.dump(light, handle, protocol=5)
        (staging / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        old = path.with_name(path.name + ".old")
        if path.exists():
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
        os.replace(staging, path)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def read_meta(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def check_compatible(meta: dict[str, Any], debate: Debate) -> None:
    """Raise ``ModelIncompatible`` saying why a saved model cannot be used."""
    saved = meta.get("versions", {})
    here = versions()
    if str(saved.get("format")) != str(FORMAT):
        raise ModelIncompatible(f"model format {saved.get('format')} is not {FORMAT}")
    for name in PINNED:
        if saved.get(name, "").split(".")[:2] != here[name].split(".")[:2]:
            raise ModelIncompatible(f"model was saved with {name} {saved.get(name)}, "
                                    f"this installation has {here[name]}")
    if meta.get("labels") != list(debate.label_names):
        raise ModelIncompatible(f"model labels {meta.get('labels')} differ from debate "
                                f"{debate.name!r} labels {list(debate.label_names)}")
    if meta.get("debate_fingerprint") != debate.fingerprint():
        raise ModelIncompatible(f"debate {debate.name!r} or its corpus changed since the "
                                f"model was trained")


def load_model(debate: Debate, tier: str, root: str | Path | None = None) -> StanceModel:
    """Load a saved model after checking it suits this installation and debate."""
    path = model_path(debate.name, tier, root)
    meta = read_meta(path)
    if meta is not None and str(meta.get("versions", {}).get("format")) == "3" \
            and (path / "model.joblib").exists():
        meta = _convert_format_3(path, meta, debate)
    if meta is None or not (path / MODEL_FILE).exists():
        raise ModelIncompatible(f"no {tier} model for {debate.name!r} in {path}")
    check_compatible(meta, debate)
    with open(path / MODEL_FILE, "rb") as handle:
        model = pickle.load(handle)
    model.attach(debate)
    model.meta = meta
    return model


def _convert_format_3(path: Path, meta: dict[str, Any], debate: Debate) -> dict[str, Any]:
    """Rewrite a usable format-3 model (joblib) as format 4: the same objects pickled."""
    meta = {**meta, "versions": {**meta.get("versions", {}), "format": str(FORMAT)}}
    check_compatible(meta, debate)  # otherwise it is retrained, as any stale model
    import joblib

    log.info("converting the saved %s model of %r to model format %s", meta.get("tier"),
             debate.name, FORMAT)
    _write(path, joblib.load(path / "model.joblib"), meta)
    return meta


def train_and_save(debate: Debate, tier: str, extra: Sequence[Example] = (),
                   root: str | Path | None = None,
                   extra_meta: dict[str, Any] | None = None) -> StanceModel:
    """Train on the debate's training split plus ``extra`` examples and save the model."""
    examples = debate.examples("train") + list(extra)
    digest = data_hash(debate, examples)
    model = train(debate, tier, examples, extra_meta={
        "version": f"{debate.name}-{tier}-{digest[:10]}", "data_hash": digest,
        "debate_fingerprint": debate.fingerprint(), "n_extra": len(extra),
        "versions": versions(), **(extra_meta or {}),
    })
    save_model(model, model_path(debate.name, tier, root))
    return model


_CACHE: dict[tuple[str, str, str], StanceModel] = {}


def get_model(debate: Debate, tier: str = "fast",
              root: str | Path | None = None) -> StanceModel:
    """The current model for a debate and tier: loaded if saved and compatible, else
    trained from the shipped corpus now (logged, since it takes a while)."""
    path = model_path(debate.name, tier, root)
    cached = _CACHE.get(_cache_key(debate, tier, path))
    if cached is not None:
        return cached
    try:
        model = load_model(debate, tier, root)
    except ModelIncompatible as why:
        log.warning("%s; training the %s model for %r from its annotated corpus "
                    "(first use: this takes a moment)", why, tier, debate.name)
        model = train_and_save(debate, tier, root=root)
    _CACHE[_cache_key(debate, tier, path)] = model
    return model


def _cache_key(debate: Debate, tier: str, path: Path) -> tuple:
    """A loaded model stays valid while its meta.json and the debate are unchanged."""
    meta = path / "meta.json"
    stamp = meta.stat().st_mtime_ns if meta.exists() else None
    return (debate.name, tier, str(path), stamp, debate.fingerprint())
