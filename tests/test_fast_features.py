"""The fast tier's vectorised text features equal their plain definitions: scikit-learn's
TF-IDF, ``clean_text``, ``has_words``, ``is_english``, the cue matcher without its word
filter or its negation pre-check, and ``round``. No model is trained (the vectorizers are fitted on the corpus)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from nlp.cues import CueMatcher, _spans, compile_cue, split_cue
from nlp.debate import load_debate
from nlp.lexicon import FastTfidf, Lexicon
from nlp.stance import _SparseFeatures
from nlp.textprep import clean_text, clean_texts, has_words, is_english

ODD = ["", "   ", "🙂", "x", "a\x00b", "\x00", "a \x00 b", "\x00\x00 \x00",
       "<p>CX is <b>both</b> a function <i>and</i> an outcome.</p>", "a &amp; b & c",
       "e\u0301te\u0301", "It\u2019s everyone\u2019s job.\tReally\n\nit is", "x" * 6000,
       "CX isn't a function, it can't be: companies can't do customer experience.",
       "L'expérience client est le résultat, et pas une fonction de plus dans l'entreprise.",
       "Die Kundenerfahrung ist nicht eine Abteilung und das ist auch gut so, und wir",
       "ΟΔΟΣ Σ σ ς İstanbul", "x_outcome outcome_x OUTCOME “function” (team)",
       "  lead and trail  ", "don't won't can't cannot shan't", "a\u2028b\u00a0c\u3000d",
       "100% of respondents said so / not either / or", "Its own function; its own budget"]


def _texts(n: int, seed: int) -> list[str]:
    examples = load_debate("outcome-function").examples() + load_debate("ownership").examples()
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rnd.choice(examples).text for _ in range(rnd.randrange(1, 3))]
        if rnd.random() < 0.3:
            parts.append(rnd.choice(ODD))
        text = " ".join(parts)
        if rnd.random() < 0.1:
            text = text.upper()
        out.append(text)
    return out + ODD


@pytest.fixture(scope="module")
def fitted() -> _SparseFeatures:
    examples = load_debate("outcome-function").examples()
    texts = [clean_text(e.text) for e in examples]
    return _SparseFeatures().fit(texts, [clean_text(e.context) for e in examples])


def test_clean_texts_is_clean_text_over_a_batch() -> None:
    texts = _texts(400, 1) + [None]  # type: ignore[list-item]
    rnd = random.Random(2)
    for _ in range(200):
        batch = [rnd.choice(texts) for _ in range(rnd.randrange(0, 9))]
        assert clean_texts(batch) == [clean_text(t) for t in batch]


@pytest.mark.parametrize("block", ["word", "char", "context"])
def test_lexicon_tfidf_equals_scikit_learn(fitted: _SparseFeatures, block: str) -> None:
    vectorizer = getattr(fitted, block)
    texts = [clean_text(t) for t in _texts(600, 3)]
    expected = vectorizer.transform(texts).toarray()
    fast = FastTfidf(vectorizer)
    # in chunks, so that later chunks reuse what earlier ones learnt
    got = np.vstack([fast.transform(texts[i:i + 97]).toarray()
                     for i in range(0, len(texts), 97)])
    assert np.allclose(got, expected, rtol=0, atol=1e-12)
    assert ((got != 0) == (expected != 0)).all()


def test_a_text_gets_the_same_features_whatever_came_before(fitted: _SparseFeatures) -> None:
    texts = [clean_text(t) for t in _texts(300, 4)]
    word, char, _ = fitted._fast_transforms()
    cold = Lexicon(word=word, char=char).split(texts)
    warm_lexicon = Lexicon(word=word, char=char)
    warm_lexicon.split(list(reversed(texts)))
    warm = warm_lexicon.split(texts)
    for a, b in ((cold.word_tfidf(), warm.word_tfidf()), (cold.char_tfidf(), warm.char_tfidf())):
        assert (a.indptr == b.indptr).all() and (a.indices == b.indices).all()
        assert (a.data == b.data).all()  # the same bits, not merely close


def test_checks_and_cue_filter_equal_their_plain_definitions(fitted: _SparseFeatures) -> None:
    word, char, _ = fitted._fast_transforms()
    for name in ("outcome-function", "ownership"):
        matcher = CueMatcher(load_debate(name))
        lexicon = Lexicon(word=word, char=char, cue_words=matcher.filter_words)
        texts = clean_texts(_texts(800, 5))
        units = lexicon.split(texts)
        assert units.has_words().tolist() == [has_words(t) for t in texts]
        assert units.english(texts).tolist() == [is_english(t) for t in texts]
        assert matcher.match(texts, units.cue_words()) == matcher.match(texts)
        some = np.array([5, 0, 17, 17, len(texts) - 1])
        part = units.take(some)
        assert matcher.match([texts[i] for i in some], part.cue_words()) == \
            matcher.match([texts[i] for i in some])


def test_cue_expressions_split_by_first_word_find_what_the_whole_finds() -> None:
    """``split_cue``'s parts, merged by ``_spans``, give the spans of the whole expression,
    and so does the whole without its possessive runs (they only spare backtracking)."""
    texts = [t.lower().replace("’", "'") for t in clean_texts(_texts(800, 7))]
    joined = "\n".join(texts + ["is's isn't 'is is a a function it's is an outcome's outcome",
                                "customers customer have customers has their own experience",
                                "a. b, 50% of it, 50 of them, a.a"])
    # and cues whose first words can match at one place (the longer must win there)
    odd = ["a.|a", "a.|a b", "50%|50 of"]
    cues = odd + [cue for name in ("outcome-function", "ownership")
                  for label in load_debate(name).labels for cue in label.cues]
    for cue in cues:
        if not isinstance(cue, str):
            continue
        whole = compile_cue(cue)[0]
        spans = [m.span() for m in whole.finditer(joined)]
        assert _spans(split_cue(cue), joined) == spans, cue
        backtracking = re.compile(whole.pattern.replace("*+", "*").replace("++", "+"))
        assert [m.span() for m in backtracking.finditer(joined)] == spans, cue


def test_negation_pre_check_changes_no_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch pre-check of negations (``_maybe_negated``) only spares work: every cue
    match is marked negated or not exactly as checking each match in full marks it, with
    negation words (and words that merely hold their letters) strewn before, inside and
    at the edge of the characters looked at."""
    from nlp import cues

    rnd = random.Random(11)
    strewn = ["not", "no", "never", "n't", "hardly", "cannot", "nor", "don't", "isn’t",
              "can't", "knot", "nothing", "anon", "No.", "(never)"]
    texts = []
    for text in _texts(600, 12):
        words = text.split()
        for _ in range(rnd.randrange(4)):
            words.insert(rnd.randrange(len(words) + 1), rnd.choice(strewn))
        texts.append(" ".join(words))
    # a negation just inside and just outside the reach before a cue
    for gap in range(cues.NEGATION_REACH - 20, cues.NEGATION_REACH + 3):
        texts += [f"not {'x' * gap} CX is an outcome", f"not {'x' * gap}. It is an outcome",
                  f"no {'x' * gap} is a function", f"isn't {'x' * gap} a function"]
    matcher = CueMatcher(load_debate("outcome-function"))
    found = matcher.match(texts)
    negated = sum(m.negated for matches in found for m in matches)
    assert negated > 50
    monkeypatch.setattr(cues, "_maybe_negated",
                        lambda joined, lowers, rows, *rest: np.ones(len(rows), dtype=bool))
    assert matcher.match(texts) == found


