"""Workspace summary (``alc-data info``) and label export (``alc-data export``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from alc_data.errors import AlreadyExists
from alc_data.workspace import Workspace


def class_pixel_counts(ws: Workspace, version: str | None = None) -> np.ndarray:
    """(256,) int64 pixel counts per label value over all images of a version."""
    from alc_data.progress import track

    name = ws.labels.version(version).name
    counts = np.zeros(256, dtype=np.int64)
    for image_id in track(ws.catalogue.image_ids(), f"count pixels of {name}"):
        counts += np.bincount(ws.labels.read_label(name, image_id).ravel(), minlength=256)
    return counts


def summary(ws: Workspace, *, version: str | None = None, pixel_shares: bool = True) -> dict[str, Any]:
    """A JSON-ready description of the workspace: classes, splits, versions, superpixel sets, rounds."""
    from alc_data.constants import IGNORE_INDEX
    from alc_data.queries.cost import cost_summary

    info: dict[str, Any] = {
        "workspace": str(ws.root),
        "dataset": ws.catalogue.meta("dataset"),
        "ignore_index": IGNORE_INDEX,
        "images": len(ws.catalogue.image_ids()),
        "with_ground_truth": ws.catalogue.count_with_gt(),
        "splits": ws.catalogue.splits(),
        "classes": [{"index": c.index, "name": c.name, "color": list(c.color)} for c in ws.catalogue.classes],
        "label_versions": [
            {"name": v.name, "parent": v.parent, "kind": v.kind, "round": v.round, "created_at": v.created_at}
            for v in ws.labels.label_versions()
        ],
        "superpixel_sets": [{"name": s.name, "method": s.method} for s in ws.superpixels.superpixel_sets()],
        "cost": cost_summary(ws),
    }
    if pixel_shares:
        name = ws.labels.version(version).name
        counts = class_pixel_counts(ws, name)
        total = max(int(counts.sum()), 1)
        info["pixel_shares_version"] = name
        info["pixel_shares"] = {c.name: round(float(counts[c.index]) / total, 6) for c in ws.catalogue.classes}
        info["pixel_shares"]["void"] = round(float(counts[IGNORE_INDEX]) / total, 6)
    return info


def export_version(ws: Workspace, out: str | os.PathLike, *, version: str | None = None, overwrite: bool = False) -> Path:
    """Copy a version's labels to ``out`` as palette PNGs plus ``classes.txt`` (one name per line).

    The PNG files are byte-identical to the workspace's, so ingest → export is pixel-exact.
    """
    import tempfile

    from alc_data.io.outputs import check_output, replace_path
    from alc_data.progress import track

    from alc_data.workspace.check import require_version_ok

    name = ws.labels.version(version).name
    require_version_ok(ws, name)  # a damaged label is refused before anything is written
    target = check_output(out, ws.root, overwrite=overwrite)
    if target.exists() and not target.is_dir():
        raise AlreadyExists(f"--out {out}: is a file; export writes a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for image_id in track(ws.catalogue.image_ids(), f"export {name}"):
            shutil.copyfile(ws.labels.label_path(name, image_id), tmp / f"{image_id}.png")
        (tmp / "classes.txt").write_text("".join(f"{c}\n" for c in ws.catalogue.class_names))
        replace_path(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Path(out)
