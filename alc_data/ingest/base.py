"""The generic ingest driver: a format reader yields items, the driver validates and writes them.

A reader (registered in :data:`FORMATS`) returns a :class:`DatasetSource`. The driver builds the
whole workspace in a temporary folder beside the target and renames it into place at the end, so a
failed ingest leaves nothing behind and an existing workspace is never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from alc_data.errors import AlreadyExists, InvalidInput, NotFound
from alc_data.io.registered import sha256_file, write_registered
from alc_data.names import check_class_names, check_image_id
from alc_data.registry import Registry
from alc_data.workspace import ClassInfo, Workspace, check_label_values

class FormatRegistry(Registry[Callable[..., "DatasetSource"]]):
    """Dataset formats by name, both directions: ``get(name)`` is the reader (ingest), which takes
    format-specific arguments and returns a DatasetSource; ``exporter(name)`` is the writer (``alc-data
    export --format``), registered by :mod:`alc_data.export`. ``names()`` lists the readers,
    ``export_names()`` the writers: a format may have one direction only (``demo`` is never exported,
    ``fiftyone`` never ingested)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.exporters: Registry[Callable[..., Any]] = Registry("export format")

    def register_export(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.exporters.register(name)

    def exporter(self, name: str) -> Callable[..., Any]:
        return self.exporters.get(name)

    def export_names(self) -> list[str]:
        return self.exporters.names()


FORMATS = FormatRegistry("dataset format")
"""Dataset formats by name: the readers, and (``FORMATS.exporter``) the writers."""


@dataclass
class IngestItem:
    """One image of a source dataset.

    ``gt``: (H, W) uint8 reference labels (the dataset's own annotation, class ids 0..K-1, 255 void),
    or None. ``labels``: (H, W) uint8 labels to correct, when the source itself provides them apart
    from ``gt`` (folder format, demo: the source then names them in ``DatasetSource.labels_origin``);
    otherwise ``labels_from`` decides. ``superpixels``: (H, W) int32 region
    ids (< 0 = not covered), or None. ``image_bytes``: set when the image must be copied into the
    workspace (hub datasets, generated data); then ``image_path`` only names the file for messages.
    """

    image_id: str
    image_path: Path
    splits: tuple[str, ...] = ()
    gt: np.ndarray | None = None
    labels: np.ndarray | None = None
    superpixels: np.ndarray | None = None
    image_bytes: bytes | None = None
    image_suffix: str = ".png"
    source_files: dict[str, Path] = field(default_factory=dict)  # name -> file, for error messages


@dataclass
class DatasetSource:
    """What a reader returns: dataset name, classes, and a lazily produced sequence of items."""

    name: str
    classes: list[ClassInfo]
    items: Callable[[], Iterable[IngestItem]]
    count: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: class index -> the dataset's own entry for that class (COCO: the category, with its ``id``), stored
    #: in the catalogue so that an export can write the original ids back
    class_sources: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: what v0 is when the items bring their own ``labels`` (apart from ``gt``): recorded as the workspace's
    #: ``labels_from`` in place of the driver's, which the items' labels override (the folder format: its
    #: labels folder; the demo: :data:`DEMO_LABELS`). None: the items bring no labels of their own.
    labels_origin: str | None = None


#: ``labels_from`` values: ``gt`` (v0 = the dataset's own annotation, so the reference ground truth is no
#: independent measure of v0), a folder of ``<image_id>.png`` labels, or a ``DatasetSource.labels_origin``
LABELS_FROM_GT = "gt"
#: the demo's ``labels_origin``: its simulated Grounded-SAM labels (the ground truth stays independent)
DEMO_LABELS = "demo:pseudo-labels"


def recorded_labels_from(source: DatasetSource, labels_from: str | os.PathLike) -> str:
    """What a workspace records as ``labels_from``: the source's ``labels_origin`` when its items bring
    their own labels (they override ``labels_from``), else ``labels_from``."""
    return source.labels_origin if source.labels_origin is not None else str(labels_from)


def read_labels_folder(folder: Path, image_id: str) -> np.ndarray:
    """Labels ``<folder>/<image_id>.png``; AlcError naming the file when it is missing."""
    from alc_data.io.labels import read_label_png

    path = folder / f"{image_id}.png"
    if not path.is_file():
        raise NotFound(f"{path}: no label for image {image_id!r}; add it or drop the image from the split lists")
    return read_label_png(path)


def ingest(
    workspace: str | os.PathLike,
    source: DatasetSource,
    *,
    labels_from: str | os.PathLike = "gt",
    superpixel_set: str = "imported",
    finish: Callable[[Workspace], None] | None = None,
) -> Workspace:
    """Create a workspace at ``workspace`` from ``source``.

    ``labels_from``: ``"gt"`` (version v0 = the dataset's own annotation, the PASCAL+ case) or a
    folder of ``<image_id>.png`` label maps (pseudo labels, the Grounded-SAM case). The dataset's
    annotation is kept separately as reference ground truth either way. ``finish``: called with the
    staged workspace before it is moved into place, for what else belongs in it from the start (the
    demo's second superpixel set), so a crash leaves either no workspace or a whole one.

    The library boundary: checks ``labels_from`` once, then runs :func:`build_workspace` (which the
    ``ingest`` stage calls with checked options).
    """
    return build_workspace(workspace, source, labels_from=labels_from, labels_dir=labels_folder(labels_from),
                           superpixel_set=superpixel_set, finish=finish)


def labels_folder(labels_from: str | os.PathLike) -> Path | None:
    """None for ``"gt"``, else the label folder ``labels_from``; AlcError when it is missing."""
    labels_dir = None if str(labels_from) == "gt" else Path(labels_from)
    if labels_dir is not None and not labels_dir.is_dir():
        raise NotFound(f"{labels_dir}: label folder not found; pass --labels-from gt or an existing folder")
    return labels_dir


def build_workspace(
    workspace: str | os.PathLike,
    source: DatasetSource,
    *,
    labels_from: str | os.PathLike,
    labels_dir: Path | None,
    superpixel_set: str = "imported",
    finish: Callable[[Workspace], None] | None = None,
) -> Workspace:
    """:func:`ingest` with a checked ``labels_dir`` (None: start from the ground truth): stages the
    whole workspace beside the target and renames it into place."""
    from alc_data.faults import kill_point

    target = Path(workspace).resolve()
    _refuse_target(target)
    check_class_names([c.name for c in source.classes], f"classes of {source.name}")
    created = _missing_ancestors(target.parent)  # folders this call creates, removed again on failure
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.ingest-", dir=target.parent))
    except OSError as exc:
        _remove_empty(created)
        raise InvalidInput(f"{target}: cannot create the workspace ({exc.strerror}); choose a writable folder") from None
    recorded = recorded_labels_from(source, labels_from)
    try:
        ws = Workspace.initialise(
            staging,
            dataset=source.name,
            classes=source.classes,
            extra_meta={"format_meta": source.meta, "labels_from": recorded},
        )
        if source.class_sources:
            ws.catalogue.add_class_sources(source.class_sources)
        has_sp, hashes = _write_items(ws, staging, source, labels_dir, superpixel_set)
        ws.labels.register_ingest(hashes, labels_from=recorded, superpixel_set=superpixel_set if has_sp else None)
        if finish is not None:
            finish(ws)
        kill_point("ingest:staged")
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
        kill_point("ingest:renamed")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        raise
    return Workspace.open(target)


def _refuse_target(target: Path) -> None:
    """AlcError when ``target`` holds a workspace or is not an empty folder."""
    if Workspace.exists_at(target):
        existing = Workspace.open(target)
        raise AlreadyExists(
            f"{target}: already holds dataset {existing.catalogue.meta('dataset')!r}; use another -w/--workspace "
            "or delete that folder"
        )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(f"{target}: exists and is not an empty folder; choose a new -w/--workspace")


def _write_items(
    ws: Workspace, staging: Path, source: DatasetSource, labels_dir: Path | None, superpixel_set: str
) -> tuple[bool, dict[str, str]]:
    """Write every item of ``source`` into the staged workspace and catalogue the images; whether
    superpixels came with them, and each v0 label file's SHA-256 (computed as it was written)."""
    from alc_data.progress import track

    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    has_sp = False
    k, palette = len(source.classes), ws.catalogue.palette
    (staging / "labels" / "v0").mkdir(parents=True)
    (staging / "gt").mkdir()
    for item in track(source.items(), f"ingest {source.name}", total=source.count):
        check_image_id(item.image_id, str(Path(item.image_path)))
        if item.image_id in seen:
            raise InvalidInput(f"image id {item.image_id!r} appears twice in the source; image ids must be unique")
        seen.add(item.image_id)
        records.append(_write_item(staging, item, (k, palette), labels_dir, superpixel_set))
        has_sp = has_sp or item.superpixels is not None
    if not records:
        raise NotFound(f"no images found in the {source.name} source; check the folder and split lists")
    if labels_dir is not None:
        extra = sorted(p.stem for p in labels_dir.glob("*.png") if p.stem not in seen)
        if extra:
            raise InvalidInput(
                f"{labels_dir / (extra[0] + '.png')}: label without an image ({len(extra)} such files); "
                "remove them or add the images"
            )
    if has_sp and len(list((staging / "superpixels" / superpixel_set).glob("*.npz"))) != len(records):
        raise InvalidInput("superpixels were given for some images but not all; give one map per image")
    ws.catalogue.add_images(records)
    return has_sp, {r["image_id"]: r["label_sha256"] for r in records}


def _stored_image(staging: Path, item: IngestItem) -> tuple[str, Path, tuple[int, int]]:
    """Where the image of ``item`` is recorded (a path in the workspace or the source file), the file
    to hash, and its upright (height, width). An image with an EXIF rotation is stored upright."""
    from alc_data.io.images import exif_orientation, open_image, upright, upright_rgb_png

    path = Path(item.image_path)
    if item.image_bytes is not None:
        rel = Path("images") / f"{item.image_id}{item.image_suffix}"
        (staging / rel).parent.mkdir(exist_ok=True)
        (staging / rel).write_bytes(item.image_bytes)
        stored_path, check_path = str(rel), staging / rel
    else:
        if not path.is_file():
            raise NotFound(f"{path}: image not found for id {item.image_id!r}; add the image, or drop the id from "
                           "the dataset's list of images (split list or annotation file)")
        stored_path, check_path = str(path.resolve()), path
    img = open_image(check_path)
    up = upright(img)
    if item.image_bytes is None and exif_orientation(img) not in (0, 1):
        # store the upright image so every reader (datasets, viewers) sees the same pixels
        rel = Path("images") / f"{item.image_id}.png"
        (staging / rel).parent.mkdir(exist_ok=True)
        (staging / rel).write_bytes(upright_rgb_png(up))
        stored_path, check_path = str(rel), staging / rel
    img.close()
    return stored_path, check_path, (up.height, up.width)


def _write_item(
    staging: Path, item: IngestItem, classes: tuple[int, np.ndarray], labels_dir: Path | None, superpixel_set: str
) -> dict[str, Any]:
    """Write the ground truth, labels v0 and superpixels of one item (``classes``: the number of
    classes and the (256, 3) palette); its catalogue record."""
    from alc_data.io.labels import encode_label_png
    from alc_data.io.superpixels import write_superpixels

    path = Path(item.image_path)
    stored_path, check_path, (h, w) = _stored_image(staging, item)
    k, palette = classes
    gt = item.gt
    if gt is not None:
        _check_map(gt, (h, w), k, f"ground truth of {item.image_id!r} ({item.source_files.get('gt', path)})")
        write_registered(staging / "gt" / f"{item.image_id}.png", encode_label_png(gt, palette))
    if item.labels is not None:
        labels = item.labels
        what = item.source_files.get("labels", "labels")
    elif labels_dir is not None:
        labels = read_labels_folder(labels_dir, item.image_id)
        what = labels_dir / f"{item.image_id}.png"
    else:
        if gt is None:
            raise NotFound(f"image {item.image_id!r} has no annotation to start from; pass --labels-from FOLDER")
        labels, what = gt, item.source_files.get("gt", path)
    _check_map(labels, (h, w), k, f"labels of {item.image_id!r} ({what})")
    label_sha256 = write_registered(staging / "labels" / "v0" / f"{item.image_id}.png", encode_label_png(labels, palette))
    if item.superpixels is not None:
        sp = np.asarray(item.superpixels)
        if sp.shape != (h, w):
            raise InvalidInput(
                f"superpixels of {item.image_id!r} ({item.source_files.get('superpixels', '')}) have "
                f"shape {sp.shape}, image is {(h, w)}; they must match the image"
            )
        write_superpixels(staging / "superpixels" / superpixel_set / f"{item.image_id}.npz", sp)
    return dict(image_id=item.image_id, path=stored_path, sha256=sha256_file(check_path), height=h, width=w,
                has_gt=gt is not None, splits=item.splits, label_sha256=label_sha256)


def _missing_ancestors(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            break


def _check_map(arr: np.ndarray, size: tuple[int, int], k: int, what: str) -> None:
    arr = np.asarray(arr)
    if arr.shape != size:
        raise InvalidInput(f"{what}: size {arr.shape[::-1]} (W, H) differs from its image {size[::-1]}; they must match")
    check_label_values(arr, k, what)
