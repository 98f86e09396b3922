"""Statement-level stance classifiers for any debate, in two tiers.

* ``fast``: TF-IDF word 1-2-grams and character 3-5-grams of the statement, word
  1-2-grams of its context when it has one, plus the debate's cue counts, into a
  logistic regression. Tens of thousands of texts a second (the TF-IDF transform and cue
  matching are vectorised over a batch); no spaCy parser, no neural network.
* ``accurate``: the same, blended with a logistic regression over all-MiniLM-L6-v2
  sentence embeddings of the statement and its context. The blend weight is chosen by
  cross-validation on the training data.

Both tiers are calibrated by temperature scaling fitted on out-of-fold predictions, so
``confidence`` is a probability one can threshold. Each prediction carries scores for
every label and evidence: the cue spans that fired, the nearest annotated examples and
(for the full evidence level) the words that weighed most.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from scipy import sparse

from nlp.cues import CueMatcher
from nlp.debate import Debate, Example
from nlp.lexicon import FastTfidf, Lexicon, Units
from nlp.models import encode
from nlp.textprep import clean_text, clean_texts, for_features

log = logging.getLogger(__name__)

TIERS = ("fast", "accurate")
EVIDENCE_LEVELS = ("none", "cues", "full")
UNSUPPORTED = "unsupported"
CONTEXT_WEIGHT = 0.5
CUE_WEIGHT = 1.0
BLENDS = (0.0, 0.25, 0.5, 0.75, 1.0)  # weight of the embedding model in the accurate tier
# The accurate tier takes the largest embedding weight whose cross-validated macro-F1 is
# within this of the best: in-distribution CV barely tells the blends apart, while on real
# statements worded unlike the corpus (the seed pages, held out) the embeddings help.
BLEND_TOLERANCE = 0.01
SEED = 13
NEIGHBOUR_BLOCK = 512  # rows whose similarities to the examples are worked out together


@dataclass
class Prediction:
    """A stance label with its calibrated confidence, every label's score and evidence.

    ``status`` is ``ok``, ``empty`` (no words: the default label at low confidence) or
    ``unsupported`` (not English: no label is guessed).
    """

    label: str
    confidence: float
    scores: dict[str, float]
    status: str = "ok"
    evidence: dict[str, Any] = field(default_factory=dict)


class _SparseFeatures:
    """TF-IDF of text and context plus cue counts: the fast tier's representation."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.word = TfidfVectorizer(preprocessor=for_features, ngram_range=(1, 2),
                                    token_pattern=r"(?u)\b\w+\b", sublinear_tf=True,
                                    min_df=1, max_features=80000)
        # 3-5-grams: as accurate as 2-5-grams on the held-out split and the seed pages
        # (a little better), with a quarter fewer features per text to compute
        self.char = TfidfVectorizer(preprocessor=for_features, analyzer="char_wb",
                                    ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                                    max_features=80000)
        self.context = TfidfVectorizer(preprocessor=for_features, ngram_range=(1, 2),
                                       token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)

    def fit(self, texts: Sequence[str], contexts: Sequence[str]) -> _SparseFeatures:
        self.word.fit(texts)
        self.char.fit(texts)
        self.context.fit([c or "" for c in contexts] + list(texts))
        self._fast = None
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_fast", None)  # rebuilt from the fitted vectorizers after loading
        state.pop("_lexicon", None)
        return state

    def _fast_transforms(self) -> tuple[FastTfidf, FastTfidf, FastTfidf]:
        if getattr(self, "_fast", None) is None:
            self._fast = (FastTfidf(self.word), FastTfidf(self.char), FastTfidf(self.context))
            self._lexicon = None
        return self._fast

    def lexicon(self, cue_words: Sequence[str] | None = None) -> Lexicon:
        """The lexicon of the word and character blocks (see ``nlp.lexicon``), telling
        ``cue_words`` apart too when given."""
        word, char, _ = self._fast_transforms()
        lexicon = getattr(self, "_lexicon", None)
        if lexicon is None or (cue_words is not None
                               and list(lexicon.cue_words) != list(cue_words)):
            lexicon = self._lexicon = Lexicon(word=word, char=char,
                                              cue_words=cue_words or ())
        return lexicon

    def transform(self, texts: Sequence[str], contexts: Sequence[str],
                  cues: np.ndarray) -> sparse.csr_matrix:
        """Word, character, context and cue features side by side (the word block first)."""
        return self.transform_with_words(texts, contexts, cues)[0]

    def transform_with_words(self, texts: Sequence[str], contexts: Sequence[str],
                             cues: np.ndarray, units: Units | None = None
                             ) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
        """The features, and their word block alone (for the nearest examples)."""
        blocks = self.blocks(texts, contexts, cues, units)
        return sparse.hstack(blocks, format="csr"), blocks[0]

    def blocks(self, texts: Sequence[str], contexts: Sequence[str], cues: np.ndarray,
               units: Units | None = None) -> list[sparse.csr_matrix]:
        """The word, character, context and cue blocks of the features, weighted;
        ``units``: the texts' units, if already split."""
        _, _, context = self._fast_transforms()
        if units is None:
            units = self.lexicon().split(list(texts))
        return [units.word_tfidf(), units.char_tfidf(),
                CONTEXT_WEIGHT * context.transform([c or "" for c in contexts]),
                sparse.csr_matrix(CUE_WEIGHT * cues)]

    @property
    def n_word(self) -> int:
        return len(self.word.vocabulary_)


