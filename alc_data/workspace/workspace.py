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

Every write is atomic: files go through temp names and ``os.replace``; a label version or a
superpixel set is written to a temp folder, renamed into place, then registered in one SQLite
transaction. A folder without its catalogue row (a crash between the two) is stale and is removed
when the same name is written again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlreadyExists, Conflict, InvalidInput, NotFound, WorkspaceBusy, WorkspaceDamaged
from alc_data.results import JsonResult
from alc_data.workspace.clock import now_iso
from alc_data.workspace.migrations import latest_version, upgrade
from alc_data.workspace.schema import SCHEMA

if TYPE_CHECKING:
    from alc_data.workspace.ledger import Ledger

DB_NAME = "alc.sqlite"
_STAMP_KEY = "_folder_stamp"
SET_STAMP = ".alc-set"
"""File in each superpixel-set folder holding the stamp its catalogue row records,
so a crash between renaming a new set into place and committing it can be told apart and undone
(the catalogue keeps it in the set's params under ``_folder_stamp``; :meth:`Workspace.superpixel_sets`
returns it as ``stamp``, apart from the params)."""
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def check_name(kind: str, name: str) -> str:
    """Names of versions and sets become folder names: letters, digits, ``_ . -``."""
    if not _NAME_RE.match(name or ""):
        raise InvalidInput(f"{kind} name {name!r} is not allowed; use letters, digits, '_', '.', '-'")
    return name


@dataclass(frozen=True)
class ClassInfo:
    """One class: its index in label maps, its name and its RGB colour."""

    index: int
    name: str
    color: tuple[int, int, int]


def rgb(values: Iterable[Any]) -> tuple[int, int, int]:
    """The first three of ``values`` (a palette row, a list from a file) as an (R, G, B) int triple."""
    v = [int(x) for x in values][:3]
    if len(v) != 3:
        raise InvalidInput(f"colour {v} has {len(v)} values; give three (R, G, B)")
    return v[0], v[1], v[2]


@dataclass(frozen=True)
class SuperpixelSet(JsonResult):
    """A registered superpixel set: its name, the method that made it, when, the params as given, and
    the folder stamp that tells its maps apart from an interrupted overwrite (None for old sets)."""

    name: str
    method: str
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)
    stamp: str | None = None


@dataclass(frozen=True)
class LabelVersion:
    name: str
    parent: str | None
    kind: str
    round: int | None
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)


