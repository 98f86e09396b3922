"""The knowledge base schema as an ordered list of numbered migrations.

Each migration runs once and is recorded in ``_migrations``. Never edit one that has
shipped: append the next. ``kb.db.open_db`` applies pending migrations (after a backup
when the database already holds data).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from sqlite_utils import Database

Migration = Callable[[Database], None]


def m001_initial(db: Database) -> None:
    """Sources, documents, comments, people, statements, labels and the label archive."""
    db.executescript(
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            locator TEXT NOT NULL UNIQUE,      -- absolute path, URL, or stdin:<hash>
            kind TEXT NOT NULL,                -- file | url | stdin
            parser TEXT,                       -- which extractor produced the records
            content_hash TEXT,                 -- sha256 of the bytes last stored
            encoding TEXT,
            status TEXT NOT NULL,              -- ok | failed
            error TEXT,                        -- why the last attempt failed, if it did
            first_ingested_at TEXT NOT NULL,
            last_ingested_at TEXT NOT NULL
        );
        CREATE TABLE people (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT,                  -- role and organisation when known
            created_at TEXT NOT NULL
        );
        CREATE TABLE person_aliases (
            alias_key TEXT PRIMARY KEY,        -- normalised alias (lower case, single spaces)
            person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            alias TEXT NOT NULL
        );
        CREATE INDEX person_aliases_person ON person_aliases(person_id);
        CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            url TEXT,
            site TEXT,
            title TEXT NOT NULL,
            author TEXT,                       -- the displayed name, null when none is shown
            author_person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
            author_role TEXT,
            published TEXT,                    -- ISO 8601 date (or date-time) or null
            published_text TEXT,               -- the date as the page wrote it
            body TEXT NOT NULL,
            declared_comment_count INTEGER,    -- "9 Responses to ..." as the page says
            extra TEXT,                        -- JSON: author bio, related links, ...
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX documents_source ON documents(source_id);
        CREATE TABLE comments (
            id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES comments(id) ON DELETE SET NULL,
            position INTEGER NOT NULL,         -- reading order over the thread, 1-based
            depth INTEGER NOT NULL DEFAULT 0,
            author TEXT,
            author_url TEXT,
            author_person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
            posted_at TEXT,
            posted_at_text TEXT,
            text TEXT NOT NULL,
            external_id TEXT,
            permalink TEXT,
            kind TEXT NOT NULL DEFAULT 'comment',  -- comment | pingback | trackback
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX comments_document ON comments(document_id, position);
        CREATE INDEX comments_parent ON comments(parent_id);
        CREATE INDEX comments_person ON comments(author_person_id);
        CREATE TABLE statements (
            id TEXT PRIMARY KEY,
            document_id TEXT REFERENCES documents(id) ON DELETE CASCADE,
            comment_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
            start INTEGER NOT NULL,            -- character offsets into the body or text
            "end" INTEGER NOT NULL,
            text TEXT NOT NULL,
            speaker TEXT,
            speaker_person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
            kind TEXT NOT NULL DEFAULT 'sentence',
            method TEXT,
            created_at TEXT NOT NULL,
            CHECK ((document_id IS NULL) != (comment_id IS NULL))
        );
        CREATE INDEX statements_document ON statements(document_id);
        CREATE INDEX statements_comment ON statements(comment_id);
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            target_type TEXT NOT NULL CHECK (target_type IN
                ('statement', 'comment', 'document', 'person')),
            target_id TEXT NOT NULL,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            confidence REAL,
            method TEXT NOT NULL CHECK (method IN ('rule', 'model', 'human')),
            model_version TEXT,
            evidence TEXT,                     -- JSON: cue words, scores
            note TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (target_type, target_id, debate, method)
        );
        CREATE INDEX labels_target ON labels(target_type, target_id);
        CREATE TABLE label_archive (
            id INTEGER PRIMARY KEY,
            label_id INTEGER NOT NULL,
            target_type TEXT NOT NULL,
            target_id TEXT NOT NULL,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            confidence REAL,
            method TEXT NOT NULL,
            model_version TEXT,
            evidence TEXT,
            note TEXT,
            created_at TEXT NOT NULL,
            archived_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            target_snapshot TEXT               -- JSON of the labelled row when archived
        );
        -- A human label is never changed by an automatic method ...
        CREATE TRIGGER labels_human_not_overwritten BEFORE UPDATE ON labels
        WHEN OLD.method = 'human' AND NEW.method != 'human'
        BEGIN
            SELECT RAISE(ABORT, 'human labels are never overwritten by automatic methods');
        END;
        -- ... and never deleted unless a copy is in the archive first.
        CREATE TRIGGER labels_human_archived_before_delete BEFORE DELETE ON labels
        WHEN OLD.method = 'human'
             AND NOT EXISTS (SELECT 1 FROM label_archive WHERE label_id = OLD.id)
        BEGIN
            SELECT RAISE(ABORT, 'human labels must be archived before they are deleted');
        END;
        """
    )


def m002_full_text_search(db: Database) -> None:
    """FTS5 indexes over documents, comments and statements, kept current by triggers."""
    db["documents"].enable_fts(["title", "body"], fts_version="FTS5", create_triggers=True,
                               tokenize="porter")
    db["comments"].enable_fts(["author", "text"], fts_version="FTS5", create_triggers=True,
                              tokenize="porter")
    db["statements"].enable_fts(["text"], fts_version="FTS5", create_triggers=True,
                                tokenize="porter")


