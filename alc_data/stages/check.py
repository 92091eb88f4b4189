"""The check stage: compare a workspace's files with its catalogue, list crash debris, repair it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alc_data.workspace.check import CheckReport, check_workspace


@dataclass(frozen=True)
class CheckOptions:
    """``repair``: remove debris left by crashes (never a registered version or a file the catalogue
    uses) and put back an interrupted superpixel overwrite, then report what is left."""

    repair: bool = False


def check(workspace: Path, options: CheckOptions) -> CheckReport:
    """Check the workspace at ``workspace`` (which need not open: an interrupted ingest is reported)."""
    return check_workspace(workspace, repair=options.repair)
