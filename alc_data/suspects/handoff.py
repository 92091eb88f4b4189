"""Handing suspects on: the top rows as plain records, and as a round of correction queries.

``register_queries`` turns the top suspects into a round exactly as ``alc-data score`` registers one
(:func:`alc_data.queries.create_round`): each query points at the region's representative pixel with its
current label, and the model's proposal is the round's ``dominant``; ``alc-data annotate`` and the Label
Studio export serve it like any other round.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alc_data.errors import Conflict
from alc_data.queries import create_round
from alc_data.scoring.table import ScoreTable
from alc_data.workspace import Workspace

ERRORS_ACQUISITION = "errors"
"""The acquisition name stored with a round of suspects."""

TOP_FIELDS = ("rank", "image_id", "region", "current_name", "proposed_name", "confidence", "area", "score",
              "image_score")


def top_rows(best: Any, n: int) -> list[dict[str, Any]]:
    """The first ``n`` rows of the top-suspects table (in rank order) as records of :data:`TOP_FIELDS`."""
    if best is None:
        return []
    rows = best.slice(0, n).select(list(TOP_FIELDS)).to_pylist()
    return [dict(r) for r in rows]


def register_queries(ws: Workspace, best: Any, n: int, *, version: str, superpixel_set: str, params: dict[str, Any],
                     skip_asked: bool = True) -> int:
    """Register the ``n`` top suspects of ``best`` (rank order; with ``skip_asked``, regions asked in an
    earlier round are passed over) as a new round; returns its number."""
    if best is None or best.num_rows == 0:
        raise Conflict("no suspected label errors to ask about: the model agrees with every region's label")
    table = ScoreTable(
        image_id=np.asarray(best.column("image_id").to_pylist(), dtype=object),
        superpixel_id=best.column("region").to_numpy(), rep_row=best.column("rep_row").to_numpy(),
        rep_col=best.column("rep_col").to_numpy(), label_at_rep=best.column("label_at_rep").to_numpy(),
        dominant=best.column("proposed").to_numpy(), area=best.column("area").to_numpy(),
        score=best.column("score").to_numpy(),
    )
    if skip_asked:
        asked = ws.ledger.asked(superpixel_set)
        fresh = np.asarray([(str(i), int(s)) not in asked for i, s in zip(table.image_id, table.superpixel_id)], bool)
        table = table.take(np.flatnonzero(fresh))
    table = table.take(slice(0, n))
    if len(table) == 0:
        raise Conflict("every suspected region was asked in an earlier round; pass --no-skip-asked to ask again")
    return create_round(ws, table, label_version=version, superpixel_set=superpixel_set,
                        acquisition=ERRORS_ACQUISITION, budget=n, params=params)
