"""The workspace database, private to the stores: one connection helper and the name checks.

Only the modules of :mod:`alc_data.workspace` open the database; the rest of the library and the CLI go
through ``ws.catalogue``, ``ws.labels``, ``ws.superpixels`` and ``ws.ledger`` and get frozen dataclasses
back, never rows to unpack by position.
"""

from __future__ import annotations

import contextlib
import errno
import re
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence, TypeVar

from alc_data.errors import InvalidInput, NotFound, WorkspaceBusy, WorkspaceDamaged, WriteFailed
from alc_data.io.failures import probe_errno, write_failed

DB_NAME = "alc.sqlite"
#: what a failed transaction leaves
ROLLED_BACK = "that step was rolled back, what earlier steps committed is kept"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


MAX_NAME_CHARS = 100
"""The longest name of a version, set or run: each becomes a folder (file names stop at 255 bytes, and
the files inside add their own)."""


def check_name(kind: str, name: str) -> str:
    """Names of versions and sets become folder names: letters, digits, ``_ . -``, at most
    :data:`MAX_NAME_CHARS`."""
    if not _NAME_RE.match(name or "") or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"{kind} name {name!r} is not allowed; use letters, digits, '_', '.', '-', "
                           f"at most {MAX_NAME_CHARS} characters")
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
        except sqlite3.Error as exc:
            raise self.failure(exc) from None
        finally:
            con.close()

    def failure(self, exc: sqlite3.Error) -> Exception:
        """The project error for a SQLite error (``exc`` itself when none fits: an IntegrityError, a bug).

        A failed write (SQLite's I/O errors, "disk is full", a read-only file system) is a
        :class:`WriteFailed` naming its likely errno; busy is :class:`WorkspaceBusy`; the database is
        called damaged only when ``PRAGMA integrity_check`` fails too."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            return exc
        if "locked" in text or "busy" in text:
            return WorkspaceBusy(f"{self.path}: the database stayed locked by another process for 30 s; retry")
        if name.startswith("SQLITE_IOERR") or name in ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN"):
            return self._write_failure(name, exc)
        if "no such table" in text or "no such column" in text:
            return WorkspaceDamaged(f"{self.path}: not a complete alc-data workspace database ({exc}); "
                                    "pass the right -w/--workspace, or re-ingest into a new workspace")
        if isinstance(exc, sqlite3.OperationalError):
            return exc
        return self._checked(exc)

    def _write_failure(self, name: str, exc: sqlite3.Error) -> Exception:
        code = probe_errno(self.path, tuple(self.path.with_name(self.path.name + x) for x in ("", "-wal", "-shm")))
        if name == "SQLITE_FULL" and code not in (errno.ENOSPC, errno.EDQUOT):
            code = errno.ENOSPC
        if name in ("SQLITE_READONLY", "SQLITE_CANTOPEN") and code != errno.EROFS:
            return WorkspaceDamaged(f"{self.path}: workspace is not writable ({exc}); fix its permissions")
        if code is not None:
            return write_failed(code, self.path, "writing the workspace database", ROLLED_BACK, "re-run the command")
        damaged = self.integrity_problem()
        if damaged:
            return WorkspaceDamaged(f"{self.path}: the workspace database is damaged ({exc}; integrity_check: "
                                    f"{damaged}); restore it from a backup")
        failed = WriteFailed(f"{self.path}: {exc} while writing the workspace database; {ROLLED_BACK} and it passes "
                             "its integrity check; check the disk, then re-run the command")
        failed.errno, failed.filename = errno.EIO, str(self.path)
        return failed

    def _checked(self, exc: sqlite3.Error) -> Exception:
        damaged = self.integrity_problem()
        if damaged:
            return WorkspaceDamaged(f"{self.path}: the workspace database is damaged or not an alc-data database "
                                    f"({exc}; integrity_check: {damaged}); restore it from a backup or re-ingest "
                                    "into a new workspace")
        return WorkspaceDamaged(f"{self.path}: the workspace database could not be read ({exc}) though it passes "
                                "its integrity check; nothing was changed; retry, and run `alc-data check` if it recurs")

    def integrity_problem(self) -> str | None:
        """None when ``PRAGMA integrity_check`` says ok; else its first line (or why it could not run)."""
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error as exc:
            return str(exc)
        try:
            rows = con.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "") or ""
            return str(exc) if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or not name else None
        finally:
            con.close()
        first = str(rows[0][0]) if rows else "no answer"
        return None if first == "ok" else first

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
