"""Topics over statements with BERTopic: embeddings from the packaged MiniLM (cached in
the knowledge base), stages that scale with the corpus, readable labels, and topic ids
that survive refits.

* **Stages** are parameters (``embedder``, ``reducer``, ``clusterer``, ``vectorizer``)
  with defaults chosen by corpus size: under ``SMALL_CORPUS`` unique texts, PCA and
  k-means (every text gets a topic; no pile of outliers); above it, UMAP and HDBSCAN
  with neighbours and minimum cluster size growing with the corpus, then outliers are
  reassigned by embedding similarity.
* **Stability**: a refit matches new topics to the old ones by centroid similarity
  (Hungarian assignment, at least ``MATCH_SIMILARITY``); matched topics keep their id and
  a user's name, unmatched ones are new, old ones left over are gone or merged. A user's
  merges are replayed and their moves kept.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlite_utils import Database

from kb.db import utc_now
from kb.errors import CxkbError
from kb.topics import OUTLIERS
from nlp.embeddings import cached_embeddings

log = logging.getLogger(__name__)

SMALL_CORPUS = 300      # below this many unique texts: PCA + k-means
MIN_WORDS = 5           # shorter statements ("Great point Ray!") are not topic material
MATCH_SIMILARITY = 0.80
REPRESENTATIVES = 3
KEYWORDS = 8
SEED = 42


def topic_texts(db: Database) -> list[dict]:
    rows = [r for r in db.query("SELECT id, text FROM statements ORDER BY rowid")
            if len(r["text"].split()) >= MIN_WORDS]
    return rows


def default_stages(n: int, min_size: int | None, nr_topics: str | int | None,
                   seed: int = SEED) -> tuple[Any, Any, str]:
    """Reducer and clusterer for ``n`` unique texts, and a word saying which."""
    if n < SMALL_CORPUS:
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        if isinstance(nr_topics, int):
            k = nr_topics
        elif min_size:
            k = n // min_size
        else:
            k = round(math.sqrt(n / 4))
        k = max(2, min(k, 15, n - 1))
        return (PCA(n_components=min(5, n - 1), random_state=seed),
                KMeans(n_clusters=k, n_init=10, random_state=seed), f"pca+kmeans(k={k})")
    from hdbscan import HDBSCAN
    from umap import UMAP

    neighbours = int(min(50, max(10, n // 200)))
    size = min_size or int(min(200, max(10, n // 300)))
    return (UMAP(n_neighbors=neighbours, n_components=5, min_dist=0.0, metric="cosine",
                 random_state=seed, low_memory=True),
            HDBSCAN(min_cluster_size=size, min_samples=max(2, size // 3), metric="euclidean",
                    cluster_selection_method="eom", prediction_data=True),
            f"umap(n_neighbors={neighbours})+hdbscan(min_cluster_size={size})")


def default_vectorizer(n: int):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(stop_words="english", ngram_range=(1, 2),
                           min_df=1 if n < 200 else 2, token_pattern=r"(?u)\b[a-zA-Z][\w'-]+\b")


GENERIC_SHARE = 0.3  # words in more than this share of all statements do not name a topic


def generic_words(texts: list[str]) -> set[str]:
    """Words so common in this corpus ("customer experience") that they name no topic."""
    from sklearn.feature_extraction.text import CountVectorizer

    try:
        counts = CountVectorizer(stop_words="english", binary=True).fit(texts)
    except ValueError:
        return set()
    df = np.asarray(counts.transform(texts).sum(axis=0)).ravel() / max(1, len(texts))
    return {w for w, i in counts.vocabulary_.items() if df[i] > GENERIC_SHARE}


def make_label(keywords: list[str], parts: int = 3, generic: set[str] = frozenset()) -> str:
    """A short readable label from keywords, skipping words a longer keyword already has,
    words common to the whole corpus and n-grams that repeat a word."""
    chosen: list[str] = []
    for word in keywords:
        tokens = word.split()
        if len(set(tokens)) < len(tokens) or all(t in generic for t in tokens):
            continue
        if any(word in c.split() or c in word.split() for c in chosen):
            if any(c in word.split() for c in chosen) and len(word.split()) > 1:
                chosen = [c for c in chosen if c not in word.split()] + [word]
            continue
        chosen.append(word)
        if len(chosen) == parts:
            break
    return " · ".join(chosen) if chosen else "miscellaneous"


def _normalise(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm == 0, 1, norm)


def fit_topics(db: Database, *, min_size: int | None = None,
               nr_topics: str | int | None = "auto", embedder: Any = None,
               reducer: Any = None, clusterer: Any = None, vectorizer: Any = None,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit topics over every statement and store them, keeping the ids of topics that
    survive; returns a report (new, kept, merged, gone, sizes, timings)."""
    started = time.perf_counter()
    rows = topic_texts(db)
    if not rows:
        raise CxkbError("no statements to find topics in: ingest something and run "
                        "`cxkb analyze` first")
    texts = [r["text"] for r in rows]
    vectors, embedded = cached_embeddings(db, texts, embedder=embedder, progress=progress)
    unique_index: dict[str, int] = {}
    for i, text in enumerate(texts):
        unique_index.setdefault(" ".join(text.lower().split()), i)
    uniq = list(unique_index.values())
    n = len(uniq)
    embed_seconds = time.perf_counter() - started
    if n < 3:
        labels_unique = np.zeros(n, dtype=int)
        keywords = {0: _plain_keywords([texts[i] for i in uniq])}
        stages = "single topic (fewer than 3 distinct statements)"
    else:
        labels_unique, keywords, stages = _bertopic(
            [texts[i] for i in uniq], vectors[uniq], n, min_size=min_size, nr_topics=nr_topics,
            embedder=embedder, reducer=reducer, clusterer=clusterer, vectorizer=vectorizer)
    by_text = {key: int(labels_unique[j]) for j, key in enumerate(unique_index)}
    assigned = np.array([by_text[" ".join(t.lower().split())] for t in texts])
    report = _store(db, rows, vectors, assigned, keywords, generic_words(texts))
    report.update({"texts": len(texts), "unique_texts": n, "embedded_now": embedded,
                   "stages": stages, "embed_seconds": round(embed_seconds, 2),
                   "seconds": round(time.perf_counter() - started, 2)})
    with db.conn:
        db["topic_runs"].insert({"kind": "fit", "at": utc_now(), "n_texts": len(texts),
                                 "params": json.dumps({"min_size": min_size,
                                                       "nr_topics": nr_topics,
                                                       "stages": stages}),
                                 "report": json.dumps(report)})
    return report


