"""Grounded-SAM for a batch of images, with no workspace in it: GroundingDINO boxes → SAM masks → label maps.

:func:`pseudo_label_images` is the per-image step of ``alc-data pseudo-label``
(:mod:`alc_data.pseudo_label` drives it over a workspace, in this process or on Ray's
actors); :func:`load_models` loads the two models once per process, and each image's result is
staged with :func:`save_staged` so an interrupted run resumes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from alc_data.errors import InvalidInput, WorkspaceDamaged
from alc_data.foundation.detector import Detections, GroundingDinoDetector
from alc_data.foundation.hub import PinnedSnapshot
from alc_data.foundation.paint import paint_masks
from alc_data.foundation.sam import load_sam
from alc_data.io.atomic import atomic_write_bytes


class BoxDetector(Protocol):
    """What the driver needs from a detector (``GroundingDinoDetector`` or a stub in tests)."""

    def detect(self, images: Sequence[np.ndarray], prompts: Sequence[tuple[int, str]], *, box_threshold: float,
               text_threshold: float | None, nms_iou: float) -> list[Detections]: ...

    def describe(self) -> dict[str, Any]: ...


class MaskPredictor(Protocol):
    """What the driver needs from SAM (``SamMasker`` or a stub in tests)."""

    def masks_from_boxes(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...


def pseudo_label_images(
    images: Sequence[np.ndarray],
    detector: BoxDetector,
    masker: MaskPredictor,
    prompts: Sequence[tuple[int, str]],
    *,
    box_threshold: float = 0.2,
    text_threshold: float | None = None,
    nms_iou: float = 0.5,
    background: int = 0,
) -> list[dict[str, np.ndarray]]:
    """Grounded-SAM for a batch of (H, W, 3) uint8 RGB images.

    Returns one dict per image: ``labels`` (H, W) uint8, ``instances`` (H, W) int32 (-1 uncovered),
    ``instance_classes`` (n,) int64 class of each instance id, ``boxes`` (N, 4) float32 xyxy,
    ``scores`` (N,) float32, ``classes`` (N,) int64 (all detections after NMS).
    """
    dets = detector.detect(list(images), prompts, box_threshold=box_threshold, text_threshold=text_threshold, nms_iou=nms_iou)
    if len(dets) != len(images):
        raise InvalidInput(f"detector returned {len(dets)} results for {len(images)} images")
    out = []
    for image, det in zip(images, dets):
        h, w = image.shape[:2]
        masks = masker.masks_from_boxes(image, det.boxes) if len(det) else np.zeros((0, h, w), dtype=bool)
        masks = np.asarray(masks, dtype=bool)
        if masks.shape != (len(det), h, w):
            raise InvalidInput(f"mask predictor returned shape {masks.shape} for {len(det)} boxes on a {h}×{w} image")
        labels, instances, sources = paint_masks(masks, det.classes, scores=det.scores, background=background)
        inst_classes = np.asarray(det.classes, dtype=np.int64)[sources]
        out.append(
            dict(labels=labels, instances=instances, instance_classes=inst_classes,
                 boxes=det.boxes.astype(np.float32), scores=det.scores.astype(np.float32), classes=det.classes.astype(np.int64))
        )
    return out


def save_staged(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Stage one image's result (the dict of :func:`pseudo_label_images`) at ``path``, atomically."""
    buf = io.BytesIO()
    named: dict[str, Any] = dict(arrays)  # numpy types **kwds as arrays or the bool allow_pickle
    np.savez_compressed(buf, **named)
    atomic_write_bytes(path, buf.getvalue())


def load_staged(path: Path) -> dict[str, np.ndarray]:
    """One staged result; AlcError naming the file when it cannot be read."""
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError) as exc:
        raise WorkspaceDamaged(f"{path}: corrupt staged pseudo label ({exc}); delete the file and re-run") from None


def load_models(
    *, detector: Path | PinnedSnapshot | BoxDetector, sam: Path | PinnedSnapshot | MaskPredictor, device: str = "auto",
    amp: bool = True, sam_type: str | None = None,
) -> tuple[BoxDetector, MaskPredictor]:
    """The detector and SAM, loaded from their local folders / files or pinned hub snapshots (model
    objects are used as given)."""
    det: BoxDetector
    masker: MaskPredictor
    if isinstance(detector, PinnedSnapshot):
        detector = detector.local("GroundingDINO checkpoint")
    if isinstance(sam, PinnedSnapshot):
        sam = sam.local("SAM checkpoint")
    if isinstance(detector, Path):
        det = GroundingDinoDetector.load(detector, device=device, amp=amp)
    else:
        det = detector
    if isinstance(sam, Path):
        masker = load_sam(sam, model_type=sam_type, device=device, amp=amp)
    else:
        masker = sam
    return det, masker
