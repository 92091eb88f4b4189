"""``correct`` as one library call: answers → ledger → new label version."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alc_data.errors import AlcError
from alc_data.workspace import Workspace


def correct_round(
    ws: Workspace,
    *,
    round_no: int | None = None,
    answers_csv: str | os.PathLike | None = None,
    oracle: str | None = None,
    oracle_mode: str = "pixel",
    tau: float = 0.0,
    expand: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    annotator: str = "oracle",
) -> dict[str, Any]:
    """Record a round's answers (validated first; nothing recorded on any error) and apply them.

    Exactly one of ``answers_csv`` and ``oracle`` (``"gt"``). Every answer is in the ledger before any
    label changes; re-running with the same answers records nothing and writes no version.
    ``expand``: superpixel | label | pixel (None: the default, :data:`DEFAULT_EXPANSION`).
    """
    import json

    from alc_data.answers import oracle_answers, read_answers_csv, record_answers
    from alc_data.correction.apply import apply_answers
    from alc_data.correction.expand import DEFAULT_EXPANSION, check_expansion
    from alc_data.queries.create import check_round, round_queries

    expand = check_expansion(expand or DEFAULT_EXPANSION)  # before anything is recorded
    rnd = check_round(ws, round_no)
    if answers_csv is not None:
        answers = read_answers_csv(ws, answers_csv, round_no=rnd)
        source = f"csv:{Path(answers_csv).name}"
    elif oracle == "gt":
        (label_version,) = ws.query("SELECT label_version FROM rounds WHERE round=?", (rnd,))[0]
        answers = oracle_answers(ws, round_queries(ws, rnd), label_version=label_version, mode=oracle_mode)
        source = f"oracle:gt:{oracle_mode}"
    else:
        raise AlcError(f"unknown oracle {oracle!r}; the only oracle is 'gt' (reference ground truth)")
    inserted, present = record_answers(ws, rnd, answers, source=source, annotator=annotator)
    if tau > 0 and checkpoint is None:
        params = json.loads(ws.query("SELECT params FROM rounds WHERE round=?", (rnd,))[0][0])
        checkpoint = params.get("checkpoint")
    applied = apply_answers(ws, rnd, tau=tau, expand=expand, checkpoint=checkpoint)
    return {"round": rnd, "source": source, "recorded": inserted, "already_recorded": present, "applied": applied}
