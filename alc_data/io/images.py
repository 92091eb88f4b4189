"""Image loading with EXIF orientation applied, so images and label maps line up."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from alc_data.errors import AlcError


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except FileNotFoundError:
        raise AlcError(f"{path}: image not found; check the path or re-ingest the dataset") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise AlcError(f"{path}: corrupt or truncated image ({exc}); replace the file") from None
    return img


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Load an image as (H, W, 3) uint8 RGB, with its EXIF orientation applied."""
    from PIL import ImageOps

    img = ImageOps.exif_transpose(_open(Path(path)))
    return np.asarray(img.convert("RGB"))


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image after its EXIF orientation, decoding it fully (catches truncation)."""
    from PIL import ImageOps

    img = ImageOps.exif_transpose(_open(Path(path)))
    return img.height, img.width
