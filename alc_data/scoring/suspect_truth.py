"""What reference ground truth says of one image's suspects: the per-image part of the error-finding metrics.

A pixel is *wrong* when its label and the reference are both non-void and differ. From them:

- per region: its wrong pixels and its pixels where both are non-void; a region is a true suspect
  (``tp``) when at least half of those are wrong;
- per image: wrong when at least :data:`IMAGE_WRONG_SHARE` (1 %) of its non-void reference pixels
  are wrong;
- per wrong connected component (8-connected, at least :data:`MIN_COMPONENT_PIXELS` pixels, after
  Rottmann & Reese, WACV 2023): the score at which it is *found*, the highest threshold t such that
  the regions scoring at least t cover at least half of its pixels (-inf when they never do).

Everything is kept as a few numbers per region and per component, so the metrics over a whole
dataset (:mod:`alc_data.suspects.metrics`) need no label map twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alc_data.constants import IGNORE_INDEX

IMAGE_WRONG_SHARE = 0.01
"""An image is wrong when at least this share of its non-void reference pixels is wrong."""

MIN_COMPONENT_PIXELS = 10
"""Wrong connected components smaller than this (outline jitter) are not counted as label errors."""

FOUND_COVER = 0.5
"""A wrong component is found when flagged regions cover at least this share of its pixels."""


@dataclass(frozen=True, eq=False)
class ImageTruth:
    """Ground truth's verdict on one image (arrays (S,) per region, (C,) per wrong component)."""

    region_wrong: np.ndarray  #: int64 wrong pixels of the region
    region_valid: np.ndarray  #: int64 pixels where label and reference are both non-void
    wrong_pixels: int
    reference_pixels: int  #: non-void reference pixels of the image
    component_sizes: np.ndarray  #: int64
    found_at: dict[str, np.ndarray]  #: float64 per score name: the threshold that finds each component

    @property
    def region_tp(self) -> np.ndarray:
        return (self.region_valid > 0) & (2 * self.region_wrong >= self.region_valid)

    @property
    def image_wrong(self) -> bool:
        return self.reference_pixels > 0 and self.wrong_pixels >= IMAGE_WRONG_SHARE * self.reference_pixels


def wrong_mask(labels: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(H, W) bool: label and reference both non-void and different."""
    return (labels != gt) & (labels != IGNORE_INDEX) & (gt != IGNORE_INDEX)


def wrong_components(wrong: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(component map (H, W) int64, 0..C-1 or -1; sizes (C,) int64) of the 8-connected wrong components
    of at least :data:`MIN_COMPONENT_PIXELS` pixels."""
    from scipy import ndimage

    comp, n = ndimage.label(wrong, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(comp.reshape(-1), minlength=n + 1)[1:]
    keep = sizes >= MIN_COMPONENT_PIXELS
    remap = np.full(n + 1, -1, dtype=np.int64)
    remap[1:][keep] = np.arange(int(keep.sum()))
    return remap[comp], sizes[keep].astype(np.int64)


def found_thresholds(comp: np.ndarray, sizes: np.ndarray, seg: np.ndarray, score: np.ndarray) -> np.ndarray:
    """(C,) float64: for each component of ``comp`` (ids 0..C-1, -1 none), the highest threshold t at
    which the regions of ``seg`` (ids 0..S-1, -1 none) scoring >= t cover >= FOUND_COVER of its pixels
    (-inf when all regions together do not). Vectorised over (component, region) overlaps."""
    C, S = len(sizes), len(score)
    out = np.full(C, -np.inf)
    both = (comp >= 0) & (seg >= 0)
    if C == 0 or not both.any():
        return out
    key = comp[both].astype(np.int64) * S + seg[both]
    pairs, overlap = np.unique(key, return_counts=True)
    c, s = pairs // S, pairs % S
    sc = np.asarray(score, dtype=np.float64)[s]
    order = np.lexsort((-sc, c))  # by component, then score high to low
    c, sc, overlap = c[order], sc[order], overlap[order]
    cum = np.cumsum(overlap)
    starts = np.searchsorted(c, c, side="left")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    covered = cum - before
    hit = np.flatnonzero(covered >= FOUND_COVER * sizes[c])
    found, first = np.unique(c[hit], return_index=True)  # the first hit of a component: its highest score
    out[found] = sc[hit[first]]
    return out


def image_truth(labels: np.ndarray, gt: np.ndarray, seg: np.ndarray, S: int, scores: dict[str, np.ndarray]) -> ImageTruth:
    """The :class:`ImageTruth` of one image: ``labels``/``gt`` (H, W) uint8, ``seg`` (H, W) dense region
    index 0..S-1 (-1: no candidate), ``scores`` the region scores to find components with."""
    wrong = wrong_mask(labels, gt)
    valid = (labels != IGNORE_INDEX) & (gt != IGNORE_INDEX)
    flat = seg.reshape(-1)
    cand = flat >= 0
    region_wrong = np.bincount(flat[cand], weights=wrong.reshape(-1)[cand], minlength=S).astype(np.int64)
    region_valid = np.bincount(flat[cand], weights=valid.reshape(-1)[cand], minlength=S).astype(np.int64)
    comp, sizes = wrong_components(wrong)
    found = {name: found_thresholds(comp, sizes, seg, sc) for name, sc in scores.items()}
    return ImageTruth(region_wrong=region_wrong, region_valid=region_valid, wrong_pixels=int(wrong.sum()),
                      reference_pixels=int((gt != IGNORE_INDEX).sum()), component_sizes=sizes, found_at=found)
