"""What the annotation page sends: its text fields and one ``POST /api/answer``, each field checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from alc_data.answers.choice import Verdict, answer_with_class, answer_with_verdict
from alc_data.answers.record import Answer
from alc_data.errors import InvalidInput

if TYPE_CHECKING:
    from alc_data.workspace import Workspace
    from alc_data.workspace.ledger import Query


class AnnotationSession(Protocol):
    """What an answer needs of the page's session (:class:`alc_data.annotate.app.AnnotationSession`)."""

    ws: Workspace
    annotator: str
    queries: dict[int, Query]

    def query_id(self, value: Any) -> int: ...


def text_field(data: dict[str, Any], key: str, default: str | None = None) -> str:
    """``data[key]`` (or ``default``) as a non-empty text of at most 100 characters; one line otherwise."""
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise InvalidInput(f"{key!r} must be a non-empty text of at most 100 characters")
    return value.strip()


@dataclass(frozen=True)
class PageAnswer:
    """One ``POST /api/answer`` request, every field checked once, here: the query (of this round),
    the class index (in range) or else the verdict, the seconds and the annotator."""

    query_id: int
    class_index: int | None
    verdict: Verdict | None
    seconds: float | None
    annotator: str
    holder: str | None = None  # the page that sends it (its leases)

    @classmethod
    def from_body(cls, data: dict[str, Any], session: AnnotationSession) -> "PageAnswer":
        qid = session.query_id(data.get("query_id"))
        seconds = data.get("seconds")
        if seconds is not None and not isinstance(seconds, (int, float)):
            raise InvalidInput(f"seconds {seconds!r} is not a number")
        index = data.get("class_index")
        num_classes = session.ws.catalogue.num_classes
        if index is not None and (not isinstance(index, int) or not 0 <= index < num_classes):
            raise InvalidInput(f"unknown class index {index!r}; this workspace has classes 0..{num_classes - 1}")
        verdict = None
        if index is None:
            verdict = Verdict.parse(text_field(data, "verdict"), "verdict {value!r} is none of: accept, unanswerable "
                                    "(a class is sent as class_index)")
        elif "verdict" in data:
            raise InvalidInput("send either class_index or verdict, not both")
        return cls(query_id=qid, class_index=index, verdict=verdict,
                   seconds=None if seconds is None else float(seconds),
                   annotator=text_field(data, "annotator", session.annotator),
                   holder=text_field(data, "holder") if data.get("holder") is not None else None)

    def answer(self, session: AnnotationSession) -> Answer:
        """The ledger's answer: from the class index as it is, or from the verdict."""
        shown = session.queries[self.query_id].shown_label
        if self.class_index is not None:
            return answer_with_class(self.query_id, shown, self.class_index)
        return answer_with_verdict(self.query_id, shown, Verdict(self.verdict))
