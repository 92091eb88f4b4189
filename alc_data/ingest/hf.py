"""Hugging Face datasets: a saved dataset folder, a parquet / imagefolder folder, or a hub name.

Expected input::

    DIR/ written by Dataset.save_to_disk or DatasetDict.save_to_disk   → datasets.load_from_disk
    DIR/ any folder datasets.load_dataset reads (parquet files, ...)    → datasets.load_dataset(DIR)
    owner/name on the hub (only when online)                           → datasets.load_dataset(name)

Columns: an image column (``Image`` feature) and a label column (``Image`` feature holding class ids
as a palette or grey image, or a 2-D integer array), optionally ``image_id``. Labels are decoded
from their stored bytes with no mode conversion (docs/traps.md: ``Image(mode=...)`` on a label
column destroys class ids). Images are copied into the workspace; a JPEG with an EXIF orientation is
stored upright as PNG. ``image_id`` comes from an ``image_id`` column when present, else
``<split>_<row:06d>``.

Image cells are read from their bytes. A cell that holds only a local path (``to_parquet`` and
imagefolder datasets store paths) is read only when the file lies inside the dataset folder (for a
hub dataset: inside the datasets / hub caches); any other path is refused, so a dataset cannot make
ingest copy an arbitrary local file into the workspace.

Class names, first found: ``classes`` (a class-list file, see
:func:`alc_data.ingest.folder.read_classes_file`), ``id2label.json`` in DIR (or in the hub repo),
the first ``ClassLabel`` feature of the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, InvalidInput, NotFound
from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem
from alc_data.workspace import ClassInfo, rgb


def _load(source: str, cache_dir: str | None) -> dict[str, Any]:
    """Load ``source`` as {split name: datasets.Dataset}."""
    import datasets

    path = Path(source).expanduser()
    try:
        if path.is_dir():
            if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
                loaded = datasets.load_from_disk(str(path))
            else:
                loaded = datasets.load_dataset(str(path), cache_dir=cache_dir)
        elif path.exists():
            raise InvalidInput(f"{path}: not a folder; pass a folder written by save_to_disk or of parquet files")
        elif source.startswith((".", "/", "~")) or source.count("/") > 1:
            raise NotFound(f"{path}: dataset folder not found; check the path (or pass a hub name owner/name)")
        else:
            loaded = datasets.load_dataset(source, cache_dir=cache_dir)
    except AlcError:
        raise
    except Exception as exc:  # noqa: BLE001 - any loading failure of the third-party library
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(
            f"{source}: cannot load the dataset ({type(exc).__name__}: {first}); pass a local folder, "
            "or a hub name while online"
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        return dict(loaded)
    if isinstance(loaded, datasets.Dataset):
        return {str(loaded.split) if loaded.split is not None else "train": loaded}
    raise InvalidInput(f"{source}: loaded a {type(loaded).__name__}, expected a Dataset or DatasetDict")


def _id2label_classes(data: dict, where: str) -> list[ClassInfo]:
    from alc_data.io.labels import default_palette

    try:
        table = {int(k): str(v) for k, v in data.items() if int(k) != IGNORE_INDEX}
    except (ValueError, AttributeError):
        raise InvalidInput(f"{where}: expected a JSON object of class id → name; fix the file") from None
    missing = sorted(set(range(len(table))) - set(table))
    if missing:
        raise InvalidInput(f"{where}: class id {missing[0]} is missing; ids must be 0..K-1 with no gaps")
    pal = default_palette()
    return [ClassInfo(i, table[i], rgb(pal[i])) for i in range(len(table))]


def _colour(value: Any, where: Path) -> tuple[int, int, int] | None:
    """A class's [r, g, b] from label2color.json (None when it has none); one line for anything else."""
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)):
        raise InvalidInput(f"{where}: colour {value!r} is not [r, g, b] with 0-255 each; fix the file")
    return (value[0], value[1], value[2])


