"""``--format cityscapes``: ``gtFine/<split>/<city>/<stem>_gtFine_{labelIds,labelTrainIds,color}.png``.

The inverse of ``ingest cityscapes``: train ids are mapped back to Cityscapes label ids with the official
table; void (255) becomes the table's ``unlabeled`` id, 0 (ingest keeps only the 19 evaluated classes,
so the other ids cannot come back). ``_labelTrainIds.png`` holds the train ids as they are (255 kept),
``_color.png`` the official colours (RGBA, void black as ``unlabeled``). The city and file stem come from
the image id (``<city>_<seq>_<frame>``), the split folder from the image's split (``train`` without one).
``--images`` adds ``leftImg8bit/``; ``--with-original`` v0's maps under ``gtFineOriginal/``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from alc_data.errors import InvalidInput
from alc_data.export.base import ExportJob, grey_png, image_suffix, place_image, write_file
from alc_data.ingest import FORMATS

if TYPE_CHECKING:
    import numpy as np

    from alc_data.workspace import Workspace

#: the Cityscapes label id of ``unlabeled`` (train id 255), which every void pixel becomes
UNLABELED_ID = 0
_NAME = re.compile(r"^(?P<city>[A-Za-z]+(?:[_-][A-Za-z]+)*)_\d+_\d+$")


def train_to_label_id_lut() -> np.ndarray:
    """(256,) uint8: train id → Cityscapes label id; every other value (255 included) → ``unlabeled``."""
    import numpy as np

    from alc_data.ingest.cityscapes import CITYSCAPES_TRAIN_CLASSES

    lut = np.full(256, UNLABELED_ID, dtype=np.uint8)
    for train_id, _, label_id, _ in CITYSCAPES_TRAIN_CLASSES:
        lut[train_id] = label_id
    return lut


def train_id_colors() -> np.ndarray:
    """(256, 4) uint8 RGBA: each train id's official colour, opaque black for void (``unlabeled``)."""
    import numpy as np

    from alc_data.ingest.cityscapes import CITYSCAPES_TRAIN_CLASSES

    colors = np.zeros((256, 4), dtype=np.uint8)
    colors[:, 3] = 255
    for train_id, _, _, color in CITYSCAPES_TRAIN_CLASSES:
        colors[train_id, :3] = color
    return colors


def city_of(image_id: str) -> str:
    """The city of a Cityscapes image id; InvalidInput naming the id when it is not one."""
    match = _NAME.match(image_id)
    if match is None:
        raise InvalidInput(
            f"image id {image_id!r} is not a Cityscapes name (<city>_<seq>_<frame>, e.g. frankfurt_000000_000294); "
            "export this workspace with --format folder or voc"
        )
    return match["city"]


def check_cityscapes_workspace(ws: Workspace, image_ids: tuple[str, ...]) -> None:
    """InvalidInput unless the classes are the 19 train-id classes and every image has a Cityscapes name."""
    from alc_data.ingest.cityscapes import CITYSCAPES_TRAIN_CLASSES

    if ws.catalogue.class_names != [name for _, name, _, _ in CITYSCAPES_TRAIN_CLASSES]:
        raise InvalidInput("the workspace's classes are not the 19 Cityscapes train-id classes, so its labels have no "
                           "Cityscapes ids; export it with --format folder or voc")
    for image_id in image_ids:
        city_of(image_id)


@FORMATS.register_export("cityscapes")
def export_cityscapes(ws: Workspace, job: ExportJob) -> None:
    from PIL import Image

    from alc_data.progress import track

    check_cityscapes_workspace(ws, job.image_ids)
    to_label_id, colors = train_to_label_id_lut(), train_id_colors()
    for version, suffix in job.label_sets():
        root = job.folder / ("gtFineOriginal" if suffix else "gtFine")
        for image_id in track(job.image_ids, f"export {version}"):
            train_ids = ws.labels.read_label(version, image_id)
            for split in job.splits.get(image_id) or ("train",):
                stem = root / split / city_of(image_id) / f"{image_id}_gtFine"
                write_file(stem.with_name(stem.name + "_labelIds.png"), grey_png(to_label_id[train_ids]))
                write_file(stem.with_name(stem.name + "_labelTrainIds.png"), grey_png(train_ids))
                color = stem.with_name(stem.name + "_color.png")
                Image.fromarray(colors[train_ids], mode="RGBA").save(color, format="PNG")
    if job.choice.images:
        for image_id in track(job.image_ids, "export images"):
            for split in job.splits.get(image_id) or ("train",):
                name = f"{image_id}_leftImg8bit{image_suffix(ws, image_id)}"
                place_image(ws, image_id, job.folder / "leftImg8bit" / split / city_of(image_id) / name)

