"""The ledger: rounds, queries, answers, corrections and verified superpixels.

Only live answers count: an undone answer stays in the table as a retraction (``retracted_at`` set)
and every reader here skips it.

The ledger owns every SQL statement about rounds, queries and answers (the catalogue's, the label
store's and the superpixel store's statements live in their modules); the rest of the library and the
CLI go through ``ws.ledger`` and get frozen dataclasses back (:mod:`alc_data.workspace.ledger_rows`),
never rows to unpack by position.

Round numbers are allocated inside the transaction that registers the round, and a round's queries
land in that same transaction, so two writers can never get the same number.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from typing import Any, Callable, Iterable, Sequence

from alc_data.errors import Conflict, InvalidInput, NotFound
from alc_data.names import check_annotator
from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import Database, chunks
from alc_data.workspace.ledger_annotate import ANNOTATE_SOURCE, LEASE_SECONDS, AnnotationLedger, num_classes
from alc_data.workspace.propagations import PropagationLedger
from alc_data.workspace.ledger_rows import (
    STATUSES,
    Answer,
    AnswerCount,
    AnswerRecord,
    AnswerStatus,
    CorrectionRow,
    PendingAnswer,
    Query,
    Round,
    RoundCost,
    RoundProgress,
    TimedAnswer,
    answer_class_problem,
    check_answer_classes,
)

__all__ = [
    "ANNOTATE_SOURCE", "LEASE_SECONDS", "STATUSES", "Answer", "AnswerCount", "AnswerRecord", "AnswerStatus",
    "CorrectionRow", "Ledger", "PendingAnswer", "Query", "Round", "RoundCost", "RoundProgress", "TimedAnswer",
]


_QUERY_COLUMNS = (
    "q.query_id, q.round, q.rank, q.image_id, q.superpixel_set, q.superpixel_id, q.rep_row, q.rep_col,"
    " q.shown_label, q.dominant, q.area, q.score, q.bbox_x0, q.bbox_y0, q.bbox_x1, q.bbox_y1"
)
_ROUND_COLUMNS = "round, label_version, superpixel_set, acquisition, budget, score_table, output_version, created_at, params"


_QUERY_FIELDS = tuple(f.name for f in fields(Query))[:12]
_ROUND_FIELDS = tuple(f.name for f in fields(Round))[:8]


def _query(row: Sequence[Any]) -> Query:
    x0, y0, x1, y1 = (int(v) for v in row[12:16])
    return Query(**dict(zip(_QUERY_FIELDS, row[:12])), bbox=(x0, y0, x1, y1))


def _round(row: Sequence[Any]) -> Round:
    return Round(**dict(zip(_ROUND_FIELDS, row[:8])), params=json.loads(row[8]))


class Ledger(AnnotationLedger, PropagationLedger):
    """The ledger of one workspace (``ws.ledger``); the browser's leases, timed answers and
    retractions come from :class:`~alc_data.workspace.ledger_annotate.AnnotationLedger`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ rounds
    def rounds(self) -> list[Round]:
        return [_round(r) for r in self._db.rows(f"SELECT {_ROUND_COLUMNS} FROM rounds ORDER BY round")]

    def latest_round(self) -> int | None:
        row = self._db.rows("SELECT MAX(round) FROM rounds")[0][0]
        return None if row is None else int(row)

    def round(self, round_no: int | None = None) -> Round:
        """A round by number; ``None`` gives the latest. NotFound when there is none."""
        latest = self.latest_round()
        if latest is None:
            raise NotFound("no rounds yet; run `alc-data score --budget B` first")
        number = latest if round_no is None else int(round_no)
        rows = self._db.rows(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE round=?", (number,))
        if not rows:
            raise NotFound(f"round {round_no} does not exist; the latest is {latest}")
        return _round(rows[0])

    def create_round(
        self,
        *,
        label_version: str,
        superpixel_set: str,
        acquisition: str,
        budget: int,
        queries: Sequence[tuple],
        params: dict[str, Any] | None = None,
        score_table: Callable[[int], str] | None = None,
    ) -> int:
        """Register a new round and its queries in one transaction; returns the round number.

        ``queries`` are rows in rank order of (image_id, superpixel_id, rep_row, rep_col, shown_label,
        dominant, area, score, x0, y0, x1, y1). ``score_table(round_no)`` is called inside the
        transaction, after the number is allocated, to put the round's score table in place; it returns
        the table's path relative to the workspace. If it or the commit fails, nothing is registered.
        """
        with self._db.connect(immediate=True) as con:
            round_no = int(con.execute("SELECT COALESCE(MAX(round), 0) FROM rounds").fetchone()[0]) + 1
            table = score_table(round_no) if score_table is not None else None
            con.execute(
                f"INSERT INTO rounds({_ROUND_COLUMNS}) VALUES (?,?,?,?,?,?,NULL,?,?)",
                (round_no, label_version, superpixel_set, acquisition, int(budget), table,
                 now_iso(), json.dumps(params or {})),
            )
            con.executemany(
                "INSERT INTO queries(round, rank, image_id, superpixel_set, superpixel_id, rep_row, rep_col,"
                " shown_label, dominant, area, score, bbox_x0, bbox_y0, bbox_x1, bbox_y1)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(round_no, rank, q[0], superpixel_set, *q[1:]) for rank, q in enumerate(queries)],
            )
        return round_no

    def rounds_with_unapplied_answers(self) -> list[int]:
        """Rounds that hold recorded answers no label version has applied yet."""
        rows = self._db.rows("SELECT DISTINCT round FROM answers WHERE applied_version IS NULL AND retracted_at IS NULL ORDER BY round")
        return [int(r[0]) for r in rows]

    def rounds_using_superpixels(self, superpixel_set: str) -> list[int]:
        rows = self._db.rows("SELECT round FROM rounds WHERE superpixel_set=? ORDER BY round", (superpixel_set,))
        return [int(r[0]) for r in rows]

    # ------------------------------------------------------------------ queries
    def queries(self, round_no: int) -> list[Query]:
        """The queries of a round, in rank order."""
        rows = self._db.rows(f"SELECT {_QUERY_COLUMNS} FROM queries q WHERE q.round=? ORDER BY q.rank", (round_no,))
        return [_query(r) for r in rows]

    def queries_by_id(self, query_ids: Iterable[int] | None = None) -> dict[int, Query]:
        """Queries by id: all of them, or those of ``query_ids`` (unknown ids are absent)."""
        if query_ids is None:
            return {r[0]: _query(r) for r in self._db.rows(f"SELECT {_QUERY_COLUMNS} FROM queries q")}
        out: dict[int, Query] = {}
        ids = sorted({int(q) for q in query_ids})
        with self._db.connect() as con:
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                for r in con.execute(f"SELECT {_QUERY_COLUMNS} FROM queries q WHERE q.query_id IN ({marks})", chunk):
                    out[r[0]] = _query(r)
        return out

    def asked(self, superpixel_set: str) -> set[tuple[str, int]]:
        """(image_id, superpixel_id) pairs already queried in any round on this superpixel set."""
        rows = self._db.rows("SELECT image_id, superpixel_id FROM queries WHERE superpixel_set=?", (superpixel_set,))
        return {(i, int(s)) for i, s in rows}

    def asked_regions(self, *, through_round: int, other_than: str) -> dict[str, dict[str, list[int]]]:
        """Every region queried in rounds up to ``through_round`` on a superpixel set other than
        ``other_than``, as {image_id: {superpixel_set: [superpixel_id, ...]}}: the pixels people were asked
        about that :meth:`asked` on ``other_than`` does not name."""
        rows = self._db.rows("SELECT image_id, superpixel_set, superpixel_id FROM queries WHERE round<=? AND superpixel_set<>?"
                             " ORDER BY image_id, superpixel_set, superpixel_id", (through_round, other_than))
        out: dict[str, dict[str, list[int]]] = {}
        for image_id, set_name, sp_id in rows:
            out.setdefault(image_id, {}).setdefault(set_name, []).append(int(sp_id))
        return out

    # ------------------------------------------------------------------ answers
    def answers(self, round_no: int) -> dict[int, AnswerRecord]:
        """The recorded answers of a round, by query id."""
        rows = self._db.rows(
            "SELECT answer_id, query_id, round, status, answer_class, source, annotator, answered_at, applied_version"
            " FROM answers WHERE round=? AND retracted_at IS NULL ORDER BY answer_id",
            (round_no,),
        )
        return {r[1]: AnswerRecord(r[0], r[1], r[2], AnswerStatus(r[3]), *r[4:]) for r in rows}

    def status_counts(self, round_no: int) -> dict[AnswerStatus, int]:
        rows = self._db.rows("SELECT status, COUNT(*) FROM answers WHERE round=? AND retracted_at IS NULL GROUP BY status", (round_no,))
        return {AnswerStatus(s): int(n) for s, n in rows}

    def record_answers(
        self, round_no: int, answers: Sequence[Answer], *, source: str, annotator: str
    ) -> tuple[int, int]:
        """Insert answers not yet in the ledger, in one transaction; returns (inserted, already present).

        An answer that repeats the ledger's is skipped (applying a file twice changes nothing); one that
        contradicts it raises :class:`Conflict` and nothing is inserted.
        """
        check_annotator(annotator)
        for a in answers:
            if not isinstance(a.status, AnswerStatus):
                raise InvalidInput(f"unknown answer status {a.status!r}")
        ids = [a.query_id for a in answers]
        with self._db.connect(immediate=True) as con:
            check_answer_classes(answers, num_classes(con))
            existing: dict[int, tuple[str, int | None]] = {}
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT query_id, status, answer_class FROM answers WHERE retracted_at IS NULL AND query_id IN ({marks})", chunk
                ).fetchall()
                existing.update({q: (s, c) for q, s, c in rows})
            conflicts = [a for a in answers if a.query_id in existing and existing[a.query_id] != (a.status.value, a.answer_class)]
            if conflicts:
                def pair(a: Any) -> str:
                    (status, cls), mine = existing[a.query_id], (a.status.value, a.answer_class)
                    return f"query {a.query_id}: ledger {status}" + (f" {cls}" if cls is not None else "") + \
                        f", given {mine[0]}" + (f" {mine[1]}" if mine[1] is not None else "")
                shown = "; ".join(pair(a) for a in conflicts[:5]) + (" …" if len(conflicts) > 5 else "")
                raise Conflict(
                    f"{len(conflicts)} answer(s) contradict answers already in the ledger ({shown}); nothing applied: "
                    "the ledger keeps the first answer, so drop those rows or answers and apply the rest"
                )
            new = [a for a in answers if a.query_id not in existing]
            stamp = now_iso()
            con.executemany(
                "INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at)"
                " VALUES (?,?,?,?,?,?,?)",
                [(a.query_id, round_no, a.status.value, a.answer_class, source, annotator, stamp) for a in new],
            )
        return len(new), len(answers) - len(new)

    def unappliable_answers(self, round_no: int | None = None) -> list[AnswerRecord]:
        """Live answers not yet applied that name no class of the workspace (recorded before answers were
        checked, or by another program): ``correct --discard-invalid`` retracts them."""
        where, params = ("AND round = ?", (round_no,)) if round_no is not None else ("", ())
        with self._db.connect() as con:
            k = num_classes(con)
            rows = con.execute("SELECT answer_id, query_id, round, status, answer_class, source, annotator, answered_at,"
                               " applied_version FROM answers WHERE retracted_at IS NULL AND applied_version IS NULL "
                               f"{where} ORDER BY answer_id", params).fetchall()
        return [AnswerRecord(r[0], r[1], r[2], AnswerStatus(r[3]), *r[4:]) for r in rows if answer_class_problem(r[3], r[4], k)]

    def discard_answers(self, answer_ids: Sequence[int], *, by: str) -> int:
        """Retract the given live, unapplied answers (kept in the table with who discarded them)."""
        with self._db.connect(immediate=True) as con:
            n = 0
            for chunk in chunks(list(answer_ids)):
                marks = ",".join("?" * len(chunk))
                n += con.execute(f"UPDATE answers SET retracted_by = ?, retracted_at = ? WHERE retracted_at IS NULL"
                                 f" AND applied_version IS NULL AND answer_id IN ({marks})", (by, now_iso(), *chunk)).rowcount
        return n

    def pending_answers(self, round_no: int) -> list[PendingAnswer]:
        """Answers of a round not yet applied to a label version, in rank order."""
        rows = self._db.rows(
            f"SELECT a.answer_id, a.status, a.answer_class, {_QUERY_COLUMNS} FROM answers a"
            " JOIN queries q ON q.query_id = a.query_id"
            " WHERE a.round = ? AND a.applied_version IS NULL AND a.retracted_at IS NULL ORDER BY q.rank",
            (round_no,),
        )
        return [PendingAnswer(r[0], AnswerStatus(r[1]), r[2], _query(r[3:])) for r in rows]

    def corrected_answers_of_version(self, name: str) -> list[PendingAnswer]:
        """The corrected answers a label version applied (to rebuild it from its parent)."""
        rows = self._db.rows(
            f"SELECT a.answer_id, a.status, a.answer_class, {_QUERY_COLUMNS} FROM answers a"
            " JOIN queries q ON q.query_id = a.query_id"
            " WHERE a.applied_version = ? AND a.status = ? AND a.retracted_at IS NULL ORDER BY q.rank",
            (name, AnswerStatus.CORRECTED.value),
        )
        return [PendingAnswer(r[0], AnswerStatus(r[1]), r[2], _query(r[3:])) for r in rows]

    @staticmethod
    def commit_applied(
        con: sqlite3.Connection,
        *,
        round_no: int,
        version: str,
        pending: Sequence[PendingAnswer],
        changes: Sequence[tuple[str, Any]],
    ) -> None:
        """Inside the transaction that registers ``version``: the corrections it made (``changes``: pairs
        of image_id and a change with query_id, superpixel_id, old_class, new_class, pixels), the accepted
        superpixels as verified, the answers as applied, and the round's output version."""
        con.executemany(
            "INSERT INTO corrections(query_id, round, label_version, image_id, superpixel_id, old_class, new_class, pixels)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [(ch.query_id, round_no, version, image_id, ch.superpixel_id, ch.old_class, ch.new_class, ch.pixels)
             for image_id, ch in changes],
        )
        con.executemany(
            "INSERT OR IGNORE INTO verified(image_id, superpixel_set, superpixel_id, round) VALUES (?,?,?,?)",
            [(p.query.image_id, p.query.superpixel_set, p.query.superpixel_id, round_no)
             for p in pending if p.status is AnswerStatus.ACCEPTED],
        )
        marked = con.executemany(
            "UPDATE answers SET applied_version=? WHERE answer_id=? AND applied_version IS NULL AND retracted_at IS NULL",
            [(version, p.answer_id) for p in pending],
        ).rowcount
        if marked != len(pending):  # an answer was retracted (or applied) while the version was written
            raise Conflict(
                f"{len(pending) - marked} answer(s) of round {round_no} changed while version {version!r} was written; "
                "nothing applied, re-run `alc-data correct`"
            )
        con.execute("UPDATE rounds SET output_version=? WHERE round=?", (version, round_no))

    # ------------------------------------------------------------------ corrections
    def corrections(self, versions: Sequence[str], *, order: str = "image") -> list[CorrectionRow]:
        """Corrections made by ``versions``, with their query and answer; ordered by image (or by round)."""
        if not versions:
            return []
        order_by = "c.image_id, c.round, c.correction_id" if order == "image" else "c.round, c.correction_id"
        marks = ",".join("?" * len(versions))
        rows = self._db.rows(
            "SELECT c.correction_id, c.query_id, c.round, c.label_version, c.image_id, c.superpixel_id,"
            " c.old_class, c.new_class, c.pixels, q.superpixel_set, q.rep_row, q.rep_col, q.shown_label,"
            " a.status, a.answer_class, a.source, a.annotator, a.answered_at"
            " FROM corrections c LEFT JOIN queries q ON q.query_id = c.query_id"
            " LEFT JOIN answers a ON a.query_id = c.query_id AND a.retracted_at IS NULL"
            f" WHERE c.label_version IN ({marks}) ORDER BY {order_by}",
            list(versions),
        )
        return [CorrectionRow(*r) for r in rows]

    # ------------------------------------------------------------------ summaries
    def cost(self) -> list[RoundCost]:
        """Queries and answers per round, in round order."""
        rows = self._db.rows(
            """
            SELECT r.round, r.acquisition, r.budget, COUNT(q.query_id), COUNT(a.answer_id),
                   SUM(a.status = 'accepted'), SUM(a.status = 'corrected'), SUM(a.status = 'unanswerable'),
                   SUM(a.answer_id IS NOT NULL AND a.applied_version IS NULL)
            FROM rounds r LEFT JOIN queries q ON q.round = r.round
                          LEFT JOIN answers a ON a.query_id = q.query_id AND a.retracted_at IS NULL
            GROUP BY r.round ORDER BY r.round
            """
        )
        return [RoundCost(int(r[0]), r[1], int(r[2]), *(int(v or 0) for v in r[3:])) for r in rows]

    def answer_sources(self, rounds: Sequence[int]) -> dict[str, int]:
        if not rounds:
            return {}
        marks = ",".join("?" * len(rounds))
        rows = self._db.rows(
            f"SELECT source, COUNT(*) FROM answers WHERE retracted_at IS NULL AND round IN ({marks}) GROUP BY source ORDER BY source", list(rounds)
        )
        return {s: int(n) for s, n in rows}

    def answer_counts(self) -> list[AnswerCount]:
        """Live answers per round and applying version (None: not applied yet), by round."""
        rows = self._db.rows("SELECT round, applied_version, COUNT(*) FROM answers WHERE retracted_at IS NULL"
                             " GROUP BY round, applied_version ORDER BY round")
        return [AnswerCount(int(r), v, int(n)) for r, v, n in rows]
