"""The superpixel store: named superpixel sets, one ``superpixels/<set>/<id>.npz`` map per image.

A set is written to a temp folder, renamed into place, then registered in one SQLite transaction;
overwriting moves the old folder aside first and puts it back if the commit fails.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from alc_data.errors import AlreadyExists, Conflict, InvalidInput, NotFound, WorkspaceDamaged
from alc_data.faults import kill_point
from alc_data.io.superpixels import read_superpixels as read_superpixel_file
from alc_data.io.superpixels import stored_shape, write_superpixels
from alc_data.results import JsonResult
from alc_data.workspace.catalogue import Catalogue
from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import Database, check_name, named_or_latest
from alc_data.workspace.ledger import Ledger

_STAMP_KEY = "_folder_stamp"
SET_STAMP = ".alc-set"
"""File in each superpixel-set folder holding the stamp its catalogue row records,
so a crash between renaming a new set into place and committing it can be told apart and undone
(the catalogue keeps it in the set's params under ``_folder_stamp``; :meth:`SuperpixelStore.superpixel_sets`
returns it as ``stamp``, apart from the params)."""


@dataclass(frozen=True)
class SuperpixelSet(JsonResult):
    """A registered superpixel set: its name, the method that made it, when, the params as given, and
    the folder stamp that tells its maps apart from an interrupted overwrite (None for old sets)."""

    name: str
    method: str
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)
    stamp: str | None = None


def insert_set_row(con: sqlite3.Connection, name: str, method: str, params: dict[str, Any]) -> None:
    """Register a set inside the caller's transaction (``params`` as stored, stamp included)."""
    con.execute(
        "INSERT INTO superpixel_sets(name, method, created_at, params) VALUES (?,?,?,?)",
        (name, method, now_iso(), json.dumps(params)),
    )


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class SuperpixelStore:
    """The superpixel sets of one workspace (``ws.superpixels``)."""

    def __init__(self, db: Database, root: Path, catalogue: Catalogue, ledger: Ledger) -> None:
        self._db = db
        self.root = root
        self._catalogue = catalogue
        self._ledger = ledger

    def superpixel_sets(self) -> list[SuperpixelSet]:
        """Registered sets, oldest first: name, method, created_at, params (as given) and the folder stamp."""
        out = []
        for n, m, c, p in self._db.rows("SELECT name, method, created_at, params FROM superpixel_sets ORDER BY rowid"):
            params = json.loads(p)
            stamp = params.pop(_STAMP_KEY, None)
            out.append(SuperpixelSet(name=n, method=m, created_at=c, params=params, stamp=stamp))
        return out

    def superpixel_set(self, name: str | None = None) -> SuperpixelSet:
        """The set called ``name`` (None or ``"latest"``: the newest); NotFound naming the sets otherwise."""
        return named_or_latest(
            self.superpixel_sets(), name, kind="superpixel set",
            none_yet=f"{self.root}: no superpixel sets; run `alc-data superpixels --method seeds` first")

    def set_dir(self, set_name: str) -> Path:
        return self.root / "superpixels" / set_name

    def superpixel_path(self, set_name: str, image_id: str) -> Path:
        return self.set_dir(set_name) / f"{image_id}.npz"

    def read_superpixels(self, set_name: str, image_id: str, *, shape: tuple[int, int] | None = None) -> np.ndarray:
        """The superpixel map of ``image_id`` in ``set_name``; WorkspaceDamaged when it is not of ``shape``
        (the image's (H, W), when the caller knows it)."""
        path = self.superpixel_path(set_name, image_id)
        sp = read_superpixel_file(path)
        if shape is not None and sp.shape != tuple(shape):
            raise WorkspaceDamaged(f"{path}: superpixel map has shape {sp.shape}, its image is {tuple(shape)}")
        return sp

    def check_superpixel_target(self, name: str, *, overwrite: bool = False) -> None:
        """Refuse, before any work, a set name that is taken (without ``overwrite``) or that rounds use.

        A set that rounds were scored on defines those rounds' queries and how their answers spread;
        replacing its regions would silently change what every later ``correct`` does.
        """
        check_name("superpixel set", name)
        if not any(s.name == name for s in self.superpixel_sets()):
            return
        if not overwrite:
            raise AlreadyExists(f"superpixel set {name!r} already exists; pass --name to choose another or --overwrite")
        used = self._ledger.rounds_using_superpixels(name)
        if used:
            raise Conflict(
                f"superpixel set {name!r} is used by round(s) {', '.join(map(str, used))}, so it cannot be overwritten; "
                "write the new regions under another --name"
            )

    def write_superpixel_set(
        self,
        name: str,
        maps: Iterable[tuple[str, np.ndarray | Path]],
        *,
        method: str,
        params: dict[str, Any] | None = None,
        overwrite: bool = False,
        stage: str | None = None,
    ) -> None:
        """Write a named superpixel set (one (H, W) int32 map per image) atomically.

        A map is an array, or the path of a file :func:`~alc_data.io.superpixels.write_superpixels`
        wrote (a staged map: hard-linked, not re-encoded). The maps go to a staging folder; then, in one
        transaction, the old folder (when overwriting) is moved aside, the new one renamed into place and
        the catalogue row replaced. Kill points ``<stage>:staged`` and ``<stage>:renamed`` (none without
        ``stage``).
        """
        self.check_superpixel_target(name, overwrite=overwrite)
        final = self.set_dir(name)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=final.parent))
        old = final.parent / f".{name}.old"
        stamp = uuid.uuid4().hex
        try:
            (tmp / SET_STAMP).write_text(stamp)
            self._stage(tmp, name, maps)
            if stage:
                kill_point(f"{stage}:staged")
            self._register(tmp, final, old, name, method=method, params={**(params or {}), _STAMP_KEY: stamp},
                           stage=stage)
        except BaseException:
            if not tmp.exists() and old.exists():  # renamed, then the commit failed: put the old set back
                shutil.rmtree(final, ignore_errors=True)
                os.replace(old, final)
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

    def _stage(self, tmp: Path, name: str, maps: Iterable[tuple[str, np.ndarray | Path]]) -> None:
        """Put one map per image into ``tmp`` (staged files linked, arrays written), shapes checked."""
        records = self._catalogue.image_records()
        written = set()
        for image_id, sp in maps:
            rec = records.get(image_id)
            if rec is None:
                raise NotFound(f"superpixel map for unknown image id {image_id!r}")
            shape = stored_shape(sp) if isinstance(sp, Path) else sp.shape
            if shape != (rec.height, rec.width):
                raise InvalidInput(
                    f"superpixel map of {image_id!r} has shape {shape}, image is {(rec.height, rec.width)}"
                )
            if isinstance(sp, Path):
                _link_or_copy(sp, tmp / f"{image_id}.npz")
            else:
                write_superpixels(tmp / f"{image_id}.npz", sp)
            written.add(image_id)
        missing = sorted(set(records) - written)
        if missing:
            raise InvalidInput(f"superpixel set {name!r} lacks maps for {len(missing)} images, e.g. {missing[0]!r}")

    def _register(self, tmp: Path, final: Path, old: Path, name: str, *, method: str, params: dict[str, Any],
                  stage: str | None) -> None:
        """Move the old set aside, rename ``tmp`` into place and replace the row, in one transaction."""
        with self._db.connect(immediate=True) as con:
            if con.execute("SELECT 1 FROM rounds WHERE superpixel_set=? LIMIT 1", (name,)).fetchone():
                raise Conflict(f"superpixel set {name!r} was used by a round meanwhile; write it under another --name")
            shutil.rmtree(old, ignore_errors=True)
            registered = con.execute("SELECT 1 FROM superpixel_sets WHERE name=?", (name,)).fetchone()
            if final.exists():
                if registered:
                    os.replace(final, old)
                else:  # a folder without its catalogue row: left by a crash before registration
                    shutil.rmtree(final)
            os.replace(tmp, final)
            if stage:
                kill_point(f"{stage}:renamed")
            con.execute("DELETE FROM superpixel_sets WHERE name=?", (name,))
            insert_set_row(con, name, method, params)
