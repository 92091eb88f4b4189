"""``--format folder``: ``<image_id>.png`` palette label maps plus ``classes.txt`` (the inverse of
``ingest folder --labels OUT --classes OUT/classes.txt``); ``--images`` adds ``images/``, and
``--with-original`` v0's maps under ``original/``."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from alc_data.export.base import ExportJob, image_suffix, place_image, write_file
from alc_data.ingest import FORMATS

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@FORMATS.register_export("folder")
def export_folder(ws: Workspace, job: ExportJob) -> None:
    """The workspace's palette PNGs, byte for byte (so ingest → export is pixel-exact), and the class list."""
    from alc_data.progress import track

    for version, suffix in job.label_sets():
        folder = job.folder / "original" if suffix else job.folder
        folder.mkdir(exist_ok=True)
        for image_id in track(job.image_ids, f"export {version}"):
            shutil.copyfile(ws.labels.label_path(version, image_id), folder / f"{image_id}.png")
    write_file(job.folder / "classes.txt", "".join(f"{c.name} {c.color[0]} {c.color[1]} {c.color[2]}\n"
                                                    for c in ws.catalogue.classes))
    if job.choice.images:
        for image_id in track(job.image_ids, "export images"):
            place_image(ws, image_id, job.folder / "images" / f"{image_id}{image_suffix(ws, image_id)}")
