"""Named errors for sources that cannot be read or parsed; each says what and why."""

from kb.errors import CxkbError


class IngestError(CxkbError):
    """A source could not be ingested; the message says why (the caller adds where)."""


class DecodeError(IngestError):
    """The bytes are empty, binary, too large or in an encoding that cannot be recognised."""


class ExtractionError(IngestError):
    """The text was read but holds no recognisable article (no title or no body)."""


class UnsafeURLError(IngestError):
    """A URL the network guard refuses: not http(s), credentials, or a non-public address."""


class FetchError(IngestError):
    """A URL could not be fetched; the message names the URL and says why in one line.

    ``status`` is the HTTP status when the server answered with an error, else None.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RobotsDisallowed(FetchError):
    """The site's robots.txt does not allow cxkb to fetch this URL."""


class FetchBlocked(FetchError, UnsafeURLError):
    """The network guard refused a URL during a fetch (the first URL or a redirect hop)."""


class UnresolvableHostError(UnsafeURLError):
    """The URL's host name does not resolve (a DNS failure rather than a refusal)."""


class RequestBudgetSpent(Exception):
    """A crawl's request budget is used up. Deliberately not an ``IngestError``: it must
    stop the crawl, not be noted as one more failed request."""
