"""``correct`` as one library call: answers → ledger → new label version."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alc_data.correction.apply import AppliedVersion
from alc_data.errors import InvalidInput, NotFound
from alc_data.results import JsonResult
from alc_data.workspace import Workspace


@dataclass(frozen=True)
class CorrectResult(JsonResult):
    """What :func:`correct_round` did: the round, where its answers came from (``csv:NAME``,
    ``label-studio:NAME``, ``oracle:gt:MODE`` or ``ledger``), how many were recorded now or were
    already in the ledger, and the version written (None when nothing new was pending)."""

    round: int
    source: str
    recorded: int
    already_recorded: int
    applied: AppliedVersion | None


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
) -> CorrectResult:
    """Record a round's answers and apply them as a new label version.

    Answers come from ``answers_csv`` (a CSV, or a Label Studio JSON export when it ends in ``.json``)
    or from ``oracle`` (``"gt"``); with neither, the answers already in the ledger (from ``alc-data
    annotate`` or an earlier interrupted run) are applied. Every option and the whole answer file are
    validated before anything is recorded; every answer is in the ledger before any label changes;
    re-running with the same answers records nothing and writes no version.
    ``expand``: superpixel | label | pixel (None: the default, :data:`DEFAULT_EXPANSION`).
    """
    from alc_data.answers import ORACLE_MODES, oracle_answers, read_answers_csv
    from alc_data.correction.apply import apply_answers, check_tau
    from alc_data.correction.expand import DEFAULT_EXPANSION, check_expansion
    from alc_data.faults import kill_point

    if answers_csv is not None and oracle is not None:
        raise InvalidInput("give at most one of --answers FILE and --oracle gt")
    if oracle is not None and oracle != "gt":
        raise InvalidInput(f"unknown oracle {oracle!r}; the only oracle is 'gt' (reference ground truth)")
    if oracle_mode not in ORACLE_MODES:
        raise InvalidInput(f"unknown oracle mode {oracle_mode!r}; choose one of: {', '.join(ORACLE_MODES)}")
    check_tau(tau)
    expand = check_expansion(expand or DEFAULT_EXPANSION)
    with ws.writing("correct"):
        rnd = ws.ledger.round(round_no)
        if tau > 0:
            checkpoint = checkpoint or rnd.params.get("checkpoint")
            if checkpoint is None or not Path(checkpoint).is_file():
                raise NotFound(
                    f"--tau {tau} needs the model's probabilities but the checkpoint {checkpoint} is missing; "
                    "pass --model CHECKPOINT (or use --tau 0)"
                )
        if answers_csv is not None and Path(answers_csv).suffix.lower() == ".json":
            from alc_data.answers.label_studio import read_label_studio_export

            answers = read_label_studio_export(ws, answers_csv, round_no=rnd.round)
            source = f"label-studio:{Path(answers_csv).name}"
        elif answers_csv is not None:
            answers = read_answers_csv(ws, answers_csv, round_no=rnd.round)
            source = f"csv:{Path(answers_csv).name}"
        elif oracle == "gt":
            answers = oracle_answers(ws, ws.ledger.queries(rnd.round), label_version=rnd.label_version, mode=oracle_mode)
            source = f"oracle:gt:{oracle_mode}"
        else:
            answers, source = [], "ledger"
        inserted, present = ws.ledger.record_answers(rnd.round, answers, source=source, annotator=annotator)
        kill_point("correct:recorded")
        applied = apply_answers(ws, rnd.round, tau=tau, expand=expand, checkpoint=checkpoint)
    return CorrectResult(round=rnd.round, source=source, recorded=inserted, already_recorded=present, applied=applied)
