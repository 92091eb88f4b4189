"""``--format coco``: a semantic-segmentation JSON under the original category ids, and, for a workspace
ingested from COCO panoptic, a panoptic PNG + JSON pair too.

Layout (the inverse of ``ingest coco annotations.json --images images``)::

    OUT/annotations.json         images, categories (the original entries), one RLE annotation per class
                                 per image (pycocotools ``mask.encode``); void (255) is one ``iscrowd=1``
                                 annotation, which ingest reads back as 255
    OUT/panoptic.json            panoptic only: segments_info per image, one segment per class (segment
    OUT/panoptic/<stem>.png      id = category id, RGB-encoded), void = segment 0 (unlabelled)
    OUT/images/<file>            with --images
    OUT/annotations_original.json, OUT/panoptic_original*    with --with-original (v0's labels)

A class with no category id (an instances workspace's ``background``, index 0) is what no annotation
covers. The category ids come from the catalogue (stored at ingest since schema 5), or from
``--category-ids FILE`` (a COCO JSON whose categories name the workspace's classes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput, NotFound
from alc_data.export.base import ExportJob, image_suffix, place_image, write_file
from alc_data.ingest import FORMATS

if TYPE_CHECKING:
    import numpy as np

    from alc_data.workspace import Workspace

BACKGROUND = "background"


def categories_from_file(path: Path, class_names: list[str]) -> dict[int, dict[str, Any]]:
    """Class index → category entry, matched by name from a COCO JSON's ``categories`` (or a list of them)."""
    if not path.is_file():
        raise NotFound(f"--category-ids {path}: file not found; pass the COCO JSON the workspace was ingested from")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cats = data["categories"] if isinstance(data, dict) else data
        by_name = {str(c["name"]): dict(c, id=int(c["id"])) for c in cats}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        raise InvalidInput(f"--category-ids {path}: not a COCO JSON with categories (id, name); pass the dataset's "
                           "annotation file") from None
    out = {}
    for idx, name in enumerate(class_names):
        if name in by_name:
            out[idx] = by_name[name]
        elif not (idx == 0 and name == BACKGROUND):
            raise InvalidInput(f"--category-ids {path}: no category named {name!r} (class {idx}); pass the JSON whose "
                               "categories name every class")
    return out


def category_ids(ws: Workspace, file: Path | None) -> dict[int, dict[str, Any]]:
    """Class index → its original category entry; InvalidInput saying what to pass when there are none."""
    if file is not None:
        return categories_from_file(file, ws.catalogue.class_names)
    stored = ws.catalogue.class_sources()
    if not stored:
        raise InvalidInput(
            "this workspace stores no COCO category ids (it was ingested from another format, or before alc-data kept "
            "them); pass --category-ids FILE (a COCO JSON whose categories name its classes) or re-ingest the COCO data"
        )
    missing = [c for c in ws.catalogue.classes if c.index not in stored and not (c.index == 0 and c.name == BACKGROUND)]
    if missing:
        raise InvalidInput(f"class {missing[0].name!r} has no stored COCO category id; pass --category-ids FILE")
    return stored


def coco_image_ids(image_ids: tuple[str, ...]) -> dict[str, int]:
    """Image id → COCO's integer id: the stem's number when every stem is a distinct number (COCO's own
    file names), else 1..N in image-id order."""
    if all(i.isascii() and i.isdigit() for i in image_ids) and len({int(i) for i in image_ids}) == len(image_ids):
        return {i: int(i) for i in image_ids}
    return {i: n for n, i in enumerate(image_ids, start=1)}


