"""The ingest stage: create a workspace from a dataset in a registered format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from alc_data.ingest import FORMATS, load_formats
from alc_data.ingest.base import build_workspace, labels_folder
from alc_data.results import JsonResult


@dataclass(frozen=True)
class IngestOptions:
    """``format``: a name in :data:`~alc_data.ingest.FORMATS`; ``arguments``: its reader's keyword
    arguments (root folder, splits, ...); ``labels_from``: ``gt`` (start from the dataset's own
    annotation) or a folder of ``<image_id>.png`` labels."""

    format: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    labels_from: str = "gt"

    def __post_init__(self) -> None:
        load_formats()
        FORMATS.get(self.format)
        labels_folder(self.labels_from)

    @property
    def labels_dir(self) -> Path | None:
        return None if self.labels_from == "gt" else Path(self.labels_from)


@dataclass(frozen=True)
class IngestResult(JsonResult):
    """The workspace made: its folder, dataset name, image count and images per split, and the reader's
    notes (what it left out of the dataset, and why)."""

    workspace: Path
    dataset: str
    images: int
    splits: dict[str, int]
    notes: tuple[str, ...] = ()


def ingest(workspace: Path, options: IngestOptions) -> IngestResult:
    """Read the dataset ``options`` name and build a workspace at ``workspace`` (labels v0)."""
    source = FORMATS.get(options.format)(**options.arguments)
    ws = build_workspace(workspace, source, labels_from=options.labels_from, labels_dir=options.labels_dir)
    return IngestResult(workspace=ws.root, dataset=str(ws.catalogue.meta("dataset")), images=len(ws.catalogue.image_ids()),
                        splits=dict(ws.catalogue.splits()), notes=tuple(source.meta.get("notes", ())))
