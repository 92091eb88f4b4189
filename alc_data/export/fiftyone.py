"""``--format fiftyone``: FiftyOne's ``ImageSegmentationDirectory`` layout, plus a sidecar JSON.

::

    OUT/data/<image_id>.<ext>      the images, as they are
    OUT/labels/<image_id>.png      greyscale class-index masks (FiftyOne reads masks with OpenCV, which
                                   would turn a palette PNG into colours); void stays 255
    OUT/alc_data.json              what the layout cannot carry: ``mask_targets`` (class index → name),
                                   the ignore index, the version, and with ``--errors`` each image's
                                   error score (``error_scores``: image id → score)
    OUT/labels_original/           with --with-original: v0's masks

There is no FiftyOne reader (``ingest fiftyone``): this direction only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput, NotFound
from alc_data.export.base import ExportJob, grey_png, image_suffix, place_image, write_file
from alc_data.ingest import FORMATS

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

SIDECAR = "alc_data.json"


def error_scores(path: Path) -> dict[str, float]:
    """Image id → error score from an ``errors.parquet`` (columns ``image_id``, ``image_score``; the
    largest score of an image's rows)."""
    import pyarrow.lib
    import pyarrow.parquet as pq

    if not path.is_file():
        raise NotFound(f"--errors {path}: file not found; pass the errors.parquet that `alc-data errors` wrote")
    try:
        table = pq.read_table(path, columns=["image_id", "image_score"])
    except (pyarrow.lib.ArrowException, OSError, KeyError) as exc:
        raise InvalidInput(f"--errors {path}: not a parquet with columns image_id and image_score ({exc}); "
                           "pass the errors.parquet that `alc-data errors` wrote") from None
    scores: dict[str, float] = {}
    for image_id, score in zip(table.column("image_id").to_pylist(), table.column("image_score").to_pylist()):
        if score is not None:
            scores[str(image_id)] = max(float(score), scores.get(str(image_id), float("-inf")))
    return scores


@FORMATS.register_export("fiftyone")
def export_fiftyone(ws: Workspace, job: ExportJob) -> None:
    from alc_data.progress import track

    scores = error_scores(job.choice.errors) if job.choice.errors is not None else None
    for image_id in track(job.image_ids, "export images"):
        place_image(ws, image_id, job.folder / "data" / f"{image_id}{image_suffix(ws, image_id)}")
    for version, suffix in job.label_sets():
        folder = job.folder / f"labels{suffix}"
        for image_id in track(job.image_ids, f"export {version}"):
            write_file(folder / f"{image_id}.png", grey_png(ws.labels.read_label(version, image_id)))
    sidecar: dict[str, object] = {
        "mask_targets": {str(c.index): c.name for c in ws.catalogue.classes},
        "ignore_index": IGNORE_INDEX,
        "version": job.version,
        "original_version": job.original,
    }
    if scores is not None:
        sidecar["error_scores"] = {i: scores[i] for i in job.image_ids if i in scores}
    write_file(job.folder / SIDECAR, json.dumps(sidecar, indent=2) + "\n")
