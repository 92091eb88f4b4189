"""Superpixel method ``imported``: region maps given at ingest, with a policy for uncovered pixels.

``alc-data ingest`` stores the maps a dataset brings (instance masks, detector output, regions made
by another tool) as the superpixel set ``imported``: (H, W) int32 ids, < 0 where no region covers a
pixel. This method reads them back (``source`` = the set to read) and applies ``policy``:

- ``skip``: uncovered pixels stay < 0, so they are no candidates and are never asked about (what
  the ALC paper does with Grounded-SAM regions);
- ``fill``: uncovered pixels get SEEDS or SLIC regions (``fill_method``) cut to the uncovered area,
  split into connected pieces and numbered after the largest existing id
  (:func:`alc_data.superpixels.fill.fill_uncovered`), so objects the masks missed can be corrected too.

Either way the imported regions keep their pixels and ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.superpixels.base import SUPERPIXEL_METHODS, SuperpixelContext
from alc_data.superpixels.fill import fill_uncovered, resolve_fill_method
from alc_data.superpixels.utils import check_connectivity, check_image, param_choice, param_int

POLICIES = ("skip", "fill")


def read_source(context: SuperpixelContext | None, source: str) -> np.ndarray:
    """The stored (H, W) int32 map of ``context.image_id`` in set ``source``; AlcError naming the
    sets the workspace has when ``source`` is not one of them."""
    if context is None:
        raise InvalidInput("superpixel method imported reads stored region maps; run it on a workspace")
    ws = context.workspace
    names = [s.name for s in ws.superpixels.superpixel_sets()]
    if source not in names:
        raise NotFound(
            f"no superpixel set {source!r} in {ws.root} (it has: {', '.join(names) or 'none'}); ingest regions "
            "with the dataset or pass --param source=SET"
        )
    return ws.superpixels.read_superpixels(source, context.image_id).astype(np.int32, copy=False)


@SUPERPIXEL_METHODS.register("imported")
def imported(
    image: np.ndarray,
    *,
    context: SuperpixelContext | None = None,
    source: str = "imported",
    policy: str = "skip",
    fill_method: str = "seeds",
    connectivity: Any = 8,
    min_area: Any = 20,
    **fill_params: Any,
) -> np.ndarray:
    """Regions that came with the dataset (set ``source``); pixels no region covers are no candidate
    (policy=skip) or get ``fill_method`` regions (policy=fill).

    Returns (H, W) int32 (see the module doc). ``image``: (H, W, 3) uint8 RGB (used by ``policy=fill`` only). ``fill_method``: seeds or slic;
    ``connectivity`` (4 or 8), ``min_area`` (fill pieces under it join a neighbouring fill piece)
    and any other keys (the fill method's own, e.g. ``num_superpixels``) go to the fill.
    """
    policy_v = param_choice("policy", policy, POLICIES)
    resolve_fill_method(fill_method, fill_params, imported, "imported")  # typos fail under policy=skip too
    check_connectivity(connectivity)
    param_int("min_area", min_area, minimum=0)
    sp = read_source(context, str(source))
    img = check_image(image)
    if sp.shape != img.shape[:2]:
        image_id = context.image_id if context is not None else "?"  # read_source needs a context
        raise InvalidInput(
            f"region map {source}/{image_id} has shape {sp.shape}, image is {img.shape[:2]}; re-ingest the regions"
        )
    if policy_v == "skip":
        return sp
    return fill_uncovered(img, sp, method=fill_method, connectivity=connectivity, min_area=min_area, **fill_params)
