"""Text as classifiers see it: HTML fragments stripped, whitespace tidied, length capped,
and a cheap check that the text is English (other languages are ``unsupported``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence

MAX_CHARS = 5000  # classifiers read the first 5,000 characters of a very long text

_TAG = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>|<!--.*?-->|<[^<>]{0,2000}>",
                  re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_SPACES = re.compile(" {2,}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)

ENGLISH = frozenset(["the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were", "be", "been", "it", "this", "that", "these", "those", "i", "you", "he", "she", "we", "they", "my", "your", "our", "their", "not", "no", "do", "does", "did", "have", "has", "had", "can", "could", "should", "would", "will", "as", "at", "by", "from", "so", "if", "than", "then", "there", "what", "who", "which", "how", "why", "when", "all", "any", "more", "most", "some", "just", "about", "into", "out", "up", "very", "own", "its", "it's", "don't", "isn't"])
# frequent words of languages a CX debate also happens in; enough to tell them apart
OTHER = frozenset(["le", "la", "les", "des", "du", "un", "une", "et", "est", "pas", "que", "qui", "dans", "pour", "sur", "avec", "ce", "cette", "sont", "être", "nous", "vous", "der", "die", "das", "und", "ist", "nicht", "ein", "eine", "mit", "für", "auf", "den", "dem", "sich", "auch", "wir", "ihr", "sie", "el", "los", "las", "y", "es", "en", "por", "con", "para", "una", "del", "que", "se", "lo", "como", "más", "pero", "sus", "o", "il", "di", "che", "è", "per", "non", "una", "sono", "della", "gli", "het", "een", "van", "en", "niet", "dat", "zijn", "voor", "met", "ook", "op"])
# scripts other than Latin: Cyrillic, Greek, Arabic, Hebrew, Devanagari, CJK, Hangul, Thai
_NON_LATIN = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0900-\u097f"
                        r"\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def clean_text(text: str | None) -> str:
    """The text with HTML tags and entities removed, whitespace collapsed, capped in length."""
    if not text:
        return ""
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = unicodedata.normalize("NFC", text)
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS]


def clean_texts(texts: Sequence[str | None]) -> list[str]:
    """``[clean_text(t) for t in texts]``, done over the whole batch at once for the texts
    that need no more than single spaces (no markup, no entities, NFC, and no white space
    but the plain space: every other white-space character is unprintable)."""
    texts = [t or "" for t in texts]
    everything = "".join(texts)
    if ("<" in everything or "&" in everything or not everything.isprintable()
            or not unicodedata.is_normalized("NFC", everything)):
        texts = [clean_text(t) if ("<" in t and ">" in t) or "&" in t or not t.isprintable()
                 or not unicodedata.is_normalized("NFC", t) else t for t in texts]
    joined = "\n".join(texts)  # no text holds a newline now: it is unprintable
    if "  " in joined:
        joined = _SPACES.sub(" ", joined)
    out = joined.replace("\n ", "\n").replace(" \n", "\n").strip(" ").split("\n")
    if not texts:
        return []
    if max(map(len, out)) > MAX_CHARS:
        out = [t[:MAX_CHARS] for t in out]
    return out


def has_words(text: str) -> bool:
    """Whether the text has at least one word (not only emoji, digits or punctuation)."""
    return bool(_WORD.search(text))


_OTHER_ONLY = OTHER - ENGLISH


def is_english(text: str) -> bool:
    """False when the text is plainly in another language; short or unsure texts pass."""
    if not text.isascii():  # ASCII text has no letters of another script
        letters = sum(map(str.isalpha, text))
        if not letters:
            return True
        if len(_NON_LATIN.findall(text)) / letters > 0.3:
            return False
    words = _WORD.findall(text.lower().replace("’", "'"))
    if len(words) < 4:
        return True
    other = sum(map(_OTHER_ONLY.__contains__, words))
    if other < 2:
        return True
    english = sum(map(ENGLISH.__contains__, words))
    return not other > 1.5 * english


_NOT = re.compile(r"n't\b")


def for_features(text: str) -> str:
    """Lower-case text with contractions spelt out, for bag-of-words features."""
    return _NOT.sub(" not", text.lower().replace("’", "'"))
