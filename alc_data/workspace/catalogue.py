"""The catalogue: the workspace's images, splits, classes, palette, metadata and reference ground truth.

``ws.catalogue`` reads them; only ingest writes them (:meth:`Catalogue.add_images`, and
:meth:`alc_data.workspace.Workspace.initialise` for the classes and metadata).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput, NotFound
from alc_data.io.images import load_image as load_image_file
from alc_data.io.labels import default_palette, read_label_png
from alc_data.names import parse_ascii_int
from alc_data.workspace.db import Database


@dataclass(frozen=True)
class ClassInfo:
    """One class: its index in label maps, its name and its RGB colour."""

    index: int
    name: str
    color: tuple[int, int, int]


@dataclass(frozen=True)
class ImageRecord:
    """One image as the catalogue holds it: its id, stored path (absolute, or relative to the
    workspace when copied in), checksum, size and whether it has reference ground truth."""

    image_id: str
    path: str
    sha256: str
    height: int
    width: int
    has_gt: bool


_IMAGE_COLUMNS = "image_id, path, sha256, height, width, has_gt"


def _image(row: tuple[Any, ...]) -> ImageRecord:
    image_id, path, sha256, height, width, has_gt = row
    return ImageRecord(image_id=image_id, path=path, sha256=sha256, height=int(height), width=int(width),
                       has_gt=bool(has_gt))


def rgb(values: Iterable[Any]) -> tuple[int, int, int]:
    """The first three of ``values`` (a palette row, a list from a file) as an (R, G, B) int triple."""
    v = [int(x) for x in values][:3]
    if len(v) != 3:
        raise InvalidInput(f"colour {v} has {len(v)} values; give three (R, G, B)")
    return v[0], v[1], v[2]


def validate_classes(classes: list[ClassInfo]) -> None:
    """InvalidInput unless ``classes`` are 1..254 uniquely named classes indexed 0..K-1 in order."""
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


class Catalogue:
    """Images, splits, classes and metadata of one workspace (``ws.catalogue``)."""

    def __init__(self, db: Database, root: Path) -> None:
        self._db = db
        self.root = root
        self._classes: list[ClassInfo] | None = None

    # ------------------------------------------------------------------ meta
    def meta(self, key: str, default: Any = None) -> Any:
        """A metadata value (JSON-decoded when it is JSON), or ``default``."""
        row = self._db.rows("SELECT value FROM meta WHERE key=?", (key,))
        if not row:
            return default
        try:
            return json.loads(row[0][0])
        except json.JSONDecodeError:
            return row[0][0]

    @property
    def workspace_id(self) -> str:
        """The workspace's random id (a uuid4 made when it was created, or by the schema 4 upgrade)."""
        return str(self.meta("workspace_id"))

    # ------------------------------------------------------------------ classes
    @property
    def classes(self) -> list[ClassInfo]:
        if self._classes is None:
            rows = self._db.rows("SELECT idx, name, r, g, b FROM classes ORDER BY idx")
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
        return default_palette([c.color for c in self.classes])

    def class_index(self, value: str | int) -> int:
        """Resolve a class name or index (as given by a person) to an index; InvalidInput if unknown.

        Names match exactly (case-sensitive); a name wins over an index (a class named ``"0"``); an
        index is ASCII digits only (``"²"`` is no index).
        """
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

    def add_class_sources(self, sources: Mapping[int, Mapping[str, Any]]) -> None:
        """Store each class's entry in the source dataset (``{"id": ..., ...}``; ingest only)."""
        with self._db.connect() as con:
            con.executemany(
                "INSERT INTO class_sources(idx, source_id, entry) VALUES (?, ?, ?)",
                [(int(idx), int(entry["id"]), json.dumps(dict(entry))) for idx, entry in sources.items()],
            )

    def class_sources(self) -> dict[int, dict[str, Any]]:
        """Class index -> the source dataset's entry for it (with its ``id``); empty when ingest stored none."""
        rows = self._db.rows("SELECT idx, entry FROM class_sources ORDER BY idx")
        return {int(idx): json.loads(entry) for idx, entry in rows}

    # ------------------------------------------------------------------ images
    def add_images(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Insert image rows: mappings with image_id, path, sha256, height, width, has_gt, splits."""
        with self._db.connect() as con:
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
        """Image ids in sorted order, all or of one split (NotFound for an unknown split)."""
        if split is None:
            return [r[0] for r in self._db.rows("SELECT image_id FROM images ORDER BY image_id")]
        rows = self._db.rows("SELECT image_id FROM splits WHERE split=? ORDER BY image_id", (split,))
        if not rows and split not in self.splits():
            raise NotFound(f"unknown split {split!r}; this workspace has: {', '.join(self.splits()) or 'none'}")
        return [r[0] for r in rows]

    def splits(self) -> dict[str, int]:
        """Split name → number of images, by name."""
        rows = self._db.rows("SELECT split, COUNT(*) FROM splits GROUP BY split ORDER BY split")
        return {str(s): int(n) for s, n in rows}

    def image_record(self, image_id: str) -> ImageRecord:
        rows = self._db.rows(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE image_id=?", (image_id,))
        if not rows:
            raise NotFound(f"unknown image id {image_id!r} in workspace {self.root}")
        return _image(rows[0])

    def image_records(self) -> dict[str, ImageRecord]:
        """Every image's record in one read, by image id in sorted order."""
        rows = self._db.rows(f"SELECT {_IMAGE_COLUMNS} FROM images ORDER BY image_id")
        return {r[0]: _image(r) for r in rows}

    def image_sizes(self) -> dict[str, tuple[int, int]]:
        """image_id → (height, width) of every image, in one query."""
        return {i: (int(h), int(w)) for i, h, w in self._db.rows("SELECT image_id, height, width FROM images")}

    def image_paths(self) -> dict[str, Path]:
        """image_id → the image file (stored paths are absolute, or relative to the workspace)."""
        rows = self._db.rows("SELECT image_id, path FROM images")
        return {i: (Path(p) if Path(p).is_absolute() else self.root / p) for i, p in rows}

    def count_with_gt(self) -> int:
        return int(self._db.rows("SELECT COUNT(*) FROM images WHERE has_gt=1")[0][0])

    def image_path(self, image_id: str) -> Path:
        path = Path(self.image_record(image_id).path)
        return path if path.is_absolute() else self.root / path

    def load_image(self, image_id: str) -> np.ndarray:
        """(H, W, 3) uint8 RGB, EXIF orientation applied."""
        return load_image_file(self.image_path(image_id))

    # ------------------------------------------------------------------ ground truth
    def gt_path(self, image_id: str) -> Path:
        return self.root / "gt" / f"{image_id}.png"

    def has_gt(self, image_id: str | None = None) -> bool:
        """Whether the image (or, with no id, any image) has reference ground truth."""
        if image_id is None:
            return bool(self._db.rows("SELECT 1 FROM images WHERE has_gt=1 LIMIT 1"))
        return self.image_record(image_id).has_gt

    def read_gt(self, image_id: str) -> np.ndarray:
        if not self.has_gt(image_id):
            raise NotFound(f"image {image_id!r} has no reference ground truth in this workspace")
        return read_label_png(self.gt_path(image_id))
