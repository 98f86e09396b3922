"""Session-wide test settings: trained stance models are kept in one temporary folder,
so each debate and tier trains once per test session (as on a user's first run)."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A ``release`` case is also ``slow``: CI's ``-m "not slow"`` leaves it out, and
    ``-m release`` (``make test-release``) runs it."""
    for item in items:
        if item.get_closest_marker("release") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


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
