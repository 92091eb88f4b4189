"""Superpixels on Ray Data: actors compute the maps into the run's staging folder.

Each actor opens the workspace by path and receives the method bound to its parameters; for each
batch of image ids it writes ``<staging>/<image_id>.npz`` atomically and returns the ids. The staging
folder, ``WORKSPACE/staging/superpixels/<set>/``, is the one the local engine stages into and lies in
the workspace (a filesystem every node sees). The driver,
:func:`alc_data.superpixels.compute_superpixel_set`, registers the set from it, so the set is written
exactly as the local engine writes it, and a stopped run resumes on either engine. A dead actor's
batch is redone by Ray and only rewrites its own files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from alc_data.engine import reporting_errors, run_actor_pool
from alc_data.io.superpixels import write_superpixels
from alc_data.workspace import Workspace


class SuperpixelActor:
    """Ray Data callable class: ``{"index", "image_id"}`` batches → ``{"image_id"}`` of the maps written.

    ``compute(ws, image_id=...)`` gives one image's (H, W) int32 map (the local engine's
    :func:`alc_data.superpixels.base.compute_map` with the method bound)."""

    def __init__(self, root: str, staging: str, compute: Callable[..., np.ndarray]) -> None:
        self.ws = Workspace(root)
        self.staging = Path(staging)
        self.compute = compute

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return reporting_errors(self.compute_batch, batch, {"image_id": ""})

    def compute_batch(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Compute and stage the maps of a batch's images."""
        done = []
        for image_id in batch["image_id"]:
            image_id = str(image_id)
            write_superpixels(self.staging / f"{image_id}.npz", self.compute(self.ws, image_id=image_id))
            done.append(image_id)
        return {"image_id": np.asarray(done, dtype=object)}


def stage_superpixels_ray(
    ws: Workspace,
    image_ids: list[str],
    staging: Path,
    compute: Callable[..., np.ndarray],
    *,
    address: str | None = None,
    concurrency: int | None = None,
    gpu: bool = False,
    actor_class: type = SuperpixelActor,
    images_per_batch: int = 16,
) -> None:
    """Compute the maps of ``image_ids`` with ``compute`` on Ray (``address``; ``concurrency`` actors,
    GPU actors when ``gpu`` and the cluster has GPUs) into ``staging``; the caller registers the set."""
    constructor = {"root": str(ws.root), "staging": str(staging), "compute": compute}
    for _ in run_actor_pool(actor_class, constructor, image_ids, address=address, concurrency=concurrency, gpu=gpu,
                            most_per_batch=images_per_batch, description=f"superpixels {staging.name} (ray)"):
        pass
