"""One person's choice for one query ("yes", a class, "can't tell") turned into an :class:`Answer`.

Shared by the browser page and the Label Studio reader; the rules are the CSV reader's: "yes" keeps
the shown class (not possible when the shown label is void), a class equal to the shown one counts as
"yes", another class is a correction, "can't tell" is unanswerable.
"""

from __future__ import annotations

from alc_data.answers.record import Answer
from alc_data.constants import CANT_TELL, IGNORE_INDEX, YES
from alc_data.errors import AlcError, InvalidInput
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus

__all__ = ["CANT_TELL", "YES", "answer_from_choice", "answer_with_class"]


def answer_with_class(query_id: int, shown_label: int, cls: int) -> Answer:
    """The answer giving class index ``cls`` (checked by the caller) to a query showing ``shown_label``:
    the shown class counts as "yes", another class is a correction."""
    return Answer(query_id, AnswerStatus.ACCEPTED if cls == shown_label else AnswerStatus.CORRECTED, cls)


def answer_from_choice(ws: Workspace, query_id: int, shown_label: int, choice: str) -> Answer:
    """The answer that ``choice`` (``"yes"``, ``"can't tell"``, a class name or index as text) gives to
    a query showing ``shown_label``; InvalidInput naming the choice when it is none of these."""
    text = choice.strip()
    if text.lower() == YES:
        if shown_label == IGNORE_INDEX:
            raise InvalidInput(f"query {query_id} shows void; answer with a class, not {YES!r}")
        return Answer(query_id, AnswerStatus.ACCEPTED, int(shown_label))
    if text.lower() in (CANT_TELL, "cant tell", "unanswerable"):
        return Answer(query_id, AnswerStatus.UNANSWERABLE, None)
    try:
        cls = ws.catalogue.class_index(text)
    except AlcError as exc:
        raise InvalidInput(str(exc)) from None
    return answer_with_class(query_id, shown_label, cls)
