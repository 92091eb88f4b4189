"""Build a workspace from the synthetic demo scenes (``alc-data ingest demo``, ``alc-data demo``)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from alc_data.demo.synth import DEMO_CLASSES, Scene, generate
from alc_data.errors import InvalidInput
from alc_data.ingest.base import DEMO_LABELS, FORMATS, DatasetSource, IngestItem, ingest
from alc_data.workspace import ClassInfo, Workspace


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _scenes(n_train: int, n_val: int, size: tuple[int, int], seed: int,
            rare_share: float | None = None) -> Iterator[tuple[str, str, Scene]]:
    if n_train < 1 or n_val < 0:
        raise InvalidInput(f"demo needs at least 1 training image (got {n_train}) and ≥ 0 validation images (got {n_val})")
    if min(size) < 16:
        raise InvalidInput(f"demo image size {size} is too small; use at least 16×16")
    if rare_share is not None and not 0.0 <= rare_share <= 1.0:
        raise InvalidInput(f"demo rare_share {rare_share} must lie in 0..1 (the share of objects of the rare class)")
    for i, scene in enumerate(generate(n_train + n_val, seed=seed, size=size, rare_share=rare_share)):
        split = "train" if i < n_train else "val"
        yield f"demo_{i:05d}", split, scene


@FORMATS.register("demo")
def demo_source(
    *, n_train: int = 80, n_val: int = 20, size: tuple[int, int] = (64, 64), seed: int = 0,
    rare_share: float | None = None,
) -> DatasetSource:
    """Synthetic demo scenes as a dataset source.

    Ground truth goes to ``gt``, the Grounded-SAM-like noisy labels to v0 (``labels``; the workspace
    records ``labels_from`` = :data:`~alc_data.ingest.base.DEMO_LABELS`, not ``gt``), and the
    SAM-like regions become the superpixel set ``sam``. Validation images get their ground truth as
    labels (only training labels are corrected). ``rare_share``: None, or the share of objects of the
    rare class (``sign``): an imbalanced demo.
    """

    def items() -> Iterator[IngestItem]:
        for image_id, split, scene in _scenes(n_train, n_val, size, seed, rare_share):
            yield IngestItem(
                image_id=image_id,
                image_path=Path(f"{image_id}.png"),
                splits=(split,),
                gt=scene.gt,
                labels=scene.noisy if split == "train" else scene.gt,
                superpixels=scene.regions,
                image_bytes=_png(scene.image),
            )

    return DatasetSource(
        name="alc-demo",
        classes=[ClassInfo(i, n, c) for i, (n, c) in enumerate(DEMO_CLASSES)],
        items=items,
        count=n_train + n_val,
        meta={"generator": "alc_data.demo", "n_train": n_train, "n_val": n_val, "size": list(size), "seed": seed,
              **({"rare_share": rare_share} if rare_share is not None else {})},
        labels_origin=DEMO_LABELS,  # v0 = the noisy labels, so the ground truth measures them (data mIoU)
    )


def build_demo_workspace(
    path: str | os.PathLike, *, n_train: int = 80, n_val: int = 20, size: tuple[int, int] = (64, 64), seed: int = 0,
    rare_share: float | None = None,
) -> Workspace:
    """Create a demo workspace at ``path``: labels v0 (noisy), reference ground truth, and two
    superpixel sets, ``sam`` (SAM-like regions covering every pixel) and ``gsam`` (the noisy
    instance masks, uncovered pixels < 0)."""
    def add_instance_set(staged: Workspace) -> None:  # inside the staged workspace: one rename publishes both sets
        scenes = {image_id: scene.instances for image_id, _, scene in _scenes(n_train, n_val, size, seed, rare_share)}
        staged.superpixels.write_superpixel_set("gsam", ((i, scenes[i]) for i in staged.catalogue.image_ids()), method="imported",
                                    params={"source": "demo"})

    return ingest(path, demo_source(n_train=n_train, n_val=n_val, size=size, seed=seed, rare_share=rare_share),
                  superpixel_set="sam",
                  finish=add_instance_set)
