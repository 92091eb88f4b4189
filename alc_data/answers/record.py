"""Recording answers in the ledger (before any label changes)."""

from __future__ import annotations

import os
from typing import Sequence

from alc_data.errors import InvalidInput
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import STATUSES, Answer, AnswerStatus

__all__ = ["STATUSES", "Answer", "AnswerStatus", "bad_rows", "record_answers"]

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


def bad_rows(path: str | os.PathLike, errors: Sequence[str], noun: str, other_rounds: set[int]) -> InvalidInput:
    """The one-line error of an answers file with bad ``errors`` (rows or tasks, ``noun``): how many,
    the first :data:`MAX_LISTED` of them and, when the rows belong to one other round, the ``--round``
    that takes them."""
    listed = "; ".join(errors[:MAX_LISTED]) + (f"; … {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else "")
    hint = f"; its answers are for round {min(other_rounds)}: pass --round {min(other_rounds)}" if len(other_rounds) == 1 else ""
    return InvalidInput(f"{path}: {len(errors)} bad {noun}(s), nothing applied: {listed}{hint}")