def _find_classes(source: str, dsets: dict[str, Any]) -> list[ClassInfo] | None:
    """Class names from id2label.json (local folder or hub repo) or the first ClassLabel feature."""
    import datasets

    from alc_data.io.labels import default_palette

    path = Path(source).expanduser()
    id2label: Path | None = path / "id2label.json" if path.is_dir() else None
    if id2label is None:
        try:
            from huggingface_hub import hf_hub_download

            id2label = Path(hf_hub_download(source, "id2label.json", repo_type="dataset"))
        except Exception:  # noqa: BLE001 - the file is optional
            id2label = None
    if id2label is not None and id2label.is_file():
        from alc_data.io.json_text import loads

        classes = _id2label_classes(loads(id2label.read_bytes(), str(id2label)), str(id2label))
        colours = id2label.with_name("label2color.json")  # beside it in an `alc-data export --format hf` or publish
        if colours.is_file():
            table = loads(colours.read_bytes(), str(colours))
            if not isinstance(table, dict):
                raise InvalidInput(f"{colours}: expected a JSON object of class name → [r, g, b]; fix the file")
            classes = [ClassInfo(c.index, c.name, _colour(table.get(c.name), colours) or c.color) for c in classes]
        return classes
    pal = default_palette()
    for ds in dsets.values():
        for feature in ds.features.values():
            inner = getattr(feature, "feature", feature)
            if isinstance(inner, datasets.ClassLabel):
                return [ClassInfo(i, n, rgb(pal[i])) for i, n in enumerate(inner.names)]
    return None


def _cell_bytes(cell: Any, what: str, roots: tuple[Path, ...]) -> tuple[bytes, str | None]:
    """Raw bytes (and the stored path, if any) of an undecoded ``Image`` cell.

    A cell with bytes is read from its bytes (its path is only a name). A cell with only a path is
    read from that file when it lies inside one of ``roots`` (the dataset's own folder, or the hub
    caches for a hub dataset): a dataset must not make ingest read any other local file. Relative
    paths are taken relative to the first root.
    """
    if isinstance(cell, dict) and cell.get("bytes") is not None:
        return cell["bytes"], cell.get("path")
    if isinstance(cell, dict) and cell.get("path"):
        return _read_inside(str(cell["path"]), what, roots), cell["path"]
    raise InvalidInput(f"{what}: empty cell; every row needs an image and a label")


def _read_inside(path: str, what: str, roots: tuple[Path, ...]) -> bytes:
    """The bytes of ``path`` when it lies (lexically, after resolving ``..``) inside one of ``roots``."""
    from alc_data.names import path_inside

    inside = [p for p in (path_inside(path, r) for r in roots) if p is not None]
    if not inside:
        where = ", ".join(map(str, roots)) or "no local folder"
        raise InvalidInput(
            f"{what}: refers to the local file {path!r}, outside the dataset folder ({where}); embed the image "
            "bytes in the dataset (e.g. push_to_hub or save_to_disk) or move the files into the dataset folder"
        )
    full = inside[0]
    try:
        return Path(full).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{full}: cannot read {what} ({exc.strerror}); fix the dataset") from None


def _allowed_roots(source: str, cache_dir: str | None) -> tuple[Path, ...]:
    """Folders a path-only image cell may point into: the dataset folder (as given and with its
    symlinks resolved), or for a hub dataset the caches it was downloaded to."""
    path = Path(source).expanduser()
    if path.is_dir():
        return tuple(dict.fromkeys((path.absolute(), path.resolve())))
    import datasets.config
    from huggingface_hub import constants

    caches = [cache_dir] if cache_dir else []
    caches += [datasets.config.HF_DATASETS_CACHE, constants.HF_HUB_CACHE]
    return tuple(dict.fromkeys(Path(c).expanduser().absolute() for c in caches))


def _image_payload(data: bytes, path: str | None, what: str) -> tuple[bytes, str]:
    """The bytes to store for an image and their suffix; upright PNG when EXIF says it is rotated or
    the image is 16-bit grey (scaled to 8 bit, see :mod:`alc_data.io.images`)."""
    from alc_data.io.images import exif_orientation, open_image, upright_rgb_png

    img = open_image(data, what)
    if exif_orientation(img) != 1 or img.mode.startswith("I"):
        return upright_rgb_png(img), ".png"
    suffix = Path(path).suffix.lower() if path and Path(path).suffix else ""
    if not suffix:
        suffix = {"JPEG": ".jpg"}.get(img.format or "", f".{(img.format or 'png').lower()}")
    return data, suffix


