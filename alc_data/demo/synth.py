"""Synthetic scenes with ground truth and Grounded-SAM-like noisy labels: the embedded demo data.

Each scene is a textured background with a few shapes; every class has its own colour and shape, and
two pairs of classes look alike (car/truck, dog/cat: close colours), so a model can learn the task and
a pseudo-labeller can plausibly confuse them. For every image the generator returns:

- ``image``: (H, W, 3) uint8 RGB.
- ``gt``: (H, W) uint8 ground truth, with an IGNORE_INDEX band one pixel wide around objects (as VOC).
- ``noisy``: (H, W) uint8 labels with the errors Grounded-SAM makes: missed objects, look-alike
  classes, masks too large or too small, hallucinated objects, and small masks painted over large
  ones. No void pixels (uncovered = background), like real pseudo labels.
- ``instances``: (H, W) int32 id of the noisy mask covering each pixel, −1 where none: the
  Grounded-SAM instance map (superpixel set ``gsam``, uncovered pixels are no candidate).
- ``regions``: (H, W) int32 SAM-like regions covering every pixel, at SAM's several granularities:
  each true object (its outline jittered by a pixel, sometimes cut in two parts, with up to three
  small part masks), the background split into Voronoi cells, and a few small texture blobs
  (superpixel set ``sam``).

Everything is vectorised numpy and reproducible from ``seed``; 500 images of 64×64 take about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from alc_data.constants import IGNORE_INDEX

DEMO_CLASSES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("background", (0, 0, 0)),
    ("car", (200, 40, 40)),
    ("truck", (170, 70, 50)),
    ("person", (40, 160, 60)),
    ("dog", (60, 60, 200)),
    ("cat", (90, 60, 170)),
    ("sign", (220, 200, 40)),
)
"""(name, display colour) per class; index = position."""

# rendering colour of each class in the image (look-alike pairs are close)
_RENDER = np.array(
    [(0, 0, 0), (205, 60, 55), (180, 85, 60), (70, 170, 80), (70, 80, 200), (100, 75, 185), (225, 205, 60)],
    dtype=np.float32,
)
_LOOKALIKE = {1: 2, 2: 1, 4: 5, 5: 4, 3: 6, 6: 3}
_SHAPE = {1: "box", 2: "box", 3: "ellipse", 4: "ellipse", 5: "diamond", 6: "diamond"}


@dataclass
class Scene:
    image: np.ndarray
    gt: np.ndarray
    noisy: np.ndarray
    instances: np.ndarray
    regions: np.ndarray


@dataclass(frozen=True)
class NoiseRates:
    """Probability of each Grounded-SAM error kind, per object (hallucination: per image)."""

    missed: float = 0.15
    lookalike: float = 0.15
    too_large: float = 0.12
    too_small: float = 0.12
    hallucinated: float = 0.3
    small_over_large: float = 0.15


def _shape_mask(kind: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    dy, dx = (yy - cy) / ry, (xx - cx) / rx
    if kind == "box":
        return (np.abs(dy) <= 1) & (np.abs(dx) <= 1)
    if kind == "ellipse":
        return dy * dy + dx * dx <= 1
    return np.abs(dy) + np.abs(dx) <= 1  # diamond


def _grow(mask: np.ndarray, steps: int) -> np.ndarray:
    """Dilate (steps > 0) or erode (steps < 0) a boolean mask with a 3×3 cross, vectorised."""
    out = mask.copy()
    for _ in range(abs(steps)):
        p = np.pad(out, 1, constant_values=steps < 0)
        nb = np.stack([p[1:-1, 1:-1], p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
        out = np.asarray(nb.any(0) if steps > 0 else nb.all(0))
    return out


def _boundary(label: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbourhood holds another label: the void band of the ground truth."""
    p = np.pad(label, 1, mode="edge")
    c = p[1:-1, 1:-1]
    return (c != p[:-2, 1:-1]) | (c != p[2:, 1:-1]) | (c != p[1:-1, :-2]) | (c != p[1:-1, 2:])


def make_scene(rng: np.random.Generator, size: tuple[int, int] = (64, 64), rates: NoiseRates = NoiseRates()) -> Scene:
    """One synthetic scene (see the module docstring for the arrays returned)."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # background: smooth colour gradient + noise
    base = rng.uniform(90, 150, size=3).astype(np.float32)
    tilt = rng.uniform(-40, 40, size=(2, 3)).astype(np.float32)
    image = base + tilt[0] * (yy / h)[..., None] + tilt[1] * (xx / w)[..., None]
    objects = _objects(rng, yy, xx)
    # paint ground truth and image (later objects occlude earlier ones)
    gt = np.zeros((h, w), dtype=np.uint8)
    for cls, mask in objects:
        gt[mask] = cls
    for cls in range(1, len(DEMO_CLASSES)):
        sel = gt == cls
        image[sel] = _RENDER[cls]
    image += rng.normal(0, 12, size=image.shape).astype(np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    noisy, instances = _paint_noisy(_noisy_masks(rng, objects, gt, yy, xx, rates), (h, w))
    regions = _sam_regions(rng, objects, gt, yy, xx)
    gt[_boundary(gt)] = IGNORE_INDEX
    return Scene(image=image, gt=gt, noisy=noisy, instances=instances, regions=_relabel(regions))


def _objects(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """1 to 4 (class, (H, W) bool mask) objects of the class's shape; tiny ones are dropped."""
    h, w = yy.shape
    objects: list[tuple[int, np.ndarray]] = []
    n_obj = int(rng.integers(1, 5))
    for _ in range(n_obj):
        cls = int(rng.integers(1, len(DEMO_CLASSES)))
        ry, rx = rng.uniform(0.08, 0.28, size=2) * (h, w)
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
        mask = _shape_mask(_SHAPE[cls], yy, xx, cy, cx, max(ry, 2.5), max(rx, 2.5))
        if mask.sum() < 12:
            continue
        objects.append((cls, mask))
    return objects


