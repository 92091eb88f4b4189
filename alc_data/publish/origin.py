"""What the published original labels are, and whether the reference ground truth measures them.

Data mIoU before/after means something only when the ground truth is independent of the labels the
correction started from: not when v0 *is* the dataset's annotation (``labels_from`` = ``gt``, the PASCAL+
case), but when v0 came from elsewhere (pseudo labels, a labels folder, the demo's noisy labels) or the
lineage starts from labels made in the workspace (``alc-data pseudo-label``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from alc_data.ingest.base import LABELS_FROM_GT

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

#: ``labels_from`` of a workspace that recorded ``gt`` although its v0 differs from the ground truth (the
#: demo before it recorded its own labels): labels the source gave, of unknown name
SOURCE_LABELS = "source"


@dataclass(frozen=True)
class LabelsOrigin:
    """``labels_from``: what the original labels are (``gt``, a folder, ``demo:pseudo-labels``, a version
    kind such as ``pseudo-label``, :data:`SOURCE_LABELS`); ``independent_gt``: whether the reference ground
    truth is not those labels, so the data mIoU of the original and of the published version is reported."""

    labels_from: str
    independent_gt: bool


def labels_origin(ws: Workspace, original: str, image_ids: Iterable[str]) -> LabelsOrigin:
    """The origin of label version ``original`` (the root of the published lineage).

    A ``gt`` recorded by ingest is checked against the files of ``image_ids``: older workspaces recorded
    ``gt`` for labels the source gave (the demo's noisy labels), and those keep an independent ground truth.
    """
    has_gt = ws.catalogue.has_gt()
    v = ws.labels.version(original)
    if v.kind != "ingest":  # labels made in the workspace (pseudo labels, an import): never the ground truth
        return LabelsOrigin(v.kind, has_gt)
    recorded = str(v.params.get("labels_from", ws.catalogue.meta("labels_from", LABELS_FROM_GT)))
    if recorded != LABELS_FROM_GT:
        return LabelsOrigin(recorded, has_gt)
    if has_gt and _differs_from_gt(ws, original, image_ids):
        return LabelsOrigin(SOURCE_LABELS, True)
    return LabelsOrigin(LABELS_FROM_GT, False)


def _differs_from_gt(ws: Workspace, version: str, image_ids: Iterable[str]) -> bool:
    """Whether the labels ``version`` of some image differ from its ground truth. Ingest writes both files
    with one encoder, so equal bytes are equal labels; only files that differ are decoded."""
    import numpy as np

    records = ws.catalogue.image_records()
    for image_id in image_ids:
        if not records[image_id].has_gt:
            continue
        label_path, gt_path = ws.labels.label_path(version, image_id), ws.catalogue.gt_path(image_id)
        try:
            if label_path.read_bytes() == gt_path.read_bytes():
                continue
        except OSError:
            continue  # a missing file is reported where it is read for the build
        if not np.array_equal(ws.labels.read_label(version, image_id), ws.catalogue.read_gt(image_id)):
            return True
    return False
