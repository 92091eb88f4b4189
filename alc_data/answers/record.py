"""Recording answers in the ledger (before any label changes)."""

from __future__ import annotations

import os
from typing import Sequence

from alc_data.errors import Conflict, InvalidInput
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import STATUSES, Answer, AnswerStatus

__all__ = ["ROUND_OPTION", "STATUSES", "Answer", "AnswerStatus", "bad_rows", "check_against_ledger", "record_answers"]

MAX_LISTED = 20
"""Bad rows named in one error line (the count says how many more)."""


def record_answers(
    ws: Workspace, round_no: int, answers: Sequence[Answer], *, source: str, annotator: str
) -> tuple[int, int]:
    """Insert answers not yet in the ledger; returns (inserted, already present).

    An answer that repeats the ledger's is skipped (applying a file twice changes nothing); one that
    contradicts it raises :class:`alc_data.errors.Conflict` and nothing is inserted.
    """
    return ws.ledger.record_answers(round_no, answers, source=source, annotator=annotator)


ROUND_OPTION = "pass --round {round}"
"""What :func:`bad_rows` tells when every bad row is of one other round (``{round}``): ``correct``'s option.
``alc-data run`` says instead which round it waits for."""


def _listed(errors: Sequence[str]) -> str:
    return "; ".join(errors[:MAX_LISTED]) + (f"; … {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else "")


def bad_rows(path: str | os.PathLike, errors: Sequence[str], noun: str, other_rounds: set[int],
             other_round: str = ROUND_OPTION, *, all_elsewhere: bool = True) -> InvalidInput:
    """The one-line error of an answers file with bad ``errors`` (rows or tasks, ``noun``): how many,
    the first :data:`MAX_LISTED` of them and, when every row belongs to one other round (``all_elsewhere``:
    no row is of the round being applied, nor unknown), what to do (``other_round`` with that round for
    ``{round}``: by default the ``--round`` that takes them)."""
    hint = f"; its answers are for round {min(other_rounds)}: " + other_round.replace("{round}", str(min(other_rounds))) \
        if len(other_rounds) == 1 and all_elsewhere else ""
    return InvalidInput(f"{path}: {len(errors)} bad {noun}(s), nothing applied: {_listed(errors)}{hint}")


def _said(ws: Workspace, status: AnswerStatus, cls: int | None) -> str:
    """An answer as a person reads it: "yes ('cat')", "'dog'" or "can't tell"."""
    from alc_data.constants import CANT_TELL

    if cls is None:
        return CANT_TELL
    name = repr(ws.catalogue.class_names[cls]) if 0 <= cls < ws.catalogue.num_classes else f"class {cls}"
    return f"yes ({name})" if status == AnswerStatus.ACCEPTED else name


def check_against_ledger(ws: Workspace, path: str | os.PathLike, round_no: int,
                         given: Sequence[tuple[str, Answer]], noun: str) -> None:
    """Conflict naming each of ``given`` (where in the file, answer) that contradicts the live answer the
    ledger holds for its query (the same answer again is no contradiction: applying a file twice changes
    nothing); the ledger keeps its first answer."""
    live = ws.ledger.answers(round_no)
    clashes = []
    for where, a in given:
        had = live.get(a.query_id)
        if had is not None and (had.status, had.answer_class) != (a.status, a.answer_class):
            clashes.append(f"{where}: query {a.query_id} says {_said(ws, a.status, a.answer_class)} but was answered "
                           f"{_said(ws, had.status, had.answer_class)} before (by {had.annotator}, {had.source})")
    if clashes:
        raise Conflict(f"{path}: {len(clashes)} {noun}(s) contradict answers already in the ledger, nothing applied: "
                       f"{_listed(clashes)}; the ledger keeps the first answer: drop those {noun}s from the file and apply "
                       "it again")
