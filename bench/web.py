"""Web UI latency: p50, p95 and max of every page type on a knowledge base of 100k
statements, beside the floor (``SELECT 1`` through the same stack) measured in the same run.

    python bench/web.py [--statements 100000] [--requests 30] [--db PATH]
                        [--save FILE.json] [--before FILE.json]

A knowledge base of N statements is generated into a fresh SQLite file through
``kb.db.open_db`` (the real schema, the FTS tables filled by its triggers) with bulk
inserts: N/50 documents over 40 sites, ~25 comments per document with replies, a fifth of
the statements in article bodies (narration and quotes) and the rest in comments, 3N/100
people, a model label on every statement for both shipped debates (about 1% of them
``unsupported``), ~2% human and ~0.5% rule labels, labels on comments, documents and
people, the ``debates`` rows, person positions per thread, 40 topics with assignments,
reply, agreement and disagreement relations, and figures. Texts are the annotated
sentences of ``nlp/debates/examples/*.jsonl``, alone or in pairs.

The app is ``kb.web.create_app`` served by waitress on 127.0.0.1 in a thread; requests
come one at a time from ``http.client`` (a new connection each). Every page type gets 3
warm-up requests, then ``--requests`` timed ones. The floor is a route added here only,
running ``SELECT 1`` through the same stack (request, connection, teardown). Pages whose
p95 is over 100 ms are marked ``SLOW``; a CSV download is streamed, as long as the rows it
exports take, so it is judged by its first byte ("1st p95": when the download starts). Ids for the person, thread and topic pages and the
person filter are the busiest ones (the worst case, not a typical one).

After the pages the issue names, a few more (marked +) show where the floor is higher:
sorting by date, and the date range, topic and text filters ("marketing" is in a quarter
of the statements: more than the listing counts, so it pages them uncounted; "design" is
in about 4,700, just under the 5,000 it counts, with facets), and search with facets
("silo" matches about 2,400 texts, just under the 2,500 that search counts facets for)
and filtered by a site.

The client and the server share one process (and its GIL); on a busy machine every
figure grows with the load, so the load average is printed before and after, and so is
the median CPU time of the process per request ("cpu ms"), which the load changes much
less.

``--save`` writes the figures as JSON; ``--before`` prints a saved run beside this one.
``--db PATH`` keeps the generated file (reused, and migrated, if it already exists).
``--check`` compares the tables the triggers of migrations m007 and m009 keep
(``statement_positions``, ``statement_facts`` and the counts) with what they are derived
from (``kb.derived.derived_differences``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from hashlib import sha1
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 100.0
MODEL_VERSION = "bench-stance-1"
FIRST = ("Anna", "Bruce", "Carla", "David", "Elena", "Frank", "Grace", "Hugo", "Ines", "Jack",
         "Kate", "Liam", "Maria", "Nils", "Olga", "Paul", "Rosa", "Sam", "Tina", "Umar", "Vera",
         "Will", "Xenia", "Yann", "Zoe", "Ahmed", "Beatriz", "Chen", "Dmitri", "Esther",
         "Fatima", "Gustav", "Hana", "Ivan", "Jorge", "Keiko", "Lars", "Mei", "Noor", "Oscar",
         "Priya", "Quentin", "Rania", "Sven", "Tomas", "Ursula", "Viktor", "Wen", "Yusuf")
LAST = ("Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hoffman", "Ito",
        "Jansen", "Kowalski", "Larsen", "Martin", "Nakamura", "Okafor", "Petrov", "Quinn",
        "Rossi", "Schmidt", "Temkin", "Urban", "Varga", "Weber", "Xu", "Young", "Zimmermann",
        "Alvarez", "Brown", "Clarke", "Dahl", "Eriksen", "Ferreira", "Gruber", "Horvath", "Iyer",
        "Jensen", "Kim", "Lopez", "Moreau", "Novak")
ROLES = ("VP Customer Experience", "Chief Customer Officer", "CX consultant",
         "Head of Service", "CMO", "analyst", "professor of marketing", "COO")
ORGS = ("Acme", "Forrester", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries",
        "Wayne Enterprises", "Client X Client", "Vandelay")
WORDS = ("customer", "experience", "journey", "marketing", "service", "brand", "loyalty",
         "ownership", "outcome", "function", "strategy", "culture", "metrics", "nps", "design",
         "silo", "executive", "budget", "retention", "employee", "engagement", "digital",
         "omnichannel", "feedback")


@dataclass
class Facts:
    """What the generated knowledge base holds, and the ids the page requests use."""
    statements: int = 0
    documents: int = 0
    comments: int = 0
    people: int = 0
    labels: int = 0
    topics: int = 0
    seconds: float = 0.0
    busiest_person: str = ""
    busiest_document: str = ""
    busiest_site: str = ""
    largest_topic: int = 0
    debates: dict[str, list[str]] = field(default_factory=dict)


def _id(prefix: str, key: str, length: int = 12) -> str:
    return prefix + sha1(key.encode()).hexdigest()[:length]


def sentences() -> list[str]:
    texts = set()
    for path in sorted((ROOT / "nlp" / "debates" / "examples").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.add(json.loads(line)["text"].strip())
    return sorted(t for t in texts if t)


def _weights(n: int, skew: float) -> list[float]:
    return [1.0 / (i + 1) ** skew for i in range(n)]


def generate(path: Path, n_statements: int, seed: int = 7) -> Facts:
    """Write a knowledge base of ``n_statements`` statements into a new file at ``path``."""
    from kb.db import open_db, utc_now
    from nlp.debate import list_debates

    start_time = time.perf_counter()
    rng = random.Random(seed)
    pool = sentences()
    debates = list_debates()
    now = utc_now()
    db = open_db(path)
    conn = db.conn
    n_docs = max(1, n_statements // 50)
    n_people = max(20, n_statements * 3 // 100)
    n_sites = min(40, n_docs)

    # people: a few prolific, most seldom seen
    people = []
    names = set()
    while len(people) < n_people:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if name in names:
            name = f"{name} {len(people)}"
        names.add(name)
        about = (f"{rng.choice(ROLES)}, {rng.choice(ORGS)}" if rng.random() < 0.3 else None)
        people.append((_id("p", name.lower()), name, about))
    person_weights = _weights(n_people, 0.8)
    sites = [f"cx-site-{i:02}.example.com" for i in range(n_sites)]

    def text() -> str:
        if rng.random() < 0.7:
            return rng.choice(pool)
        return f"{rng.choice(pool)} {rng.choice(pool)}"

    def person() -> tuple[str, str, str | None]:
        return rng.choices(people, person_weights)[0]

    sources, documents, comments, statements = [], [], [], []
    doc_statements = n_statements // 5
    per_doc = [doc_statements // n_docs + (1 if i < doc_statements % n_docs else 0)
               for i in range(n_docs)]
    comment_counts = [max(1, int(rng.gauss(25, 8))) for _ in range(n_docs)]
    comment_total = n_statements - doc_statements
    if sum(comment_counts) > comment_total:  # small runs: at least one statement each
        scale = comment_total / sum(comment_counts)
        comment_counts = [max(1, int(c * scale)) for c in comment_counts]
        while sum(comment_counts) > comment_total:
            comment_counts[comment_counts.index(max(comment_counts))] -= 1
    # statements per comment: one each, the rest spread at random (a few long comments)
    n_comments = sum(comment_counts)
    per_comment = [1] * n_comments
    for i in rng.choices(range(n_comments), k=comment_total - n_comments):
        per_comment[i] += 1
    speaker_of: dict[str, str | None] = {}
    doc_of_statement: dict[str, str] = {}
    comment_of_statement: dict[str, str] = {}
    comments_of_doc: dict[str, list[tuple[str, str | None, str | None]]] = defaultdict(list)
    relations = []
    figures = []
    ci = 0
    for d in range(n_docs):
        site = sites[d % n_sites]
        day = date(2008, 1, 1) + timedelta(days=rng.randrange(17 * 365))
        slug = f"post-{d}"
        url = f"https://{site}/{day.year}/{slug}/"
        source_id = _id("s", url)
        doc_id = _id("d", f"url:{url}")
        author = person() if rng.random() < 0.9 else None
        sources.append((source_id, url, "url", "html_page", sha1(url.encode()).hexdigest(),
                        "utf-8", "ok", now, now, url))
        # the article: paragraphs of narration by the author and quotes of other people
        parts, body_len = [], 0
        for k in range(per_doc[d]):
            quoted = rng.random() < 0.25
            speaker = person() if quoted else author
            t = text()
            if parts:
                sep = "\n\n" if k % 3 == 0 else " "
                parts.append(sep)
                body_len += len(sep)
            sid = _id("st", f"{doc_id}|{k}", 14)
            kind = rng.choice(("quote", "reported")) if quoted else "narration"
            statements.append((sid, doc_id, None, body_len, body_len + len(t), t,
                               speaker[1] if speaker else None, speaker[0] if speaker else None,
                               kind, "bench", now))
            speaker_of[sid] = speaker[0] if speaker else None
            doc_of_statement[sid] = doc_id
            parts.append(t)
            body_len += len(t)
        body = "".join(parts) or text()
        title = " ".join(rng.choice(pool).split()[:9]).rstrip(".,;:") or slug
        published = None if rng.random() < 0.03 else day.isoformat()
        documents.append((doc_id, source_id, url, site, title,
                          author[1] if author else None, author[0] if author else None,
                          published, published, body, comment_counts[d], None, now, now))
        if rng.random() < 0.5:
            figures.append((doc_id, f"{rng.randrange(5, 95)} percent", "of executives",
                            "CX leaders", "a survey", 0, 10))
        # the comments, in reading order: a third reply to an earlier one
        thread: list[tuple[str, int, tuple | None]] = []  # id, depth, author
        for position in range(1, comment_counts[d] + 1):
            cid = _id("c", f"{doc_id}|{position}")
            parent = rng.choice(thread) if thread and rng.random() < 0.35 else None
            depth = parent[1] + 1 if parent else 0
            who = person() if rng.random() < 0.92 else None
            roll = rng.random()
            kind = "pingback" if roll < 0.02 else "trackback" if roll < 0.03 else "comment"
            posted = (day + timedelta(days=rng.randrange(60))).isoformat() + "T10:00:00"
            pieces, offset = [], 0
            for k in range(per_comment[ci]):
                t = text()
                if pieces:
                    pieces.append(" ")
                    offset += 1
                sid = _id("st", f"{cid}|{k}", 14)
                statements.append((sid, None, cid, offset, offset + len(t), t,
                                   who[1] if who else "Anonymous", who[0] if who else None,
                                   "comment", "bench", now))
                speaker_of[sid] = who[0] if who else None
                doc_of_statement[sid] = doc_id
                comment_of_statement[sid] = cid
                pieces.append(t)
                offset += len(t)
            ci += 1
            missing = now if rng.random() < 0.01 else None
            comments.append((cid, doc_id, parent[0] if parent else None, position, depth,
                             who[1] if who else "Anonymous",
                             f"https://example.org/{position}" if rng.random() < 0.3 else None,
                             who[0] if who else None, posted, posted, "".join(pieces),
                             f"{d}-{position}", f"{url}#comment-{position}", kind, now, now,
                             missing))
            comments_of_doc[doc_id].append((cid, who[0] if who else None,
                                            who[1] if who else None))
            if parent:
                p_author = parent[2]
                relations.append(("replies_to", doc_id, cid, parent[0],
                                  who[0] if who else None, p_author[0] if p_author else None,
                                  who[1] if who else None, p_author[1] if p_author else None,
                                  None, None, "structure", now))
            # (only from known people: templates/people/person.html cannot link a
            # relation whose source person is unknown, see the report)
            if thread and who and rng.random() < 0.08:
                other = rng.choice(thread)
                o_author = other[2]
                kind_rel = "agrees_with" if rng.random() < 0.6 else "disagrees_with"
                relations.append((kind_rel, doc_id, cid, other[0], who[0] if who else None,
                                  o_author[0] if o_author else None, who[1] if who else None,
                                  o_author[1] if o_author else None, None,
                                  "I agree with you" if kind_rel == "agrees_with"
                                  else "I disagree", "rule", now))
            thread.append((cid, depth, who))

    with conn:
        conn.executemany(
            "INSERT INTO people (id, name, description, created_at) VALUES (?, ?, ?, ?)",
            [(p[0], p[1], p[2], now) for p in people])
        conn.executemany(
            "INSERT INTO person_aliases (alias_key, person_id, alias) VALUES (?, ?, ?)",
            [(p[1].lower(), p[0], p[1]) for p in people])
        conn.executemany(
            "INSERT INTO sources (id, locator, kind, parser, content_hash, encoding, status,"
            " first_ingested_at, last_ingested_at, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sources)
        conn.executemany(
            "INSERT INTO documents (id, source_id, url, site, title, author, author_person_id,"
            " published, published_text, body, declared_comment_count, extra, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", documents)
        conn.executemany(
            "INSERT INTO comments (id, document_id, parent_id, position, depth, author,"
            " author_url, author_person_id, posted_at, posted_at_text, text, external_id,"
            " permalink, kind, created_at, updated_at, missing_since)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", comments)
        conn.executemany(
            "INSERT INTO statements (id, document_id, comment_id, start, \"end\", text, speaker,"
            " speaker_person_id, kind, method, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", statements)
        conn.executemany(
            "INSERT INTO relations (kind, document_id, source_comment_id, target_comment_id,"
            " source_person_id, target_person_id, source_name, target_name, statement_id,"
            " evidence, method, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            relations)
        conn.executemany(
            "INSERT INTO figures (document_id, value, measure, population, source, start,"
            " \"end\") VALUES (?, ?, ?, ?, ?, ?, ?)", figures)

    # labels: every statement in both debates, then what the analysis derives from them
    labels = []
    facts = Facts(debates={d.name: [lab.name for lab in d.labels] for d in debates})
    statement_label: dict[tuple[str, str], str] = {}
    for debate in debates:
        names = [lab.name for lab in debate.labels]
        # the default label is the commonest by far, the others in falling shares
        weights = [0.55 if n == debate.default_label else 0.45 / (i + 1)
                   for i, n in enumerate(names)]
        cue = json.dumps({"cues": ["customer experience"], "scores": {}})
        for s in statements:
            sid = s[0]
            if rng.random() < 0.01:
                label, confidence = "unsupported", 0.0
            else:
                label = rng.choices(names, weights)[0]
                confidence = round(rng.betavariate(4, 2), 4)
            statement_label[(sid, debate.name)] = label
            labels.append(("statement", sid, debate.name, label, confidence, "model",
                           MODEL_VERSION, cue, None, None))
            roll = rng.random()
            if roll < 0.02:
                human = rng.choice(names)
                statement_label[(sid, debate.name)] = human
                labels.append(("statement", sid, debate.name, human, 1.0, "human", None, None,
                               "checked", "bench"))
            elif roll < 0.025:
                ruled = rng.choice(names)
                statement_label[(sid, debate.name)] = ruled
                labels.append(("statement", sid, debate.name, ruled, 0.9, "rule",
                               MODEL_VERSION, json.dumps({"agrees_with": "someone"}), None,
                               None))
        by_comment: dict[str, Counter] = defaultdict(Counter)
        for sid, cid in comment_of_statement.items():
            by_comment[cid][statement_label[(sid, debate.name)]] += 1
        for c in comments:
            votes = by_comment.get(c[0])
            if votes:
                labels.append(("comment", c[0], debate.name, votes.most_common(1)[0][0],
                               round(rng.uniform(0.4, 1.0), 4), "model", MODEL_VERSION,
                               json.dumps({"from_statements": dict(votes)}), None, None))
        for doc in documents:
            labels.append(("document", doc[0], debate.name, rng.choices(names, weights)[0],
                           round(rng.uniform(0.4, 1.0), 4), "model", MODEL_VERSION, None, None,
                           None))
        overall: dict[str, Counter] = defaultdict(Counter)
        positions = []
        for doc_id, thread_comments in comments_of_doc.items():
            seen = {}
            for cid, pid, _name in thread_comments:
                votes = by_comment.get(cid)
                if pid and votes:
                    seen[pid] = votes.most_common(1)[0][0]
            for pid, label in seen.items():
                overall[pid][label] += 1
                positions.append((pid, doc_id, debate.name, label,
                                  round(rng.uniform(0.4, 1.0), 4), 1, "model", MODEL_VERSION,
                                  None, now))
        for pid, votes in overall.items():
            labels.append(("person", pid, debate.name, votes.most_common(1)[0][0],
                           round(rng.uniform(0.4, 1.0), 4), "model", MODEL_VERSION, None, None,
                           None))
        with conn:
            conn.executemany(
                "INSERT INTO person_positions (person_id, document_id, debate, label,"
                " confidence, n_items, method, model_version, evidence, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", positions)
            conn.execute(  # the row nlp.positions.record_debate writes
                "INSERT INTO debates (name, question, labels, default_label, model_version,"
                " analysed_at) VALUES (?, ?, ?, ?, ?, ?)",
                [debate.name, debate.question,
                 json.dumps([{"name": lab.name, "description": lab.description}
                             for lab in debate.labels]),
                 debate.default_label, MODEL_VERSION, now])
    with conn:
        conn.executemany(
            "INSERT INTO labels (target_type, target_id, debate, label, confidence, method,"
            " model_version, evidence, note, annotator, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(*row, now, now) for row in labels])

    # topics: 40 of falling size, a tenth of the statements outliers
    n_topics = 40
    members: dict[int, list[str]] = defaultdict(list)
    assignments = []
    topic_weights = _weights(n_topics, 0.7)
    for s in statements:
        topic = -1 if rng.random() < 0.1 else rng.choices(range(n_topics), topic_weights)[0]
        members[topic].append(s[0])
        assignments.append((s[0], topic, round(rng.random(), 4), "model", now))
    topics = []
    for topic in [-1, *range(n_topics)]:
        keywords = rng.sample(WORDS, 8)
        topics.append((topic, "outliers" if topic == -1 else " · ".join(keywords[:3]),
                       json.dumps(keywords), json.dumps(members[topic][:5]),
                       len(members[topic]), "active", None,
                       None if topic == -1 else rng.uniform(-5, 5),
                       None if topic == -1 else rng.uniform(-5, 5), now, now))
    with conn:
        conn.executemany(
            "INSERT INTO topics (id, label, keywords, representative, size, status, centroid,"
            " x, y, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", topics)
        conn.executemany(
            "INSERT INTO topic_assignments (statement_id, topic_id, score, method, updated_at)"
            " VALUES (?, ?, ?, ?, ?)", assignments)
    db.close()

    speakers = Counter(v for v in speaker_of.values() if v)
    facts.statements = len(statements)
    facts.documents = len(documents)
    facts.comments = len(comments)
    facts.people = len(people)
    facts.labels = len(labels)
    facts.topics = n_topics
    facts.busiest_person = speakers.most_common(1)[0][0]
    facts.busiest_document = max(documents, key=lambda d: d[10])[0]
    facts.busiest_site = Counter(d[3] for d in documents).most_common(1)[0][0]
    facts.largest_topic = max(range(n_topics), key=lambda t: len(members[t]))
    facts.seconds = time.perf_counter() - start_time
    return facts


def facts_of(path: Path) -> Facts:
    """The facts of a knowledge base generated earlier (``--db`` on an existing file)."""
    from kb.db import open_db

    db = open_db(path)
    try:
        one = db.execute
        return Facts(
            statements=one("SELECT count(*) FROM statements").fetchone()[0],
            documents=one("SELECT count(*) FROM documents").fetchone()[0],
            comments=one("SELECT count(*) FROM comments").fetchone()[0],
            people=one("SELECT count(*) FROM people").fetchone()[0],
            labels=one("SELECT count(*) FROM labels").fetchone()[0],
            topics=one("SELECT count(*) FROM topics WHERE id != -1").fetchone()[0],
            busiest_person=one("SELECT speaker_person_id FROM statements WHERE speaker_person_id"
                               " IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC").fetchone()[0],
            busiest_document=one("SELECT document_id FROM comments GROUP BY 1"
                                 " ORDER BY count(*) DESC").fetchone()[0],
            busiest_site=one("SELECT site FROM documents WHERE site IS NOT NULL GROUP BY 1"
                             " ORDER BY count(*) DESC, site").fetchone()[0],
            largest_topic=one("SELECT topic_id FROM topic_assignments WHERE topic_id != -1"
                              " GROUP BY 1 ORDER BY count(*) DESC").fetchone()[0],
            debates={r[0]: [x["name"] for x in json.loads(r[1])]
                     for r in one("SELECT name, labels FROM debates ORDER BY name")})
    finally:
        db.close()


def check_derived(path: Path) -> list[str]:
    """The tables triggers keep (m007, m009) that differ from what they are derived from
    (``kb.derived``)."""
    from kb.db import open_db
    from kb.derived import derived_differences

    db = open_db(path)
    try:
        return sorted(derived_differences(db))
    finally:
        db.close()


def pages(facts: Facts) -> list[tuple[str, str]]:
    """(name, path) of every page type measured: the brief's list, then a few more filters
    and pages (marked +) that show where the floor is higher."""
    debate = "ownership" if "ownership" in facts.debates else next(iter(facts.debates))
    label = facts.debates[debate][1]
    person, document = facts.busiest_person, facts.busiest_document
    return [
        ("overview /", "/"),
        ("debates /debates/", "/debates/"),
        ("listing, no filter", "/positions/"),
        ("listing, label filter", f"/positions/?debate={debate}&label={label}"),
        ("listing, person", f"/positions/?person={person}"),
        ("listing, min confidence", "/positions/?min_confidence=0.9"),
        ("listing, least certain", "/positions/?sort=least-certain"),
        ("listing, page 20", "/positions/?page=20"),
        ("listing .json", f"/positions.json?debate={debate}"),
        ("listing .csv, filtered",
         f"/positions.csv?debate={debate}&label={label}&min_confidence=0.8"),
        ("search 'customer experience'", "/search/?q=" + quote("customer experience")),
        ("search 'marketing'", "/search/?q=marketing"),
        ("search 'own* NOT service'", "/search/?q=" + quote("own* NOT service")),
        ("thread /documents/ID", f"/documents/{document}"),
        ("person /people/ID", f"/people/{person}"),
        ("people /people/", "/people/"),
        ("topics /topics/", "/topics/"),
        ("topic /topics/ID", f"/topics/{facts.largest_topic}"),
        ("documents /documents/", "/documents/"),
        ("+ listing, sorted by date", "/positions/?sort=date"),
        ("+ listing, date range", "/positions/?since=2015-01-01&until=2016-12-31"),
        ("+ listing, topic", f"/positions/?topic={facts.largest_topic}"),
        ("+ listing, text contains", "/positions/?q=marketing"),
        ("+ listing, text contains (counted)", "/positions/?q=design"),
        ("+ search with facets 'silo'", "/search/?q=silo"),
        ("+ search 'silo', one site", f"/search/?q=silo&site={facts.busiest_site}"),
    ]


@contextmanager
def serving(db_path: Path):
    """The real app on waitress, 127.0.0.1, a free port; yields the port."""
    from waitress.server import create_server

    from kb.web import create_app, settle_for_serving
    from kb.web.db import get_db

    app = create_app({"DATABASE": str(db_path), "SECRET_KEY": "bench"})
    settle_for_serving()  # as `cxkb serve` does

    def floor() -> str:
        return str(get_db().execute("SELECT 1").fetchone()[0])

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # one client: no queue
    app.add_url_rule("/_bench/select1", endpoint="bench_select1", view_func=floor)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        time.sleep(0.2)  # let the last response's bookkeeping finish before closing
        server.close()
        thread.join(timeout=5)


def fetch(port: int, path: str) -> tuple[float, int, int, float, float]:
    """(milliseconds, status, bytes, CPU milliseconds, milliseconds to the first byte of
    the body) of one GET on a new connection. The CPU time is this process's (server and
    client: one request at a time), which other work on the machine changes far less than
    the elapsed time. The first byte tells when a streamed download (a CSV) starts."""
    start, cpu = time.perf_counter(), time.process_time()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read(1)
        first = time.perf_counter()
        body += response.read()
    finally:
        conn.close()
    return ((time.perf_counter() - start) * 1000, response.status, len(body),
            (time.process_time() - cpu) * 1000, (first - start) * 1000)


@dataclass
class Timing:
    name: str
    path: str
    p50: float
    p95: float
    max: float
    size: int
    status: int
    cpu: float = 0.0  # median CPU milliseconds (see fetch)
    first_p95: float = 0.0  # p95 of the milliseconds to the first byte of the body


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(port: int, name: str, path: str, requests: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        fetch(port, path)
    runs = [fetch(port, path) for _ in range(requests)]
    times = [r[0] for r in runs]
    return Timing(name, path, statistics.median(times), percentile(times, 0.95), max(times),
                  runs[-1][2], runs[-1][1], statistics.median(r[3] for r in runs),
                  percentile([r[4] for r in runs], 0.95))


def slow(t: Timing) -> bool:
    """Over the target at p95: a page's whole answer; a download's (.csv, streamed, as
    long as the rows it exports) first byte."""
    if t.name.startswith("floor"):
        return False
    return (t.first_p95 if ".csv" in t.name else t.p95) > TARGET_MS


def report(timings: list[Timing], before: dict[str, dict] | None) -> None:
    head = (f"{'page':36} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cpu ms':>7} {'KiB':>7}"
            f" {'1st p95':>8}")
    if before:
        head += f"   {'before p50':>10} {'before p95':>10} {'cpu':>6}"
    print(head)
    for t in timings:
        mark = "  SLOW" if slow(t) else ""
        status = "" if t.status == 200 else f"  (HTTP {t.status})"
        line = (f"{t.name:36} {t.p50:8.1f} {t.p95:8.1f} {t.max:8.1f} {t.cpu:7.1f}"
                f" {t.size / 1024:7.1f} {t.first_p95:8.1f}")
        if before:
            old = before.get(t.name)
            line += (f"   {old['p50']:10.1f} {old['p95']:10.1f} {old.get('cpu', 0):6.1f}"
                     if old else f"   {'':>28}")
        print(line + mark + status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--db", type=Path, help="keep the knowledge base here (reused if present)")
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--before", type=Path, help="print a run saved with --save beside")
    parser.add_argument("--check", action="store_true",
                        help="also check the tables triggers keep against their sources")
    args = parser.parse_args()
    if args.statements < 100:
        parser.error("--statements must be at least 100")
    before = None
    if args.before:
        before = {t["name"]: t for t in json.loads(args.before.read_text())["timings"]}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if path.exists():
            facts = facts_of(path)
            print(f"reusing {path}")
        else:
            facts = generate(path, args.statements)
            print(f"generated in {facts.seconds:.0f} s: {path}")
        print(f"{facts.statements:,} statements, {facts.documents:,} documents, "
              f"{facts.comments:,} comments, {facts.people:,} people, {facts.labels:,} labels, "
              f"{facts.topics} topics; {path.stat().st_size / 2**20:,.0f} MiB; "
              f"{args.requests} requests per page after 3 warm-ups")
        print(f"{os.cpu_count()} cores, load average before: "
              + " ".join(f"{x:.1f}" for x in os.getloadavg()) + "\n")
        if args.check:
            wrong = check_derived(path)
            print("derived tables: " + (f"DIFFER: {', '.join(wrong)}" if wrong else "all match")
                  + "\n")
        with serving(path) as port:
            timings = [measure(port, "floor: SELECT 1", "/_bench/select1", args.requests)]
            for name, page in pages(facts):
                timings.append(measure(port, name, page, args.requests))
    report(timings, before)
    print("load average after: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS of the process (server, its open connections' page caches, client):"
          f" {peak:,.0f} MiB")
    over = [t.name for t in timings if slow(t)]
    print(f"\n{len(over)} page(s) over {TARGET_MS:.0f} ms at p95" + (": " + ", ".join(over)
                                                                  if over else ""))
    if args.save:
        args.save.write_text(json.dumps({"facts": asdict(facts),
                                         "timings": [asdict(t) for t in timings]}, indent=1))


if __name__ == "__main__":
    main()