def m003_positions(db: Database) -> None:
    """Who made a human label, analysis bookkeeping, relations between comments, and the
    positions of people per thread."""
    db.executescript(
        """
        ALTER TABLE labels ADD COLUMN annotator TEXT;       -- who made a human label
        ALTER TABLE statements ADD COLUMN flag TEXT;        -- uncertain | unbalanced speaker
        ALTER TABLE label_archive ADD COLUMN annotator TEXT;
        ALTER TABLE label_archive ADD COLUMN restored_at TEXT;  -- set when an undo restores it
        -- the label that counts for each target and debate: human, else rule, else model
        CREATE VIEW effective_labels AS
        SELECT * FROM labels AS l WHERE NOT EXISTS (
            SELECT 1 FROM labels AS o
            WHERE o.target_type = l.target_type AND o.target_id = l.target_id
              AND o.debate = l.debate
              AND (CASE o.method WHEN 'human' THEN 2 WHEN 'rule' THEN 1 ELSE 0 END)
                > (CASE l.method WHEN 'human' THEN 2 WHEN 'rule' THEN 1 ELSE 0 END));
        -- which text a statement set was cut from, so unchanged text is not re-split
        CREATE TABLE segmented (
            parent_type TEXT NOT NULL,         -- document | comment
            parent_id TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            method TEXT NOT NULL,
            segmented_at TEXT NOT NULL,
            PRIMARY KEY (parent_type, parent_id)
        );
        CREATE TABLE relations (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                -- replies_to | addresses | agrees_with | disagrees_with
            document_id TEXT REFERENCES documents(id) ON DELETE CASCADE,
            source_comment_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
            target_comment_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
            source_person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
            target_person_id TEXT REFERENCES people(id) ON DELETE SET NULL,
            source_name TEXT,
            target_name TEXT,
            statement_id TEXT REFERENCES statements(id) ON DELETE CASCADE,
            evidence TEXT,                     -- the words that show the relation
            method TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX relations_document ON relations(document_id);
        CREATE INDEX relations_source ON relations(source_comment_id);
        CREATE TABLE person_positions (
            person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            confidence REAL,
            n_items INTEGER NOT NULL,          -- comments and statements it rests on
            method TEXT NOT NULL,
            model_version TEXT,
            evidence TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (person_id, document_id, debate)
        );
        CREATE INDEX labels_debate ON labels(debate, target_type, label);
        CREATE TABLE figures (
            id INTEGER PRIMARY KEY,
            document_id TEXT REFERENCES documents(id) ON DELETE CASCADE,
            comment_id TEXT REFERENCES comments(id) ON DELETE CASCADE,
            statement_id TEXT REFERENCES statements(id) ON DELETE SET NULL,
            value TEXT NOT NULL,               -- as written: "62%", "about one third"
            measure TEXT,                      -- what the value measures
            population TEXT,                   -- who was asked, where stated
            source TEXT,                       -- the survey, firm or author behind it
            start INTEGER NOT NULL,            -- offsets of the value in the text
            "end" INTEGER NOT NULL
        );
        CREATE INDEX figures_document ON figures(document_id);
        -- the debates the analysis ran for, so pages can show them without the nlp package
        CREATE TABLE debates (
            name TEXT PRIMARY KEY,
            question TEXT NOT NULL,
            labels TEXT NOT NULL,              -- JSON: [{"name", "description"}] in order
            default_label TEXT NOT NULL,
            model_version TEXT,
            analysed_at TEXT NOT NULL
        );
        """
    )


def m004_topics(db: Database) -> None:
    """Topics: cached embeddings, stable topic ids with labels and user edits, and which
    statement belongs to which topic."""
    db.executescript(
        """
        CREATE TABLE embeddings (
            text_hash TEXT NOT NULL,           -- sha1 of the text embedded
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,              -- float32, little-endian
            PRIMARY KEY (text_hash, model)
        );
        CREATE TABLE topics (
            id INTEGER PRIMARY KEY,            -- stable across refits; -1 holds the outliers
            label TEXT NOT NULL,               -- generated from the keywords
            custom_label TEXT,                 -- a user's rename, kept across refits
            keywords TEXT NOT NULL,            -- JSON list
            representative TEXT NOT NULL,      -- JSON: statement ids, most typical first
            size INTEGER NOT NULL,
            status TEXT NOT NULL,              -- active | merged | gone
            merged_into INTEGER,
            centroid BLOB,                     -- float32 mean embedding
            x REAL, y REAL,                    -- position on the topic map
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE topic_assignments (
            statement_id TEXT PRIMARY KEY REFERENCES statements(id) ON DELETE CASCADE,
            topic_id INTEGER NOT NULL,
            score REAL,
            method TEXT NOT NULL,              -- model | human (a user's move; kept on refit)
            updated_at TEXT NOT NULL
        );
        CREATE INDEX topic_assignments_topic ON topic_assignments(topic_id);
        CREATE TABLE topic_runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                -- fit | assign
            at TEXT NOT NULL,
            n_texts INTEGER NOT NULL,
            params TEXT NOT NULL,              -- JSON
            report TEXT NOT NULL               -- JSON: new, kept, merged, gone, seconds
        );
        CREATE TABLE topic_merges (            -- a user's merges, replayed after a refit
            from_id INTEGER PRIMARY KEY,
            into_id INTEGER NOT NULL,
            at TEXT NOT NULL
        );
        """
    )


def m005_web_sources(db: Database) -> None:
    """Web ingest: comments that vanished from their page are kept and marked, and every
    fetched response is kept so extraction can run again without the network."""
    db.executescript(
        """
        ALTER TABLE comments ADD COLUMN missing_since TEXT;  -- gone from the source since
        ALTER TABLE sources ADD COLUMN url TEXT;             -- the page's address, if any
        -- relations.kind gains 'quotes' (a forum quote box naming whom it quotes)
        CREATE TABLE fetched (
            url TEXT PRIMARY KEY,              -- as requested
            final_url TEXT NOT NULL,           -- after redirects
            status INTEGER NOT NULL,
            content_type TEXT,
            charset TEXT,
            etag TEXT,
            last_modified TEXT,
            headers TEXT NOT NULL,             -- JSON, lower-case names
            redirects TEXT NOT NULL,           -- JSON list of hops
            body BLOB NOT NULL,                -- zlib-compressed raw body
            size INTEGER NOT NULL,             -- uncompressed bytes
            fetched_at TEXT NOT NULL
        );
        """
    )


