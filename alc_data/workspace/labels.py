"""The label store: label versions, their files (``labels/<version>/<id>.png``) and their atomic writes.

A label version is written to a temp folder, renamed into place, then registered in one SQLite
transaction. A folder without its catalogue row (a crash between the two) is stale and is removed
when the same name is written again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlreadyExists, InvalidInput, NotFound
from alc_data.faults import kill_point
from alc_data.hints import command
from alc_data.io.labels import encode_label_png, read_label_png
from alc_data.io.registered import sha256_file, write_registered
from alc_data.workspace.catalogue import Catalogue, ImageRecord
from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import Database, check_name, named_or_latest
from alc_data.workspace.superpixels import insert_set_row


@dataclass(frozen=True)
class LabelVersion:
    """A registered label version: its name, the version it was made from, how, in which round, when,
    and the params it was made with."""

    name: str
    parent: str | None
    kind: str
    round: int | None
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)


def check_label_values(label: np.ndarray, num_classes: int, what: str) -> None:
    """InvalidInput when a label map is not uint8 or holds a value ≥ K other than IGNORE_INDEX."""
    label = np.asarray(label)
    if label.dtype != np.uint8:
        raise InvalidInput(f"{what}: labels must be uint8, got {label.dtype}")
    counts = np.bincount(label.ravel(), minlength=256)
    bad = [v for v in np.flatnonzero(counts) if v >= num_classes and v != IGNORE_INDEX]
    if bad:
        raise InvalidInput(
            f"{what}: label value {bad[0]} ({int(counts[bad[0]])} pixels) is not a class (K={num_classes}) "
            f"nor {IGNORE_INDEX}; fix the label map or the class list"
        )


def _insert_version(con: sqlite3.Connection, name: str, parent: str | None, kind: str, round_no: int | None,
                    params: dict[str, Any]) -> None:
    con.execute(
        "INSERT INTO label_versions(name, parent, kind, round, created_at, params) VALUES (?,?,?,?,?,?)",
        (name, parent, kind, round_no, now_iso(), json.dumps(params)),
    )


def insert_file_hashes(con: sqlite3.Connection, version: str, hashes: Mapping[str, str]) -> None:
    """Record the SHA-256 of each label file of ``version`` (image id → hash), in the caller's transaction."""
    con.executemany("INSERT INTO label_files(label_version, image_id, sha256) VALUES (?,?,?)",
                    [(version, i, h) for i, h in sorted(hashes.items())])


