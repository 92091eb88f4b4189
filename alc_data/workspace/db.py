"""The workspace database, private to the stores: one connection helper and the name checks.

Only the modules of :mod:`alc_data.workspace` open the database; the rest of the library and the CLI go
through ``ws.catalogue``, ``ws.labels``, ``ws.superpixels`` and ``ws.ledger`` and get frozen dataclasses
back, never rows to unpack by position.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence, TypeVar

from alc_data.errors import InvalidInput, NotFound, WorkspaceBusy, WorkspaceDamaged

DB_NAME = "alc.sqlite"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def check_name(kind: str, name: str) -> str:
    """Names of versions and sets become folder names: letters, digits, ``_ . -``."""
    if not _NAME_RE.match(name or ""):
        raise InvalidInput(f"{kind} name {name!r} is not allowed; use letters, digits, '_', '.', '-'")
    return name


class Database:
    """The SQLite file of one workspace, opened per transaction (shared by the stores)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def connect(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error.

        ``immediate=True`` takes SQLite's write lock at the start (``BEGIN IMMEDIATE``), for
        read-then-write steps such as allocating a round number. SQLite errors become one-line
        project errors naming the database: damaged, not writable, or busy.
        """
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise WorkspaceDamaged(f"{self.path}: cannot open the workspace database ({exc})") from None
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield con
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            if con.in_transaction:
                con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise self._operational(exc) from None
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise WorkspaceDamaged(
                f"{self.path}: the workspace database is damaged ({exc}); restore it from a backup"
            ) from None
        finally:
            con.close()

    def _operational(self, exc: sqlite3.OperationalError) -> Exception:
        """The project error for an operational SQLite error (or ``exc`` itself when none fits)."""
        text = str(exc)
        if "readonly" in text or "unable to open" in text:
            return WorkspaceDamaged(f"{self.path}: workspace is not writable ({exc}); fix its permissions")
        if "locked" in text or "busy" in text:
            return WorkspaceBusy(f"{self.path}: the database stayed locked by another process for 30 s; retry")
        if "no such table" in text or "no such column" in text:
            return WorkspaceDamaged(f"{self.path}: the workspace database is incomplete ({exc}); it is damaged")
        return exc

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one read, in its own transaction."""
        with self.connect() as con:
            return con.execute(sql, tuple(params)).fetchall()


def chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    """``values`` in slices of at most ``size`` (SQLite's limit on bound parameters)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=_Named)


def named_or_latest(items: Sequence[NamedT], name: str | None, *, kind: str, none_yet: str) -> NamedT:
    """The item called ``name`` (None or ``"latest"``: the last); NotFound ``none_yet`` when there are
    none, or naming the ``kind`` and the items there are."""
    if not items:
        raise NotFound(none_yet)
    if name in (None, "latest"):
        return items[-1]
    for item in items:
        if item.name == name:
            return item
    raise NotFound(f"unknown {kind} {name!r}; this workspace has: {', '.join(i.name for i in items)}")
