"""Scoring on Ray Data: actors turn images into Parquet score shards; the driver only collects them.

Each actor opens the workspace by path and loads the model (or opens the prediction folder) once; for
each batch of image positions it reads the images' probabilities, labels and superpixels, scores
them with :func:`alc_data.scoring.stream.score_stream` (the local engine's code) and writes one shard per
run of consecutive images into the round's staging folder, which must be on a filesystem every node
sees. It returns one tiny row per shard (position, images, rows, path): no probability map and no
score row crosses the object store. A batch redone after an actor died rewrites the same shard files
atomically, and only shards reported by finished batches are used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from alc_data.engine import batch_runs, reporting_errors, run_actor_pool
from alc_data.predict import _resolve_model
from alc_data.scoring.shards import IMAGES_PER_SHARD, Shard, write_shard
from alc_data.scoring.stream import ImageScoring, probability_stream, score_stream
from alc_data.workspace import Workspace


class ScoreActor:
    """Ray Data callable class: ``{"index", "image_id"}`` batches → ``{"start", "images", "rows", "path"}``."""

    def __init__(self, root: str, staging: str, source: dict[str, Any], scoring: ImageScoring,
                 batch_size: int = 4, device: str | None = None) -> None:
        self.ws = Workspace(root)
        self.staging = Path(staging)
        self.source = source
        self.scoring = scoring
        self.batch_size = batch_size
        self.device = device
        self.model = None
        if "checkpoint" in source:
            self.model, _ = _resolve_model(self.ws, source["checkpoint"], device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return reporting_errors(self.score_batch, batch, {"start": -1, "images": 0, "rows": 0, "path": ""})

    def score_batch(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Score a batch's images into shards, one per run of consecutive image positions."""
        out: dict[str, list[Any]] = {"start": [], "images": [], "rows": [], "path": []}
        for start, rows in batch_runs(batch["index"]):
            ids = [str(batch["image_id"][r]) for r in rows]
            stream = probability_stream(self.ws, self.source, ids, batch_size=self.batch_size, device=self.device,
                                        model=self.model)
            shard = write_shard(self.staging, start, list(score_stream(self.ws, stream, self.scoring)))
            for key, value in (("start", shard.start), ("images", shard.images), ("rows", shard.rows),
                               ("path", str(shard.path))):
                out[key].append(value)
        return {"start": np.asarray(out["start"], dtype=np.int64), "images": np.asarray(out["images"], dtype=np.int64),
                "rows": np.asarray(out["rows"], dtype=np.int64), "path": np.asarray(out["path"], dtype=object)}


def score_shards_ray(
    ws: Workspace,
    image_ids: Sequence[str],
    staging: str | os.PathLike,
    *,
    source: dict[str, Any],
    scoring: ImageScoring,
    address: str | None = None,
    concurrency: int | None = None,
    batch_size: int = 4,
    device: str | None = None,
    actor_class: type = ScoreActor,
    images_per_batch: int | None = None,
) -> list[Shard]:
    """Score ``image_ids`` on Ray (``address``; ``concurrency`` actors, GPU actors for a checkpoint
    when the cluster has GPUs) into shards under ``staging``; returns the shards the batches reported."""
    constructor = {"root": str(ws.root), "staging": str(staging), "source": source, "scoring": scoring,
                   "batch_size": batch_size, "device": device}
    shards = []
    for out in run_actor_pool(actor_class, constructor, image_ids, address=address, concurrency=concurrency,
                              gpu="checkpoint" in source, most_per_batch=images_per_batch or IMAGES_PER_SHARD,
                              description="score (ray)"):
        for start, images, rows, path in zip(out["start"], out["images"], out["rows"], out["path"]):
            shards.append(Shard(start=int(start), images=int(images), rows=int(rows), path=Path(str(path))))
    return shards
