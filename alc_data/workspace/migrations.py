"""Versioned schema migrations: a workspace made by an older alc-data is upgraded in place.

``MIGRATIONS[n]`` holds the SQL statements that take a database from schema ``n - 1`` to ``n``. They run
in one transaction when the workspace is opened, and ``meta.schema_version`` is set to ``n`` in the same
transaction, so an interrupted upgrade leaves the database at its old version. Version 1 is the schema
of the released alc-data 0.1.0. Never edit a released step; append a new one.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: dict[int, tuple[str, ...]] = {}


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
