"""The workspace: a directory holding a dataset's catalogue, label versions, superpixels and ledger.

Layout::

    WORKSPACE/
      alc.sqlite                 catalogue + ledger (SQLite, WAL)
      labels/<version>/<id>.png  label maps being corrected, one folder per version (palette PNGs)
      gt/<id>.png                reference ground truth (simulation and metrics only)
      superpixels/<set>/<id>.npz superpixel maps, (H, W) int32
      images/                    images copied in (hub datasets, demo data); others are referenced
      rounds/<n>/                per-round score tables and query exports
      runs/<name>/               models, resolved recipes, reports

:class:`Workspace` is a small facade over four stores that share one private database helper
(:mod:`alc_data.workspace.db`): ``ws.catalogue`` (images, splits, classes, metadata, reference ground
truth), ``ws.labels`` (label versions), ``ws.superpixels`` (superpixel sets) and ``ws.ledger`` (rounds,
queries, answers, corrections). Every write is atomic: files go through temp names and ``os.replace``;
a label version or a superpixel set is written to a temp folder, renamed into place, then registered in
one SQLite transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlreadyExists, NotFound, WorkspaceDamaged
from alc_data.workspace.catalogue import Catalogue, ClassInfo, validate_classes
from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import DB_NAME, Database
from alc_data.workspace.labels import LabelStore
from alc_data.workspace.ledger import Ledger
from alc_data.workspace.lock import write_lock
from alc_data.workspace.migrations import latest_version, upgrade
from alc_data.workspace.schema import SCHEMA
from alc_data.workspace.superpixels import SuperpixelStore


class Workspace:
    """An open workspace. Create one with :meth:`initialise`, open one with :meth:`open`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / DB_NAME
        self._db = Database(self.db_path)
        self.catalogue = Catalogue(self._db, self.root)
        """Images, splits, classes, metadata and reference ground truth."""
        self.ledger = Ledger(self._db)
        """Rounds, queries, answers and corrections."""
        self.labels = LabelStore(self._db, self.root, self.catalogue)
        """Label versions and their files."""
        self.superpixels = SuperpixelStore(self._db, self.root, self.catalogue, self.ledger)
        """Superpixel sets and their maps."""

    # ------------------------------------------------------------------ opening
    @staticmethod
    def exists_at(root: str | os.PathLike[str]) -> bool:
        """Whether ``root`` holds a workspace (its database file exists)."""
        return (Path(root) / DB_NAME).exists()

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> "Workspace":
        """The workspace at ``root``, its database upgraded to this alc-data's schema when older."""
        ws = cls(root)
        if not ws.db_path.is_file():
            raise NotFound(
                f"{ws.root}: not an alc-data workspace (no {DB_NAME}); "
                "run `alc-data ingest ...` or `alc-data demo` first, or pass -w/--workspace"
            )
        try:
            with ws._db.connect() as con:
                row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else None
                if version is not None and version < latest_version():
                    upgrade(con, version)
        except sqlite3.DatabaseError as exc:
            raise ws._db.failure(exc) from None
        if version is None:
            raise WorkspaceDamaged(f"{ws.db_path}: the workspace database has no schema version; it is damaged")
        if version > latest_version():
            raise WorkspaceDamaged(
                f"{ws.db_path}: made by a newer alc-data (schema {version}, this one reads up to {latest_version()}); "
                "upgrade alc-data"
            )
        return ws

    @classmethod
    def initialise(
        cls,
        root: str | os.PathLike[str],
        *,
        dataset: str,
        classes: list[ClassInfo],
        extra_meta: dict[str, Any] | None = None,
    ) -> "Workspace":
        """Create the database in an empty (or missing) folder ``root``."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        ws = cls(root)
        if ws.db_path.exists():
            raise AlreadyExists(f"{ws.root}: already holds a workspace; use another -w/--workspace")
        validate_classes(classes)
        raw = sqlite3.connect(ws.db_path)
        try:
            raw.executescript(SCHEMA)
        finally:
            raw.close()
        with ws._db.connect() as con:
            meta = {
                "schema_version": 1,
                "dataset": dataset,
                "ignore_index": IGNORE_INDEX,
                "created_at": now_iso(),
            }
            meta.update(extra_meta or {})
            con.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in meta.items()],
            )
            con.executemany(
                "INSERT INTO classes(idx, name, r, g, b) VALUES (?, ?, ?, ?, ?)",
                [(c.index, c.name, *map(int, c.color)) for c in classes],
            )
            upgrade(con, 1)
        return ws

    def writing(self, command: str, *, wait: bool | None = None) -> contextlib.AbstractContextManager[None]:
        """Hold the workspace's exclusive write lock (see :mod:`alc_data.workspace.lock`)."""
        return write_lock(self.root, command, wait=wait)

    # ------------------------------------------------------------------ paths
    def rounds_dir(self, round_no: int) -> Path:
        return self.root / "rounds" / f"{round_no:03d}"

    def runs_dir(self) -> Path:
        return self.root / "runs"
