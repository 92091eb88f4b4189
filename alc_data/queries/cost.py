"""What the queries cost: per-round answer counts and the estimated annotation time."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from alc_data.constants import SECONDS_PER_CLASSIFICATION_QUERY, SECONDS_PER_CORRECTION_QUERY
from alc_data.results import JsonResult
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import RoundCost
from alc_data.workspace.propagations import PropagationRow

_COUNTS = ("queries", "answered", "accepted", "corrected", "unanswerable", "unapplied")


@dataclass(frozen=True)
class CostRow(JsonResult):
    """The answers of one round (or of all rounds: ``round`` and ``acquisition`` None, and left out of
    the JSON) and their annotation time: estimated (``*_query_seconds``) and measured."""

    round: int | None
    acquisition: str | None
    queries: int
    answered: int
    accepted: int
    corrected: int
    unanswerable: int
    unapplied: int  #: recorded answers no label version applies yet
    timed_answers: int
    measured_median_seconds: float | None
    correction_query_seconds: float
    classification_query_seconds: float

    def json_keys(self) -> tuple[str, ...]:
        keys = super().json_keys()
        return keys if self.round is not None else keys[2:]


@dataclass(frozen=True)
class CostSummary(JsonResult):
    """:class:`CostRow` of every round, and their total."""

    rounds: tuple[CostRow, ...]
    total: CostRow


def _row(c: RoundCost | None, counts: dict[str, int], seconds: list[float]) -> CostRow:
    return CostRow(
        round=None if c is None else c.round, acquisition=None if c is None else c.acquisition,
        queries=counts["queries"], answered=counts["answered"], accepted=counts["accepted"], corrected=counts["corrected"],
        unanswerable=counts["unanswerable"], unapplied=counts["unapplied"], timed_answers=len(seconds),
        measured_median_seconds=round(statistics.median(seconds), 2) if seconds else None,
        correction_query_seconds=round(counts["answered"] * SECONDS_PER_CORRECTION_QUERY, 2),
        classification_query_seconds=round(counts["answered"] * SECONDS_PER_CLASSIFICATION_QUERY, 2),
    )


def cost_summary(ws: Workspace) -> CostSummary:
    """Queries, accepted, corrected and unanswerable per round and in total, with estimated time.

    Time: correction queries at 4.76 s each against classification queries at 6.31 s (the paper's
    user study), over the answered queries; beside it the measured median seconds per query of the
    answers whose time was measured (given in ``alc-data annotate``; None when there are none).
    """
    costs = ws.ledger.cost()
    timed = ws.ledger.measured_seconds()
    seconds = [[] if c.round is None else timed.get(c.round, []) for c in costs]
    rounds = tuple(_row(c, {k: getattr(c, k) for k in _COUNTS}, s) for c, s in zip(costs, seconds))
    total = {k: sum(getattr(c, k) for c in costs) for k in _COUNTS}
    return CostSummary(rounds, _row(None, total, [x for s in seconds for x in s]))


# ---------------------------------------------------------------------------------------------- automatic relabels
def relabels_as_of(ws: Workspace, versions: Sequence[str] | None = None) -> list[tuple[PropagationRow, str | None]]:
    """The automatic relabels made by ``versions`` (every one when None), each with its review verdict as
    of those versions: ``accepted`` or ``rejected`` when the version that applied the review is one of
    ``versions`` (or ``versions`` is None), else None (not yet reviewed there)."""
    rows = ws.ledger.propagations(versions)
    if versions is None:
        return [(r, r.review) for r in rows]
    applied, scope = ws.ledger.review_versions(), set(versions)
    return [(r, r.review if applied.get(r.propagation_id) in scope or applied.get(r.propagation_id) is None else None)
            for r in rows]


def relabel_counts(relabels: Iterable[tuple[int, str | None]]) -> dict[str, int]:
    """Automatic relabels given as (pixels, verdict) counted by verdict. ``pixels`` counts only the relabels
    not rejected (the pixels they changed, though a person's later answer may have changed some again); a
    rejected relabel's pixels carry a person's class now, so they are the person's change
    (``rejected_pixels``, not part of ``pixels``)."""
    items = list(relabels)
    accepted = sum(v == "accepted" for _, v in items)
    rejected = sum(v == "rejected" for _, v in items)
    return {"relabels": len(items), "accepted": accepted, "rejected": rejected,
            "unreviewed": len(items) - accepted - rejected, "reviewed": accepted + rejected,
            "pixels": sum(p for p, v in items if v != "rejected"), "rejected_pixels": sum(p for p, v in items if v == "rejected")}


def describe_relabels(counts: dict[str, int]) -> str:
    """One sentence of :func:`relabel_counts`, as ``diff``, ``info``, the audit report and the card print it."""
    rejected = (f"; the {counts['rejected_pixels']:,} pixels of the rejected ones carry a person's class and count as "
                "people's changes" if counts["rejected"] else "")
    return (f"{counts['relabels']} relabels ({counts['accepted']} accepted, {counts['rejected']} rejected, "
            f"{counts['unreviewed']} not yet reviewed); {counts['pixels']:,} pixels relabelled{rejected}")
