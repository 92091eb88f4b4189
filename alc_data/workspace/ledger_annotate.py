"""The ledger's part for answering queries in the browser: leases, timed answers, retractions, measured time.

:class:`AnnotationLedger` is a base of :class:`alc_data.workspace.ledger.Ledger`: call these as
``ws.ledger.lease_queries(...)`` and so on.

A *lease* hands a query to one page (``holder``: one browser tab of one annotator) until
``expires_at``; an expired lease returns the query to the pool. An answer is inserted only when the
query has no live answer, so two pages never answer the same query twice. An undo is a recorded
retraction: the answer stays in ``answers`` with ``retracted_by`` / ``retracted_at`` set (every reader of
the ledger skips retracted answers) and the query is leased back to the page, so the ledger keeps every
answer ever given; answers already applied to a label version cannot be undone.

Every method that writes runs in ``BEGIN IMMEDIATE``: the read that decides and the write that
follows happen under one write lock, whichever process (several servers, ``correct``) comes first.
"""

from __future__ import annotations

import sqlite3
import statistics
import time

from alc_data.errors import Conflict, InvalidInput, NotFound
from alc_data.names import check_annotator
from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import Database
from alc_data.workspace.ledger_rows import STATUSES, Answer, AnswerStatus, RoundProgress, TimedAnswer, check_answer_classes

LEASE_SECONDS = 120.0
"""How long a page holds a query it shows; renewed each time the page asks for work."""

ANNOTATE_SOURCE = "annotate"
"""The ``source`` of answers given in the browser."""

_HELD = ("SELECT l.query_id FROM leases l JOIN queries q ON q.query_id = l.query_id"
         " WHERE l.holder = ? AND q.round = ? ORDER BY q.rank")


def num_classes(con: sqlite3.Connection) -> int:
    """K, the number of classes of the workspace (answers name 0..K-1)."""
    return int(con.execute("SELECT COUNT(*) FROM classes").fetchone()[0])