class LightTfidf:
    """What prediction needs of a fitted ``TfidfVectorizer`` (no scikit-learn import to
    load it): its vocabulary, IDF weights and settings."""

    def __init__(self, vectorizer: Any) -> None:
        self.vocabulary_: dict[str, int] = dict(vectorizer.vocabulary_)
        self.idf_ = np.asarray(vectorizer.idf_)
        for name in ("sublinear_tf", "norm", "analyzer", "ngram_range", "stop_words",
                     "token_pattern", "preprocessor"):
            setattr(self, name, getattr(vectorizer, name))

    def build_preprocessor(self) -> Any:
        return self.preprocessor

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return FastTfidf(self).transform(texts)

    def get_feature_names_out(self) -> np.ndarray:
        names = np.empty(len(self.vocabulary_), dtype=object)
        for term, col in self.vocabulary_.items():
            names[col] = term
        return names


class LightLogistic:
    """What prediction needs of a fitted multinomial ``LogisticRegression``."""

    def __init__(self, clf: Any) -> None:
        self.coef_ = np.asarray(clf.coef_)
        self.intercept_ = np.asarray(clf.intercept_)
        self.classes_ = np.asarray(clf.classes_)

    def predict_proba(self, X: Any) -> np.ndarray:
        return _logistic_proba(np.asarray(X @ self.coef_.T + self.intercept_))


def _logistic_proba(scores: np.ndarray) -> np.ndarray:
    """A logistic regression's probabilities from its decision scores."""
    if scores.shape[1] == 1:  # two classes: the logistic of the one score
        p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.column_stack([1 - p, p])
    scores = scores - scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


def _embed_pairs(texts: Sequence[str], contexts: Sequence[str]) -> np.ndarray:
    """Embeddings of each text beside its context's (zeros where there is none)."""
    text_vectors = encode(texts)
    has = [i for i, c in enumerate(contexts) if c]
    context_vectors = np.zeros_like(text_vectors)
    if has:
        context_vectors[has] = encode([contexts[i] for i in has])
    return np.hstack([text_vectors, CONTEXT_WEIGHT * context_vectors])


def _logistic(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000, class_weight="balanced")


def _proba(clf: Any, X: Any, n_labels: int) -> np.ndarray:
    """Probabilities over every label of the debate, zero for labels never seen."""
    out = np.zeros((X.shape[0], n_labels))
    out[:, clf.classes_] = clf.predict_proba(X)
    return out


