"""Superpixels on Ray Data: actors compute the maps into a staging folder; the driver registers the set.

Each actor opens the workspace by path and receives the method bound to its parameters; for each
batch of image ids it writes ``<staging>/<image_id>.npz`` atomically and returns the ids. The staging
folder, ``WORKSPACE/staging/superpixels/<set>/``, lies in the workspace (a filesystem every node
sees). When every image has its map, the driver registers the set through
:meth:`Workspace.write_superpixel_set` (under the workspace lock), which reads the staged maps, so the
set is written exactly as the local engine writes it, and removes the staging folder. A dead actor's
batch is redone by Ray and only rewrites its own files. A run that stops (a driver killed, an error
in one image, the lock refused) keeps what was staged: the same command resumes with the images not
yet computed, as ``pseudo-label`` does (SAM over a large dataset costs GPU-hours); other settings are
refused until the folder is deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from alc_data.errors import AlcError
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
        from alc_data.engine import reporting_errors

        return reporting_errors(self.compute_batch, batch, {"image_id": ""})

    def compute_batch(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Compute and stage the maps of a batch's images."""
        from alc_data.io.superpixels import write_superpixels

        done = []
        for image_id in batch["image_id"]:
            image_id = str(image_id)
            write_superpixels(self.staging / f"{image_id}.npz", self.compute(self.ws, image_id=image_id))
            done.append(image_id)
        return {"image_id": np.asarray(done, dtype=object)}


def compute_superpixel_set_ray(
    ws: Workspace,
    method: str,
    compute: Callable[..., np.ndarray],
    *,
    name: str,
    params: dict[str, Any],
    overwrite: bool = False,
    address: str | None = None,
    concurrency: int | None = None,
    gpu: bool = False,
    actor_class: type = SuperpixelActor,
    images_per_batch: int = 16,
) -> None:
    """Compute set ``name`` (``method`` with ``params``, recorded in the catalogue) on Ray with
    ``compute`` and register it, resuming a stopped run (see the module docstring); ``gpu``: GPU
    actors when the cluster has GPUs."""
    from alc_data.engine import actor_options, image_dataset, images_per_batch as batch_images, raise_reported_error, ray_session
    from alc_data.io.superpixels import read_superpixels

    from alc_data.io.staging import check_resumable, record_settings, remove_stage, still_to_do

    image_ids = ws.image_ids()
    staging = staging_folder(ws, name)
    settings = {"method": method, "params": params}
    if not check_resumable(staging, settings, "superpixel maps"):
        record_settings(staging, settings)
    todo = still_to_do(staging, image_ids)
    try:
        if todo:
            with ray_session(address) as ray:
                pool = actor_options(ray, gpu=gpu, concurrency=concurrency)
                per_batch = batch_images(len(todo), pool["compute"].max_size, images_per_batch)
                ds = image_dataset(ray, todo, per_batch).map_batches(
                    actor_class,
                    fn_constructor_kwargs={"root": str(ws.root), "staging": str(staging), "compute": compute},
                    batch_size=per_batch,
                    batch_format="numpy",
                    **pool,
                )
                for out in ds.iter_batches(batch_size=None, batch_format="numpy"):
                    raise_reported_error(out)
        missing = still_to_do(staging, image_ids)
        if missing:
            raise AlcError(f"the Ray run returned no superpixel map for {len(missing)} image(s) (first: {missing[0]!r}); rerun it")

        def maps() -> Iterator[tuple[str, np.ndarray]]:
            for image_id in image_ids:
                yield image_id, read_superpixels(staging / f"{image_id}.npz")

        with ws.writing("superpixels"):
            ws.write_superpixel_set(name, maps(), method=method, params=params, overwrite=overwrite, stage="superpixels")
    except BaseException:
        if not any(staging.glob("*.npz")):  # nothing to resume from: leave no folder behind
            remove_stage(staging, ws.root)
        raise
    remove_stage(staging, ws.root)


def staging_folder(ws: Workspace, name: str) -> Path:
    """Where a Ray run stages the maps of set ``name``."""
    return ws.root / "staging" / "superpixels" / name
