"""COCO: instance annotations (polygons / RLE) or panoptic annotations, turned into semantic maps.

Expected layout::

    ANNOTATIONS.json          instances JSON (images, annotations with segmentation, categories)
                              or panoptic JSON (annotations with segments_info; detected automatically)
    IMAGES/<file_name>        the images named in the JSON's ``images`` list (--images)
    PANOPTIC/<file_name>.png  panoptic only: RGB PNGs, segment id = R + 256·G + 256²·B
                              (--panoptic-dir; default: the folder named like the JSON, beside it)

Instances → classes ``background`` (0) and the categories in category-id order (1..N). Crowd regions
get 255. Where instances overlap, larger ones are painted first, so smaller ones stay on top (a
person in front of a sofa keeps its pixels; a crowd region does not swallow the people annotated
inside it).

Panoptic → classes = all categories, things and stuff, in category-id order (0..N-1); crowd
segments and unlabelled pixels (id 0) get 255.

``image_id`` is the stem of the image's ``file_name``; every image goes to one split (``split``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import AlcError, InvalidInput, NotFound
from alc_data.ingest.base import FORMATS, DatasetSource, IngestItem
from alc_data.io.json_text import loads
from alc_data.workspace import ClassInfo, rgb


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise NotFound(f"{path}: annotation file not found; pass the COCO instances or panoptic JSON")
    data = loads(path.read_bytes(), str(path))
    if not isinstance(data, dict) or not all(k in data for k in ("images", "annotations", "categories")):
        raise InvalidInput(f"{path}: not a COCO annotation file (needs images, annotations, categories)")
    return data


def _classes(categories: list[dict], *, background: bool) -> tuple[list[ClassInfo], dict[int, int]]:
    """Classes in category-id order; returns them and the map category id → class index."""
    from alc_data.io.labels import default_palette

    cats = sorted(categories, key=lambda c: int(c["id"]))
    offset = 1 if background else 0
    pal = default_palette()
    classes = [ClassInfo(0, "background", (0, 0, 0))] if background else []
    taken = next((c for c in cats if background and str(c["name"]).casefold() == "background"), None)
    if taken is not None:  # instances: what no annotation covers is class 0, named background
        raise InvalidInput(f"category id {taken['id']} is named {taken['name']!r}, the name of class 0 (what no "
                           "annotation covers in COCO instances); rename that category")
    for i, c in enumerate(cats):
        idx = i + offset
        classes.append(ClassInfo(idx, str(c["name"]), rgb(c.get("color", pal[idx]))))
    return classes, {int(c["id"]): i + offset for i, c in enumerate(cats)}


def _annotation_rle(segm: Any, h: int, w: int) -> dict[str, Any] | None:
    """A COCO segmentation (polygons, uncompressed or compressed RLE) as one compressed RLE, or None."""
    from pycocotools import mask as mask_utils

    if isinstance(segm, list):
        polys = [p for p in segm if _usable_polygon(p)]
        if not polys:
            return None
        return mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    if isinstance(segm, dict) and "counts" in segm:
        if [int(v) for v in segm.get("size", ())] != [h, w]:
            raise InvalidInput(f"RLE size {segm.get('size')} differs from its image ({h}, {w}); fix the annotation")
        return mask_utils.frPyObjects(segm, h, w) if isinstance(segm["counts"], list) else segm
    return None


def _usable_polygon(poly: Any) -> bool:
    """A polygon pycocotools can draw: a flat list of an even number (at least 6: 3 points) of coordinates."""
    return isinstance(poly, (list, tuple)) and len(poly) >= 6 and len(poly) % 2 == 0


def unusable_annotations(anns: list[dict]) -> list[Any]:
    """The ids of instance annotations with nothing to draw: no polygon of 3 points or more and no RLE
    (detectron2 and others leave such instances out too; the ingest says how many)."""
    def drawable(segm: Any) -> bool:
        if isinstance(segm, dict):
            return "counts" in segm
        return isinstance(segm, list) and any(_usable_polygon(p) for p in segm)

    return [a.get("id") for a in anns if not drawable(a.get("segmentation"))]


def instances_to_semantic(anns: list[dict], h: int, w: int, cat_to_class: dict[int, int]) -> np.ndarray:
    """Paint instance annotations into a (H, W) uint8 semantic map.

    Background is 0, crowd regions ``IGNORE_INDEX``; larger regions are painted first so smaller
    ones stay on top (ties: annotation order).
    """
    from pycocotools import mask as mask_utils

    label = np.zeros((h, w), dtype=np.uint8)
    shapes: list[tuple[int, int, Any, int]] = []
    for ann in anns:
        try:
            rle = _annotation_rle(ann.get("segmentation"), h, w)
        except (AlcError, TypeError, ValueError, KeyError) as exc:
            raise InvalidInput(f"annotation id {ann.get('id')} (image id {ann.get('image_id')}): bad segmentation ({exc})") from None
        if rle is None:
            continue
        value = IGNORE_INDEX if ann.get("iscrowd") else cat_to_class[int(ann["category_id"])]
        shapes.append((-int(mask_utils.area(rle)), len(shapes), rle, value))
    with warnings.catch_warnings():  # pycocotools' decoder trips numpy 2's copy= deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        for _, _, rle, value in sorted(shapes, key=lambda s: s[:2]):
            label[mask_utils.decode(rle).astype(bool)] = value
    return label


def panoptic_to_semantic(rgb: np.ndarray, segments: list[dict], cat_to_class: dict[int, int], what: str) -> np.ndarray:
    """(H, W, 3) uint8 panoptic PNG → (H, W) uint8 classes; crowd and unlabelled → ``IGNORE_INDEX``."""
    ids = rgb[..., 0].astype(np.int64) + 256 * rgb[..., 1].astype(np.int64) + 65536 * rgb[..., 2].astype(np.int64)
    seg_class = {
        int(s["id"]): IGNORE_INDEX if s.get("iscrowd") else cat_to_class[int(s["category_id"])] for s in segments
    }
    seg_class[0] = IGNORE_INDEX
    uniq, inverse = np.unique(ids, return_inverse=True)
    unknown = [int(u) for u in uniq if int(u) not in seg_class]
    if unknown:
        raise InvalidInput(f"{what}: segment id {unknown[0]} is not in the JSON's segments_info; fix the PNG or the JSON")
    values = np.array([seg_class[int(u)] for u in uniq], dtype=np.uint8)
    return values[inverse.reshape(ids.shape)]


def _check_inside(ann_path: Path, section: str, entry: dict, folder: Path, option: str) -> None:
    """InvalidInput unless the entry's ``file_name`` names a file inside ``folder`` (no ``..``, not absolute)."""
    from alc_data.names import path_inside

    name = entry.get("file_name")
    if not isinstance(name, str) or not name or os.path.isabs(name) or path_inside(name, folder) is None:
        raise InvalidInput(
            f"{ann_path}: {section} entry id {entry.get('id', entry.get('image_id'))} has file_name {name!r}, which is "
            f"not a path inside {option} {folder}; file names must be relative paths inside that folder"
        )


