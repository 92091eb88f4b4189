"""What a build wrote: :class:`BuildResult`, read by the card and by ``publish``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alc_data.results import JsonResult


#: the JSON of a :class:`BuildResult` (``--json`` of ``alc-data publish``): its keys, and the attribute
#: each shows where it is named otherwise
BUILD_JSON_KEYS = (
    "folder", "version", "original", "lineage", "splits", "data_files", "corrections", "images", "pixels",
    "changed_pixels", "changed_share", "images_changed", "data_miou=miou", "images_in_no_split=left_out",
)


@dataclass(frozen=True)
class BuildResult(JsonResult):
    """What :func:`~alc_data.publish.build.build_dataset_folder` wrote, and the numbers the card reports."""

    folder: Path
    version: str
    original: str
    lineage: list[str]
    splits: dict[str, int]  # split -> rows
    data_files: dict[str, dict[str, list[str]]]  # config -> split -> shard paths (relative)
    num_bytes: dict[str, dict[str, int]]  # config -> split -> arrow bytes
    corrections: int
    images: int
    pixels: int
    changed_pixels: int
    images_changed: int
    miou: dict[str, dict[str, Any]] | None = None  # split -> {images, before, after (percent), coverage_* (0..1)}
    left_out: int = 0  # images in no published split
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def changed_share(self) -> float:
        """Changed pixels over all pixels (8 decimals; 0 without pixels)."""
        return round(self.changed_pixels / self.pixels, 8) if self.pixels else 0.0

    def json_keys(self) -> tuple[str, ...]:
        return BUILD_JSON_KEYS
