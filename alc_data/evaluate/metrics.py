"""Confusion matrices and the scores computed from them (IoU, mIoU, pixel accuracy, coverage)."""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput


def confusion_matrix(pred: Any, gt: Any, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = ground-truth class, column = predicted class.

    ``pred`` and ``gt`` are integer maps of one shape (numpy arrays or torch tensors, any device),
    values 0..K-1 or IGNORE_INDEX. Pixels where EITHER side is IGNORE_INDEX are skipped (the
    number skipped is ``pred.size - matrix.sum()``). Other values ≥ K → AlcError.
    """
    k = int(num_classes)
    if hasattr(pred, "detach") or hasattr(gt, "detach"):
        return _confusion_torch(pred, gt, k)
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise InvalidInput(f"prediction has shape {pred.shape}, ground truth {gt.shape}; they must match")
    p = pred.reshape(-1).astype(np.int64, copy=False)
    g = gt.reshape(-1).astype(np.int64, copy=False)
    keep = (p != IGNORE_INDEX) & (g != IGNORE_INDEX)
    p, g = p[keep], g[keep]
    if p.size and (p.min() < 0 or g.min() < 0 or p.max() >= k or g.max() >= k):
        bad = int(p.max() if (p.max() >= k or p.min() < 0) else g.max())
        raise InvalidInput(f"class value {bad} is outside 0..{k - 1} and is not {IGNORE_INDEX}; check num_classes or the maps")
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k).astype(np.int64, copy=False)


def _confusion_torch(pred: Any, gt: Any, k: int) -> np.ndarray:
    import torch

    device = pred.device if hasattr(pred, "device") else gt.device
    p = torch.as_tensor(pred, device=device).reshape(-1).long()
    g = torch.as_tensor(gt, device=device).reshape(-1).long()
    if p.shape != g.shape:
        raise InvalidInput(f"prediction has {p.numel()} pixels, ground truth {g.numel()}; they must match")
    keep = (p != IGNORE_INDEX) & (g != IGNORE_INDEX)
    p, g = p[keep], g[keep]
    if p.numel() and (int(p.min()) < 0 or int(g.min()) < 0 or int(p.max()) >= k or int(g.max()) >= k):
        raise InvalidInput(f"class values outside 0..{k - 1} (and not {IGNORE_INDEX}); check num_classes or the maps")
    return torch.bincount(g * k + p, minlength=k * k).reshape(k, k).cpu().numpy().astype(np.int64)


class GroundTruthConfusion:
    """One confusion matrix accumulated image by image against reference ground truth: the one
    accumulator behind data mIoU, model mIoU and the publish statistics.

    ``add(labels, gt)`` takes (H, W) maps of one image (values 0..K-1 or IGNORE_INDEX); ``scores()``
    reports them with the skipped share measured over every ground-truth pixel added."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = int(num_classes)
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        self.pixels = 0
        self.images = 0

    def add(self, labels: Any, gt: Any, what: str = "labels") -> None:
        if tuple(labels.shape) != tuple(gt.shape):
            raise InvalidInput(f"{what} has shape {tuple(labels.shape)}, ground truth {tuple(gt.shape)}; they must match")
        self.matrix += confusion_matrix(labels, gt, self.num_classes)
        self.pixels += int(np.prod(gt.shape))
        self.images += 1

    def scores(self, class_names: list[str] | None = None) -> dict[str, Any]:
        """:func:`scores` of the accumulated matrix."""
        return scores(self.matrix, total_pixels=self.pixels, class_names=class_names)


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """(K,) float64 IoU = TP / (TP + FP + FN); NaN for a class absent from both sides."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)


def scores(cm: np.ndarray, *, total_pixels: int | None = None, class_names: list[str] | None = None) -> dict[str, Any]:
    """Scores of a (K, K) confusion matrix, percentages rounded to 4 decimals.

    - ``miou``: mean IoU over the classes present in either side (percent; None when no pixel counts);
    - ``per_class``: (K,) IoU in percent, None for absent classes; ``class_names`` when given;
    - ``pixel_accuracy``: share of counted pixels labelled right (percent);
    - ``pixels`` (total), ``evaluated_pixels``, ``coverage`` (evaluated / total, a fraction 0..1) and
      ``skipped`` (1 − coverage); ``total_pixels`` defaults to the matrix sum (coverage 1).
    """
    cm = np.asarray(cm, dtype=np.int64)
    counted = int(cm.sum())
    total = counted if total_pixels is None else int(total_pixels)
    iou = iou_per_class(cm)
    present = ~np.isnan(iou)
    miou = float(iou[present].mean() * 100) if present.any() else None
    out: dict[str, Any] = {
        "miou": None if miou is None else round(miou, 4),
        "pixel_accuracy": round(float(np.trace(cm)) / counted * 100, 4) if counted else None,
        "coverage": round(counted / total, 6) if total else 0.0,
        "skipped": round(1 - counted / total, 6) if total else 1.0,
        "pixels": total,
        "evaluated_pixels": counted,
        "per_class": [None if np.isnan(v) else round(float(v) * 100, 4) for v in iou],
    }
    if class_names is not None:
        out["class_names"] = list(class_names)
    return out
