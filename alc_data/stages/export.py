"""The export stage: a label version written in a dataset format (``--format``, default ``folder``:
palette PNGs plus ``classes.txt``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.errors import InvalidInput
from alc_data.export import ExportChoice
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class ExportOptions:
    """``out``: the folder to write; ``format``: a writer in ``FORMATS`` (checked here, once);
    ``version``: default the latest; ``choice``: the splits, images and extras to write; ``overwrite``: replace a non-empty ``out``."""

    out: Path
    format: str = "folder"
    version: str | None = None
    overwrite: bool = False
    choice: ExportChoice = field(default_factory=ExportChoice)

    def __post_init__(self) -> None:
        from alc_data.export import load_exporters
        from alc_data.ingest import FORMATS

        load_exporters()
        FORMATS.exporter(self.format)  # an unknown format is one line listing the known ones
        if self.choice.errors is not None and self.format != "fiftyone":
            raise InvalidInput(f"--errors goes into the fiftyone sidecar; pass --format fiftyone (got {self.format!r})")
        if self.choice.category_ids is not None and self.format != "coco":
            raise InvalidInput(f"--category-ids applies to --format coco (got {self.format!r})")


@dataclass(frozen=True)
class ExportResult(JsonResult):
    """The folder written, its format, the version exported, how many images, and v0's name when its
    labels were written beside (``--with-original``)."""

    folder: Path
    format: str
    version: str
    images: int
    original: str | None = None


def export(ws: Workspace, options: ExportOptions) -> ExportResult:
    """Write the labels of ``options.version`` into ``options.out`` in ``options.format``."""
    from alc_data.export.run import run_export

    job = run_export(ws, options.format, options.out, options.version, options.choice, overwrite=options.overwrite)
    return ExportResult(folder=Path(options.out), format=options.format, version=job.version,
                        images=len(job.image_ids), original=job.original)
