"""From error shards to the suspects table, the per-image table, the metrics and the top suspects.

Two streaming passes over the shards (one shard in memory at a time): the first keeps one small record
per region (its scores and, with ground truth, whether it is a true suspect), per image and per wrong
component, from which the ranks and the metrics come; the second writes the table of suspects in image
order with their global ``rank`` (0 = most suspicious) and keeps the top rows.

The suspects table (``errors.parquet``): one row per suspected region, columns ``image_id``, ``region``,
``current``, ``current_name``, ``proposed``, ``proposed_name``, ``confidence``, ``area``, ``score`` (the
default error score), ``rank``, ``image_score`` (the image's score, repeated on each of its rows),
``rep_row``, ``rep_col``, ``label_at_rep`` and every candidate score ``score_<name>``. The per-image
table (``errors.images.parquet``): one row per image, suspects or not: ``image_id``, ``image_score`` (the
default, ``image_margin``), ``image_issues``, ``image_max``, ``image_share``, ``image_softmin``,
``regions``, ``suspects`` and, with ground truth, ``wrong``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.scoring.error_shards import read_part
from alc_data.scoring.shards import Shard
from alc_data.scoring.suspect_truth import IMAGE_WRONG_SHARE
from alc_data.scoring.suspects import DEFAULT_ERROR_SCORE, DEFAULT_IMAGE_SCORE, ERROR_SCORES, IMAGE_SCORES
from alc_data.suspects.metrics import DetectionMetrics, auroc, average_precision, detection_metrics, precision_curve


@dataclass
class Collected:
    """What the first pass keeps: per region (all regions), per image and per wrong component."""

    scores: dict[str, list[np.ndarray]] = field(default_factory=lambda: {n: [] for n in ERROR_SCORES})
    suspect: list[np.ndarray] = field(default_factory=list)
    tp: list[np.ndarray] = field(default_factory=list)
    truth: list[np.ndarray] = field(default_factory=list)
    images: dict[str, list[Any]] = field(default_factory=dict)
    found: dict[str, list[np.ndarray]] = field(default_factory=lambda: {n: [] for n in ERROR_SCORES})
    transitions: dict[tuple[int, int], list[int]] = field(default_factory=dict)


def _suspect_mask(regions: Any) -> np.ndarray:
    cur = regions.column("current").to_numpy()
    return (regions.column("proposed").to_numpy() != cur) & (cur != IGNORE_INDEX)


def first_pass(shards: Sequence[Shard]) -> Collected:
    """Read every shard once, keeping the small records of :class:`Collected`."""
    out = Collected()
    for shard in shards:
        regions = read_part(shard, "regions")
        sus = _suspect_mask(regions)
        out.suspect.append(sus)
        for name in ERROR_SCORES:
            out.scores[name].append(regions.column(f"score_{name}").to_numpy())
        wrong, valid = regions.column("region_wrong").to_numpy(), regions.column("region_valid").to_numpy()
        out.truth.append(valid >= 0)
        out.tp.append((valid > 0) & (2 * wrong >= valid))
        cur, prop = regions.column("current").to_numpy()[sus], regions.column("proposed").to_numpy()[sus]
        area = regions.column("area").to_numpy()[sus]
        for (c, p), a in zip(zip(cur.tolist(), prop.tolist()), area.tolist()):
            pair = out.transitions.setdefault((c, p), [0, 0])
            pair[0] += 1
            pair[1] += a
        for key, col in read_part(shard, "images").to_pydict().items():
            out.images.setdefault(key, []).extend(col)
        comps = read_part(shard, "components")
        for name in ERROR_SCORES:
            out.found[name].append(comps.column(f"found_{name}").to_numpy())
    return out


def _cat(parts: list[np.ndarray], dtype: Any = np.float64) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """(n,) int64 rank of each score, 0 = highest (ties: the earlier row first)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(len(scores))
    return ranks


@dataclass(frozen=True)
class ImageMetric:
    """Image-level figures of one image score."""

    auprc: float
    auroc: float


def metrics_of(col: Collected, score: str = DEFAULT_ERROR_SCORE) -> tuple[DetectionMetrics | None, dict[str, ImageMetric],
                                                                         list[tuple[int, float]]]:
    """(the default ranking's :class:`DetectionMetrics`, image-level figures per image score, the
    precision@k curve); (None, {}, []) when no image has reference ground truth."""
    truth = _cat(col.truth, bool)
    if not truth.any():
        return None, {}, []
    wrong_px = np.asarray(col.images["wrong_pixels"])
    ref_px = np.asarray(col.images["reference_pixels"])
    has = ref_px >= 0
    wrong = (wrong_px[has] >= IMAGE_WRONG_SHARE * ref_px[has]) & (ref_px[has] > 0)
    scores, tp = _cat(col.scores[score])[truth], _cat(col.tp, bool)[truth]
    image_scores = {name: np.asarray(col.images[name], dtype=np.float64)[has] for name in IMAGE_SCORES}
    flagged = int(_cat(col.suspect, bool)[truth].sum())  # P@k: only down the suspects, not into the ties below
    metrics = detection_metrics(scores, tp, image_scores[DEFAULT_IMAGE_SCORE], wrong, _cat(col.found[score]),
                                flagged=flagged)
    images = {name: ImageMetric(average_precision(s, wrong), auroc(s, wrong)) for name, s in image_scores.items()}
    return metrics, images, precision_curve(scores, tp, flagged=flagged)


