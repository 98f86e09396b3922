"""Dates as pages write them → ISO 8601, keeping the original text beside it.

``find_date`` says whether a short line *is* a date ("March 10, 2010 at 4:15 PM",
"Posted on 22 juin 2018 @11h13") and ``to_iso`` normalises one. Relative dates
("2 years ago") are kept as text only: their reference time is unknown.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

_MONTHS = (
    r"jan(?:uary|vier)?|feb(?:ruary)?|f[ée]v(?:rier)?|m[aä]r(?:ch|s|z)?|apr(?:il)?|avr(?:il)?"
    r"|ma[iy]|june?|juin|juil(?:let)?|july?|aug(?:ust)?|ao[uû]t|sept?(?:ember|embre)?"
    r"|oct(?:ober|obre)?|okt(?:ober)?|nov(?:ember|embre)?|d[ée]c(?:ember|embre)?|dez(?:ember)?"
    r"|januar|februar|juni|juli|mai"
)
_WEEKDAYS = (
    r"mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
    r"|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
)
_TIME = r"\d{1,2}(?::\d{2}(?::\d{2})?|h\d{2})\s*(?:[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?"
_DATE_CORE = re.compile(
    rf"""
    (?:(?:{_WEEKDAYS})\.?,?\s+)?
    (?:
        (?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}         # March 1, 2005
      | \d{{1,2}}(?:st|nd|rd|th|er)?\.?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}    # 22 juin 2018
      | \d{{4}}-\d{{2}}-\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}})?)?      # 2019-03-04
      | \d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}                            # 04-03-2019
    )
    (?:,?\s*(?:at|@|à|um|-|–|,)?\s*(?:{_TIME}))?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_HAS_TIME = re.compile(r"\d{1,2}(?::|h)\d{2}|\d\s*[ap]\.?m\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"^(?:about\s+|over\s+|almost\s+)?(?:an?|\d+)\s+(?:second|minute|hour|day|week|month|year)s?"
    r"\s+ago$|^(?:yesterday|today|just now)(?:,?\s*(?:at\s+)?\d{1,2}[:h]\d{2}\s*(?:[ap]\.?m\.?)?)?$",
    re.IGNORECASE,
)
_DATE_PREFIX = re.compile(
    r"^(?:[•·*\-–—|]\s*)?(?:posted|published|updated|last updated|written|created|date)?"
    r"\s*(?:on|:)?\s*",
    re.IGNORECASE,
)


def find_date(text: str) -> re.Match | None:
    """The first absolute date (with its time, if written) in ``text``."""
    return _DATE_CORE.search(text)


def is_relative_date(text: str) -> bool:
    """True for "2 years ago", "yesterday at 5pm" and the like."""
    return bool(_RELATIVE.match(text.strip(" •·|")))


def is_date_line(line: str) -> bool:
    """True when a line says nothing but a date (absolute or relative)."""
    stripped = _DATE_PREFIX.sub("", line.strip()).strip(" •·|")
    if is_relative_date(stripped):
        return True
    match = find_date(stripped)
    if not match:
        return False
    rest = (stripped[: match.start()] + stripped[match.end():]).strip(" ,.|•·-–—:")
    return len(rest.split()) <= 1


@lru_cache(maxsize=4096)
def to_iso(text: str) -> str | None:
    """ISO 8601 for an absolute date ("2010-03-10", or "2010-03-10T16:15:00" with a time)."""
    match = find_date(text)
    if not match:
        return None
    import dateparser  # imported here: it takes half a second to load

    written = match.group(0).strip(" ,")
    cleaned = re.sub(r"\s+(?:at|@|à|um)\s+", " ", written, flags=re.IGNORECASE)
    cleaned = re.sub(r"(\d)(?:st|nd|rd|th|er)\b", r"\1", cleaned)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = dateparser.parse(
            cleaned,
            settings={
                "RETURN_AS_TIMEZONE_AWARE": False,
                "PREFER_DAY_OF_MONTH": "first",
                "REQUIRE_PARTS": ["day", "month", "year"],
            },
        )
    if parsed is None:
        return None
    if _HAS_TIME.search(written):
        return parsed.replace(microsecond=0).isoformat()
    return parsed.date().isoformat()
