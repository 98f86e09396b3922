"""cxkb's knowledge base: SQLite schema and migrations, records, storage, search, export,
the CLI (``kb.cli``) and the web UI (``kb.web``).
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
