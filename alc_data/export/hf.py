"""``--format hf``: ``datasets.DatasetDict.save_to_disk`` of what ``publish`` builds (columns ``image``,
``label``, ``image_id``, ``classes_present``; ``label_original`` with ``--with-original``), for people who
train from disk without the hub; ``datasets.load_from_disk(OUT)`` loads it, and ``ingest hf OUT`` reads it
back (the class list is in ``id2label.json`` beside it)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.export.base import ExportJob, write_file
from alc_data.ingest import FORMATS

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@FORMATS.register_export("hf")
def export_hf(ws: Workspace, job: ExportJob) -> None:
    import datasets

    from alc_data.progress import progress_enabled
    from alc_data.publish.build import build_dataset_folder

    tmp = Path(tempfile.mkdtemp(prefix=".hf-build-", dir=job.folder.parent))
    build = tmp / "build"
    bars = datasets.is_progress_bar_enabled()
    if not progress_enabled():  # ALC_PROGRESS=0 silences datasets' bars too
        datasets.disable_progress_bars()
    try:
        result = build_dataset_folder(ws, build, version=job.version, splits=list(job.choice.splits) or None)
        wanted = set(job.image_ids)
        splits = {}
        for split, shards in result.data_files["default"].items():
            # memory-mapped through a cache inside the temporary folder: one split is never held in memory
            ds = datasets.Dataset.from_parquet([str(build / s) for s in shards], cache_dir=str(tmp / "cache"))
            keep = [n for n, i in enumerate(ds["image_id"]) if i in wanted]
            ds = ds.select(keep) if len(keep) < len(ds) else ds
            if job.original is None:
                ds = ds.remove_columns("label_original")
            if len(ds):
                splits[split] = ds
        datasets.DatasetDict(splits).save_to_disk(str(job.folder))
        for name in ("id2label.json", "label2color.json"):
            write_file(job.folder / name, (build / name).read_bytes())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if bars:
            datasets.enable_progress_bars()
