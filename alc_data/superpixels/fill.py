"""Fill the pixels no region covers (ids < 0) with classic superpixels, keeping the covered regions.

Used by ``imported`` (``policy=fill``) and by the SAM-based methods: detector or SAM masks rarely
cover a whole image, and a pixel without a region can never be asked about, so an object the masks
missed could never be corrected. Filling gives that remainder SEEDS or SLIC regions of the usual size.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.superpixels import classic
from alc_data.superpixels.utils import (
    check_image,
    check_map,
    check_params,
    connected_components,
    merge_small_regions,
    param_int,
    param_names,
)

FILL_METHODS = ("seeds", "slic")
#: keys :func:`fill_uncovered` takes itself; every other key goes to the fill method
FILL_OWN_PARAMS = ("connectivity", "min_area")


def resolve_fill_method(method: str, params: dict[str, Any] | None = None,
                        owner: Callable[..., Any] | None = None, name_as: str = "") -> Callable[..., np.ndarray]:
    """The classic function for fill ``method`` (seeds or slic); AlcError for an unknown method or a
    key of ``params`` that neither it nor :func:`fill_uncovered` (``connectivity``, ``min_area``) takes.
    ``owner``: the superpixel method whose leftover keys ``params`` are (registered as ``name_as``); the
    error then names it and the keys it takes beside the fill method's."""
    name = str(method).strip().lower()
    if name not in FILL_METHODS:
        raise InvalidInput(f"fill method {method!r}: use one of {', '.join(FILL_METHODS)}")
    fn = getattr(classic, name)
    rest = {k: v for k, v in (params or {}).items() if k not in FILL_OWN_PARAMS}
    if owner is None:
        check_params(fn, rest, f"fill method {name}")
        return fn
    unknown = sorted(set(rest) - set(param_names(fn)))
    if unknown:
        own = param_names(owner)
        own += [k for k in FILL_OWN_PARAMS if k not in own]  # passed on to fill_uncovered
        raise InvalidInput(f"unknown parameter {unknown[0]!r} for superpixel method {name_as}; it takes: "
                           f"{', '.join(own)}; and its fill method {name}: {', '.join(param_names(fn))}")
    return fn


def fill_uncovered(
    image: np.ndarray,
    superpixels: np.ndarray,
    *,
    method: str = "seeds",
    connectivity: Any = 8,
    min_area: Any = 20,
    **params: Any,
) -> np.ndarray:
    """Give every pixel with id < 0 a new region; covered pixels keep their ids.

    ``image``: (H, W, 3) uint8 RGB; ``superpixels``: (H, W) integer ids, < 0 = uncovered.
    ``method`` (``seeds`` or ``slic``) segments the whole image with ``params`` (its own parameter
    names, e.g. ``num_superpixels``; ``n_segments``), so fill regions have the size that method gives
    anywhere; its regions are cut to the uncovered mask and split into ``connectivity``-connected
    pieces (4 or 8). Cutting leaves slivers along the mask edges (5–16 % of the fill regions are
    under 10 px on the PASCAL fixtures), which would cost a query each for a few pixels, so pieces
    under ``min_area`` pixels (default 20; 0 keeps them) join the neighbouring fill piece they share
    the longest border with (:func:`merge_small_regions`; never a covered region). The pieces are
    numbered ``m+1, m+2, …`` in raster order, where ``m`` is the largest existing id (−1 when none).
    Returns a new (H, W) int32 map with ids ≥ 0 everywhere; the covered regions keep their pixels
    and ids (they are not renumbered).
    """
    sp = check_map(superpixels, "superpixels to fill")
    img = check_image(image)
    if sp.shape != img.shape[:2]:
        raise InvalidInput(f"superpixels to fill have shape {sp.shape}, image is {img.shape[:2]}; they must match")
    fn = resolve_fill_method(method, params)
    holes = sp < 0
    out = sp.astype(np.int32, copy=True)
    if not holes.any():
        return out
    regions = fn(img, connectivity=connectivity, **params)
    pieces = connected_components(np.where(holes, regions, -1), connectivity)
    pieces = merge_small_regions(pieces, param_int("min_area", min_area, minimum=0))
    offset = int(sp.max()) + 1 if (~holes).any() else 0
    if offset + int(pieces.max()) >= np.iinfo(np.int32).max:
        raise InvalidInput(f"region ids up to {int(sp.max())} leave no int32 ids for the fill; renumber the regions first")
    out[holes] = pieces[holes] + offset
    return out
