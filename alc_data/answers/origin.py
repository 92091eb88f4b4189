"""Which workspace an answers file was exported from: its workspace id, checked before anything is read.

``alc-data queries export`` writes the workspace's id (a random uuid4 made when the workspace was
created, :attr:`~alc_data.workspace.catalogue.Catalogue.workspace_id`) into every row of a CSV
(column ``workspace_id``) and into every Label Studio task (``data.workspace_id``). An answers file whose
id is another workspace's is refused in one line; a file without one (exported by an older alc-data) is
accepted with a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Iterable

from alc_data.errors import InvalidInput
from alc_data.queries.export import WORKSPACE_ID_COLUMN
from alc_data.workspace import Workspace


def check_origin(ws: Workspace, path: Path, ids: Iterable[Any]) -> None:
    """InvalidInput when any of ``ids`` (one per row or task; empty or None where absent) is not this
    workspace's id; a warning when none is given (an export from an older alc-data)."""
    mine = ws.catalogue.workspace_id
    given = [str(i).strip() for i in ids if i is not None and str(i).strip()]
    other = next((i for i in given if i != mine), None)
    if other is not None:
        raise InvalidInput(
            f"{path}: exported from another workspace (workspace id {other}), not this one ({mine}); "
            f"apply it with -w to the workspace it came from; nothing applied"
        )
    if not given:
        warnings.warn(f"{path}: names no workspace id (exported by an older alc-data); applying it to {ws.root} "
                      "on its query ids alone", UserWarning, stacklevel=3)


def check_task_origin(ws: Workspace, path: Path, tasks: Iterable[Any]) -> None:
    """:func:`check_origin` for Label Studio tasks (``data.workspace_id`` of each)."""
    datas = (t.get("data") if isinstance(t, dict) else None for t in tasks)
    check_origin(ws, path, (d.get(WORKSPACE_ID_COLUMN) if isinstance(d, dict) else None for d in datas))
