"""Label-error finding on Ray Data: actors turn images into error shards (:mod:`alc_data.scoring.error_shards`).

The same pattern as :mod:`alc_data.engine.ray_score`: each actor opens the workspace and the model (or
the prediction folder) once, judges its batches with the local engine's
:func:`~alc_data.scoring.error_shards.error_stream`, and returns one tiny row per shard; no probability
map crosses the object store.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from alc_data.engine import batch_runs, reporting_errors, run_actor_pool
from alc_data.predict import _resolve_model
from alc_data.scoring.error_shards import ErrorSetup, error_stream, write_error_shard
from alc_data.scoring.shards import IMAGES_PER_SHARD, Shard
from alc_data.scoring.stream import probability_stream
from alc_data.workspace import Workspace


class ErrorsActor:
    """Ray Data callable class: ``{"index", "image_id"}`` batches → ``{"start", "images", "rows", "path"}``."""

    def __init__(self, root: str, staging: str, source: dict[str, Any], setup: ErrorSetup, batch_size: int = 4,
                 device: str | None = None) -> None:
        self.ws = Workspace(root)
        self.staging, self.source, self.setup = staging, source, setup
        self.batch_size, self.device = batch_size, device
        self.model = _resolve_model(self.ws, source["checkpoint"], device)[0] if "checkpoint" in source else None

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return reporting_errors(self.judge_batch, batch, {"start": -1, "images": 0, "rows": 0, "path": ""})

    def judge_batch(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Judge a batch's images into shards, one per run of consecutive image positions."""
        shards = []
        for start, rows in batch_runs(batch["index"]):
            ids = [str(batch["image_id"][r]) for r in rows]
            stream = probability_stream(self.ws, self.source, ids, batch_size=self.batch_size, device=self.device,
                                        model=self.model)
            shards.append(write_error_shard(self.staging, start, list(error_stream(self.ws, stream, self.setup))))
        return {"start": np.asarray([s.start for s in shards], dtype=np.int64),
                "images": np.asarray([s.images for s in shards], dtype=np.int64),
                "rows": np.asarray([s.rows for s in shards], dtype=np.int64),
                "path": np.asarray([str(s.path) for s in shards], dtype=object)}


def error_shards_ray(ws: Workspace, image_ids: Sequence[str], staging: str | os.PathLike, *, source: dict[str, Any],
                     setup: ErrorSetup, address: str | None = None, concurrency: int | None = None,
                     batch_size: int = 4, device: str | None = None) -> list[Shard]:
    """Judge ``image_ids`` on Ray into error shards under ``staging``; the shards the batches reported."""
    from pathlib import Path

    constructor = {"root": str(ws.root), "staging": str(staging), "source": source, "setup": setup,
                   "batch_size": batch_size, "device": device}
    shards = []
    for out in run_actor_pool(ErrorsActor, constructor, image_ids, address=address, concurrency=concurrency,
                              gpu="checkpoint" in source, most_per_batch=IMAGES_PER_SHARD,
                              description="errors (ray)"):
        for start, images, rows, path in zip(out["start"], out["images"], out["rows"], out["path"]):
            shards.append(Shard(start=int(start), images=int(images), rows=int(rows), path=Path(str(path))))
    return shards
