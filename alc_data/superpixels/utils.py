"""Vectorised helpers on superpixel maps: renumbering, connected components, region statistics.

A superpixel map is (H, W) integer (stored as int32): ids ≥ 0 are candidate regions, ids < 0 mark
pixels that are no candidate. Every helper here works on whole arrays (``np.unique``, ``bincount``,
one ``skimage.measure.label`` call); none loops over pixels or regions in Python.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.progress import track
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

CONNECTIVITIES = (4, 8)


def check_map(sp: Any, what: str = "superpixel map") -> np.ndarray:
    """``sp`` as a 2-D integer array; AlcError naming ``what`` otherwise."""
    arr = np.asarray(sp)
    if arr.ndim != 2:
        raise InvalidInput(f"{what}: expected shape (H, W), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInput(f"{what}: expected integer region ids, got dtype {arr.dtype}")
    return arr


def check_connectivity(connectivity: Any) -> int:
    """4 or 8 (as int or string); AlcError otherwise."""
    try:
        value = int(float(connectivity))
    except (TypeError, ValueError):
        value = -1
    if value not in CONNECTIVITIES:
        raise InvalidInput(f"connectivity={connectivity!r}: use 4 (edge neighbours) or 8 (edge and corner neighbours)")
    return value


def relabel_sequential(sp: np.ndarray) -> np.ndarray:
    """Renumber the ids ≥ 0 of ``sp`` (H, W) to 0..n−1, keeping their sorted order.

    The smallest id present becomes 0, the next 1, and so on; pixels with ids < 0 keep their value.
    Returns a new (H, W) int32 map; ``n`` is ``out.max() + 1`` (0 when no id ≥ 0).
    """
    sp = check_map(sp)
    out = sp.astype(np.int32, copy=True)
    cand = sp >= 0
    if cand.any():
        _, inverse = np.unique(sp[cand], return_inverse=True)
        out[cand] = inverse.astype(np.int32)
    return out


def connected_components(sp: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Split every region of ``sp`` (H, W) into its connected pieces and number the pieces 0..n−1.

    One ``skimage.measure.label`` call labels the connected areas of equal id (pixels < 0 are its
    background). ``connectivity``: 4 (pixels touching by an edge) or 8 (edge or corner). Pieces are
    numbered in raster order of their first pixel; pixels with ids < 0 keep their value.
    Returns a new (H, W) int32 map in which every id ≥ 0 is one connected piece.
    """
    from skimage.measure import label

    sp = check_map(sp)
    conn = check_connectivity(connectivity)
    cand = sp >= 0
    if not cand.any():
        return sp.astype(np.int32, copy=True)
    shifted = np.where(cand, sp.astype(np.int64) + 1, 0)
    pieces = label(shifted, background=0, connectivity=1 if conn == 4 else 2)
    return np.where(cand, pieces - 1, sp).astype(np.int32)


def is_connected(sp: np.ndarray, connectivity: int = 8) -> bool:
    """True when every id ≥ 0 of ``sp`` (H, W) covers one connected piece."""
    sp = check_map(sp)
    return int(np.unique(sp[sp >= 0]).size) == int(connected_components(sp, connectivity).max(initial=-1)) + 1


@dataclass(frozen=True)
class RegionStats:
    """Regions of one map: ``ids`` (n,) int64 sorted ids ≥ 0, ``areas`` (n,) int64 pixel counts."""

    ids: np.ndarray
    areas: np.ndarray
    pixels: int

    @property
    def count(self) -> int:
        """Number of candidate regions (distinct ids ≥ 0)."""
        return int(self.ids.size)

    @property
    def candidate_pixels(self) -> int:
        """Pixels with an id ≥ 0."""
        return int(self.areas.sum())

    @property
    def candidate_share(self) -> float:
        """Share of pixels with an id ≥ 0, in [0, 1]."""
        return self.candidate_pixels / self.pixels if self.pixels else 0.0


