"""The diff stage: what changed between two label versions or two label folders, with an optional
HTML report and comparison pictures."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from alc_data.audit.diff import LabelDiff, compare_labels
from alc_data.audit.pictures import diff_pictures, write_pictures
from alc_data.audit.report import write_report
from alc_data.errors import InvalidInput
from alc_data.io.outputs import writable_place
from alc_data.workspace.db import DB_NAME
from alc_data.results import JsonResult


@dataclass(frozen=True)
class DiffOptions:
    """``a``/``b``: labels before and after (a label version of the workspace or a folder of
    ``<image_id>.png``); ``top``: the most-changed images to detail and draw; ``classes``/``images``:
    class names and images for folder sides; ``report``: an HTML file to write; ``out``: a folder for
    one comparison PNG per top image."""

    a: str
    b: str
    top: int = 10
    classes: Path | None = None
    images: Path | None = None
    report: Path | None = None
    out: Path | None = None

    def __post_init__(self) -> None:
        if self.top < 0:
            raise InvalidInput(f"--top must be ≥ 0, got {self.top}")


@dataclass(frozen=True)
class DiffResult(JsonResult):
    """The comparison, the report written (or None) and the pictures written."""

    diff: LabelDiff
    report: Path | None
    pictures: tuple[Path, ...]

    @cached_property
    def _diff(self) -> dict[str, Any]:
        return self.diff.to_dict()

    def json_keys(self) -> tuple[str, ...]:
        """The comparison's keys, then ``report`` and ``pictures``."""
        keys = (spec.partition("=")[0] for spec in self.diff.json_keys())
        return (*(f"{k}=_diff.{k}" for k in keys), "report", "pictures")


def diff(workspace: Path, options: DiffOptions) -> DiffResult:
    """Compare ``options.a`` with ``options.b`` (versions of the workspace at ``workspace``, or folders)."""
    root = workspace if (Path(workspace) / DB_NAME).is_file() else None  # folder mode: no workspace to protect
    if options.report is not None:
        writable_place(options.report, "--report", workspace_root=root)
    if options.out is not None:
        writable_place(options.out, "--out", folder=True, workspace_root=root)
    result = compare_labels(options.a, options.b, workspace=workspace, classes_file=options.classes,
                            images=options.images, top=options.top)
    drawn = options.report is not None or options.out is not None
    pictures = diff_pictures(result) if drawn else {}
    written = write_pictures(pictures, options.out) if options.out is not None else []
    report = write_report(result, options.report, pictures) if options.report is not None else None
    return DiffResult(result, report, tuple(written))