def m006_jobs_and_users(db: Database) -> None:
    """Work the web UI starts (adding a source, retraining) as jobs a worker process runs,
    and the editors who may write when the UI is served beyond this machine."""
    db.executescript(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                -- ingest | analyze | train
            params TEXT NOT NULL,              -- JSON
            status TEXT NOT NULL,              -- queued | running | done | failed
            progress TEXT,                     -- the latest line of progress, for the page
            done_units INTEGER NOT NULL DEFAULT 0,
            total_units INTEGER,
            result TEXT,                       -- JSON, when done
            error TEXT,                        -- why it failed
            requested_by TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            worker_pid INTEGER
        );
        CREATE INDEX jobs_status ON jobs(status, id);
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,       -- werkzeug scrypt/pbkdf2 hash, never the password
            role TEXT NOT NULL DEFAULT 'editor',
            created_at TEXT NOT NULL,
            last_login_at TEXT
        );
        """
    )


# the effective label of one statement in one debate, with what the listing filters on
_POSITION_ROWS = """
    INSERT INTO statement_positions
        (statement_id, debate, label, method, confidence, document_id, person_id, day,
         text_length)
    SELECT e.target_id, e.debate, e.label, e.method, e.confidence, d.id, s.speaker_person_id,
           substr(coalesce(c.posted_at, d.published), 1, 10), length(s.text)
    FROM effective_labels AS e JOIN statements AS s ON s.id = e.target_id
    LEFT JOIN comments AS c ON c.id = s.comment_id
    JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
    WHERE e.target_type = 'statement'"""


def _refresh(statements: str, debate: str | None = None, rows: str = _POSITION_ROWS) -> str:
    """Trigger body: recompute the listing rows of the statements picked by ``statements``
    (an SQL condition on a statement id ``{}``), in ``debate`` or in all debates. Rows are
    deleted and inserted, never replaced or updated, so the count triggers see every
    change. For one debate, the label that counts is the one of highest precedence (what
    the view picks, found without testing each label against the others). ``rows`` is the
    INSERT of the rows (m007's, or m009's with the topic)."""
    where = statements.format("statement_id") + (f" AND debate = {debate}" if debate else "")
    delete = f"DELETE FROM statement_positions WHERE {where};"
    if debate is None:
        return f"{delete}\n{rows} AND {statements.format('e.target_id')};"
    best = (rows.replace("effective_labels AS e", "labels AS e")
            + f" AND {statements.format('e.target_id')} AND e.debate = {debate}"
            " ORDER BY (CASE e.method WHEN 'human' THEN 2 WHEN 'rule' THEN 1 ELSE 0 END) DESC"
            " LIMIT 1")
    return f"{delete}\n{best};"


def _count(table: str, key: str, row: str, step: str) -> str:
    """Trigger body: add ``step`` (1 or -1) to the count of ``row`` (NEW or OLD) in
    ``table``, keyed by its column ``key`` (if any), debate, label and method. A count
    that falls to 0 stays as a row with n = 0 (readers skip those)."""
    columns = f"{key}, debate, label, method" if key else "debate, label, method"
    values = ", ".join(f"{row}.{c.strip()}" for c in columns.split(","))
    return (f"INSERT INTO {table} ({columns}, n) VALUES ({values}, {step})"
            f" ON CONFLICT ({columns}) DO UPDATE SET n = n + {step};")


# A label counts when no other label of its target and debate outranks it (human, then
# rule, then model: the effective_labels view). After a row is written, the others of its
# target and debate tell whether it counts and which one it displaced, or which one counts
# once it is gone; an update is the old row gone and the new one written. Counts only move
# by +1 and -1 (never set), so the two update triggers may run in either order. (A row
# removed by INSERT OR REPLACE fires no delete trigger while recursive_triggers is off:
# nothing writes labels that way, and nothing may.)
_PRECEDENCE = "(CASE {}.method WHEN 'human' THEN 2 WHEN 'rule' THEN 1 ELSE 0 END)"
_OTHERS = ("FROM labels AS o WHERE o.target_type = {0}.target_type"
           " AND o.target_id = {0}.target_id AND o.debate = {0}.debate AND o.id != {0}.id")
_OUTRANKS = (f"(SELECT max({_PRECEDENCE.format('o')}) {_OTHERS}) >= "
             + _PRECEDENCE.format("{0}"))


def _label_step(row: str, step: str) -> str:
    """Add ``step`` to the label of ``row`` itself."""
    return (f"INSERT INTO label_counts (debate, target_type, label, n)"
            f" VALUES ({row}.debate, {row}.target_type, {row}.label, {step})"
            f" ON CONFLICT (debate, target_type, label) DO UPDATE SET n = n + {step};")


def _best_other(row: str, step: str) -> str:
    """Add ``step`` to the label of the best of the others of ``row`` (if there is one)."""
    return (f"INSERT INTO label_counts (debate, target_type, label, n)"
            f" SELECT o.debate, o.target_type, o.label, {step} {_OTHERS.format(row)}"
            f" ORDER BY {_PRECEDENCE.format('o')} DESC LIMIT 1"
            f" ON CONFLICT (debate, target_type, label) DO UPDATE SET n = n + {step};")


def _written(event: str, row: str) -> str:
    """A row written that no other outranks counts, and the best of the others stops."""
    outranked = _OUTRANKS.format(row)
    return (f"AFTER {event} ON labels WHEN coalesce({outranked}, 0) = 0 BEGIN"
            f" {_best_other(row, '-1')} {_label_step(row, '1')} END;")


def _gone(event: str, row: str) -> str:
    """A row gone that no other outranked stops counting; the best of the others counts."""
    outranked = _OUTRANKS.format(row)
    return (f"AFTER {event} ON labels WHEN coalesce({outranked}, 0) = 0 BEGIN"
            f" {_label_step(row, '-1')} {_best_other(row, '1')} END;")


_LABEL_COUNT_TRIGGERS = f"""
        CREATE TRIGGER label_counts_insert {_written("INSERT", "NEW")}
        CREATE TRIGGER label_counts_delete {_gone("DELETE", "OLD")}
        CREATE TRIGGER label_counts_update_old
        {_gone("UPDATE OF target_type, target_id, debate, label, method", "OLD")}
        CREATE TRIGGER label_counts_update_new
        {_written("UPDATE OF target_type, target_id, debate, label, method", "NEW")}"""


def m007_listing_indexes(db: Database) -> None:
    """Indexes for the web pages, and ``statement_positions``: the effective label of every
    statement per debate (the ``effective_labels`` view joined to its statement and
    document), with its counts in all, per document and per person, kept current by
    triggers on labels, statements and comments, so that the position listing filters,
    counts facets and sorts 100k statements from indexes."""
    db.executescript(
        f"""
        CREATE INDEX statements_person ON statements(speaker_person_id);
        CREATE INDEX documents_published ON documents(published IS NULL, published DESC, title);
        CREATE INDEX documents_site ON documents(site, id);
        CREATE INDEX relations_source_person ON relations(source_person_id);
        CREATE INDEX relations_target_person ON relations(target_person_id);
        -- how many targets of each type hold each label in each debate: the rows of the
        -- effective_labels view, counted (the overview); see _LABEL_COUNT_TRIGGERS
        CREATE TABLE label_counts (
            debate TEXT NOT NULL,
            target_type TEXT NOT NULL,
            label TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (debate, target_type, label)
        ) WITHOUT ROWID;
        INSERT INTO label_counts
        SELECT debate, target_type, label, count(*) FROM effective_labels
        GROUP BY debate, target_type, label;
        {_LABEL_COUNT_TRIGGERS}
        CREATE TABLE statement_positions (
            statement_id TEXT NOT NULL,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            method TEXT NOT NULL,
            confidence REAL,
            document_id TEXT NOT NULL,
            person_id TEXT,                    -- the statement's speaker_person_id
            day TEXT,                          -- YYYY-MM-DD: its comment's, else document's
            text_length INTEGER NOT NULL,      -- length(statements.text)
            PRIMARY KEY (statement_id, debate)
        ) WITHOUT ROWID;
        -- sorting by confidence (the listing; the overview's strongest quotes, longest
        -- first among equals) and filtering on it, reading nothing but this index
        CREATE INDEX statement_positions_confidence ON statement_positions(
            confidence, text_length, debate, label, method, person_id, document_id, day);
        CREATE INDEX statement_positions_person ON statement_positions(person_id);
        CREATE INDEX statement_positions_document ON statement_positions(document_id);
        -- how many rows of statement_positions there are per debate, label and method,
        -- in all and per document and person: the listing's facets when nothing else is
        -- chosen
        CREATE TABLE position_counts (
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            method TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (debate, label, method)
        ) WITHOUT ROWID;
        CREATE TABLE position_counts_by_document (
            document_id TEXT NOT NULL,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            method TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (document_id, debate, label, method)
        ) WITHOUT ROWID;
        CREATE TABLE position_counts_by_person (
            person_id TEXT NOT NULL,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            method TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (person_id, debate, label, method)
        ) WITHOUT ROWID;
        {_POSITION_ROWS};
        INSERT INTO position_counts
        SELECT debate, label, method, count(*) FROM statement_positions
        GROUP BY debate, label, method;
        INSERT INTO position_counts_by_document
        SELECT document_id, debate, label, method, count(*) FROM statement_positions
        GROUP BY document_id, debate, label, method;
        INSERT INTO position_counts_by_person
        SELECT person_id, debate, label, method, count(*) FROM statement_positions
        WHERE person_id IS NOT NULL GROUP BY person_id, debate, label, method;
        CREATE TRIGGER position_counts_insert AFTER INSERT ON statement_positions
        BEGIN {_count("position_counts", "", "NEW", "1")} END;
        CREATE TRIGGER position_counts_delete AFTER DELETE ON statement_positions
        BEGIN {_count("position_counts", "", "OLD", "-1")} END;
        CREATE TRIGGER position_counts_document_insert AFTER INSERT ON statement_positions
        BEGIN {_count("position_counts_by_document", "document_id", "NEW", "1")} END;
        CREATE TRIGGER position_counts_document_delete AFTER DELETE ON statement_positions
        BEGIN {_count("position_counts_by_document", "document_id", "OLD", "-1")} END;
        CREATE TRIGGER position_counts_person_insert AFTER INSERT ON statement_positions
        WHEN NEW.person_id IS NOT NULL
        BEGIN {_count("position_counts_by_person", "person_id", "NEW", "1")} END;
        CREATE TRIGGER position_counts_person_delete AFTER DELETE ON statement_positions
        WHEN OLD.person_id IS NOT NULL
        BEGIN {_count("position_counts_by_person", "person_id", "OLD", "-1")} END;
        CREATE TRIGGER statement_positions_label_insert AFTER INSERT ON labels
        WHEN NEW.target_type = 'statement'
        BEGIN {_refresh("{} = NEW.target_id", "NEW.debate")} END;
        CREATE TRIGGER statement_positions_label_update
        AFTER UPDATE OF target_type, target_id, debate, label, confidence, method ON labels
        WHEN OLD.target_type = 'statement' OR NEW.target_type = 'statement'
        BEGIN
            {_refresh("{} = OLD.target_id", "OLD.debate")}
            {_refresh("{} = NEW.target_id", "NEW.debate")}
        END;
        CREATE TRIGGER statement_positions_label_delete AFTER DELETE ON labels
        WHEN OLD.target_type = 'statement'
        BEGIN {_refresh("{} = OLD.target_id", "OLD.debate")} END;
        CREATE TRIGGER statement_positions_statement_insert AFTER INSERT ON statements
        BEGIN {_refresh("{} = NEW.id")} END;
        CREATE TRIGGER statement_positions_statement_update
        AFTER UPDATE OF id, document_id, comment_id, speaker_person_id, text ON statements
        WHEN OLD.id IS NOT NEW.id OR OLD.document_id IS NOT NEW.document_id
          OR OLD.comment_id IS NOT NEW.comment_id
          OR OLD.speaker_person_id IS NOT NEW.speaker_person_id OR OLD.text IS NOT NEW.text
        BEGIN
            DELETE FROM statement_positions WHERE statement_id = OLD.id;
            {_refresh("{} = NEW.id")}
        END;
        CREATE TRIGGER statement_positions_statement_delete AFTER DELETE ON statements
        BEGIN DELETE FROM statement_positions WHERE statement_id = OLD.id; END;
        CREATE TRIGGER statement_positions_comment_update
        AFTER UPDATE OF document_id, posted_at ON comments
        WHEN OLD.document_id IS NOT NEW.document_id OR OLD.posted_at IS NOT NEW.posted_at
        BEGIN
            {_refresh("{} IN (SELECT id FROM statements WHERE comment_id = NEW.id)")}
        END;
        CREATE TRIGGER statement_positions_document_update AFTER UPDATE OF published ON documents
        WHEN OLD.published IS NOT NEW.published
        BEGIN
            {_refresh("{} IN (SELECT id FROM statements WHERE document_id = NEW.id UNION ALL"
                      " SELECT s.id FROM comments AS c JOIN statements AS s"
                      " ON s.comment_id = c.id WHERE c.document_id = NEW.id)")}
        END;
        """
    )


def m008_crawl_frontier(db: Database) -> None:
    """Focused crawls (``cxkb crawl``): each crawl's topic, seeds and options, and its
    frontier: every URL it found, keyed by canonical form, with where it was found, its
    relevance before and after fetching, and what became of it."""
    db.executescript(
        """
        CREATE TABLE crawls (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,               -- a debate's name, or free text
            seeds TEXT NOT NULL,               -- JSON list of URLs
            options TEXT NOT NULL,             -- JSON: strategy, same_site, max_depth ...
            round INTEGER NOT NULL DEFAULT 1,  -- a re-crawl of a finished frontier adds one
            requests INTEGER NOT NULL DEFAULT 0,  -- requests made, all runs (robots.txt aside)
            status TEXT NOT NULL,              -- running | stopped | done
            stop_reason TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE crawl_urls (
            crawl_id INTEGER NOT NULL REFERENCES crawls(id) ON DELETE CASCADE,
            key TEXT NOT NULL,                 -- canonical URL: the de-duplication key
            url TEXT NOT NULL,                 -- the address as found, and fetched
            final_url TEXT,                    -- after redirects
            site TEXT NOT NULL,                -- scheme://host:port
            shape TEXT NOT NULL,               -- ingest.urls.url_shape: families of pages
            kind TEXT NOT NULL,                -- page | sitemap | feed: what is expected
            via TEXT NOT NULL,                 -- how it was found: seed, sitemap, feed,
                                               -- related, text, pagination, nav, comment ...
            found_on TEXT,                     -- the URL it was found on
            anchor TEXT,
            depth INTEGER NOT NULL,
            off_topic_run INTEGER NOT NULL DEFAULT 0,  -- off-topic pages passed to reach it
            link_score REAL,                   -- relevance before fetching, 0..1
            parent_score REAL,                 -- relevance of the page it was found on
            priority REAL NOT NULL,
            state TEXT NOT NULL,               -- queued | ingested | skipped | listing |
                                               -- duplicate | unchanged | failed | excluded
            page_score REAL,                   -- relevance after fetching, 0..1
            reason TEXT,                       -- why skipped, failed, excluded, a duplicate
            source_id TEXT,                    -- the stored source, when ingested
            content_hash TEXT,                 -- of the extracted text
            simhash TEXT,                      -- 64-bit, hex: near-duplicate detection
            http_status INTEGER,
            round INTEGER NOT NULL,
            seq INTEGER NOT NULL,              -- discovery order
            discovered_at TEXT NOT NULL,
            fetched_at TEXT,
            PRIMARY KEY (crawl_id, key)
        );
        CREATE INDEX crawl_urls_best ON crawl_urls(crawl_id, state, priority DESC, seq);
        CREATE INDEX crawl_urls_fifo ON crawl_urls(crawl_id, state, seq);
        CREATE INDEX crawl_urls_shape ON crawl_urls(crawl_id, shape);
        """
    )


# m009: the listing row as m007 writes it, with the label's model version and the
# statement's topic
_TOPIC_ROWS = """
    INSERT INTO statement_positions
        (statement_id, debate, label, method, confidence, document_id, person_id, day,
         text_length, model_version, topic_id)
    SELECT e.target_id, e.debate, e.label, e.method, e.confidence, d.id, s.speaker_person_id,
           substr(coalesce(c.posted_at, d.published), 1, 10), length(s.text), e.model_version,
           (SELECT a.topic_id FROM topic_assignments AS a WHERE a.statement_id = s.id)
    FROM effective_labels AS e JOIN statements AS s ON s.id = e.target_id
    LEFT JOIN comments AS c ON c.id = s.comment_id
    JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
    WHERE e.target_type = 'statement'"""

# one row per statement (whatever its labels) with what pages group and filter it by
_FACT_ROWS = """
    INSERT INTO statement_facts
        (statement_rowid, statement_id, document_id, person_id, speaker, day, topic_id)
    SELECT s.rowid, s.id, d.id, s.speaker_person_id, s.speaker,
           substr(coalesce(c.posted_at, d.published), 1, 10),
           (SELECT a.topic_id FROM topic_assignments AS a WHERE a.statement_id = s.id)
    FROM statements AS s LEFT JOIN comments AS c ON c.id = s.comment_id
    JOIN documents AS d ON d.id = coalesce(s.document_id, c.document_id)
    WHERE {}"""


def _facts(statements: str) -> str:
    """Trigger body: recompute the statement_facts rows of the statements picked by
    ``statements`` (an SQL condition on the statements row ``s``)."""
    return (f"DELETE FROM statement_facts WHERE statement_rowid IN"
            f" (SELECT s.rowid FROM statements AS s WHERE {statements});"
            f"{_FACT_ROWS.format(statements)};")


def _set_topic(statement: str) -> str:
    """Trigger body: give the listing and fact rows of ``statement`` (an SQL expression)
    the topic its topic_assignments row names, or none. Set, never counted up or down, so
    an INSERT OR REPLACE (which fires no delete trigger) still leaves it right."""
    topic = f"(SELECT a.topic_id FROM topic_assignments AS a WHERE a.statement_id = {statement})"
    return "".join(
        f" UPDATE {table} SET topic_id = {topic}"
        f" WHERE statement_id = {statement} AND topic_id IS NOT {topic};"
        for table in ("statement_positions", "statement_facts"))


def _person_step(column: str, row: str, step: str) -> str:
    """Trigger body: add ``step`` to the ``column`` count (statements or comments) of the
    person ``row`` names."""
    return (f"INSERT INTO person_counts (person_id, {column}) VALUES ({row}, {step})"
            f" ON CONFLICT (person_id) DO UPDATE SET {column} = {column} + {step};")


def _person_count_triggers(table: str, column: str, person: str) -> str:
    """Keep person_counts.``column`` the number of rows of ``table`` whose ``person``
    column names each person."""
    return f"""
        CREATE TRIGGER person_counts_{table}_insert AFTER INSERT ON {table}
        WHEN NEW.{person} IS NOT NULL
        BEGIN {_person_step(column, f"NEW.{person}", "1")} END;
        CREATE TRIGGER person_counts_{table}_delete AFTER DELETE ON {table}
        WHEN OLD.{person} IS NOT NULL
        BEGIN {_person_step(column, f"OLD.{person}", "-1")} END;
        CREATE TRIGGER person_counts_{table}_update AFTER UPDATE OF {person} ON {table}
        WHEN OLD.{person} IS NOT NEW.{person}
        BEGIN
            INSERT INTO person_counts (person_id, {column})
            SELECT OLD.{person}, -1 WHERE OLD.{person} IS NOT NULL
            ON CONFLICT (person_id) DO UPDATE SET {column} = {column} - 1;
            INSERT INTO person_counts (person_id, {column})
            SELECT NEW.{person}, 1 WHERE NEW.{person} IS NOT NULL
            ON CONFLICT (person_id) DO UPDATE SET {column} = {column} + 1;
        END;"""


def m009_topic_person_facts(db: Database) -> None:
    """What the listing's topic filter, topic pages, the people list and search facets read
    instead of joining every statement: the topic and the label's model version of each
    ``statement_positions`` row (and its counts per topic), ``statement_facts`` (one row
    per statement, keyed by the rowid the statements FTS index uses: its document,
    speaker, day and topic) and ``person_counts`` (statements and comments per person),
    all kept by triggers, and indexes for the listing's label, topic, person and date
    filters. The m007 triggers that write listing rows are replaced by the same ones
    writing the topic and model version too."""
    db.executescript(
        f"""
        ALTER TABLE statement_positions ADD COLUMN topic_id INTEGER;  -- topic_assignments'
        ALTER TABLE statement_positions ADD COLUMN model_version TEXT;  -- the label's
        UPDATE statement_positions SET topic_id = a.topic_id FROM topic_assignments AS a
        WHERE a.statement_id = statement_positions.statement_id;
        UPDATE statement_positions SET model_version = l.model_version FROM labels AS l
        WHERE l.target_type = 'statement' AND l.target_id = statement_positions.statement_id
          AND l.debate = statement_positions.debate AND l.method = statement_positions.method;
        -- the listing filtered by topic, person or dates counts its facets from one index
        CREATE INDEX statement_positions_topic ON statement_positions(
            topic_id, debate, label, method, confidence, person_id, document_id, day);
        -- a debate's position in confidence order, longest first among equals (the
        -- listing and its export, the overview's strongest quotes), read from this alone
        CREATE INDEX statement_positions_label ON statement_positions(
            debate, label, confidence, text_length, method, statement_id, document_id);
        DROP INDEX statement_positions_person;  -- m007's, on person_id alone
        CREATE INDEX statement_positions_person ON statement_positions(
            person_id, debate, label, method, confidence, document_id, day, topic_id);
        CREATE INDEX statement_positions_day ON statement_positions(
            day, debate, label, method, confidence, person_id, document_id, topic_id);
        CREATE TABLE position_counts_by_topic (
            topic_id INTEGER NOT NULL,
            debate TEXT NOT NULL,
            label TEXT NOT NULL,
            method TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (topic_id, debate, label, method)
        ) WITHOUT ROWID;
        INSERT INTO position_counts_by_topic
        SELECT topic_id, debate, label, method, count(*) FROM statement_positions
        WHERE topic_id IS NOT NULL GROUP BY topic_id, debate, label, method;
        -- rows are inserted and deleted (m007), and only their topic is ever updated
        CREATE TRIGGER position_counts_topic_insert AFTER INSERT ON statement_positions
        WHEN NEW.topic_id IS NOT NULL
        BEGIN {_count("position_counts_by_topic", "topic_id", "NEW", "1")} END;
        CREATE TRIGGER position_counts_topic_delete AFTER DELETE ON statement_positions
        WHEN OLD.topic_id IS NOT NULL
        BEGIN {_count("position_counts_by_topic", "topic_id", "OLD", "-1")} END;
        CREATE TRIGGER position_counts_topic_update_old AFTER UPDATE OF topic_id
        ON statement_positions WHEN OLD.topic_id IS NOT NULL
        BEGIN {_count("position_counts_by_topic", "topic_id", "OLD", "-1")} END;
        CREATE TRIGGER position_counts_topic_update_new AFTER UPDATE OF topic_id
        ON statement_positions WHEN NEW.topic_id IS NOT NULL
        BEGIN {_count("position_counts_by_topic", "topic_id", "NEW", "1")} END;
        -- m007's triggers that write listing rows, now writing the topic too
        DROP TRIGGER statement_positions_label_insert;
        DROP TRIGGER statement_positions_label_update;
        DROP TRIGGER statement_positions_label_delete;
        DROP TRIGGER statement_positions_statement_insert;
        DROP TRIGGER statement_positions_statement_update;
        DROP TRIGGER statement_positions_comment_update;
        DROP TRIGGER statement_positions_document_update;
        CREATE TRIGGER statement_positions_label_insert AFTER INSERT ON labels
        WHEN NEW.target_type = 'statement'
        BEGIN {_refresh("{} = NEW.target_id", "NEW.debate", _TOPIC_ROWS)} END;
        CREATE TRIGGER statement_positions_label_update
        AFTER UPDATE OF target_type, target_id, debate, label, confidence, method,
            model_version ON labels
        WHEN OLD.target_type = 'statement' OR NEW.target_type = 'statement'
        BEGIN
            {_refresh("{} = OLD.target_id", "OLD.debate", _TOPIC_ROWS)}
            {_refresh("{} = NEW.target_id", "NEW.debate", _TOPIC_ROWS)}
        END;
        CREATE TRIGGER statement_positions_label_delete AFTER DELETE ON labels
        WHEN OLD.target_type = 'statement'
        BEGIN {_refresh("{} = OLD.target_id", "OLD.debate", _TOPIC_ROWS)} END;
        CREATE TRIGGER statement_positions_statement_insert AFTER INSERT ON statements
        BEGIN {_refresh("{} = NEW.id", rows=_TOPIC_ROWS)} END;
        CREATE TRIGGER statement_positions_statement_update
        AFTER UPDATE OF id, document_id, comment_id, speaker_person_id, text ON statements
        WHEN OLD.id IS NOT NEW.id OR OLD.document_id IS NOT NEW.document_id
          OR OLD.comment_id IS NOT NEW.comment_id
          OR OLD.speaker_person_id IS NOT NEW.speaker_person_id OR OLD.text IS NOT NEW.text
        BEGIN
            DELETE FROM statement_positions WHERE statement_id = OLD.id;
            {_refresh("{} = NEW.id", rows=_TOPIC_ROWS)}
        END;
        CREATE TRIGGER statement_positions_comment_update
        AFTER UPDATE OF document_id, posted_at ON comments
        WHEN OLD.document_id IS NOT NEW.document_id OR OLD.posted_at IS NOT NEW.posted_at
        BEGIN
            {_refresh("{} IN (SELECT id FROM statements WHERE comment_id = NEW.id)",
                      rows=_TOPIC_ROWS)}
        END;
        CREATE TRIGGER statement_positions_document_update AFTER UPDATE OF published ON documents
        WHEN OLD.published IS NOT NEW.published
        BEGIN
            {_refresh("{} IN (SELECT id FROM statements WHERE document_id = NEW.id UNION ALL"
                      " SELECT s.id FROM comments AS c JOIN statements AS s"
                      " ON s.comment_id = c.id WHERE c.document_id = NEW.id)",
                      rows=_TOPIC_ROWS)}
        END;
        CREATE TABLE statement_facts (
            statement_rowid INTEGER PRIMARY KEY,  -- statements.rowid = statements_fts.rowid
            statement_id TEXT NOT NULL UNIQUE,
            document_id TEXT NOT NULL,         -- its own, or its comment's
            person_id TEXT,                    -- speaker_person_id
            speaker TEXT,
            day TEXT,                          -- as statement_positions.day
            topic_id INTEGER                   -- topic_assignments', if any
        );
        {_FACT_ROWS.format("1")};
        -- a topic page's crossings (documents and speakers) read this index alone
        CREATE INDEX statement_facts_topic ON statement_facts(topic_id, document_id, speaker);
        CREATE TRIGGER statement_facts_statement_insert AFTER INSERT ON statements
        BEGIN {_facts("s.rowid = NEW.rowid")} END;
        CREATE TRIGGER statement_facts_statement_update
        AFTER UPDATE OF id, document_id, comment_id, speaker, speaker_person_id ON statements
        WHEN OLD.id IS NOT NEW.id OR OLD.document_id IS NOT NEW.document_id
          OR OLD.comment_id IS NOT NEW.comment_id OR OLD.speaker IS NOT NEW.speaker
          OR OLD.speaker_person_id IS NOT NEW.speaker_person_id
        BEGIN
            DELETE FROM statement_facts WHERE statement_rowid = OLD.rowid;
            {_facts("s.rowid = NEW.rowid")}
        END;
        CREATE TRIGGER statement_facts_statement_delete AFTER DELETE ON statements
        BEGIN DELETE FROM statement_facts WHERE statement_rowid = OLD.rowid; END;
        CREATE TRIGGER statement_facts_comment_update
        AFTER UPDATE OF document_id, posted_at ON comments
        WHEN OLD.document_id IS NOT NEW.document_id OR OLD.posted_at IS NOT NEW.posted_at
        BEGIN {_facts("s.comment_id = NEW.id")} END;
        CREATE TRIGGER statement_facts_document_update AFTER UPDATE OF published ON documents
        WHEN OLD.published IS NOT NEW.published
        BEGIN
            {_facts("s.document_id = NEW.id")}
            {_facts("s.comment_id IN (SELECT id FROM comments WHERE document_id = NEW.id)")}
        END;
        -- a topic's statements, moved by hand first, then most typical first
        CREATE INDEX topic_assignments_typical ON topic_assignments(
            topic_id, method = 'human' DESC, score DESC, statement_id);
        CREATE TRIGGER statement_topic_insert AFTER INSERT ON topic_assignments
        BEGIN {_set_topic("NEW.statement_id")} END;
        CREATE TRIGGER statement_topic_update AFTER UPDATE OF statement_id, topic_id
        ON topic_assignments
        BEGIN {_set_topic("OLD.statement_id")} {_set_topic("NEW.statement_id")} END;
        CREATE TRIGGER statement_topic_delete AFTER DELETE ON topic_assignments
        BEGIN {_set_topic("OLD.statement_id")} END;
        -- how many statements each person said and comments they wrote (the people list)
        CREATE TABLE person_counts (
            person_id TEXT PRIMARY KEY,
            statements INTEGER NOT NULL DEFAULT 0,
            comments INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        INSERT INTO person_counts (person_id, statements)
        SELECT speaker_person_id, count(*) FROM statements
        WHERE speaker_person_id IS NOT NULL GROUP BY speaker_person_id;
        INSERT INTO person_counts (person_id, comments)
        SELECT author_person_id, count(*) FROM comments
        WHERE author_person_id IS NOT NULL GROUP BY author_person_id
        ON CONFLICT (person_id) DO UPDATE SET comments = excluded.comments;
        {_person_count_triggers("statements", "statements", "speaker_person_id")}
        {_person_count_triggers("comments", "comments", "author_person_id")}
        """
    )


def m010_person_statements(db: Database) -> None:
    """A person's statements newest first, from an index: their page shows the newest 50
    (the busiest person of a 100k-statement base has 4,400, which were sorted through a
    join on every visit)."""
    db.executescript(
        "CREATE INDEX statement_facts_person ON statement_facts(person_id, day, document_id)"
    )


MIGRATIONS: list[Migration] = [m001_initial, m002_full_text_search, m003_positions,
                               m004_topics, m005_web_sources, m006_jobs_and_users,
                               m007_listing_indexes, m008_crawl_frontier,
                               m009_topic_person_facts, m010_person_statements]


def schema_version(db: Database) -> int:
    """How many migrations this database has applied (0 for a new file)."""
    if "_migrations" not in db.table_names():
        return 0
    return db.execute("SELECT count(*) FROM _migrations").fetchone()[0]


def pending(db: Database) -> list[Migration]:
    """Migrations not yet applied to ``db``, in order."""
    if "_migrations" not in db.table_names():
        return list(MIGRATIONS)
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    return [m for m in MIGRATIONS if m.__name__ not in done]


def apply(db: Database) -> list[str]:
    """Apply pending migrations, each all or nothing; return their names.

    A migration's SQL is gathered first (its ``executescript`` calls, sqlite-utils' among
    them, are collected rather than run), then run statement by statement in one
    transaction with its row in ``_migrations``: ``executescript`` itself commits before
    it starts and runs each statement on its own, so a process killed inside a migration
    used to leave half of it applied and the file unopenable ("duplicate column name").
    The transaction takes the write lock first, and a migration another process applied
    meanwhile is skipped.
    """
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied = []
    for migration in pending(db):
        if _apply_one(db, migration):
            applied.append(migration.__name__)
    return applied


def _apply_one(db: Database, migration: Migration) -> bool:
    scripts: list[str] = []
    db.executescript = scripts.append  # type: ignore[method-assign]
    try:
        migration(db)
    finally:
        del db.executescript
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = conn.execute("SELECT 1 FROM _migrations WHERE name = ?",
                            [migration.__name__]).fetchone()
        if done is None:
            for script in scripts:
                for statement in _statements(script):
                    conn.execute(statement)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                         [migration.__name__, datetime.now(UTC).isoformat(timespec="seconds")])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return done is None


def _statements(script: str) -> list[str]:
    """The statements of an SQL script, as SQLite itself parts them (a semicolon inside a
    string, a comment or a trigger's body does not end one)."""
    out, current = [], ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\n;"):
                out.append(current)
            current = ""
    rest = current[:-1]
    if _has_sql(rest):
        out.append(rest)
    return out


def _has_sql(text: str) -> bool:
    """Whether text holds more than white space and ``--`` comments."""
    return any(line.split("--", 1)[0].strip() for line in text.splitlines())