def _plain_keywords(texts: list[str]) -> list[str]:
    vectorizer = default_vectorizer(len(texts))
    try:
        counts = np.asarray(vectorizer.fit_transform(texts).sum(axis=0)).ravel()
    except ValueError:  # nothing but stop words
        return []
    names = vectorizer.get_feature_names_out()
    return [str(names[i]) for i in np.argsort(-counts)[:KEYWORDS]]


def _bertopic(docs: list[str], vectors: np.ndarray, n: int, *, min_size, nr_topics, embedder,
              reducer, clusterer, vectorizer) -> tuple[np.ndarray, dict[int, list[str]], str]:
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer

    from nlp.models import offline

    offline()
    default_reducer, default_clusterer, stages = default_stages(n, min_size, nr_topics)
    if reducer is not None or clusterer is not None:
        stages = "custom stages"
    model = BERTopic(
        embedding_model=embedder or _lazy_embedder(),
        umap_model=reducer or default_reducer,
        hdbscan_model=clusterer or default_clusterer,
        vectorizer_model=vectorizer or default_vectorizer(n),
        ctfidf_model=ClassTfidfTransformer(),
        nr_topics=nr_topics if (nr_topics != "auto" or n >= SMALL_CORPUS) else None,
        calculate_probabilities=False, verbose=False)
    topics, _ = model.fit_transform(docs, embeddings=vectors)
    logging.getLogger("BERTopic").setLevel(logging.ERROR)  # it warns about our outlier step
    topics = np.array(topics)
    if (topics == -1).any() and (topics != -1).any():
        reduced = model.reduce_outliers(docs, list(topics), strategy="embeddings",
                                        embeddings=vectors, threshold=0.3)
        model.update_topics(docs, topics=reduced, vectorizer_model=vectorizer
                            or default_vectorizer(n),
                            ctfidf_model=ClassTfidfTransformer())
        topics = np.array(reduced)
    keywords = {}
    for topic in set(topics.tolist()):
        words = model.get_topic(topic) or []
        keywords[topic] = [w for w, score in words if w and score > 0][:KEYWORDS * 2]
    return topics, keywords, stages


