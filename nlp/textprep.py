"""Text as classifiers see it: HTML fragments stripped, whitespace tidied, length capped,
and a cheap check that the text is English (other languages are ``unsupported``).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from itertools import chain, repeat

import numpy as np
from scipy import sparse

MAX_CHARS = 5000  # classifiers read the first 5,000 characters of a very long text

_TAG = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>|<!--.*?-->|<[^<>]{0,2000}>",
                  re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
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


# -- fast TF-IDF ---------------------------------------------------------------------------

CACHE_WORDS = 300_000  # words whose n-gram indices a FastTfidf remembers (then starts over)


class FastTfidf:
    """The ``transform`` of a fitted scikit-learn ``TfidfVectorizer`` (word 1–2-grams with a
    token pattern, or ``char_wb`` n-grams), vectorised over a batch of texts.

    scikit-learn builds every n-gram of every text in Python; here each distinct word's
    feature columns are computed once and kept, a batch becomes a (text x word) count
    matrix, and one sparse product gives the n-gram counts. The output equals the
    vectorizer's own (same columns, same TF-IDF weights, same L2 normalisation).
    """

    def __init__(self, vectorizer) -> None:
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = vectorizer.idf_
        self.sublinear = vectorizer.sublinear_tf
        self.norm = vectorizer.norm
        self.preprocess = vectorizer.build_preprocessor()
        self.char = vectorizer.analyzer == "char_wb"
        self.ngram_range = vectorizer.ngram_range
        if not self.char:
            if vectorizer.analyzer != "word" or vectorizer.ngram_range[0] != 1 \
                    or vectorizer.ngram_range[1] > 2 or vectorizer.stop_words is not None:
                raise ValueError("FastTfidf handles word 1-2-grams and char_wb n-grams only")
            self.token = re.compile(vectorizer.token_pattern)
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[str, int] = {}
        self._rows: list[list[int]] = []  # the vocabulary columns of each known unit
        self._matrix = None

    def _unit_columns(self, unit: str) -> list[int]:
        vocab = self.vocabulary
        if not self.char:
            col = vocab.get(unit)
            return [] if col is None else [col]
        w = " " + unit + " "
        w_len = len(w)
        cols = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            offset = 0
            grams = [w[0:n]]
            while offset + n < w_len:
                offset += 1
                grams.append(w[offset:offset + n])
            cols += [vocab[g] for g in grams if g in vocab]
            if offset == 0:
                break
        return cols

    def _unit_ids(self, units: list[str]) -> np.ndarray:
        """Ids of units (words), learning the columns of units not seen before."""
        if len(self._ids) > CACHE_WORDS:
            self._reset()
        ids = list(map(self._ids.get, units))
        if None in ids:
            for k, unit in enumerate(units):
                if ids[k] is None:
                    known = self._ids.get(unit)
                    if known is None:
                        known = self._ids[unit] = len(self._rows)
                        self._rows.append(self._unit_columns(unit))
                        self._matrix = None
                    ids[k] = known
        return np.fromiter(ids, dtype=np.int64, count=len(ids))

    def _unit_matrix(self) -> sparse.csr_matrix:
        if self._matrix is None or self._matrix.shape[0] != len(self._rows):
            lengths = np.fromiter(map(len, self._rows), dtype=np.int64, count=len(self._rows))
            cols = np.fromiter(chain.from_iterable(self._rows), dtype=np.int64,
                               count=int(lengths.sum()))
            indptr = np.concatenate([[0], np.cumsum(lengths)])
            self._matrix = sparse.csr_matrix(
                (np.ones(len(cols)), cols, indptr), shape=(len(self._rows), len(self.vocabulary)))
        return self._matrix

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts``, exactly as ``vectorizer.transform(texts)``."""
        n = len(texts)
        joined = "\n".join(texts)
        if self.preprocess is for_features and joined.count("\n") == n - 1 and n:
            docs = for_features(joined).split("\n")  # one pass over the batch, in C
        else:
            docs = list(map(self.preprocess, texts))
        split = str.split if self.char else self.token.findall
        per_doc = list(map(split, docs))
        lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=n)
        units = list(chain.from_iterable(per_doc))
        doc_of = np.repeat(np.arange(n), lengths)
        if self.char:
            ids = self._unit_ids(units)
            counts = sparse.csr_matrix((np.ones(len(ids)), (doc_of, ids)),
                                       shape=(n, len(self._rows))) @ self._unit_matrix()
        else:
            rows, cols = self._word_columns(units, doc_of)
            counts = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)),
                                       shape=(n, len(self.vocabulary)))
        counts = sparse.csr_matrix(counts)
        counts.sum_duplicates()  # sorts the columns of each row: the same sums everywhere
        counts.sort_indices()
        if self.sublinear:
            np.log(counts.data, counts.data)
            counts.data += 1.0
        counts.data *= self.idf[counts.indices]
        if self.norm == "l2":
            lengths = np.diff(counts.indptr)
            filled = lengths > 0
            norms = np.ones(n)
            if counts.nnz:
                norms[filled] = np.sqrt(np.add.reduceat(counts.data ** 2,
                                                        counts.indptr[:-1][filled]))
            counts.data /= np.repeat(norms, lengths)
        elif self.norm is not None:
            raise ValueError(f"FastTfidf handles l2 normalisation only, not {self.norm!r}")
        return counts

    def _word_tables(self) -> None:
        """Token ids, each token's unigram column and the sorted (token, token) keys of the
        bigram columns."""
        tokens: dict[str, int] = {}
        pairs = []
        for term, col in self.vocabulary.items():
            words = term.split(" ")
            for w in words:
                tokens.setdefault(w, len(tokens))
            if len(words) == 2:
                pairs.append((tokens[words[0]], tokens[words[1]], col))
        size = len(tokens) + 1  # the last id stands for every unknown token
        unigram = np.full(size, -1, dtype=np.int64)
        for w, i in tokens.items():
            unigram[i] = self.vocabulary.get(w, -1)
        keys = np.array([a * size + b for a, b, _ in pairs], dtype=np.int64)
        cols = np.array([c for _, _, c in pairs], dtype=np.int64)
        order = np.argsort(keys)
        self._tokens, self._size, self._unigram = tokens, size, unigram
        self._pair_keys, self._pair_cols = keys[order], cols[order]

    def _word_columns(self, units: list[str], doc_of: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "_tokens"):
            self._word_tables()
        unknown = self._size - 1
        ids = np.fromiter(map(self._tokens.get, units, repeat(unknown)), dtype=np.int64,
                          count=len(units))
        uni = self._unigram[ids]
        hit = uni >= 0
        rows, cols = [doc_of[hit]], [uni[hit]]
        if self.ngram_range[1] == 2 and len(ids) > 1 and len(self._pair_keys):
            same = (doc_of[:-1] == doc_of[1:]) & (ids[:-1] != unknown) & (ids[1:] != unknown)
            keys = ids[:-1] * self._size + ids[1:]
            at = np.minimum(np.searchsorted(self._pair_keys, keys), len(self._pair_keys) - 1)
            found = same & (self._pair_keys[at] == keys)
            rows.append(doc_of[:-1][found])
            cols.append(self._pair_cols[at[found]])
        return np.concatenate(rows), np.concatenate(cols)
