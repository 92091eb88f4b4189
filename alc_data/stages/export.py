"""The export stage: a label version's maps as palette PNGs plus ``classes.txt``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alc_data.info import export_version
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class ExportOptions:
    """``out``: the folder to write; ``version``: default the latest; ``overwrite``: replace a
    non-empty ``out``."""

    out: Path
    version: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class ExportResult(JsonResult):
    """The folder written, the version exported and how many label maps."""

    folder: Path
    version: str
    images: int


def export(ws: Workspace, options: ExportOptions) -> ExportResult:
    """Write the labels of ``options.version`` into ``options.out``."""
    folder = export_version(ws, options.out, version=options.version, overwrite=options.overwrite)
    return ExportResult(folder=folder, version=ws.labels.version(options.version).name, images=len(ws.catalogue.image_ids()))
