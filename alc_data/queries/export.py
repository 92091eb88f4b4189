"""Export a round's queries as a CSV for people to answer."""

from __future__ import annotations

import os
from pathlib import Path

from alc_data.choices import TextChoice
from alc_data.errors import AlreadyExists, InvalidInput
from alc_data.names import class_name
from alc_data.queries.create import check_round, round_queries
from alc_data.workspace import Workspace

class QueryFormat(TextChoice):
    """What ``alc-data queries export`` writes: a CSV, or Label Studio tasks (JSON plus the labeling config)."""

    CSV = "csv"
    LABEL_STUDIO = "label-studio"


WORKSPACE_ID_COLUMN = "workspace_id"
"""The column of the query CSV (and the field of a Label Studio task's ``data``) that names the workspace."""

QUERY_CSV_COLUMNS = (
    "query_id", "round", "rank", "image_id", "superpixel_id", "rep_row", "rep_col", "label_shown",
    "bbox_x0", "bbox_y0", "bbox_x1", "bbox_y1", "image_path", WORKSPACE_ID_COLUMN, "answer",
)
"""Columns of the query CSV. People fill ``answer`` with ``accept`` or a class name (or index);
``workspace_id`` names the workspace the file was exported from (``correct --answers`` checks it)."""


def export_queries_csv(
    ws: Workspace,
    out: str | os.PathLike,
    *,
    round_no: int | None = None,
    overwrite: bool = False,
    inside_workspace: bool = False,
) -> Path:
    """Write the queries of a round (default: the latest) to ``out`` with an empty ``answer`` column.

    The shown label is the current label at the representative pixel, as a class name (``void``
    for the ignore index). Box coordinates are inclusive pixel indices. Cells that would start a
    spreadsheet formula are escaped with a leading ``'`` (see :mod:`alc_data.io.csv_cells`); the
    answers reader undoes exactly that. Refuses a ``.json`` name (``correct`` would read the file as a
    Label Studio export), a path inside the workspace (except with
    ``inside_workspace``, for a run's own folder) and an existing file unless ``overwrite``.
    """
    from alc_data.io.atomic import atomic_write_bytes
    from alc_data.io.csv_cells import encode_csv
    from alc_data.io.outputs import check_output, refuse_folder

    if Path(out).suffix.lower() == ".json":
        raise InvalidInput(f"--out {out}: `alc-data correct` reads a .json answers file as a Label Studio export; "
                           f"name the CSV {Path(out).with_suffix('.csv').name}, or pass --format label-studio")
    if not inside_workspace:
        check_output(out, ws.root, overwrite=overwrite, file=True)
    elif Path(out).is_dir():
        refuse_folder(out)
    elif Path(out).exists() and not overwrite:
        raise AlreadyExists(f"{out}: file exists; choose a new path or pass --overwrite")
    round_no = check_round(ws, round_no)
    names, workspace_id = ws.catalogue.class_names, ws.catalogue.workspace_id
    rows = []
    for q in round_queries(ws, round_no):
        shown = class_name(q.shown_label, names)
        rows.append(
            [q.query_id, q.round, q.rank, q.image_id, q.superpixel_id, q.rep_row, q.rep_col, shown, *q.bbox,
             str(ws.catalogue.image_path(q.image_id)), workspace_id, ""]
        )
    out = Path(out)
    atomic_write_bytes(out, encode_csv(QUERY_CSV_COLUMNS, rows), shared=True)
    return out
