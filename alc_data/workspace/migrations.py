"""Versioned schema migrations: a workspace made by an older alc-data is upgraded in place.

``MIGRATIONS[n]`` holds the SQL statements that take a database from schema ``n - 1`` to ``n``. They run
in one transaction when the workspace is opened, and ``meta.schema_version`` is set to ``n`` in the same
transaction, so an interrupted upgrade leaves the database at its old version. Version 1 is the schema
of the released alc-data 0.1.0. Never edit a released step; append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: answers given in the browser (``alc-data annotate``): measured seconds per answer, leases that
    # hand a query to one annotator for a short time, and undo as a recorded retraction: a retracted
    # answer stays in ``answers`` with who retracted it and when, so a query can hold several answers of
    # which at most one is live (the table is rebuilt because SQLite cannot drop its UNIQUE constraint).
    2: (
        """CREATE TABLE answers_v2 (
            answer_id INTEGER PRIMARY KEY,
            query_id INTEGER NOT NULL REFERENCES queries(query_id),
            round INTEGER NOT NULL,
            status TEXT NOT NULL,          -- accepted | corrected | unanswerable
            answer_class INTEGER,
            source TEXT NOT NULL,
            annotator TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            applied_version TEXT,
            seconds REAL,                  -- showing -> answering, measured by the page
            retracted_by TEXT,             -- an undo: who retracted this answer ...
            retracted_at TEXT              -- ... and when (NULL: the answer is live)
        )""",
        "INSERT INTO answers_v2(answer_id, query_id, round, status, answer_class, source, annotator, answered_at,"
        " applied_version) SELECT answer_id, query_id, round, status, answer_class, source, annotator, answered_at,"
        " applied_version FROM answers",
        "DROP TABLE answers",
        "ALTER TABLE answers_v2 RENAME TO answers",
        "CREATE UNIQUE INDEX answers_live_per_query ON answers(query_id) WHERE retracted_at IS NULL",
        """CREATE TABLE IF NOT EXISTS leases (
            query_id INTEGER PRIMARY KEY REFERENCES queries(query_id),
            holder TEXT NOT NULL,        -- one page (browser tab) of one annotator
            annotator TEXT NOT NULL,
            expires_at REAL NOT NULL     -- unix time; an expired lease returns the query to the pool
        )""",
    ),
    # 3: relabels made by the label-correction module (``correct --propagate``): one row per region, with
    # the version it produced, old and new class, the module's confidence and the model whose
    # probabilities gave the features; ``review`` records a person's verdict (accepted | rejected).
    3: (
        """CREATE TABLE IF NOT EXISTS propagations (
            propagation_id INTEGER PRIMARY KEY,
            round INTEGER NOT NULL REFERENCES rounds(round),
            label_version TEXT NOT NULL,   -- the version this relabel produced
            image_id TEXT NOT NULL,
            superpixel_set TEXT NOT NULL,
            superpixel_id INTEGER NOT NULL,
            old_class INTEGER NOT NULL,    -- the region's majority label before
            new_class INTEGER NOT NULL,
            confidence REAL NOT NULL,
            pixels INTEGER NOT NULL,       -- pixels whose label changed
            model TEXT NOT NULL,
            created_at TEXT NOT NULL,
            review TEXT,                   -- NULL | accepted | rejected
            reviewed_by TEXT,
            reviewed_at TEXT,
            review_version TEXT            -- the version a rejection wrote
        )""",
        "CREATE INDEX IF NOT EXISTS propagations_by_version ON propagations(label_version)",
    ),
    # 4: the workspace's own id (a random uuid4, made here for old and new workspaces alike, so an export
    # names the workspace it came from and is not applied to another) and the SHA-256 of every label file
    # of every version, recorded when the version is registered, which ``check`` compares with the file.
    # Files registered before this step get a row with an empty hash (unknown): ``check`` notes them and
    # ``check --repair`` records their present content; a file with no row at all is a problem.
    4: (
        "INSERT OR IGNORE INTO meta(key, value) SELECT 'workspace_id', lower(hex(randomblob(4))) || '-' ||"
        " lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' ||"
        " substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' ||"
        " lower(hex(randomblob(6)))",
        """CREATE TABLE IF NOT EXISTS label_files (
            label_version TEXT NOT NULL REFERENCES label_versions(name),
            image_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,          -- of the PNG file's bytes, as registered
            PRIMARY KEY (label_version, image_id)
        )""",
        "INSERT OR IGNORE INTO label_files(label_version, image_id, sha256)"
        " SELECT v.name, i.image_id, '' FROM label_versions v CROSS JOIN images i",
    ),
    # 5: the dataset's own id of each class (COCO's category ids, with the rest of the category entry as
    # JSON), so that ``export --format coco`` writes the original ids back; a workspace ingested before
    # this step has no rows here, and its COCO export asks for ``--category-ids``.
    5: (
        """CREATE TABLE IF NOT EXISTS class_sources (
            idx INTEGER PRIMARY KEY REFERENCES classes(idx),
            source_id INTEGER NOT NULL,    -- the dataset's id of the class (COCO category id)
            entry TEXT NOT NULL DEFAULT '{}'  -- the dataset's whole entry for it (JSON)
        )""",
    ),
}


def latest_version() -> int:
    """The schema version this alc-data writes."""
    return max([1, *MIGRATIONS])


def upgrade(con: sqlite3.Connection, current: int) -> list[int]:
    """Apply every step after ``current`` inside the caller's transaction; returns the steps applied."""
    applied = []
    for version in range(current + 1, latest_version() + 1):
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
        applied.append(version)
    return applied
