"""The export driver: choose the images, check their labels, stage the folder, rename it into place."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.io.atomic import staged_folder
from alc_data.io.failures import on_write_failure
from alc_data.errors import InvalidInput
from alc_data.export.base import (
    ExportChoice,
    ExportJob,
    changed_images,
    check_target,
    first_version,
    split_membership,
)

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


def chosen_images(ws: Workspace, choice: ExportChoice) -> list[str]:
    """Every image, or those of ``choice.splits`` (NotFound for an unknown split), sorted."""
    if not choice.splits:
        return ws.catalogue.image_ids()
    return sorted({i for s in choice.splits for i in ws.catalogue.image_ids(s)})


def plan_export(ws: Workspace, version_name: str | None, choice: ExportChoice, folder: Path) -> ExportJob:
    """The job for ``choice`` of version ``version_name`` (None: the latest), the labels checked and the
    changed images found, to write into ``folder``."""
    from alc_data.workspace.check import require_version_ok

    version = ws.labels.version(version_name).name
    original = first_version(ws)
    ids = chosen_images(ws, choice)
    require_version_ok(ws, version, ids)  # a damaged label is refused before anything is written
    if (choice.changed_only or choice.with_original) and original != version:
        require_version_ok(ws, original, ids)
    if choice.changed_only:
        ids = changed_images(ws, version, original, ids)
        if not ids:
            raise InvalidInput(f"--changed-only: no image of {version} differs from {original}; nothing to export "
                               "(drop --changed-only, or pass a corrected --version)")
    return ExportJob(folder=folder, version=version, image_ids=tuple(ids),
                     splits=split_membership(ws, ids, choice.splits),
                     original=original if choice.with_original else None, choice=choice)


def run_export(
    ws: Workspace, fmt: str, out: Path, version: str | None, choice: ExportChoice, *, overwrite: bool = False
) -> ExportJob:
    """Write ``choice`` of ``version`` (None: the latest) in format ``fmt`` to the folder ``out``; the job
    that was written."""
    from alc_data.export import load_exporters
    from alc_data.ingest import FORMATS
    from alc_data.io.outputs import replace_path

    load_exporters()
    writer = FORMATS.exporter(fmt)
    target = check_target(Path(out), ws, overwrite)
    plan = plan_export(ws, version, choice, target)
    staged = staged_folder(target)
    try:
        with on_write_failure(f"exporting {plan.version} to {target}", kept="nothing was written there",
                              then="re-run the same command"):
            writer(ws, dataclasses.replace(plan, folder=staged))
            replace_path(staged, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return plan  # its folder is the target
