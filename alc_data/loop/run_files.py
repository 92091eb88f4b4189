"""The files of a run under ``WS/runs/<name>/``: where they go (:class:`RunPaths`), its name checked as one
folder there, JSON written atomically, and the git revision recorded in ``run.json``."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alc_data.errors import InvalidInput
from alc_data.workspace.db import MAX_NAME_CHARS


@dataclass
class RunPaths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def model_dir(self, round_no: int) -> Path:
        return self.root / f"round-{round_no:02d}" / "model"


def run_folder_name(name: str) -> str:
    """``name`` when it is one folder directly under ``WS/runs`` (a path such as ``../x`` or ``/tmp/x``
    would put the run outside the workspace); ``alc-data run --name`` also asks for a plain name."""
    if not name or name in (".", "..") or Path(name).name != name or "\\" in name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"run name {name!r} is not allowed; use letters, digits, '_', '.', '-', "
                           f"at most {MAX_NAME_CHARS} characters")
    return name


def git_revision() -> str | None:
    """The git revision of the alc-data source tree, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def write_json(path: Path, data: Any) -> None:
    from alc_data.io.atomic import atomic_write_bytes

    from alc_data.results import json_ready

    atomic_write_bytes(path, (json.dumps(json_ready(data), indent=2, default=str, allow_nan=False) + "\n").encode())


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