def _check_size(ann_path: Path, im: dict) -> None:
    """InvalidInput unless the entry's height × width is positive and within the image size limit (the
    semantic map is allocated from these numbers before the image itself is opened)."""
    from alc_data.io.images import max_image_pixels

    h, w, limit = int(im["height"]), int(im["width"]), max_image_pixels()
    if h < 1 or w < 1 or (limit is not None and h * w > limit):
        raise InvalidInput(
            f"{ann_path}: images entry id {im.get('id')} claims {w}×{h} pixels; sizes must be positive and at most "
            f"{limit:,} pixels (the decompression-bomb limit); fix the JSON"
        )


def _index_entries(
    data: dict[str, Any], ann_path: Path, panoptic: bool
) -> tuple[list[ClassInfo], dict[int, int], dict[int, dict[str, Any]]]:
    """The classes, category id → class index, and image entries by id, after checking that every
    annotation names a known image and category."""
    try:
        classes, cat_to_class = _classes(data["categories"], background=not panoptic)
        by_id: dict[int, dict[str, Any]] = {}
        for im in data["images"]:
            if int(im["id"]) in by_id:
                raise InvalidInput(f"{ann_path}: two 'images' entries have id {im['id']} ({by_id[int(im['id'])].get('file_name')!r} "
                                   f"and {im.get('file_name')!r}); give each image its own id")
            by_id[int(im["id"])] = im
        for im in by_id.values():
            im["file_name"], im["height"], im["width"]  # noqa: B018 - presence check
        for ann in data["annotations"]:
            if int(ann["image_id"]) not in by_id:
                raise NotFound(f"{ann_path}: annotation refers to image id {ann['image_id']} missing from 'images'")
            for c in ann["segments_info"] if panoptic else [ann]:
                if int(c["category_id"]) not in cat_to_class:
                    raise NotFound(f"{ann_path}: category id {c['category_id']} is not in 'categories'; fix the JSON")
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{ann_path}: malformed COCO entry (missing or bad field {exc}); fix the JSON") from None
    return classes, cat_to_class, by_id