def _lazy_embedder() -> Any:
    """MiniLM for BERTopic, loaded only if BERTopic needs to embed something itself (every
    statement's embedding is passed in, so a cached refit never loads the model)."""
    from bertopic.backend import BaseEmbedder

    class LazyMiniLM(BaseEmbedder):
        def embed(self, documents, verbose: bool = False):
            from nlp.models import encode

            return encode(list(documents))

    return LazyMiniLM()


def _store(db: Database, rows: list[dict], vectors: np.ndarray, assigned: np.ndarray,
           keywords: dict[int, list[str]], generic: set[str]) -> dict[str, Any]:
    """Match the new clusters to the stored topics, then write topics and assignments."""
    from scipy.optimize import linear_sum_assignment

    clusters = sorted(c for c in set(assigned.tolist()) if c != -1)
    centroids = {c: _normalise(vectors[assigned == c].mean(axis=0)) for c in clusters}
    # topics a person merged take part too, so their merge can be replayed on the refit
    old = [r for r in db.query("SELECT id, centroid, custom_label FROM topics WHERE (status ="
                               " 'active' OR id IN (SELECT from_id FROM topic_merges))"
                               " AND id != -1 AND centroid IS NOT NULL")]
    mapping: dict[int, int] = {}
    kept, merged, gone = [], [], []
    if old and clusters:
        old_c = np.vstack([np.frombuffer(r["centroid"], dtype="<f4") for r in old])
        new_c = np.vstack([centroids[c] for c in clusters])
        sims = old_c @ new_c.T
        rows_i, cols_j = linear_sum_assignment(-sims)
        for i, j in zip(rows_i, cols_j):
            if sims[i, j] >= MATCH_SIMILARITY:
                mapping[clusters[j]] = old[i]["id"]
                kept.append(old[i]["id"])
        for i, r in enumerate(old):
            if r["id"] in kept:
                continue
            j = int(np.argmax(sims[i]))
            if sims[i, j] >= MATCH_SIMILARITY and clusters[j] in mapping:
                merged.append({"id": r["id"], "into": mapping[clusters[j]]})
            else:
                gone.append(r["id"])
    next_id = (db.execute("SELECT max(id) FROM topics").fetchone()[0] or 0) + 1
    new = []
    for c in clusters:
        if c not in mapping:
            mapping[c] = next_id
            new.append(next_id)
            next_id += 1
    mapping[-1] = OUTLIERS
    now = utc_now()
    coords = _map_coordinates([centroids[c] for c in clusters])
    with db.conn:
        for m in merged:
            db.execute("UPDATE topics SET status = 'merged', merged_into = ?, updated_at = ?"
                       " WHERE id = ?", [m["into"], now, m["id"]])
        for g in gone:
            db.execute("UPDATE topics SET status = 'gone', updated_at = ? WHERE id = ?",
                       [now, g])
        for c, (x, y) in zip(clusters, coords):
            members = np.where(assigned == c)[0]
            sims = vectors[members] @ centroids[c]
            best = [rows[members[k]]["id"] for k in np.argsort(-sims)[:REPRESENTATIVES]]
            words = keywords.get(c, [])
            record = {"id": mapping[c], "label": _unique_label(words, mapping[c], generic),
                      "keywords": json.dumps(words[:KEYWORDS]), "representative": json.dumps(best),
                      "size": len(members), "status": "active", "merged_into": None,
                      "centroid": centroids[c].astype("<f4").tobytes(), "x": x, "y": y,
                      "updated_at": now}
            if db.execute("SELECT 1 FROM topics WHERE id = ?", [mapping[c]]).fetchone():
                db["topics"].update(mapping[c], record)
            else:
                db["topics"].insert({**record, "custom_label": None, "created_at": now})
        outliers = int((assigned == -1).sum())
        db["topics"].upsert({"id": OUTLIERS, "label": "outliers (no clear topic)",
                             "keywords": "[]", "representative": "[]", "size": outliers,
                             "status": "active", "created_at": now, "updated_at": now},
                            pk="id")
        human = {r["statement_id"]: r["topic_id"] for r in db.query(
            "SELECT statement_id, topic_id FROM topic_assignments WHERE method = 'human'")}
        db.execute("DELETE FROM topic_assignments WHERE method = 'model'")
        active = {r[0] for r in db.execute("SELECT id FROM topics WHERE status = 'active'")}
        for row, c, v in zip(rows, assigned, vectors):
            if row["id"] in human and human[row["id"]] in active:
                continue  # a person's move stands
            score = float(v @ centroids[c]) if c != -1 else None
            db["topic_assignments"].upsert({"statement_id": row["id"], "topic_id": mapping[c],
                                            "score": score, "method": "model",
                                            "updated_at": now}, pk="statement_id")
        replayed = _replay_merges(db, now)
    return {"topics": len(clusters), "new": new, "kept": kept, "merged": merged,
            "gone": gone, "outliers": outliers, "user_merges_replayed": replayed}


