"""The fast tier's text features over a chunk of texts, each distinct word worked out once.

A chunk of cleaned texts is split on white space into *units* ("don't", "outcome,",
"“function”"). Everything the fast tier needs of a text adds up over its units, because
nothing it computes looks across white space: the character n-grams of ``char_wb``, the
word tokens of the TF-IDF token pattern after ``for_features`` (so their order too: the
word bigrams are the pairs of neighbouring tokens), the words the English check counts,
whether there is a word at all, and the cue words that must be present for a cue to match.
A ``Lexicon`` works these out once per distinct unit and keeps them in flat arrays, so a
chunk becomes one array of unit ids and every feature a few NumPy gathers and one sparse
product: no per-text Python beyond splitting.

Results never depend on which units a process has seen before (ids only index the
arrays, and each text's features are built in the order of its own units), so one worker,
many workers and a cluster compute the same numbers, whatever their chunks.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from itertools import chain, compress, repeat
from operator import is_
from typing import Any

import numpy as np
from scipy import sparse

from nlp.cues import is_plain
from nlp.textprep import _OTHER_ONLY, _WORD, ENGLISH, for_features, is_english

CACHE_WORDS = 300_000  # distinct units a lexicon remembers (then it starts over)
_WORD_CHARS = re.compile(r"\w+")
_MARK = "\x00"  # stands between texts when a chunk is split in one go
_BETWEEN = " " + _MARK + " "


class _Ragged:
    """A growing list of int lists (one per unit id), stored flat."""

    def __init__(self) -> None:
        self.n = 0
        self.ptr = np.zeros(1024, dtype=np.int64)
        self.data = np.zeros(4096, dtype=np.int32)

    def append(self, lists: list[list[int]]) -> None:
        lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        self.append_flat(np.fromiter(chain.from_iterable(lists), dtype=np.int32,
                                     count=int(lengths.sum())), lengths)

    def append_flat(self, flat: np.ndarray, lengths: np.ndarray) -> None:
        """Append lists given end to end, with the length of each."""
        k = len(lengths)
        total = len(flat)
        start = int(self.ptr[self.n])
        if self.n + k + 1 > len(self.ptr):
            self.ptr = np.resize(self.ptr, max(2 * len(self.ptr), self.n + k + 1))
        if start + total > len(self.data):
            self.data = np.resize(self.data, max(2 * len(self.data), start + total))
        self.ptr[self.n + 1:self.n + k + 1] = start + np.cumsum(lengths)
        self.data[start:start + total] = flat
        self.n += k

    def gather(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lists of ``ids`` end to end, and the length of each."""
        starts = self.ptr[ids]
        lengths = self.ptr[ids + 1] - starts
        return self.data[_ranges(starts, lengths)], lengths


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorised."""
    total = int(lengths.sum())
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(total)


class FastTfidf:
    """What ``transform`` needs of a fitted scikit-learn ``TfidfVectorizer`` with the
    ``for_features`` preprocessor: word 1–2-grams of a ``\\w``-token pattern, or ``char_wb``
    n-grams. The rows it gives equal the vectorizer's own (same columns, same TF-IDF
    weights, same L2 normalisation), up to the order in which floating-point sums are
    taken."""

    def __init__(self, vectorizer: Any) -> None:
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.sublinear = vectorizer.sublinear_tf
        self.norm = vectorizer.norm
        self.char = vectorizer.analyzer == "char_wb"
        self.ngram_range = tuple(vectorizer.ngram_range)
        if vectorizer.build_preprocessor() is not for_features:
            raise ValueError("FastTfidf handles the for_features preprocessor only")
        if self.norm not in ("l2", None):
            raise ValueError(f"FastTfidf handles l2 normalisation only, not {self.norm!r}")
        if not self.char:
            if vectorizer.analyzer != "word" or self.ngram_range[0] != 1 \
                    or self.ngram_range[1] > 2 or vectorizer.stop_words is not None:
                raise ValueError("FastTfidf handles word 1-2-grams and char_wb n-grams only")
            self.token = re.compile(vectorizer.token_pattern)
            self._word_tables()
        self._lexicon: Lexicon | None = None

    def __len__(self) -> int:
        return len(self.vocabulary)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts`` (as ``vectorizer.transform(texts)``)."""
        if self._lexicon is None:
            self._lexicon = Lexicon(word=None if self.char else self,
                                    char=self if self.char else None, checks=False)
        units = self._lexicon.split(list(texts))
        return units.char_tfidf() if self.char else units.word_tfidf()

    # -- character n-grams -------------------------------------------------------------
    def grams(self, piece: str) -> list[str]:
        """The n-grams of one white-space-free piece, as ``char_wb`` makes them: of the
        piece between two spaces, and only once the whole of it when it is no longer
        than n."""
        w = " " + piece + " "
        size = len(w)
        out: list[str] = []
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            if size <= n:
                out.append(w)
                break
            out += [w[i:i + n] for i in range(size - n + 1)]
        return out

    def char_columns(self, units: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The columns of the n-grams of each unit's pieces (repeats kept), end to end,
        and how many each unit has."""
        grams = [[g for piece in pieces for g in self.grams(piece)] for pieces in units]
        counts = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        cols = np.fromiter(map(self.vocabulary.get, chain.from_iterable(grams), repeat(-1)),
                           dtype=np.int64, count=int(counts.sum()))
        known = cols >= 0
        lengths = np.bincount(np.repeat(np.arange(len(units)), counts)[known],
                              minlength=len(units))
        return cols[known].astype(np.int32), lengths

    # -- word 1-2-grams ----------------------------------------------------------------
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
        self.tokens, self.unknown, self._unigram = tokens, size - 1, unigram
        self._size = size
        self._pairs = _IntTable(keys, cols) if len(pairs) else None

    def word_counts(self, ids: np.ndarray, doc_of: np.ndarray, n: int) -> sparse.csr_matrix:
        """Unigram and bigram counts of token ids (``doc_of``: the text of each token, in
        order), each text's columns in the order its n-grams first occur."""
        uni = self._unigram[ids]
        # slot 2i: the unigram at token i; slot 2i+1: the bigram of tokens i and i+1
        cols = np.full(2 * len(ids), -1, dtype=np.int64)
        cols[0::2] = uni
        if self.ngram_range[1] == 2 and len(ids) > 1 and self._pairs is not None:
            unknown = self.unknown
            same = (doc_of[:-1] == doc_of[1:]) & (ids[:-1] != unknown) & (ids[1:] != unknown)
            cols[1:-1:2] = np.where(same, self._pairs.get(ids[:-1] * self._size + ids[1:]), -1)
        keep = cols >= 0
        per_doc = np.bincount(np.repeat(doc_of, 2)[keep], minlength=n)
        return _aggregate(cols[keep], per_doc, len(self.vocabulary))

    # -- weights -------------------------------------------------------------------------
    def weigh(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Counts to TF-IDF weights, rows L2-normalised, in place."""
        data = counts.data
        if self.sublinear:
            np.log(data, data)
            data += 1.0
        data *= self.idf[counts.indices]
        if self.norm == "l2" and counts.nnz:
            lengths = np.diff(counts.indptr)
            filled = lengths > 0
            norms = np.ones(counts.shape[0])
            norms[filled] = np.sqrt(np.add.reduceat(data * data, counts.indptr[:-1][filled]))
            data /= np.repeat(norms, lengths)
        return counts


class _IntTable:
    """A hash table from distinct non-negative int64 keys to int64 values, looked up for
    many keys at once (-1 for a key it lacks): open addressing with linear probing, a
    quarter full, so a lookup is one or two gathers where a binary search over the sorted
    keys (the bigram columns of a word vocabulary) took a dozen dependent ones."""

    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: 2**64 / golden ratio

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self._bits = max(4, (4 * len(keys)).bit_length())
        self._mask = (1 << self._bits) - 1
        self._keys = np.full(self._mask + 1, -1, dtype=np.int64)
        self._values = np.full(self._mask + 1, -1, dtype=np.int64)
        home = self._home(keys)
        pending = np.arange(len(keys))
        self._longest = 0  # the most slots a key sits past its home slot
        step = 0
        while len(pending):  # each round, every free slot asked for goes to one key
            slot = (home[pending] + step) & self._mask
            free = self._keys[slot] == -1
            taken, first = np.unique(slot[free], return_index=True)
            winners = pending[free][first]
            self._keys[taken], self._values[taken] = keys[winners], values[winners]
            self._longest = step
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            step += 1

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * self._MULTIPLIER)
                >> np.uint64(64 - self._bits)).astype(np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        out = np.full(len(keys), -1, dtype=np.int64)
        home = self._home(keys)
        todo = np.arange(len(keys))
        for step in range(self._longest + 1):
            slot = (home[todo] + step) & self._mask
            held = self._keys[slot]
            hit = held == keys[todo]
            out[todo[hit]] = self._values[slot[hit]]
            todo = todo[~hit & (held != -1)]  # an empty slot: the key is not there
            if not len(todo):
                break
        return out


def _aggregate(cols: np.ndarray, per_doc: np.ndarray, width: int) -> sparse.csr_matrix:
    """Rows of counts from each row's columns with repeats (rows given end to end): the
    sum of repeats without sorting, each row's columns in the order they first occur
    last-first (a product with the identity does this in one pass, in C)."""
    n = len(per_doc)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_doc, out=indptr[1:])
    raw = sparse.csr_matrix((np.ones(len(cols)), cols, indptr), shape=(n, width))
    return sparse.identity(n, format="csr") @ raw


def _flat_lengths(lists: list[list[Any]], convert: Any) -> tuple[np.ndarray, np.ndarray]:
    """Lists end to end (each item converted, ``convert`` taking them all at once) and the
    length of each."""
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(convert(chain.from_iterable(lists)), dtype=np.int32,
                       count=int(lengths.sum()))
    return flat, lengths


class Lexicon:
    """What each distinct unit (white-space-free piece of cleaned text) brings to the fast
    tier, worked out once: see the module docstring. ``word``/``char`` are the TF-IDF
    blocks to compute (or None), ``checks`` whether to count the words of the English and
    has-words checks, and ``cue_words`` the words whose presence the cue matcher's filter
    asks about."""

    def __init__(self, word: FastTfidf | None = None, char: FastTfidf | None = None,
                 checks: bool = True, cue_words: Sequence[str] = ()) -> None:
        self.word, self.char, self.checks = word, char, checks
        self.cue_words = {w: i for i, w in enumerate(cue_words)}
        self._lock = threading.Lock()
        # plain words are looked up among a piece's runs of word characters, others found
        # in it as text (see cues.required_words)
        self._plain_cue_words = {w: i for w, i in self.cue_words.items() if is_plain(w)}
        self._other_cue_words = [(w, i) for w, i in self.cue_words.items() if not is_plain(w)]
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[str, int] = {_MARK: -1}
        self._n = 0  # units worked out
        self._mark_id: int | None = None  # the row of the mark as a unit of a text
        self._char = _Ragged()
        self._tokens = _Ragged()
        self._cues = _Ragged()
        self._counts = np.zeros((1024, 4), dtype=np.int32)  # words, English, other, letters

    def _learn(self, units: list[str], register: bool = True) -> int:
        """Work out new units (appended in order: their ids follow the known ones); the
        id of the first."""
        base = self._n
        self._n += len(units)
        if register:
            for k, unit in enumerate(units):
                self._ids[unit] = base + k
        k = len(units)
        featured = list(map(for_features, units))
        if self.char is not None:
            self._char.append_flat(*self.char.char_columns(list(map(str.split, featured))))
        if self.word is not None:
            self._tokens.append_flat(*_flat_lengths(
                list(map(self.word.token.findall, featured)),
                lambda flat: map(self.word.tokens.get, flat, repeat(self.word.unknown))))
        lowers = [u.lower().replace("’", "'") for u in units]
        if self.checks:
            if base + k > len(self._counts):
                self._counts = np.resize(self._counts, (max(2 * len(self._counts), base + k), 4))
            words = list(map(_WORD.findall, lowers))
            flat = list(chain.from_iterable(words))
            owner = np.repeat(np.arange(k), np.fromiter(map(len, words), dtype=np.int64,
                                                        count=k))
            for column, vocabulary in ((1, ENGLISH), (2, _OTHER_ONLY)):
                hits = np.fromiter(map(vocabulary.__contains__, flat), dtype=bool,
                                   count=len(flat))
                self._counts[base:base + k, column] = np.bincount(owner[hits], minlength=k)
            self._counts[base:base + k, 0] = np.bincount(owner, minlength=k)
            self._counts[base:base + k, 3] = np.fromiter(map(bool, map(_WORD.search, units)),
                                                         dtype=bool, count=k)
        if self.cue_words:
            known = self._plain_cue_words
            found = []
            for lower in lowers:
                here = {i for w, i in self._other_cue_words if w in lower}
                for w in _WORD_CHARS.findall(lower):
                    if w in known:
                        here.add(known[w])
                    # a cue word just before "n't" ("ca" in "can't") ends its \w run in "n"
                    if w[-1:] == "n" and w[:-1] in known:
                        here.add(known[w[:-1]])
                found.append(sorted(here))
            self._cues.append(found)
        return base

    def split(self, texts: list[str]) -> Units:
        """The units of texts (one thread at a time: new units are learnt here)."""
        with self._lock:
            return self._split(texts)

    def _split(self, texts: list[str]) -> Units:
        n = len(texts)
        joined = _BETWEEN.join(texts)
        if joined.count(_MARK) == n - 1:
            # one list of units, texts parted by a mark the lexicon knows as id -1
            units = joined.split()
            lengths = None
        else:  # a text holds the mark itself
            per_doc = list(map(str.split, texts))
            lengths = np.fromiter(map(len, per_doc), dtype=np.int64, count=n)
            units = list(chain.from_iterable(per_doc))
        if len(self._ids) > CACHE_WORDS:
            self._reset()
        ids = list(map(self._ids.get, units))
        if None in ids:
            self._learn(list(dict.fromkeys(compress(units, map(is_, ids, repeat(None))))))
            ids = list(map(self._ids.__getitem__, units))
        if lengths is not None and -1 in ids:  # the mark as a unit of a text
            if self._mark_id is None:
                self._mark_id = self._learn([_MARK], register=False)
            ids = [self._mark_id if i == -1 else i for i in ids]
        ids = np.fromiter(ids, dtype=np.int64, count=len(ids))
        if lengths is None:
            marks = np.flatnonzero(ids < 0)
            lengths = np.diff(np.concatenate([[-1], marks, [len(ids)]])) - 1 if n else \
                np.zeros(0, dtype=np.int64)
            ids = ids[ids >= 0]
        return Units(self, ids, lengths)


class Units:
    """A chunk of texts as unit ids (``ids``, text after text; ``lengths`` per text)."""

    def __init__(self, lexicon: Lexicon, ids: np.ndarray, lengths: np.ndarray,
                 tables: tuple | None = None) -> None:
        self.lexicon, self.ids, self.lengths = lexicon, ids, lengths
        # the tables as they are now: a lexicon that starts over replaces them
        self._tables = tables or (lexicon._char, lexicon._tokens, lexicon._cues,
                                  lexicon._counts)
        self._char, self._tokens, self._cues, self._counts = self._tables
        self.n = len(lengths)
        self.doc_of = np.repeat(np.arange(self.n), lengths)

    def take(self, rows: np.ndarray) -> Units:
        """The units of some of the texts, in the order of ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        lengths = self.lengths[rows]
        return Units(self.lexicon, self.ids[_ranges(starts[rows], lengths)], lengths,
                     self._tables)

    def _sums(self, column: int) -> np.ndarray:
        return np.bincount(self.doc_of, weights=self._counts[self.ids, column],
                           minlength=self.n)

    def has_words(self) -> np.ndarray:
        """Per text: whether it has a word (``textprep.has_words``)."""
        return self._sums(3) > 0

    def english(self, texts: list[str]) -> np.ndarray:
        """Per text: ``textprep.is_english`` (texts with letters outside ASCII are checked
        one by one, for their script)."""
        words, eng, other = self._sums(0), self._sums(1), self._sums(2)
        out = (words < 4) | (other < 2) | ~(other > 1.5 * eng)
        if not "".join(texts).isascii():
            for i, text in enumerate(texts):
                if not text.isascii():
                    out[i] = is_english(text)
        return out

    def char_tfidf(self) -> sparse.csr_matrix:
        char = self.lexicon.char
        cols, lengths = self._char.gather(self.ids)
        per_doc = np.bincount(self.doc_of, weights=lengths, minlength=self.n).astype(np.int64)
        return char.weigh(_aggregate(cols, per_doc, len(char)))

    def word_tfidf(self) -> sparse.csr_matrix:
        word = self.lexicon.word
        tokens, lengths = self._tokens.gather(self.ids)
        counts = word.word_counts(tokens.astype(np.int64), np.repeat(self.doc_of, lengths),
                                  self.n)
        return word.weigh(counts)

    def cue_words(self) -> np.ndarray:
        """Per text and cue word: whether the text holds the word (a bool matrix)."""
        found, lengths = self._cues.gather(self.ids)
        out = np.zeros((self.n, max(1, len(self.lexicon.cue_words))), dtype=bool)
        out[np.repeat(self.doc_of, lengths), found] = True
        return out
