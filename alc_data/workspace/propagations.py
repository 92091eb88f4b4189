"""The ledger's record of automatic relabels (``correct --propagate``): written inside the transaction
that registers the version they produced, read by rebuild, diff, info and the dataset card."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from alc_data.workspace.clock import now_iso
from alc_data.workspace.db import Database

PROPAGATED = "propagated"
"""The source name of automatic relabels, beside a person's ``annotate``/``csv``/``label-studio`` and the
oracle's ``oracle:gt``."""

_COLUMNS = ("propagation_id, round, label_version, image_id, superpixel_set, superpixel_id, old_class, new_class,"
            " confidence, pixels, model, created_at, review")


@dataclass(frozen=True)
class PropagationRow:
    """One automatic relabel as the ledger holds it."""

    propagation_id: int
    round: int
    label_version: str
    image_id: str
    superpixel_set: str
    superpixel_id: int
    old_class: int
    new_class: int
    confidence: float
    pixels: int
    model: str
    created_at: str
    review: str | None


class PropagationLedger:
    """The ``propagations`` table of the ledger (mixed into :class:`~alc_data.workspace.ledger.Ledger`)."""

    _db: Database

    @staticmethod
    def record_propagations(con: sqlite3.Connection, *, round_no: int, version: str, superpixel_set: str,
                            relabels: Sequence[Any], pixels: Mapping[tuple[str, int], int], model: str) -> None:
        """Inside the transaction that registers ``version``: one row per relabel (objects with
        image_id, superpixel_id, old_class, new_class, confidence)."""
        at = now_iso()
        con.executemany(
            "INSERT INTO propagations(round, label_version, image_id, superpixel_set, superpixel_id, old_class,"
            " new_class, confidence, pixels, model, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(round_no, version, r.image_id, superpixel_set, r.superpixel_id, r.old_class, r.new_class, r.confidence,
              pixels.get((r.image_id, r.superpixel_id), 0), model, at) for r in relabels],
        )

    @staticmethod
    def record_reviews(con: sqlite3.Connection, *, propagation_ids: Sequence[int], verdicts: Sequence[tuple[int, int, str]],
                       version: str) -> None:
        """Inside the transaction that applies a review round: each (query rank, answer id, verdict) marks
        the relabel at that rank ``accepted`` or ``rejected``, by the answer's annotator, with the version."""
        con.executemany(
            "UPDATE propagations SET review=?, reviewed_by=(SELECT annotator FROM answers WHERE answer_id=?),"
            " reviewed_at=?, review_version=? WHERE propagation_id=?",
            [(verdict, answer_id, now_iso(), version, propagation_ids[rank]) for rank, answer_id, verdict in verdicts],
        )

    def propagations(self, versions: Sequence[str] | None = None) -> list[PropagationRow]:
        """The automatic relabels (of ``versions``, or all), by version, image and region."""
        sql = f"SELECT {_COLUMNS} FROM propagations"
        params: tuple[Any, ...] = ()
        if versions is not None:
            if not versions:
                return []
            sql += f" WHERE label_version IN ({','.join('?' * len(versions))})"
            params = tuple(versions)
        return [PropagationRow(*r) for r in self._db.rows(sql + " ORDER BY label_version, image_id, superpixel_id", params)]

    def review_versions(self) -> dict[int, str | None]:
        """propagation_id → the label version that applied its review (None while unreviewed), for every
        automatic relabel: a review counts in a diff or a lineage only when that version is in it."""
        return {int(pid): version for pid, version in self._db.rows("SELECT propagation_id, review_version FROM propagations")}
