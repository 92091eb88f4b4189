"""Tiny workspaces for tests with any class names and image ids, a
round of queries on them, and hand-made PNG files (a decompression bomb, 16-bit grey)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(width: int = 30000, height: int = 30000, color_type: int = 0) -> bytes:
    """A valid PNG header claiming ``width`` × ``height`` 8-bit pixels with a tiny IDAT (about 100 bytes):
    the cheap form of a decompression bomb (grey: color_type 0, palette: 3, RGB: 2)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    extra = chunk(b"PLTE", bytes(range(256)) * 3) if color_type == 3 else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def tiny_source(class_names, image_ids=("a", "b", "c"), size=(8, 8), seed=0, name="tiny"):
    """A DatasetSource of random images with ground truth = labels and four square superpixels each."""
    from alc_data.ingest.base import DatasetSource, IngestItem
    from alc_data.workspace import ClassInfo

    rng = np.random.default_rng(seed)
    h, w = size
    sp = (np.arange(h)[:, None] >= h // 2) * 2 + (np.arange(w)[None, :] >= w // 2)
    k = len(class_names)

    def items():
        for image_id in image_ids:
            gt = rng.integers(0, k, (h, w)).astype(np.uint8)
            yield IngestItem(
                image_id=image_id,
                image_path=Path(f"{image_id}.png"),
                splits=("train",),
                gt=gt,
                superpixels=sp.astype(np.int32),
                image_bytes=png_bytes(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)),
            )

    classes = [ClassInfo(i, n, (i, i, i)) for i, n in enumerate(class_names)]
    return DatasetSource(name=name, classes=classes, items=items, count=len(image_ids))


def tiny_ws(path, class_names, image_ids=("a", "b", "c"), **kwargs):
    from alc_data.ingest.base import ingest

    return ingest(path, tiny_source(class_names, image_ids, **kwargs), superpixel_set="sam")


def make_round(ws, budget: int, seed: int = 0) -> int:
    """One round of ``budget`` queries scored from random probabilities (superpixel set ``sam``)."""
    from alc_data.queries import create_round
    from alc_data.scoring import ScoreTable, score_superpixels, select_top

    rng = np.random.default_rng(seed)
    tables = []
    for image_id in ws.catalogue.image_ids():
        lab = ws.labels.read_label("v0", image_id)
        p = rng.random((ws.catalogue.num_classes, *lab.shape)).astype(np.float32) + 0.01
        tables.append(score_superpixels(p / p.sum(0), lab, ws.superpixels.read_superpixels("sam", image_id),
                                        acquisition="sim", image_id=image_id))
    selected = select_top(ScoreTable.concat(tables), budget)
    return create_round(ws, selected, label_version="v0", superpixel_set="sam", acquisition="sim", budget=budget)
