"""Create a round: store the selected superpixels as correction queries in the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from alc_data.errors import Conflict, WorkspaceDamaged
from alc_data.workspace import Workspace
from alc_data.workspace.ledger import Query

if TYPE_CHECKING:
    from alc_data.scoring import ScoreTable


def region_boxes(superpixels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Bounding boxes of regions ``ids`` in a (H, W) id map: (n, 4) int64 rows x0, y0, x1, y1 (inclusive).

    Vectorised: one sort of the pixels by region id, then min/max reductions per region.
    """
    superpixels = np.asarray(superpixels)
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(superpixels.ravel(), kind="stable")
    uniq, starts = np.unique(superpixels.ravel()[order], return_index=True)
    pos = np.clip(np.searchsorted(uniq, ids), 0, len(uniq) - 1)
    if np.any(uniq[pos] != ids):
        missing = ids[uniq[pos] != ids][0]
        raise WorkspaceDamaged(f"superpixel {missing} does not occur in its map; recompute the superpixel set")
    rows, cols = np.divmod(order, superpixels.shape[1])
    box = np.stack(
        [
            np.minimum.reduceat(cols, starts),
            np.minimum.reduceat(rows, starts),
            np.maximum.reduceat(cols, starts),
            np.maximum.reduceat(rows, starts),
        ],
        axis=1,
    )
    return box[pos].astype(np.int64)


def create_round(
    ws: Workspace,
    selected: ScoreTable,
    *,
    label_version: str,
    superpixel_set: str,
    acquisition: str,
    budget: int,
    score_table: Callable[[int], str] | None = None,
    params: dict[str, Any] | None = None,
) -> int:
    """Register a new round with the selected rows of a ScoreTable as its queries; returns its number.

    ``selected`` must be in rank order (best first) with columns image_id, superpixel_id, rep_row,
    rep_col, label_at_rep, dominant, area, score. The round number is allocated in the transaction
    that registers the round; ``score_table(round_no)``, called inside it, puts the round's score table
    in place and returns its path relative to the workspace.
    """
    n = len(selected)
    if n == 0:
        raise Conflict("no queries selected; nothing to ask (all candidates already asked?)")
    image_ids = np.asarray(selected["image_id"]).astype(str)
    sp_ids = np.asarray(selected["superpixel_id"]).astype(np.int64)
    boxes = np.zeros((n, 4), dtype=np.int64)
    for image_id in np.unique(image_ids):
        rows = np.flatnonzero(image_ids == image_id)
        boxes[rows] = region_boxes(ws.superpixels.read_superpixels(superpixel_set, str(image_id)), sp_ids[rows])
    query_rows = [
        (
            str(image_ids[rank]), int(sp_ids[rank]), int(selected["rep_row"][rank]), int(selected["rep_col"][rank]),
            int(selected["label_at_rep"][rank]), int(selected["dominant"][rank]), int(selected["area"][rank]),
            float(selected["score"][rank]), *map(int, boxes[rank]),
        )
        for rank in range(n)
    ]
    return ws.ledger.create_round(
        label_version=label_version, superpixel_set=superpixel_set, acquisition=acquisition, budget=budget,
        queries=query_rows, params=params, score_table=score_table,
    )


def round_queries(ws: Workspace, round_no: int) -> list[Query]:
    """The queries of a round, in rank order."""
    return ws.ledger.queries(round_no)


def latest_round(ws: Workspace) -> int:
    return ws.ledger.round(None).round


def check_round(ws: Workspace, round_no: int | None) -> int:
    """The round's number (the latest for None); NotFound for a round that does not exist."""
    return ws.ledger.round(round_no).round
