"""What a build wrote: :class:`BuildResult`, read by the card and by ``publish``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class BuildResult:
    """What :func:`build_dataset_folder` wrote, and the numbers the card reports."""

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "version": self.version,
            "original": self.original,
            "lineage": self.lineage,
            "splits": self.splits,
            "data_files": self.data_files,
            "corrections": self.corrections,
            "images": self.images,
            "pixels": self.pixels,
            "changed_pixels": self.changed_pixels,
            "changed_share": round(self.changed_pixels / self.pixels, 8) if self.pixels else 0.0,
            "images_changed": self.images_changed,
            "data_miou": self.miou,
            "images_in_no_split": self.left_out,
        }
