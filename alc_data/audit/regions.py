"""The changed regions of one image: connected components of ``a != b`` with their box and majority labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: region details kept per image (largest first)
MAX_REGIONS_PER_IMAGE = 50


@dataclass
class Region:
    """One connected changed region of an image. ``bbox``: (x0, y0, x1, y1), inclusive pixel box.

    ``old_class`` / ``new_class``: the most frequent (A, B) pair of labels in the region.
    ``links``: ledger rows explaining the region (each with ``overlap`` pixels), best first.
    """

    region: int
    pixels: int
    bbox: tuple[int, int, int, int]
    old_class: int
    new_class: int
    links: list[dict[str, Any]] = field(default_factory=list)


def changed_regions(changed: np.ndarray) -> tuple[np.ndarray, int]:
    """Connected components (8-connectivity) of a (H, W) bool mask: ((H, W) int32 ids, 0 = off; count)."""
    from scipy import ndimage

    if not changed.any():
        return np.zeros(changed.shape, dtype=np.int32), 0
    lab, n = ndimage.label(changed, structure=np.ones((3, 3), dtype=bool))
    return lab.astype(np.int32, copy=False), int(n)


def region_details(a: np.ndarray, b: np.ndarray, lab: np.ndarray, n: int, *, limit: int = MAX_REGIONS_PER_IMAGE) -> list[Region]:
    """The ``limit`` largest regions of ``lab`` (ids 1..n) with their box and majority (A, B) labels."""
    from scipy import ndimage

    if n == 0:
        return []
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    m = lab > 0
    key = lab[m].astype(np.int64) * 65536 + a[m].astype(np.int64) * 256 + b[m].astype(np.int64)
    uk, cnt = np.unique(key, return_counts=True)
    reg = uk // 65536
    order = np.lexsort((-cnt, reg))  # by region, then most pixels first (ties: smaller pair)
    reg_sorted = reg[order]
    first = np.r_[True, reg_sorted[1:] != reg_sorted[:-1]]
    best = (uk % 65536)[order][first]  # one per region 1..n, in order
    boxes = ndimage.find_objects(lab)
    keep = np.argsort(-sizes, kind="stable")[:limit]
    out = []
    for i in keep:
        sl = boxes[i]
        out.append(
            Region(
                region=int(i + 1),
                pixels=int(sizes[i]),
                bbox=(int(sl[1].start), int(sl[0].start), int(sl[1].stop - 1), int(sl[0].stop - 1)),
                old_class=int(best[i] // 256),
                new_class=int(best[i] % 256),
            )
        )
    return out
