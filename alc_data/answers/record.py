"""Recording answers in the ledger (before any label changes)."""

from __future__ import annotations

from typing import Sequence

from alc_data.workspace import Workspace
from alc_data.workspace.ledger import STATUSES, Answer, AnswerStatus

__all__ = ["STATUSES", "Answer", "AnswerStatus", "record_answers"]


def record_answers(
    ws: Workspace, round_no: int, answers: Sequence[Answer], *, source: str, annotator: str
) -> tuple[int, int]:
    """Insert answers not yet in the ledger; returns (inserted, already present).

    An answer that repeats the ledger's is skipped (applying a file twice changes nothing); one that
    contradicts it raises :class:`alc_data.errors.Conflict` and nothing is inserted.
    """
    return ws.ledger.record_answers(round_no, answers, source=source, annotator=annotator)
