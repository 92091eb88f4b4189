"""Superpixel method ``sam``: SAM's automatic masks, small on top, the rest filled, split, renumbered.

Steps for one (H, W, 3) uint8 RGB image:

1. SAM's automatic mask generator (segment-anything ``SamAutomaticMaskGenerator``: a grid of
   ``points_per_side``² point prompts decoded ``points_per_batch`` at a time against one image
   embedding, filtered by predicted IoU and stability, then NMS). The upstream crash when
   ``crop_n_layers ≥ 1`` and no mask survives is guarded: no mask is a valid answer.
2. Masks painted large to small, so small ones win (:func:`alc_data.foundation.paint.paint_regions`).
3. Pixels no mask covers get SEEDS (or SLIC) regions (:func:`alc_data.superpixels.fill.fill_uncovered`;
   ``fill_method=none`` leaves them -1).
4. Every region is split into connected pieces and the ids renumbered 0..n-1 in raster order, so
   every pixel gets a region id ≥ 0.

The checkpoint (``.pth`` or Hugging Face folder) is loaded once and kept across images
(:func:`alc_data.foundation.sam.cached_sam`). Parameters may arrive as strings (command line, recipes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.errors import InvalidInput
from alc_data.foundation.common import SAM_HINT
from alc_data.foundation.paint import paint_regions
from alc_data.foundation.sam import cached_sam
from alc_data.superpixels.base import SUPERPIXEL_METHODS, SuperpixelContext
from alc_data.superpixels.fill import fill_uncovered, resolve_fill_method
from alc_data.superpixels.utils import check_image, connected_components, param_bool, param_float, param_int, param_names

NO_FILL = ("none", "off", "")


def regions_from_masks(
    image: np.ndarray,
    masks: np.ndarray,
    scores: np.ndarray | None = None,
    *,
    fill_method: str | None = "seeds",
    connectivity: Any = 8,
    **fill_params: Any,
) -> np.ndarray:
    """Superpixels from (N, H, W) bool masks of an (H, W, 3) uint8 image: small masks on top,
    uncovered pixels filled with ``fill_method`` regions (``none``: left -1), every region split into
    ``connectivity``-connected pieces, ids renumbered 0..n-1 in raster order. Returns (H, W) int32."""
    sp = paint_regions(masks, scores=scores)
    if fill_method is not None and str(fill_method).strip().lower() not in NO_FILL:
        sp = fill_uncovered(image, sp, method=str(fill_method), connectivity=connectivity, **fill_params)
    return connected_components(sp, connectivity)


#: most ``points_per_side`` taken: segment-anything builds a (n, n) float64 grid first (100,000 asked for 75 GiB)
MAX_POINTS_PER_SIDE = 1024


@SUPERPIXEL_METHODS.register("sam")
def sam_superpixels(
    image: np.ndarray,
    *,
    context: SuperpixelContext | None = None,
    checkpoint: str | None = None,
    model_type: str | None = None,
    device: str = "auto",
    amp: Any = True,
    points_per_side: Any = 32,
    points_per_batch: Any = 128,
    pred_iou_thresh: Any = 0.88,
    stability_score_thresh: Any = 0.95,
    stability_score_offset: Any = 1.0,
    box_nms_thresh: Any = 0.7,
    crop_n_layers: Any = 0,
    crop_nms_thresh: Any = 0.7,
    crop_n_points_downscale_factor: Any = 1,
    min_mask_region_area: Any = 0,
    fill_method: str | None = "seeds",
    connectivity: Any = 8,
    **fill_params: Any,
) -> np.ndarray:
    """SAM's automatic masks, one region each; pixels no mask covers get ``fill_method`` regions
    (fill_method=none: no candidate). Needs a SAM checkpoint (--sam).

    An (H, W, 3) uint8 RGB image → (H, W) int32 with ids ≥ 0 everywhere (unless ``fill_method=none``).

    ``checkpoint``: a SAM ``.pth`` or Hugging Face folder (``alc-data superpixels --method sam --sam
    PATH``); ``model_type``: optional vit_h/vit_l/vit_b check; the ``points_*``, ``*_thresh``,
    ``crop_*`` and ``min_mask_region_area`` keys are segment-anything's ``SamAutomaticMaskGenerator``
    options; ``fill_method`` (seeds, slic, none), ``connectivity`` and other keys (e.g.
    ``num_superpixels``) go to the fill.
    """
    if not checkpoint:
        raise InvalidInput(f"superpixel method sam needs a checkpoint: pass --sam PATH ({SAM_HINT})")
    if fill_method is not None and str(fill_method).strip().lower() not in NO_FILL:
        resolve_fill_method(fill_method, fill_params, sam_superpixels, "sam")  # typos fail before the model loads
    elif fill_params:
        raise InvalidInput(f"unknown parameter {sorted(fill_params)[0]!r} for superpixel method sam; it takes: "
                           f"{', '.join(param_names(sam_superpixels))}")
    opts: dict[str, Any] = dict(
        points_per_side=param_int("points_per_side", points_per_side, minimum=1, maximum=MAX_POINTS_PER_SIDE),
        points_per_batch=param_int("points_per_batch", points_per_batch, minimum=1),
        pred_iou_thresh=param_float("pred_iou_thresh", pred_iou_thresh, minimum=0.0, maximum=1.0),
        stability_score_thresh=param_float("stability_score_thresh", stability_score_thresh, minimum=0.0, maximum=1.0),
        stability_score_offset=param_float("stability_score_offset", stability_score_offset),
        box_nms_thresh=param_float("box_nms_thresh", box_nms_thresh, minimum=0.0, maximum=1.0),
        crop_n_layers=param_int("crop_n_layers", crop_n_layers, minimum=0),
        crop_nms_thresh=param_float("crop_nms_thresh", crop_nms_thresh, minimum=0.0, maximum=1.0),
        crop_n_points_downscale_factor=param_int("crop_n_points_downscale_factor", crop_n_points_downscale_factor, minimum=1),
        min_mask_region_area=param_int("min_mask_region_area", min_mask_region_area, minimum=0),
    )
    img = check_image(image)
    masker = cached_sam(checkpoint, model_type=model_type or None, device=str(device), amp=param_bool("amp", amp))
    masks, scores = masker.automatic_masks(img, **opts)
    return regions_from_masks(img, masks, scores, fill_method=fill_method, connectivity=connectivity, **fill_params)
