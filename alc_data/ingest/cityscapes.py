"""Cityscapes fine annotations, mapped to the 19 evaluation (train-id) classes.

Expected layout under ROOT::

    ROOT/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    ROOT/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png       (default)
    ROOT/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png  (--train-ids)

``image_id`` is ``<city>_<seq>_<frame>`` (e.g. ``frankfurt_000000_000294``); the split is the
folder name under ``leftImg8bit`` (train, val, test, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import NotFound
from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem
from alc_data.workspace import ClassInfo

#: The 19 Cityscapes evaluation classes: (train id, name, Cityscapes label id, colour).
#: Every other label id (unlabeled, ego vehicle, ..., caravan, trailer, license plate = -1) → 255.
CITYSCAPES_TRAIN_CLASSES: tuple[tuple[int, str, int, tuple[int, int, int]], ...] = (
    (0, "road", 7, (128, 64, 128)),
    (1, "sidewalk", 8, (244, 35, 232)),
    (2, "building", 11, (70, 70, 70)),
    (3, "wall", 12, (102, 102, 156)),
    (4, "fence", 13, (190, 153, 153)),
    (5, "pole", 17, (153, 153, 153)),
    (6, "traffic light", 19, (250, 170, 30)),
    (7, "traffic sign", 20, (220, 220, 0)),
    (8, "vegetation", 21, (107, 142, 35)),
    (9, "terrain", 22, (152, 251, 152)),
    (10, "sky", 23, (70, 130, 180)),
    (11, "person", 24, (220, 20, 60)),
    (12, "rider", 25, (255, 0, 0)),
    (13, "car", 26, (0, 0, 142)),
    (14, "truck", 27, (0, 0, 70)),
    (15, "bus", 28, (0, 60, 100)),
    (16, "train", 31, (0, 80, 100)),
    (17, "motorcycle", 32, (0, 0, 230)),
    (18, "bicycle", 33, (119, 11, 32)),
)

_IMAGE_SUFFIX = "_leftImg8bit.png"


def cityscapes_classes() -> list[ClassInfo]:
    """The 19 train-id classes with their official colours."""
    return [ClassInfo(t, name, color) for t, name, _, color in CITYSCAPES_TRAIN_CLASSES]


def label_id_to_train_id_lut() -> np.ndarray:
    """(256,) uint8 lookup table: Cityscapes label id → train id, 255 for every id not evaluated."""
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for train_id, _, label_id, _ in CITYSCAPES_TRAIN_CLASSES:
        lut[label_id] = train_id
    return lut


def map_label_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map a (H, W) uint8 labelIds map to (H, W) uint8 train ids (vectorised lookup)."""
    return label_id_to_train_id_lut()[np.asarray(label_ids, dtype=np.uint8)]


@FORMATS.register("cityscapes")
def read_cityscapes(
    root: str | Path,
    *,
    train_ids: bool = False,
    splits: list[str] | None = None,
) -> DatasetSource:
    """Read Cityscapes (see the module docstring for the layout).

    Labels: ``*_gtFine_labelIds.png`` mapped with :data:`CITYSCAPES_TRAIN_CLASSES` (default), or the
    dataset's own ``*_gtFine_labelTrainIds.png`` with ``train_ids=True``. ``splits`` restricts the
    split folders read (default: every folder under ``leftImg8bit``).
    """
    from alc_data.io.labels import read_label_png

    root = Path(root)
    img_root, gt_root = root / "leftImg8bit", root / "gtFine"
    if not img_root.is_dir():
        raise NotFound(f"{img_root}: folder not found; pass the Cityscapes root that holds leftImg8bit/ and gtFine/")
    if not gt_root.is_dir():
        raise NotFound(f"{gt_root}: folder not found; unpack gtFine_trainvaltest next to leftImg8bit/")
    split_dirs = sorted(p for p in img_root.iterdir() if p.is_dir())
    if splits:
        missing = sorted(set(splits) - {p.name for p in split_dirs})
        if missing:
            raise NotFound(f"{img_root / missing[0]}: split folder not found; choose among {[p.name for p in split_dirs]}")
        split_dirs = [p for p in split_dirs if p.name in set(splits)]
    suffix = "_gtFine_labelTrainIds.png" if train_ids else "_gtFine_labelIds.png"
    entries: list[tuple[str, str, Path, Path]] = []  # image_id, split, image, label
    for split_dir in split_dirs:
        for img in sorted(split_dir.glob(f"*/*{_IMAGE_SUFFIX}")):
            image_id = img.name[: -len(_IMAGE_SUFFIX)]
            label = gt_root / split_dir.name / img.parent.name / f"{image_id}{suffix}"
            if not label.is_file():
                raise NotFound(
                    f"{label}: missing annotation for image {img.name}; add the gtFine file or remove the image"
                )
            entries.append((image_id, split_dir.name, img, label))
    if not entries:
        raise NotFound(f"{img_root}: no <split>/<city>/*{_IMAGE_SUFFIX} images found; check the Cityscapes root")
    lut = label_id_to_train_id_lut()

    def items() -> Iterator[IngestItem]:
        for image_id, split, img, label in entries:
            raw = read_label_png(label)
            yield IngestItem(
                image_id=image_id,
                image_path=img,
                splits=(split,),
                gt=raw if train_ids else lut[raw],
                source_files={"gt": label},
            )

    return DatasetSource(
        name="cityscapes",
        classes=cityscapes_classes(),
        items=items,
        count=len(entries),
        meta={"root": str(root.resolve()), "labels": "labelTrainIds" if train_ids else "labelIds"},
    )
