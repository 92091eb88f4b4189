"""The ledger's rows: frozen dataclasses for rounds, queries, answers, corrections and progress.

:class:`alc_data.workspace.ledger.Ledger` returns these, never tuples to unpack by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Sequence

from alc_data.errors import InvalidInput
from alc_data.results import JsonResult


class AnswerStatus(str, Enum):
    """What an annotator said about the label shown at the representative pixel."""

    ACCEPTED = "accepted"  #: the shown label is right
    CORRECTED = "corrected"  #: the shown label is wrong; ``answer_class`` is the right one
    UNANSWERABLE = "unanswerable"  #: the annotator cannot tell (or the ground truth is void)


@dataclass(frozen=True)
class Round:
    """One round: the labels and superpixels it scored, its acquisition and budget, its outputs."""

    round: int
    label_version: str
    superpixel_set: str
    acquisition: str
    budget: int
    score_table: str | None  #: path relative to the workspace
    output_version: str | None  #: the label version ``correct`` wrote (None until applied)
    created_at: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """One correction query: "is the pixel (rep_row, rep_col) of image_id a <shown_label>?"."""

    query_id: int
    round: int
    rank: int
    image_id: str
    superpixel_set: str
    superpixel_id: int
    rep_row: int
    rep_col: int
    shown_label: int
    dominant: int | None
    area: int
    score: float
    bbox: tuple[int, int, int, int]  #: x0, y0, x1, y1 inclusive


@dataclass(frozen=True)
class Answer:
    """The answer to one query. ``answer_class`` is None when unanswerable; for ``accepted`` it is the
    shown label."""

    query_id: int
    status: AnswerStatus
    answer_class: int | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", AnswerStatus(self.status))


@dataclass(frozen=True)
class AnswerRecord:
    """An answer as the ledger holds it."""

    answer_id: int
    query_id: int
    round: int
    status: AnswerStatus
    answer_class: int | None
    source: str
    annotator: str
    answered_at: str
    applied_version: str | None


@dataclass(frozen=True)
class PendingAnswer:
    """A recorded answer not yet applied to a label version, with its query."""

    answer_id: int
    status: AnswerStatus
    answer_class: int | None
    query: Query


@dataclass(frozen=True)
class CorrectionRow(JsonResult):
    """One correction (an answer that changed pixels of one version) with its query and answer."""

    correction_id: int
    query_id: int
    round: int
    label_version: str
    image_id: str
    superpixel_id: int
    old_class: int
    new_class: int
    pixels: int
    superpixel_set: str | None
    rep_row: int | None
    rep_col: int | None
    shown_label: int | None
    status: str | None
    answer_class: int | None
    source: str | None
    annotator: str | None
    answered_at: str | None


@dataclass(frozen=True)
class RoundCost:
    """Queries and answers of one round (or of all rounds, with ``round`` None)."""

    round: int | None
    acquisition: str | None
    budget: int
    queries: int
    answered: int
    accepted: int
    corrected: int
    unanswerable: int
    unapplied: int  #: recorded answers no label version applies yet


STATUSES = tuple(s.value for s in AnswerStatus)
"""The answer statuses as text, in order: accepted, corrected, unanswerable."""


@dataclass(frozen=True)
class AnswerCount:
    """How many live answers of a round a label version applied (``applied_version`` None: not yet)."""

    round: int
    applied_version: str | None
    answers: int


@dataclass(frozen=True)
class TimedAnswer:
    """An answer with its measured seconds and, for a retraction, who retracted it and when."""

    answer_id: int
    query_id: int
    status: AnswerStatus
    answer_class: int | None
    source: str
    annotator: str
    seconds: float | None
    retracted_by: str | None
    retracted_at: str | None


@dataclass(frozen=True)
class RoundProgress(JsonResult):
    """Queries of one round, its live answers by status, its retractions and the median measured seconds."""

    round: int
    total: int
    answered: int
    accepted: int
    corrected: int
    unanswerable: int
    retracted: int
    median_seconds: float | None


def answer_class_problem(status: str | AnswerStatus, answer_class: int | None, num_classes: int) -> str | None:
    """Why an answer cannot be applied in a workspace of ``num_classes`` classes, or None: an accepted or
    corrected answer names a class 0..K-1, an unanswerable one names none."""
    status = status.value if isinstance(status, AnswerStatus) else status
    if status not in STATUSES:
        return f"status {status!r} is none of {', '.join(STATUSES)}"
    if status == AnswerStatus.UNANSWERABLE.value:
        return None if answer_class is None else f"an unanswerable answer names class {answer_class}"
    if not isinstance(answer_class, int) or isinstance(answer_class, bool) or not 0 <= answer_class < num_classes:
        return f"class {answer_class!r} is not a class of this workspace (0..{num_classes - 1})"
    return None


def check_answer_classes(answers: Sequence[Answer], num_classes: int) -> None:
    """InvalidInput naming the first answer that names no class of the workspace (nothing is recorded)."""
    for a in answers:
        problem = answer_class_problem(a.status, a.answer_class, num_classes)
        if problem is not None:
            bad = sum(answer_class_problem(b.status, b.answer_class, num_classes) is not None for b in answers)
            raise InvalidInput(f"query {a.query_id}: {problem}; {bad} such answer(s), nothing recorded")
