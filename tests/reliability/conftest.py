"""The reliability suite (issue 9): shared knowledge bases, and the figures at the end."""

from __future__ import annotations

import pytest
from figures import SESSION
from hostile import HostileKB, build_hostile_kb


@pytest.fixture(scope="session")
def hostile_kb(tmp_path_factory: pytest.TempPathFactory) -> HostileKB:
    """The analysed knowledge base full of payloads (read-only: copy it to write)."""
    return build_hostile_kb(tmp_path_factory.mktemp("hostile"))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if SESSION:
        terminalreporter.section("reliability figures")
        for line in SESSION:
            terminalreporter.write_line(line)