class LabelStore:
    """The label versions of one workspace (``ws.labels``)."""

    def __init__(self, db: Database, root: Path, catalogue: Catalogue) -> None:
        self._db = db
        self.root = root
        self._catalogue = catalogue

    def label_versions(self) -> list[LabelVersion]:
        """Every version, oldest first."""
        rows = self._db.rows(
            "SELECT name, parent, kind, round, created_at, params FROM label_versions ORDER BY rowid"
        )
        return [LabelVersion(n, p, k, r, c, json.loads(pr)) for n, p, k, r, c, pr in rows]

    def version(self, name: str | None = None) -> LabelVersion:
        """A label version by name; ``None`` or ``"latest"`` gives the newest."""
        return named_or_latest(self.label_versions(), name, kind="label version",
                               none_yet=f"{self.root}: no label versions yet; ingest a dataset first")

    def next_version_name(self) -> str:
        used = {v.name for v in self.label_versions()}
        n = 1
        while f"v{n}" in used:
            n += 1
        return f"v{n}"

    def version_dir(self, name: str) -> Path:
        return self.root / "labels" / name

    def label_path(self, version: str, image_id: str) -> Path:
        return self.version_dir(version) / f"{image_id}.png"

    def read_label(self, version: str | None, image_id: str) -> np.ndarray:
        """(H, W) uint8 labels of one image in a version (``None`` = latest). A registered file that is
        gone or does not read is a damaged workspace: the error (of the same type) says to run ``check``."""
        path = self.label_path(self.version(version).name, image_id)
        try:
            return read_label_png(path)
        except (NotFound, InvalidInput) as exc:
            self._catalogue.image_record(image_id)  # an unknown image id is the caller's mistake, not damage
            raise type(exc)(f"{exc}; the workspace is damaged: run `{command('check', '-w', self.root)}`") from None

    def register_ingest(self, hashes: Mapping[str, str], *, labels_from: str, superpixel_set: str | None) -> None:
        """Register the ingested labels as ``v0`` with ``hashes`` (image id → the SHA-256 of its file, as
        written; and imported superpixels) in one transaction."""
        with self._db.connect() as con:
            _insert_version(con, "v0", None, "ingest", None, {"labels_from": str(labels_from)})
            insert_file_hashes(con, "v0", hashes)
            if superpixel_set is not None:
                insert_set_row(con, superpixel_set, "imported", {})

    def file_hashes(self, version: str | None = None) -> dict[tuple[str, str], str]:
        """(version, image id) → the SHA-256 recorded when the file was registered (of one version, or all);
        ``""`` for a file registered before schema 4, whose hash is not known."""
        rows = self._db.rows("SELECT label_version, image_id, sha256 FROM label_files"
                             + (" WHERE label_version=?" if version is not None else ""),
                             () if version is None else (version,))
        return {(v, i): h for v, i, h in rows}

    def record_file_hashes(self, version: str, hashes: dict[str, str]) -> None:
        """Record hashes of a version's files that have none, or an empty one (registered before schema 4)."""
        with self._db.connect(immediate=True) as con:
            con.executemany(
                "INSERT INTO label_files(label_version, image_id, sha256) VALUES (?,?,?) "
                "ON CONFLICT(label_version, image_id) DO UPDATE SET sha256=excluded.sha256 WHERE sha256=''",
                [(version, i, h) for i, h in sorted(hashes.items())])

    def write_version(
        self,
        name: str,
        labels: Iterable[tuple[str, np.ndarray]],
        *,
        parent: str | None,
        kind: str,
        round: int | None = None,
        params: dict[str, Any] | None = None,
        on_commit: Callable[[sqlite3.Connection], None] | None = None,
        stage: str | None = None,
    ) -> LabelVersion:
        """Write a complete label version atomically.

        ``labels`` yields (image_id, (H, W) uint8) for the images that differ from ``parent``; every
        other image is hard-linked (or copied) from the parent. The files go to a staging folder; then,
        in one SQLite transaction that holds the database's write lock, the name is checked free, the
        folder is renamed into place and the version is registered; ``on_commit(con)`` runs inside that
        transaction (for ledger rows that must land with the version). If the transaction fails, only
        the folder this call renamed is removed. Kill points ``<stage>:staged`` and ``<stage>:renamed``
        mark the two moments a crash matters (no kill points without ``stage``).
        """
        check_name("label version", name)
        if any(v.name == name for v in self.label_versions()):
            raise AlreadyExists(f"label version {name!r} already exists; choose another --version name")
        if parent is not None:
            self.version(parent)
        final = self.version_dir(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=final.parent))
        try:
            hashes = self._stage(tmp, name, labels, parent)
            if stage:
                kill_point(f"{stage}:staged")

            def commit(con: sqlite3.Connection) -> None:
                insert_file_hashes(con, name, hashes)
                if on_commit is not None:
                    on_commit(con)

            self._register(tmp, final, name, parent=parent, kind=kind, round_no=round, params=params or {},
                           on_commit=commit, stage=stage)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.version(name)

    def _stage(self, tmp: Path, name: str, labels: Iterable[tuple[str, np.ndarray]],
               parent: str | None) -> dict[str, str]:
        """Write ``labels`` into ``tmp`` (new read-only files) and link (or copy) the parent's files of every
        other image; every file's SHA-256 (a linked file's is the one recorded for the parent's, so a
        parent's file changed since is still caught by ``check``, in both versions)."""
        palette = self._catalogue.palette
        records = self._catalogue.image_records()
        hashes: dict[str, str] = {}
        for image_id, label in labels:
            rec = records.get(image_id)
            if rec is None:
                raise NotFound(f"label for unknown image id {image_id!r}")
            self._check_label(image_id, label, rec)
            hashes[image_id] = write_registered(tmp / f"{image_id}.png", encode_label_png(label, palette))
        missing = sorted(set(records) - set(hashes))
        if parent is not None:
            src_dir = self.version_dir(parent)
            recorded = self.file_hashes(parent)
            for image_id in missing:
                src = src_dir / f"{image_id}.png"
                try:
                    os.link(src, tmp / src.name)
                except OSError:
                    shutil.copy2(src, tmp / src.name)
                hashes[image_id] = recorded.get((parent, image_id)) or sha256_file(src)
        elif missing:
            raise InvalidInput(f"label version {name!r} lacks labels for {len(missing)} images, e.g. {missing[0]!r}")
        return hashes

    def _check_label(self, image_id: str, label: np.ndarray, rec: ImageRecord) -> None:
        check_label_values(label, self._catalogue.num_classes, f"label of {image_id!r}")
        if label.shape != (rec.height, rec.width):
            raise InvalidInput(f"label of {image_id!r} has shape {label.shape}, image is {(rec.height, rec.width)}")

    def _register(
        self,
        tmp: Path,
        final: Path,
        name: str,
        *,
        parent: str | None,
        kind: str,
        round_no: int | None,
        params: dict[str, Any],
        on_commit: Callable[[sqlite3.Connection], None] | None,
        stage: str | None,
    ) -> None:
        """Rename ``tmp`` to ``final`` and register the version in one transaction holding the write lock."""
        renamed = False
        try:
            with self._db.connect(immediate=True) as con:
                taken = con.execute("SELECT 1 FROM label_versions WHERE name=?", (name,)).fetchone()
                if taken:
                    raise AlreadyExists(f"label version {name!r} was registered by another command meanwhile; re-run")
                if final.exists():  # a folder without its catalogue row: left by a crash before registration
                    shutil.rmtree(final)
                os.replace(tmp, final)
                renamed = True
                if stage:
                    kill_point(f"{stage}:renamed")
                _insert_version(con, name, parent, kind, round_no, params)
                if on_commit is not None:
                    on_commit(con)
        except BaseException:
            if renamed:
                shutil.rmtree(final, ignore_errors=True)
            raise
