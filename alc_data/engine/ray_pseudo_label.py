"""Grounded-SAM pseudo labels on Ray Data: actors stage one result per image; the driver registers them.

Each actor opens the workspace by path and loads GroundingDINO and SAM once, on its first batch (so
a checkpoint that fails to load is reported as the same one-line error as on the local engine, not
as a dead actor); on a GPU cluster every actor holds one GPU. For each batch of image ids it runs
:func:`alc_data.foundation.grounded_sam.pseudo_label_images` (the local engine's code) and writes
``<stage>/<image_id>.npz`` atomically, the staging folder the local engine resumes from; it returns
the ids. Nothing but ids crosses the object store. A batch redone after an actor died rewrites its
own files; the driver alone turns the staged results into the instance set and the label version.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from alc_data.engine import reporting_errors, run_actor_pool
from alc_data.foundation.grounded_sam import load_models, pseudo_label_images, save_staged
from alc_data.workspace import Workspace


class PseudoLabelActor:
    """Ray Data callable class: ``{"index", "image_id"}`` batches → ``{"image_id"}`` of the results staged.

    ``models``: the keywords of :func:`alc_data.foundation.grounded_sam.load_models` (checkpoint
    paths, or model objects that travel by pickle); ``options``: those of ``pseudo_label_images``
    besides the images and models."""

    def __init__(self, root: str, stage: str, models: dict[str, Any], options: dict[str, Any]) -> None:
        self.ws = Workspace(root)
        self.stage = Path(stage)
        self.models = models
        self.options = options
        self.loaded: tuple[Any, Any] | None = None

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return reporting_errors(self.label_batch, batch, {"image_id": ""})

    def label_batch(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Pseudo-label a batch's images (one detector pass) and stage the results."""
        if self.loaded is None:
            self.loaded = load_models(**self.models)
        ids = [str(i) for i in batch["image_id"]]
        results = pseudo_label_images([self.ws.catalogue.load_image(i) for i in ids], *self.loaded, **self.options)
        for image_id, res in zip(ids, results):
            save_staged(self.stage / f"{image_id}.npz", res)
        return {"image_id": np.asarray(ids, dtype=object)}


def pseudo_label_ray(
    ws: Workspace,
    image_ids: Sequence[str],
    stage: str | os.PathLike,
    *,
    models: dict[str, Any],
    options: dict[str, Any],
    batch_size: int = 4,
    address: str | None = None,
    concurrency: int | None = None,
    actor_class: type = PseudoLabelActor,
) -> None:
    """Stage the results of ``image_ids`` under ``stage`` on Ray (``address``; ``concurrency`` actors,
    GPU actors when the cluster has GPUs), ``batch_size`` images per detector pass, with a progress bar."""
    constructor = {"root": str(ws.root), "stage": str(stage), "models": models, "options": options}
    for _ in run_actor_pool(actor_class, constructor, image_ids, address=address, concurrency=concurrency, gpu=True,
                            most_per_batch=batch_size, description=f"pseudo-label {Path(stage).name} (ray)"):
        pass
