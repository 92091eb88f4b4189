"""Comparison pictures: image | labels before | labels after | changed pixels outlined (PIL)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alc_data.errors import AlreadyExists, InvalidInput
from alc_data.io.atomic import atomic_write_bytes
from alc_data.progress import track

if TYPE_CHECKING:
    from alc_data.audit.diff import LabelDiff

OUTLINE_RGB = (255, 255, 0)
GAP = 4
TITLE_HEIGHT = 16


def colorize(label: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(H, W) uint8 labels → (H, W, 3) uint8 RGB through a (256, 3) uint8 palette."""
    return np.asarray(palette, dtype=np.uint8)[label]


def outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """(H, W) bool → (H, W) bool: the inner boundary of ``mask``, grown to ``thickness`` pixels."""
    from scipy import ndimage

    if not mask.any():
        return np.zeros_like(mask, dtype=bool)
    edge = mask & ~ndimage.binary_erosion(mask, structure=np.ones((3, 3), dtype=bool), border_value=0)
    if thickness > 1:
        edge = ndimage.binary_dilation(edge, structure=np.ones((3, 3), dtype=bool), iterations=thickness - 1)
    return edge


def _resize(arr: np.ndarray, size: tuple[int, int], smooth: bool) -> np.ndarray:
    from PIL import Image

    if (arr.shape[1], arr.shape[0]) == size:
        return arr
    img = Image.fromarray(arr)
    return np.asarray(img.resize(size, Image.Resampling.BILINEAR if smooth else Image.Resampling.NEAREST))


def render_comparison(
    before: np.ndarray,
    after: np.ndarray,
    palette: np.ndarray,
    image: np.ndarray | None = None,
    *,
    title: str = "",
    max_panel_width: int = 360,
) -> bytes:
    """A PNG (bytes) with panels [image |] before | after | changes.

    ``before``/``after``: (H, W) uint8 label maps; ``palette``: (256, 3) uint8; ``image``: (H, W, 3)
    uint8 RGB or None (then the changes are outlined on the dimmed "after" labels). The changed pixels
    (``before != after``) are outlined in yellow on the last panel, the rest of it dimmed.
    """
    from PIL import Image, ImageDraw

    if before.shape != after.shape:
        raise InvalidInput(f"labels before {before.shape} and after {after.shape} differ in size")
    h, w = before.shape
    if image is not None and image.shape[:2] != (h, w):
        image = None  # an image that does not match its labels is not drawn
    scale = min(1.0, max_panel_width / max(w, 1))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    changed = _resize((before != after).astype(np.uint8) * 255, size, smooth=False) > 0
    col_before = _resize(colorize(before, palette), size, smooth=False)
    col_after = _resize(colorize(after, palette), size, smooth=False)
    base = _resize(image, size, smooth=True) if image is not None else col_after
    changes = np.where(changed[..., None], base, (base.astype(np.float32) * 0.45).astype(np.uint8))
    thickness = max(1, round(min(size) / 160))
    changes[outline(changed, thickness)] = OUTLINE_RGB
    panels = ([("image", _resize(image, size, smooth=True))] if image is not None else []) + [
        ("before", col_before),
        ("after", col_after),
        ("changed", changes),
    ]
    pw, ph = size
    header = TITLE_HEIGHT if not title else 2 * TITLE_HEIGHT
    canvas = Image.new("RGB", (len(panels) * pw + (len(panels) - 1) * GAP, ph + header), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    y0 = 0
    if title:
        draw.text((2, 2), title, fill=(0, 0, 0))
        y0 = TITLE_HEIGHT
    for i, (name, arr) in enumerate(panels):
        x = i * (pw + GAP)
        draw.text((x + 2, y0 + 2), name, fill=(0, 0, 0))
        canvas.paste(Image.fromarray(np.ascontiguousarray(arr)), (x, header))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def diff_pictures(diff: LabelDiff, *, max_panel_width: int = 360) -> dict[str, bytes]:
    """PNG bytes per image id for the top images of a :class:`~alc_data.audit.diff.LabelDiff`."""
    out: dict[str, bytes] = {}
    for image_id in track(diff.top, "draw changes"):
        before, after = diff.a.read(image_id), diff.b.read(image_id)
        image = diff.a.image(image_id)
        if image is None:
            image = diff.b.image(image_id)
        ch = diff.image(image_id)
        title = f"{image_id}: {100 * ch.changed_share:.2f} % changed, {ch.regions} regions"
        out[image_id] = render_comparison(before, after, diff.palette, image, title=title, max_panel_width=max_panel_width)
    return out


def write_pictures(pictures: dict[str, bytes], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``<image_id>.png`` files into ``out_dir`` (created; each file written atomically)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AlreadyExists(f"{out}: exists and is not a folder; pass another --out")
    paths = []
    for image_id, data in pictures.items():
        path = out / f"{image_id}.png"
        atomic_write_bytes(path, data, shared=True)
        paths.append(path)
    return paths
