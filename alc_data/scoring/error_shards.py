"""The suspects of a stream of images as Parquet shards, written by the local engine or by Ray actors.

A shard holds consecutive images (named after the first one's position, as score shards): three files,
``shard-<start>.parquet`` (one row per candidate region: its classes, scores and, with reference ground
truth, its wrong and valid pixels), ``.images.parquet`` (one row per image: its scores and truth) and
``.components.parquet`` (one row per wrong component: its size and the threshold each region score
finds it at). Only one shard is ever in memory; the stage reads them back one at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.io.atomic import atomic_write_bytes
from alc_data.scoring.shards import IMAGES_PER_SHARD, Shard, shard_path, write_shards
from alc_data.scoring.suspects import ERROR_SCORES, IMAGE_SCORES, ImageErrors, find_suspects

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

PARTS = ("regions", "images", "components")


@dataclass(frozen=True)
class ErrorSetup:
    """What every image is judged against: the label version and region set (resolved names), whether
    the workspace's reference ground truth is read, and the class thresholds of the confident-learning
    issue pixels (:func:`~alc_data.scoring.suspects.class_thresholds`; None: each image's own).
    Picklable (Ray actors get it)."""

    version: str
    superpixel_set: str
    with_truth: bool
    thresholds: tuple[float, ...] | None = None


def part_path(folder: str | os.PathLike, start: int, part: str) -> Path:
    """The file of one part of a shard (``regions`` is the shard's own path)."""
    path = shard_path(folder, start)
    return path if part == "regions" else path.with_suffix(f".{part}.parquet")


def _region_columns(e: ImageErrors) -> dict[str, Any]:
    n = len(e.region)
    truth = e.truth
    cols: dict[str, Any] = {
        "image_id": [e.image_id] * n, "region": e.region, "current": e.current, "proposed": e.proposed,
        "confidence": e.confidence, "area": e.area, "rep_row": e.rep_row, "rep_col": e.rep_col,
        "label_at_rep": e.label_at_rep,
        **{f"score_{name}": e.scores[name] for name in ERROR_SCORES},
        "region_wrong": truth.region_wrong if truth else np.full(n, -1, np.int64),
        "region_valid": truth.region_valid if truth else np.full(n, -1, np.int64),
    }
    return cols


def _image_columns(e: ImageErrors) -> dict[str, Any]:
    truth = e.truth
    return {"image_id": e.image_id, **e.image_scores, "regions": len(e.region), "suspects": int(e.suspect.sum()),
            "wrong_pixels": truth.wrong_pixels if truth else -1,
            "reference_pixels": truth.reference_pixels if truth else -1}


def _component_columns(e: ImageErrors) -> dict[str, Any]:
    truth = e.truth
    sizes = truth.component_sizes if truth else np.empty(0, np.int64)
    found = {f"found_{n}": (truth.found_at[n] if truth else np.empty(0)) for n in ERROR_SCORES}
    return {"image_id": [e.image_id] * len(sizes), "size": sizes, **found}


def _write(path: Path, columns: list[dict[str, Any]], scalar: bool = False) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    data: dict[str, Any]
    if scalar:
        names = list(columns[0]) if columns else ["image_id", *IMAGE_SCORES]
        data = {k: [c[k] for c in columns] for k in names}
    else:
        names = list(columns[0])
        data = {k: np.concatenate([np.asarray(c[k]) for c in columns]) if columns else [] for k in names}
    table = pa.table({k: (pa.array([str(v) for v in data[k]], type=pa.string()) if k == "image_id"
                          else pa.array(np.asarray(data[k]))) for k in names})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(path, buf.getvalue())


def write_error_shard(folder: str | os.PathLike, start: int, results: Sequence[ImageErrors]) -> Shard:
    """Write the suspects of ``len(results)`` consecutive images (the first at ``start``) as one shard."""
    if not results:
        raise InvalidInput("an error shard needs at least one image")  # never: callers pass a non-empty run
    _write(part_path(folder, start, "regions"), [_region_columns(e) for e in results])
    _write(part_path(folder, start, "images"), [_image_columns(e) for e in results], scalar=True)
    _write(part_path(folder, start, "components"), [_component_columns(e) for e in results])
    return Shard(start=int(start), images=len(results), rows=sum(len(e.region) for e in results),
                 path=shard_path(folder, start))


def write_error_shards(folder: str | os.PathLike, results: Iterable[ImageErrors], *, start: int = 0,
                       images_per_shard: int = IMAGES_PER_SHARD) -> list[Shard]:
    """Write a stream of per-image suspects as shards of ``images_per_shard`` images each."""
    return write_shards(folder, results, images_per_shard=images_per_shard, start=start, write=write_error_shard)


def read_part(shard: Shard, part: str) -> Any:
    """One part of a written shard as a ``pyarrow.Table``."""
    import pyarrow.parquet as pq

    return pq.read_table(part_path(shard.path.parent, shard.start, part))


def error_stream(ws: Workspace, stream: Iterable[tuple[str, Any]], setup: ErrorSetup) -> Iterator[ImageErrors]:
    """One :class:`ImageErrors` per (image_id, probs) of ``stream``, judged against the labels and regions
    of ``setup`` read from the workspace (and its reference ground truth when ``setup.with_truth``)."""
    for image_id, probs in stream:
        labels = ws.labels.read_label(setup.version, image_id)
        regions = ws.superpixels.read_superpixels(setup.superpixel_set, image_id)
        gt = ws.catalogue.read_gt(image_id) if setup.with_truth and ws.catalogue.has_gt(image_id) else None
        yield find_suspects(probs, labels, regions, image_id=image_id, gt=gt, thresholds=setup.thresholds)
