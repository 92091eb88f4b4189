"""Superpixels: a registry of methods producing (H, W) int32 region maps, stored as named sets."""

from alc_data.superpixels.base import (
    SUPERPIXEL_METHODS,
    SuperpixelContext,
    check_superpixel_params,
    compute_superpixel_set,
    describe_methods,
    load_methods,
    with_checkpoint,
)

__all__ = [
    "SUPERPIXEL_METHODS",
    "SuperpixelContext",
    "check_superpixel_params",
    "compute_superpixel_set",
    "describe_methods",
    "load_methods",
    "with_checkpoint",
]
