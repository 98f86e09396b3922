"""Session-wide test settings: trained stance models are kept in one temporary folder,
so each debate and tier trains once per test session (as on a user's first run)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def models_dir(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("models")
    old = os.environ.get("CXKB_MODELS")
    os.environ["CXKB_MODELS"] = str(path)
    os.environ.setdefault("CXKB_ANNOTATOR", "test-annotator")
    yield path
    if old is None:
        os.environ.pop("CXKB_MODELS", None)
    else:
        os.environ["CXKB_MODELS"] = old
