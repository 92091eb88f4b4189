"""Superpixel method ``gsam``: the Grounded-SAM instance maps stored by ``alc-data pseudo-label``.

``pseudo-label`` stores one instance map per image as the superpixel set ``gsam`` ((H, W) int32
instance ids, -1 where no mask covers). This method reads a set (``source``, default ``gsam``) and
applies the engine's policy for uncovered pixels, as the ``imported`` method does:

- ``skip``: uncovered pixels stay -1, no candidates (the paper's Grounded-SAM regions);
- ``fill``: they get SEEDS or SLIC regions (``fill_method``) cut to the uncovered area, split into
  connected pieces and numbered after the instance ids, which keep their pixels and ids.

Store the filled variant under another name: ``alc-data superpixels --method gsam --param
policy=fill --name gsam-filled``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.errors import InvalidInput, NotFound
from alc_data.superpixels.base import SUPERPIXEL_METHODS, SuperpixelContext
from alc_data.superpixels.fill import resolve_fill_method
from alc_data.superpixels.imported import imported


@SUPERPIXEL_METHODS.register("gsam")
def gsam_superpixels(
    image: np.ndarray,
    *,
    context: SuperpixelContext | None = None,
    source: str = "gsam",
    policy: str = "skip",
    fill_method: str = "seeds",
    connectivity: Any = 8,
    **fill_params: Any,
) -> np.ndarray:
    """Grounded-SAM instance masks stored by ``alc-data pseudo-label`` (set ``source``), one region each;
    pixels no mask covers are no candidate (policy=skip) or get ``fill_method`` regions (policy=fill).

    Returns (H, W) int32 (see the module doc); ``image`` is (H, W, 3) uint8 RGB."""
    resolve_fill_method(fill_method, fill_params, gsam_superpixels, "gsam")  # names gsam's keys, not imported's
    if context is None:
        raise InvalidInput("superpixel method gsam reads the instance maps of `alc-data pseudo-label`; run it on a workspace")
    ws = context.workspace
    if not any(s.name == str(source) for s in ws.superpixels.superpixel_sets()):
        raise NotFound(
            f"no superpixel set {source!r} in {ws.root}; run `alc-data pseudo-label` first "
            "(or pass --param source=SET naming its --instances-set)"
        )
    return imported(
        image, context=context, source=str(source), policy=policy, fill_method=fill_method,
        connectivity=connectivity, **fill_params,
    )
