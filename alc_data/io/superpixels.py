"""Superpixel maps: (H, W) int32 region ids; ids < 0 mark pixels that are no candidate.

Stored as compressed ``.npz`` (key ``superpixels``) so any int32 id survives exactly.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from alc_data.errors import InvalidInput, NotFound, WorkspaceDamaged
from alc_data.io.atomic import atomic_write_bytes


def write_superpixels(path: str | os.PathLike, sp: np.ndarray) -> None:
    """Write a (H, W) integer superpixel map atomically as int32 ``.npz``."""
    sp = np.asarray(sp)
    if sp.ndim != 2:
        raise InvalidInput(f"superpixel map must be 2-D (H, W), got shape {sp.shape}")
    buf = io.BytesIO()
    np.savez_compressed(buf, superpixels=sp.astype(np.int32))
    atomic_write_bytes(path, buf.getvalue())


def read_superpixels(path: str | os.PathLike) -> np.ndarray:
    """Read a superpixel map written by :func:`write_superpixels`, (H, W) int32."""
    path = Path(path)
    try:
        with np.load(path) as z:
            return z["superpixels"].astype(np.int32, copy=False)
    except FileNotFoundError:
        raise NotFound(f"{path}: superpixel map not found; run `alc-data superpixels` first") from None
    except (OSError, ValueError, KeyError) as exc:
        raise WorkspaceDamaged(f"{path}: corrupt superpixel map ({exc}); recompute the set") from None


def stored_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The shape of the int32 map in a file written by :func:`write_superpixels`, read from the
    array's header without decompressing it; AlcError naming the file when it is not such a file."""
    import zipfile

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z, z.open("superpixels.npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(f)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise WorkspaceDamaged(f"{path}: corrupt superpixel map ({exc}); recompute it") from None
    if dtype != np.dtype(np.int32):
        raise WorkspaceDamaged(f"{path}: superpixel map of dtype {dtype}, expected int32; recompute it")
    return tuple(int(n) for n in shape)