def decode_label_bytes(data: bytes, what: str) -> np.ndarray:
    """Decode a stored label image to (H, W) uint8 class ids without any mode conversion."""
    from alc_data.io.images import open_image
    from alc_data.io.labels import label_indices

    return label_indices(open_image(data, what), what)


def _label_array(cell: Any, what: str, roots: tuple[Path, ...]) -> np.ndarray:
    if isinstance(cell, dict):
        return decode_label_bytes(_cell_bytes(cell, what, roots)[0], what)
    arr = np.asarray(cell)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInput(f"{what}: label is {arr.dtype} with shape {arr.shape}; expected a 2-D integer array or an image")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise InvalidInput(f"{what}: label values outside 0..255; use class ids and {IGNORE_INDEX} for ignore")
    return arr.astype(np.uint8)


@FORMATS.register("hf")
def read_hf(
    source: str | Path,
    *,
    image_column: str = "image",
    label_column: str = "label",
    splits: list[str] | None = None,
    classes: str | Path | list[ClassInfo] | None = None,
    name: str | None = None,
    cache_dir: str | None = None,
) -> DatasetSource:
    """Read a Hugging Face dataset (see the module docstring for what is accepted).

    ``splits`` restricts the splits read (default: all). ``cache_dir`` is passed to
    ``datasets.load_dataset`` (not used by ``load_from_disk``).
    """
    import datasets

    from alc_data.ingest.folder import read_classes_file

    source = str(source)
    dsets = _load(source, cache_dir)
    if splits:
        unknown = [s for s in splits if s not in dsets]
        if unknown:
            raise NotFound(f"{source}: no split {unknown[0]!r}; it has {', '.join(dsets)}")
        dsets = {s: dsets[s] for s in splits}
    for split, ds in dsets.items():
        for col in (image_column, label_column):
            if col not in ds.column_names:
                raise NotFound(
                    f"{source} [{split}]: no column {col!r}; it has {', '.join(ds.column_names)} "
                    "(use --image-column / --label-column)"
                )
    if classes is None:
        class_list = _find_classes(source, dsets)
        if class_list is None:
            raise NotFound(f"{source}: no class names (no id2label.json, no ClassLabel feature); pass --classes FILE")
    elif isinstance(classes, (str, Path)):
        class_list = read_classes_file(classes)
    else:
        class_list = list(classes)

    roots = _allowed_roots(source, cache_dir)
    prepared: dict[str, Any] = {}
    for split, ds in dsets.items():
        cols = [image_column, label_column] + (["image_id"] if "image_id" in ds.column_names else [])
        ds = ds.select_columns(cols)
        for col in (image_column, label_column):
            if isinstance(ds.features[col], datasets.Image):
                ds = ds.cast_column(col, datasets.Image(decode=False))
        prepared[split] = ds

    def items() -> Iterator[IngestItem]:
        for split, ds in prepared.items():
            has_id = "image_id" in ds.column_names
            for row_no, row in enumerate(ds):
                image_id = str(row["image_id"]) if has_id else f"{split}_{row_no:06d}"
                where = f"{source} [{split}] row {row_no} ({image_id!r})"
                data, path = _cell_bytes(row[image_column], f"{where} column {image_column!r}", roots)
                payload, suffix = _image_payload(data, path, f"{where} column {image_column!r}")
                yield IngestItem(
                    image_id=image_id,
                    image_path=Path(path or f"{split}/{image_id}{suffix}"),
                    splits=(split,),
                    gt=_label_array(row[label_column], f"{where} column {label_column!r}", roots),
                    image_bytes=payload,
                    image_suffix=suffix,
                    source_files={"gt": Path(f"{where} column {label_column!r}")},
                )

    return DatasetSource(
        name=name or Path(source.rstrip("/")).name,
        classes=class_list,
        items=items,
        count=sum(len(ds) for ds in prepared.values()),
        meta={"source": source, "image_column": image_column, "label_column": label_column, "splits": list(prepared)},
    )