def _noisy_masks(rng: np.random.Generator, objects: list[tuple[int, np.ndarray]], gt: np.ndarray, yy: np.ndarray,
                 xx: np.ndarray, rates: NoiseRates) -> list[tuple[int, np.ndarray]]:
    """Grounded-SAM-like (class, mask) pairs of the visible objects, with the errors of ``rates``."""
    h, w = gt.shape
    k = len(DEMO_CLASSES)
    masks: list[tuple[int, np.ndarray]] = []
    for cls, _ in objects:
        visible = gt == cls
        if not visible.any():
            continue
        u = rng.random(5)
        if u[0] < rates.missed:
            continue
        c = _LOOKALIKE[cls] if u[1] < rates.lookalike else cls
        m = visible
        if u[2] < rates.too_large:
            m = _grow(m, int(rng.integers(2, 5)))
        elif u[3] < rates.too_small:
            m = _grow(m, -int(rng.integers(1, 3)))
        if m.sum() >= 4:
            masks.append((c, m))
        if u[4] < rates.small_over_large and m.sum() > 60:
            # a small mask of another class painted over a large one
            ys, xs = np.nonzero(m)
            j = int(rng.integers(len(ys)))
            small = _shape_mask("ellipse", yy, xx, ys[j], xs[j], 3.5, 3.5) & m
            masks.append((int(rng.integers(1, k)), small))
    if rng.random() < rates.hallucinated:
        cls = int(rng.integers(1, k))
        cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        masks.append((cls, _shape_mask(_SHAPE[cls], yy, xx, cy, cx, 0.12 * h, 0.12 * w)))
    return masks


def _paint_noisy(masks: list[tuple[int, np.ndarray]], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(noisy labels, instance map) of ``masks`` painted large to small, smallest on top."""
    noisy = np.zeros(size, dtype=np.uint8)
    instances = np.full(size, -1, dtype=np.int32)
    order = sorted(range(len(masks)), key=lambda i: -int(masks[i][1].sum()))
    for inst_id, i in enumerate(order):
        c, m = masks[i]
        noisy[m] = c
        instances[m] = inst_id
    return noisy, instances


def _sam_regions(rng: np.random.Generator, objects: list[tuple[int, np.ndarray]], gt: np.ndarray, yy: np.ndarray,
                 xx: np.ndarray) -> np.ndarray:
    """SAM-like regions: the background in Voronoi cells, each true object (outline jittered by a
    pixel, sometimes split in two parts, with up to three small part masks), and a few small
    texture blobs, as SAM's automatic masks at several granularities."""
    h, w = gt.shape
    n_cells = int(rng.integers(6, 13))
    seeds = rng.uniform(0, 1, size=(n_cells, 2)) * (h, w)
    d = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    regions = d.argmin(-1).astype(np.int32)
    next_id = n_cells
    for _ in range(int(rng.integers(2, 6))):
        cy, cx = rng.uniform(0, 1) * h, rng.uniform(0, 1) * w
        regions[_shape_mask("ellipse", yy, xx, cy, cx, 2.5, 2.5)] = next_id
        next_id += 1
    for cls, _ in objects:
        visible = gt == cls
        if not visible.any():
            continue
        m = _grow(visible, int(rng.integers(-1, 2)))
        if not m.any():
            m = visible
        regions[m] = next_id
        ys, xs = np.nonzero(m)
        if rng.random() < 0.5:  # a part mask: the object cut by a random line
            angle = rng.uniform(0, np.pi)
            side = (yy - ys.mean()) * np.cos(angle) + (xx - xs.mean()) * np.sin(angle) > 0
            next_id += 1
            regions[m & side] = next_id
        for _ in range(int(rng.integers(0, 4))):  # small part masks (SAM's finest granularity)
            j = int(rng.integers(len(ys)))
            next_id += 1
            regions[m & _shape_mask("ellipse", yy, xx, ys[j], xs[j], 2.5, 2.5)] = next_id
        next_id += 1

    return regions


def _relabel(sp: np.ndarray) -> np.ndarray:
    """Renumber region ids to 0..n-1 (sorted order)."""
    _, inv = np.unique(sp, return_inverse=True)
    return inv.reshape(sp.shape).astype(np.int32)


def generate(n: int, *, seed: int = 0, size: tuple[int, int] = (64, 64), rates: NoiseRates = NoiseRates()) -> Iterator[Scene]:
    """Yield ``n`` scenes, reproducible from ``seed`` (scene i depends only on seed and i)."""
    for i in range(n):
        yield make_scene(np.random.default_rng([seed, i]), size, rates)
