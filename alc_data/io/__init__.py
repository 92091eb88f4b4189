"""Reading and writing label maps, superpixel maps and images; atomic file writes."""

from alc_data.io.atomic import atomic_write_bytes, atomic_dir
from alc_data.io.images import load_image, image_size
from alc_data.io.labels import (
    VOC_PALETTE,
    default_palette,
    encode_label_png,
    read_label_png,
    write_label_png,
)
from alc_data.io.superpixels import read_superpixels, write_superpixels

__all__ = [
    "VOC_PALETTE",
    "atomic_dir",
    "atomic_write_bytes",
    "default_palette",
    "encode_label_png",
    "image_size",
    "load_image",
    "read_label_png",
    "read_superpixels",
    "write_label_png",
    "write_superpixels",
]