def region_stats(sp: np.ndarray) -> RegionStats:
    """Count and areas of the regions (ids ≥ 0) of ``sp`` (H, W)."""
    sp = check_map(sp)
    ids, areas = np.unique(sp[sp >= 0], return_counts=True)
    return RegionStats(ids=ids.astype(np.int64), areas=areas.astype(np.int64), pixels=int(sp.size))


@dataclass(frozen=True)
class SetSummary(JsonResult):
    """Numbers of a stored superpixel set: ``regions`` per image (``mean``/``min``/``max``, ``total``),
    ``mean_region_area`` (pixels) and ``candidate_share`` (pixels with an id ≥ 0 over all pixels)."""

    name: str
    method: str
    params: dict[str, Any]
    images: int
    regions: dict[str, float | int]
    mean_region_area: float
    candidate_share: float


def set_summary(ws: Workspace, name: str) -> SetSummary:
    """Summary of the stored superpixel set ``name`` of workspace ``ws`` (reads every map once, with a
    progress bar)."""
    info = ws.superpixels.superpixel_set(name)
    counts: list[int] = []
    candidate = pixels = 0
    for image_id in track(ws.catalogue.image_ids(), f"summary {name}"):
        stats = region_stats(ws.superpixels.read_superpixels(name, image_id))
        counts.append(stats.count)
        candidate += stats.candidate_pixels
        pixels += stats.pixels
    arr = np.asarray(counts, dtype=np.int64)
    return SetSummary(
        name=info.name,
        method=info.method,
        params=info.params,
        images=int(arr.size),
        regions={
            "mean": float(arr.mean()) if arr.size else 0.0,
            "min": int(arr.min()) if arr.size else 0,
            "max": int(arr.max()) if arr.size else 0,
            "total": int(arr.sum()),
        },
        mean_region_area=candidate / int(arr.sum()) if arr.sum() else 0.0,
        candidate_share=candidate / pixels if pixels else 0.0,
    )


def param_names(fn: Callable[..., Any]) -> list[str]:
    """The keyword parameters a user may give ``fn`` (``image`` and ``context`` come from the driver)."""
    return [n for n, p in inspect.signature(fn).parameters.items()
            if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            and n not in ("image", "context")]


def check_params(fn: Callable[..., Any], params: dict[str, Any], what: str) -> None:
    """AlcError when ``params`` holds a key that ``fn`` does not take (unless it takes ``**kwargs``)."""
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(fn).parameters.values()):
        return
    allowed = param_names(fn)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown parameter {unknown[0]!r} for {what}; it takes: {', '.join(allowed) or 'none'}")


# ---------------------------------------------------------------- parameter values
# Parameters can arrive as strings (command line, recipes); these turn them into checked values.


def param_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int (``"12"``, ``12.0`` and ``12`` are fine) in [``minimum``, ``maximum``]; AlcError otherwise."""
    try:
        number = float(value)
        if isinstance(value, bool) or not number.is_integer():
            raise ValueError
        result = int(number)
    except (TypeError, ValueError):
        raise InvalidInput(f"superpixel parameter {name}={value!r}: expected an integer") from None
    if minimum is not None and result < minimum:
        raise InvalidInput(f"superpixel parameter {name}={result}: must be at least {minimum}")
    if maximum is not None and result > maximum:
        raise InvalidInput(f"superpixel parameter {name}={result}: must be at most {maximum}")
    return result


def param_float(name: str, value: Any, *, minimum: float | None = None, above: float | None = None,
                maximum: float | None = None) -> float:
    """``value`` as a finite float, ≥ ``minimum``, > ``above`` (a divisor) and ≤ ``maximum``; AlcError
    otherwise."""
    try:
        if isinstance(value, bool):
            raise ValueError
        result = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"superpixel parameter {name}={value!r}: expected a number") from None
    if not np.isfinite(result):
        raise InvalidInput(f"superpixel parameter {name}={value!r}: must be a finite number")
    if minimum is not None and result < minimum:
        raise InvalidInput(f"superpixel parameter {name}={value!r}: must be a finite number ≥ {minimum}")
    if above is not None and result <= above:
        raise InvalidInput(f"superpixel parameter {name}={value!r}: must be a finite number > {above}")
    if maximum is not None and result > maximum:
        raise InvalidInput(f"superpixel parameter {name}={value!r}: must be between {minimum} and {maximum}")
    return result


def param_bool(name: str, value: Any) -> bool:
    """``value`` as a bool (true/false, yes/no, on/off, 1/0); AlcError otherwise."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"superpixel parameter {name}={value!r}: expected true or false")


