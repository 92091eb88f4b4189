"""PASCAL VOC 2012: ``VOCdevkit/VOC2012`` with ``ImageSets/Segmentation`` lists and palette PNG labels."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from alc_data.errors import InvalidInput, NotFound
from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem
from alc_data.io.labels import VOC_PALETTE
from alc_data.workspace import ClassInfo, rgb

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)


def voc_classes() -> list[ClassInfo]:
    """The 21 VOC classes with their official colours."""
    return [ClassInfo(i, n, rgb(VOC_PALETTE[i])) for i, n in enumerate(VOC_CLASSES)]


def _find_root(root: Path) -> Path:
    for cand in (root, root / "VOC2012", root / "VOCdevkit" / "VOC2012"):
        if (cand / "JPEGImages").is_dir() and (cand / "ImageSets" / "Segmentation").is_dir():
            return cand
    raise InvalidInput(
        f"{root}: not a VOC folder (no JPEGImages/ and ImageSets/Segmentation/ in it or in VOC2012/); "
        "pass the VOCdevkit or VOC2012 folder"
    )


def _read_list(path: Path) -> list[str]:
    from alc_data.names import text_lines

    return [line.split()[0] for line in text_lines(path.read_text(encoding="utf-8", errors="replace")) if line.strip()]


@FORMATS.register("voc")
def read_voc(root: str | Path, *, aug: bool = False, splits: list[str] | None = None) -> DatasetSource:
    """Read PASCAL VOC 2012 segmentation.

    Splits come from ``ImageSets/Segmentation/*.txt`` (all lists, or those named in ``splits``).
    Labels are the palette indices of ``SegmentationClass`` (255 kept); the classes are VOC's, or those of
    ``class_names.txt`` beside them (an alc-data export of other classes). With ``aug``, the SBD-augmented
    labels of ``SegmentationClassAug`` are used and ``train_aug.txt`` is a split.
    """
    from alc_data.io.labels import read_label_png

    base = _find_root(Path(root))
    seg_dir = base / ("SegmentationClassAug" if aug else "SegmentationClass")
    if not seg_dir.is_dir():
        raise NotFound(f"{seg_dir}: label folder not found; " + ("drop --aug" if aug else "is this a VOC 2012 tree?"))
    lists = sorted((base / "ImageSets" / "Segmentation").glob("*.txt"))
    if not aug:
        lists = [p for p in lists if p.stem != "train_aug"]
    if splits:
        wanted = set(splits)
        lists = [p for p in lists if p.stem in wanted]
        missing = wanted - {p.stem for p in lists}
        if missing:
            raise NotFound(f"split list {sorted(missing)[0]}.txt not found in {base / 'ImageSets' / 'Segmentation'}")
    if not lists:
        raise NotFound(f"{base / 'ImageSets' / 'Segmentation'}: no split lists (*.txt)")
    membership: dict[str, list[str]] = {}
    for lst in lists:
        for image_id in _read_list(lst):
            membership.setdefault(image_id, []).append(lst.stem)

    def items() -> Iterator[IngestItem]:
        for image_id in sorted(membership):
            label_path = seg_dir / f"{image_id}.png"
            if not label_path.is_file():
                raise NotFound(f"{label_path}: image {image_id!r} has no label; remove it from the split lists")
            yield IngestItem(
                image_id=image_id,
                image_path=_image_file(base / "JPEGImages", image_id),
                splits=tuple(membership[image_id]),
                gt=read_label_png(label_path),
                source_files={"gt": label_path},
            )

    return DatasetSource(
        name="voc2012" + ("-aug" if aug else ""),
        classes=_classes(base),
        items=items,
        count=len(membership),
        meta={"root": str(base), "aug": aug},
    )


def _classes(base: Path) -> list[ClassInfo]:
    """VOC's 21 classes, or the names of ``class_names.txt`` (index order) where an `alc-data export --format
    voc` of a workspace with other classes wrote it (colours: VOC's palette, which the PNGs carry)."""
    names_file = base / "class_names.txt"
    if not names_file.is_file():
        return voc_classes()
    from alc_data.ingest.folder import read_classes_file

    return [ClassInfo(c.index, c.name, rgb(VOC_PALETTE[c.index])) for c in read_classes_file(names_file)]


def _image_file(folder: Path, image_id: str) -> Path:
    """The image of ``image_id`` in JPEGImages/: the .jpg VOC ships, or a .jpeg / .png (an `alc-data export
    --format voc` of a workspace whose images are PNG keeps them as they are); the .jpg path when none exists,
    so the error names what VOC expects."""
    for suffix in (".jpg", ".jpeg", ".png", ".JPG", ".PNG"):
        if (folder / f"{image_id}{suffix}").is_file():
            return folder / f"{image_id}{suffix}"
    return folder / f"{image_id}.jpg"