def test_rounded_is_round() -> None:
    from nlp.batch_work import rounded

    rnd = np.random.default_rng(6)
    values = np.concatenate([rnd.random(20000), np.arange(10001) / 10000,
                             (np.arange(20000) + 0.5) / 20000, [0.0, 1.0, 1 + 1e-12, -0.0,
                                                                0.03125, 0.00005, 0.99995]])
    for digits in (3, 4):
        assert rounded(values, digits) == [repr(round(float(v), digits)) for v in values]


def test_word_similarities_match_the_sparse_product_row_by_row(fitted: _SparseFeatures) -> None:
    from nlp.stance import StanceModel, _top

    debate = load_debate("outcome-function")
    model = StanceModel(debate, "fast")
    model.example_vectors = fitted.word.transform([clean_text(e.text)
                                                   for e in debate.examples()])
    words = FastTfidf(fitted.word).transform(clean_texts(_texts(300, 7)))
    sims = model._word_similarities(words)
    # in single precision: within 1e-5 of the double-precision product, and the same
    # nearest examples but where two are closer than that
    exact = (words @ model.example_vectors.T).toarray()
    assert sims.dtype == np.float32
    assert np.allclose(sims, exact, rtol=0, atol=1e-5)
    top, _ = _top(sims.copy(), 3)
    exact_top, _ = _top(exact.copy(), 3)
    near_tie = np.diff(np.sort(exact, axis=1)[:, -4:], axis=1).min(axis=1) < 1e-5
    assert ((top == exact_top).all(axis=1) | near_tie).all()
    for i in (0, 5, 299):  # a row alone gets the same bits as in its batch
        assert (model._word_similarities(words[i]) == sims[i]).all()
