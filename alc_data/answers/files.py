"""An answers file of either kind: a CSV (from ``alc-data queries export``) or, named ``*.json``, a Label
Studio JSON export; read and checked as a whole by :mod:`alc_data.answers.csv_answers` or
:mod:`alc_data.answers.label_studio`."""

from __future__ import annotations

import os
from pathlib import Path

from alc_data.answers.record import ROUND_OPTION, Answer
from alc_data.workspace import Workspace


def read_answers_file(ws: Workspace, path: str | os.PathLike, *, round_no: int,
                      other_round: str = ROUND_OPTION) -> tuple[list[Answer], str]:
    """(the answers of ``path`` for ``round_no``, their source's name: ``csv:NAME`` or ``label-studio:NAME``);
    ``other_round`` says what to do when the file's answers are of one other round (``{round}``)."""
    from alc_data.answers.csv_answers import read_answers_csv
    from alc_data.answers.label_studio import read_label_studio_export

    path = Path(path)
    if path.suffix.lower() == ".json":
        return read_label_studio_export(ws, path, round_no=round_no, other_round=other_round), f"label-studio:{path.name}"
    return read_answers_csv(ws, path, round_no=round_no, other_round=other_round), f"csv:{path.name}"
