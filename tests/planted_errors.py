"""The planted-error workspace of the `alc-data errors` tests: 4 scenes whose labels are the ground truth
but for one object relabelled background, their SAM-like regions and near-oracle predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

NAMES = ("background", "<b>car</b>", 'cat "&" dog')
SIZE = 24
PLANTED = ("img_a", 5)  # image, region id: the object of img_a, labelled background in the labels


def scene(i: int) -> tuple[np.ndarray, np.ndarray]:
    """(gt, regions) of image i: an object of class 1 + i % 2 in a square, 4 x 4 blocks elsewhere."""
    gt = np.zeros((SIZE, SIZE), np.uint8)
    r0 = 4 + 2 * i
    gt[r0:r0 + 10, 6:16] = 1 + i % 2
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    regions = (rows // 8 * 3 + cols // 8).astype(np.int32) + 10
    regions[gt > 0] = 5
    return gt, regions


def oracle_probs(gt: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = np.eye(len(NAMES))[gt].transpose(2, 0, 1) * 4.0 + rng.normal(0, 0.5, (len(NAMES), SIZE, SIZE))
    e = np.exp(logits)
    return (e / e.sum(0)).astype(np.float32)


def make_planted_ws(tmp_path: Path, gt_images: tuple[str, ...] | None = None):
    """4 images whose labels are the ground truth, but for img_a's object relabelled background, and a
    folder of near-oracle predictions (``tmp_path / "preds"``); ``gt_images``: the images that get
    reference ground truth (default: all)."""
    from tiny_workspaces import png_bytes

    from alc_data.ingest.base import DatasetSource, IngestItem, ingest
    from alc_data.predictions import save_prediction
    from alc_data.workspace import ClassInfo

    ids = ["img_a", "img_b", "img_c", "img_d"]

    def items():
        for i, image_id in enumerate(ids):
            gt, regions = scene(i)
            labels = gt.copy()
            if image_id == PLANTED[0]:
                labels[regions == PLANTED[1]] = 0
            yield IngestItem(image_id=image_id, image_path=Path(f"{image_id}.png"), splits=("train",),
                             gt=gt if gt_images is None or image_id in gt_images else None,
                             labels=labels, superpixels=regions,
                             image_bytes=png_bytes(np.full((SIZE, SIZE, 3), 40 * i, np.uint8)))

    classes = [ClassInfo(i, n, (80 * i, 60, 200 - 80 * i)) for i, n in enumerate(NAMES)]
    ws = ingest(tmp_path / "ws", DatasetSource(name="planted", classes=classes, items=items, count=4),
                superpixel_set="blocks")
    for i, image_id in enumerate(ids):
        save_prediction(tmp_path / "preds", image_id, oracle_probs(scene(i)[0], i), dtype=np.float32)
    return ws


@pytest.fixture
def planted_ws(tmp_path):
    """:func:`make_planted_ws` in the test's folder (import it into a test module to use it)."""
    return make_planted_ws(tmp_path)
