"""The workspace's SQLite schema: the catalogue and the ledger.

``SCHEMA`` is the schema of version 1 (alc-data 0.1.0); a new workspace is created with it and then
taken through every step in :mod:`alc_data.workspace.migrations`, exactly as an old one is upgraded,
so both end with the same tables.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS classes (
    idx INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    r INTEGER NOT NULL, g INTEGER NOT NULL, b INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    image_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,            -- absolute, or relative to the workspace when copied in
    sha256 TEXT NOT NULL,
    height INTEGER NOT NULL,
    width INTEGER NOT NULL,
    has_gt INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS splits (
    split TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(image_id),
    PRIMARY KEY (split, image_id)
);
CREATE TABLE IF NOT EXISTS label_versions (
    name TEXT PRIMARY KEY,
    parent TEXT REFERENCES label_versions(name),
    kind TEXT NOT NULL,            -- ingest | correction | pseudo-label | import
    round INTEGER,
    created_at TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS superpixel_sets (
    name TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    created_at TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY,
    label_version TEXT NOT NULL REFERENCES label_versions(name),   -- the labels that were scored
    superpixel_set TEXT NOT NULL REFERENCES superpixel_sets(name),
    acquisition TEXT NOT NULL,
    budget INTEGER NOT NULL,
    score_table TEXT,              -- path relative to the workspace
    output_version TEXT,           -- label version written by `correct`
    created_at TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS queries (
    query_id INTEGER PRIMARY KEY,
    round INTEGER NOT NULL REFERENCES rounds(round),
    rank INTEGER NOT NULL,
    image_id TEXT NOT NULL REFERENCES images(image_id),
    superpixel_set TEXT NOT NULL,
    superpixel_id INTEGER NOT NULL,
    rep_row INTEGER NOT NULL,
    rep_col INTEGER NOT NULL,
    shown_label INTEGER NOT NULL,  -- current label at the representative pixel
    dominant INTEGER,
    area INTEGER NOT NULL,
    score REAL NOT NULL,
    bbox_x0 INTEGER NOT NULL, bbox_y0 INTEGER NOT NULL,
    bbox_x1 INTEGER NOT NULL, bbox_y1 INTEGER NOT NULL,   -- inclusive pixel box
    UNIQUE (round, image_id, superpixel_set, superpixel_id)
);
CREATE TABLE IF NOT EXISTS answers (
    answer_id INTEGER PRIMARY KEY,
    query_id INTEGER NOT NULL UNIQUE REFERENCES queries(query_id),
    round INTEGER NOT NULL,
    status TEXT NOT NULL,          -- accepted | corrected | unanswerable
    answer_class INTEGER,          -- the class given (NULL when unanswerable)
    source TEXT NOT NULL,          -- e.g. oracle:gt:pixel, csv:answers.csv
    annotator TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    applied_version TEXT           -- the label version that applied it (NULL until applied)
);
CREATE TABLE IF NOT EXISTS corrections (
    correction_id INTEGER PRIMARY KEY,
    query_id INTEGER NOT NULL REFERENCES queries(query_id),
    round INTEGER NOT NULL,
    label_version TEXT NOT NULL,   -- the version this correction produced
    image_id TEXT NOT NULL,
    superpixel_id INTEGER NOT NULL,
    old_class INTEGER NOT NULL,    -- majority old label among changed pixels
    new_class INTEGER NOT NULL,
    pixels INTEGER NOT NULL        -- pixels whose label changed
);
CREATE TABLE IF NOT EXISTS verified (
    image_id TEXT NOT NULL,
    superpixel_set TEXT NOT NULL,
    superpixel_id INTEGER NOT NULL,
    round INTEGER NOT NULL,
    PRIMARY KEY (image_id, superpixel_set, superpixel_id)
);
"""