def staged_path(dest: Path) -> Path:
    """Where a table bound for ``dest`` is written first (same folder: the rename is atomic)."""
    return dest.with_name(f".{dest.name}.{os.getpid()}.tmp")


def commit_tables(dest: str | os.PathLike) -> None:
    """Move the two tables :func:`write_tables` staged for ``dest`` into place (each rename atomic)."""
    dest = Path(dest)
    for path in (dest, images_path(dest)):
        os.replace(staged_path(path), path)


def discard_tables(dest: str | os.PathLike) -> None:
    """Remove what :func:`write_tables` staged for ``dest`` (a run that failed after writing them)."""
    dest = Path(dest)
    for path in (dest, images_path(dest)):
        staged_path(path).unlink(missing_ok=True)


def write_tables(shards: Sequence[Shard], col: Collected, dest: str | os.PathLike, class_names: Sequence[str],
                 keep: int) -> tuple[int, Any]:
    """Stage the suspects table for ``dest`` and the per-image table beside it (see the module docstring);
    :func:`commit_tables` puts them in place once nothing else can fail, so a failed run leaves the last
    run's tables. Returns (suspects written, a ``pyarrow.Table`` of the ``keep`` top suspects in rank
    order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest = Path(dest)
    suspect = _cat(col.suspect, bool)
    ranks = ranks_of(_cat(col.scores[DEFAULT_ERROR_SCORE])[suspect])
    image_score = dict(zip(col.images["image_id"], col.images[DEFAULT_IMAGE_SCORE]))
    names = np.asarray([*class_names, *[""] * (256 - len(class_names))], dtype=object)
    names[IGNORE_INDEX] = "void"
    tmp = staged_path(dest)
    top: list[Any] = []
    done = 0
    try:
        writer = None
        for shard, sus in zip(shards, col.suspect):
            t = read_part(shard, "regions").filter(pa.array(sus))
            t = _with_columns(t, ranks[done:done + t.num_rows], names, image_score)
            done += t.num_rows
            if writer is None:
                writer = pq.ParquetWriter(tmp, t.schema)
            writer.write_table(t)
            top.append(t.filter(pa.array(t.column("rank").to_numpy() < keep)))
        if writer is not None:
            writer.close()
        _write_images(col, staged_path(images_path(dest)))
    except BaseException:
        discard_tables(dest)
        raise
    best = pa.concat_tables(top) if top else None
    return done, (best.take(np.argsort(best.column("rank").to_numpy())) if best is not None else None)


def _with_columns(t: Any, ranks: np.ndarray, names: np.ndarray, image_score: dict[str, float]) -> Any:
    import pyarrow as pa

    cur, prop = t.column("current").to_numpy(), t.column("proposed").to_numpy()
    ids = t.column("image_id").to_pylist()
    order = ["image_id", "region", "current", "current_name", "proposed", "proposed_name", "confidence", "area",
             "score", "rank", "image_score", "rep_row", "rep_col", "label_at_rep",
             *[f"score_{n}" for n in ERROR_SCORES]]
    extra = {"current_name": pa.array(names[cur].tolist(), pa.string()),
             "proposed_name": pa.array(names[prop].tolist(), pa.string()),
             "score": t.column(f"score_{DEFAULT_ERROR_SCORE}"), "rank": pa.array(ranks, pa.int64()),
             "image_score": pa.array([image_score[i] for i in ids], pa.float64())}
    return pa.table({k: extra[k] if k in extra else t.column(k) for k in order})


def images_path(dest: str | os.PathLike) -> Path:
    """The per-image table beside a suspects table: ``errors.parquet`` → ``errors.images.parquet``."""
    dest = Path(dest)
    return dest.with_name(f"{dest.stem}.images{dest.suffix or '.parquet'}")


def _write_images(col: Collected, path: Path) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from alc_data.io.atomic import atomic_write_bytes

    im = col.images
    wrong_px, ref_px = np.asarray(im["wrong_pixels"]), np.asarray(im["reference_pixels"])
    data: dict[str, Any] = {"image_id": pa.array(im["image_id"], pa.string()), "image_score": im[DEFAULT_IMAGE_SCORE],
                            "image_issues": im["image_issues"], "image_max": im["image_max"],
                            "image_share": im["image_share"],
                            "image_softmin": im["image_softmin"],
                            "regions": im["regions"], "suspects": im["suspects"]}
    has = ref_px >= 0
    if has.any():  # null for an image without reference ground truth
        data["wrong"] = pa.array((wrong_px >= IMAGE_WRONG_SHARE * ref_px) & (ref_px > 0), pa.bool_(), mask=~has)
    buf = io.BytesIO()
    pq.write_table(pa.table(data), buf)
    atomic_write_bytes(path, buf.getvalue(), shared=True)