def _panoptic_gt(png: Path, pan: dict[str, Any], image_id: str, cat_to_class: dict[int, int]) -> np.ndarray:
    """(H, W) uint8 semantic labels of one panoptic PNG and its ``segments_info``."""
    from alc_data.io.images import open_image

    if not png.is_file():
        raise NotFound(f"{png}: panoptic PNG not found for image {image_id!r}; check --panoptic-dir")
    img = open_image(png)
    if img.mode != "RGB":
        raise InvalidInput(f"{png}: panoptic PNG has mode {img.mode!r}; expected RGB segment ids")
    return panoptic_to_semantic(np.asarray(img), pan["segments_info"], cat_to_class, str(png))


@FORMATS.register("coco")
def read_coco(
    annotations: str | Path,
    *,
    images: str | Path,
    panoptic_dir: str | Path | None = None,
    split: str = "train",
) -> DatasetSource:
    """Read a COCO instances or panoptic JSON (see the module docstring for layout and class ids)."""
    ann_path = Path(annotations)
    data = _load_json(ann_path)
    image_dir = Path(images)
    if not image_dir.is_dir():
        raise NotFound(f"{image_dir}: image folder not found; pass --images with the folder of the JSON's file names")
    panoptic = any("segments_info" in a for a in data["annotations"])
    classes, cat_to_class, by_id = _index_entries(data, ann_path, panoptic)
    for im in by_id.values():
        _check_inside(ann_path, "images", im, image_dir, "--images")
        _check_size(ann_path, im)

    left_out: list[Any] = []
    if panoptic:
        pan_dir = Path(panoptic_dir) if panoptic_dir is not None else ann_path.with_suffix("")
        if not pan_dir.is_dir():
            raise NotFound(f"{pan_dir}: panoptic PNG folder not found; pass --panoptic-dir")
        pan_by_image = {int(a["image_id"]): a for a in data["annotations"]}
        for pan in pan_by_image.values():
            _check_inside(ann_path, "annotations", pan, pan_dir, "--panoptic-dir")
        missing = sorted(set(by_id) - set(pan_by_image))
        if missing:
            raise NotFound(f"{ann_path}: image id {missing[0]} has no panoptic annotation; every image needs one")
    else:
        pan_dir = None
        anns_by_image: dict[int, list[dict]] = {i: [] for i in by_id}
        for ann in data["annotations"]:
            anns_by_image[int(ann["image_id"])].append(ann)
        left_out = unusable_annotations(data["annotations"])
    ordered = sorted(by_id.values(), key=lambda im: Path(im["file_name"]).stem)

    def items() -> Iterator[IngestItem]:
        for im in ordered:
            image_id = Path(im["file_name"]).stem
            h, w = int(im["height"]), int(im["width"])
            if pan_dir is not None:
                source = pan_dir / pan_by_image[int(im["id"])]["file_name"]
                gt = _panoptic_gt(source, pan_by_image[int(im["id"])], image_id, cat_to_class)
            else:
                try:
                    gt = instances_to_semantic(anns_by_image[int(im["id"])], h, w, cat_to_class)
                except AlcError as exc:
                    raise type(exc)(f"{ann_path}: {exc}") from None
                source = ann_path
            yield IngestItem(
                image_id=image_id,
                image_path=image_dir / im["file_name"],
                splits=(split,),
                gt=gt,
                source_files={"gt": source},
            )

    return DatasetSource(
        name=f"coco-{'panoptic' if panoptic else 'instances'}",
        classes=classes,
        items=items,
        count=len(ordered),
        meta={"annotations": str(ann_path.resolve()), "panoptic": panoptic, "split": split,
              **({"notes": [_left_out_note(ann_path, left_out)]} if left_out else {})},
        class_sources={cat_to_class[int(c["id"])]: dict(c) for c in data["categories"]},
    )


def _left_out_note(ann_path: Path, ids: list[Any]) -> str:
    shown = ", ".join(map(str, ids[:5])) + (" …" if len(ids) > 5 else "")
    return (f"{ann_path.name}: {len(ids)} annotation(s) with no polygon of 3 points or more and no RLE were left out "
            f"(ids {shown}); their objects are background in the labels: fix them in the JSON and ingest again to keep them")
