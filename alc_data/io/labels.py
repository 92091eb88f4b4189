"""Label maps: (H, W) uint8 class indices, 255 = ignore, stored as palette PNGs with 256 colours.

A palette PNG written with a short palette is saved at a lower bit depth and 255 silently becomes 3
or 15 (docs/traps.md), so every label PNG here carries the full 256-entry palette.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from alc_data.constants import IGNORE_INDEX
from alc_data.errors import InvalidInput, NotFound
from alc_data.io.atomic import atomic_write_bytes
from alc_data.io.images import open_image

if TYPE_CHECKING:
    from PIL import Image


def _voc_colormap(n: int = 256) -> np.ndarray:
    """The PASCAL VOC bit-interleaving colour map, (n, 3) uint8."""
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


VOC_PALETTE = _voc_colormap()
"""The VOC colour map, (256, 3) uint8; entry 255 is (224, 224, 192), VOC's void colour."""


def default_palette(colors: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """A full (256, 3) uint8 palette: ``colors`` for the first entries, VOC colours after."""
    pal = VOC_PALETTE.copy()
    if colors is not None:
        for i, c in enumerate(colors[:IGNORE_INDEX]):
            pal[i] = c
    return pal


def encode_label_png(label: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    """Encode a (H, W) uint8 label map as an 8-bit palette PNG with a full 256-entry palette."""
    from PIL import Image

    label = np.asarray(label)
    if label.ndim != 2:
        raise InvalidInput(f"label map must be 2-D (H, W), got shape {label.shape}")
    if label.dtype != np.uint8:
        if label.size and (label.min() < 0 or label.max() > 255):
            raise InvalidInput(f"label values must be in 0..255, got {label.min()}..{label.max()}")
        label = label.astype(np.uint8)
    pal = default_palette() if palette is None else np.asarray(palette, dtype=np.uint8)
    if pal.shape != (256, 3):
        raise InvalidInput(f"palette must have shape (256, 3), got {pal.shape}")
    img = Image.frombytes("P", (label.shape[1], label.shape[0]), np.ascontiguousarray(label).tobytes())
    img.putpalette(pal.reshape(-1).tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", bits=8)
    return buf.getvalue()


def write_label_png(path: str | os.PathLike, label: np.ndarray, palette: np.ndarray | None = None) -> None:
    """Write a label map atomically as a palette PNG (see :func:`encode_label_png`)."""
    atomic_write_bytes(path, encode_label_png(label, palette))


def read_label_png(path: str | os.PathLike) -> np.ndarray:
    """Read a label PNG as (H, W) uint8 class indices (see :func:`label_indices`)."""
    if not Path(path).is_file():
        raise NotFound(f"{path}: label file not found")
    return label_indices(open_image(path), str(path))


def label_indices(img: Image.Image, what: str) -> np.ndarray:
    """(H, W) uint8 class indices of an opened label image, without any mode conversion.

    Palette ('P') and grey ('L') images give their stored indices. 16-bit grey ('I;16'/'I') is accepted
    when every value is ≤ 255. RGB label images are rejected: they need a colour → class mapping.
    """
    if img.mode in ("P", "L"):
        return np.asarray(img, dtype=np.uint8).copy()
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise InvalidInput(f"{what}: 16-bit label with values outside 0..255; save class indices as 8-bit")
        return arr.astype(np.uint8)
    raise InvalidInput(
        f"{what}: label image has mode {img.mode!r}; save labels as palette or grey PNGs of class indices"
    )
