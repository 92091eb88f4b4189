"""Painting binary masks into label maps and region maps (numpy only, no torch).

Vocabulary: ``N`` masks, image ``H × W``. Masks are (N, H, W) bool. Where masks overlap, the
smallest mask wins (it is painted on top): a person in front of a sofa keeps its pixels, whatever
order the detector returned the boxes in. Equal areas: the higher score wins, then the earlier mask.
"""

from __future__ import annotations

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput


def _as_masks(masks: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise InvalidInput(f"masks must be (N, H, W), got shape {masks.shape}")
    if shape is not None and masks.shape[1:] != tuple(shape):
        raise InvalidInput(f"masks have size {masks.shape[1:]}, expected {tuple(shape)}")
    return masks.astype(bool, copy=False)


def winning_mask(masks: np.ndarray, scores: np.ndarray | None = None) -> np.ndarray:
    """Index of the mask that owns each pixel, smallest mask on top.

    ``masks``: (N, H, W) bool. ``scores``: (N,) float or None (tie-break between equal areas,
    higher first). Returns (H, W) int64: the mask index 0..N-1, or -1 where no mask covers the pixel.
    """
    masks = _as_masks(masks)
    n, h, w = masks.shape
    if n == 0:
        return np.full((h, w), -1, dtype=np.int64)
    areas = masks.reshape(n, -1).sum(axis=1)
    tie = np.zeros(n) if scores is None else -np.asarray(scores, dtype=np.float64).reshape(n)
    order = np.lexsort((np.arange(n), tie, areas))  # area ascending, then score descending, then index
    stacked = masks[order]
    first = stacked.argmax(axis=0)  # first True along N = smallest covering mask
    covered = stacked.any(axis=0)
    return np.where(covered, order[first], -1)


def compact_ids(owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ids ≥ 0 of ``owner`` (H, W) int to 0..n-1 in increasing order of the old id.

    Returns ((H, W) int32 new ids with -1 kept for negatives, (n,) int64 old id of each new id).
    """
    owner = np.asarray(owner)
    kept = np.unique(owner[owner >= 0])
    lut = np.full(int(owner.max(initial=-1)) + 2, -1, dtype=np.int32)
    lut[kept] = np.arange(kept.size, dtype=np.int32)
    out = lut[np.where(owner >= 0, owner, -1)]  # index -1 hits the last entry, which stays -1
    return out.astype(np.int32, copy=False), kept.astype(np.int64)


def paint_masks(
    masks: np.ndarray,
    classes: np.ndarray,
    *,
    scores: np.ndarray | None = None,
    background: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint class masks into a semantic map and an instance map.

    ``masks``: (N, H, W) bool; ``classes``: (N,) class index of each mask (0..254); ``scores``: (N,)
    float tie-break (see :func:`winning_mask`); ``background``: label of uncovered pixels (a class
    index such as 0, or ``IGNORE_INDEX``).

    Returns ``(labels, instances, sources)``: (H, W) uint8 class map; (H, W) int32 instance ids
    0..n-1 for the masks that keep at least one visible pixel (numbered in input order), -1 where
    uncovered; (n,) int64 input mask index of each instance id (so ``classes[sources]`` is each
    instance's class).
    """
    masks = _as_masks(masks)
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if classes.shape[0] != masks.shape[0]:
        raise InvalidInput(f"{masks.shape[0]} masks but {classes.shape[0]} classes; give one class per mask")
    if classes.size and (classes.min() < 0 or classes.max() >= IGNORE_INDEX):
        raise InvalidInput(f"mask classes must be in 0..{IGNORE_INDEX - 1}, got {classes.min()}..{classes.max()}")
    if not (0 <= int(background) <= IGNORE_INDEX):
        raise InvalidInput(f"background label must be a class index or {IGNORE_INDEX}, got {background}")
    owner = winning_mask(masks, scores)
    lut = np.append(classes, int(background)).astype(np.uint8)  # owner -1 -> last entry = background
    labels = lut[owner]
    instances, sources = compact_ids(owner)
    return labels, instances, sources


def paint_regions(masks: np.ndarray, *, scores: np.ndarray | None = None) -> np.ndarray:
    """Paint unlabelled masks (SAM's automatic masks) large to small so small ones win.

    ``masks``: (N, H, W) bool. Returns (H, W) int32 region ids 0..n-1 (visible masks, in input
    order), -1 where no mask covers the pixel.
    """
    return compact_ids(winning_mask(masks, scores))[0]
