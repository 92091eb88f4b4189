"""How well a ranking finds label errors, against reference ground truth (docs/detection.md).

- precision@k: the share of true suspects (regions at least half wrong) among the k highest-scoring
  regions;
- image-level AUPRC (average precision, the step-wise sum of precision times recall gained) and
  AUROC (the probability that a wrong image outscores a clean one, ties counting half), an image being
  wrong when at least 1 % of its non-void pixels are;
- component-level AP after Rottmann & Reese (WACV 2023): sweeping the threshold t down over the region
  scores, precision is the share of true suspects among the regions scoring >= t, recall the share of
  wrong components found at t (:mod:`alc_data.scoring.suspect_truth`); AP is the sum of precision times
  recall gained.

Plain numpy over one small record per region and per component.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from alc_data.results import JsonResult

PRECISION_KS = (10, 50, 100, 200, 500)


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Average precision of ``scores`` (higher = positive) for the boolean ``positive`` labels, ties
    grouped (as scikit-learn's ``average_precision_score``); NaN with no positive."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s, p = scores[order], positive[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(p)[ends]
    precision = tp / (ends + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve from ranks (ties count half); NaN without both classes."""
    scores, positive = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="stable")
    s = scores[order]
    ranks = np.empty(len(s))
    starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
    ends = np.r_[starts[1:], len(s)]
    avg = (starts + ends + 1) / 2.0  # the mean 1-based rank of each tie group
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def precision_at(scores: np.ndarray, tp: np.ndarray, ks: tuple[int, ...] = PRECISION_KS, *,
                 flagged: int | None = None) -> dict[int, float]:
    """{k: share of ``tp`` among the k highest ``scores``} for each k no larger than the number of regions
    (or than ``flagged``: the regions the ranking flags; past them the order is the ties')."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = np.cumsum(np.asarray(tp, dtype=bool)[order])
    n = len(order) if flagged is None else min(flagged, len(order))
    return {k: float(hits[k - 1] / k) for k in ks if 0 < k <= n}


def precision_curve(scores: np.ndarray, tp: np.ndarray, points: int = 60, *,
                    flagged: int | None = None) -> list[tuple[int, float]]:
    """(k, precision@k) at up to ``points`` values of k spread over 1..n (log-spaced; n: the regions, or
    ``flagged``), for the report's plot."""
    n = len(scores) if flagged is None else min(flagged, len(scores))
    if n == 0:
        return []
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = np.cumsum(np.asarray(tp, dtype=bool)[order])
    ks = np.unique(np.geomspace(1, n, num=min(points, n)).round().astype(np.int64))
    return [(int(k), float(hits[k - 1] / k)) for k in ks]


def component_ap(scores: np.ndarray, tp: np.ndarray, found_at: np.ndarray) -> float:
    """Component-level AP (see the module docstring); NaN with no wrong component."""
    scores = np.asarray(scores, dtype=np.float64)
    found_at = np.asarray(found_at, dtype=np.float64)
    if found_at.size == 0 or scores.size == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    precision = np.cumsum(np.asarray(tp, dtype=bool)[order])[ends] / (ends + 1)
    thresholds = s[ends]
    found_sorted = np.sort(found_at)
    recall = (len(found_sorted) - np.searchsorted(found_sorted, thresholds, side="left")) / len(found_sorted)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


@dataclass(frozen=True)
class DetectionMetrics(JsonResult):
    """The error-finding figures of one ranking (NaN where the data has nothing to find)."""

    regions: int
    true_suspects: int
    images: int
    wrong_images: int
    components: int
    image_auprc: float
    image_auroc: float
    component_ap: float
    precision_at_k: dict[int, float] = field(default_factory=dict)


def detection_metrics(region_scores: np.ndarray, region_tp: np.ndarray, image_scores: np.ndarray,
                      image_wrong: np.ndarray, found_at: np.ndarray, *, flagged: int | None = None) -> DetectionMetrics:
    """Every figure of the module docstring for one ranking of regions and one of images (precision@k for k
    up to ``flagged``, the regions the ranking flags, when given)."""
    tp = np.asarray(region_tp, dtype=bool)
    wrong = np.asarray(image_wrong, dtype=bool)
    return DetectionMetrics(
        regions=len(tp), true_suspects=int(tp.sum()), images=len(wrong), wrong_images=int(wrong.sum()),
        components=len(found_at), image_auprc=average_precision(image_scores, wrong),
        image_auroc=auroc(image_scores, wrong), component_ap=component_ap(region_scores, tp, found_at),
        precision_at_k=precision_at(region_scores, tp, flagged=flagged),
    )