class AnnotationLedger:
    """Leases, timed answers, retractions and progress of the rounds answered in the browser."""

    _db: Database

    def lease_queries(
        self,
        round_no: int,
        *,
        holder: str,
        annotator: str,
        want: int = 2,
        lease_seconds: float = LEASE_SECONDS,
        now: float | None = None,
    ) -> list[int]:
        """Query ids leased to ``holder`` in rank order: the ones it holds (renewed), topped up to ``want``
        with the first unanswered, unleased queries of the round."""
        check_annotator(annotator)
        now = time.time() if now is None else now
        with self._db.connect(immediate=True) as con:
            con.execute("DELETE FROM leases WHERE expires_at <= ?", (now,))
            con.execute("DELETE FROM leases WHERE query_id IN (SELECT query_id FROM answers WHERE retracted_at IS NULL)")
            held = [r[0] for r in con.execute(_HELD, (holder, round_no))]
            if len(held) < want:
                free = [r[0] for r in con.execute(
                    "SELECT q.query_id FROM queries q WHERE q.round = ?"
                    " AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.query_id = q.query_id AND a.retracted_at IS NULL)"
                    " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.query_id = q.query_id)"
                    " ORDER BY q.rank LIMIT ?", (round_no, want - len(held)))]
                con.executemany("INSERT INTO leases(query_id, holder, annotator, expires_at) VALUES (?,?,?,?)",
                                [(q, holder, annotator, now + lease_seconds) for q in free])
            con.execute("UPDATE leases SET expires_at = ?, annotator = ? WHERE holder = ?",
                        (now + lease_seconds, annotator, holder))
            return [r[0] for r in con.execute(_HELD, (holder, round_no))]

    def release_leases(self, round_no: int) -> int:
        """Drop every lease of a round (a server starting: the pages of a killed one are gone); returns how many."""
        with self._db.connect() as con:
            cur = con.execute("DELETE FROM leases WHERE query_id IN (SELECT query_id FROM queries WHERE round = ?)",
                              (round_no,))
            return cur.rowcount

    def record_timed_answer(
        self,
        round_no: int,
        answer: Answer,
        *,
        annotator: str,
        seconds: float | None,
        source: str = ANNOTATE_SOURCE,
        holder: str | None = None,
        now: float | None = None,
    ) -> bool:
        """Insert one answer with its measured seconds and release its lease.

        Returns False when the same annotator already gave this very answer (a repeated request); raises
        :class:`Conflict` when the query already has another answer or one by someone else, or when another
        page than ``holder`` (None: a request naming no page) holds a live lease on it: a query one page shows
        is answered there (one whose lease ran out goes to whoever answers first).
        """
        check_annotator(annotator)
        if answer.status not in STATUSES:
            raise InvalidInput(f"unknown answer status {answer.status!r}; use one of: {', '.join(STATUSES)}")
        if seconds is not None and not 0 <= seconds < 86400:
            raise InvalidInput(f"seconds {seconds!r} is not a duration in 0..86400")
        with self._db.connect(immediate=True) as con:
            check_answer_classes([answer], num_classes(con))
            row = con.execute("SELECT round FROM queries WHERE query_id = ?", (answer.query_id,)).fetchone()
            if row is None or row[0] != round_no:
                raise NotFound(f"query {answer.query_id} is not a query of round {round_no}")
            prev = con.execute("SELECT annotator, status, answer_class FROM answers"
                               " WHERE query_id = ? AND retracted_at IS NULL", (answer.query_id,)).fetchone()
            if prev is not None:
                if prev == (annotator, answer.status, answer.answer_class):
                    return False
                raise Conflict(f"query {answer.query_id} was already answered by {prev[0]!r}")
            lease = con.execute("SELECT holder FROM leases WHERE query_id = ? AND expires_at > ?",
                                (answer.query_id, time.time() if now is None else now)).fetchone()
            if lease is not None and lease[0] != holder:
                raise Conflict(f"query {answer.query_id} is shown on another page, which answers it; answer the "
                               "queries this page was given")
            con.execute(
                "INSERT INTO answers(query_id, round, status, answer_class, source, annotator, answered_at, seconds)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (answer.query_id, round_no, answer.status, answer.answer_class, source, annotator, now_iso(), seconds),
            )
            con.execute("DELETE FROM leases WHERE query_id = ?", (answer.query_id,))
        return True

    def retract_answer(
        self,
        round_no: int,
        *,
        annotator: str,
        holder: str,
        query_id: int | None = None,
        lease_seconds: float = LEASE_SECONDS,
        now: float | None = None,
    ) -> int:
        """Undo an answer not yet applied: ``query_id``'s, or else the annotator's latest in the round.

        The answer is marked retracted (it stays in the ledger) and its query is leased back to ``holder``;
        returns the query id. NotFound when there is nothing to undo, Conflict when the answer is applied or
        someone else's.
        """
        now = time.time() if now is None else now
        with self._db.connect(immediate=True) as con:
            cols = "answer_id, query_id, annotator, applied_version"
            if query_id is not None:
                row = con.execute(f"SELECT {cols} FROM answers WHERE query_id = ? AND round = ? AND retracted_at IS NULL",
                                  (query_id, round_no)).fetchone()
            else:
                row = con.execute(
                    f"SELECT {cols} FROM answers WHERE round = ? AND annotator = ? AND source = ?"
                    " AND applied_version IS NULL AND retracted_at IS NULL"
                    " ORDER BY answer_id DESC LIMIT 1", (round_no, annotator, ANNOTATE_SOURCE)).fetchone()
            if row is None:
                raise NotFound(f"no answer to undo in round {round_no}" + (f" for query {query_id}" if query_id else ""))
            answer_id, answered_query, answered_by, applied = row
            if applied is not None:
                raise Conflict(f"query {answered_query}'s answer is already applied in labels {applied}; it cannot be undone")
            if answered_by != annotator:
                raise Conflict(f"query {answered_query} was answered by {answered_by!r}, not {annotator!r}; "
                               "only they can undo it")
            con.execute("UPDATE answers SET retracted_by = ?, retracted_at = ? WHERE answer_id = ?",
                        (annotator, now_iso(), answer_id))
            con.execute("INSERT OR REPLACE INTO leases(query_id, holder, annotator, expires_at) VALUES (?,?,?,?)",
                        (answered_query, holder, annotator, now + lease_seconds))
        return int(answered_query)

    def round_progress(self, round_no: int) -> RoundProgress:
        """Queries, answers by status, retractions and the measured median seconds of one round."""
        total = self._db.rows("SELECT COUNT(*) FROM queries WHERE round = ?", (round_no,))[0][0]
        live = "round = ? AND retracted_at IS NULL"
        counts = dict(self._db.rows(f"SELECT status, COUNT(*) FROM answers WHERE {live} GROUP BY status", (round_no,)))
        seconds = [s for (s,) in self._db.rows(f"SELECT seconds FROM answers WHERE {live} AND seconds IS NOT NULL",
                                               (round_no,))]
        retracted = self._db.rows("SELECT COUNT(*) FROM answers WHERE round = ? AND retracted_at IS NOT NULL",
                                  (round_no,))[0][0]
        return RoundProgress(
            round=round_no,
            total=int(total),
            answered=int(sum(counts.values())),
            accepted=int(counts.get(AnswerStatus.ACCEPTED.value, 0)),
            corrected=int(counts.get(AnswerStatus.CORRECTED.value, 0)),
            unanswerable=int(counts.get(AnswerStatus.UNANSWERABLE.value, 0)),
            retracted=int(retracted),
            median_seconds=round(statistics.median(seconds), 2) if seconds else None,
        )

    def measured_seconds(self) -> dict[int, list[float]]:
        """Measured seconds of every timed answer, per round."""
        out: dict[int, list[float]] = {}
        for rnd, s in self._db.rows("SELECT round, seconds FROM answers"
                                    " WHERE seconds IS NOT NULL AND retracted_at IS NULL ORDER BY round"):
            out.setdefault(int(rnd), []).append(float(s))
        return out

    def timed_answers(self, round_no: int, *, retracted: bool = False) -> list[TimedAnswer]:
        """The round's answers in the order given, live ones (or, with ``retracted``, the retracted ones),
        with their seconds and, for retractions, who retracted them and when."""
        where = "retracted_at IS NOT NULL" if retracted else "retracted_at IS NULL"
        rows = self._db.rows(
            "SELECT answer_id, query_id, status, answer_class, source, annotator, seconds, retracted_by, retracted_at"
            f" FROM answers WHERE round = ? AND {where} ORDER BY answer_id", (round_no,))
        return [TimedAnswer(a, q, AnswerStatus(st), c, src, who, s, rby, rat) for a, q, st, c, src, who, s, rby, rat in rows]
