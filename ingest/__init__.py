"""Sources → records: reading files and stdin, decoding, and parsing pages into records.

``ingest.pipeline.ingest`` is the entry point the CLI and the web UI call.
"""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
