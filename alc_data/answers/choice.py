"""One person's choice for one query ("yes", a class, "can't tell") turned into an :class:`Answer`.

Used by the Label Studio reader; the rules are the CSV reader's: an exact class name always wins over
an answer word (a class called ``Yes`` or ``can't tell`` is that class), then "yes" keeps the shown
class (not possible when the shown label is void), "can't tell" is unanswerable, then a class index.
A class equal to the shown one counts as "yes", another class is a correction. The browser page sends
a structured answer (:class:`Verdict` or a class index), never a word.
"""

from __future__ import annotations

from alc_data.answers.record import Answer
from alc_data.choices import TextChoice
from alc_data.constants import CANT_TELL, IGNORE_INDEX, UNANSWERABLE_CHOICES, YES
from alc_data.errors import AlcError, InvalidInput
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import AnswerStatus

__all__ = ["CANT_TELL", "YES", "Verdict", "answer_from_choice", "answer_with_class", "answer_with_verdict"]

class Verdict(TextChoice):
    """An answer without a class: keep the shown class, or unanswerable."""

    ACCEPT = "accept"
    UNANSWERABLE = "unanswerable"


def answer_with_class(query_id: int, shown_label: int, cls: int) -> Answer:
    """The answer giving class index ``cls`` (checked by the caller) to a query showing ``shown_label``:
    the shown class counts as "yes", another class is a correction."""
    return Answer(query_id, AnswerStatus.ACCEPTED if cls == shown_label else AnswerStatus.CORRECTED, cls)


def answer_with_verdict(query_id: int, shown_label: int, verdict: Verdict) -> Answer:
    """"Yes" (the shown class; InvalidInput when it is void) or "can't tell" for one query."""
    if verdict == Verdict.UNANSWERABLE:
        return Answer(query_id, AnswerStatus.UNANSWERABLE, None)
    if shown_label == IGNORE_INDEX:
        raise InvalidInput(f"query {query_id} shows void; answer with a class, not {YES!r}")
    return Answer(query_id, AnswerStatus.ACCEPTED, int(shown_label))


def answer_from_choice(ws: Workspace, query_id: int, shown_label: int, choice: str) -> Answer:
    """The answer that ``choice`` (a class name, ``"yes"``, ``"can't tell"``, a class index as text)
    gives to a query showing ``shown_label``; InvalidInput naming the choice when it is none of these."""
    text = choice.strip()
    names = ws.catalogue.class_names
    if text in names:
        return answer_with_class(query_id, shown_label, names.index(text))
    if text.casefold() == YES:
        return answer_with_verdict(query_id, shown_label, Verdict.ACCEPT)
    if text.casefold() in UNANSWERABLE_CHOICES or text == "?":
        return answer_with_verdict(query_id, shown_label, Verdict.UNANSWERABLE)
    try:
        cls = ws.catalogue.class_index(text)
    except AlcError as exc:
        raise InvalidInput(str(exc)) from None
    return answer_with_class(query_id, shown_label, cls)
