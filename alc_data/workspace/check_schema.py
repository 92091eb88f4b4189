"""Is the workspace database whole? (for :mod:`.check`)

The expected schema is not a hand-kept list: it is what :data:`~alc_data.workspace.schema.SCHEMA` and every
step of :data:`~alc_data.workspace.migrations.MIGRATIONS` make of an empty in-memory database, exactly as
a new workspace is made. The workspace's tables, their columns (name, declared type, NOT NULL, primary
key) and its indexes are compared with it; then SQLite's own ``PRAGMA integrity_check`` and
``PRAGMA foreign_key_check`` run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alc_data.workspace.check_debris import Problem
from alc_data.workspace.db import Database
from alc_data.workspace.migrations import latest_version, upgrade
from alc_data.workspace.schema import SCHEMA

#: how many rows of SQLite's own checks are listed
MAX_LISTED = 5


@dataclass(frozen=True)
class Schema:
    """Tables → their columns (name, declared type, NOT NULL, primary-key position); indexes → their table."""

    tables: dict[str, frozenset[tuple[str, str, int, int]]]
    indexes: dict[str, str]


def schema_of(con: sqlite3.Connection) -> Schema:
    """The tables, columns and indexes of the database behind ``con``."""
    master = con.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    tables = {}
    for kind, name, _ in master:
        if kind == "table":
            cols = con.execute(f"PRAGMA table_info({name!r})").fetchall()
            tables[name] = frozenset((c[1], str(c[2]).upper(), int(c[3]), int(c[5])) for c in cols)
    return Schema(tables, {name: table for kind, name, table in master if kind == "index"})


def expected_schema() -> Schema:
    """The schema this alc-data writes: :data:`SCHEMA` and every migration, applied to a new in-memory database."""
    con = sqlite3.connect(":memory:", isolation_level=None)
    try:
        con.executescript(SCHEMA)
        con.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
        con.execute("BEGIN")
        upgrade(con, 1)
        con.execute("COMMIT")
        return schema_of(con)
    finally:
        con.close()


def _differences(db: Path, have: Schema, want: Schema) -> list[Problem]:
    out: list[Problem] = []
    fix = f"the database is damaged (schema {latest_version()} expects it); restore {db.name} from a backup"
    for table, columns in sorted(want.tables.items()):
        if table not in have.tables:
            out.append(Problem("schema-table-missing", f"table {table}", f"{db}: table {table!r} is missing; {fix}"))
            continue
        got = {c[0]: c for c in have.tables[table]}
        for col in sorted(columns):
            if col[0] not in got:
                out.append(Problem("schema-column-missing", f"table {table}",
                                   f"{db}: column {table}.{col[0]} is missing; {fix}"))
            elif got[col[0]] != col:
                out.append(Problem("schema-column-changed", f"table {table}",
                                   f"{db}: column {table}.{col[0]} is {got[col[0]][1:]} (type, not null, key), "
                                   f"expected {col[1:]}; {fix}"))
    for index, table in sorted(want.indexes.items()):
        if have.indexes.get(index) != table and table in have.tables:
            out.append(Problem("schema-index-missing", f"index {index}",
                               f"{db}: index {index!r} on table {table!r} is missing; {fix}"))
    return out


def _sqlite_checks(db: Path, con: sqlite3.Connection) -> list[Problem]:
    out: list[Problem] = []
    rows = [str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall()]
    if rows != ["ok"]:
        listed = "; ".join(rows[:MAX_LISTED]) + (f"; … {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else "")
        out.append(Problem("database-integrity", str(db),
                           f"{db}: SQLite's integrity check fails ({listed}); restore it from a backup"))
    bad = con.execute("PRAGMA foreign_key_check").fetchall()
    if bad:
        listed = "; ".join(f"{t} row {rowid} names a missing {parent} row" for t, rowid, parent, _ in bad[:MAX_LISTED])
        out.append(Problem("database-foreign-keys", str(db),
                           f"{db}: {len(bad)} rows name rows that do not exist ({listed}); restore it from a backup"))
    return out


def schema_problems(db_path: Path) -> list[Problem]:
    """Tables, columns and indexes missing or changed against :func:`expected_schema`, and what SQLite's
    integrity and foreign-key checks find (one problem each)."""
    with Database(db_path).connect() as con:
        out = _differences(db_path, schema_of(con), expected_schema())
        return out + _sqlite_checks(db_path, con)
