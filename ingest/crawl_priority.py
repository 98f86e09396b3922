"""Which queued URL the focused crawler fetches next: a link's priority, and what the crawl
learns as it goes about which links lead to on-topic pages.

A link's priority mixes three things: its **words** (anchor text, URL words and the words
around it, scored against the topic by ``Relevance.link_scores``: the prior), how
telling the **place** it was found is (a "Related articles" block says more than a
footer), and the relevance of the **page** it was found on. As pages are fetched and
judged, ``LinkLearner`` counts, for every word of the links followed and for every kind
of place, how many led on topic; once a word has been seen on a few links, its on-topic
rate is blended into the prior. So near-misses that share the topic's vocabulary
("customer data platform") sink after a few have been fetched, and the kinds of link
that keep paying (related blocks on on-topic pages) rise, on every site differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ingest.urls import url_words

VIA_WEIGHT = {"related": 1.0, "text": 0.9, "feed": 0.8, "feed-entry": 1.0, "sitemap": 0.7,
              "pagination": 0.6, "comment": 0.6, "nav": 0.5, "commenter": 0.3,
              "canonical": 1.0, "redirect": 1.0}
TRAP_AFTER = 5  # pages of one URL shape fetched with none on topic: the family is demoted
TRAP_DEMOTION = 0.25
LEARNED_SHARE = 0.3  # how much of a link's score comes from what the crawl learnt
MIN_JUDGED = 20  # pages judged before anything learnt is used
MIN_SEEN = 2  # a word counts once this many links with it have been followed
_TOKEN = re.compile(r"[a-z0-9]+")


def link_features(anchor: str | None, url: str, via: str) -> set[str]:
    """What a link is known by: the words of its anchor and URL, and where it was found."""
    words = _TOKEN.findall(f"{anchor or ''} {url_words(url)}".lower())
    return {w for w in words if len(w) > 2 and not w.isdigit()} | {f"via:{via}"}


class LinkLearner:
    """On-topic rates of link features, learnt from the pages this crawl has judged."""

    def __init__(self, strength: float = 2.0) -> None:
        self.strength = strength
        self.seen: dict[str, list[int]] = {}  # feature -> [on topic, followed]
        self.on = 0
        self.total = 0

    def observe(self, features: Iterable[str], on_topic: bool) -> None:
        self.on += on_topic
        self.total += 1
        for feature in features:
            counts = self.seen.setdefault(feature, [0, 0])
            counts[0] += on_topic
            counts[1] += 1

    def rate(self, features: Iterable[str]) -> float | None:
        """The mean smoothed on-topic rate of the known features, or None if none is."""
        if self.total < MIN_JUDGED:
            return None
        base = (self.on + 1) / (self.total + 2)
        rates = [(on + self.strength * base) / (n + self.strength)
                 for on, n in (self.seen.get(f, (0, 0)) for f in features) if n >= MIN_SEEN]
        return sum(rates) / len(rates) if rates else None


def priority(prior: float, via: str, parent_score: float | None, *,
             learned: float | None = None, trap: bool = False) -> float:
    """A queued link's priority, 0..1: its words (``prior``, blended with the ``learned``
    rate when there is one), weighted by where it was found, mixed with the relevance of
    the page it was found on; pagination continues its listing; trap families sink."""
    score = prior if learned is None else (1 - LEARNED_SHARE) * prior + LEARNED_SHARE * learned
    weighted = score * VIA_WEIGHT.get(via, 0.5)
    value = 0.6 * weighted + 0.4 * (parent_score if parent_score is not None else weighted)
    if via == "pagination" and parent_score is not None:
        value = max(value, parent_score)  # more of the same listing
    if trap:
        value *= TRAP_DEMOTION
    return round(value, 4)
