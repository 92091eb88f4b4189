"""``--format voc``: the ``VOCdevkit/VOC2012`` layout that ``ingest voc`` reads.

``SegmentationClass/<id>.png`` (palette PNGs with the VOC palette, 255 kept), ``ImageSets/Segmentation/
<split>.txt`` (a workspace without splits: ``train.txt``; with ``--changed-only``, which makes a patch to
copy over the original, only ``changed.txt``, so that the original's lists stay whole) and ``JPEGImages/`` (the images as they are, never re-encoded). ``--with-original`` adds
v0's labels as ``SegmentationClassOriginal/``. A workspace whose classes are not VOC's 21 gets its class
list as ``class_names.txt`` (index order), since VOC readers assume VOC's classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alc_data.errors import InvalidInput
from alc_data.export.base import ExportJob, image_suffix, place_image, write_file
from alc_data.ingest import FORMATS

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@FORMATS.register_export("voc")
def export_voc(ws: Workspace, job: ExportJob) -> None:
    from alc_data.ingest.voc import VOC_CLASSES
    from alc_data.io.labels import VOC_PALETTE, encode_label_png
    from alc_data.progress import track

    spaced = next((i for i in job.image_ids if any(ch.isspace() for ch in i)), None)
    if spaced is not None:  # VOC's split lists hold one id per line, and readers split lines at white space
        raise InvalidInput(f"image id {spaced!r} holds white space, which VOC's split lists cannot hold; "
                           "export --format folder or hf instead")
    base = job.folder / "VOCdevkit" / "VOC2012"
    for version, suffix in job.label_sets():
        folder = base / ("SegmentationClassOriginal" if suffix else "SegmentationClass")
        folder.mkdir(parents=True)
        for image_id in track(job.image_ids, f"export {version}"):
            write_file(folder / f"{image_id}.png", encode_label_png(ws.labels.read_label(version, image_id), VOC_PALETTE))
    for image_id in track(job.image_ids, "export images"):
        place_image(ws, image_id, base / "JPEGImages" / f"{image_id}{image_suffix(ws, image_id)}")
    lists: dict[str, list[str]] = {}
    unsplit = not ws.catalogue.splits()  # a workspace without splits is all train, as in publish
    for image_id in job.image_ids:
        if job.choice.changed_only:  # a patch: copied over the original, a shorter train.txt would drop images
            lists.setdefault("changed", []).append(image_id)
            continue
        for split in ("train",) if unsplit else job.splits.get(image_id, ()):
            lists.setdefault(split, []).append(image_id)
    (base / "ImageSets" / "Segmentation").mkdir(parents=True)
    for split, ids in lists.items():
        write_file(base / "ImageSets" / "Segmentation" / f"{split}.txt", "".join(f"{i}\n" for i in ids))
    if ws.catalogue.class_names != list(VOC_CLASSES):
        write_file(base / "class_names.txt", "".join(f"{c}\n" for c in ws.catalogue.class_names))
