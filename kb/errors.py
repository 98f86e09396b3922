"""Small named exceptions raised by the cxkb library; the CLI turns them into one-line messages."""


class CxkbError(Exception):
    """Base class of every error cxkb reports to a person."""


class SearchError(CxkbError):
    """A full-text query the search engine cannot run (bad syntax, empty query)."""


class NotFound(CxkbError):
    """A source, document, comment or person id that is not in the knowledge base."""


class HumanLabelProtected(CxkbError):
    """An automatic writer tried to change or remove a human label."""


class UserExists(CxkbError):
    """``cxkb users add`` for a name that already has an account (without replacing it)."""


class UnknownUser(NotFound):
    """A user name that has no account."""


class BadUserName(CxkbError):
    """A user name that is empty, too long, or holds spaces or control characters."""


class WeakPassword(CxkbError):
    """A password too short (or too long) to accept for an editor."""