def _rle(mask: np.ndarray) -> dict[str, Any]:
    """A (H, W) bool mask as compressed RLE with ``counts`` as text (JSON-ready)."""
    import numpy as np
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _box(mask: np.ndarray) -> list[int]:
    """COCO's [x, y, width, height] around the True pixels."""
    import numpy as np

    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def semantic_annotations(label: np.ndarray, image_no: int, cats: dict[int, dict[str, Any]], first_id: int) -> list[dict]:
    """One RLE annotation per class present in ``label`` (ids left for the caller), void as one crowd
    annotation under ``first_id`` (the smallest category id: ingest reads any crowd region as 255)."""
    import numpy as np

    anns = []
    for value in np.unique(label).tolist():
        if value != IGNORE_INDEX and value not in cats:
            continue  # the background class: what no annotation covers
        mask = label == value
        crowd = value == IGNORE_INDEX
        anns.append({"image_id": image_no, "category_id": first_id if crowd else int(cats[value]["id"]),
                     "iscrowd": int(crowd), "segmentation": _rle(mask), "area": int(mask.sum()), "bbox": _box(mask)})
    return anns


def panoptic_entry(label: np.ndarray, image_no: int, stem: str, cats: dict[int, dict[str, Any]]) -> tuple[np.ndarray, dict]:
    """(H, W, 3) uint8 panoptic PNG (segment id = category id, R + 256·G + 256²·B; void 0) and its annotation."""
    import numpy as np

    ids = np.zeros(label.shape, dtype=np.int64)
    segments = []
    for value in np.unique(label).tolist():
        if value not in cats:
            continue  # void and a class without a category stay 0, unlabelled
        mask = label == value
        seg_id = int(cats[value]["id"])
        ids[mask] = seg_id
        segments.append({"id": seg_id, "category_id": seg_id, "iscrowd": 0, "area": int(mask.sum()), "bbox": _box(mask)})
    rgb = np.stack([ids % 256, (ids // 256) % 256, ids // 65536], axis=-1).astype(np.uint8)
    return rgb, {"image_id": image_no, "file_name": f"{stem}.png", "segments_info": segments}


def _images_section(ws: Workspace, job: ExportJob, numbers: dict[str, int]) -> list[dict[str, Any]]:
    sizes = ws.catalogue.image_sizes()
    return [{"id": numbers[i], "file_name": f"{i}{image_suffix(ws, i)}", "height": sizes[i][0], "width": sizes[i][1]}
            for i in job.image_ids]


def _dump(path: Path, data: dict[str, Any]) -> None:
    write_file(path, json.dumps(data, separators=(",", ":")) + "\n")


@FORMATS.register_export("coco")
def export_coco(ws: Workspace, job: ExportJob) -> None:
    from PIL import Image

    from alc_data.progress import track

    cats = category_ids(ws, job.choice.category_ids)
    categories = sorted(cats.values(), key=lambda c: int(c["id"]))
    first_id = int(categories[0]["id"])
    panoptic = bool((ws.catalogue.meta("format_meta") or {}).get("panoptic"))
    numbers = coco_image_ids(job.image_ids)
    images = _images_section(ws, job, numbers)
    for version, suffix in job.label_sets():
        anns: list[dict[str, Any]] = []
        pan_anns: list[dict[str, Any]] = []
        for image_id in track(job.image_ids, f"export {version}"):
            label = ws.labels.read_label(version, image_id)
            anns.extend(semantic_annotations(label, numbers[image_id], cats, first_id))
            if panoptic:
                rgb, entry = panoptic_entry(label, numbers[image_id], image_id, cats)
                png = job.folder / f"panoptic{suffix}" / entry["file_name"]
                png.parent.mkdir(exist_ok=True)
                Image.fromarray(rgb, mode="RGB").save(png, format="PNG")
                pan_anns.append(entry)
        for n, ann in enumerate(anns, start=1):
            ann["id"] = n
        _dump(job.folder / f"annotations{suffix}.json", {"images": images, "annotations": anns, "categories": categories})
        if panoptic:
            _dump(job.folder / f"panoptic{suffix}.json", {"images": images, "annotations": pan_anns, "categories": categories})
    if job.choice.images:
        for image_id, entry in track(list(zip(job.image_ids, images)), "export images"):
            place_image(ws, image_id, job.folder / "images" / entry["file_name"])
