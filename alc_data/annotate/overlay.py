"""The outline of a queried superpixel as a transparent PNG the page draws over the image."""

from __future__ import annotations

import io

import numpy as np

OUTLINE_RGBA = (255, 230, 0, 255)
FILL_RGBA = (255, 230, 0, 56)


def outline_mask(superpixels: np.ndarray, superpixel_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(inside, border) boolean (H, W) maps of one region; border = inside pixels with a 4-neighbour outside."""
    inside = np.asarray(superpixels) == superpixel_id
    padded = np.pad(inside, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return inside, inside & ~interior


def outline_png(superpixels: np.ndarray, superpixel_id: int) -> bytes:
    """RGBA PNG of the image's size: the region's border opaque yellow, its inside lightly tinted."""
    from PIL import Image

    inside, border = outline_mask(superpixels, superpixel_id)
    rgba = np.zeros((*inside.shape, 4), dtype=np.uint8)
    rgba[inside] = FILL_RGBA
    rgba[border] = OUTLINE_RGBA
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
