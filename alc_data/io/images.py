"""Opening images: every image, label and superpixel PNG the project reads goes through
:func:`open_image`, which turns PIL's errors into one line naming the file.

- Size limit: an image over ``PIL.Image.MAX_IMAGE_PIXELS`` pixels (89,478,485 by default, about
  9459 × 9459) is refused before it is decoded: a PNG of under 1 KB can claim 30000 × 30000 pixels
  (a decompression bomb). PIL only warns between that limit and twice it; here both are refused.
- 16-bit grey images (``I;16``/``I``) are scaled to 8 bit as ``v / 257`` rounded, so the full 16-bit
  range 0..65535 maps onto 0..255 (the same for every image; data that uses only 12 bits, 0..4095,
  comes out dark). PIL's own ``convert("RGB")`` clips every value over 255 to white.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from alc_data.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from PIL import Image

_GREY16_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def max_image_pixels() -> int | None:
    """The largest pixel count accepted (``PIL.Image.MAX_IMAGE_PIXELS``; None = no limit)."""
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS


def open_image(source: str | os.PathLike | bytes, what: str | None = None, *, load: bool = True) -> Image.Image:
    """Open an image file (or encoded bytes) with PIL, decoded fully unless ``load=False``.

    ``what`` names the file in messages (default: the path). Raises NotFound for a missing file and
    InvalidInput for an image over the size limit or a corrupt / truncated / unknown file.
    """
    from PIL import Image, UnidentifiedImageError

    name = what if what is not None else str(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else Path(source))
            if load:
                img.load()
        except FileNotFoundError:
            raise NotFound(f"{name}: image file not found; check the path or re-ingest the dataset") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidInput(_too_large(name, exc)) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidInput(f"{name}: corrupt or truncated image ({exc}); replace the file") from None
    return img


def _too_large(name: str, exc: BaseException) -> str:
    found = re.search(r"\((\d+) pixels\)", str(exc))  # PIL: "Image size (N pixels) exceeds limit of ..."
    size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
    return (
        f"{name}: image of {size} is over the limit of {max_image_pixels():,} pixels (a decompression-bomb "
        "guard, PIL.Image.MAX_IMAGE_PIXELS); split or downscale the image"
    )


def to_rgb(img: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a PIL image; 16-bit grey scaled by 1/257 (see the module docstring)."""
    if img.mode in _GREY16_MODES:
        arr = np.asarray(img).astype(np.int64)
        grey = ((np.clip(arr, 0, 65535) + 128) // 257).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"))


def upright(img: Image.Image) -> Image.Image:
    """The image with its EXIF orientation applied."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(img)


def exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright)."""
    try:
        return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is read as upright
        return 1


def upright_rgb_png(img: Image.Image) -> bytes:
    """PNG bytes of the upright RGB image (16-bit grey scaled as in :func:`to_rgb`); an image that is
    already upright (EXIF orientation 1) is only converted."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_rgb(upright(img) if exif_orientation(img) != 1 else img)).save(buf, format="PNG")
    return buf.getvalue()


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Load an image as (H, W, 3) uint8 RGB, with its EXIF orientation applied."""
    return to_rgb(upright(open_image(path)))


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image after its EXIF orientation, decoding it fully (catches truncation)."""
    img = upright(open_image(path))
    return img.height, img.width


__all__ = ["exif_orientation", "image_size", "load_image", "max_image_pixels", "open_image", "to_rgb",
           "upright", "upright_rgb_png"]