def _top(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest of each row, largest first, ties in column
    order: k passes of argmax (which takes the first of equals) are cheaper than a
    partition. ``sims`` is overwritten."""
    n = sims.shape[0]
    k = min(k, sims.shape[1])
    rows = np.arange(n)
    top = np.empty((n, k), dtype=np.int64)
    best = np.empty((n, k))
    for j in range(k):
        top[:, j] = sims.argmax(axis=1)
        best[:, j] = sims[rows, top[:, j]]
        sims[rows, top[:, j]] = -np.inf
    return top, best


def _softmax(logits: np.ndarray, temperature: float) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, gold: np.ndarray) -> float:
    """The temperature that minimises the log loss of out-of-fold probabilities."""
    logits = np.log(np.clip(probabilities, 1e-9, 1.0))
    best, best_loss = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), 81)):
        p = _softmax(logits, t)
        loss = -np.mean(np.log(np.clip(p[np.arange(len(gold)), gold], 1e-12, 1.0)))
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


class PredictionBatch:
    """Predictions for a batch of texts as arrays: ``status`` per row, ``best`` label index
    (-1 when unsupported), calibrated ``probs``; with evidence, the cue matches and the
    nearest examples of the rows in ``rows`` (the rows that were classified)."""

    def __init__(self, model: StanceModel, status: list[str], best: np.ndarray,
                 probs: np.ndarray, evidence: str) -> None:
        self.model, self.status, self.best, self.probs = model, status, best, probs
        self.evidence = evidence
        self.rows = np.zeros(0, dtype=np.int64)
        self.cues: list | None = None
        self.near_index: np.ndarray | None = None
        self.near_sims: np.ndarray | None = None
        self.words: list[list[str]] | None = None
        self._slot: dict[int, int] | None = None

    def __len__(self) -> int:
        return len(self.status)

    def slot(self, i: int) -> int | None:
        """Where row ``i`` sits among the classified rows (None if it was not classified)."""
        if self._slot is None:
            self._slot = {int(r): k for k, r in enumerate(self.rows)}
        return self._slot.get(i)

    def nearest(self, k: int) -> list[dict[str, Any]]:
        m = self.model
        return [{"id": m.example_ids[j], "text": m.example_texts[j],
                 "label": m.example_labels[j], "similarity": round(float(s), 3)}
                for j, s in zip(self.near_index[k].tolist(), self.near_sims[k].tolist())]

    def prediction(self, i: int) -> Prediction:
        labels = self.model.labels
        status = self.status[i]
        if status == UNSUPPORTED:
            return Prediction(UNSUPPORTED, 0.0, {}, status=status)
        p = self.probs[i]
        best = int(self.best[i])
        prediction = Prediction(labels[best], float(p[best]),
                                {label: float(p[j]) for j, label in enumerate(labels)},
                                status=status)
        k = self.slot(i)
        if k is not None and self.evidence != "none":
            prediction.evidence["cues"] = [c.as_dict() for c in self.cues[k]]
            prediction.evidence["nearest"] = self.nearest(k)
            if self.evidence == "full":
                prediction.evidence["words"] = self.words[k]
        return prediction


class StanceModel:
    """A trained classifier for one debate and one tier. Build with ``train``."""

    def __init__(self, debate: Debate, tier: str) -> None:
        if tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, not {tier!r}")
        self.debate_name = debate.name
        self.labels: tuple[str, ...] = debate.label_names
        self.default_label = debate.default_label
        self.tier = tier
        self.features = _SparseFeatures()
        self.sparse_clf: Any = None
        self.dense_clf: Any = None
        self.blend = 0.0
        self.temperature = 1.0
        self.meta: dict[str, Any] = {}
        # annotated examples, for the "nearest examples" evidence
        self.example_ids: list[str] = []
        self.example_texts: list[str] = []
        self.example_labels: list[str] = []
        self.example_vectors: Any = None
        self._cues: CueMatcher | None = None
        self._debate = debate

    # -- persistence helpers -------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cues"] = None  # spaCy matchers are rebuilt from the debate file
        state["_debate"] = None
        state.pop("_example_split", None)  # rebuilt from example_vectors
        state.pop("_coef_blocks", None)  # and from the coefficients
        state.pop("_word_names", None)  # and from the word vectorizer
        return state

    def attach(self, debate: Debate) -> None:
        """Reconnect a loaded model to its debate (for the cue patterns)."""
        self._debate = debate
        self._cues = None

    def light(self) -> StanceModel:
        """A copy for saving: the fitted scikit-learn parts replaced by their arrays, so
        loading it imports no scikit-learn and predicts the same."""
        import copy

        out = copy.copy(self)
        out._cues = None
        features = copy.copy(self.features)
        features.__dict__.pop("_fast", None)
        for name in ("word", "char", "context"):
            setattr(features, name, LightTfidf(getattr(features, name)))
        out.features = features
        out.sparse_clf = LightLogistic(self.sparse_clf) if self.sparse_clf is not None else None
        out.dense_clf = LightLogistic(self.dense_clf) if self.dense_clf is not None else None
        return out

    @property
    def cues(self) -> CueMatcher:
        if self._cues is None:
            self._cues = CueMatcher(self._debate)
        return self._cues

    def warm(self) -> StanceModel:
        """Build now what predicting builds on first use (the cue matcher with its compiled
        patterns, the fast TF-IDF transforms and their lexicon): worker processes forked
        afterwards share them instead of each building its own."""
        self.features.lexicon(self.cues.filter_words)
        return self

    @property
    def version(self) -> str:
        return self.meta.get("version", "untrained")

    # -- training ------------------------------------------------------------------
    def fit(self, examples: Sequence[Example], *, folds: int = 5) -> dict[str, Any]:
        """Fit on examples; return what was chosen by cross-validation."""
        from sklearn.model_selection import StratifiedKFold

        texts = [clean_text(e.text) for e in examples]
        contexts = [clean_text(e.context) for e in examples]
        gold = np.array([self.labels.index(e.label) for e in examples])
        cue_matches = self.cues.match(texts)
        cues = self.cues.features(cue_matches)
        dense = _embed_pairs(texts, contexts) if self.tier == "accurate" else None
        if dense is not None:
            dense = np.hstack([dense, cues])

        n_folds = max(2, min(folds, int(np.bincount(gold).min())))
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=SEED)
        oof_sparse = np.zeros((len(texts), len(self.labels)))
        oof_dense = np.zeros_like(oof_sparse)
        for train_idx, test_idx in splitter.split(texts, gold):
            feats = _SparseFeatures().fit([texts[i] for i in train_idx],
                                          [contexts[i] for i in train_idx])
            X = feats.transform(texts, contexts, cues)
            clf = _logistic(10.0).fit(X[train_idx], gold[train_idx])
            oof_sparse[test_idx] = _proba(clf, X[test_idx], len(self.labels))
            if dense is not None:
                clf = _logistic(4.0).fit(dense[train_idx], gold[train_idx])
                oof_dense[test_idx] = _proba(clf, dense[test_idx], len(self.labels))

        from sklearn.metrics import f1_score

        blends = BLENDS if dense is not None else (0.0,)
        scored = []
        for w in blends:
            p = (1 - w) * oof_sparse + w * oof_dense
            scored.append((f1_score(gold, p.argmax(1), average="macro"), w))
        best_f1 = max(f for f, _ in scored)
        self.blend = max(w for f, w in scored if f >= best_f1 - BLEND_TOLERANCE)
        blended = (1 - self.blend) * oof_sparse + self.blend * oof_dense
        self.temperature = fit_temperature(blended, gold)

        self.features.fit(texts, contexts)
        X = self.features.transform(texts, contexts, cues)
        self.sparse_clf = _logistic(10.0).fit(X, gold)
        if dense is not None:
            self.dense_clf = _logistic(4.0).fit(dense, gold)
        self.example_ids = [e.id for e in examples]
        self.example_texts = texts
        self.example_labels = [e.label for e in examples]
        self.example_vectors = (dense[:, :384] if dense is not None
                                else self.features.word.transform(texts))
        self.__dict__.pop("_example_split", None)
        self.__dict__.pop("_coef_blocks", None)
        chosen_f1 = {w: f for f, w in scored}[self.blend]
        return {"cv_macro_f1": round(float(chosen_f1), 4), "blend": self.blend,
                "temperature": round(self.temperature, 3), "folds": n_folds,
                "cv_by_blend": {str(w): round(float(f), 4) for f, w in scored}}

    # -- prediction ----------------------------------------------------------------
    def predict(self, texts: Sequence[str | None], contexts: Sequence[str | None] | None = None,
                *, evidence: str = "cues", neighbours: int = 3) -> list[Prediction]:
        """Label each text (read with its context, if given). Never raises for one bad text."""
        batch = self.predict_batch(texts, contexts, evidence=evidence, neighbours=neighbours)
        return [batch.prediction(i) for i in range(len(batch))]

    def predict_batch(self, texts: Sequence[str | None],
                      contexts: Sequence[str | None] | None = None, *,
                      evidence: str = "cues", neighbours: int = 3) -> PredictionBatch:
        """Label a batch of texts into arrays (no object per row): what ``predict`` and the
        batch file path are built on."""
        if evidence not in EVIDENCE_LEVELS:
            raise ValueError(f"evidence must be one of {EVIDENCE_LEVELS}, not {evidence!r}")
        n_labels = len(self.labels)
        contexts = list(contexts) if contexts is not None else [None] * len(texts)
        cleaned = clean_texts(texts)
        units = self.features.lexicon(self.cues.filter_words).split(cleaned)
        words_ok = units.has_words()
        english = units.english(cleaned)
        status = ["ok"] * len(cleaned)
        probs = np.full((len(cleaned), n_labels), 1.0 / n_labels)
        best = np.full(len(cleaned), self.labels.index(self.default_label), dtype=np.int64)
        for i in np.flatnonzero(~words_ok).tolist():
            status[i] = "empty"
        foreign = np.flatnonzero(words_ok & ~english)
        for i in foreign.tolist():
            status[i] = UNSUPPORTED
        best[foreign] = -1
        probs[foreign] = 0.0
        todo = np.flatnonzero(words_ok & english).tolist()
        batch = PredictionBatch(self, status, best, probs, evidence)
        if not todo:
            return batch
        if len(todo) < len(cleaned):
            units = units.take(np.array(todo))
            t_texts = [cleaned[i] for i in todo]
            t_ctx = clean_texts([contexts[i] for i in todo])
        else:
            t_texts, t_ctx = cleaned, clean_texts(contexts)
        matches = self.cues.match(t_texts, units.cue_words())
        cues = self.cues.features(matches)
        blocks = self.features.blocks(t_texts, t_ctx, cues, units)
        words = blocks[0]
        p = self._sparse_proba(blocks, n_labels)
        dense = None
        if self.dense_clf is not None and self.blend > 0:
            dense = np.hstack([_embed_pairs(t_texts, t_ctx), cues])
            p = (1 - self.blend) * p + self.blend * _proba(self.dense_clf, dense, n_labels)
        p = _softmax(np.log(np.clip(p, 1e-9, 1.0)), self.temperature)
        rows = np.array(todo)
        probs[rows] = p
        best[rows] = p.argmax(axis=1)
        batch.rows = rows
        if evidence != "none":
            batch.cues = matches
            batch.near_index, batch.near_sims = self._neighbours(words, dense, neighbours,
                                                                        t_texts)
        if evidence == "full":
            batch.words = self._weighty_words(words, best[rows])
        return batch

    def _sparse_proba(self, blocks: list[sparse.csr_matrix], n_labels: int) -> np.ndarray:
        """``_proba`` of the sparse classifier on the blocks side by side, without joining
        them: each block times its share of the coefficients."""
        clf = self.sparse_clf
        widths = tuple(b.shape[1] for b in blocks)
        cached = self.__dict__.get("_coef_blocks")
        if cached is None or cached[0] != widths:
            coef = np.asarray(clf.coef_, dtype=np.float64)
            cuts = np.cumsum((0,) + widths)
            cached = self._coef_blocks = (widths, [np.ascontiguousarray(coef[:, a:b].T)
                                                   for a, b in pairwise(cuts)])
        scores = np.zeros((blocks[0].shape[0], cached[1][0].shape[1]))
        for block, weights in zip(blocks, cached[1]):
            scores += block @ weights
        scores += np.asarray(clf.intercept_, dtype=np.float64)
        out = np.zeros((scores.shape[0], n_labels))
        out[:, clf.classes_] = _logistic_proba(scores)
        return out

    def _neighbours(self, words: sparse.csr_matrix, dense: np.ndarray | None, k: int,
                    texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Indices and similarities of the k most similar annotated examples of each row:
        by embedding with the accurate tier, by word TF-IDF otherwise."""
        n = words.shape[0]
        if k <= 0 or self.example_vectors is None or not self.example_ids:
            return np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0))
        if isinstance(self.example_vectors, np.ndarray):
            query = dense[:, :384] if dense is not None else encode(texts)
            return _top(query @ self.example_vectors.T, k)
        # a block of rows at a time: the similarities of a block stay in the CPU's cache
        k = min(k, len(self.example_ids))
        top = np.empty((n, k), dtype=np.int64)
        best = np.empty((n, k))
        for start in range(0, n, NEIGHBOUR_BLOCK):
            end = min(n, start + NEIGHBOUR_BLOCK)
            top[start:end], best[start:end] = _top(
                self._word_similarities(words[start:end]), k)
        return top, best

    def _word_similarities(self, words: sparse.csr_matrix) -> np.ndarray:
        """``(words @ example_vectors.T).toarray()`` in single precision, computed in two
        parts: the words that many examples share (a few dozen columns that make most of
        the products) against a dense table, the rest as a sparse product. Each row is
        summed in the same order whatever the other rows.

        Single precision (within 1e-5 of the double-precision product) halves the memory
        the dense part streams through and made it 40% faster; the similarities are
        evidence, reported to three decimals, and never decide a label."""
        split = self.__dict__.get("_example_split")
        if split is None:
            by_word = sparse.csr_matrix(self.example_vectors.T)
            shared = np.diff(by_word.indptr) * 32 >= by_word.shape[1]
            slot = np.full(by_word.shape[0], -1, dtype=np.int64)
            slot[shared] = np.arange(int(shared.sum()))
            table = np.ascontiguousarray(by_word[shared].toarray(), dtype=np.float32)
            rest = sparse.csr_matrix(sparse.diags((~shared).astype(np.float64)) @ by_word)
            rest.eliminate_zeros()
            split = self._example_split = (slot, table, rest.astype(np.float32))
        slot, table, rest = split
        n = words.shape[0]
        at = slot[words.indices]
        common = at >= 0
        row_of = np.repeat(np.arange(n), np.diff(words.indptr))
        data = words.data.astype(np.float32)

        def rows(keep: np.ndarray, columns: np.ndarray, width: int) -> sparse.csr_matrix:
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(row_of[keep], minlength=n), out=indptr[1:])
            return sparse.csr_matrix((data[keep], columns, indptr), shape=(n, width))

        sims = rows(common, at[common], table.shape[0]) @ table
        sims += (rows(~common, words.indices[~common], words.shape[1]) @ rest).toarray()
        return sims

    def _weighty_words(self, words: sparse.csr_matrix, label_index: np.ndarray,
                       k: int = 6) -> list[list[str]]:
        """For each row of the word block, the word n-grams that pushed hardest towards its
        label (``label_index``): at most ``k``, strongest first, only those that pushed
        towards it. All rows at once: one product per stored value, one sort."""
        words = words.tocsr()
        n = words.shape[0]
        coef = np.asarray(self.sparse_clf.coef_, dtype=np.float64)[:, :words.shape[1]]
        position = {int(c): q for q, c in enumerate(self.sparse_clf.classes_)}
        # a binary classifier has one row of coefficients, used for either label
        coef_row = np.array([position.get(int(b), -1) if coef.shape[0] > 1 else
                             (0 if int(b) in position else -1) for b in label_index.tolist()],
                            dtype=np.int64)
        row_of = np.repeat(np.arange(n), np.diff(words.indptr))
        usable = coef_row[row_of] >= 0
        value = np.zeros(len(words.data))
        value[usable] = (coef[coef_row[row_of[usable]], words.indices[usable]]
                         * words.data[usable])
        keep = value > 0
        rows, cols, value = row_of[keep], words.indices[keep], value[keep]
        order = np.lexsort((-cols, -value, rows))  # by row, strongest first, ties: higher j
        rows, cols = rows[order], cols[order]
        starts = np.searchsorted(rows, np.arange(n + 1))
        names = self.__dict__.get("_word_names")
        if names is None:
            names = self._word_names = [str(w) for w in
                                        self.features.word.get_feature_names_out()]
        cols = cols.tolist()
        return [[names[c] for c in cols[a:min(b, a + k)]]
                for a, b in zip(starts[:-1].tolist(), starts[1:].tolist())]