def param_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value`` (case-insensitive) as one of ``choices``; AlcError listing them otherwise."""
    text = str(value).strip().lower()
    if text not in choices:
        raise InvalidInput(f"superpixel parameter {name}={value!r}: use one of {', '.join(choices)}")
    return text


def check_image(image: Any) -> np.ndarray:
    """``image`` as (H, W, 3) uint8 RGB (a (H, W) grey image is repeated to 3 channels)."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InvalidInput(f"image: expected shape (H, W, 3) RGB, got {np.asarray(image).shape}")
    if arr.dtype != np.uint8:
        raise InvalidInput(f"image: expected uint8 pixels, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr)


def merge_small_regions(sp: np.ndarray, min_area: int, *, max_passes: int = 10) -> np.ndarray:
    """Merge every region of ``sp`` (H, W) smaller than ``min_area`` pixels into a neighbour.

    A small region joins the edge-adjacent region (id ≥ 0) with which it shares the longest border,
    among the neighbours that rank above it (larger area; on equal areas, larger id); ranks rise
    along every merge, so chains resolve without cycles, and the union of edge-adjacent connected
    regions is connected. Passes repeat until nothing changes (at most ``max_passes``). A small
    region with no larger neighbour (alone, or surrounded by ids < 0) stays as it is. Pixels < 0 are
    untouched. Returns a new (H, W) int32 map renumbered 0..n−1 in raster order.
    """
    sp = check_map(sp)
    min_area = int(min_area)
    out = relabel_sequential(sp)
    if min_area <= 1:
        return out
    for _ in range(max_passes):
        n = int(out.max(initial=-1)) + 1
        if n <= 1:
            break
        areas = np.bincount(out[out >= 0], minlength=n).astype(np.int64)
        small = areas < min_area
        if not small.any():
            break
        a = np.concatenate([out[:, :-1].ravel(), out[:-1, :].ravel()])
        b = np.concatenate([out[:, 1:].ravel(), out[1:, :].ravel()])
        keep = (a >= 0) & (b >= 0) & (a != b)
        a, b = np.concatenate([a[keep], b[keep]]), np.concatenate([b[keep], a[keep]])  # both directions
        rank_up = (areas[b] > areas[a]) | ((areas[b] == areas[a]) & (b > a))
        sel = small[a] & rank_up
        if not sel.any():
            break
        keys, border = np.unique(a[sel].astype(np.int64) * n + b[sel], return_counts=True)
        pairs = np.stack([keys // n, keys % n], axis=1)
        # best target per small region: longest border, then larger area, then smaller id
        order = np.lexsort((pairs[:, 1], -areas[pairs[:, 1]], -border, pairs[:, 0]))
        pairs = pairs[order]
        first = np.unique(pairs[:, 0], return_index=True)[1]
        target = np.arange(n, dtype=np.int64)
        target[pairs[first, 0]] = pairs[first, 1]
        while True:  # pointer jumping: follow chains to their top
            nxt = target[target]
            if np.array_equal(nxt, target):
                break
            target = nxt
        out = np.where(out >= 0, target[np.maximum(out, 0)], out)
        out = relabel_sequential(out)
    # raster-order numbering, as connected_components gives
    cand = out >= 0
    if cand.any():
        flat = out[cand]
        _, first_seen = np.unique(flat, return_index=True)
        rank = np.empty(first_seen.size, dtype=np.int64)
        rank[np.argsort(first_seen, kind="stable")] = np.arange(first_seen.size)
        out[cand] = rank[flat].astype(np.int32)
    return out.astype(np.int32, copy=False)
