"""The bundled demo corpus: the project's two seed pages, saved as plain text."""

from pathlib import Path

DEMO_CORPUS_DIR = Path(__file__).parent


def demo_paths() -> list[Path]:
    """The demo corpus files, in name order."""
    return sorted(DEMO_CORPUS_DIR.glob("*.txt"))
