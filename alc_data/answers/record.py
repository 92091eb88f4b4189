"""Recording answers in the ledger (before any label changes)."""

from __future__ import annotations

from dataclasses import dataclass

from alc_data.errors import AlcError
from alc_data.workspace import Workspace, now_iso

STATUSES = ("accepted", "corrected", "unanswerable")


@dataclass(frozen=True)
class Answer:
    """The answer to one query. ``answer_class`` is None when unanswerable; for ``accepted`` it is the
    shown label."""

    query_id: int
    status: str
    answer_class: int | None


def record_answers(
    ws: Workspace, round_no: int, answers: list[Answer], *, source: str, annotator: str
) -> tuple[int, int]:
    """Insert answers not yet in the ledger; returns (inserted, already present).

    An answer that repeats the ledger's is skipped (applying a file twice changes nothing); one that
    contradicts it raises AlcError and nothing is inserted.
    """
    for a in answers:
        if a.status not in STATUSES:
            raise ValueError(f"unknown answer status {a.status!r}")
    ids = [a.query_id for a in answers]
    existing = {}
    with ws.connect() as con:
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = con.execute(
                f"SELECT query_id, status, answer_class FROM answers WHERE query_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
            existing.update({q: (s, c) for q, s, c in rows})
        conflicts = [a for a in answers if a.query_id in existing and existing[a.query_id] != (a.status, a.answer_class)]
        if conflicts:
            a = conflicts[0]
            raise AlcError(
                f"query {a.query_id} already has the answer {existing[a.query_id][0]} "
                f"(class {existing[a.query_id][1]}) in the ledger; {len(conflicts)} answer(s) conflict, nothing applied"
            )
        new = [a for a in answers if a.query_id not in existing]
        stamp = now_iso()
        con.executemany(
            "INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at)"
            " VALUES (?,?,?,?,?,?,?)",
            [(a.query_id, round_no, a.status, a.answer_class, source, annotator, stamp) for a in new],
        )
    return len(new), len(answers) - len(new)