class Workspace:
    """An open workspace. Create one with :meth:`create`, open one with :meth:`open`."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()
        self.db_path = self.root / DB_NAME
        self._classes: list[ClassInfo] | None = None

    # ------------------------------------------------------------------ opening
    @staticmethod
    def exists_at(root: str | os.PathLike) -> bool:
        """Whether ``root`` holds a workspace (its database file exists)."""
        return (Path(root) / DB_NAME).exists()

    @classmethod
    def open(cls, root: str | os.PathLike) -> "Workspace":
        ws = cls(root)
        if not ws.db_path.is_file():
            raise NotFound(
                f"{ws.root}: not an alc-data workspace (no {DB_NAME}); "
                "run `alc-data ingest ...` or `alc-data demo` first, or pass -w/--workspace"
            )
        try:
            with ws.connect() as con:
                row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = int(row[0]) if row else None
                if version is not None and version < latest_version():
                    upgrade(con, version)
        except sqlite3.DatabaseError as exc:
            raise WorkspaceDamaged(
                f"{ws.db_path}: the workspace database is damaged or not an alc-data database ({exc}); "
                "restore it from a backup or re-ingest into a new workspace"
            ) from None
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
        root: str | os.PathLike,
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
        with ws.connect() as con:
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

    @contextlib.contextmanager
    def connect(self, *, immediate: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction: committed on success, rolled back on error.

        ``immediate=True`` takes SQLite's write lock at the start (``BEGIN IMMEDIATE``), for
        read-then-write steps such as allocating a round number. SQLite errors become one-line
        project errors naming the database: damaged, not writable, or busy.
        """
        try:
            con = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise WorkspaceDamaged(f"{self.db_path}: cannot open the workspace database ({exc})") from None
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
            text = str(exc)
            if "readonly" in text or "unable to open" in text:
                raise WorkspaceDamaged(f"{self.db_path}: workspace is not writable ({exc}); fix its permissions") from None
            if "locked" in text or "busy" in text:
                raise WorkspaceBusy(f"{self.db_path}: the database stayed locked by another process for 30 s; retry") from None
            if "no such table" in text or "no such column" in text:
                raise WorkspaceDamaged(f"{self.db_path}: the workspace database is incomplete ({exc}); it is damaged") from None
            raise
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise WorkspaceDamaged(
                f"{self.db_path}: the workspace database is damaged ({exc}); restore it from a backup"
            ) from None
        finally:
            con.close()

    @property
    def ledger(self) -> "Ledger":
        """Rounds, queries, answers and corrections (:class:`alc_data.workspace.ledger.Ledger`)."""
        from alc_data.workspace.ledger import Ledger

        return Ledger(self)

    def writing(self, command: str, *, wait: bool | None = None) -> contextlib.AbstractContextManager[None]:
        """Hold the workspace's exclusive write lock (see :mod:`alc_data.workspace.lock`)."""
        from alc_data.workspace.lock import write_lock

        return write_lock(self.root, command, wait=wait)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self.connect() as con:
            return con.execute(sql, tuple(params)).fetchall()

    # ------------------------------------------------------------------ meta
    def meta(self, key: str, default: Any = None) -> Any:
        row = self.query("SELECT value FROM meta WHERE key=?", (key,))
        if not row:
            return default
        try:
            return json.loads(row[0][0])
        except json.JSONDecodeError:
            return row[0][0]

    # ------------------------------------------------------------------ classes
    @property
    def classes(self) -> list[ClassInfo]:
        if self._classes is None:
            rows = self.query("SELECT idx, name, r, g, b FROM classes ORDER BY idx")
            self._classes = [ClassInfo(i, n, (r, g, b)) for i, n, r, g, b in rows]
        return self._classes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def palette(self) -> np.ndarray:
        """(256, 3) uint8: the classes' colours, VOC colours for unused entries."""
        from alc_data.io.labels import default_palette

        return default_palette([c.color for c in self.classes])

    def class_index(self, value: str | int) -> int:
        """Resolve a class name or index (as given by a person) to an index; InvalidInput if unknown.

        Names match exactly (case-sensitive); a name wins over an index (a class named ``"0"``); an
        index is ASCII digits only (``"²"`` is no index).
        """
        from alc_data.errors import InvalidInput
        from alc_data.names import parse_ascii_int

        text = str(value).strip()
        names = {c.name: c.index for c in self.classes}
        if text in names:
            return names[text]
        idx = parse_ascii_int(text)
        if idx is not None and idx < self.num_classes:
            return idx
        near = [n for n in names if n.casefold() == text.casefold()]
        hint = f"class names are case-sensitive, did you mean {near[0]!r}?" if near else (
            f"use one of: {', '.join(map(repr, self.class_names))} (or an index 0-{self.num_classes - 1})")
        raise InvalidInput(f"unknown class {text!r}; {hint}")

    # ------------------------------------------------------------------ images
    def add_images(self, records: Iterable[dict[str, Any]]) -> None:
        """Insert image rows: dicts with image_id, path, sha256, height, width, has_gt, splits."""
        with self.connect() as con:
            for r in records:
                con.execute(
                    "INSERT INTO images(image_id, path, sha256, height, width, has_gt) VALUES (?,?,?,?,?,?)",
                    (r["image_id"], str(r["path"]), r["sha256"], r["height"], r["width"], int(r.get("has_gt", 0))),
                )
                con.executemany(
                    "INSERT INTO splits(split, image_id) VALUES (?, ?)",
                    [(s, r["image_id"]) for s in r.get("splits", ())],
                )

    def image_ids(self, split: str | None = None) -> list[str]:
        """Image ids in sorted order, all or of one split (AlcError for an unknown split)."""
        if split is None:
            return [r[0] for r in self.query("SELECT image_id FROM images ORDER BY image_id")]
        rows = self.query("SELECT image_id FROM splits WHERE split=? ORDER BY image_id", (split,))
        if not rows and split not in self.splits():
            raise NotFound(f"unknown split {split!r}; this workspace has: {', '.join(self.splits()) or 'none'}")
        return [r[0] for r in rows]

    def splits(self) -> dict[str, int]:
        return dict(self.query("SELECT split, COUNT(*) FROM splits GROUP BY split ORDER BY split"))

    def image_record(self, image_id: str) -> dict[str, Any]:
        rows = self.query("SELECT image_id, path, sha256, height, width, has_gt FROM images WHERE image_id=?", (image_id,))
        if not rows:
            raise NotFound(f"unknown image id {image_id!r} in workspace {self.root}")
        keys = ("image_id", "path", "sha256", "height", "width", "has_gt")
        return dict(zip(keys, rows[0]))

    def image_records(self) -> dict[str, dict[str, Any]]:
        """Every image's record (image_id, path, sha256, height, width, has_gt) in one read."""
        keys = ("image_id", "path", "sha256", "height", "width", "has_gt")
        rows = self.query("SELECT image_id, path, sha256, height, width, has_gt FROM images ORDER BY image_id")
        return {r[0]: dict(zip(keys, r)) for r in rows}

    def count_with_gt(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM images WHERE has_gt=1")[0][0])

    def image_path(self, image_id: str) -> Path:
        path = Path(self.image_record(image_id)["path"])
        return path if path.is_absolute() else self.root / path

    def load_image(self, image_id: str) -> np.ndarray:
        """(H, W, 3) uint8 RGB, EXIF orientation applied."""
        from alc_data.io.images import load_image

        return load_image(self.image_path(image_id))

    # ------------------------------------------------------------------ ground truth
    def gt_path(self, image_id: str) -> Path:
        return self.root / "gt" / f"{image_id}.png"

    def has_gt(self, image_id: str | None = None) -> bool:
        """Whether the image (or, with no id, any image) has reference ground truth."""
        if image_id is None:
            return bool(self.query("SELECT 1 FROM images WHERE has_gt=1 LIMIT 1"))
        return bool(self.image_record(image_id)["has_gt"])

    def read_gt(self, image_id: str) -> np.ndarray:
        from alc_data.io.labels import read_label_png

        if not self.has_gt(image_id):
            raise NotFound(f"image {image_id!r} has no reference ground truth in this workspace")
        return read_label_png(self.gt_path(image_id))

    # ------------------------------------------------------------------ label versions
    def label_versions(self) -> list[LabelVersion]:
        rows = self.query(
            "SELECT name, parent, kind, round, created_at, params FROM label_versions ORDER BY rowid"
        )
        return [LabelVersion(n, p, k, r, c, json.loads(pr)) for n, p, k, r, c, pr in rows]

    def version(self, name: str | None = None) -> LabelVersion:
        """A label version by name; ``None`` or ``"latest"`` gives the newest."""
        versions = self.label_versions()
        if not versions:
            raise NotFound(f"{self.root}: no label versions yet; ingest a dataset first")
        if name in (None, "latest"):
            return versions[-1]
        for v in versions:
            if v.name == name:
                return v
        raise NotFound(f"unknown label version {name!r}; this workspace has: {', '.join(v.name for v in versions)}")

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
        """(H, W) uint8 labels of one image in a version (``None`` = latest)."""
        from alc_data.io.labels import read_label_png

        return read_label_png(self.label_path(self.version(version).name, image_id))

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
        from alc_data.faults import kill_point
        from alc_data.io.labels import encode_label_png

        check_name("label version", name)
        if any(v.name == name for v in self.label_versions()):
            raise AlreadyExists(f"label version {name!r} already exists; choose another --version name")
        if parent is not None:
            self.version(parent)
        final = self.version_dir(name)
        palette = self.palette
        records = self.image_records()
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=final.parent))
        try:
            written: set[str] = set()
            for image_id, label in labels:
                rec = records.get(image_id)
                if rec is None:
                    raise NotFound(f"label for unknown image id {image_id!r}")
                check_label_values(label, self.num_classes, f"label of {image_id!r}")
                if label.shape != (rec["height"], rec["width"]):
                    raise InvalidInput(
                        f"label of {image_id!r} has shape {label.shape}, image is {(rec['height'], rec['width'])}"
                    )
                (tmp / f"{image_id}.png").write_bytes(encode_label_png(label, palette))
                written.add(image_id)
            missing = sorted(set(records) - written)
            if parent is not None:
                src_dir = self.version_dir(parent)
                for image_id in missing:
                    src = src_dir / f"{image_id}.png"
                    try:
                        os.link(src, tmp / src.name)
                    except OSError:
                        shutil.copy2(src, tmp / src.name)
            elif missing:
                raise InvalidInput(f"label version {name!r} lacks labels for {len(missing)} images, e.g. {missing[0]!r}")
            if stage:
                kill_point(f"{stage}:staged")
            renamed = False
            try:
                with self.connect(immediate=True) as con:
                    taken = con.execute("SELECT 1 FROM label_versions WHERE name=?", (name,)).fetchone()
                    if taken:
                        raise AlreadyExists(f"label version {name!r} was registered by another command meanwhile; re-run")
                    if final.exists():  # a folder without its catalogue row: left by a crash before registration
                        shutil.rmtree(final)
                    os.replace(tmp, final)
                    renamed = True
                    if stage:
                        kill_point(f"{stage}:renamed")
                    con.execute(
                        "INSERT INTO label_versions(name, parent, kind, round, created_at, params) VALUES (?,?,?,?,?,?)",
                        (name, parent, kind, round, now_iso(), json.dumps(params or {})),
                    )
                    if on_commit is not None:
                        on_commit(con)
            except BaseException:
                if renamed:
                    shutil.rmtree(final, ignore_errors=True)
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.version(name)

    # ------------------------------------------------------------------ superpixel sets
    def superpixel_sets(self) -> list[SuperpixelSet]:
        """Registered sets, oldest first: name, method, created_at, params (as given) and the folder stamp."""
        out = []
        for n, m, c, p in self.query("SELECT name, method, created_at, params FROM superpixel_sets ORDER BY rowid"):
            params = json.loads(p)
            stamp = params.pop(_STAMP_KEY, None)
            out.append(SuperpixelSet(name=n, method=m, created_at=c, params=params, stamp=stamp))
        return out

    def superpixel_set(self, name: str | None = None) -> SuperpixelSet:
        """The set called ``name`` (None or ``"latest"``: the newest); AlcError naming the sets otherwise."""
        sets = self.superpixel_sets()
        if not sets:
            raise NotFound(f"{self.root}: no superpixel sets; run `alc-data superpixels --method seeds` first")
        if name in (None, "latest"):
            return sets[-1]
        for s in sets:
            if s.name == name:
                return s
        raise NotFound(f"unknown superpixel set {name!r}; this workspace has: {', '.join(s.name for s in sets)}")

    def superpixel_path(self, set_name: str, image_id: str) -> Path:
        return self.root / "superpixels" / set_name / f"{image_id}.npz"

    def read_superpixels(self, set_name: str, image_id: str) -> np.ndarray:
        from alc_data.io.superpixels import read_superpixels

        return read_superpixels(self.superpixel_path(set_name, image_id))

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
        used = self.ledger.rounds_using_superpixels(name)
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
        wrote (a staged map: hard-linked, not re-encoded). The maps go to a staging folder; then, in one transaction, the old folder (when overwriting) is
        moved aside, the new one renamed into place and the catalogue row replaced. Kill points
        ``<stage>:staged`` and ``<stage>:renamed`` (none without ``stage``).
        """
        from alc_data.faults import kill_point
        from alc_data.io.superpixels import stored_shape, write_superpixels

        self.check_superpixel_target(name, overwrite=overwrite)
        final = self.root / "superpixels" / name
        final.parent.mkdir(parents=True, exist_ok=True)
        records = self.image_records()
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=final.parent))
        old = final.parent / f".{name}.old"
        stamp = uuid.uuid4().hex
        try:
            (tmp / SET_STAMP).write_text(stamp)
            written = set()
            for image_id, sp in maps:
                rec = records.get(image_id)
                if rec is None:
                    raise NotFound(f"superpixel map for unknown image id {image_id!r}")
                shape = stored_shape(sp) if isinstance(sp, Path) else sp.shape
                if shape != (rec["height"], rec["width"]):
                    raise InvalidInput(
                        f"superpixel map of {image_id!r} has shape {shape}, image is {(rec['height'], rec['width'])}"
                    )
                if isinstance(sp, Path):
                    try:
                        os.link(sp, tmp / f"{image_id}.npz")
                    except OSError:
                        shutil.copy2(sp, tmp / f"{image_id}.npz")
                else:
                    write_superpixels(tmp / f"{image_id}.npz", sp)
                written.add(image_id)
            missing = sorted(set(records) - written)
            if missing:
                raise InvalidInput(f"superpixel set {name!r} lacks maps for {len(missing)} images, e.g. {missing[0]!r}")
            if stage:
                kill_point(f"{stage}:staged")
            with self.connect(immediate=True) as con:
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
                con.execute(
                    "INSERT INTO superpixel_sets(name, method, created_at, params) VALUES (?,?,?,?)",
                    (name, method, now_iso(), json.dumps({**(params or {}), _STAMP_KEY: stamp})),
                )
        except BaseException:
            if not tmp.exists() and old.exists():  # renamed, then the commit failed: put the old set back
                shutil.rmtree(final, ignore_errors=True)
                os.replace(old, final)
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

    def register_ingest(self, *, labels_from: str, superpixel_set: str | None) -> None:
        """Register the ingested labels as ``v0`` (and imported superpixels) in one transaction."""
        with self.connect() as con:
            con.execute(
                "INSERT INTO label_versions(name, parent, kind, round, created_at, params) VALUES (?,?,?,?,?,?)",
                ("v0", None, "ingest", None, now_iso(), json.dumps({"labels_from": str(labels_from)})),
            )
            if superpixel_set is not None:
                con.execute(
                    "INSERT INTO superpixel_sets(name, method, created_at, params) VALUES (?,?,?,?)",
                    (superpixel_set, "imported", now_iso(), "{}"),
                )

    # ------------------------------------------------------------------ paths
    def rounds_dir(self, round_no: int) -> Path:
        return self.root / "rounds" / f"{round_no:03d}"

    def runs_dir(self) -> Path:
        return self.root / "runs"


def validate_classes(classes: list[ClassInfo]) -> None:
    if not classes:
        raise InvalidInput("no classes given; a dataset needs at least one class")
    if len(classes) >= IGNORE_INDEX:
        raise InvalidInput(f"{len(classes)} classes; at most {IGNORE_INDEX} fit in uint8 labels beside the ignore index")
    for i, c in enumerate(classes):
        if c.index != i:
            raise InvalidInput(f"class indices must be 0..K-1 in order; got {c.index} at position {i}")
    names = [c.name for c in classes]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise InvalidInput(f"duplicate class names: {', '.join(sorted(dup))}; class names must be unique")


def check_label_values(label: np.ndarray, num_classes: int, what: str) -> None:
    """AlcError when a label map holds a value ≥ K other than IGNORE_INDEX."""
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