def _unique_label(words: list[str], topic_id: int, generic: set[str]) -> str:
    label = make_label(words, generic=generic)
    return label if label != "miscellaneous" else f"miscellaneous ({topic_id})"


def _map_coordinates(centroids: list[np.ndarray]) -> list[tuple[float, float]]:
    if not centroids:
        return []
    if len(centroids) < 3:
        return [(float(i), 0.0) for i in range(len(centroids))]
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=SEED).fit_transform(np.vstack(centroids))
    return [(round(float(x), 4), round(float(y), 4)) for x, y in xy]


def _replay_merges(db: Database, now: str) -> int:
    replayed = 0
    for m in list(db.query("SELECT from_id, into_id FROM topic_merges")):
        statuses = dict(db.execute("SELECT id, status FROM topics WHERE id IN (?, ?)",
                                   [m["from_id"], m["into_id"]]).fetchall())
        if statuses.get(m["from_id"]) == "active" and statuses.get(m["into_id"]) == "active":
            db.execute("UPDATE topic_assignments SET topic_id = ? WHERE topic_id = ?",
                       [m["into_id"], m["from_id"]])
            db.execute("UPDATE topics SET status = 'merged', merged_into = ?, updated_at = ?"
                       " WHERE id = ?", [m["into_id"], now, m["from_id"]])
            replayed += 1
    return replayed


def assign_new_statements(db: Database, *, embedder: Any = None,
                          progress: Callable[[str], None] | None = None) -> int:
    """Give statements without a topic the topic with the nearest centroid."""
    topics = list(db.query("SELECT id, centroid FROM topics WHERE status = 'active'"
                           " AND id != -1 AND centroid IS NOT NULL"))
    if not topics:
        return 0
    rows = [r for r in db.query("SELECT s.id, s.text FROM statements s WHERE NOT EXISTS"
                                " (SELECT 1 FROM topic_assignments a WHERE a.statement_id ="
                                " s.id)") if len(r["text"].split()) >= MIN_WORDS]
    if not rows:
        return 0
    vectors, _ = cached_embeddings(db, [r["text"] for r in rows], embedder=embedder,
                                   progress=progress)
    centroids = np.vstack([np.frombuffer(t["centroid"], dtype="<f4") for t in topics])
    sims = vectors @ centroids.T
    now = utc_now()
    with db.conn:
        for row, s in zip(rows, sims):
            j = int(np.argmax(s))
            db["topic_assignments"].upsert({"statement_id": row["id"],
                                            "topic_id": topics[j]["id"],
                                            "score": float(s[j]), "method": "model",
                                            "updated_at": now}, pk="statement_id")
        db["topic_runs"].insert({"kind": "assign", "at": now, "n_texts": len(rows),
                                 "params": "{}", "report": json.dumps({"assigned": len(rows)})})
    return len(rows)


def update_topics(db: Database, *, refit: bool = False, min_size: int | None = None,
                  nr_topics: str | int | None = "auto",
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit a topic model if there is none (or ``refit``), else place new statements."""
    has_topics = db.execute("SELECT count(*) FROM topics WHERE status = 'active'"
                            " AND id != -1").fetchone()[0]
    if refit or not has_topics:
        if progress:
            progress("fitting topics" + (" again" if has_topics else ""))
        return {"fitted": True, **fit_topics(db, min_size=min_size, nr_topics=nr_topics,
                                             progress=progress)}
    return {"fitted": False, "assigned": assign_new_statements(db, progress=progress)}
