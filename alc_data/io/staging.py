"""Resumable staging folders: one ``<image_id>.npz`` per image of a long run (Grounded-SAM pseudo
labels, superpixels), kept when the run stops, with the settings they were made with in
``settings.json``; the same command resumes with the images still missing, other settings are refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Sequence

from alc_data.errors import Conflict
from alc_data.io.atomic import atomic_write_bytes


def check_resumable(stage: Path, settings: dict[str, Any], what: str) -> bool:
    """True when ``stage`` holds results made with ``settings``, False when it holds none; AlcError
    naming the settings that differ when they were made with others."""
    if not (stage.is_dir() and any(stage.glob("*.npz"))):
        return False
    try:
        before = json.loads((stage / "settings.json").read_text())
    except (OSError, json.JSONDecodeError):
        before = None
    now = json.loads(json.dumps(settings, default=str))
    if before != now:
        diff = sorted(k for k in now if (before or {}).get(k) != now[k])
        raise Conflict(f"{stage}: holds {what} made with other settings ({', '.join(diff) or 'unreadable settings'}); "
                       "re-run with the same settings, or delete that folder to start over")
    return True


def record_settings(stage: Path, settings: dict[str, Any]) -> None:
    """Create ``stage`` and write the settings its results are made with."""
    stage.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(stage / "settings.json", json.dumps(settings, indent=2, default=str).encode())


def still_to_do(stage: Path, image_ids: Sequence[str]) -> list[str]:
    """The images of ``image_ids`` with no result in ``stage``."""
    return [i for i in image_ids if not (stage / f"{i}.npz").is_file()]


def remove_stage(stage: Path, root: Path) -> None:
    """Remove ``stage`` and the folders above it, below ``root``, that it leaves empty."""
    shutil.rmtree(stage, ignore_errors=True)
    folder = stage.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            break
        folder = folder.parent
