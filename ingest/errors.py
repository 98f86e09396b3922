"""Named errors for sources that cannot be read or parsed; each says what and why."""

from kb.errors import CxkbError


class IngestError(CxkbError):
    """A source could not be ingested; the message says why (the caller adds where)."""


class DecodeError(IngestError):
    """The bytes are empty, binary, too large or in an encoding that cannot be recognised."""


class ExtractionError(IngestError):
    """The text was read but holds no recognisable article (no title or no body)."""