def train(debate: Debate, tier: str, examples: Sequence[Example] | None = None,
          *, extra_meta: dict[str, Any] | None = None) -> StanceModel:
    """Train a tier on ``examples`` (default: the debate's training split) and measure it
    on the debate's held-out test split."""
    from nlp.evaluate import evaluate_predictions

    start = time.perf_counter()
    train_examples = list(examples if examples is not None else debate.examples("train"))
    if len({e.label for e in train_examples}) < 2:
        raise ValueError(f"debate {debate.name!r} needs annotated examples of at least two "
                         f"labels to train (found {len(train_examples)} example(s))")
    model = StanceModel(debate, tier)
    log.info("training the %s model for %r on %d examples", tier, debate.name,
             len(train_examples))
    chosen = model.fit(train_examples)
    seconds = time.perf_counter() - start
    test = debate.examples("test")
    metrics = None
    if test:
        preds = model.predict([e.text for e in test], [e.context for e in test],
                              evidence="none")
        metrics = evaluate_predictions([e.label for e in test], [p.label for p in preds],
                                       model.labels,
                                       confidences=[p.confidence for p in preds]).summary()
    model.meta = {
        "debate": debate.name, "tier": tier, "labels": list(model.labels),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "training_seconds": round(seconds, 2), "n_train": len(train_examples),
        "train_label_counts": _counts(e.label for e in train_examples),
        "held_out": metrics, "cross_validation": chosen, **(extra_meta or {}),
    }
    return model


def _counts(labels) -> dict[str, int]:
    out: dict[str, int] = {}
    for label in labels:
        out[label] = out.get(label, 0) + 1
    return dict(sorted(out.items()))
