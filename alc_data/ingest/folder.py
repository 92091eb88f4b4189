"""Plain folders: images, label maps, optional reference ground truth and superpixels, a class list.

Expected layout (folders may live anywhere)::

    IMAGES/<image_id>.jpg|.jpeg|.png   the images (EXIF orientation is applied at ingest)
    LABELS/<image_id>.png              labels to correct (version v0): palette or grey PNG of class ids
    GT/<image_id>.png                  optional reference ground truth, same encoding (may cover a subset)
    SUPERPIXELS/<image_id>.png         optional 16-bit grey PNG of region ids, 0 = not covered;
                                       stored id v > 0 becomes region v-1, 0 becomes -1
    CLASSES                            class list, see :func:`read_classes_file`
    LISTFILE                           optional split list: one image id per line

Label values are class indices 0..K-1 in the order of the class list, 255 = ignore. Without split
lists every image goes to split ``train``; with them, an image listed in no list is ingested without
a split.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.names import bad_character, check_class_names, parse_ascii_int, text_lines
from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem
from alc_data.workspace import ClassInfo, rgb

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_HEX = re.compile(r"^#([0-9a-fA-F]{6})$")
LABELME_IGNORE = "__ignore__"


def read_classes_file(path: str | Path) -> list[ClassInfo]:
    """Read a class list: one class per line, in label-index order (line 1 = class 0).

    Each line is ``name``, ``name R G B`` (0-255 each) or ``name #rrggbb``; names may contain
    spaces (``traffic light 250 170 30``). Blank lines and lines starting with ``#`` are skipped; a
    first line ``__ignore__`` (labelme's marker for the ignore label) is skipped too. Classes without
    a colour get the VOC colour of their index. Names are matched exactly (case-sensitive) everywhere,
    and two names may not differ only by case. Lines end at ``\n``, ``\r\n`` or ``\r`` only; a name
    with another control or line-separator character (U+2028, tab, ...) is refused.
    """
    from alc_data.io.labels import default_palette

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: class list not found; pass --classes with one class name per line")
    text = _read_text(path, "class list")
    pal = default_palette()
    classes: list[ClassInfo] = []
    first_line: dict[str, int] = {}
    for lineno, raw in enumerate(text_lines(text), start=1):
        ch = bad_character(raw.replace("\t", " "))
        if ch is not None:
            raise InvalidInput(
                f"{path}:{lineno}: line {raw!r} contains the control character {ch!r}; "
                "write one class per line with spaces or tabs between name and colour"
            )
        line = raw.strip()
        if not line or line.startswith("#") or (not classes and line == LABELME_IGNORE):
            continue
        tokens = line.split()
        color: tuple[int, int, int] | None = None
        channels = [c for c in (parse_ascii_int(t) for t in tokens[-3:]) if c is not None]
        if len(tokens) >= 2 and _HEX.match(tokens[-1]):
            hx = tokens[-1][1:]
            color = (int(hx[0:2], 16), int(hx[2:4], 16), int(hx[4:6], 16))
            tokens = tokens[:-1]
        elif len(tokens) >= 4 and len(channels) == 3:
            if max(channels) > 255:
                raise InvalidInput(f"{path}:{lineno}: colour {tuple(channels)} out of range; use 0-255 per channel")
            color, tokens = (channels[0], channels[1], channels[2]), tokens[:-3]
        name = " ".join(tokens)
        check_class_names([name], f"{path}:{lineno}")
        key = name.casefold()
        if key in first_line:
            raise InvalidInput(
                f"{path}:{lineno}: class name {name!r} repeats line {first_line[key]} (two names may not differ only "
                "by case); make every class name unique"
            )
        first_line[key] = lineno
        idx = len(classes)
        classes.append(ClassInfo(idx, name, color or rgb(pal[idx])))
    if not classes:
        raise InvalidInput(f"{path}: class list is empty; write one class name per line")
    return classes


def read_superpixel_png(path: Path) -> np.ndarray:
    """Read a superpixel PNG (grey, 8 or 16 bit; 0 = not covered) as (H, W) int32 ids, -1 = not covered."""
    from alc_data.io.images import open_image

    img = open_image(path)
    if img.mode not in ("L", "I;16", "I;16B", "I;16L", "I"):
        raise InvalidInput(f"{path}: superpixel PNG has mode {img.mode!r}; save region ids as a 16-bit grey PNG")
    arr = np.asarray(img).astype(np.int64)
    if arr.size and arr.min() < 0:
        raise InvalidInput(f"{path}: negative region ids; store region v as v+1 and 0 for uncovered pixels")
    return (arr - 1).astype(np.int32)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a byte order mark (Windows editors) is no character
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: {what} is not UTF-8 text; save it as a text file") from None


def _scan(folder: Path, suffixes: tuple[str, ...], what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise NotFound(f"{folder}: {what} folder not found; check the path")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."):
            if p.stem in found:
                raise InvalidInput(f"{p}: same image id as {found[p.stem].name}; keep one file per image id")
            found[p.stem] = p
    return found


def _match(images: dict[str, Path], files: dict[str, Path], folder: Path, what: str, *, every_image: bool) -> None:
    extra = sorted(set(files) - set(images))
    if extra:
        raise InvalidInput(f"{files[extra[0]]}: {what} without an image ({len(extra)} such files); remove it or add the image")
    if every_image:
        missing = sorted(set(images) - set(files))
        if missing:
            other = sorted(p.name for p in folder.iterdir() if p.stem == missing[0] and p.suffix.lower() != ".png")
            hint = (f"; {other[0]} is there, but a {what} must be a PNG (a JPEG's compression changes class values)"
                    if other else "; add it or remove the image")
            raise NotFound(
                f"{folder / (missing[0] + '.png')}: missing {what} for image {images[missing[0]].name} "
                f"({len(missing)} images lack one){hint}"
            )


def _read_split_lists(splits: dict[str, Path], images: dict[str, Path]) -> dict[str, list[str]]:
    membership: dict[str, list[str]] = {}
    for name, list_path in splits.items():
        list_path = Path(list_path)
        if not list_path.is_file():
            raise NotFound(f"{list_path}: split list not found; pass --split NAME=FILE with one image id per line")
        for lineno, line in enumerate(text_lines(_read_text(list_path, "split list")), start=1):
            if not line.strip():
                continue
            image_id = line.split()[0]
            if image_id not in images:
                raise NotFound(f"{list_path}:{lineno}: image id {image_id!r} has no image; fix the list or add the image")
            membership.setdefault(image_id, []).append(name)
    return membership


def folder_labels_from(*, labels: str | Path | None, labels_from: str | Path | None, gt: str | Path | None) -> str:
    """What v0 starts from for a folder dataset: the ``labels`` folder, ``labels_from`` (``gt`` or a
    folder), or ``gt`` when only reference ground truth is given. InvalidInput when both or none are given."""
    if labels is not None and labels_from is not None:
        raise InvalidInput(
            "give either labels (--labels FOLDER, recipe labels = ...) or labels_from (--labels-from), not both"
        )
    if labels is None and labels_from is None and gt is None:
        raise InvalidInput(
            "no labels to start from; pass --labels FOLDER (or --gt FOLDER with --labels-from gt); "
            "in a recipe: labels = FOLDER, or gt = FOLDER with labels_from = 'gt'"
        )
    if labels_from is not None:
        return str(labels_from)
    return str(labels) if labels is not None else "gt"


def parse_split_lists(items: list[str] | None) -> dict[str, Path] | None:
    """``["NAME=LISTFILE", ...]`` (``--split``) → {name: list file}; None when there are none."""
    if not items:
        return None
    out: dict[str, Path] = {}
    for value in items:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise InvalidInput(f"--split {value!r}: expected NAME=LISTFILE, e.g. --split val=val.txt")
        if name in out:
            raise InvalidInput(f"--split {name}: given twice; give each split once")
        out[name] = Path(path)
    return out


@FORMATS.register("folder")
def read_folder(
    images: str | Path,
    *,
    classes: str | Path | list[ClassInfo],
    labels: str | Path | None = None,
    gt: str | Path | None = None,
    superpixels: str | Path | None = None,
    splits: dict[str, str | Path] | None = None,
    name: str | None = None,
) -> DatasetSource:
    """Read plain folders (layout in the module docstring).

    ``labels`` become version v0 (every image needs one); ``gt`` is reference ground truth (optional
    per image); without ``labels`` the ingest driver's ``labels_from`` decides v0. ``splits`` maps a
    split name to a list file. ``classes`` is a class-list file or a list of ClassInfo.
    """
    from alc_data.io.labels import read_label_png

    image_dir = Path(images)
    image_files = _scan(image_dir, IMAGE_SUFFIXES, "image")
    if not image_files:
        raise NotFound(f"{image_dir}: no .jpg/.jpeg/.png images; check --images")
    class_list = read_classes_file(classes) if isinstance(classes, (str, Path)) else list(classes)
    dirs: dict[str, tuple[Path, dict[str, Path]]] = {}
    for key, folder, every in (("labels", labels, True), ("gt", gt, False), ("superpixels", superpixels, True)):
        if folder is not None:
            files = _scan(Path(folder), (".png",), key)
            _match(image_files, files, Path(folder), {"labels": "label", "gt": "ground truth"}.get(key, "superpixel map"),
                   every_image=every)
            if key == "gt" and not files:
                raise NotFound(f"{folder}: no <image_id>.png ground-truth files; check --gt")
            dirs[key] = (Path(folder), files)
    membership = _read_split_lists({k: Path(v) for k, v in splits.items()}, image_files) if splits else None
    ids = sorted(image_files)

    def items() -> Iterator[IngestItem]:
        for image_id in ids:
            files = {k: f[image_id] for k, (_, f) in dirs.items() if image_id in f}
            yield IngestItem(
                image_id=image_id,
                image_path=image_files[image_id],
                splits=tuple(membership.get(image_id, ())) if membership is not None else ("train",),
                gt=read_label_png(files["gt"]) if "gt" in files else None,
                labels=read_label_png(files["labels"]) if "labels" in files else None,
                superpixels=read_superpixel_png(files["superpixels"]) if "superpixels" in files else None,
                source_files=files,
            )

    return DatasetSource(
        name=name or "folder",
        classes=class_list,
        items=items,
        count=len(ids),
        meta={k: str(Path(v).resolve()) for k, v in (("images", images), ("labels", labels), ("gt", gt),
                                                     ("superpixels", superpixels)) if v is not None},
        labels_origin=None if labels is None else str(labels),  # v0 = these labels, whatever labels_from says
    )
