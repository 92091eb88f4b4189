"""Reading the ledger: per-round query counts and the estimated annotation cost."""

from __future__ import annotations

from typing import Any

from alc_data.constants import SECONDS_PER_CLASSIFICATION_QUERY, SECONDS_PER_CORRECTION_QUERY
from alc_data.workspace import Workspace


def cost_summary(ws: Workspace) -> dict[str, Any]:
    """Queries, accepted, corrected and unanswerable per round and in total, with estimated time.

    Time: correction queries at 4.76 s each against classification queries at 6.31 s (the paper's
    user study), over the answered queries; beside it the measured median seconds per query of the
    answers whose time was measured (given in ``alc-data annotate``; None when there are none).
    """
    import statistics

    from alc_data.workspace.annotation import measured_seconds

    rows = ws.query(
        """
        SELECT r.round, r.acquisition, r.budget,
               COUNT(q.query_id),
               SUM(a.status = 'accepted'), SUM(a.status = 'corrected'), SUM(a.status = 'unanswerable'),
               COUNT(a.answer_id)
        FROM rounds r LEFT JOIN queries q ON q.round = r.round
                      LEFT JOIN answers a ON a.query_id = q.query_id
        GROUP BY r.round ORDER BY r.round
        """
    )
    per_round = []
    for rnd, acq, budget, n, acc, cor, una, answered in rows:
        per_round.append(
            {
                "round": rnd,
                "acquisition": acq,
                "queries": int(n or 0),
                "answered": int(answered or 0),
                "accepted": int(acc or 0),
                "corrected": int(cor or 0),
                "unanswerable": int(una or 0),
            }
        )
    total = {k: sum(r[k] for r in per_round) for k in ("queries", "answered", "accepted", "corrected", "unanswerable")}
    timed = measured_seconds(ws)
    for entry in per_round:
        entry["measured_seconds"] = timed.get(entry["round"], [])
    total["measured_seconds"] = [s for entry in per_round for s in entry["measured_seconds"]]
    for entry in [*per_round, total]:
        seconds = entry.pop("measured_seconds")
        entry["timed_answers"] = len(seconds)
        entry["measured_median_seconds"] = round(statistics.median(seconds), 2) if seconds else None
        entry["correction_query_seconds"] = round(entry["answered"] * SECONDS_PER_CORRECTION_QUERY, 2)
        entry["classification_query_seconds"] = round(entry["answered"] * SECONDS_PER_CLASSIFICATION_QUERY, 2)
    return {"rounds": per_round, "total": total}
